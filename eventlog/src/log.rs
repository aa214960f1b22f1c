//! The log handle: open, transact/append through the writer, and reads.

use crate::check;
use crate::envelope::{EnvelopeRef, Metadata, RecordedEvent, decode_record};
use crate::error::{AppendError, Damage, OpenError, ReadError, storage};
use crate::health::{Health, HealthState, Outage};
use crate::open::{open_error, prepare, unavailable};
use crate::read;
use crate::store::{Db, Opener, Store, rd};
use crate::subscribe::Subscription;
use crate::tables::{EVENTS, STREAMS};
use crate::tx::{Appended, Job, StreamAppend, Tx};
use crate::writer::{self, RawRecord, Shared, Tail};
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

/// Records read under one read transaction by the long scans, which then
/// let a re-open of the database (see `store.rs`) go first if it waits.
const SCAN_CHUNK: usize = 16_384;

/// redb's page cache of a running controller: 8 MiB. It serves the pages
/// a commit rewrites (the tables' branches and their last leaves) and the
/// few streams the decide loop reads again; everything else the
/// controller wants is in its read models, and the operating system's page
/// cache (which the process's memory does not count) holds the file. At
/// 100,000 instances a cache of 64 MiB cost some 570 B per instance and
/// one of 4 MiB did not make RunInstances slower (BENCHMARKS.md, target
/// 5). The replay tools size theirs to the log instead
/// ([`LogOptions::for_replay_of`]).
pub(crate) const CONTROLLER_CACHE: usize = 8 << 20;

#[derive(Clone, Debug)]
pub struct LogOptions {
    /// Most jobs committed in one durable transaction.
    pub max_batch: usize,
    /// Jobs that may wait for the writer before callers wait to send.
    pub queue: usize,
    /// redb's page cache, in bytes.
    pub cache_bytes: usize,
    /// How often a log that cannot store (a full disk, a read-only file
    /// system) checks whether it can again; the wait after a commit that
    /// failed again doubles from this, up to 30 s.
    pub retry_every: std::time::Duration,
    /// The clock records are stamped with: the wall clock, or the
    /// deterministic simulator's.
    pub clock: Clock,
    /// Lets the deterministic simulator decide which jobs share a batch
    /// (see [`crate::gate`]); `None` everywhere else.
    pub gate: Option<crate::gate::BatchGate>,
}

/// A clock in microseconds since the Unix epoch.
#[derive(Clone)]
pub struct Clock(std::sync::Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    pub fn new(now_micros: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock(std::sync::Arc::new(now_micros))
    }

    /// The wall clock.
    pub fn wall() -> Clock {
        Clock::new(crate::writer::wall_clock_micros)
    }

    pub fn now_micros(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now_micros())
    }
}

impl LogOptions {
    /// For tools that read the whole log (replay, verify): a page cache
    /// large enough to hold it, as redb's default does.
    pub fn for_replay() -> Self {
        LogOptions { cache_bytes: 1 << 30, ..LogOptions::default() }
    }

    /// [`Self::for_replay`] for the log file at `path`: a page cache as
    /// large as the file (an eighth more for redb's own pages), so that a
    /// second pass reads nothing from the kernel (a 4 GiB log scanned
    /// with 1 GiB of cache copies every page in again, at less than half
    /// the speed); at least 1 GiB, at most a quarter of the machine's
    /// memory.
    pub fn for_replay_of(path: &std::path::Path) -> Self {
        let file = std::fs::metadata(path).map_or(0, |m| m.len());
        let ceiling = physical_memory().map_or(4 << 30, |m| m / 4).max(1 << 30);
        let wanted = (file + file / 8).clamp(1 << 30, ceiling);
        LogOptions { cache_bytes: usize::try_from(wanted).unwrap_or(1 << 30), ..LogOptions::default() }
    }
}

/// The machine's memory in bytes (`MemTotal` of `/proc/meminfo`).
pub(crate) fn physical_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            max_batch: 4096,
            queue: 16384,
            cache_bytes: CONTROLLER_CACHE,
            retry_every: std::time::Duration::from_secs(1),
            clock: Clock::wall(),
            gate: None,
        }
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
    gate: Option<crate::gate::BatchGate>,
}

impl Inner {
    fn close(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
        *self.shared.store.swap() = Db::Closed(None);
    }
}

