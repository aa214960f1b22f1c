//! The single writer and group commit.
//!
//! Callers send jobs; the writer thread takes every job waiting, runs each
//! inside one redb write transaction (so each job sees the writes of the jobs
//! before it), commits once with fsync, and only then answers every caller.
//! A job's appends are checked against the stream versions it expects and
//! stored all together or not at all. Index entries are merged into the
//! table in bulk (see `index.rs`); committed records are kept in a short
//! in-memory tail that subscribers read instead of going back to disk.

use crate::error::{AppendError, storage};
use crate::index::{MERGE_AT, Overlay};
use crate::tables::{EVENTS, MERGED_THROUGH, META, STREAMS};
use crate::tx::{Completion, Job, Tx};
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Committed records kept in memory for subscribers.
const TAIL_RECORDS: usize = 65_536;

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
        Some(self.records.iter().skip(skip).take(max).cloned().collect())
    }
}

/// The state the writer thread shares with readers.
pub(crate) struct Shared {
    pub db: Arc<redb::Database>,
    pub head: tokio::sync::watch::Sender<u64>,
    pub generation: AtomicU64,
    /// Durable commits so far (one per batch).
    pub commits: AtomicU64,
    /// Index entries not merged into the table yet.
    pub index: RwLock<Overlay>,
    pub tail: Mutex<Tail>,
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// Runs until every sender is gone, then merges the index one last time.
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
        last_time = last_time.max(now_micros());
        let (completions, outcome) = commit_batch(&shared, jobs, last_time, false);
        for complete in completions {
            complete(outcome.clone());
        }
    }
    let pending = shared.index.read().map_or(0, |o| o.len());
    if pending > 0 {
        let (_, outcome) = commit_batch(&shared, Vec::new(), last_time.max(now_micros()), true);
        if let Err(e) = outcome {
            tracing::warn!(error = %e, "could not merge the stream index on close; it is rebuilt on open");
        }
    }
}

/// Runs the jobs in one write transaction, commits it, and publishes the
/// result (index overlay, tail, head). Returns the completions to call.
fn commit_batch(
    shared: &Shared,
    jobs: Vec<Job>,
    recorded_at: i64,
    force_merge: bool,
) -> (Vec<Completion>, Result<(), AppendError>) {
    let head = *shared.head.borrow();
    let generation = shared.generation.load(Ordering::SeqCst);
    // A job dropped without running answers its caller with a storage
    // error (see `EventLog::transact`).
    let txn = match shared.db.begin_write() {
        Ok(t) => t,
        Err(e) => return (Vec::new(), Err(fail(shared, AppendError::Storage(storage(e))))),
    };
    let mut completions = Vec::with_capacity(jobs.len());
    let (batch, records, merged_through) = {
        let merged = shared.index.read().expect("index lock");
        let opened = txn.open_table(EVENTS).and_then(|e| txn.open_table(STREAMS).map(|s| (e, s)));
        let (events, streams) = match opened {
            Ok(tables) => tables,
            Err(e) => return (Vec::new(), Err(fail(shared, AppendError::Storage(storage(e))))),
        };
        let mut tx = Tx::new(events, streams, &merged, head + 1, recorded_at, generation);
        for job in jobs {
            // `transact` catches the caller's panics; this guards the writer
            // itself against anything else.
            match catch_unwind(AssertUnwindSafe(|| job(&mut tx))) {
                Ok(complete) => {
                    completions.push(complete);
                    if let Err(e) = tx.flush() {
                        return (completions, Err(fail(shared, AppendError::Storage(storage(e)))));
                    }
                }
                Err(_) => {
                    tracing::error!("a job panicked inside the event log writer; it was discarded");
                    tx.discard();
                }
            }
        }
        let last = tx.next_position - 1;
        let waiting = merged.len() + tx.batch.len();
        let merge = waiting > 0 && (force_merge || waiting >= MERGE_AT);
        if merge && let Err(e) = merge_index(&txn, &mut tx, &merged, last) {
            return (completions, Err(fail(shared, AppendError::Storage(e))));
        }
        (std::mem::take(&mut tx.batch), std::mem::take(&mut tx.records), merge.then_some(last))
    };
    if records.is_empty() && merged_through.is_none() {
        // Nothing was written (every job refused or read only): no flush.
        if let Err(e) = txn.abort() {
            return (completions, Err(fail(shared, AppendError::Storage(storage(e)))));
        }
        return (completions, Ok(()));
    }
    if let Err(e) = txn.commit() {
        return (completions, Err(fail(shared, AppendError::Storage(storage(e)))));
    }
    shared.commits.fetch_add(1, Ordering::Relaxed);
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
    (completions, Ok(()))
}

/// Writes every overlay entry into the index table in this transaction.
fn merge_index(
    txn: &redb::WriteTransaction,
    tx: &mut Tx<'_>,
    merged: &Overlay,
    last: u64,
) -> Result<(), String> {
    let mut entries = merged.sorted_entries();
    entries.extend(tx.batch.sorted_entries());
    entries.sort_unstable();
    for (stream, version, position) in entries {
        tx.streams.insert((stream, version), position).map_err(storage)?;
    }
    let mut meta = txn.open_table(META).map_err(storage)?;
    meta.insert(MERGED_THROUGH, last).map_err(storage)?;
    Ok(())
}

fn fail(shared: &Shared, error: AppendError) -> AppendError {
    tracing::error!(error = %error, "event log commit failed; the batch is discarded");
    shared.generation.fetch_add(1, Ordering::SeqCst);
    error
}
