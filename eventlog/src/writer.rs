//! The single writer and group commit.
//!
//! Callers send jobs; the writer thread takes every job waiting, runs each
//! inside one redb write transaction (so each job sees the writes of the jobs
//! before it), commits once with fsync, and only then answers every caller.
//! A job's appends are checked against the stream versions it expects and
//! stored all together or not at all.

use crate::envelope::{EnvelopeRef, Metadata, NewEvent, RecordedEvent, decode_record, encode_record};
use crate::error::{AppendError, ReadError, storage};
use crate::tables::{EVENTS, STREAMS};
use redb::{ReadableTable, Table};
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What version a stream must be at for an append to go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Whatever it is.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have exactly this version.
    Exactly(u64),
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exactly(n) => write!(f, "{n}"),
        }
    }
}

impl ExpectedVersion {
    /// The expectation for a stream last seen at `version` (0 = empty).
    pub fn from_seen(version: u64) -> Self {
        if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exactly(version) }
    }

    fn allows(self, actual: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => actual == 0,
            ExpectedVersion::Exactly(n) => actual == n,
        }
    }
}

/// Events for one stream in an append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamAppend {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// Where an append landed: global positions `first..=last` (empty when no
/// events were given) and each stream's new version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Appended {
    pub first: u64,
    pub last: u64,
    pub versions: Vec<(String, u64)>,
}

type Completion = Box<dyn FnOnce(Result<(), AppendError>) + Send>;
pub(crate) type Job = Box<dyn FnOnce(&mut Tx<'_>) -> Completion + Send>;

struct Pending {
    position: u64,
    stream: String,
    version: u64,
    record: Vec<u8>,
}

/// A job's view of the log inside the shared write transaction.
pub struct Tx<'t> {
    events: Table<'t, u64, &'static [u8]>,
    streams: Table<'t, (&'static str, u64), u64>,
    next_position: u64,
    /// The position after the last flushed job.
    committed_position: u64,
    recorded_at: i64,
    generation: u64,
    pending: Vec<Pending>,
    pending_versions: HashMap<String, u64>,
}

impl Tx<'_> {
    /// Incremented each time a batch failed to commit: state a caller cached
    /// from earlier jobs may include events that were never stored.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The stream's last version (0 = no events), counting this job's appends.
    pub fn stream_version(&self, stream: &str) -> Result<u64, ReadError> {
        if let Some(v) = self.pending_versions.get(stream) {
            return Ok(*v);
        }
        stored_version(&self.streams, stream)
    }

    /// The stream's stored events after `after_version` (this job's own
    /// appends are not included).
    pub fn read_stream(&self, stream: &str, after_version: u64) -> Result<Vec<RecordedEvent>, ReadError> {
        read_stream(&self.streams, &self.events, stream, after_version)
    }

    /// Appends to one or more streams atomically: every expectation is
    /// checked before anything is written.
    pub fn append(&mut self, meta: &Metadata, appends: &[StreamAppend]) -> Result<Appended, AppendError> {
        // Running version of each stream named in this append.
        let mut current: Vec<(String, u64)> = Vec::with_capacity(appends.len());
        let mut starts = Vec::with_capacity(appends.len());
        for a in appends {
            let seen = match current.iter().find(|(s, _)| *s == a.stream) {
                Some((_, v)) => *v,
                None => self.stream_version(&a.stream).map_err(|e| AppendError::Storage(e.to_string()))?,
            };
            if !a.expected.allows(seen) {
                return Err(AppendError::Conflict {
                    stream: a.stream.clone(),
                    expected: a.expected.to_string(),
                    actual: seen,
                });
            }
            starts.push(seen);
            let next = seen + a.events.len() as u64;
            match current.iter_mut().find(|(s, _)| *s == a.stream) {
                Some(entry) => entry.1 = next,
                None => current.push((a.stream.clone(), next)),
            }
        }
        let first = self.next_position;
        for (a, start) in appends.iter().zip(starts) {
            for (version, e) in (start + 1..).zip(&a.events) {
                let position = self.next_position;
                self.next_position += 1;
                let record = encode_record(&EnvelopeRef {
                    position,
                    stream: &a.stream,
                    version,
                    event_type: &e.event_type,
                    schema: e.schema,
                    recorded_at: self.recorded_at,
                    account: &meta.account,
                    user: &meta.user,
                    access_key: &meta.access_key,
                    request_id: &meta.request_id,
                    correlation_id: &meta.correlation_id,
                    causation_id: &meta.causation_id,
                    payload: &e.payload,
                });
                self.pending.push(Pending { position, stream: a.stream.clone(), version, record });
            }
        }
        for (stream, v) in &current {
            self.pending_versions.insert(stream.clone(), *v);
        }
        Ok(Appended { first, last: self.next_position - 1, versions: current })
    }

    /// Writes this job's appends into the shared transaction and gets
    /// ready for the next job.
    fn flush(&mut self) -> Result<(), redb::StorageError> {
        for p in self.pending.drain(..) {
            self.events.insert(p.position, p.record.as_slice())?;
            self.streams.insert((p.stream.as_str(), p.version), p.position)?;
        }
        self.pending_versions.clear();
        self.committed_position = self.next_position;
        Ok(())
    }
}