/// The last handle gone, the log is closed as [`EventLog::close`] does, so
/// that the file is closed cleanly (and unlocked) when the handle goes.
impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventLog(head {})", self.head())
    }
}

impl EventLog {
    /// Opens (or creates) the log file for writing and starts its writer
    /// thread. A log found damaged (see `check.rs`) is not opened: open it
    /// read-only, or salvage it. On a file system that takes no writes (a
    /// full disk, a read-only mount) the log opens for reading, refuses
    /// appends, and stores again by itself once it can (see `health.rs`).
    pub fn open(path: &Path, options: LogOptions) -> Result<EventLog, OpenError> {
        Self::open_with(Opener::new(path, options.cache_bytes), options, false)
    }

    /// Opens the log without ever writing to it (redb's read-only mode):
    /// every append is refused with [`AppendError::ReadOnly`]. A damaged log
    /// opens too (its [`Self::health`] says where), and what is readable of
    /// it is served.
    pub fn open_read_only(path: &Path, options: LogOptions) -> Result<EventLog, OpenError> {
        Self::open_with(Opener::new(path, options.cache_bytes), options, true)
    }

    /// Opens (or creates) the log on a simulated disk (`simdisk`), for the
    /// deterministic simulator: the same log, writer and recovery as on a
    /// file.
    pub fn open_simulated(
        disk: &crate::simdisk::SimDisk,
        options: LogOptions,
    ) -> Result<EventLog, OpenError> {
        let mut opener = Opener::new(Path::new("simulated-disk/events.redb"), options.cache_bytes);
        opener.sim = Some(disk.clone());
        Self::open_with(opener, options, false)
    }

    #[cfg(test)]
    pub(crate) fn open_faulty(
        path: &Path,
        options: LogOptions,
        faults: Arc<crate::faults::Faults>,
    ) -> Result<EventLog, OpenError> {
        let mut opener = Opener::new(path, options.cache_bytes);
        opener.faults = Some(faults);
        Self::open_with(opener, options, false)
    }

    fn open_with(opener: Opener, options: LogOptions, read_only: bool) -> Result<EventLog, OpenError> {
        let path = opener.path.display().to_string();
        let mut health =
            HealthState { read_only, retry_every: options.retry_every, ..HealthState::default() };
        let db = if read_only {
            Db::ReadOnly(opener.open_read_only().map_err(|e| open_error(&path, e))?)
        } else {
            match opener.open_writable() {
                Ok(db) => {
                    prepare(&db, &path)?;
                    Db::Writable(db)
                }
                Err(e) => match unavailable(&e) {
                    // The file system takes no writes: read what is there.
                    Some(cause) => match opener.open_read_only() {
                        Ok(db) => {
                            tracing::error!(
                                cause = %cause,
                                "the event log cannot store changes: opened for reading; writes are refused \
                                 until it can"
                            );
                            health.outage = Some(Outage::new(cause, options.retry_every));
                            Db::ReadOnly(db)
                        }
                        Err(_) => return Err(OpenError::Unavailable { path, reason: cause }),
                    },
                    None => return Err(open_error(&path, e)),
                },
            }
        };
        let inspection = db.begin_read().and_then(|txn| check::inspect(&txn)).map_err(|e| match e {
            ReadError::Corrupt { position, reason } => {
                OpenError::Damaged(Damage { position: Some(position), reason })
            }
            other => OpenError::Storage(other.to_string()),
        })?;
        if let Some(damage) = inspection.damage {
            if !read_only {
                return Err(OpenError::Damaged(damage));
            }
            tracing::warn!(damage = %damage, "the event log is damaged; it is open read-only");
            health.damaged = Some(damage);
        }
        let (head_tx, _) = watch::channel(inspection.head);
        let shared = Arc::new(Shared {
            store: Store::new(db, opener),
            head: head_tx,
            generation: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            index: std::sync::RwLock::new(inspection.overlay),
            tail: Mutex::new(Tail::default()),
            health: Mutex::new(health),
        });
        let (sender, receiver) = mpsc::channel(options.queue.max(1));
        let writer_shared = shared.clone();
        let max_batch = options.max_batch.max(1);
        let clock = options.clock.clone();
        let writer_gate = options.gate.clone();
        let thread = std::thread::Builder::new()
            .name("eventlog-writer".into())
            .spawn(move || writer::run(writer_shared, receiver, max_batch, clock, writer_gate))
            .map_err(|e| OpenError::Storage(storage(e)))?;
        Ok(EventLog {
            inner: Arc::new(Inner {
                shared,
                sender: Mutex::new(Some(sender)),
                thread: Mutex::new(Some(thread)),
                gate: options.gate,
            }),
        })
    }

