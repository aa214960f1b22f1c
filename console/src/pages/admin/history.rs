//! Time travel: the cloud as it was after any position of the log (a
//! slider over the whole history, with a form for those without script),
//! and what changed between two positions, resource by resource.
//!
//! Nothing is folded here. The past read models are the API's
//! (`App::models_as_of`, the same as Describe* with `AsOfPosition`, from
//! the nearest time-travel snapshot); the diff is `yukari replay diff`'s:
//! the earlier state advanced to the later one (`replay_tools::state`) and
//! their JSON compared (`replay_tools::diff`).

use super::{Admin, Tabs, chrome, date_us, failed, form_time};
use crate::Console;
use crate::i18n::Tr;
use crate::pages::instances::state_text;
use crate::pages::{Chrome, render};
use api::app::AsOf;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use projections::ReadModels;
use replay_tools::diff::{ChangeKind, clip, diff_models};
use replay_tools::state::advance;
use replay_tools::{Progress, Records};
use std::sync::Arc;

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct TimeQuery {
    /// A position of the log (the slider's value).
    #[serde(default)]
    pub at: Option<u64>,
    /// Or a time (the form's): the last record at or before it.
    #[serde(default)]
    pub time: String,
    /// The instance list's cursor: `ACCOUNT/ID` of the last row shown.
    #[serde(default)]
    pub after: String,
}

/// One instance of the past.
pub(crate) struct InstanceRow {
    pub id: String,
    pub account_id: String,
    pub account: String,
    pub state: &'static str,
    pub state_text: String,
    pub vm_type: String,
    pub zone: String,
    pub launched: String,
}

/// A named thing of the past with what to say about it.
pub(crate) struct Item {
    pub id: String,
    pub name: String,
    pub account: String,
    pub detail: String,
}

/// What the cloud held after one position.
pub(crate) struct Moment {
    pub counts: Vec<(String, String)>,
    pub instances: Vec<InstanceRow>,
    /// The cursor of the next page of instances.
    pub next: Option<String>,
    pub groups: Vec<Item>,
    pub addresses: Vec<Item>,
    pub key_pairs: Vec<Item>,
    /// Some lists were cut at a page.
    pub more: bool,
}

/// The moment `models` show: counts, a page of instances (every account's,
/// in account then id order, after `after`), and the first page of groups,
/// addresses and key pairs.
pub(crate) fn moment(tr: &Tr, models: &ReadModels, after: &str, size: usize) -> Moment {
    let account = |id: &domain::AccountId| {
        models.accounts.accounts.get(id).map_or_else(|| id.to_string(), |a| a.name.clone())
    };
    let (after_account, after_id) = after.split_once('/').unwrap_or(("", ""));
    let mut instances = Vec::with_capacity(size);
    let mut next = None;
    'accounts: for owner in models.instances.by_account.keys() {
        if owner.as_str() < after_account {
            continue;
        }
        let lower = if owner.as_str() == after_account { Some(after_id) } else { None };
        for row in models.instances.of_account(owner, lower) {
            if instances.len() == size {
                next = instances.last().map(|r: &InstanceRow| format!("{}/{}", r.account_id, r.id));
                break 'accounts;
            }
            instances.push(InstanceRow {
                id: row.id.to_string(),
                account_id: row.account.to_string(),
                account: account(&row.account),
                state: row.state.name(),
                state_text: state_text(tr, row.state),
                vm_type: row.vm_type.to_string(),
                zone: row.zone.as_ref().map(|z| z.to_string()).unwrap_or_default(),
                launched: tr.date(row.launched_at),
            });
        }
    }
    let groups: Vec<Item> = models
        .security
        .groups
        .iter()
        .take(size)
        .map(|(id, g)| Item {
            id: id.to_string(),
            name: g.name.clone(),
            account: account(&g.account),
            detail: tr.msg_args(
                "admin-time-rules",
                &[
                    ("ingress", &tr.number(g.ingress.len() as u64)),
                    ("egress", &tr.number(g.egress.len() as u64)),
                ],
            ),
        })
        .collect();
    let addresses: Vec<Item> = models
        .network
        .addresses
        .iter()
        .take(size)
        .map(|(id, a)| Item {
            id: id.to_string(),
            name: a.address.clone(),
            account: account(&a.account),
            detail: a.association.as_ref().map(|(_, i)| i.to_string()).unwrap_or_default(),
        })
        .collect();
    let key_pairs: Vec<Item> = models
        .security
        .key_pairs
        .iter()
        .take(size)
        .map(|((owner, name), k)| Item {
            id: k.id.to_string(),
            name: name.clone(),
            account: account(owner),
            detail: k.fingerprint.clone(),
        })
        .collect();
    let live =
        models.instances.rows.values().filter(|r| r.state != domain::InstanceState::Terminated).count();
    let nodes: usize = models.cloud.zones.values().map(|z| z.nodes.len()).sum();
    let count = |key: &str, n: usize| (tr.msg(key), tr.number(n as u64));
    let counts = vec![
        count("admin-time-count-accounts", models.accounts.accounts.len()),
        count("admin-time-count-nodes", nodes),
        count("admin-time-count-instances", live),
        count("admin-time-count-groups", models.security.groups.len()),
        count("admin-time-count-addresses", models.network.addresses.len()),
        count("admin-time-count-keypairs", models.security.key_pairs.len()),
    ];
    let more = models.security.groups.len() > size
        || models.network.addresses.len() > size
        || models.security.key_pairs.len() > size;
    Moment { counts, instances, next, groups, addresses, key_pairs, more }
}

