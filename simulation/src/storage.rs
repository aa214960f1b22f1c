//! The simulated storage controller: the storage controller's own
//! reconciler (`storage::Reconciler`) over a simulated store, fed the
//! controller's view of its zone (`App::storage_view_of`, turned into what
//! the reconciler wants by `controller_link::volume_sync::wanted`, as the
//! real one's loop does). What it did goes into a queue of reports
//! (`volume_sync::storage_done`), delivered one at a time, late and now
//! and then out of order, through `App::record_storage`, and none while it
//! is cut off from the controller. It crashes now and then: its memory
//! (what it granted, what it took) and its undelivered reports are lost,
//! its store is not. The store fails a volume's making now and then.
//! Files, tgt and chunks are the real-process tests'.

use api::app::volumes::StorageDone;
use domain::ZoneName;
use domain::volumes::{AttachmentState, SnapshotState, VolumeState};
use projections::ReadModels;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use storage::chunks::ChunkId;
use storage::{Export, Grant, Inventory, Reconciler, SimStorage, StorageDriver, StorageError, Taken};

/// The simulated store: `SimStorage`'s bookkeeping (kept across crashes),
/// whose making of a volume fails one time in twenty, drawn from its own
/// seeded generator.
#[derive(Clone)]
struct Store {
    inner: Arc<SimStorage>,
    rng: Arc<Mutex<StdRng>>,
}

impl Store {
    fn fails(&self) -> bool {
        self.rng.lock().unwrap_or_else(|p| p.into_inner()).gen_ratio(1, 20)
    }
}

impl StorageDriver for Store {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn portal(&self) -> String {
        self.inner.portal()
    }

    fn create(&self, volume: &str, size: u64) -> Result<(), StorageError> {
        if self.fails() {
            return Err(StorageError::Io("the simulated storage refused the volume".into()));
        }
        self.inner.create(volume, size)
    }

    fn restore(&self, volume: &str, size: u64, snapshot: &ChunkId) -> Result<(), StorageError> {
        if self.fails() {
            return Err(StorageError::Io("the simulated storage refused the volume".into()));
        }
        self.inner.restore(volume, size, snapshot)
    }

    fn delete(&self, volume: &str) -> Result<(), StorageError> {
        self.inner.delete(volume)
    }

    fn export(&self, volume: &str, grant: &Grant) -> Result<Export, StorageError> {
        self.inner.export(volume, grant)
    }

    fn revoke(&self, volume: &str, initiator: &str) -> Result<(), StorageError> {
        self.inner.revoke(volume, initiator)
    }

    fn snapshot(&self, volume: &str, progress: &mut dyn FnMut(u64, u64)) -> Result<Taken, StorageError> {
        self.inner.snapshot(volume, progress)
    }

    fn collect_garbage(&self, live: &[ChunkId]) -> Result<usize, StorageError> {
        self.inner.collect_garbage(live)
    }

    fn unexport(&self, volume: &str) -> Result<(), StorageError> {
        self.inner.unexport(volume)
    }

    fn inventory(&self) -> Result<Inventory, StorageError> {
        self.inner.inventory()
    }
}

/// The zone's storage controller.
pub struct StorageController {
    zone: ZoneName,
    store: Store,
    reconciler: Reconciler<Store>,
    /// Reports made and not delivered yet.
    queue: VecDeque<StorageDone>,
}

/// What one step of the storage controller came to.
pub enum Step {
    /// Nothing to do.
    Idle,
    /// It applied the controller's view (and queued what it did).
    Applied,
    /// It crashed and started again.
    Crashed,
    /// A report to deliver.
    Report(StorageDone),
}

impl StorageController {
    pub fn new(zone: ZoneName, seed: u64) -> StorageController {
        let store = Store {
            inner: Arc::new(SimStorage::new()),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
        };
        let reconciler = Reconciler::new(store.clone());
        StorageController { zone, store, reconciler, queue: VecDeque::new() }
    }

    pub fn zone(&self) -> &ZoneName {
        &self.zone
    }

    /// One step: crash now and then; else deliver a queued report (the
    /// oldest mostly, another now and then), or, with none queued, apply
    /// the controller's view.
    pub fn step(
        &mut self,
        app: &api::app::App,
        models: &ReadModels,
        rng: &mut StdRng,
    ) -> Result<Step, String> {
        if rng.gen_ratio(1, 200) {
            self.reconciler = Reconciler::new(self.store.clone());
            self.queue.clear();
            return Ok(Step::Crashed);
        }
        if !self.queue.is_empty() {
            let at = if rng.gen_ratio(1, 4) { rng.gen_range(0..self.queue.len()) } else { 0 };
            return Ok(self.queue.remove(at).map_or(Step::Idle, Step::Report));
        }
        let view = app.storage_view_of(models, &self.zone);
        let wanted = controller_link::volume_sync::wanted(&view);
        let mut made = Vec::new();
        self.reconciler
            .apply(&wanted, &mut |report| made.push(report))
            .map_err(|e| format!("the storage controller's reconciler failed: {e}"))?;
        self.queue.extend(made.into_iter().filter_map(controller_link::volume_sync::storage_done));
        Ok(if self.queue.is_empty() { Step::Idle } else { Step::Applied })
    }

    /// Volumes on the store, for the invariants: every one the log holds
    /// as made is there.
    pub fn holds(&self, volume: &str) -> bool {
        self.store.inner.inventory().is_ok_and(|i| i.volumes.iter().any(|(v, _)| v == volume))
    }
}

/// Is anything of the zone's storage still between two states?
pub fn settled(models: &ReadModels, zone: &ZoneName) -> bool {
    let volumes = models.volumes.volumes.values().filter(|v| &v.zone == zone);
    let snapshots = models.volumes.snapshots.values().filter(|s| &s.zone == zone);
    !volumes.clone().any(|v| matches!(v.state, VolumeState::Creating | VolumeState::Deleting))
        && !volumes.filter_map(|v| v.attachment.as_ref()).any(|a| match a.state {
            AttachmentState::Attaching => !a.exported,
            AttachmentState::Detaching => a.released || a.forced,
            _ => false,
        })
        && !snapshots.clone().any(|s| s.state == SnapshotState::Pending)
}
