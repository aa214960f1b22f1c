//! EBS in `yukari up`: the storage controller of its zone (volumes as
//! sparse files in DATA_DIR/storage, exported by a tgtd it starts and owns,
//! or simulated), the embedded node's side of attachments, and the monitor
//! of volume and snapshot deadlines. Each works from views the
//! application computes from the read models (api::app::volumes) and
//! reports back as commands, so a crash anywhere resumes from the log:
//! on start, the store is made to agree with the log (orphan targets and
//! files removed, missing exports made again) and so are the guests' disks.

use anyhow::Context;
use api::app::volumes::{NodeVolumes, StorageTarget, StorageView};
use api::app::{App, ExecuteError, RequestMeta, ids::now};
use domain::volumes::{
    AttachmentFailure, AttachmentReport, ConfigureStorage, SnapshotDone, SnapshotFailure, SnapshotProgress,
    SnapshotReport, VolumeFailure, VolumeReport,
};
use domain::{Command, InstanceId, NodeId, Principal, ZoneName};
use node_executor::{HypervisorDriver, VolumeDisk, VolumeSync, WantedAttachment, WantedVolumes};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use storage::{ChunkId, Grant, Reconciler, StorageDriver, StorageReport, TgtConfig, TgtDriver, Wanted};
use tokio::sync::watch;

/// Block storage settings of `yukari up`.
#[derive(clap::Args, Debug)]
pub struct StorageArgs {
    /// EBS volumes: `tgt` (sparse files in DATA_DIR/storage exported over
    /// iSCSI by a tgtd Yukari starts and owns), `sim` (simulated, for
    /// tests), `none` (no block storage), or `auto`: `sim` with
    /// `--hypervisor sim`, else `tgt`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "tgt", "sim", "none"])]
    pub storage: String,
    /// GiB of volumes the zone's storage controller offers (set at every start).
    #[arg(long, default_value_t = 100)]
    pub storage_gib: u64,
    /// The iSCSI portal's port (on --bind's address), where nodes' QEMU
    /// attaches volumes.
    #[arg(long, default_value_t = 3260)]
    pub iscsi_port: u16,
    /// The control channel of Yukari's own tgtd (`/run/tgtd/socket.N`, 0
    /// to 32767), apart from any system tgtd [default: --iscsi-port]
    #[arg(long)]
    pub tgt_control_port: Option<u16>,
}

/// The storage store `up` runs, chosen once at start.
pub enum Store {
    Tgt(TgtDriver),
    Sim(storage::SimStorage),
}

impl StorageArgs {
    /// The store asked for (`None`: no block storage), started.
    pub fn open(
        &self,
        dir: &Path,
        simulated_guests: bool,
        bind: IpAddr,
        host: &str,
    ) -> anyhow::Result<Option<(Store, StorageTarget)>> {
        let kind = match self.storage.as_str() {
            "auto" if simulated_guests => "sim",
            "auto" => "tgt",
            other => other,
        };
        let portal = format!("{host}:{}", self.iscsi_port);
        let target =
            StorageTarget { portal: portal.clone(), iqn_prefix: storage::tgt::IQN_PREFIX.to_owned() };
        match kind {
            "none" => Ok(None),
            "sim" => Ok(Some((Store::Sim(storage::SimStorage::new()), target))),
            _ => {
                let data = dir.join("storage");
                crate::data_dir::create(&data)?;
                let control = self.tgt_control_port.unwrap_or(self.iscsi_port);
                let mut config =
                    TgtConfig::new(control, format!("{bind}:{}", self.iscsi_port), data.join("tgtd.log"));
                // tgtd looks its portal up by address.
                if bind.is_unspecified() {
                    config.portal = format!("0.0.0.0:{}", self.iscsi_port);
                }
                let driver = tokio::task::block_in_place(|| TgtDriver::open(&data, config)).with_context(|| {
                    say!(
                        "cannot start the storage controller's iSCSI target (tgtd, Debian package tgt); \
                         --storage none runs without volumes",
                        "ストレージコントローラの iSCSI ターゲット (tgtd、Debian パッケージ tgt) を起動できません。\
                         ボリュームなしで動かすには --storage none"
                    )
                })?;
                Ok(Some((Store::Tgt(driver), target)))
            }
        }
    }
}

fn meta(app: &App, who: &str, source: String) -> RequestMeta {
    RequestMeta {
        principal: Principal::system(who),
        request_id: app.ids.request_id(),
        correlation_id: String::new(),
        source,
    }
}

