//! The log handle: open, transact/append through the writer, and reads.

use crate::envelope::{EnvelopeRef, Metadata, RecordedEvent, decode_record};
use crate::error::{AppendError, OpenError, ReadError, storage};
use crate::index::Overlay;
use crate::read;
use crate::subscribe::Subscription;
use crate::tables::{EVENTS, MERGED_THROUGH, META, STREAMS};
use crate::tx::{Appended, Job, StreamAppend, Tx};
use crate::writer::{self, RawRecord, Shared, Tail};
use redb::{ReadableDatabase, ReadableTable};
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

#[derive(Clone, Debug)]
pub struct LogOptions {
    /// Most jobs committed in one durable transaction.
    pub max_batch: usize,
    /// Jobs that may wait for the writer before callers wait to send.
    pub queue: usize,
    /// redb's page cache, in bytes.
    pub cache_bytes: usize,
}

impl LogOptions {
    /// For tools that read the whole log (replay, verify): a page cache
    /// large enough to hold it, as redb's default does.
    pub fn for_replay() -> Self {
        LogOptions { cache_bytes: 1 << 30, ..LogOptions::default() }
    }
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions { max_batch: 4096, queue: 16384, cache_bytes: 64 << 20 }
    }
}

/// A handle to the log; clones share one writer.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventLog(head {})", self.head())
    }
}

