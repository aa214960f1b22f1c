//! EBS in `yukari up`: the zone's storage controller and the embedded
//! node's attachments (`controller_link::volume_sync`) linked to the
//! application in the process, and the monitor of volume and snapshot
//! deadlines.

use anyhow::Context;
use api::app::volumes::{NodeDone, NodeVolumes, ReportRefused, StorageDone, StorageTarget, StorageView};
use api::app::{App, ids::now};
use controller_link::volume_sync::{BoxFuture, NodeVolumesLink, StorageLink};
use domain::{NodeId, ZoneName};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Longest a view waits for the log to move (then it is computed anyway).
const VIEW_WAIT: Duration = Duration::from_secs(2);

async fn moved_past(app: &App, have: u64) {
    if app.projections.read().position <= have {
        let _ = tokio::time::timeout(VIEW_WAIT, app.projections.wait_for(have + 1)).await;
    }
}

fn recorded(result: Result<(), ReportRefused>) -> anyhow::Result<()> {
    result.map_err(|e| anyhow::anyhow!(e.to_string()))
}

/// The zone's storage controller, in the process.
pub struct LocalStorage {
    pub app: Arc<App>,
    pub zone: ZoneName,
}

impl StorageLink for LocalStorage {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<StorageView>> {
        Box::pin(async move {
            self.app.storage_targets.heard(&self.zone);
            moved_past(&self.app, have).await;
            Ok(self.app.storage_view(&self.zone))
        })
    }

    fn report(&self, done: StorageDone) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { recorded(self.app.record_storage(&self.zone, done).await) })
    }

    fn alive(&self) -> BoxFuture<'_, anyhow::Result<()>> {
        self.app.storage_targets.heard(&self.zone);
        Box::pin(async { Ok(()) })
    }
}

/// The embedded node's volumes, in the process.
pub struct LocalNode {
    pub app: Arc<App>,
    pub node: NodeId,
}

impl NodeVolumesLink for LocalNode {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<NodeVolumes>> {
        Box::pin(async move {
            moved_past(&self.app, have).await;
            Ok(self.app.node_volumes(&self.node))
        })
    }

    fn report(&self, done: NodeDone) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { recorded(self.app.record_node_volume(&self.node, done).await) })
    }
}

/// Sets the zone's capacity, and where its targets are, for the views.
pub async fn configure(app: &App, zone: &ZoneName, gib: u64, target: StorageTarget) -> anyhow::Result<()> {
    app.storage_targets.set(zone.clone(), target);
    app.configure_storage(zone, gib)
        .await
        .with_context(|| say!("cannot configure block storage", "ブロックストレージを設定できません"))
}

/// The deadline monitor: every few seconds, what outlived its deadline is
/// recorded as failed, so nothing stays stuck.
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
