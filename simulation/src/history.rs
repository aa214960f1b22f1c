//! The history of a concurrent step, checked against the log's order (the
//! order in which the cloud says requests took effect): every answer must
//! be what some sequential run of the acknowledged requests, in an order
//! that respects real time, would have answered.
//!
//! - **A request takes effect between its invocation and its answer**:
//!   every record it appended lies after the log's head when it was
//!   invoked and at or before the head when it was answered. So a request
//!   answered before another was invoked precedes it in the log.
//! - A read (Describe*) appends nothing; a refusal appends at most its own
//!   `RequestRefused`; a request that failed on a fault may or may not
//!   have taken effect, but only inside its interval too.
//! - **State changes chain in the log's order**: of two acknowledged
//!   stops, starts or terminations of one instance that both changed it,
//!   the later one's previous state is the earlier one's current state (no
//!   other writer touches an instance inside a step); one that changed
//!   nothing answers the same previous and current state.
//! - **A RunInstances retried with its ClientToken while the first was in
//!   flight launches nothing more**: both acknowledged answers name the
//!   same reservation and instances.
//!
//! - **A read shows the cloud as the log had it at some commit of its
//!   interval**: no earlier than the last write its client saw answered,
//!   no later than the head when it was invoked (`reads.rs` renders it
//!   again from the read models folded from the log to each such commit;
//!   one must give the same answer, byte for byte).

use crate::Answer;
use crate::workload::Request;
use eventlog::{EventLog, decode_record};
use std::collections::BTreeMap;

/// One request of the step.
#[derive(Clone, Debug)]
pub struct Flight {
    pub request_id: String,
    pub account: domain::AccountId,
    /// The log's head when it was invoked.
    pub invoked: u64,
    /// The log's head when its answer was seen.
    pub answered: u64,
    /// When it was invoked and when its answer was seen, in the step's
    /// own order of moments (to tell what was answered before what was
    /// invoked).
    pub invoked_seq: u64,
    pub answered_seq: u64,
    /// How it was answered, and the answer's XML if acknowledged.
    pub outcome: Option<(Answer, Option<String>)>,
}

/// A stop, start or termination of one instance, as answered.
#[derive(Debug)]
struct Change {
    instance: String,
    previous: String,
    current: String,
}

/// A concurrent step's requests, to check once the log can be read.
#[derive(Debug)]
pub struct History {
    /// The log's head before the step and after it.
    pub from: u64,
    pub to: u64,
    /// The positions the read models can have been at during the step:
    /// `from` and the head after each group commit (the read models
    /// follow the log a commit at a time).
    pub commits: Vec<u64>,
    pub flights: Vec<(Flight, Request)>,
}

/// An acknowledged read, and the positions of the log it may have seen:
/// the commits from the last one its client could know of (a request
/// answered before the read was invoked) to the head when it was invoked.
#[derive(Debug)]
pub struct Read {
    pub flight: usize,
    pub positions: Vec<u64>,
}

/// Why a history was not checked.
#[derive(Debug)]
pub enum Unchecked {
    /// The disk lost its power: check again after the restart (what was
    /// durable before the cut is read back the same).
    Unreadable(eventlog::ReadError),
    /// It does not fit the log's order.
    Violation(String),
}

impl From<String> for Unchecked {
    fn from(what: String) -> Self {
        Unchecked::Violation(what)
    }
}

