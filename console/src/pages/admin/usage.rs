//! Usage per account over a period, as `yukari replay usage` computes it
//! (`replay_tools::usage`, from the real state transitions in the log),
//! with two SVG charts: each account's instance-hours, and how many
//! instances each account held over the period (`replay_tools::plot::series`).

use super::chart::{Bars, Steps};
use super::{Admin, Tabs, chrome, date_us, failed, form_time};
use crate::Console;
use crate::pages::{Chrome, render};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use replay_tools::time::{MICROS_PER_SECOND, hms, now};
use replay_tools::usage::{UsageLedger, UsageReport};
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
            time: hms(amount.seconds()),
            resources: tr.number(amount.resources),
        })
        .collect();
    let mut by_account: BTreeMap<&str, u128> = BTreeMap::new();
    for (key, amount) in &report.lines {
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
    let series = replay_tools::plot::series(&report);
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
