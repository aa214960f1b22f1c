//! Usage per account over a period, as `yukari replay usage` computes it
//! (`replay_tools::usage`, from the real state transitions in the log),
//! with two SVG charts: each account's instance-hours, and how many
//! instances each account held over the period (`replay_tools::plot::series`).
//! The charts count instances only; storage (volumes and snapshots in
//! GiB, buckets in MiB) is listed in the table in its own unit-hours,
//! never added to instance time.

use super::chart::{Bars, Steps};
use super::{Admin, Tabs, chrome, date_us, failed, form_time};
use crate::Console;
use crate::pages::{Chrome, render};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use replay_tools::time::{MICROS_PER_SECOND, hms, now};
use replay_tools::usage::{UsageAmount, UsageLedger, UsageReport};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The period, as the form has it.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct UsageQuery {
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The resource kind the charts count (`replay_tools::usage::meter`).
const INSTANCE: &str = "instance";

/// Microseconds in an hour.
const MICROS_PER_HOUR: u128 = 3600 * MICROS_PER_SECOND as u128;

/// What a line used, in its kind's unit: instance time as h:mm:ss; a
/// volume's or snapshot's GiB-hours, a bucket's MiB-hours (to the
/// hundredth, rounded down).
fn used(tr: &crate::i18n::Tr, resource: &str, amount: &UsageAmount) -> String {
    let key = match resource {
        INSTANCE => return tr.msg_args("admin-usage-hms", &[("time", &hms(amount.seconds()))]),
        "volume" | "snapshot" => "admin-usage-gib-hours",
        "object-storage" => "admin-usage-mib-hours",
        _ => "admin-usage-unit-hours",
    };
    let hundredths = amount.quantity_micros * 100 / MICROS_PER_HOUR;
    let whole = tr.number(u64::try_from(hundredths / 100).unwrap_or(u64::MAX));
    tr.msg_args(key, &[("amount", &format!("{whole}.{:02}", hundredths % 100))])
}

/// The default period: the last seven days.
const DEFAULT_DAYS: i64 = 7;

pub(crate) struct Line {
    pub account: String,
    pub account_id: String,
    pub resource: String,
    pub unit: String,
    pub time: String,
    pub resources: String,
}

#[derive(Template)]
#[template(path = "admin/usage.html")]
struct Page {
    chrome: Chrome,
    tabs: Tabs,
    query: UsageQuery,
    period: String,
    lines: Vec<Line>,
    bars: Bars,
    steps: Steps,
    invalid: bool,
}

/// The period asked for (µs): `[from, to)`, or `None` if a time is not one
/// or the period is empty.
pub(crate) fn period(query: &UsageQuery, now: i64) -> Option<(i64, i64)> {
    let to = form_time(&query.to).ok()?.unwrap_or(now);
    let from = form_time(&query.from).ok()?.unwrap_or(to - DEFAULT_DAYS * 86_400 * MICROS_PER_SECOND);
    (from < to).then_some((from, to))
}

pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    Admin(signed): Admin,
    Query(query): Query<UsageQuery>,
) -> Response {
    let tr = signed.tr;
    let (invalid, (from, to)) = match period(&query, now()) {
        Some(p) => (false, p),
        None => (true, period(&UsageQuery::default(), now()).unwrap_or((0, 1))),
    };
    let (log, ledger) = (console.app.log.clone(), console.usage.clone());
    let report = tokio::task::spawn_blocking(move || {
        // A ledger left half-way by a panic is started again.
        let mut ledger = ledger.lock().unwrap_or_else(|poisoned| {
            let mut ledger = poisoned.into_inner();
            *ledger = UsageLedger::new();
            ledger
        });
        ledger.advance(&log, None).map(|()| ledger.report(from, to))
    })
    .await;
    let report: UsageReport = match report {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return failed(&console, &signed, "usage", &e),
        Err(e) => return failed(&console, &signed, "usage", &e),
    };
    let name = |account: &str| report.names.get(account).cloned().unwrap_or_else(|| account.to_owned());
    let lines = report
        .lines
        .iter()
        .map(|(key, amount)| Line {
            account: name(&key.account),
            account_id: key.account.clone(),
            resource: tr.msg(&format!("admin-resource-{}", key.resource)),
            unit: key.unit.clone(),
            time: used(&tr, &key.resource, amount),
            resources: tr.number(amount.resources),
        })
        .collect();
    // Instance time only: other lines are GiB- or MiB-seconds.
    let mut by_account: BTreeMap<&str, u128> = BTreeMap::new();
    for (key, amount) in report.lines.iter().filter(|(key, _)| key.resource == INSTANCE) {
        *by_account.entry(key.account.as_str()).or_default() += amount.quantity_micros;
    }
    let bars = Bars::new(
        by_account
            .into_iter()
            .map(|(account, micros)| {
                let seconds = u64::try_from(micros / MICROS_PER_SECOND as u128).unwrap_or(u64::MAX);
                (name(account), micros, hms(seconds))
            })
            .collect(),
    );
    let series: Vec<_> =
        replay_tools::plot::series(&report).into_iter().filter(|s| s.resource == INSTANCE).collect();
    let steps = Steps::new(
        &series,
        from,
        to,
        |s| {
            tr.msg_args(
                "admin-usage-series",
                &[
                    ("account", &name(&s.account)),
                    ("resource", &tr.msg(&format!("admin-resource-{}", s.resource))),
                ],
            )
        },
        |n| tr.number(n),
        |t| date_us(&tr, t),
    );
    let period =
        tr.msg_args("admin-usage-period", &[("from", &date_us(&tr, from)), ("to", &date_us(&tr, to))]);
    let chrome = chrome(&console, &signed, "admin-usage-title");
    render(&Page { chrome, tabs: Tabs::new(&tr, "usage"), query, period, lines, bars, steps, invalid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, Tr, has};

    #[test]
    fn every_resource_kind_metered_has_a_name_and_its_own_unit() {
        // Every kind `replay_tools::usage::meter` reports.
        for resource in [INSTANCE, "volume", "snapshot", "object-storage"] {
            for lang in [Lang::En, Lang::Ja] {
                assert!(has(lang, &format!("admin-resource-{resource}")), "{resource} in {lang:?}");
            }
        }
        let tr = Tr::new(Lang::En);
        let hour = MICROS_PER_HOUR;
        let amount = |quantity_micros| UsageAmount { quantity_micros, resources: 1 };
        assert_eq!(used(&tr, INSTANCE, &amount(hour + 61 * 1_000_000)), "1:01:01 (h:mm:ss)");
        assert_eq!(used(&tr, "volume", &amount(1234 * hour + hour / 2)), "1,234.50 GiB-hours");
        assert_eq!(used(&tr, "object-storage", &amount(hour / 100 - 1)), "0.00 MiB-hours");
    }
}
