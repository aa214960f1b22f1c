//! `yukari replay audit`: every call that changed something, one entry per
//! request. The records of one request are appended atomically, so they
//! are consecutive in the log; an entry is a run of records with the same
//! request id (a record without one is an entry of its own).
//!
//! Refused calls of authenticated callers are `RequestRefused` records in
//! the `refused` stream (one record per request): they show as outcome
//! `refused` with their error code, and name the resources the request
//! named (see [`outcome_of`]).

use crate::error::ReplayError;
use crate::progress::Progress;
use crate::source::{Records, scan};
use crate::time::Micros;
use eventlog::{EnvelopeRef, RecordedEvent};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::ops::ControlFlow;

/// One request that changed something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When its first record was stored (µs since the epoch).
    pub time: Micros,
    pub account: String,
    /// The account's name, when the log created it.
    pub account_name: Option<String>,
    pub user: String,
    pub access_key: String,
    pub source: String,
    pub action: String,
    /// Resource ids touched (the streams appended to), in log order.
    pub resources: Vec<String>,
    /// The event types recorded, in log order, each once.
    pub events: Vec<String>,
    pub outcome: Outcome,
    pub request_id: String,
    pub correlation_id: String,
    pub first_position: u64,
    pub last_position: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Outcome {
    /// The call's events were stored.
    Ok,
    /// The call was refused; `code` is the EC2 error code when known.
    Refused { code: Option<String> },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Refused { code: Some(code) } => write!(f, "refused:{code}"),
            Outcome::Refused { code: None } => f.write_str("refused"),
        }
    }
}

/// Which entries to keep; every field set must match.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Account id or name.
    pub account: Option<String>,
    pub user: Option<String>,
    /// A resource id (`i-…`, `r-…`, an account id …) or a stream id.
    pub resource: Option<String>,
    /// An action name, any case (`RunInstances`, `ReportInstanceRunning`).
    pub action: Option<String>,
    /// Entries at or after this time.
    pub from: Option<Micros>,
    /// Entries before this time.
    pub to: Option<Micros>,
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditEntry) -> bool {
        let account =
            self.account.as_deref().is_none_or(|a| e.account == a || e.account_name.as_deref() == Some(a));
        let resource = self.resource.as_deref().is_none_or(|r| e.resources.iter().any(|x| x == r));
        account
            && resource
            && self.user.as_deref().is_none_or(|u| e.user == u)
            && self.action.as_deref().is_none_or(|a| e.action.eq_ignore_ascii_case(a))
            && self.from.is_none_or(|t| e.time >= t)
            && self.to.is_none_or(|t| e.time < t)
    }
}

/// The resource a stream belongs to: its id after the kind
/// (`instance/i-…` → `i-…`); streams without an id (`cloud`) and client
/// tokens (`token/ACCOUNT/TOKEN`) are named by the whole stream id.
pub fn resource_of(stream: &str) -> &str {
    match stream.split_once('/') {
        Some(("token", _)) | None => stream,
        Some((_, id)) => id,
    }
}

/// The object (`BUCKET/KEY`) an event of a bucket's stream is about, if
/// it is about one: who put, copied, deleted or shared what.
fn object_of(envelope: &EnvelopeRef<'_>) -> Option<String> {
    const ABOUT_AN_OBJECT: [&str; 5] = [
        "ObjectStored",
        "DeleteMarkerPlaced",
        "ObjectVersionDeleted",
        "ObjectAclSet",
        "MultipartUploadStarted",
    ];
    if !ABOUT_AN_OBJECT.contains(&envelope.event_type) {
        return None;
    }
    let bucket = envelope.stream.strip_prefix("bucket/")?;
    let key = match domain::Event::decode(envelope.event_type, envelope.schema, envelope.payload).ok()? {
        domain::Event::ObjectStored(e) => e.key,
        domain::Event::DeleteMarkerPlaced(e) => e.key,
        domain::Event::ObjectVersionDeleted(e) => e.key,
        domain::Event::ObjectAclSet(e) => e.key,
        domain::Event::MultipartUploadStarted(e) => e.key,
        _ => return None,
    };
    Some(format!("{bucket}/{key}"))
}

/// The refusal a record stores, if it is one (`None` for other records
/// and for a refusal whose payload does not decode).
fn refusal_of(envelope: &EnvelopeRef<'_>) -> Option<domain::event::RequestRefused> {
    if envelope.event_type != "RequestRefused" {
        return None;
    }
    match domain::Event::decode(envelope.event_type, envelope.schema, envelope.payload) {
        Ok(domain::Event::RequestRefused(r)) => Some(r),
        _ => None,
    }
}

/// The outcome a record gives its entry: `refused` with the error code for
/// a `RequestRefused` record (without a code when its payload does not
/// decode with this build), `None` for every other record.
pub fn outcome_of(envelope: &EnvelopeRef<'_>) -> Option<Outcome> {
    (envelope.event_type == "RequestRefused")
        .then(|| Outcome::Refused { code: refusal_of(envelope).map(|r| r.code) })
}

