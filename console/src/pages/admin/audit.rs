//! The audit trail: every request that changed something, newest first,
//! as `yukari replay audit` finds it (`replay_tools::audit`: by reading
//! the log, or through the stream index when a resource is named), with
//! filters on account, user, resource, action, outcome and time, a page at
//! a time. A page's cursor is the log position its oldest entry started at.

use super::{Admin, Tabs, chrome, date_us, failed, form_time};
use crate::Console;
use crate::i18n::Tr;
use crate::pages::{Chrome, q, render};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use replay_tools::Progress;
use replay_tools::audit::{AuditEntry, AuditFilter, Outcome, audit_range, audit_resource};
use std::sync::Arc;

/// The filters, as the form has them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub action: String,
    /// `ok`, `refused` or empty (either).
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// Entries that started before this position (the next page).
    #[serde(default)]
    pub before: Option<u64>,
}

impl AuditQuery {
    /// The query string of these filters (without the page).
    pub fn filters(&self) -> String {
        format!(
            "account={}&user={}&resource={}&action={}&outcome={}&from={}&to={}",
            q(&self.account),
            q(&self.user),
            q(&self.resource),
            q(&self.action),
            q(&self.outcome),
            q(&self.from),
            q(&self.to)
        )
    }

    /// The replay tools' filter, or `None` when a time is not one.
    pub(crate) fn filter(&self) -> Option<AuditFilter> {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        Some(AuditFilter {
            account: some(&self.account),
            user: some(&self.user),
            resource: some(&self.resource),
            action: some(&self.action),
            from: form_time(&self.from).ok()?,
            to: form_time(&self.to).ok()?,
        })
    }

    fn outcome_matches(&self, outcome: &Outcome) -> bool {
        match self.outcome.as_str() {
            "ok" => *outcome == Outcome::Ok,
            "refused" => matches!(outcome, Outcome::Refused { .. }),
            _ => true,
        }
    }
}

/// Records read first, back from the newest, when looking for a page of
/// the audit trail; each further stretch back is twice the one before.
const FIRST_WINDOW: u64 = 4096;

/// The newest `size` entries that match, started before `query.before`,
/// newest first, and whether there are older ones. Without a resource
/// (whose records the stream index finds), the log is read back from its
/// newest records, stretch by stretch (each record once), until a page is
/// found: a page costs what its own records cost, not the log's length (a
/// filter that matches little reads further back).
pub(crate) fn newest(
    records: &dyn replay_tools::Records,
    query: &AuditQuery,
    filter: &AuditFilter,
    size: usize,
) -> Result<(Vec<AuditEntry>, bool), replay_tools::ReplayError> {
    newest_in(records, query, filter, size, FIRST_WINDOW.max(size as u64 * 64))
}

/// [`newest`], reading back `window` records at first.
pub(crate) fn newest_in(
    records: &dyn replay_tools::Records,
    query: &AuditQuery,
    filter: &AuditFilter,
    size: usize,
    window: u64,
) -> Result<(Vec<AuditEntry>, bool), replay_tools::ReplayError> {
    let before = query.before.unwrap_or(u64::MAX);
    let wanted = |e: &AuditEntry| filter.matches(e) && query.outcome_matches(&e.outcome);
    // Newest first.
    let mut found: Vec<AuditEntry> = Vec::with_capacity(size + 1);
    if filter.resource.is_some() {
        let entries = audit_resource(records, filter, &Progress::hidden())?;
        found.extend(
            entries.into_iter().filter(|e| e.first_position < before && wanted(e)).rev().take(size + 1),
        );
    } else {
        // Entries from `boundary` on are read (its record starts one).
        let mut boundary = records.head()?.saturating_add(1).min(before);
        let mut window = window.max(1);
        while boundary > 1 && found.len() <= size {
            let from = boundary.saturating_sub(window).max(1);
            let mut stretch = Vec::new();
            audit_range(records, from, boundary, |e| stretch.push(e))?;
            // The first entry of a stretch that does not start the log may
            // lack its request's earlier records: it is read again with
            // the next stretch.
            if from > 1 {
                if stretch.len() < 2 {
                    window = window.saturating_mul(2);
                    continue;
                }
                stretch.remove(0);
            }
            boundary = stretch.first().map_or(from, |e| e.first_position);
            // The log is in time order: past the filter's start, nothing older matches.
            let earliest = stretch.first().map(|e| e.time);
            found.extend(stretch.into_iter().rev().filter(wanted));
            if filter.from.zip(earliest).is_some_and(|(start, earliest)| earliest < start) {
                break;
            }
            window = window.saturating_mul(2);
        }
        found.truncate(size + 1);
    }
    let more = found.len() > size;
    found.truncate(size);
    Ok((found, more))
}

/// One entry as shown.
pub(crate) struct Row {
    pub time: String,
    pub account: String,
    pub user: String,
    pub source: String,
    pub action: String,
    pub resources: String,
    pub ok: bool,
    pub outcome: String,
    pub request: String,
    /// The positions of its first and last records.
    pub first: u64,
    pub position: u64,
}

fn row(tr: &Tr, e: AuditEntry) -> Row {
    let outcome = match &e.outcome {
        Outcome::Ok => tr.msg("admin-outcome-ok"),
        Outcome::Refused { code: Some(code) } => tr.msg_args("admin-outcome-refused-code", &[("code", code)]),
        Outcome::Refused { code: None } => tr.msg("admin-outcome-refused"),
    };
    Row {
        time: date_us(tr, e.time),
        account: e.account_name.map_or(e.account.clone(), |n| format!("{n} ({})", e.account)),
        user: e.user,
        source: e.source,
        action: e.action,
        resources: e.resources.join(", "),
        ok: e.outcome == Outcome::Ok,
        outcome,
        request: e.request_id,
        first: e.first_position,
        position: e.last_position,
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct Page {
    chrome: Chrome,
    tabs: Tabs,
    query: AuditQuery,
    rows: Vec<Row>,
    /// Where the next (older) page starts.
    older: Option<u64>,
    invalid: bool,
    outcomes: Vec<(&'static str, String)>,
}

pub(crate) async fn page(
    State(console): State<Arc<Console>>,
    Admin(signed): Admin,
    Query(query): Query<AuditQuery>,
) -> Response {
    let tr = signed.tr;
    let size = console.config.page_size;
    let outcomes = vec![("ok", tr.msg("admin-outcome-ok")), ("refused", tr.msg("admin-outcome-refused"))];
    let Some(filter) = query.filter() else {
        let chrome = chrome(&console, &signed, "admin-audit-title");
        let tabs = Tabs::new(&tr, "audit");
        return render(&Page { chrome, tabs, query, rows: Vec::new(), older: None, invalid: true, outcomes });
    };
    let log = console.app.log.clone();
    let asked = query.clone();
    let found = tokio::task::spawn_blocking(move || newest(&log, &asked, &filter, size)).await;
    let (entries, more) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return failed(&console, &signed, "audit", &e),
        Err(e) => return failed(&console, &signed, "audit", &e),
    };
    let older = if more { entries.last().map(|e| e.first_position) } else { None };
    let rows = entries.into_iter().map(|e| row(&tr, e)).collect();
    let chrome = chrome(&console, &signed, "admin-audit-title");
    render(&Page { chrome, tabs: Tabs::new(&tr, "audit"), query, rows, older, invalid: false, outcomes })
}