/// Checks the step's requests against the records appended from `from`
/// (exclusive) to `to`; returns the reads, to compare with the read models
/// folded from the log (`reads.rs`).
pub fn check(log: &EventLog, history: &History) -> Result<Vec<Read>, Unchecked> {
    let (from, to, flights) = (history.from, history.to, &history.flights);
    let mut records: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    let mut next = from + 1;
    while next <= to {
        let batch = log.raw_records(next, 1024).map_err(Unchecked::Unreadable)?;
        let Some((last, _)) = batch.last() else { break };
        next = last + 1;
        for (position, bytes) in batch.iter().filter(|(p, _)| *p <= to) {
            let envelope = decode_record(*position, bytes).map_err(|e| e.to_string())?;
            records
                .entry(envelope.request_id.to_owned())
                .or_default()
                .push((*position, envelope.event_type.to_owned()));
        }
    }
    let mut changes: Vec<(u64, Change)> = Vec::new();
    let mut reads = Vec::new();
    let mut launches: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    for (index, (flight, request)) in flights.iter().enumerate() {
        let Some((answer, xml)) = flight.outcome.clone() else {
            return Err(Unchecked::Violation("a request of the step was not answered".into()));
        };
        let own = records.get(&flight.request_id).map(Vec::as_slice).unwrap_or_default();
        let action = request.action();
        let describe = |what: &str| {
            format!(
                "{action} ({}), invoked at {} and answered at {}, {what}: {own:?}",
                flight.request_id, flight.invoked, flight.answered
            )
        };
        if let Some((p, _)) = own.iter().find(|(p, _)| *p <= flight.invoked || *p > flight.answered) {
            return Err(describe(&format!("took effect at {p}, outside its interval")).into());
        }
        let refusals = own.iter().filter(|(_, t)| t == "RequestRefused").count();
        match answer {
            Answer::Acknowledged if refusals > 0 => {
                return Err(describe("was acknowledged but recorded as refused").into());
            }
            Answer::Acknowledged if action.starts_with("Describe") && !own.is_empty() => {
                return Err(describe("is a read but appended records").into());
            }
            Answer::Refused if refusals != own.len() || refusals > 1 => {
                return Err(describe("was refused but appended more than its refusal").into());
            }
            _ => {}
        }
        let Some(xml) = xml.filter(|_| answer == Answer::Acknowledged) else { continue };
        if action.starts_with("Describe") {
            // What its client knew had happened: every request answered
            // before it was invoked.
            let known = flights
                .iter()
                .filter(|(f, _)| f.answered_seq < flight.invoked_seq)
                .filter_map(|(f, _)| records.get(&f.request_id)?.iter().map(|(p, _)| *p).max())
                .max()
                .unwrap_or(from);
            let positions: Vec<u64> =
                history.commits.iter().copied().filter(|p| (known..=flight.invoked).contains(p)).collect();
            if positions.is_empty() {
                return Err(describe("saw no commit of the step").into());
            }
            reads.push(Read { flight: index, positions });
        }
        if matches!(action, "StopInstances" | "StartInstances" | "TerminateInstances") {
            for change in changes_in(&xml)? {
                if own.is_empty() {
                    if change.previous != change.current {
                        return Err(describe(&format!(
                            "changed {} from {} to {} but appended nothing",
                            change.instance, change.previous, change.current
                        ))
                        .into());
                    }
                } else {
                    changes.push((own[0].0, change));
                }
            }
        }
        if action == "RunInstances"
            && let Some((_, token)) = request.params.iter().find(|(k, _)| k == "ClientToken")
        {
            let launched = launched_in(&xml)?;
            let key = (request.client, token.clone());
            match launches.get(&key) {
                Some(first) if *first != launched => {
                    return Err(describe(&format!(
                        "with the ClientToken of a RunInstances in flight launched {launched:?}, the first {first:?}"
                    ))
                    .into());
                }
                Some(_) => {}
                None => {
                    launches.insert(key, launched);
                }
            }
        }
    }
    changes.sort_by_key(|(position, _)| *position);
    let mut last: BTreeMap<&str, (u64, &Change)> = BTreeMap::new();
    for (position, change) in &changes {
        if let Some((before, earlier)) = last.get(change.instance.as_str())
            && earlier.current != change.previous
        {
            return Err(Unchecked::Violation(format!(
                "{}: the change at {before} answered {} → {}, the next at {position} {} → {}",
                change.instance, earlier.previous, earlier.current, change.previous, change.current
            )));
        }
        last.insert(&change.instance, (*position, change));
    }
    Ok(reads)
}

fn parse(xml: &str) -> Result<roxmltree::Document<'_>, String> {
    roxmltree::Document::parse(xml).map_err(|e| format!("an ill-formed answer ({e}): {xml}"))
}

fn child_text<'a>(node: roxmltree::Node<'a, '_>, path: &[&str]) -> Option<&'a str> {
    let mut node = node;
    for tag in path {
        node = node.children().find(|c| c.has_tag_name(*tag))?;
    }
    node.text()
}

/// The instance state changes a StopInstances, StartInstances or
/// TerminateInstances answer reports.
fn changes_in(xml: &str) -> Result<Vec<Change>, String> {
    let doc = parse(xml)?;
    let set = doc.descendants().find(|n| n.has_tag_name("instancesSet"));
    let mut changes = Vec::new();
    for item in set.iter().flat_map(|s| s.children().filter(|c| c.has_tag_name("item"))) {
        let field = |path: &[&str]| {
            child_text(item, path).map(str::to_owned).ok_or_else(|| format!("no {path:?} in {xml}"))
        };
        changes.push(Change {
            instance: field(&["instanceId"])?,
            previous: field(&["previousState", "name"])?,
            current: field(&["currentState", "name"])?,
        });
    }
    Ok(changes)
}