impl EventLog {
    /// Opens (or creates) the log file and starts its writer thread.
    pub fn open(path: &Path, options: LogOptions) -> Result<EventLog, OpenError> {
        let db = redb::Builder::new()
            .set_cache_size(options.cache_bytes)
            .create(path)
            .map_err(|source| OpenError::Database { path: path.display().to_string(), source })?;
        let head = prepare(&db)?;
        let db = Arc::new(db);
        let index = rebuild_overlay(&db, head)?;
        let (head_tx, _) = watch::channel(head);
        let shared = Arc::new(Shared {
            db,
            head: head_tx,
            generation: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            index: std::sync::RwLock::new(index),
            tail: Mutex::new(Tail::default()),
        });
        let (sender, receiver) = mpsc::channel(options.queue.max(1));
        let writer_shared = shared.clone();
        let max_batch = options.max_batch.max(1);
        let thread = std::thread::Builder::new()
            .name("eventlog-writer".into())
            .spawn(move || writer::run(writer_shared, receiver, max_batch))
            .map_err(|e| OpenError::Storage(storage(e)))?;
        Ok(EventLog {
            inner: Arc::new(Inner {
                shared,
                sender: Mutex::new(Some(sender)),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// The last durable position (0 for an empty log).
    pub fn head(&self) -> u64 {
        *self.inner.shared.head.borrow()
    }

    /// Follows the last durable position.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.shared.head.subscribe()
    }

    /// Runs `work` on the writer thread inside the next group commit and
    /// answers once that commit is durable. `work` sees every event stored
    /// before it, including those of earlier jobs in the same batch, and may
    /// append; if the commit fails, its result is dropped and a storage error
    /// returned. Keep `work` short: it holds up every other writer.
    pub async fn transact<T, F>(&self, work: F) -> Result<T, AppendError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, AppendError>>();
        let job: Job = Box::new(move |tx: &mut Tx<'_>| {
            let outcome = catch_unwind(AssertUnwindSafe(|| work(tx)));
            if outcome.is_err() {
                tx.discard();
            }
            Box::new(move |committed: Result<(), AppendError>| {
                let result = match (outcome, committed) {
                    (Err(_), _) => Err(AppendError::Panicked),
                    (Ok(_), Err(e)) => Err(e),
                    (Ok(value), Ok(())) => Ok(value),
                };
                let _ = reply.send(result);
            })
        });
        let sender = self.inner.sender.lock().expect("sender lock").clone().ok_or(AppendError::Closed)?;
        sender.send(job).await.map_err(|_| AppendError::Closed)?;
        answer.await.unwrap_or_else(|_| {
            Err(AppendError::Storage("the write was abandoned; see the controller log".into()))
        })
    }

    /// Appends events to one or more streams atomically, durably.
    pub async fn append(&self, meta: Metadata, appends: Vec<StreamAppend>) -> Result<Appended, AppendError> {
        self.transact(move |tx| tx.append(&meta, &appends)).await?
    }

    /// The stream's last durable version (0 = no events).
    pub fn stream_version(&self, stream: &str) -> Result<u64, ReadError> {
        // The overlay is locked before the snapshot is taken, so entries
        // the writer merges meanwhile are in the snapshot or the overlay.
        let overlay = self.inner.shared.index.read().map_err(|_| ReadError::Closed)?;
        let txn = self.read_txn()?;
        let streams = txn.open_table(STREAMS).map_err(|e| ReadError::Storage(storage(e)))?;
        read::stream_version(&streams, &[&overlay], stream)
    }

    /// A stream's events after `after_version`, verified.
    pub fn read_stream(&self, stream: &str, after_version: u64) -> Result<Vec<RecordedEvent>, ReadError> {
        let overlay = self.inner.shared.index.read().map_err(|_| ReadError::Closed)?;
        let txn = self.read_txn()?;
        let streams = txn.open_table(STREAMS).map_err(|e| ReadError::Storage(storage(e)))?;
        let events = txn.open_table(EVENTS).map_err(|e| ReadError::Storage(storage(e)))?;
        read::read_stream(&streams, &events, &[&overlay], stream, after_version)
    }

    /// Up to `max` stored records from `from`, as stored: the exact bytes
    /// (checksum first), not verified here, so that a copy sent elsewhere
    /// (the admin API) is checked end to end by [`decode_record`] on the
    /// other side. A missing position is reported as corrupt.
    pub fn raw_records(&self, from: u64, max: usize) -> Result<Vec<RawRecord>, ReadError> {
        let txn = self.read_txn()?;
        let events = txn.open_table(EVENTS).map_err(|e| ReadError::Storage(storage(e)))?;
        let mut out = Vec::with_capacity(max.min(4096));
        let range = events.range(from.max(1)..).map_err(|e| ReadError::Storage(storage(e)))?;
        for (expected, entry) in (from.max(1)..).zip(range.take(max)) {
            let (key, value) = entry.map_err(|e| ReadError::Storage(storage(e)))?;
            if key.value() != expected {
                return Err(ReadError::Corrupt { position: expected, reason: "record is missing".into() });
            }
            out.push((expected, Arc::from(value.value())));
        }
        Ok(out)
    }

    /// The records of `streams` within positions `from..=through`, merged
    /// by position, at most `max` (the first ones), as stored (see
    /// [`Self::raw_records`]). Found through the stream index, so the cost
    /// is that of these streams' records, not of the log between `from`
    /// and `through` (a reader far behind that wants few streams).
    pub fn raw_stream_records(
        &self,
        streams: &[String],
        from: u64,
        through: u64,
        max: usize,
    ) -> Result<Vec<RawRecord>, ReadError> {
        let (txn, mut positions) = {
            let overlay = self.inner.shared.index.read().map_err(|_| ReadError::Closed)?;
            let txn = self.read_txn()?;
            let table = txn.open_table(STREAMS).map_err(|e| ReadError::Storage(storage(e)))?;
            let mut positions = Vec::new();
            for stream in streams {
                positions.extend(read::stream_positions(&table, &[&overlay], stream, from, through)?);
            }
            (txn, positions)
        };
        positions.sort_unstable();
        positions.dedup();
        positions.truncate(max);
        let events = txn.open_table(EVENTS).map_err(|e| ReadError::Storage(storage(e)))?;
        let mut out = Vec::with_capacity(positions.len());
        for position in positions {
            let record = events
                .get(position)
                .map_err(|e| ReadError::Storage(storage(e)))?
                .ok_or_else(|| ReadError::Corrupt { position, reason: "indexed but missing".into() })?;
            out.push((position, Arc::from(record.value())));
        }
        Ok(out)
    }

    /// Up to `max` committed records from `from`, from the in-memory tail
    /// when it still holds them (subscribers), else `None`.
    pub(crate) fn tail_records(&self, from: u64, max: usize) -> Option<Vec<RawRecord>> {
        self.inner.shared.tail.lock().ok()?.from(from, max)
    }

    /// Up to `max` events from `from` (a position, from 1), verified.
    pub fn read_from(&self, from: u64, max: usize) -> Result<Vec<RecordedEvent>, ReadError> {
        let mut out = Vec::new();
        self.scan(from, |e| {
            out.push(e.to_owned());
            if out.len() >= max { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        })?;
        Ok(out)
    }

    /// Visits every event from `from` in order without copying it; stops
    /// early when `visit` breaks. Returns the last position visited (or
    /// `from - 1`). A corrupt record stops the scan with an error.
    pub fn scan(
        &self,
        from: u64,
        mut visit: impl FnMut(EnvelopeRef<'_>) -> ControlFlow<()>,
    ) -> Result<u64, ReadError> {
        let txn = self.read_txn()?;
        let events = txn.open_table(EVENTS).map_err(|e| ReadError::Storage(storage(e)))?;
        let mut last = from.saturating_sub(1);
        let mut expected = from.max(1);
        for entry in events.range(from.max(1)..).map_err(|e| ReadError::Storage(storage(e)))? {
            let (key, value) = entry.map_err(|e| ReadError::Storage(storage(e)))?;
            let position = key.value();
            if position != expected {
                return Err(ReadError::Corrupt { position: expected, reason: "record is missing".into() });
            }
            let envelope = decode_record(position, value.value())?;
            last = position;
            expected = position + 1;
            if visit(envelope).is_break() {
                break;
            }
        }
        Ok(last)
    }

    /// Visits every stored record from `from`, handing corrupt ones over as
    /// errors instead of stopping (for verification). A missing position is
    /// reported as corrupt too. Stops early when `visit` breaks.
    pub fn scan_all(
        &self,
        from: u64,
        mut visit: impl FnMut(u64, Result<EnvelopeRef<'_>, ReadError>) -> ControlFlow<()>,
    ) -> Result<u64, ReadError> {
        let txn = self.read_txn()?;
        let events = txn.open_table(EVENTS).map_err(|e| ReadError::Storage(storage(e)))?;
        let mut expected = from.max(1);
        for entry in events.range(from.max(1)..).map_err(|e| ReadError::Storage(storage(e)))? {
            let (key, value) = entry.map_err(|e| ReadError::Storage(storage(e)))?;
            let position = key.value();
            while expected < position {
                let missing = ReadError::Corrupt { position: expected, reason: "record is missing".into() };
                if visit(expected, Err(missing)).is_break() {
                    return Ok(expected);
                }
                expected += 1;
            }
            expected = position + 1;
            if visit(position, decode_record(position, value.value())).is_break() {
                break;
            }
        }
        Ok(expected - 1)
    }

    /// Follows the log from `from` (a position, from 1): first what is
    /// stored, then new events as they are committed. The subscriber pulls,
    /// so a slow one never makes the log buffer for it.
    pub fn subscribe(&self, from: u64) -> Subscription {
        Subscription::new(self.clone(), from.max(1))
    }

    /// Stops the writer after the jobs already sent, and waits for it.
    pub fn close(&self) {
        self.inner.sender.lock().expect("sender lock").take();
        if let Some(thread) = self.inner.thread.lock().expect("thread lock").take() {
            let _ = thread.join();
        }
    }

    /// Commits that failed so far (see [`Tx::generation`]).
    pub fn failed_commits(&self) -> u64 {
        self.inner.shared.generation.load(Ordering::SeqCst)
    }

    /// Durable commits made by this handle's writer (one per group).
    pub fn commits(&self) -> u64 {
        self.inner.shared.commits.load(Ordering::Relaxed)
    }

    #[cfg(test)]
    pub(crate) fn inner_merged_through(&self) -> u64 {
        self.inner.shared.index.read().map_or(0, |o| o.merged_through)
    }

    fn read_txn(&self) -> Result<redb::ReadTransaction, ReadError> {
        self.inner.shared.db.begin_read().map_err(|e| ReadError::Storage(storage(e)))
    }
}

/// Creates the tables of a new log, and returns the last position.
fn prepare(db: &redb::Database) -> Result<u64, OpenError> {
    let txn = db.begin_write().map_err(|e| OpenError::Storage(storage(e)))?;
    {
        let events = txn.open_table(EVENTS).map_err(|e| OpenError::Storage(storage(e)))?;
        let streams = txn.open_table(STREAMS).map_err(|e| OpenError::Storage(storage(e)))?;
        let mut meta = txn.open_table(META).map_err(|e| OpenError::Storage(storage(e)))?;
        if meta.get(MERGED_THROUGH).map_err(|e| OpenError::Storage(storage(e)))?.is_none() {
            // A log from before the overlay indexed every commit.
            let legacy = streams.first().map_err(|e| OpenError::Storage(storage(e)))?.is_some();
            let head =
                events.last().map_err(|e| OpenError::Storage(storage(e)))?.map_or(0, |(k, _)| k.value());
            let through = if legacy { head } else { 0 };
            meta.insert(MERGED_THROUGH, through).map_err(|e| OpenError::Storage(storage(e)))?;
        }
    }
    txn.commit().map_err(|e| OpenError::Storage(storage(e)))?;
    last_position(db)
}

/// The overlay of index entries after the merged position, from the events.
fn rebuild_overlay(db: &redb::Database, head: u64) -> Result<Overlay, OpenError> {
    let txn = db.begin_read().map_err(|e| OpenError::Storage(storage(e)))?;
    let meta = txn.open_table(META).map_err(|e| OpenError::Storage(storage(e)))?;
    let through = meta
        .get(MERGED_THROUGH)
        .map_err(|e| OpenError::Storage(storage(e)))?
        .map_or(0, |v| v.value())
        .min(head);
    let mut overlay = Overlay::new(through);
    let events = txn.open_table(EVENTS).map_err(|e| OpenError::Storage(storage(e)))?;
    for entry in events.range(through + 1..).map_err(|e| OpenError::Storage(storage(e)))? {
        let (key, value) = entry.map_err(|e| OpenError::Storage(storage(e)))?;
        let envelope = decode_record(key.value(), value.value())?;
        overlay.add(envelope.stream, envelope.version, envelope.position);
    }
    Ok(overlay)
}

fn last_position(db: &redb::Database) -> Result<u64, OpenError> {
    let txn = db.begin_read().map_err(|e| OpenError::Storage(storage(e)))?;
    let events = txn.open_table(EVENTS).map_err(|e| OpenError::Storage(storage(e)))?;
    let last = events.last().map_err(|e| OpenError::Storage(storage(e)))?;
    match last {
        None => Ok(0),
        Some((key, value)) => {
            let position = key.value();
            decode_record(position, value.value())?;
            Ok(position)
        }
    }
}
