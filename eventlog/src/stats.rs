//! What the writer did and where its time went: counters the writer
//! thread and the storage under it add to as they go, read with
//! [`crate::EventLog::writer_stats`] (and `GET /admin/writer`), and logged
//! at debug level when the writer ends.
//!
//! They answer the question a throughput figure cannot: is the writer
//! waiting for work, deciding, or waiting for the disk, and how many pages
//! does a commit write (BENCHMARKS.md, issue 14 target 1).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The running totals, shared by the writer and its storage backend.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    batches: AtomicU64,
    jobs: AtomicU64,
    records: AtomicU64,
    waiting_ns: AtomicU64,
    running_ns: AtomicU64,
    committing_ns: AtomicU64,
    syncs: AtomicU64,
    syncing_ns: AtomicU64,
    writes: AtomicU64,
}

fn add_since(counter: &AtomicU64, since: Instant) {
    let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
    counter.fetch_add(ns, Ordering::Relaxed);
}

impl Counters {
    /// The writer waited for work from `since` until now.
    pub fn waited(&self, since: Instant) {
        add_since(&self.waiting_ns, since);
    }

    /// The writer took a batch of `jobs`.
    pub fn took(&self, jobs: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(jobs as u64, Ordering::Relaxed);
    }

    /// The writer ran a batch's jobs from `since` until now.
    pub fn ran(&self, since: Instant) {
        add_since(&self.running_ns, since);
    }

    /// A commit begun at `since` ended now, storing `records` records
    /// (none if it failed).
    pub fn committed(&self, records: usize, since: Instant) {
        self.records.fetch_add(records as u64, Ordering::Relaxed);
        add_since(&self.committing_ns, since);
    }

    /// The file was synced from `since` until now.
    pub fn synced(&self, since: Instant) {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        add_since(&self.syncing_ns, since);
    }

    /// A page (or a run of pages) was written to the file.
    pub fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> WriterStats {
        let ns = |c: &AtomicU64| Duration::from_nanos(c.load(Ordering::Relaxed));
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        WriterStats {
            batches: n(&self.batches),
            jobs: n(&self.jobs),
            records: n(&self.records),
            waiting: ns(&self.waiting_ns),
            running: ns(&self.running_ns),
            committing: ns(&self.committing_ns),
            syncs: n(&self.syncs),
            syncing: ns(&self.syncing_ns),
            writes: n(&self.writes),
        }
    }
}

/// What the writer did since the log was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Batches taken (one write transaction each; most end in a commit).
    pub batches: u64,
    /// Jobs run (commands and appends), all batches together.
    pub jobs: u64,
    /// Records stored by the commits.
    pub records: u64,
    /// Time the writer waited for work.
    pub waiting: Duration,
    /// Time it ran jobs (deciding, encoding, inserting).
    pub running: Duration,
    /// Time in redb's commit, its syncs included.
    pub committing: Duration,
    /// Syncs of the file, and the time they took.
    pub syncs: u64,
    pub syncing: Duration,
    /// Writes to the file (redb writes each changed page, or run of
    /// pages, on its own).
    pub writes: u64,
}

impl WriterStats {
    /// What happened between `earlier` and this snapshot.
    pub fn since(&self, earlier: &WriterStats) -> WriterStats {
        WriterStats {
            batches: self.batches.saturating_sub(earlier.batches),
            jobs: self.jobs.saturating_sub(earlier.jobs),
            records: self.records.saturating_sub(earlier.records),
            waiting: self.waiting.saturating_sub(earlier.waiting),
            running: self.running.saturating_sub(earlier.running),
            committing: self.committing.saturating_sub(earlier.committing),
            syncs: self.syncs.saturating_sub(earlier.syncs),
            syncing: self.syncing.saturating_sub(earlier.syncing),
            writes: self.writes.saturating_sub(earlier.writes),
        }
    }
}

impl fmt::Display for WriterStats {
    /// One line: `batches 1536, jobs 10231 (6.7 per batch), …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = |n: u64| if self.batches == 0 { 0.0 } else { n as f64 / self.batches as f64 };
        let micros = |d: Duration, n: u64| if n == 0 { 0.0 } else { d.as_secs_f64() * 1e6 / n as f64 };
        let awake = self.waiting + self.running + self.committing;
        let share = |d: Duration| {
            if awake.is_zero() { 0.0 } else { 100.0 * d.as_secs_f64() / awake.as_secs_f64() }
        };
        write!(
            f,
            "batches {}, jobs {} ({:.1} per batch), records {} ({:.1} per batch), \
             writes {} ({:.1} per batch), syncs {} ({:.0} µs each); \
             time waiting for work {:.1}%, running jobs {:.1}% ({:.0} µs per batch), \
             committing {:.1}% ({:.0} µs per batch, syncing {:.1}%)",
            self.batches,
            self.jobs,
            per(self.jobs),
            self.records,
            per(self.records),
            self.writes,
            per(self.writes),
            self.syncs,
            micros(self.syncing, self.syncs),
            share(self.waiting),
            share(self.running),
            micros(self.running, self.batches),
            share(self.committing),
            micros(self.committing, self.batches),
            share(self.syncing),
        )
    }
}
