//! The single writer and group commit.
//!
//! Callers send jobs; the writer thread takes every job waiting and runs
//! each against what is committed, the batch in flight and the jobs of its
//! batch before it (so each job sees the writes of the jobs before it); the
//! commit thread stores the batch in one redb write transaction, commits
//! once with fsync, and only then answers every caller, while the writer
//! thread decides the next batch. A job's appends are checked against the
//! stream versions it expects and stored all together or not at all. Index entries are merged into the
//! table in bulk (see `index.rs`); committed records are kept in a short
//! in-memory tail that subscribers read instead of going back to disk.

use crate::error::{AppendError, Unavailable};
use crate::health::HealthState;
use crate::index::{MERGE_AT, Overlay};
use crate::store::{Db, Store, rd};
use crate::tables::{EVENTS, MERGED_THROUGH, META, STREAMS};
use crate::tx::{Completion, Job, Staged, Tables, Tx};
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

/// A batch decided by the writer thread, for the commit thread to store.
struct Decided {
    /// What to call for each job that ran once the batch is stored (or
    /// not), and whether it ran untouched (see [`Tx::untouched`]).
    completions: Vec<(Completion, bool)>,
    /// Its appends (shared with the next batch while that one is decided).
    staged: Arc<Staged>,
    /// The log's generation when it was decided: if a commit failed since,
    /// it may have been decided on appends that are lost.
    generation: u64,
    /// Jobs taken into it (for the simulator's gate).
    jobs: usize,
    /// Merge the index whatever its size (when the log closes).
    force_merge: bool,
    /// Decided while the log could not append: its appends were refused.
    refused: bool,
}

/// The batch before the one being decided, while it may still be stored.
struct InFlight {
    staged: Arc<Staged>,
    generation: u64,
    last: u64,
}

/// Runs until every sender is gone, then merges the index one last time.
///
/// Two threads share the work of a group commit, so that deciding the next
/// batch overlaps storing this one (redb holds its one write transaction
/// through the commit's flush): this thread takes the jobs waiting and
/// runs them against what is committed plus the batch in flight (a read
/// transaction, the index overlay and that batch's staged appends); the
/// commit thread writes each decided batch in one durable commit, then
/// publishes it (index, tail, head) and answers its jobs. It takes a batch
/// only once the one before is answered, so at most one batch is in
/// flight while the next is decided. A batch decided on top of one whose
/// commit then fails is refused as a whole (the generation tells), as its
/// decisions may rest on what was lost.
pub(crate) fn run(
    shared: Arc<Shared>,
    mut rx: tokio::sync::mpsc::Receiver<Job>,
    max_batch: usize,
    clock: crate::log::Clock,
    gate: Option<crate::gate::BatchGate>,
) {
    let (to_commit, decided) = std::sync::mpsc::sync_channel::<Decided>(0);
    let committer = Committer::default();
    std::thread::scope(|scope| {
        let commit_thread = std::thread::Builder::new()
            .name("eventlog-commit".into())
            .spawn_scoped(scope, || {
                for batch in decided {
                    committer.finish(&shared, batch, gate.as_ref());
                    committer.finished.fetch_add(1, Ordering::Release);
                }
            })
            .expect("start the event log's commit thread");
        let mut last_time = 0i64;
        let mut in_flight: Option<InFlight> = None;
        // Batches handed to the commit thread so far.
        let mut handed = 0u64;
        while let Some(first) = rx.blocking_recv() {
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
            if let Some(gate) = &gate {
                gate.took(jobs.len());
            }
            last_time = last_time.max(clock.now_micros());
            let decided = decide(&shared, jobs, last_time, &mut in_flight);
            // Hand the batch over when there is something to decide while it
            // is stored (or a batch before it is still being stored: they are
            // stored in order); else store it here, without waking the
            // commit thread (a lone caller waits for one thread, not two).
            if committer.finished.load(Ordering::Acquire) < handed || !rx.is_empty() {
                handed += 1;
                if to_commit.send(decided).is_err() {
                    tracing::error!("the event log's commit thread is gone; no more writes");
                    return;
                }
            } else {
                committer.finish(&shared, decided, gate.as_ref());
                in_flight = None;
            }
        }
        let pending = shared.index.read().map_or(0, |o| o.len());
        if pending > 0 && shared.refusal().is_none() {
            let generation = shared.generation.load(Ordering::SeqCst);
            let merge = Decided {
                completions: Vec::new(),
                staged: Arc::default(),
                generation,
                jobs: 0,
                force_merge: true,
                refused: false,
            };
            let _ = to_commit.send(merge);
        }
        drop(to_commit);
        let _ = commit_thread.join();
    });
}

