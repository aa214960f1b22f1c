//! A job's view of the log inside the shared write transaction of a group
//! commit: stream versions, stream reads and atomic appends with expected
//! versions.

use crate::envelope::{EnvelopeRef, Metadata, NewEvent, RecordedEvent, encode_record};
use crate::error::{AppendError, ReadError};
use crate::index::Overlay;
use crate::read;
use crate::writer::Shared;
use redb::{ReadOnlyTable, Table};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

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

pub(crate) type Completion = Box<dyn FnOnce(Result<(), AppendError>) + Send>;
/// Work for the writer: run in a transaction (and return what to call once
/// it is committed or not), or refused without running (`Err`).
pub(crate) type Job = Box<dyn FnOnce(Result<&mut Tx<'_>, AppendError>) -> Option<Completion> + Send>;

/// The tables a job works on: the write transaction's, or, while the log
/// cannot store anything (see `writer.rs`), a read transaction's; then
/// every append is refused with `refusal` and reads go on, so that a
/// command that is refused anyway is refused for its own reason.
pub(crate) enum Tables<'t> {
    Write {
        events: Table<'t, u64, &'static [u8]>,
        streams: Table<'t, (&'static str, u64), u64>,
    },
    Read {
        events: ReadOnlyTable<u64, &'static [u8]>,
        streams: ReadOnlyTable<(&'static str, u64), u64>,
        refusal: AppendError,
    },
}

struct Pending {
    position: u64,
    stream: String,
    version: u64,
    record: Arc<[u8]>,
}

/// A job's view of the log inside the shared write transaction.
pub struct Tx<'t> {
    pub(crate) tables: Tables<'t>,
    /// Where a corrupt record met by a read is noted.
    shared: &'t Shared,
    /// Index entries of earlier commits, not yet merged into `streams`.
    pub(crate) merged: &'t Overlay,
    /// Index entries of the jobs of this batch flushed so far.
    pub(crate) batch: Overlay,
    /// Records of the jobs of this batch flushed so far (for the tail).
    pub(crate) records: Vec<crate::writer::RawRecord>,
    pub(crate) next_position: u64,
    /// The position after the last flushed job.
    pub(crate) committed_position: u64,
    pub(crate) recorded_at: i64,
    pub(crate) generation: u64,
    pending: Vec<Pending>,
    pending_versions: HashMap<String, u64>,
}

impl<'t> Tx<'t> {
    pub(crate) fn new(
        tables: Tables<'t>,
        shared: &'t Shared,
        merged: &'t Overlay,
        next_position: u64,
        recorded_at: i64,
        generation: u64,
    ) -> Self {
        Tx {
            tables,
            shared,
            merged,
            batch: Overlay::default(),
            records: Vec::new(),
            next_position,
            committed_position: next_position,
            recorded_at,
            generation,
            pending: Vec::new(),
            pending_versions: HashMap::new(),
        }
    }
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
        let overlays = [self.merged, &self.batch];
        let version = match &self.tables {
            Tables::Write { streams, .. } => read::stream_version(streams, &overlays, stream),
            Tables::Read { streams, .. } => read::stream_version(streams, &overlays, stream),
        };
        self.shared.noted(version)
    }

    /// The stream's stored events after `after_version` (this job's own
    /// appends are not included).
    pub fn read_stream(&self, stream: &str, after_version: u64) -> Result<Vec<RecordedEvent>, ReadError> {
        let overlays = [self.merged, &self.batch];
        let events = match &self.tables {
            Tables::Write { events, streams } => {
                read::read_stream(streams, events, &overlays, stream, after_version)
            }
            Tables::Read { events, streams, .. } => {
                read::read_stream(streams, events, &overlays, stream, after_version)
            }
        };
        self.shared.noted(events)
    }

    /// Has an earlier job of this batch appended? A job that ran before any
    /// did, and appended nothing, depends on nothing the batch may lose.
    pub(crate) fn untouched(&self) -> bool {
        self.records.is_empty() && self.pending.is_empty()
    }

    /// Appends to one or more streams atomically: every expectation is
    /// checked before anything is written.
    pub fn append(&mut self, meta: &Metadata, appends: &[StreamAppend]) -> Result<Appended, AppendError> {
        if let Tables::Read { refusal, .. } = &self.tables {
            return Err(refusal.clone());
        }
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
                let record: Arc<[u8]> = encode_record(&EnvelopeRef {
                    position,
                    stream: &a.stream,
                    version,
                    event_type: &e.event_type,
                    schema: e.schema,
                    recorded_at: self.recorded_at,
                    account: &meta.account,
                    user: &meta.user,
                    access_key: &meta.access_key,
                    action: &meta.action,
                    source: &meta.source,
                    request_id: &meta.request_id,
                    correlation_id: &meta.correlation_id,
                    causation_id: &meta.causation_id,
                    payload: &e.payload,
                })
                .into();
                self.pending.push(Pending { position, stream: a.stream.clone(), version, record });
            }
        }
        for (stream, v) in &current {
            self.pending_versions.insert(stream.clone(), *v);
        }
        Ok(Appended { first, last: self.next_position - 1, versions: current })
    }

    /// Writes this job's events into the shared transaction (their index
    /// entries go to the batch overlay) and gets ready for the next job.
    pub(crate) fn flush(&mut self) -> Result<(), redb::StorageError> {
        for p in self.pending.drain(..) {
            let Tables::Write { events, .. } = &mut self.tables else {
                unreachable!("appends are refused in a read transaction");
            };
            events.insert(p.position, &*p.record)?;
            self.batch.add(&p.stream, p.version, p.position);
            self.records.push((p.position, p.record));
        }
        self.pending_versions.clear();
        self.committed_position = self.next_position;
        Ok(())
    }

    /// Drops this job's appends (used when the job panicked); the positions
    /// are handed out again to the next job.
    pub(crate) fn discard(&mut self) {
        self.pending.clear();
        self.pending_versions.clear();
        self.next_position = self.committed_position;
    }
}