/// A RunInstances answer's reservation and instance ids.
fn launched_in(xml: &str) -> Result<Vec<String>, String> {
    let doc = parse(xml)?;
    let reservation = doc
        .descendants()
        .find(|n| n.has_tag_name("reservationId"))
        .and_then(|n| n.text())
        .ok_or_else(|| format!("no reservationId in {xml}"))?;
    let mut ids: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("instanceId"))
        .filter_map(|n| n.text())
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.insert(0, reservation.to_owned());
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventlog::{ExpectedVersion, LogOptions, Metadata, NewEvent, StreamAppend};

    fn terminate(id: &str, previous: &str, current: &str) -> String {
        format!(
            "<TerminateInstancesResponse><instancesSet><item><instanceId>{id}</instanceId>\
             <currentState><code>0</code><name>{current}</name></currentState>\
             <previousState><code>0</code><name>{previous}</name></previousState>\
             </item></instancesSet></TerminateInstancesResponse>"
        )
    }

    fn run(reservation: &str, ids: &[&str]) -> String {
        let items: String =
            ids.iter().map(|id| format!("<item><instanceId>{id}</instanceId></item>")).collect();
        format!(
            "<RunInstancesResponse><reservationId>{reservation}</reservationId>\
             <instancesSet>{items}</instancesSet></RunInstancesResponse>"
        )
    }

    fn request(action: &str, token: Option<&str>) -> Request {
        let mut params = vec![("Action".to_owned(), action.to_owned())];
        if let Some(t) = token {
            params.push(("ClientToken".to_owned(), t.to_owned()));
        }
        Request { client: 0, params, foreign: false }
    }

    fn flight(id: &str, invoked: u64, answered: u64, xml: &str) -> Flight {
        let outcome = Some((Answer::Acknowledged, Some(xml.to_owned())));
        let account = domain::AccountId::from_bits(123_456_789_012);
        let (invoked_seq, answered_seq) = (invoked * 2, answered * 2 + 1);
        Flight { request_id: id.to_owned(), account, invoked, answered, invoked_seq, answered_seq, outcome }
    }

    /// A log of one record for each request id, in this order.
    async fn log_of(dir: &std::path::Path, requests: &[&str]) -> EventLog {
        let log = EventLog::open(&dir.join("events.redb"), LogOptions::default()).unwrap();
        for r in requests {
            let meta = Metadata {
                account: "123456789012".into(),
                user: "admin".into(),
                access_key: "AKIA".into(),
                action: "Test".into(),
                source: "test".into(),
                request_id: (*r).into(),
                correlation_id: (*r).into(),
                causation_id: (*r).into(),
            };
            let event = NewEvent { event_type: "Thing".into(), schema: 1, payload: vec![1] };
            let append = StreamAppend {
                stream: format!("s/{r}"),
                expected: ExpectedVersion::Any,
                events: vec![event],
            };
            log.append(meta, vec![append]).await.unwrap();
        }
        log
    }

    fn violation(result: Result<(), Unchecked>) -> String {
        match result {
            Err(Unchecked::Violation(what)) => what,
            other => panic!("not a violation: {other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_that_fit_the_logs_order_pass_and_others_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), &["a", "b"]).await;
        let check = |flights: Vec<(Flight, Request)>| {
            check(&log, &History { from: 0, to: 2, commits: vec![0, 1, 2], flights }).map(|_| ())
        };
        let t = || request("TerminateInstances", None);

        // Two overlapping terminations: the first (in the log) stopped a
        // running instance, the second found it shutting down.
        let fits = vec![
            (flight("b", 0, 2, &terminate("i-1", "shutting-down", "shutting-down")), t()),
            (flight("a", 0, 2, &terminate("i-1", "running", "shutting-down")), t()),
        ];
        assert!(check(fits).is_ok());

        // Both claim to have found it running: no sequential order gives that.
        let both_running = vec![
            (flight("a", 0, 2, &terminate("i-1", "running", "shutting-down")), t()),
            (flight("b", 0, 2, &terminate("i-1", "running", "shutting-down")), t()),
        ];
        assert!(violation(check(both_running)).contains("i-1"));

        // A request answered before the other was invoked must come first.
        let reordered = vec![
            (flight("b", 0, 1, &terminate("i-2", "running", "shutting-down")), t()),
            (flight("a", 1, 2, &terminate("i-3", "running", "shutting-down")), t()),
        ];
        assert!(violation(check(reordered)).contains("outside its interval"));

        // A change that appended nothing.
        let silent = vec![(flight("c", 0, 2, &terminate("i-4", "running", "shutting-down")), t())];
        assert!(violation(check(silent)).contains("appended nothing"));

        // A read that appended.
        let read =
            vec![(flight("a", 0, 2, "<DescribeInstancesResponse/>"), request("DescribeInstances", None))];
        assert!(violation(check(read)).contains("is a read"));

        // A RunInstances retried with its token while in flight.
        let same = || request("RunInstances", Some("tok"));
        let retried = vec![
            (flight("a", 0, 2, &run("r-1", &["i-5", "i-6"])), same()),
            (flight("b", 0, 2, &run("r-1", &["i-6", "i-5"])), same()),
        ];
        assert!(check(retried).is_ok());
        let launched_twice = vec![
            (flight("a", 0, 2, &run("r-1", &["i-5"])), same()),
            (flight("b", 0, 2, &run("r-2", &["i-7"])), same()),
        ];
        assert!(violation(check(launched_twice)).contains("ClientToken"));

        // A refusal that appended more than its refusal record.
        let mut refused = flight("a", 0, 2, "");
        refused.outcome = Some((Answer::Refused, None));
        assert!(violation(check(vec![(refused, t())])).contains("more than its refusal"));
    }
}