#[derive(Template)]
#[template(path = "admin/time.html")]
struct TimePage {
    chrome: Chrome,
    tabs: Tabs,
    position: u64,
    head: u64,
    /// What the record at `position` was, and when.
    record: String,
    /// The position among all of them, in words.
    where_text: String,
    moment: Moment,
    time: String,
    invalid: bool,
}

impl TimePage {
    fn earlier(&self) -> u64 {
        self.position.saturating_sub(1)
    }

    fn later(&self) -> u64 {
        (self.position + 1).min(self.head)
    }
}

/// The record at `position`, in words (the beginning for 0).
fn record_text(tr: &Tr, log: &dyn Records, position: u64) -> String {
    if position == 0 {
        return tr.msg("admin-time-beginning");
    }
    match log.read(position, 1).ok().and_then(|r| r.into_iter().next()) {
        Some(r) => tr.msg_args(
            "admin-time-record",
            &[
                ("time", &date_us(tr, r.recorded_at)),
                ("action", &r.metadata.action),
                ("event", &r.event_type),
                ("user", &r.metadata.user),
            ],
        ),
        None => String::new(),
    }
}

pub(crate) async fn time_page(
    State(console): State<Arc<Console>>,
    Admin(signed): Admin,
    Query(query): Query<TimeQuery>,
) -> Response {
    let tr = signed.tr;
    let size = console.config.page_size;
    let head = console.app.head();
    let (asked, invalid) = match form_time(&query.time) {
        Ok(Some(t)) => (AsOf::Time(t), false),
        Ok(None) => (AsOf::Position(query.at.unwrap_or(head).min(head)), false),
        Err(()) => (AsOf::Position(query.at.unwrap_or(head).min(head)), true),
    };
    // The live read models are the latest moment: no fold needed.
    let live = {
        let models = console.app.projections.read();
        (asked == AsOf::Position(models.position))
            .then(|| (models.position, moment(&tr, &models, &query.after, size)))
    };
    let (position, moment) = match live {
        Some(now) => now,
        None => match console.app.models_as_of(asked).await {
            Ok(past) => (past.models.position, moment(&tr, &past.models, &query.after, size)),
            Err(e) => return failed(&console, &signed, "time", &e),
        },
    };
    let record = record_text(&tr, &console.app.log, position);
    let chrome = chrome(&console, &signed, "admin-time-title");
    let time = query.time.clone();
    let where_text =
        tr.msg_args("admin-time-position", &[("position", &tr.number(position)), ("head", &tr.number(head))]);
    let tabs = Tabs::new(&tr, "time");
    render(&TimePage { chrome, tabs, position, head, record, where_text, moment, time, invalid })
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct DiffQuery {
    #[serde(default)]
    pub from: Option<u64>,
    #[serde(default)]
    pub to: Option<u64>,
    /// Changes skipped (the page).
    #[serde(default)]
    pub skip: usize,
}

/// How many positions back the diff looks when not told.
const DEFAULT_SPAN: u64 = 50;

/// One field that changed.
pub(crate) struct Field {
    pub name: String,
    pub before: String,
    pub after: String,
}

/// One resource's change.
pub(crate) struct ChangeRow {
    pub resource: String,
    pub kind: &'static str,
    pub kind_text: String,
    pub value: String,
    pub fields: Vec<Field>,
}

/// The changes from position `from` to `to`, resource by resource, as
/// `yukari replay diff` finds them.
pub(crate) async fn changes(
    console: &Console,
    from: u64,
    to: u64,
) -> Result<Vec<replay_tools::diff::Change>, String> {
    let past = console.app.models_as_of(AsOf::Position(from)).await.map_err(|e| e.to_string())?;
    let log = console.app.log.clone();
    let mut models = past.models;
    tokio::task::spawn_blocking(move || {
        let before = models.clone();
        advance(&mut models, &log, to, &Progress::hidden()).map_err(|e| e.to_string())?;
        Ok(diff_models(&before, &models))
    })
    .await
    .map_err(|e| e.to_string())?
}

fn change_row(tr: &Tr, c: replay_tools::diff::Change) -> ChangeRow {
    let (kind, key) = match c.kind {
        ChangeKind::Added => ("added", "admin-diff-added"),
        ChangeKind::Removed => ("removed", "admin-diff-removed"),
        ChangeKind::Changed => ("changed", "admin-diff-changed"),
    };
    let value = if c.value.is_null() { String::new() } else { clip(&c.value.to_string()) };
    let fields = c
        .fields
        .into_iter()
        .map(|f| Field {
            name: f.field,
            before: clip(&f.before.to_string()),
            after: clip(&f.after.to_string()),
        })
        .collect();
    ChangeRow { resource: c.resource, kind, kind_text: tr.msg(key), value, fields }
}

#[derive(Template)]
#[template(path = "admin/diff.html")]
struct DiffPage {
    chrome: Chrome,
    tabs: Tabs,
    from: u64,
    to: u64,
    head: u64,
    summary: String,
    rows: Vec<ChangeRow>,
    /// The next page's `skip`, when there are more changes.
    next: Option<usize>,
}

pub(crate) async fn diff_page(
    State(console): State<Arc<Console>>,
    Admin(signed): Admin,
    Query(query): Query<DiffQuery>,
) -> Response {
    let tr = signed.tr;
    let head = console.app.head();
    let to = query.to.unwrap_or(head).min(head);
    let from = query.from.unwrap_or(to.saturating_sub(DEFAULT_SPAN)).min(head);
    let (from, to) = (from.min(to), from.max(to));
    let all = match changes(&console, from, to).await {
        Ok(c) => c,
        Err(e) => return failed(&console, &signed, "diff", &e),
    };
    let size = console.config.page_size * 4;
    let total = all.len();
    let rows: Vec<ChangeRow> =
        all.into_iter().skip(query.skip).take(size).map(|c| change_row(&tr, c)).collect();
    let next = (query.skip + rows.len() < total).then_some(query.skip + rows.len());
    let summary = tr.msg_args(
        "admin-diff-summary",
        &[("count", &tr.number(total as u64)), ("from", &tr.number(from)), ("to", &tr.number(to))],
    );
    let chrome = chrome(&console, &signed, "admin-diff-title");
    render(&DiffPage { chrome, tabs: Tabs::new(&tr, "time"), from, to, head, summary, rows, next })
}
