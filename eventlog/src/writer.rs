//! The single writer and group commit.
//!
//! Callers send jobs; the writer thread takes every job waiting, runs each
//! inside one redb write transaction (so each job sees the writes of the jobs
//! before it), commits once with fsync, and only then answers every caller.
//! A job's appends are checked against the stream versions it expects and
//! stored all together or not at all. Index entries are merged into the
//! table in bulk (see `index.rs`); committed records are kept in a short
//! in-memory tail that subscribers read instead of going back to disk.

use crate::error::{AppendError, Unavailable};
use crate::health::HealthState;
use crate::index::{MERGE_AT, Overlay};
use crate::store::{Db, Store, rd};
use crate::tables::{EVENTS, MERGED_THROUGH, META, STREAMS};
use crate::tx::{Completion, Job, Tables, Tx};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Committed records kept in memory for subscribers: four times the most
/// jobs a batch takes (`LogOptions::max_batch`, 4,096, most of them one
/// record each); a subscriber further behind reads them from the file.
/// (65,536 held some 20 MB, 200 B per instance of a cloud of 100,000.)
const TAIL_RECORDS: usize = 16_384;

/// A stored record as it is on disk, with its position.
pub type RawRecord = (u64, Arc<[u8]>);

/// The newest committed records, oldest first.
#[derive(Default)]
pub(crate) struct Tail {
    pub records: VecDeque<RawRecord>,
}

impl Tail {
    fn push(&mut self, records: Vec<RawRecord>) {
        self.records.extend(records);
        while self.records.len() > TAIL_RECORDS {
            self.records.pop_front();
        }
    }

    /// Up to `max` records from `from`, if the tail still holds `from`.
    pub fn from(&self, from: u64, max: usize) -> Option<Vec<RawRecord>> {
        let first = self.records.front()?.0;
        if from < first {
            return None;
        }
        let skip = usize::try_from(from - first).ok()?;
        let records: Vec<RawRecord> = self.records.iter().skip(skip).take(max).cloned().collect();
        // Consecutive positions, or nothing (the disk has them).
        match records.first() {
            Some((p, _)) if *p != from => None,
            _ => Some(records),
        }
    }
}

/// The state the writer thread shares with readers.
pub(crate) struct Shared {
    pub store: Store,
    pub head: tokio::sync::watch::Sender<u64>,
    pub generation: AtomicU64,
    /// Durable commits so far (one per batch).
    pub commits: AtomicU64,
    /// Index entries not merged into the table yet.
    pub index: RwLock<Overlay>,
    pub tail: Mutex<Tail>,
    /// What the log can do now (see `health.rs`).
    pub health: Mutex<HealthState>,
}

/// The wall clock, in microseconds since the Unix epoch.
pub(crate) fn wall_clock_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// Runs until every sender is gone, then merges the index one last time.
pub(crate) fn run(
    shared: Arc<Shared>,
    mut rx: tokio::sync::mpsc::Receiver<Job>,
    max_batch: usize,
    clock: crate::log::Clock,
    gate: Option<crate::gate::BatchGate>,
) {
    let mut last_time = 0i64;
    let counters = shared.store.opener.counters.clone();
    let mut idle = std::time::Instant::now();
    while let Some(first) = rx.blocking_recv() {
        counters.waited(idle);
        if let Some(gate) = &gate {
            gate.wait_turn();
        }
        let mut jobs = vec![first];
        while jobs.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let count = jobs.len();
        if let Some(gate) = &gate {
            gate.took(count);
        }
        counters.took(count);
        run_batch(&shared, jobs, &mut last_time, &clock);
        if let Some(gate) = &gate {
            gate.batch_done(count);
        }
        idle = std::time::Instant::now();
    }
    let pending = shared.index.read().map_or(0, |o| o.len());
    if pending > 0 && shared.refusal().is_none() {
        let outcome = commit_batch(&shared, Vec::new(), last_time.max(clock.now_micros()), true);
        if let Err(e) = outcome.result {
            tracing::warn!(error = %e, "could not merge the stream index on close; it is rebuilt on open");
        }
    }
    tracing::debug!("the event log's writer ends: {}", counters.snapshot());
}