pub(crate) fn stored_version(
    streams: &impl ReadableTable<(&'static str, u64), u64>,
    stream: &str,
) -> Result<u64, ReadError> {
    let mut range =
        streams.range((stream, 0)..=(stream, u64::MAX)).map_err(|e| ReadError::Storage(storage(e)))?;
    match range.next_back() {
        Some(Ok((key, _))) => Ok(key.value().1),
        Some(Err(e)) => Err(ReadError::Storage(storage(e))),
        None => Ok(0),
    }
}

pub(crate) fn read_stream(
    streams: &impl ReadableTable<(&'static str, u64), u64>,
    events: &impl ReadableTable<u64, &'static [u8]>,
    stream: &str,
    after_version: u64,
) -> Result<Vec<RecordedEvent>, ReadError> {
    let mut out = Vec::new();
    let range = streams
        .range((stream, after_version + 1)..=(stream, u64::MAX))
        .map_err(|e| ReadError::Storage(storage(e)))?;
    for entry in range {
        let (key, position) = entry.map_err(|e| ReadError::Storage(storage(e)))?;
        let position = position.value();
        let record = events
            .get(position)
            .map_err(|e| ReadError::Storage(storage(e)))?
            .ok_or_else(|| ReadError::Corrupt { position, reason: "indexed but missing".into() })?;
        let envelope = decode_record(position, record.value())?;
        if envelope.stream != stream || envelope.version != key.value().1 {
            return Err(ReadError::Corrupt {
                position,
                reason: format!(
                    "index says {stream}@{} but record is {}@{}",
                    key.value().1,
                    envelope.stream,
                    envelope.version
                ),
            });
        }
        out.push(envelope.to_owned());
    }
    Ok(out)
}

/// The state the writer thread shares with readers.
pub(crate) struct Shared {
    pub db: Arc<redb::Database>,
    pub head: tokio::sync::watch::Sender<u64>,
    pub generation: AtomicU64,
    /// Durable commits so far (one per batch).
    pub commits: AtomicU64,
}

/// Runs until every sender is gone.
pub(crate) fn run(shared: Arc<Shared>, mut rx: tokio::sync::mpsc::Receiver<Job>, max_batch: usize) {
    let mut last_time = 0i64;
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        last_time = last_time.max(now);
        let head = *shared.head.borrow();
        let (completions, result) = commit_batch(&shared, jobs, head + 1, last_time);
        match &result {
            Ok(last) => {
                shared.commits.fetch_add(1, Ordering::Relaxed);
                if *last != head {
                    shared.head.send_replace(*last);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "event log commit failed; the batch is discarded");
                shared.generation.fetch_add(1, Ordering::SeqCst);
            }
        }
        let outcome = result.map(|_| ());
        for complete in completions {
            complete(outcome.clone());
        }
    }
}

/// Runs the jobs in one write transaction and commits it. Returns the
/// completions to call and the last position stored.
fn commit_batch(
    shared: &Shared,
    jobs: Vec<Job>,
    first_position: u64,
    recorded_at: i64,
) -> (Vec<Completion>, Result<u64, AppendError>) {
    let mut completions = Vec::with_capacity(jobs.len());
    // A job dropped without running answers its caller with a storage
    // error (see `EventLog::transact`).
    let txn = match shared.db.begin_write() {
        Ok(t) => t,
        Err(e) => return (Vec::new(), Err(AppendError::Storage(storage(e)))),
    };
    let generation = shared.generation.load(Ordering::SeqCst);
    let mut failure: Option<AppendError> = None;
    let mut next_position = first_position;
    {
        let opened = txn.open_table(EVENTS).and_then(|e| txn.open_table(STREAMS).map(|s| (e, s)));
        let (events, streams) = match opened {
            Ok(tables) => tables,
            Err(e) => return (Vec::new(), Err(AppendError::Storage(storage(e)))),
        };
        let mut tx = Tx {
            events,
            streams,
            next_position,
            committed_position: next_position,
            recorded_at,
            generation,
            pending: Vec::new(),
            pending_versions: HashMap::new(),
        };
        for job in jobs {
            // `transact` catches the caller's panics; this guards the writer
            // itself against anything else.
            match catch_unwind(AssertUnwindSafe(|| job(&mut tx))) {
                Ok(complete) => {
                    completions.push(complete);
                    if let Err(e) = tx.flush() {
                        failure = Some(AppendError::Storage(storage(e)));
                        break;
                    }
                }
                Err(_) => {
                    tracing::error!("a job panicked inside the event log writer; it was discarded");
                    tx.discard();
                }
            }
        }
        next_position = tx.next_position;
    }
    if let Some(err) = failure {
        drop(txn);
        return (completions, Err(err));
    }
    match txn.commit() {
        Ok(()) => (completions, Ok(next_position - 1)),
        Err(e) => (completions, Err(AppendError::Storage(storage(e)))),
    }
}

impl Tx<'_> {
    /// Drops this job's appends (used when the job panicked).
    pub(crate) fn discard(&mut self) {
        self.pending.clear();
        self.pending_versions.clear();
        // Positions are handed out again to the next job.
        self.next_position = self.committed_position;
    }
}