/// Runs one batch of jobs against what is committed and the batch in
/// flight, staging their appends (refused, while the log may not append).
fn decide(shared: &Shared, jobs: Vec<Job>, recorded_at: i64, in_flight: &mut Option<InFlight>) -> Decided {
    let count = jobs.len();
    let generation = shared.generation.load(Ordering::SeqCst);
    // A commit failed since the batch in flight was decided: it is lost or
    // will be refused, and this batch must not build on it.
    if in_flight.as_ref().is_some_and(|f| f.generation != generation) {
        *in_flight = None;
    }
    let refusal = shared.refusal();
    let refused = refusal.is_some();
    let db = shared.store.guard();
    // The overlay is locked before the read transaction starts, so that
    // entries a commit merges meanwhile are in the one or the other.
    let merged = shared.index.read().expect("index lock");
    let opened = db.begin_read().and_then(|txn| {
        let events = txn.open_table(EVENTS).map_err(rd)?;
        let streams = txn.open_table(STREAMS).map_err(rd)?;
        Ok((txn, Tables { events, streams }))
    });
    let (_txn, tables) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the event log; refusing the batch");
            let refusal = refusal.unwrap_or_else(|| AppendError::Storage(e.to_string()));
            for job in jobs {
                job(Err(refusal.clone()));
            }
            return Decided {
                completions: Vec::new(),
                staged: Arc::default(),
                generation,
                jobs: count,
                force_merge: false,
                refused: true,
            };
        }
    };
    let head = *shared.head.borrow();
    let next_position = match in_flight {
        Some(f) => f.last.max(head) + 1,
        None => head + 1,
    };
    let before = in_flight.as_ref().map(|f| &*f.staged);
    let mut tx = Tx::new(tables, refusal, shared, &merged, before, next_position, recorded_at, generation);
    let mut completions = Vec::with_capacity(count);
    for job in jobs {
        let untouched = tx.untouched();
        // `transact` catches the caller's panics; this guards the writer
        // itself against anything else.
        match catch_unwind(AssertUnwindSafe(|| job(Ok(&mut tx)))) {
            Ok(complete) => {
                let untouched = untouched && tx.untouched();
                if let Some(complete) = complete {
                    completions.push((complete, untouched));
                }
                tx.flush();
            }
            Err(_) => {
                tracing::error!("a job panicked inside the event log writer; it was discarded");
                tx.discard();
            }
        }
    }
    let staged = Arc::new(std::mem::take(&mut tx.staged));
    let last = tx.next_position - 1;
    drop(tx);
    if !staged.records.is_empty() {
        *in_flight = Some(InFlight { staged: staged.clone(), generation, last });
    } else {
        // The batch before is answered by the time this one is taken.
        *in_flight = None;
    }
    Decided { completions, staged, generation, jobs: count, force_merge: false, refused }
}

/// What the writer and the commit thread share about storing batches.
#[derive(Default)]
struct Committer {
    /// Batches the commit thread has finished (stored or not, answered):
    /// while fewer than were handed to it, it is busy, and the next batch
    /// must go to it too, to be stored after them.
    finished: AtomicU64,
    /// Why the last commit that failed did.
    lost: Mutex<Option<AppendError>>,
}

