//! Keeps the read models live: catch up from the checkpoint, then follow
//! the log, saving a snapshot now and then and on shutdown.

use crate::error::ProjectionError;
use crate::models::ReadModels;
use crate::parallel::fold_decoding_aside;
use crate::snapshot::load_snapshot;
use crate::time_travel::{TimeTravel, guard};
use eventlog::EventLog;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard};
use tokio::sync::watch;

/// The live read models, read-locked (see [`Projections::read`]).
pub struct ModelsGuard<'a>(RwLockReadGuard<'a, Arc<ReadModels>>);

impl std::ops::Deref for ModelsGuard<'_> {
    type Target = ReadModels;

    fn deref(&self) -> &ReadModels {
        &self.0
    }
}

/// The live read models of a controller.
///
/// The models sit behind an `Arc` inside the lock, copy-on-write, so that
/// snapshots (the checkpoint and time-travel ones, which encode the whole
/// cloud) are encoded *outside* the lock: under it they only take a
/// reference (one counter increment), where encoding a large cloud under
/// the read lock held up the follower's write lock and, behind it (the
/// lock lets a waiting writer go first), every reader. If the follower
/// applies a batch while an encoding still holds its reference,
/// `Arc::make_mut` copies the models once, under the write lock: a copy is
/// cheaper than an encoding (no sorting of maps, no varints), and it
/// happens only when the two overlap. Cloning under the lock for every
/// snapshot would always pay that copy; this pays it at most once per
/// snapshot, and not at all when no batch arrives meanwhile.
pub struct Projections {
    models: RwLock<Arc<ReadModels>>,
    applied: watch::Sender<u64>,
    snapshot: Option<PathBuf>,
    snapshot_every: u64,
    /// Set when following stopped (on an error, or at shutdown): waiters
    /// must not wait on.
    failed: std::sync::atomic::AtomicBool,
    /// Where and how often to write time-travel snapshots, if at all.
    time_travel: OnceLock<TimeTravelPolicy>,
    /// A time-travel snapshot is being written (one at a time).
    writing: Arc<AtomicBool>,
}

/// How the controller keeps time-travel snapshots.
#[derive(Clone, Debug)]
pub struct TimeTravelPolicy {
    pub store: TimeTravel,
    /// Events between two snapshots (at least; they are taken between
    /// batches of the subscription). 0 writes none.
    pub every: u64,
    /// Snapshots kept at most (see [`TimeTravel::thin`]).
    pub keep: usize,
}

/// The read models stopped following the log before reaching a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the read models stopped following the log at position {reached}, before {wanted}")]
pub struct Stalled {
    pub reached: u64,
    pub wanted: u64,
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Projections(at {})", self.position())
    }
}

/// Folds every event after the models' position up to the log's head
/// (decoding on a second thread: [`crate::fold_decoding_aside`]).
pub fn catch_up(models: &mut ReadModels, log: &EventLog) -> Result<(), ProjectionError> {
    let from = models.position + 1;
    fold_decoding_aside(models, |visit| log.scan(from, |envelope| visit(&envelope)).map(drop))?;
    Ok(())
}

/// The read models built from nothing but the log.
pub fn rebuild(log: &EventLog) -> Result<ReadModels, ProjectionError> {
    let mut models = ReadModels::default();
    catch_up(&mut models, log)?;
    Ok(models)
}

/// The snapshot at `snapshot` when it verifies and is not ahead of the
/// log, else nothing.
fn starting_models(log: &EventLog, snapshot: Option<&std::path::Path>) -> ReadModels {
    match snapshot.map(load_snapshot) {
        Some(Ok(Some(m))) if m.position <= log.head() => m,
        Some(Ok(Some(m))) => {
            tracing::warn!(
                snapshot = m.position,
                head = log.head(),
                "snapshot is ahead of the log; rebuilding"
            );
            ReadModels::default()
        }
        Some(Err(e)) => {
            tracing::warn!(error = %e, "ignoring snapshot; rebuilding the read models");
            ReadModels::default()
        }
        _ => ReadModels::default(),
    }
}

impl Projections {
    /// Starts from the snapshot at `snapshot` when it verifies and is not
    /// ahead of the log, else from nothing, and catches up with the log.
    pub fn open(log: &EventLog, snapshot: Option<PathBuf>) -> Result<Arc<Projections>, ProjectionError> {
        let mut models = starting_models(log, snapshot.as_deref());
        let from = models.position;
        catch_up(&mut models, log)?;
        tracing::info!(from, to = models.position, "read models caught up");
        Ok(Projections::with(models, snapshot))
    }

    /// For a damaged log opened read-only: starts as [`Self::open`] does,
    /// catches up as far as the log can be folded (up to its first bad
    /// record after the snapshot), and never writes a snapshot. Returns
    /// what stopped the catching up, if anything did. Do not follow the
    /// log with these models.
    pub fn open_partial(
        log: &EventLog,
        snapshot: Option<PathBuf>,
    ) -> (Arc<Projections>, Option<ProjectionError>) {
        let mut models = starting_models(log, snapshot.as_deref());
        let stopped = catch_up(&mut models, log).err();
        tracing::info!(
            to = models.position,
            stopped = stopped.is_some(),
            "read models caught up as far as they could"
        );
        (Projections::with(models, None), stopped)
    }