/// Records what an executor did; a refusal (a report overtaken by the
/// log) is only logged: the next view says what is still to do.
async fn record(app: &App, command: Command, meta: RequestMeta) -> Result<(), ExecuteError> {
    match app.execute(command, &meta).await {
        Ok(_) => Ok(()),
        Err(ExecuteError::Refused(e)) => {
            tracing::info!(error = %e, "a storage report was refused");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Sets the zone's capacity, and where its targets are, for the views.
pub async fn configure(app: &App, zone: &ZoneName, gib: u64, target: StorageTarget) -> anyhow::Result<()> {
    app.storage_targets.set(zone.clone(), target);
    let command =
        Command::ConfigureStorage(ConfigureStorage { zone: zone.clone(), capacity_gib: gib, at: now() });
    app.execute(command, &meta(app, "storage-controller", format!("storage:{zone}")))
        .await
        .with_context(|| say!("cannot configure block storage", "ブロックストレージを設定できません"))?;
    Ok(())
}

fn wanted(view: &StorageView) -> Wanted {
    Wanted {
        position: view.position,
        volumes: view
            .volumes
            .iter()
            .map(|v| storage::WantedVolume {
                volume: v.volume.to_string(),
                size: v.size_bytes,
                source: v.source.as_deref().and_then(ChunkId::parse),
                grant: v.grant.clone().map(|initiator| Grant { initiator }),
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

/// The command that records a storage controller's report, if any.
fn storage_command(zone: &ZoneName, report: StorageReport) -> Option<Command> {
    let at = now();
    let volume = |v: &str| domain::VolumeId::parse(v).ok();
    let snapshot = |s: &str| domain::SnapshotId::parse(s).ok();
    let on = |v: &str| volume(v).map(|volume| VolumeReport { zone: zone.clone(), volume, at });
    let of = |s: &str| snapshot(s).map(|snapshot| SnapshotReport { zone: zone.clone(), snapshot, at });
    Some(match report {
        StorageReport::Created { volume } => Command::ReportVolumeCreated(on(&volume)?),
        StorageReport::CreateFailed { volume, reason } => {
            Command::ReportVolumeCreateFailed(VolumeFailure { report: on(&volume)?, reason })
        }
        StorageReport::Exported { volume, .. } => Command::ReportVolumeExported(on(&volume)?),
        StorageReport::Revoked { volume, .. } => Command::ReportVolumeRevoked(on(&volume)?),
        StorageReport::Deleted { volume } => Command::ReportVolumeDeleted(on(&volume)?),
        StorageReport::SnapshotProgress { snapshot, percent } => {
            Command::ReportSnapshotProgress(SnapshotProgress { report: of(&snapshot)?, percent })
        }
        StorageReport::SnapshotCompleted { snapshot, manifest, .. } => {
            Command::ReportSnapshotCompleted(SnapshotDone {
                report: of(&snapshot)?,
                manifest: manifest.to_string(),
            })
        }
        StorageReport::SnapshotFailed { snapshot, reason } => {
            Command::ReportSnapshotFailed(SnapshotFailure { report: of(&snapshot)?, reason })
        }
        StorageReport::Lost { volume } => {
            tracing::error!(%volume, "the log holds a volume whose file is gone from the storage controller");
            return None;
        }
        StorageReport::ExportFailed { volume, initiator: _, reason } => {
            tracing::warn!(%volume, %reason, "cannot export a volume (tried again; its attach deadline fails it)");
            return None;
        }
    })
}

/// How often the store is compared with the log even when nothing moved
/// (orphans, a tgtd restarted underneath).
const RECONCILE_EVERY: Duration = Duration::from_secs(10);

/// The embedded storage controller: applies the zone's view whenever the
/// read models move (and every [`RECONCILE_EVERY`]), until `stopped`.
pub async fn run_controller(
    app: Arc<App>,
    zone: ZoneName,
    store: Store,
    stopped: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    match store {
        Store::Tgt(driver) => controller_loop(app, zone, Reconciler::new(driver), stopped).await,
        Store::Sim(driver) => controller_loop(app, zone, Reconciler::new(driver), stopped).await,
    }
}

async fn controller_loop<D: StorageDriver>(
    app: Arc<App>,
    zone: ZoneName,
    mut reconciler: Reconciler<D>,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let source = format!("storage:{zone}");
    let mut last: Option<StorageView> = None;
    let mut last_full = tokio::time::Instant::now();
    loop {
        if *stopped.borrow() {
            return Ok(());
        }
        let view = app.storage_view(&zone);
        let moved = last.as_ref().is_none_or(|l| {
            l.volumes != view.volumes || l.deleting != view.deleting || l.snapshots != view.snapshots
        });
        if moved || last_full.elapsed() >= RECONCILE_EVERY {
            let wanted = wanted(&view);
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let applying = tokio::task::spawn_blocking(move || {
                let result = reconciler.apply(&wanted, &mut |report| {
                    let _ = tx.send(report);
                });
                (reconciler, result)
            });
            // Reports are recorded as they come (a snapshot's progress while it is taken).
            while let Some(report) = rx.recv().await {
                if let Some(command) = storage_command(&zone, report)
                    && let Err(e) =
                        record(&app, command, meta(&app, "storage-controller", source.clone())).await
                {
                    tracing::warn!(error = %e, "cannot record a storage report now (made again from the next view)");
                }
            }
            let (back, result) = applying.await?;
            reconciler = back;
            match result {
                Ok(cleanup) => {
                    if !cleanup.orphan_volumes.is_empty() || !cleanup.orphan_exports.is_empty() {
                        tracing::warn!(
                            volumes = ?cleanup.orphan_volumes,
                            exports = ?cleanup.orphan_exports,
                            "removed what the log does not name (left by a crash)"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the storage controller could not apply the log's view; trying again")
                }
            }
            last_full = tokio::time::Instant::now();
            last = Some(view.clone());
        }
        // Wait for the log to move on (or the next full pass).
        tokio::select! {
            _ = app.projections.wait_for(view.position + 1) => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stopped.changed() => {}
        }
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
                },
                attached: a.attached,
            })
            .collect(),
        detach: view.detach.iter().map(|(i, v)| (i.clone(), v.to_string())).collect(),
        instances: view.instances.clone(),
    }
}

fn node_command(node: &NodeId, report: node_executor::VolumeReport) -> Option<Command> {
    use node_executor::VolumeReport as R;
    let at = now();
    let of = |instance: InstanceId, volume: &str| {
        domain::VolumeId::parse(volume).ok().map(|volume| AttachmentReport {
            node: node.clone(),
            instance,
            volume,
            at,
        })
    };
    Some(match report {
        R::Attached { instance, volume } => Command::ReportVolumeAttached(of(instance, &volume)?),
        R::AttachFailed { instance, volume, reason } => {
            Command::ReportVolumeAttachFailed(AttachmentFailure { report: of(instance, &volume)?, reason })
        }
        R::Detached { instance, volume } => Command::ReportVolumeDetached(of(instance, &volume)?),
        R::DetachStuck { instance, volume, reason } => {
            tracing::warn!(%instance, %volume, %reason, "a guest did not let a volume go (tried again)");
            return None;
        }
    })
}

/// The embedded node's attachments: plugs in and unplugs volumes as the
/// node's view says, whenever the read models move.
pub async fn run_node_volumes(
    app: Arc<App>,
    node: NodeId,
    driver: Arc<dyn HypervisorDriver>,
    mut stopped: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let source = format!("node:{node}");
    let mut last: Option<NodeVolumes> = None;
    let mut last_full = tokio::time::Instant::now();
    loop {
        if *stopped.borrow() {
            return Ok(());
        }
        let view = app.node_volumes(&node);
        let moved = last.as_ref().is_none_or(|l| {
            l.attach != view.attach || l.detach != view.detach || l.instances != view.instances
        });
        if moved || last_full.elapsed() >= RECONCILE_EVERY {
            let wanted = wanted_volumes(&view);
            let driver = driver.clone();
            let (reports, result) = tokio::task::spawn_blocking(move || {
                let mut reports = Vec::new();
                let result = VolumeSync::new(&*driver).apply(&wanted, &mut |r| reports.push(r));
                (reports, result)
            })
            .await?;
            for report in reports {
                if let Some(command) = node_command(&node, report)
                    && let Err(e) = record(&app, command, meta(&app, "node-executor", source.clone())).await
                {
                    tracing::warn!(error = %e, "cannot record a volume report now (made again from the next view)");
                }
            }
            match result {
                Ok(removed) if !removed.is_empty() => {
                    tracing::warn!(?removed, "unplugged volume disks the log does not name (left by a crash)")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the node could not apply its volumes; trying again"),
            }
            last_full = tokio::time::Instant::now();
            last = Some(view.clone());
        }
        tokio::select! {
            _ = app.projections.wait_for(view.position + 1) => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stopped.changed() => {}
        }
    }
}

/// The deadline monitor: every few seconds, what outlived its deadline is
/// recorded as failed.
pub async fn run_monitor(app: Arc<App>, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stopped.changed() => {}
        }
        if *stopped.borrow() {
            return;
        }
        match app.expire_storage(now()).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(expired = n, "volumes or snapshots outlived their deadlines"),
            Err(e) => tracing::warn!(error = %e, "cannot expire volumes now"),
        }
    }
}
