//! Block storage settings (`yukari up`, `yukari storage`) and the store
//! they open: tgtd in DATA_DIR/storage, or simulated. The loops that apply
//! the controller's views to it, and to a node's guests' volumes, are in
//! `controller_link::volume_sync` (docs/adr/0013-block-storage.md).

use api::app::volumes::StorageTarget;
use controller_link::storage_link::import_chunks;
use controller_link::volume_sync::{self, StorageLink};
use std::path::Path;
use std::sync::Arc;
use storage::{TgtConfig, TgtDriver};
use tokio::sync::watch;

/// Block storage settings (`yukari up`, `yukari storage`).
#[derive(clap::Args, Debug)]
pub struct StorageArgs {
    /// EBS volumes: `tgt` (sparse files in DATA_DIR/storage exported over
    /// iSCSI by a tgtd Yukari starts and owns), `sim` (simulated, for
    /// tests; forgets its volumes when it stops), `none` (no block storage
    /// here), or `auto`: `sim` with `--hypervisor sim`, else `tgt`
    #[arg(long, default_value = "auto", value_parser = ["auto", "tgt", "sim", "none"])]
    pub storage: String,
    /// GiB of volumes the zone's storage controller offers (set at every start)
    #[arg(long, default_value_t = 100)]
    pub storage_gib: u64,
    /// The iSCSI portal's port, where nodes' QEMU attaches volumes
    #[arg(long, default_value_t = 3261)]
    pub iscsi_port: u16,
    /// The control channel of Yukari's own tgtd (/run/tgtd/socket.N, 0 to
    /// 32767), apart from any system tgtd [default: --iscsi-port]
    #[arg(long)]
    pub tgt_control_port: Option<u16>,
}

/// The store a storage controller runs, started.
pub enum Store {
    Tgt(TgtDriver),
    Sim(storage::SimStorage),
}

impl StorageArgs {
    /// The store asked for (`None`: no block storage), started, and where
    /// nodes reach it: tgtd listens on `bind`, nodes connect to `host`.
    /// `walrus`: the cloud's object store, where snapshots go (the
    /// storage controller of `yukari up`); `None` keeps them in
    /// `DIR/storage/chunks/` (a storage controller on a host of its own).
    pub fn open(
        &self,
        dir: &Path,
        simulated_guests: bool,
        bind: std::net::IpAddr,
        host: &str,
        walrus: Option<Arc<dyn storage::Chunks>>,
    ) -> anyhow::Result<Option<(Store, StorageTarget)>> {
        use anyhow::Context;
        let kind = match self.storage.as_str() {
            "auto" if simulated_guests => "sim",
            "auto" => "tgt",
            other => other,
        };
        let target = StorageTarget {
            portal: format!("{host}:{}", self.iscsi_port),
            iqn_prefix: storage::tgt::IQN_PREFIX.to_owned(),
        };
        match kind {
            "none" => Ok(None),
            "sim" => Ok(Some((Store::Sim(storage::SimStorage::new()), target))),
            _ => {
                let data = dir.join("storage");
                crate::data_dir::create(&data)?;
                let control = self.tgt_control_port.unwrap_or(self.iscsi_port);
                let config =
                    TgtConfig::new(control, format!("{bind}:{}", self.iscsi_port), data.join("tgtd.log"));
                let driver = tokio::task::block_in_place(|| TgtDriver::open(&data, config)).with_context(|| {
                    say!(
                        "cannot start the storage controller's iSCSI target (tgtd, Debian package tgt); \
                         --storage none runs without volumes",
                        "ストレージコントローラーの iSCSI ターゲット (tgtd、Debian パッケージ tgt) を起動できません。\
                         ボリュームなしで動かすには --storage none"
                    )
                })?;
                let driver = match walrus {
                    None => driver,
                    Some(walrus) => {
                        tokio::task::block_in_place(|| import_chunks(&data.join("chunks"), &*walrus))?;
                        driver.with_chunks(walrus)
                    }
                };
                Ok(Some((Store::Tgt(driver), target)))
            }
        }
    }
}

/// A storage controller on `store`: applies its zone's view whenever it
/// changes, until `stopped` ([`volume_sync::run_controller`]).
pub async fn run_controller(link: Arc<dyn StorageLink>, store: Store, stopped: watch::Receiver<bool>) {
    match store {
        Store::Tgt(driver) => volume_sync::run_controller(link, driver, stopped).await,
        Store::Sim(driver) => volume_sync::run_controller(link, driver, stopped).await,
    }
}
