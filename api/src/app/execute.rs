//! The one decide loop: load the streams a command names → fold → decide →
//! append with the versions read → retry on conflict. It knows commands,
//! aggregates and the log, not any particular aggregate.
//!
//! It runs inside the log's writer (`EventLog::transact`), so decisions are
//! taken one after another against state that already includes every
//! earlier decision of the same group commit. Folded streams are cached
//! between commands; the versions appended with still guard them, so a
//! cache made stale by another writer only costs a retry.

use domain::{Aggregate, Command, DecideError, Decision, Event, StateView, StreamId, StreamKind};
use eventlog::{AppendError, ExpectedVersion, Metadata, NewEvent, ReadError, StreamAppend, Tx};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Streams folded so far, with the version they were folded to.
#[derive(Default)]
pub(crate) struct StreamCache {
    generation: u64,
    streams: HashMap<StreamId, (u64, Aggregate)>,
}

/// Beyond this many cached streams, the short streams (instances,
/// reservations, client tokens) are dropped from the cache: it is only a
/// shortcut, and they fold again from a few events. Long, hot streams
/// (cloud, clusters, accounts) stay.
const CACHE_LIMIT: usize = 250_000;

pub(crate) type SharedCache = Arc<Mutex<StreamCache>>;

#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
    #[error(transparent)]
    Refused(#[from] DecideError),
    #[error("the log changed under the decision; retry")]
    Conflict,
    #[error(transparent)]
    Append(#[from] AppendError),
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Stored, but the read models cannot show it (they stopped following).
    #[error(transparent)]
    Stalled(#[from] projections::Stalled),
    #[error("{command} decided an event for {stream}, a stream it did not name")]
    Unnamed { stream: String, command: &'static str },
    #[error("stored event at position {position} does not decode: {reason}")]
    Decode { position: u64, reason: String },
}

/// What a command did: the domain's reply and where its events landed
/// (`last_position` is 0 when it appended nothing).
#[derive(Debug)]
pub struct Executed {
    pub decision: Decision,
    pub last_position: u64,
}

/// How many times one decision may ask for more streams.
const MAX_ROUNDS: usize = 8;

/// The cached streams a decision named (or asked for): the others stay
/// invisible, so that a decision cannot depend on a stream it did not read.
struct View<'a> {
    cache: &'a HashMap<StreamId, (u64, Aggregate)>,
    named: HashSet<&'a StreamId>,
}

impl StateView for View<'_> {
    fn get(&self, stream: &StreamId) -> Option<&Aggregate> {
        if !self.named.contains(stream) {
            return None;
        }
        self.cache.get(stream).map(|(_, a)| a)
    }
}

fn encode(event: &Event) -> NewEvent {
    NewEvent { event_type: event.type_name().to_owned(), schema: event.schema(), payload: event.encode() }
}

/// Decides `command` inside the writer and appends what it decided.
/// With `dry_run`, decides and appends nothing (EC2's DryRun).
pub(crate) fn decide_in_tx(
    cache: &SharedCache,
    tx: &mut Tx<'_>,
    command: &Command,
    meta: &Metadata,
    dry_run: bool,
) -> Result<Executed, ExecuteError> {
    let mut cache = cache.lock().unwrap_or_else(|poisoned| {
        // A panic while deciding left the cache half-updated: start over.
        let mut inner = poisoned.into_inner();
        inner.streams.clear();
        inner
    });
    if cache.generation != tx.generation() {
        cache.streams.clear();
        cache.generation = tx.generation();
    }
    if cache.streams.len() > CACHE_LIMIT {
        cache.streams.retain(|id, _| {
            !matches!(id.kind(), StreamKind::Instance | StreamKind::Reservation | StreamKind::ClientToken)
        });
    }
    let mut named = command.streams();
    let mut rounds = 0;
    let decision = loop {
        for stream in &named {
            if !cache.streams.contains_key(stream) {
                let folded = fold_stream(tx, stream)?;
                cache.streams.insert(stream.clone(), folded);
            }
        }
        let view = View { cache: &cache.streams, named: named.iter().collect() };
        match domain::decide(command, &view) {
            Err(DecideError::NeedStreams(more)) if rounds < MAX_ROUNDS => {
                rounds += 1;
                named.extend(more);
            }
            Err(DecideError::NeedStreams(more)) => {
                return Err(ExecuteError::Unnamed { stream: format!("{more:?}"), command: command.name() });
            }
            other => break other?,
        }
    };
    if decision.events.is_empty() || dry_run {
        return Ok(Executed { decision, last_position: 0 });
    }
    // One StreamAppend per run of consecutive events of a stream, so the
    // log keeps the order the domain decided in.
    let mut running: HashMap<&StreamId, u64> = HashMap::new();
    let mut appends: Vec<StreamAppend> = Vec::new();
    for (stream, event) in &decision.events {
        let Some((seen, _)) = cache.streams.get(stream) else {
            return Err(ExecuteError::Unnamed { stream: stream.to_string(), command: command.name() });
        };
        let version = running.entry(stream).or_insert(*seen);
        match appends.last_mut() {
            Some(last) if last.stream == stream.as_str() => last.events.push(encode(event)),
            _ => appends.push(StreamAppend {
                stream: stream.to_string(),
                expected: ExpectedVersion::from_seen(*version),
                events: vec![encode(event)],
            }),
        }
        *version += 1;
    }
    let appended = match tx.append(meta, &appends) {
        Ok(a) => a,
        Err(AppendError::Conflict { .. }) => {
            for stream in &named {
                cache.streams.remove(stream);
            }
            return Err(ExecuteError::Conflict);
        }
        Err(e) => return Err(e.into()),
    };
    for (stream, event) in &decision.events {
        if let Some((version, aggregate)) = cache.streams.get_mut(stream) {
            aggregate.evolve(event);
            *version += 1;
        }
    }
    Ok(Executed { decision, last_position: appended.last })
}

fn fold_stream(tx: &Tx<'_>, stream: &StreamId) -> Result<(u64, Aggregate), ExecuteError> {
    let mut aggregate = Aggregate::Empty;
    let mut version = 0;
    for recorded in tx.read_stream(stream.as_str(), 0)? {
        let event = Event::decode(&recorded.event_type, recorded.schema, &recorded.payload)
            .map_err(|e| ExecuteError::Decode { position: recorded.position, reason: e.to_string() })?;
        aggregate.evolve(&event);
        version = recorded.version;
    }
    Ok((version, aggregate))
}
