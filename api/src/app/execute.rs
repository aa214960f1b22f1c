//! The decide loop inside the log's writer: the domain's decide driver
//! (`domain::drive`: fold the streams a command names → decide → read
//! what the decision asks for → appends with the versions read) over the
//! log's transaction and a cache of folded streams, then the append, and a
//! conflict handed back to be decided again. It knows commands, aggregates
//! and the log, not any particular aggregate.
//!
//! It runs inside the log's writer (`EventLog::transact`), so decisions are
//! taken one after another against state that already includes every
//! earlier decision of the same group commit. Folded streams are cached
//! between commands; the versions appended with still guard them, so a
//! cache made stale by another writer only costs a retry.

use domain::drive::{DecisionBug, DriveError, Folded, Streams, drive};
use domain::{Aggregate, Command, DecideError, Decision, Event, StreamId, StreamKind};
use eventlog::{AppendError, ExpectedVersion, Metadata, NewEvent, ReadError, StreamAppend, Tx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Streams folded so far, with the version they were folded to.
#[derive(Default)]
pub(crate) struct StreamCache {
    generation: u64,
    streams: HashMap<StreamId, Folded>,
}

/// Beyond this many cached streams, the short streams (instances,
/// reservations, client tokens) are dropped from the cache: it is only a
/// shortcut, and they fold again from a few events. Long, hot streams
/// (cloud, clusters, accounts) stay. 4,096 holds what a burst of commands
/// touches again (a RunInstances of 1,000 and the nodes' reports of its
/// instances) while keeping the cache's share of memory small (each
/// cached instance holds the domain's whole state of it).
const CACHE_LIMIT: usize = 4_096;

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
    /// The domain could not decide to an end (it kept asking for streams,
    /// or decided for a stream it did not read).
    #[error(transparent)]
    Undecided(#[from] DecisionBug),
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

/// The cache, folding a stream from the transaction the first time it is
/// read.
struct Cached<'c, 'x, 't> {
    cache: &'c mut HashMap<StreamId, Folded>,
    tx: &'x Tx<'t>,
}

impl Streams for Cached<'_, '_, '_> {
    type Error = ExecuteError;

    fn load(&mut self, stream: &StreamId) -> Result<(), ExecuteError> {
        if !self.cache.contains_key(stream) {
            let folded = fold_stream(self.tx, stream)?;
            self.cache.insert(stream.clone(), folded);
        }
        Ok(())
    }

    fn folded(&self, stream: &StreamId) -> Option<&Folded> {
        self.cache.get(stream)
    }

    fn folded_mut(&mut self, stream: &StreamId) -> Option<&mut Folded> {
        self.cache.get_mut(stream)
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
    let driven = match drive(command, &mut Cached { cache: &mut cache.streams, tx }) {
        Ok(driven) => driven,
        Err(DriveError::Refused(refusal)) => return Err(refusal.into()),
        Err(DriveError::Load(e)) => return Err(e),
        Err(DriveError::Bug(bug)) => return Err(bug.into()),
    };
    if driven.decision.events.is_empty() || dry_run {
        return Ok(Executed { decision: driven.decision, last_position: 0 });
    }
    let appends: Vec<StreamAppend> = driven
        .appends(&cache.streams)
        .into_iter()
        .map(|a| StreamAppend {
            stream: a.stream.to_string(),
            expected: ExpectedVersion::from_seen(a.expected),
            events: a.events.into_iter().map(encode).collect(),
        })
        .collect();
    let appended = match tx.append(meta, &appends) {
        Ok(a) => a,
        Err(AppendError::Conflict { .. }) => {
            for stream in &driven.read {
                cache.streams.remove(stream);
            }
            return Err(ExecuteError::Conflict);
        }
        Err(e) => return Err(e.into()),
    };
    driven.apply_to(&mut cache.streams);
    Ok(Executed { decision: driven.decision, last_position: appended.last })
}

fn fold_stream(tx: &Tx<'_>, stream: &StreamId) -> Result<Folded, ExecuteError> {
    let mut folded = Folded { version: 0, state: Aggregate::Empty };
    for recorded in tx.read_stream(stream.as_str(), 0)? {
        let event = Event::decode(&recorded.event_type, recorded.schema, &recorded.payload)
            .map_err(|e| ExecuteError::Decode { position: recorded.position, reason: e.to_string() })?;
        folded.state.evolve(&event);
        folded.version = recorded.version;
    }
    Ok(folded)
}