/// Runs one batch of jobs and answers each: committed together, or, while
/// the log may not append, run on what is stored with their appends
/// refused.
fn run_batch(shared: &Shared, jobs: Vec<Job>, last_time: &mut i64, clock: &crate::log::Clock) {
    *last_time = (*last_time).max(clock.now_micros());
    let (jobs, refusal) = match shared.refusal() {
        Some(refusal) => (jobs, refusal),
        None => {
            let outcome = commit_batch(shared, jobs, *last_time, false);
            for (complete, untouched) in outcome.completions {
                complete(match &outcome.result {
                    // It depended on nothing the batch lost.
                    Err(_) if untouched => Ok(()),
                    result => result.clone(),
                });
            }
            match outcome.result {
                Err(e) if !outcome.leftover.is_empty() => (outcome.leftover, e),
                _ => return,
            }
        }
    };
    read_only_batch(shared, jobs, refusal, *last_time);
}

/// What a batch came to.
struct Outcome {
    /// What to call for each job that ran, and whether it ran before any
    /// job of the batch appended and appended nothing itself.
    completions: Vec<(Completion, bool)>,
    result: Result<(), AppendError>,
    /// Jobs that did not run (the transaction could not start, or failed
    /// half way).
    leftover: Vec<Job>,
}

/// Runs the jobs in one write transaction, commits it, and publishes the
/// result (index overlay, tail, head).
fn commit_batch(shared: &Shared, jobs: Vec<Job>, recorded_at: i64, force_merge: bool) -> Outcome {
    let (completions, written, leftover) = {
        let db = shared.store.guard();
        let Db::Writable(database) = &*db else {
            // Not open for writing, and no outage known: cannot happen, as
            // `refusal` re-opens the database or reports an outage.
            let refusal = AppendError::Unavailable(Unavailable::Other("not open for writing".into()));
            return Outcome { completions: Vec::new(), result: Err(refusal), leftover: jobs };
        };
        write_batch(shared, database, jobs, recorded_at, force_merge)
    };
    let (batch, records, merged_through) = match written {
        Ok(Some(written)) => written,
        Ok(None) => return Outcome { completions, result: Ok(()), leftover },
        // The database handle is released above: `failed` may swap it.
        Err(e) => return Outcome { completions, result: Err(shared.failed(e)), leftover },
    };
    shared.commits.fetch_add(1, Ordering::Relaxed);
    shared.stored();
    {
        let mut index = shared.index.write().expect("index lock");
        match merged_through {
            Some(position) => index.merged(position),
            None => index.absorb(batch),
        }
    }
    if let Some((last, _)) = records.last() {
        let last = *last;
        shared.tail.lock().expect("tail lock").push(records);
        shared.head.send_replace(last);
    }
    Outcome { completions, result: Ok(()), leftover }
}

/// What a committed batch wrote: index entries, records, and the position
/// the index was merged through (if it was).
type Written = (Overlay, Vec<RawRecord>, Option<u64>);