/// Does the refusal at this record name `resource`?
fn refusal_names(envelope: &EnvelopeRef<'_>, resource: &str) -> bool {
    refusal_of(envelope).is_some_and(|r| r.resources.iter().any(|x| x == resource))
}

/// Builds entries from records in log order.
#[derive(Default)]
struct Grouper {
    current: Option<AuditEntry>,
    resources_seen: BTreeSet<String>,
    names: HashMap<String, String>,
}

impl Grouper {
    /// Adds a record; returns the entry it closed, if any.
    fn push(&mut self, e: &EnvelopeRef<'_>) -> Option<AuditEntry> {
        if e.event_type == "AccountCreated"
            && let Ok(domain::Event::AccountCreated(created)) =
                domain::Event::decode(e.event_type, e.schema, e.payload)
        {
            self.names.insert(created.account.to_string(), created.name);
        }
        let same =
            self.current.as_ref().is_some_and(|c| !e.request_id.is_empty() && c.request_id == e.request_id);
        let closed = if same { None } else { self.close() };
        let entry = self.current.get_or_insert_with(|| AuditEntry {
            time: e.recorded_at,
            account: e.account.to_owned(),
            account_name: None,
            user: e.user.to_owned(),
            access_key: e.access_key.to_owned(),
            source: e.source.to_owned(),
            action: e.action.to_owned(),
            resources: Vec::new(),
            events: Vec::new(),
            outcome: Outcome::Ok,
            request_id: e.request_id.to_owned(),
            correlation_id: e.correlation_id.to_owned(),
            first_position: e.position,
            last_position: e.position,
        });
        entry.last_position = e.position;
        // A refusal names what the request named; its stream is only where
        // refusals are kept.
        let named = match refusal_of(e) {
            Some(refused) => refused.resources,
            None if e.event_type == "RequestRefused" => Vec::new(),
            None => {
                let mut named = vec![resource_of(e.stream).to_owned()];
                named.extend(object_of(e));
                named
            }
        };
        for resource in named {
            if !self.resources_seen.contains(&resource) {
                self.resources_seen.insert(resource.clone());
                entry.resources.push(resource);
            }
        }
        if !entry.events.iter().any(|t| t == e.event_type) {
            entry.events.push(e.event_type.to_owned());
        }
        if let Some(outcome) = outcome_of(e) {
            entry.outcome = outcome;
        }
        closed
    }

    fn close(&mut self) -> Option<AuditEntry> {
        self.resources_seen.clear();
        let mut entry = self.current.take()?;
        entry.account_name = self.names.get(&entry.account).cloned();
        Some(entry)
    }
}

