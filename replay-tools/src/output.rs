//! Audit and usage as a table, JSON lines or CSV.

use crate::audit::AuditEntry;
use crate::time;
use crate::usage::{Invoice, UsageReport, money};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "table" => Ok(Format::Table),
            "json" | "jsonl" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            _ => Err(format!("{s:?}: use table, json or csv")),
        }
    }
}

/// A CSV field, quoted when it must be (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

pub fn csv_row(fields: &[&str]) -> String {
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

const AUDIT_COLUMNS: [&str; 10] = [
    "time",
    "account",
    "user",
    "access_key",
    "source",
    "action",
    "outcome",
    "request_id",
    "resources",
    "events",
];

/// The header of an audit listing (nothing for JSON lines).
pub fn audit_header(format: Format) -> String {
    match format {
        Format::Table => format!(
            "{:<27} {:<12} {:<14} {:<20} {:<21} {:<24} {:<8} {:<36} {}\n",
            "TIME", "ACCOUNT", "USER", "ACCESS KEY", "SOURCE", "ACTION", "OUTCOME", "REQUEST ID", "RESOURCES"
        ),
        Format::Csv => csv_row(&AUDIT_COLUMNS),
        Format::Json => String::new(),
    }
}

/// One entry, as a line.
pub fn audit_line(e: &AuditEntry, format: Format) -> String {
    match format {
        Format::Table => {
            let account = match &e.account_name {
                Some(n) => n.clone(),
                None => e.account.clone(),
            };
            format!(
                "{:<27} {:<12} {:<14} {:<20} {:<21} {:<24} {:<8} {:<36} {}\n",
                time::format(e.time),
                account,
                dash(&e.user),
                dash(&e.access_key),
                dash(&e.source),
                dash(&e.action),
                e.outcome.to_string(),
                dash(&e.request_id),
                e.resources.join(" ")
            )
        }
        Format::Csv => csv_row(&[
            &time::format(e.time),
            &e.account,
            &e.user,
            &e.access_key,
            &e.source,
            &e.action,
            &e.outcome.to_string(),
            &e.request_id,
            &e.resources.join(" "),
            &e.events.join(" "),
        ]),
        Format::Json => {
            let mut v = serde_json::to_value(e).unwrap_or_default();
            v["time_rfc3339"] = serde_json::Value::String(time::format(e.time));
            format!("{v}\n")
        }
    }
}

fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

fn account_label(report: &UsageReport, id: &str) -> String {
    match report.names.get(id) {
        Some(n) => format!("{id} ({n})"),
        None => id.to_owned(),
    }
}

/// Usage per account, resource and unit.
pub fn usage(report: &UsageReport, format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Table => {
            let _ = writeln!(out, "usage from {} to {}", time::format(report.from), time::format(report.to));
            let _ = writeln!(
                out,
                "{:<28} {:<10} {:<12} {:>10} {:>14} {:>12}",
                "ACCOUNT", "RESOURCE", "UNIT", "RESOURCES", "SECONDS", "HOURS"
            );
            for (key, amount) in &report.lines {
                let s = amount.seconds();
                let _ = writeln!(
                    out,
                    "{:<28} {:<10} {:<12} {:>10} {:>14} {:>12}",
                    account_label(report, &key.account),
                    key.resource,
                    key.unit,
                    amount.resources,
                    s,
                    time::hms(s)
                );
            }
            if report.lines.is_empty() {
                out.push_str("(no metered use in this period)\n");
            }
            for (kind, n) in &report.skipped {
                let _ = writeln!(out, "note: {n} record(s) of unknown type {kind} skipped");
            }
        }
        Format::Csv => {
            out.push_str(&csv_row(&[
                "account",
                "account_name",
                "resource",
                "unit",
                "resources",
                "seconds",
                "quantity_micros",
            ]));
            for (key, amount) in &report.lines {
                out.push_str(&csv_row(&[
                    &key.account,
                    report.names.get(&key.account).map_or("", String::as_str),
                    &key.resource,
                    &key.unit,
                    &amount.resources.to_string(),
                    &amount.seconds().to_string(),
                    &amount.quantity_micros.to_string(),
                ]));
            }
        }
        Format::Json => {
            for (key, amount) in &report.lines {
                let v = serde_json::json!({
                    "account": key.account,
                    "account_name": report.names.get(&key.account),
                    "resource": key.resource,
                    "unit": key.unit,
                    "resources": amount.resources,
                    "seconds": amount.seconds(),
                    "quantity_micros": amount.quantity_micros.to_string(),
                    "from": time::format(report.from),
                    "to": time::format(report.to),
                });
                let _ = writeln!(out, "{v}");
            }
        }
    }
    out
}

/// Invoices: one block per account in a table, or one line per invoice
/// line in CSV and JSON. Amounts in the currency with three decimals
/// (milli-units), computed in integers.
pub fn invoices(invoices: &[Invoice], format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Table => {
            for inv in invoices {
                let name = inv.account_name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
                let _ = writeln!(out, "invoice for account {}{name}", inv.account);
                for l in &inv.lines {
                    let price =
                        l.price_per_hour.map_or("no price".to_owned(), |p| format!("{}/h", money(p.into())));
                    let _ = writeln!(
                        out,
                        "  {:<10} {:<12} {:>12} s  × {:>14}  = {:>14} {}",
                        l.key.resource,
                        l.key.unit,
                        l.seconds,
                        price,
                        money(l.amount),
                        inv.currency
                    );
                }
                let _ = writeln!(out, "  {:<66} {:>14} {}", "total", money(inv.total), inv.currency);
            }
        }
        Format::Csv => {
            out.push_str(&csv_row(&[
                "account",
                "resource",
                "unit",
                "seconds",
                "price_per_hour_milli",
                "amount_milli",
                "currency",
            ]));
            for inv in invoices {
                for l in &inv.lines {
                    out.push_str(&csv_row(&[
                        &inv.account,
                        &l.key.resource,
                        &l.key.unit,
                        &l.seconds.to_string(),
                        &l.price_per_hour.map(|p| p.to_string()).unwrap_or_default(),
                        &l.amount.to_string(),
                        &inv.currency,
                    ]));
                }
            }
        }
        Format::Json => {
            for inv in invoices {
                let v = serde_json::json!({
                    "account": inv.account,
                    "account_name": inv.account_name,
                    "currency": inv.currency,
                    "total_milli": inv.total.to_string(),
                    "lines": inv.lines.iter().map(|l| serde_json::json!({
                        "resource": l.key.resource, "unit": l.key.unit, "seconds": l.seconds,
                        "price_per_hour_milli": l.price_per_hour, "amount_milli": l.amount.to_string(),
                    })).collect::<Vec<_>>(),
                });
                let _ = writeln!(out, "{v}");
            }
        }
    }
    out
}