/// The write transaction of [`commit_batch`]: `Ok(None)` when nothing was
/// written (every job refused or read only: no flush).
#[allow(clippy::type_complexity)]
fn write_batch(
    shared: &Shared,
    database: &redb::Database,
    jobs: Vec<Job>,
    recorded_at: i64,
    force_merge: bool,
) -> (Vec<(Completion, bool)>, Result<Option<Written>, redb::Error>, Vec<Job>) {
    let head = *shared.head.borrow();
    let generation = shared.generation.load(Ordering::SeqCst);
    let txn = match database.begin_write() {
        Ok(t) => t,
        Err(e) => return (Vec::new(), Err(e.into()), jobs),
    };
    let mut completions = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let (batch, records, merged_through) = {
        let merged = shared.index.read().expect("index lock");
        let opened = txn.open_table(EVENTS).and_then(|e| txn.open_table(STREAMS).map(|s| (e, s)));
        let (events, streams) = match opened {
            Ok(tables) => tables,
            Err(e) => return (Vec::new(), Err(e.into()), jobs.collect()),
        };
        let tables = Tables::Write { events, streams };
        let mut tx = Tx::new(tables, shared, &merged, head + 1, recorded_at, generation);
        let running = std::time::Instant::now();
        for job in jobs.by_ref() {
            let untouched = tx.untouched();
            // `transact` catches the caller's panics; this guards the writer
            // itself against anything else.
            match catch_unwind(AssertUnwindSafe(|| job(Ok(&mut tx)))) {
                Ok(complete) => {
                    let untouched = untouched && tx.untouched();
                    if let Some(complete) = complete {
                        completions.push((complete, untouched));
                    }
                    if let Err(e) = tx.flush() {
                        return (completions, Err(e.into()), jobs.collect());
                    }
                }
                Err(_) => {
                    tracing::error!("a job panicked inside the event log writer; it was discarded");
                    tx.discard();
                }
            }
        }
        shared.store.opener.counters.ran(running);
        let last = tx.next_position - 1;
        let waiting = merged.len() + tx.batch.len();
        let merge = waiting > 0 && (force_merge || waiting >= MERGE_AT);
        if merge && let Err(e) = merge_index(&txn, &mut tx, &merged, last) {
            return (completions, Err(e), Vec::new());
        }
        (std::mem::take(&mut tx.batch), std::mem::take(&mut tx.records), merge.then_some(last))
    };
    if records.is_empty() && merged_through.is_none() {
        return match txn.abort() {
            Ok(()) => (completions, Ok(None), Vec::new()),
            Err(e) => (completions, Err(e.into()), Vec::new()),
        };
    }
    let committing = std::time::Instant::now();
    let committed = txn.commit();
    let stored = if committed.is_ok() { records.len() } else { 0 };
    shared.store.opener.counters.committed(stored, committing);
    match committed {
        Ok(()) => (completions, Ok(Some((batch, records, merged_through))), Vec::new()),
        Err(e) => (completions, Err(e.into()), Vec::new()),
    }
}

/// Runs the jobs in a read transaction while the log may not append:
/// reads go on, every append is refused with `refusal`.
fn read_only_batch(shared: &Shared, jobs: Vec<Job>, refusal: AppendError, recorded_at: i64) {
    let db = shared.store.guard();
    let opened = db.begin_read().and_then(|txn| {
        let events = txn.open_table(EVENTS).map_err(rd)?;
        let streams = txn.open_table(STREAMS).map_err(rd)?;
        Ok((txn, events, streams))
    });
    let (_txn, events, streams) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the event log either; refusing the batch");
            for job in jobs {
                job(Err(refusal.clone()));
            }
            return;
        }
    };
    let merged = shared.index.read().expect("index lock");
    let head = *shared.head.borrow();
    let generation = shared.generation.load(Ordering::SeqCst);
    let tables = Tables::Read { events, streams, refusal };
    let mut tx = Tx::new(tables, shared, &merged, head + 1, recorded_at, generation);
    for job in jobs {
        match catch_unwind(AssertUnwindSafe(|| job(Ok(&mut tx)))) {
            Ok(complete) => {
                tx.discard();
                if let Some(complete) = complete {
                    // Nothing to store, nothing to wait for.
                    complete(Ok(()));
                }
            }
            Err(_) => {
                tracing::error!("a job panicked inside the event log writer; it was discarded");
                tx.discard();
            }
        }
    }
}

/// Writes every overlay entry into the index table in this transaction.
fn merge_index(
    txn: &redb::WriteTransaction,
    tx: &mut Tx<'_>,
    merged: &Overlay,
    last: u64,
) -> Result<(), redb::Error> {
    let mut entries = merged.sorted_entries();
    entries.extend(tx.batch.sorted_entries());
    entries.sort_unstable();
    let Tables::Write { streams, .. } = &mut tx.tables else {
        unreachable!("the index is merged in a write transaction");
    };
    for (stream, version, position) in entries {
        streams.insert((stream, version), position)?;
    }
    let mut meta = txn.open_table(META)?;
    meta.insert(MERGED_THROUGH, last)?;
    Ok(())
}