impl Committer {
    /// Stores a decided batch in one durable commit, publishes it and
    /// answers its jobs (batches are finished in the order decided, one at
    /// a time).
    fn finish(&self, shared: &Shared, batch: Decided, gate: Option<&crate::gate::BatchGate>) {
        let mut lost = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        let result = if batch.generation != shared.generation.load(Ordering::SeqCst) {
            Err(lost.clone().unwrap_or_else(|| {
                AppendError::Unavailable(Unavailable::Other("an earlier commit failed".into()))
            }))
        } else if batch.refused {
            // Its appends were refused: nothing to store.
            Ok(())
        } else {
            let result = commit_batch(shared, &batch);
            if let Err(e) = &result {
                *lost = Some(e.clone());
            }
            result
        };
        drop(lost);
        if batch.force_merge
            && let Err(e) = &result
        {
            tracing::warn!(error = %e, "could not merge the stream index on close; it is rebuilt on open");
        }
        for (complete, untouched) in batch.completions {
            complete(match &result {
                // It depended on nothing a failed commit lost.
                Err(_) if untouched => Ok(()),
                result => result.clone(),
            });
        }
        if let Some(gate) = gate {
            gate.batch_done(batch.jobs);
        }
    }
}

/// Stores a decided batch and publishes it (index overlay, tail, head).
fn commit_batch(shared: &Shared, batch: &Decided) -> Result<(), AppendError> {
    let staged = &batch.staged;
    let written = {
        let db = shared.store.guard();
        let Db::Writable(database) = &*db else {
            // The batch was decided while the log could append, and it no
            // longer can (a failed commit re-opened it for reading).
            return Err(shared.refusal().unwrap_or_else(|| {
                AppendError::Unavailable(Unavailable::Other("not open for writing".into()))
            }));
        };
        write_batch(shared, database, batch)
    };
    let merged_through = match written {
        Ok(Some(merged_through)) => merged_through,
        Ok(None) => return Ok(()),
        // The database handle is released above: `failed` may swap it.
        Err(e) => return Err(shared.failed(e)),
    };
    shared.commits.fetch_add(1, Ordering::Relaxed);
    shared.stored();
    {
        let mut index = shared.index.write().expect("index lock");
        match merged_through {
            Some(position) => index.merged(position),
            None => index.absorb(&staged.overlay),
        }
    }
    if let Some((last, _)) = staged.records.last() {
        let last = *last;
        shared.tail.lock().expect("tail lock").push(staged.records.clone());
        shared.head.send_replace(last);
    }
    Ok(())
}

/// The write transaction of [`commit_batch`]: `Ok(None)` when there was
/// nothing to write (no flush), else the position the index was merged
/// through, if it was.
fn write_batch(
    shared: &Shared,
    database: &redb::Database,
    batch: &Decided,
) -> Result<Option<Option<u64>>, redb::Error> {
    let staged = &batch.staged;
    let merged = shared.index.read().expect("index lock");
    let waiting = merged.len() + staged.overlay.len();
    let merge = waiting > 0 && (batch.force_merge || waiting >= MERGE_AT);
    if staged.records.is_empty() && !merge {
        return Ok(None);
    }
    let last = match staged.records.last() {
        Some((last, _)) => *last,
        None => *shared.head.borrow(),
    };
    let txn = database.begin_write()?;
    {
        let mut events = txn.open_table(EVENTS)?;
        for (position, record) in &staged.records {
            events.insert(position, &**record)?;
        }
    }
    if merge {
        merge_index(&txn, &merged, &staged.overlay, last)?;
    }
    drop(merged);
    txn.commit()?;
    Ok(Some(merge.then_some(last)))
}

/// Writes every overlay entry (of earlier commits, and of this batch) into
/// the index table in this transaction.
fn merge_index(
    txn: &redb::WriteTransaction,
    merged: &Overlay,
    staged: &Overlay,
    last: u64,
) -> Result<(), redb::Error> {
    let mut entries = merged.sorted_entries();
    entries.extend(staged.sorted_entries());
    entries.sort_unstable();
    let mut streams = txn.open_table(STREAMS)?;
    for (stream, version, position) in entries {
        streams.insert((stream, version), position)?;
    }
    let mut meta = txn.open_table(META)?;
    meta.insert(MERGED_THROUGH, last)?;
    Ok(())
}
