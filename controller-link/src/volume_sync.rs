//! EBS's executors (docs/adr/0013-block-storage.md): a zone's storage
//! controller and a node's volume attachments, each a loop that applies
//! the view the controller computes from its read models and reports what
//! it did. The same loops run in `yukari up` (links in the process) and
//! in `yukari storage` / `yukari node` on other hosts (links over HTTP).
//! Every step is idempotent and the view alone says what must exist, so a
//! crash anywhere resumes from the log: on start the store is made to
//! agree with it (orphan targets and files removed, missing exports made
//! again), and so are the guests' disks.

use api::app::volumes::{NodeDone, NodeVolumes, StorageDone, StorageView};
use node_executor::{
    HypervisorDriver, RootDisks, VolumeDisk, VolumeReport, VolumeSync, WantedAttachment, WantedVolumes,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use storage::{ChunkId, Grant, Reconciler, StorageDriver, StorageReport, Wanted};
use tokio::sync::watch;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a storage controller hears its view and tells what it did.
pub trait StorageLink: Send + Sync {
    /// The zone's view, once the log has moved past `have` (or after a
    /// while, to look again anyway).
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<StorageView>>;
    fn report(&self, done: StorageDone) -> BoxFuture<'_, anyhow::Result<()>>;
    /// Tells the controller this storage controller is alive while it is
    /// busy with long work (a snapshot, a restore) and asks for no view:
    /// without it the zone would be marked unreachable, and every
    /// account's volume calls refused, for as long as one job lasts.
    fn alive(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// How a node hears its guests' volumes and tells what it did.
pub trait NodeVolumesLink: Send + Sync {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<NodeVolumes>>;
    fn report(&self, done: NodeDone) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// What a storage controller's reconciler is to make of the controller's
/// view of its zone.
pub fn wanted(view: &StorageView) -> Wanted {
    Wanted {
        position: view.position,
        volumes: view
            .volumes
            .iter()
            .map(|v| storage::WantedVolume {
                volume: v.volume.to_string(),
                size: v.size_bytes,
                source: v.source.as_deref().and_then(ChunkId::parse),
                grant: v.grant.clone().map(|initiator| Grant {
                    initiator,
                    chap: v.chap.clone().map(|c| storage::Chap { user: c.user, secret: c.secret }),
                }),
                created: v.created,
                exported: v.exported,
                revoke: v.revoke.clone(),
            })
            .collect(),
        deleting: view.deleting.iter().map(ToString::to_string).collect(),
        snapshots: view
            .snapshots
            .iter()
            .map(|(s, v)| storage::WantedSnapshot { snapshot: s.to_string(), volume: v.to_string() })
            .collect(),
        live_snapshots: view.live_snapshots.iter().filter_map(|m| ChunkId::parse(m)).collect(),
    }
}

/// What the controller records of a store's report (nothing for what
/// only the store's own log needs to say).
pub fn storage_done(report: StorageReport) -> Option<StorageDone> {
    let volume = |v: &str| domain::VolumeId::parse(v).ok();
    let snapshot = |s: &str| domain::SnapshotId::parse(s).ok();
    Some(match report {
        StorageReport::Created { volume: v } => StorageDone::Created { volume: volume(&v)? },
        StorageReport::CreateFailed { volume: v, reason } => {
            StorageDone::CreateFailed { volume: volume(&v)?, reason }
        }
        StorageReport::Exported { volume: v, .. } => StorageDone::Exported { volume: volume(&v)? },
        StorageReport::Revoked { volume: v, .. } => StorageDone::Revoked { volume: volume(&v)? },
        StorageReport::Deleted { volume: v } => StorageDone::Deleted { volume: volume(&v)? },
        StorageReport::SnapshotProgress { snapshot: s, percent } => {
            StorageDone::SnapshotProgress { snapshot: snapshot(&s)?, percent }
        }
        StorageReport::SnapshotCompleted { snapshot: s, manifest, .. } => {
            StorageDone::SnapshotCompleted { snapshot: snapshot(&s)?, manifest: manifest.to_string() }
        }
        StorageReport::SnapshotFailed { snapshot: s, reason } => {
            StorageDone::SnapshotFailed { snapshot: snapshot(&s)?, reason }
        }
        StorageReport::Lost { volume } => {
            tracing::error!(%volume, "the log holds a volume whose file is gone from this storage controller");
            return None;
        }
        StorageReport::ExportFailed { volume, reason, .. } => {
            tracing::warn!(%volume, %reason, "cannot export a volume (tried again; its attach deadline fails it)");
            return None;
        }
    })
}

/// Fault injection for the crash tests (RELIABILITY.md):
/// `YUKARI_CRASH_POINT=before:KIND` aborts the process when an executor
/// has done a step of KIND (`created`, `exported`, `attached`, `revoked`,
/// …, the reports' `kind`) and is about to record it; `after:KIND` right
/// after it is recorded. Unset, nothing happens.
fn crash_point(when: &str, done: &impl serde::Serialize) {
    static POINT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let Some(point) = POINT.get_or_init(|| std::env::var("YUKARI_CRASH_POINT").ok()) else { return };
    let kind = serde_json::to_value(done).ok().and_then(|v| v.get("kind")?.as_str().map(str::to_owned));
    if kind.is_some_and(|kind| *point == format!("{when}:{kind}")) {
        eprintln!("YUKARI_CRASH_POINT {point}: aborting");
        std::process::abort();
    }
}

/// Records a report, with the crash points around it.
async fn record<D: serde::Serialize>(done: &D, record: impl Future<Output = anyhow::Result<()>>) {
    crash_point("before", done);
    match record.await {
        Ok(()) => crash_point("after", done),
        Err(e) => {
            tracing::warn!(error = %format!("{e:#}"), "cannot record a report now (the next view asks again)")
        }
    }
}

/// How often the store is compared with the log even when nothing moved
/// (orphans, a tgtd restarted underneath).
pub const RECONCILE_EVERY: Duration = Duration::from_secs(10);

/// Waits a little, unless the process is stopping.
async fn pause(stopped: &mut watch::Receiver<bool>) {
    tokio::select! {
        biased;
        _ = stopped.changed() => {}
        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
    }
}

/// A view an executor applies: its position, and whether another one asks
/// for the same work (positions aside).
pub trait View: Send + 'static {
    fn position(&self) -> u64;
    fn same_work(&self, other: &Self) -> bool;
}

impl View for StorageView {
    fn position(&self) -> u64 {
        self.position
    }

    fn same_work(&self, other: &Self) -> bool {
        (&self.volumes, &self.deleting, &self.snapshots)
            == (&other.volumes, &other.deleting, &other.snapshots)
    }
}

impl View for NodeVolumes {
    fn position(&self) -> u64 {
        self.position
    }

    fn same_work(&self, other: &Self) -> bool {
        (&self.attach, &self.detach, &self.instances) == (&other.attach, &other.detach, &other.instances)
    }
}

/// The views an executor follows: the next one to apply is one that asks
/// for other work than the last applied, or any once [`RECONCILE_EVERY`]
/// has passed (orphans, a store changed underneath).
struct Views<V> {
    have: u64,
    last: Option<V>,
    last_full: Option<tokio::time::Instant>,
}

impl<V> Default for Views<V> {
    fn default() -> Self {
        Views { have: 0, last: None, last_full: None }
    }
}

impl<V: View> Views<V> {
    /// The next view to apply; `None` when there is none yet (the caller
    /// asks again, unless stopping).
    async fn next<'a, F>(&mut self, fetch: F, stopped: &mut watch::Receiver<bool>, what: &str) -> Option<V>
    where
        F: FnOnce(u64) -> BoxFuture<'a, anyhow::Result<V>>,
    {
        let view = tokio::select! {
            biased;
            view = fetch(self.have) => view,
            _ = stopped.changed() => return None,
        };
        let view = match view {
            Ok(view) => view,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "cannot read {what}; trying again");
                pause(stopped).await;
                return None;
            }
        };
        self.have = view.position();
        let moved = self.last.as_ref().is_none_or(|l| !l.same_work(&view));
        let stale = self.last_full.is_none_or(|t| t.elapsed() >= RECONCILE_EVERY);
        (moved || stale).then_some(view)
    }

    fn applied(&mut self, view: V) {
        self.last_full = Some(tokio::time::Instant::now());
        self.last = Some(view);
    }
}

/// While a storage controller works on a view, it tells the controller it
/// is alive this often (well within the controller's 30 s timeout).
pub const ALIVE_EVERY: Duration = Duration::from_secs(10);

/// A storage controller: applies its zone's view to `driver` whenever it
/// changes (and every [`RECONCILE_EVERY`]), until `stopped`.
pub async fn run_controller<D: StorageDriver>(
    link: Arc<dyn StorageLink>,
    driver: D,
    stopped: watch::Receiver<bool>,
) {
    controller_loop(link, Reconciler::new(driver), stopped, ALIVE_EVERY).await
}

async fn controller_loop<D: StorageDriver>(
    link: Arc<dyn StorageLink>,
    mut reconciler: Reconciler<D>,
    mut stopped: watch::Receiver<bool>,
    alive_every: Duration,
) {
    let mut views = Views::default();
    while !*stopped.borrow() {
        let Some(view) =
            views.next(|have| link.view(have), &mut stopped, "the storage controller's view").await
        else {
            continue;
        };
        let wanted = wanted(&view);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let blocks = reconciler.driver().blocks();
        let apply = move || {
            let result = reconciler.apply(&wanted, &mut |report| {
                let _ = tx.send(report);
            });
            (reconciler, result)
        };
        // On the blocking pool for a blocking store; in line for the
        // simulated one, so that a simulated machine runs in one order.
        let applying = match blocks {
            true => Err(tokio::task::spawn_blocking(apply)),
            false => Ok(apply()),
        };
        // Reports are recorded as they come (a snapshot's progress while
        // it is taken), and the controller hears from this one meanwhile.
        let mut alive = tokio::time::interval_at(tokio::time::Instant::now() + alive_every, alive_every);
        loop {
            tokio::select! {
                biased;
                report = rx.recv() => match report {
                    Some(report) => {
                        if let Some(done) = storage_done(report) {
                            record(&done, link.report(done.clone())).await;
                        }
                    }
                    None => break,
                },
                _ = alive.tick() => {
                    if let Err(e) = link.alive().await {
                        tracing::warn!(error = %format!("{e:#}"), "cannot tell the controller this storage controller is alive");
                    }
                }
            }
        }
        let (back, result) = match applying {
            Ok(done) => done,
            Err(pool) => match pool.await {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!(error = %e, "the storage controller's reconciler panicked; stopping it");
                    return;
                }
            },
        };
        reconciler = back;
        match result {
            Ok(cleanup) if !cleanup.orphan_volumes.is_empty() || !cleanup.orphan_exports.is_empty() => {
                tracing::warn!(
                    volumes = ?cleanup.orphan_volumes,
                    exports = ?cleanup.orphan_exports,
                    "removed what the log does not name (left by a crash)"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the storage controller could not apply its view; trying again");
                pause(&mut stopped).await;
            }
        }
        views.applied(view);
    }
}

fn wanted_volumes(view: &NodeVolumes) -> WantedVolumes {
    WantedVolumes {
        position: view.position,
        attach: view
            .attach
            .iter()
            .map(|a| WantedAttachment {
                instance: a.instance.clone(),
                disk: VolumeDisk {
                    volume: a.volume.to_string(),
                    device: a.device.clone(),
                    iqn: a.iqn.clone(),
                    lun: a.lun,
                    portal: a.portal.clone(),
                    initiator: a.initiator.clone(),
                    chap: a
                        .chap
                        .clone()
                        .map(|c| node_executor::VolumeChap { user: c.user, secret: c.secret }),
                },
                attached: a.attached,
            })
            .collect(),
        detach: view.detach.iter().map(|(i, v)| (i.clone(), v.to_string())).collect(),
        instances: view.instances.clone(),
    }
}

fn node_done(report: VolumeReport) -> Option<NodeDone> {
    let volume = |v: &str| domain::VolumeId::parse(v).ok();
    Some(match report {
        VolumeReport::Attached { instance, volume: v } => {
            NodeDone::Attached { instance, volume: volume(&v)? }
        }
        VolumeReport::AttachFailed { instance, volume: v, reason } => {
            NodeDone::AttachFailed { instance, volume: volume(&v)?, reason }
        }
        VolumeReport::Detached { instance, volume: v } => {
            NodeDone::Detached { instance, volume: volume(&v)? }
        }
        VolumeReport::DetachStuck { instance, volume, reason } => {
            tracing::warn!(%instance, %volume, %reason, "a guest did not let a volume go (tried again)");
            return None;
        }
    })
}

/// A node's volumes: plugs in and unplugs its guests' volumes as its view
/// says, whenever it changes (and every [`RECONCILE_EVERY`]).
pub async fn run_node_volumes(
    link: Arc<dyn NodeVolumesLink>,
    driver: Arc<dyn HypervisorDriver>,
    roots: Arc<RootDisks>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut views = Views::default();
    while !*stopped.borrow() {
        let Some(view) = views.next(|have| link.view(have), &mut stopped, "this node's volumes").await else {
            continue;
        };
        let wanted = wanted_volumes(&view);
        // On the blocking pool for a blocking driver (libvirt); in line for
        // the simulated one, so that a simulated node runs in one order.
        let roots = roots.clone();
        let applied = node_executor::driver_call(driver.clone(), move |driver| {
            let mut reports = Vec::new();
            let sync = VolumeSync::new(driver).with_root_disks(&roots);
            let result = sync.apply(&wanted, &mut |r| reports.push(r));
            Ok((reports, result))
        })
        .await;
        let Ok((reports, result)) = applied else {
            tracing::error!("the node's volume sync panicked; stopping it");
            return;
        };
        for done in reports.into_iter().filter_map(node_done) {
            record(&done, link.report(done.clone())).await;
        }
        match result {
            Ok(removed) if !removed.is_empty() => {
                tracing::warn!(
                    ?removed,
                    "unplugged volume disks the log does not name (left by a crash or a forced detach)"
                )
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the node could not apply its volumes; trying again");
                pause(&mut stopped).await;
            }
        }
        views.applied(view);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::app::volumes::StorageVolume;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use storage::{Export, Inventory, SimStorage, StorageError, Taken};

    /// The simulated store, but blocking, and slow to make a volume (as a
    /// large restore or snapshot is).
    struct Slow(SimStorage);

    impl StorageDriver for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        fn portal(&self) -> String {
            self.0.portal()
        }
        fn create(&self, volume: &str, size: u64) -> Result<(), StorageError> {
            std::thread::sleep(Duration::from_millis(400));
            self.0.create(volume, size)
        }
        fn restore(&self, volume: &str, size: u64, snapshot: &ChunkId) -> Result<(), StorageError> {
            self.0.restore(volume, size, snapshot)
        }
        fn delete(&self, volume: &str) -> Result<(), StorageError> {
            self.0.delete(volume)
        }
        fn export(&self, volume: &str, grant: &Grant) -> Result<Export, StorageError> {
            self.0.export(volume, grant)
        }
        fn revoke(&self, volume: &str, initiator: &str) -> Result<(), StorageError> {
            self.0.revoke(volume, initiator)
        }
        fn freeze(&self, snapshots: &[storage::Freeze<'_>]) -> Vec<Result<(), StorageError>> {
            self.0.freeze(snapshots)
        }
        fn snapshot(
            &self,
            snapshot: &str,
            volume: &str,
            progress: &mut dyn FnMut(u64, u64),
        ) -> Result<Taken, StorageError> {
            self.0.snapshot(snapshot, volume, progress)
        }
        fn discard(&self, snapshot: &str, volume: &str) -> Result<bool, StorageError> {
            self.0.discard(snapshot, volume)
        }
        fn collect_garbage(&self, live: &[ChunkId]) -> Result<usize, StorageError> {
            self.0.collect_garbage(live)
        }
        fn unexport(&self, volume: &str) -> Result<(), StorageError> {
            self.0.unexport(volume)
        }
        fn inventory(&self) -> Result<Inventory, StorageError> {
            self.0.inventory()
        }
    }

    /// One view with one volume to make, then none; what was reported and
    /// how often the controller was told the storage controller is alive.
    #[derive(Default)]
    struct Link {
        views: AtomicUsize,
        alive: AtomicUsize,
        /// `alive` calls seen when the first report came.
        alive_at_report: Mutex<Option<usize>>,
    }

    impl StorageLink for Link {
        fn view(&self, _have: u64) -> BoxFuture<'_, anyhow::Result<StorageView>> {
            Box::pin(async move {
                if self.views.fetch_add(1, Ordering::SeqCst) > 0 {
                    std::future::pending::<()>().await;
                }
                let volume = StorageVolume {
                    volume: domain::VolumeId::from_bits(7),
                    size_bytes: 1 << 30,
                    source: None,
                    grant: None,
                    chap: None,
                    created: false,
                    exported: false,
                    revoke: None,
                };
                Ok(StorageView { position: 1, volumes: vec![volume], ..Default::default() })
            })
        }

        fn report(&self, _done: StorageDone) -> BoxFuture<'_, anyhow::Result<()>> {
            let seen = self.alive.load(Ordering::SeqCst);
            self.alive_at_report.lock().unwrap().get_or_insert(seen);
            Box::pin(async { Ok(()) })
        }

        fn alive(&self) -> BoxFuture<'_, anyhow::Result<()>> {
            self.alive.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test]
    async fn a_storage_controller_busy_with_long_work_says_it_is_alive() {
        let link = Arc::new(Link::default());
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(controller_loop(
            link.clone(),
            Reconciler::new(Slow(SimStorage::new())),
            stopped,
            Duration::from_millis(50),
        ));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while link.alive_at_report.lock().unwrap().is_none() {
            assert!(tokio::time::Instant::now() < deadline, "the volume was never reported made");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let alive = link.alive_at_report.lock().unwrap().unwrap();
        // 400 ms of work, told alive every 50 ms: several times before the
        // volume was reported made (not once without this).
        assert!(alive >= 3, "told alive {alive} times during the work");
        stop.send(true).unwrap();
        running.await.unwrap();
    }
}