    fn with(models: ReadModels, snapshot: Option<PathBuf>) -> Arc<Projections> {
        let (applied, _) = watch::channel(models.position);
        Arc::new(Projections {
            models: RwLock::new(Arc::new(models)),
            applied,
            snapshot,
            snapshot_every: 100_000,
            failed: std::sync::atomic::AtomicBool::new(false),
            time_travel: OnceLock::new(),
            writing: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Writes time-travel snapshots while following, as `policy` says
    /// (before [`Self::follow`]; a second call is ignored).
    pub fn keep_time_travel(&self, policy: TimeTravelPolicy) {
        let _ = self.time_travel.set(policy);
    }

    /// The time-travel snapshots this controller writes, if any.
    pub fn time_travel(&self) -> Option<&TimeTravel> {
        self.time_travel.get().map(|p| &p.store)
    }

    /// Is a time-travel snapshot being written right now?
    pub fn writing_time_travel(&self) -> bool {
        self.writing.load(Ordering::SeqCst)
    }

    /// The models, read-locked: hold the guard briefly (the follower
    /// waits for it).
    pub fn read(&self) -> ModelsGuard<'_> {
        ModelsGuard(self.models.read().expect("read models lock"))
    }

    /// The models as they are now, shared, without holding the lock (for
    /// encoding a snapshot: see [`Projections`]).
    pub fn share(&self) -> Arc<ReadModels> {
        Arc::clone(&self.models.read().expect("read models lock"))
    }

    /// The last position folded in.
    pub fn position(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Waits until the models include `position` (read-your-writes), or
    /// fails if they stopped following the log.
    pub async fn wait_for(&self, position: u64) -> Result<(), Stalled> {
        let mut rx = self.applied.subscribe();
        let failed = || self.failed.load(std::sync::atomic::Ordering::SeqCst);
        let reached = match rx.wait_for(|p| *p >= position || failed()).await {
            Ok(p) => *p,
            Err(_) => self.position(),
        };
        if reached >= position { Ok(()) } else { Err(Stalled { reached, wanted: position }) }
    }

    /// Follows the log until `shutdown` turns true (see [`Self::follow_inner`]);
    /// then, or on an error, wakes every waiter with [`Stalled`].
    pub async fn follow(
        self: Arc<Self>,
        log: EventLog,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), ProjectionError> {
        let result = self.clone().follow_inner(log, shutdown).await;
        // Stopped or failed, the models will not move any more: every
        // waiter (a command recorded during the shutdown) is told so
        // rather than left waiting forever.
        self.failed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.applied.send_modify(|_| {});
        result
    }

    /// Follows the log until `shutdown` turns true, then saves a snapshot.
    async fn follow_inner(
        self: Arc<Self>,
        log: EventLog,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), ProjectionError> {
        let mut subscription = log.subscribe(self.position() + 1).with_batch(4096);
        let mut since_snapshot = 0u64;
        let mut since_travel = 0u64;
        loop {
            let batch = tokio::select! {
                batch = subscription.next_batch() => batch,
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            let batch = match batch {
                Ok(b) => b,
                Err(eventlog::ReadError::Closed) => break,
                Err(e) => return Err(e.into()),
            };
            let (last, last_guard) = {
                let mut locked = self.models.write().expect("read models lock");
                // Copies only if a snapshot being encoded still shares them.
                let models = Arc::make_mut(&mut locked);
                let mut last_guard = None;
                for envelope in batch.iter() {
                    let envelope = envelope?;
                    models.apply(&envelope)?;
                    last_guard = Some(guard(&envelope));
                }
                (models.position, last_guard)
            };
            self.applied.send_replace(last);
            since_travel += batch.len() as u64;
            if let (Some(policy), Some(g)) = (self.time_travel.get(), last_guard)
                && policy.every > 0
                && since_travel >= policy.every
                && !self.writing.swap(true, Ordering::SeqCst)
            {
                since_travel = 0;
                self.write_time_travel(policy.clone(), g);
            }
            since_snapshot += batch.len() as u64;
            if since_snapshot >= self.snapshot_every {
                since_snapshot = 0;
                self.save().await;
            }
        }
        self.save().await;
        Ok(())
    }

    /// Writes a time-travel snapshot of the models as they are now (their
    /// last record has guard `g`) and thins the store, on a blocking
    /// thread: following goes on meanwhile, and so do requests. No lock is
    /// held while encoding (see [`Projections`]). A failure is logged:
    /// time-travel snapshots are only a shortcut.
    fn write_time_travel(&self, policy: TimeTravelPolicy, g: u32) {
        let models = self.share();
        let writing = self.writing.clone();
        tokio::task::spawn_blocking(move || {
            let position = models.position;
            match policy.store.write_models(models, g).and_then(|_| policy.store.thin(policy.keep)) {
                Ok(thinned) => tracing::debug!(position, ?thinned, "time-travel snapshot written"),
                Err(e) => tracing::warn!(position, error = %e, "could not write a time-travel snapshot"),
            }
            writing.store(false, Ordering::SeqCst);
        });
    }

    /// Writes the snapshot, if this controller keeps one. A failure is
    /// logged: the snapshot is only a shortcut.
    pub async fn save(&self) {
        let Some(path) = self.snapshot.clone() else {
            return;
        };
        // Encoded outside the lock (see [`Projections`]).
        let models = self.share();
        let written =
            tokio::task::spawn_blocking(move || crate::snapshot::save_snapshot(&path, models)).await;
        match written {
            Ok(Ok(())) => tracing::debug!(position = self.position(), "read model snapshot saved"),
            Ok(Err(e)) => tracing::warn!(error = %e, "could not save the read model snapshot"),
            Err(e) => tracing::warn!(error = %e, "could not save the read model snapshot"),
        }
    }
}