/// Visits every entry that matches `filter`, in log order, by reading the
/// whole log (or up to `filter.to`). Stops early when `visit` breaks.
pub fn audit(
    records: &dyn Records,
    filter: &AuditFilter,
    progress: &Progress,
    mut visit: impl FnMut(AuditEntry) -> ControlFlow<()>,
) -> Result<(), ReplayError> {
    let mut grouper = Grouper::default();
    let mut stopped = false;
    let mut done = 0u64;
    scan(records, 1, |e| {
        done += 1;
        progress.at(done);
        if filter.to.is_some_and(|to| e.recorded_at >= to) {
            // The log is in time order: nothing later can match.
            return ControlFlow::Break(());
        }
        if let Some(entry) = grouper.push(e)
            && filter.matches(&entry)
            && visit(entry).is_break()
        {
            stopped = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    if !stopped && let Some(entry) = grouper.close().filter(|e| filter.matches(e)) {
        let _ = visit(entry);
    }
    Ok(())
}

/// Every entry (matching or not) of the records from `from` up to, not
/// including, `until` (the first record of a request, or past the head),
/// in log order: the first may lack the records of its request before
/// `from`. Accounts created before `from` are named through their
/// streams. For reading the log back from its newest records.
pub fn audit_range(
    records: &dyn Records,
    from: u64,
    until: u64,
    mut visit: impl FnMut(AuditEntry),
) -> Result<(), ReplayError> {
    let mut grouper = Grouper::default();
    let mut failure = None;
    let mut named: HashMap<String, Option<String>> = HashMap::new();
    let mut name = |entry: &mut AuditEntry| -> Result<(), ReplayError> {
        if from > 1 && entry.account_name.is_none() && !entry.account.is_empty() {
            entry.account_name = account_name_cached(records, &mut named, &entry.account)?;
        }
        Ok(())
    };
    scan(records, from.max(1), |e| {
        if e.position >= until {
            return ControlFlow::Break(());
        }
        let Some(mut entry) = grouper.push(e) else { return ControlFlow::Continue(()) };
        match name(&mut entry) {
            Ok(()) => {
                visit(entry);
                ControlFlow::Continue(())
            }
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(mut entry) = grouper.close() {
        name(&mut entry)?;
        visit(entry);
    }
    Ok(())
}

/// The streams that may hold a resource's records, from the shape of its
/// id; `None` when the shape says nothing (then the whole log is read).
pub fn streams_of(resource: &str) -> Option<Vec<String>> {
    if resource.contains('/') || resource == "cloud" || resource == "network" {
        return Some(vec![resource.to_owned()]);
    }
    let kind = match resource.split_once('-') {
        Some(("i", _)) => "instance",
        Some(("r", _)) => "reservation",
        Some(("emi" | "eki" | "eri" | "ami" | "aki" | "ari", _)) => "image",
        Some(("sg", _)) => "sg",
        Some(("eipalloc", _)) => "eip",
        Some(("vol", _)) => "volume",
        Some(("snap", _)) => "snapshot",
        _ if resource.len() == 12 && resource.bytes().all(|b| b.is_ascii_digit()) => "account",
        _ => return None,
    };
    Some(vec![format!("{kind}/{resource}")])
}

/// How many records are read at a time while looking for where a request
/// begins and ends around a record found through the index.
const WINDOW: u64 = 512;

/// The entries that touched `filter.resource`, found through the stream
/// index instead of reading the whole log (the same answer as [`audit`],
/// much faster on a long log): the resource's own streams, and the
/// refusals (the `refused` stream) that name it. Falls back to [`audit`]
/// when the resource id's shape names no stream.
pub fn audit_resource(
    records: &dyn Records,
    filter: &AuditFilter,
    progress: &Progress,
) -> Result<Vec<AuditEntry>, ReplayError> {
    let Some(streams) = filter.resource.as_deref().and_then(streams_of) else {
        let mut out = Vec::new();
        audit(records, filter, progress, |e| {
            out.push(e);
            ControlFlow::Continue(())
        })?;
        return Ok(out);
    };
    let mut positions: Vec<u64> = Vec::new();
    for stream in &streams {
        positions.extend(records.stream(stream)?.iter().map(|r| r.position));
    }
    let resource = filter.resource.as_deref().unwrap_or_default();
    positions.extend(
        records
            .stream(domain::StreamId::refused().as_str())?
            .iter()
            .filter(|r| refusal_names(&r.as_envelope(), resource))
            .map(|r| r.position),
    );
    positions.sort_unstable();
    let mut out = Vec::new();
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut covered = 0u64;
    for position in positions {
        if position <= covered {
            continue;
        }
        let group = request_around(records, position)?;
        covered = group.last().map_or(position, |r| r.position);
        let mut grouper = Grouper::default();
        let mut entry = None;
        for r in &group {
            if let Some(closed) = grouper.push(&r.as_envelope()) {
                entry = Some(closed);
            }
        }
        let Some(mut entry) = entry.or_else(|| grouper.close()) else { continue };
        entry.account_name = account_name_cached(records, &mut names, &entry.account)?;
        if filter.matches(&entry) {
            out.push(entry);
        }
    }
    Ok(out)
}

/// The records of the request that stored the record at `position`.
fn request_around(records: &dyn Records, position: u64) -> Result<Vec<RecordedEvent>, ReplayError> {
    let at = records.read(position, 1)?;
    let Some(record) = at.into_iter().next() else { return Ok(Vec::new()) };
    let id = record.metadata.request_id.clone();
    if id.is_empty() {
        return Ok(vec![record]);
    }
    let mut before: Vec<RecordedEvent> = Vec::new();
    let mut low = position;
    'back: while low > 1 {
        let from = low.saturating_sub(WINDOW).max(1);
        let chunk = records.read(from, (low - from) as usize)?;
        for r in chunk.into_iter().rev() {
            if r.metadata.request_id != id {
                break 'back;
            }
            before.push(r);
        }
        low = from;
    }
    before.reverse();
    before.push(record);
    let mut next = position + 1;
    'forward: loop {
        let chunk = records.read(next, WINDOW as usize)?;
        if chunk.is_empty() {
            break;
        }
        for r in chunk {
            if r.metadata.request_id != id {
                break 'forward;
            }
            next = r.position + 1;
            before.push(r);
        }
    }
    Ok(before)
}

/// [`account_name`], looked up once per account in `names`.
fn account_name_cached(
    records: &dyn Records,
    names: &mut HashMap<String, Option<String>>,
    account: &str,
) -> Result<Option<String>, ReplayError> {
    if let Some(name) = names.get(account) {
        return Ok(name.clone());
    }
    let name = account_name(records, account)?;
    names.insert(account.to_owned(), name.clone());
    Ok(name)
}

/// The name an account was created with, from its stream.
fn account_name(records: &dyn Records, account: &str) -> Result<Option<String>, ReplayError> {
    for r in records.stream(&format!("account/{account}"))? {
        if let Ok(domain::Event::AccountCreated(e)) =
            domain::Event::decode(&r.event_type, r.schema, &r.payload)
        {
            return Ok(Some(e.name));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
