//! The simulated storage controller: the storage controller's own loop
//! (`controller_link::volume_sync::run_controller`, with its reconciler
//! `storage::Reconciler`) over a simulated store, on a simulated machine
//! of its own (`machine.rs`: a paused clock, one order), fed the
//! controller's view of its zone (`App::storage_view_of`) as the real
//! one's link gives it. What it did waits in an outbox, its loop waiting
//! for the answer, until the simulator delivers it through
//! `App::record_storage`, late, and never while it is cut off from the
//! controller. It crashes now and then: its tasks are dropped wherever
//! they wait and its memory (what it granted, what it took) is lost, its
//! store is not. The store fails a volume's making now and then. Files,
//! tgt and chunks are the real-process tests'.

use crate::links::{self, Views};
use crate::machine::Machine;
use api::app::volumes::{StorageDone, StorageView};
use controller_link::volume_sync::{BoxFuture, StorageLink, run_controller};
use domain::ZoneName;
use domain::volumes::{AttachmentState, SnapshotState, VolumeState};
use projections::ReadModels;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use storage::chunks::ChunkId;
use storage::{Export, Grant, Inventory, SimStorage, StorageDriver, StorageError, Taken};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

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

    fn blocks(&self) -> bool {
        self.inner.blocks()
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

    fn freeze(&self, snapshots: &[storage::Freeze<'_>]) -> Vec<Result<(), StorageError>> {
        self.inner.freeze(snapshots)
    }

    fn snapshot(
        &self,
        snapshot: &str,
        volume: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Taken, StorageError> {
        self.inner.snapshot(snapshot, volume, progress)
    }

    fn discard(&self, snapshot: &str, volume: &str) -> Result<bool, StorageError> {
        self.inner.discard(snapshot, volume)
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

/// A report on its way to the controller, and where its answer goes.
pub type Letter = (StorageDone, oneshot::Sender<anyhow::Result<()>>);

type Outbox = links::Outbox<Letter>;

/// The storage controller's process: its loop, and the view it is given.
struct Process {
    /// Held while the process runs: dropping it would tell the loop to stop.
    _stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    views: Views<StorageView>,
}

/// The zone's storage controller.
pub struct StorageController {
    zone: ZoneName,
    store: Store,
    machine: Machine,
    process: Option<Process>,
    outbox: Outbox,
}

impl StorageController {
    pub fn new(zone: ZoneName, seed: u64) -> Result<StorageController, String> {
        let store = Store {
            inner: Arc::new(SimStorage::new()),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
        };
        let mut controller = StorageController {
            zone,
            store,
            machine: Machine::new()?,
            process: None,
            outbox: Outbox::default(),
        };
        controller.start();
        Ok(controller)
    }

    fn start(&mut self) {
        let (stop, stopped) = watch::channel(false);
        let (views, handed) = Views::new();
        let link = Arc::new(Link { views: handed, outbox: self.outbox.clone() });
        let task = self.machine.spawn(run_controller(link, self.store.clone(), stopped));
        self.process = Some(Process { _stop: stop, task, views });
    }

    pub fn zone(&self) -> &ZoneName {
        &self.zone
    }

    /// It crashed: its loop is dropped where it waited, its memory lost,
    /// and it starts again on the same store (reports already sent may
    /// still arrive).
    pub fn crash(&mut self) {
        if let Some(process) = self.process.take() {
            process.task.abort();
        }
        self.start();
    }

    /// The controller's view of the zone, as the loop asks for it.
    pub fn hand_view(&self, view: StorageView) {
        if let Some(process) = &self.process {
            process.views.hand(view);
        }
    }

    /// Lets it run for `time` of its clock; an error if its loop stopped.
    pub fn run_for(&mut self, time: Duration) -> Result<(), String> {
        self.machine.run_for(time)?;
        match &self.process {
            Some(process) if process.task.is_finished() => {
                Err("the storage controller's loop stopped".into())
            }
            _ => Ok(()),
        }
    }

    /// The next report on its way, drawn from the outbox by `pick` (of
    /// the number waiting), if any.
    pub fn take_report(&self, pick: impl FnOnce(usize) -> usize) -> Option<Letter> {
        self.outbox.take(pick)
    }

    /// Volumes on the store, for the invariants: every one the log holds
    /// as made is there.
    pub fn holds(&self, volume: &str) -> bool {
        self.store.inner.inventory().is_ok_and(|i| i.volumes.iter().any(|(v, _)| v == volume))
    }
}

/// The storage controller's link to the controller.
struct Link {
    views: watch::Receiver<Option<StorageView>>,
    outbox: Outbox,
}

impl StorageLink for Link {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<StorageView>> {
        Box::pin(links::next_view(self.views.clone(), have))
    }

    fn report(&self, done: StorageDone) -> BoxFuture<'_, anyhow::Result<()>> {
        let (answer, answered) = oneshot::channel();
        self.outbox.push((done, answer));
        Box::pin(links::answer(answered, || Err(anyhow::anyhow!("the report was lost"))))
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
