//! A job's view of the log while the writer decides a group commit: stream
//! versions, stream reads and atomic appends with expected versions.

use crate::envelope::{EnvelopeRef, Metadata, NewEvent, RecordedEvent, encode_record};
use crate::error::{AppendError, ReadError};
use crate::index::Overlay;
use crate::read;
use crate::writer::Shared;
use redb::ReadOnlyTable;
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

/// The tables of a read transaction: what is committed when a batch starts.
pub(crate) struct Tables {
    pub events: ReadOnlyTable<u64, &'static [u8]>,
    pub streams: ReadOnlyTable<(&'static str, u64), u64>,
}

/// A batch's appends, decided and not stored yet: its records in order of
/// position, and their index entries.
#[derive(Default)]
pub(crate) struct Staged {
    pub overlay: Overlay,
    pub records: Vec<crate::writer::RawRecord>,
}

impl Staged {
    /// The record at `position`, if this batch holds it.
    fn record(&self, position: u64) -> Option<&Arc<[u8]>> {
        let first = self.records.first()?.0;
        let at = usize::try_from(position.checked_sub(first)?).ok()?;
        self.records.get(at).filter(|(p, _)| *p == position).map(|(_, r)| r)
    }
}

struct Pending {
    position: u64,
    stream: String,
    version: u64,
    record: Arc<[u8]>,
}

/// A job's view of the log while its batch is decided: what is committed
/// (a read transaction and the index overlay), the batch before this one
/// (decided, and being stored while this one is decided), and the jobs of
/// this batch before it. Appends are staged in memory; the writer stores
/// the whole batch in one commit afterwards (see `writer.rs`).
pub struct Tx<'t> {
    tables: Tables,
    /// Why appends are refused, while the log may not store (reads go on,
    /// so that a command refused anyway is refused for its own reason).
    refusal: Option<AppendError>,
    /// Where a corrupt record met by a read is noted.
    shared: &'t Shared,
    /// Index entries of earlier commits, not yet merged into `streams`.
    merged: &'t Overlay,
    /// The batch before this one, while it may still be stored.
    before: Option<&'t Staged>,
    /// The jobs of this batch staged so far.
    pub(crate) staged: Staged,
    pub(crate) next_position: u64,
    /// The position after the last staged job.
    committed_position: u64,
    recorded_at: i64,
    generation: u64,
    pending: Vec<Pending>,
    pending_versions: HashMap<String, u64>,
}

impl<'t> Tx<'t> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        tables: Tables,
        refusal: Option<AppendError>,
        shared: &'t Shared,
        merged: &'t Overlay,
        before: Option<&'t Staged>,
        next_position: u64,
        recorded_at: i64,
        generation: u64,
    ) -> Self {
        Tx {
            tables,
            refusal,
            shared,
            merged,
            before,
            staged: Staged::default(),
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
        let version = read::stream_version(&self.tables.streams, &self.overlays(), stream);
        self.shared.noted(version)
    }

    /// The stream's stored events after `after_version` (this job's own
    /// appends are not included).
    pub fn read_stream(&self, stream: &str, after_version: u64) -> Result<Vec<RecordedEvent>, ReadError> {
        let held = |position: u64| {
            self.staged.record(position).or_else(|| self.before.and_then(|b| b.record(position))).cloned()
        };
        let Tables { events, streams } = &self.tables;
        let events = read::read_stream_with(streams, events, &self.overlays(), stream, after_version, held);
        self.shared.noted(events)
    }

    /// The index entries not in the table, oldest first.
    fn overlays(&self) -> [&Overlay; 3] {
        static NONE: std::sync::LazyLock<Overlay> = std::sync::LazyLock::new(Overlay::default);
        [self.merged, self.before.map_or(&*NONE, |b| &b.overlay), &self.staged.overlay]
    }

    /// Has an earlier job of this batch appended? A job that ran before any
    /// did, and appended nothing, depends on nothing the batch may lose.
    /// (The batch before, while it may still be stored, counts as one.)
    pub(crate) fn untouched(&self) -> bool {
        self.before.is_none() && self.staged.records.is_empty() && self.pending.is_empty()
    }

    /// Appends to one or more streams atomically: every expectation is
    /// checked before anything is written.
    pub fn append(&mut self, meta: &Metadata, appends: &[StreamAppend]) -> Result<Appended, AppendError> {
        if let Some(refusal) = &self.refusal {
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

    /// Stages this job's events with the batch and gets ready for the
    /// next job.
    pub(crate) fn flush(&mut self) {
        for p in self.pending.drain(..) {
            self.staged.overlay.add(&p.stream, p.version, p.position);
            self.staged.records.push((p.position, p.record));
        }
        self.pending_versions.clear();
        self.committed_position = self.next_position;
    }

    /// Drops this job's appends (used when the job panicked); the positions
    /// are handed out again to the next job.
    pub(crate) fn discard(&mut self) {
        self.pending.clear();
        self.pending_versions.clear();
        self.next_position = self.committed_position;
    }
}