    /// What the log can do now: store, or only read, and why.
    pub fn health(&self) -> Health {
        self.inner.shared.health()
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
    /// append; if the commit fails, its result is dropped and the error
    /// returned, unless `work` appended nothing and ran before any other job
    /// of the batch appended (then nothing it saw is lost with the batch).
    /// While the log may not append (see [`Self::health`]), `work` runs on
    /// what is stored and its appends are refused. Keep `work` short: it
    /// holds up every other writer.
    pub async fn transact<T, F>(&self, work: F) -> Result<T, AppendError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tx<'_>) -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, AppendError>>();
        let job: Job = Box::new(move |tx: Result<&mut Tx<'_>, AppendError>| {
            let tx = match tx {
                Ok(tx) => tx,
                Err(refused) => {
                    let _ = reply.send(Err(refused));
                    return None;
                }
            };
            let outcome = catch_unwind(AssertUnwindSafe(|| work(tx)));
            if outcome.is_err() {
                tx.discard();
            }
            Some(Box::new(move |committed: Result<(), AppendError>| {
                let result = match (outcome, committed) {
                    (Err(_), _) => Err(AppendError::Panicked),
                    (Ok(_), Err(e)) => Err(e),
                    (Ok(value), Ok(())) => Ok(value),
                };
                let _ = reply.send(result);
            }))
        });
        let sender = self.inner.sender.lock().expect("sender lock").clone().ok_or(AppendError::Closed)?;
        sender.send(job).await.map_err(|_| AppendError::Closed)?;
        if let Some(gate) = &self.inner.gate {
            gate.submitted();
        }
        answer.await.unwrap_or_else(|_| {
            Err(AppendError::Storage("the write was abandoned; see the controller log".into()))
        })
    }

    /// Appends events to one or more streams atomically, durably.
    pub async fn append(&self, meta: Metadata, appends: Vec<StreamAppend>) -> Result<Appended, AppendError> {
        self.transact(move |tx| tx.append(&meta, &appends)).await?
    }

    /// Runs `read` on the stored log, noting a corrupt record it meets.
    fn read<T>(
        &self,
        read: impl FnOnce(&redb::ReadTransaction) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        let shared = &self.inner.shared;
        shared.noted(shared.store.read(read))
    }

    /// The stream's last durable version (0 = no events).
    pub fn stream_version(&self, stream: &str) -> Result<u64, ReadError> {
        // The overlay is locked before the snapshot is taken, so entries
        // the writer merges meanwhile are in the snapshot or the overlay.
        let overlay = self.inner.shared.index.read().map_err(|_| ReadError::Closed)?;
        self.read(|txn| {
            let streams = txn.open_table(STREAMS).map_err(rd)?;
            read::stream_version(&streams, &[&overlay], stream)
        })
    }

    /// A stream's events after `after_version`, verified.
    pub fn read_stream(&self, stream: &str, after_version: u64) -> Result<Vec<RecordedEvent>, ReadError> {
        let overlay = self.inner.shared.index.read().map_err(|_| ReadError::Closed)?;
        self.read(|txn| {
            let streams = txn.open_table(STREAMS).map_err(rd)?;
            let events = txn.open_table(EVENTS).map_err(rd)?;
            read::read_stream(&streams, &events, &[&overlay], stream, after_version)
        })
    }

    /// Up to `max` stored records from `from`, as stored: the exact bytes
    /// (checksum first), not verified here, so that a copy sent elsewhere
    /// (the admin API) is checked end to end by [`decode_record`] on the
    /// other side. A missing position is reported as corrupt.
    pub fn raw_records(&self, from: u64, max: usize) -> Result<Vec<RawRecord>, ReadError> {
        self.read(|txn| {
            let events = txn.open_table(EVENTS).map_err(rd)?;
            let mut out = Vec::with_capacity(max.min(4096));
            let range = events.range(from.max(1)..).map_err(rd)?;
            for (expected, entry) in (from.max(1)..).zip(range.take(max)) {
                let (key, value) = entry.map_err(rd)?;
                if key.value() != expected {
                    return Err(ReadError::Corrupt {
                        position: expected,
                        reason: "record is missing".into(),
                    });
                }
                out.push((expected, Arc::from(value.value())));
            }
            Ok(out)
        })
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
        let overlay = self.inner.shared.index.read().map_err(|_| ReadError::Closed)?;
        self.read(|txn| {
            let mut positions = Vec::new();
            {
                let table = txn.open_table(STREAMS).map_err(rd)?;
                for stream in streams {
                    positions.extend(read::stream_positions(
                        &table,
                        &[&overlay],
                        stream,
                        from,
                        through,
                        max,
                    )?);
                }
            }
            positions.sort_unstable();
            positions.dedup();
            positions.truncate(max);
            let events = txn.open_table(EVENTS).map_err(rd)?;
            let mut out = Vec::with_capacity(positions.len());
            for position in positions {
                let record = events
                    .get(position)
                    .map_err(rd)?
                    .ok_or_else(|| ReadError::Corrupt { position, reason: "indexed but missing".into() })?;
                out.push((position, Arc::from(record.value())));
            }
            Ok(out)
        })
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
        let mut failure = None;
        let last = self.scan_all(from, |_, record| match record {
            Ok(envelope) => visit(envelope),
            Err(e) => {
                failure = Some(e);
                ControlFlow::Break(())
            }
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(last),
        }
    }

    /// Visits every stored record from `from`, handing corrupt ones over as
    /// errors instead of stopping (for verification). A missing position is
    /// reported as corrupt too. Stops early when `visit` breaks. Returns
    /// the last position visited (or `from - 1`). Reads a chunk of records
    /// per read transaction: records stored meanwhile are visited too.
    pub fn scan_all(
        &self,
        from: u64,
        mut visit: impl FnMut(u64, Result<EnvelopeRef<'_>, ReadError>) -> ControlFlow<()>,
    ) -> Result<u64, ReadError> {
        let mut expected = from.max(1);
        loop {
            let start = expected;
            let mut stop = false;
            let mut seen = 0usize;
            self.read(|txn| {
                let events = txn.open_table(EVENTS).map_err(rd)?;
                for entry in events.range(start..).map_err(rd)? {
                    let (key, value) = entry.map_err(rd)?;
                    let position = key.value();
                    while expected < position {
                        let missing =
                            ReadError::Corrupt { position: expected, reason: "record is missing".into() };
                        let _ = self.inner.shared.noted::<()>(Err(missing.clone()));
                        if visit(expected, Err(missing)).is_break() {
                            stop = true;
                            return Ok(());
                        }
                        expected += 1;
                    }
                    expected = position + 1;
                    seen += 1;
                    let record = self.inner.shared.noted(decode_record(position, value.value()));
                    if visit(position, record).is_break() {
                        stop = true;
                        return Ok(());
                    }
                    if seen >= SCAN_CHUNK {
                        return Ok(());
                    }
                }
                stop = true;
                Ok(())
            })?;
            if stop {
                return Ok(expected - 1);
            }
        }
    }

    /// Follows the log from `from` (a position, from 1): first what is
    /// stored, then new events as they are committed. The subscriber pulls,
    /// so a slow one never makes the log buffer for it.
    pub fn subscribe(&self, from: u64) -> Subscription {
        Subscription::new(self.clone(), from.max(1))
    }

    /// Stops the writer after the jobs already sent, waits for it, and
    /// closes the file (cleanly: read-only tools open it afterwards). Every
    /// handle of this log is closed.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Commits that failed so far (see [`Tx::generation`]).
    pub fn failed_commits(&self) -> u64 {
        self.inner.shared.generation.load(Ordering::SeqCst)
    }

    /// Durable commits made by this handle's writer (one per group).
    pub fn commits(&self) -> u64 {
        self.inner.shared.commits.load(Ordering::Relaxed)
    }

    /// What the writer did since the log was opened, and where its time
    /// went (see [`WriterStats`]).
    pub fn writer_stats(&self) -> crate::WriterStats {
        self.inner.shared.store.opener.counters.snapshot()
    }

    /// Notes damage found by a reader outside this crate (the read models
    /// cannot fold a record): appends are refused from now on.
    pub fn note_damage(&self, damage: Damage) {
        self.inner.shared.damage(damage);
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    #[cfg(test)]
    pub(crate) fn inner_merged_through(&self) -> u64 {
        self.inner.shared.index.read().map_or(0, |o| o.merged_through)
    }
}
