//! `yukari storage --controller URL --cluster NAME --credentials EUCARC`:
//! a cluster's storage controller on a host of its own (Eucalyptus's SC):
//! volumes as sparse files in DATA_DIR/storage exported by the tgtd it
//! starts and owns, its view read from the controller and its reports
//! sent back over the storage protocol (api::storage), signed with the
//! cloud admin's key. Also the nodes' side of the same protocol
//! ([`HttpNodeVolumes`], used by `yukari node`).

use crate::ebs::{BoxFuture, NodeVolumesLink, StorageArgs, StorageLink};
use anyhow::{Context, bail};
use api::admin::client::AdminClient;
use api::app::volumes::{NodeDone, NodeVolumes, StorageDone, StorageTarget, StorageView};
use api::storage::StorageCredentials;
use domain::ZoneName;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use storage::ChunkId;
use tokio::sync::watch;

#[derive(clap::Args, Debug)]
pub struct StorageControllerArgs {
    /// The controller's EC2 endpoint, e.g. http://10.0.0.1:8773/
    #[arg(long)]
    pub controller: String,
    /// The cluster (availability zone) whose volumes this storage controller keeps
    #[arg(long)]
    pub cluster: String,
    /// First start only: the cloud admin's eucarc, proving the storage
    /// controller may join (it then gets a key of its own, kept in DATA_DIR)
    #[arg(long)]
    pub credentials: Option<PathBuf>,
    /// Where the storage controller keeps its volumes, snapshots and tgtd's log
    #[arg(long, default_value = "yukari-storage")]
    pub data_dir: PathBuf,
    /// Address the iSCSI portal listens on; 0.0.0.0 to serve other machines
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Host name or address nodes reach the iSCSI portal at [default: the --bind address]
    #[arg(long)]
    pub public_host: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// How long the controller may hold a view request open.
const WAIT_SECS: u64 = 5;

/// A storage controller's link to a controller on another host.
pub struct HttpStorage {
    client: AdminClient,
    zone: ZoneName,
    target: StorageTarget,
    capacity_gib: u64,
}

impl StorageLink for HttpStorage {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<StorageView>> {
        Box::pin(async move {
            let query = format!(
                "capacity_gib={}&have={have}&iqn_prefix={}&portal={}&wait={WAIT_SECS}&zone={}",
                self.capacity_gib,
                crate::node::form_urlencoded_value(&self.target.iqn_prefix),
                crate::node::form_urlencoded_value(&self.target.portal),
                crate::node::form_urlencoded_value(self.zone.as_str()),
            );
            let response = self.client.call("GET", "/storage/exports", &query, Vec::new()).await?;
            Ok(serde_json::from_slice(&response.bytes().await?)?)
        })
    }

    fn report(&self, done: StorageDone) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&[done])?;
            let query = format!("zone={}", crate::node::form_urlencoded_value(self.zone.as_str()));
            self.client.call("POST", "/storage/report", &query, body).await?;
            Ok(())
        })
    }
}

/// Snapshot chunks kept in the cloud's Walrus, sent to and read from the
/// controller (`/storage/chunks/ID`, signed with this storage controller's
/// key). Calls block on `runtime`: the storage controller makes them on
/// its blocking pool.
pub struct HttpChunks {
    client: AdminClient,
    zone: ZoneName,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for HttpChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HttpChunks({})", self.client.url())
    }
}

impl HttpChunks {
    fn call(&self, method: &str, id: &ChunkId, body: Vec<u8>) -> Result<Option<bytes::Bytes>, String> {
        let (path, query) = (
            format!("/storage/chunks/{id}"),
            format!("zone={}", crate::node::form_urlencoded_value(self.zone.as_str())),
        );
        self.runtime.block_on(async {
            match self.client.call(method, &path, &query, body).await {
                Ok(response) => response.bytes().await.map(Some).map_err(|e| e.to_string()),
                Err(api::admin::client::AdminClientError::Refused { status: 404, .. }) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

impl storage::Chunks for HttpChunks {
    fn put(&self, bytes: &[u8]) -> Result<(ChunkId, bool), storage::StorageError> {
        let id = ChunkId::of(bytes);
        if self.contains(&id) {
            return Ok((id, false));
        }
        self.call("PUT", &id, bytes.to_vec()).map_err(|e| {
            storage::StorageError::Io(format!("cannot send chunk {id} to the controller: {e}"))
        })?;
        Ok((id, true))
    }

    fn get(&self, id: &ChunkId) -> Result<Vec<u8>, storage::StorageError> {
        let bytes = self
            .call("GET", id, Vec::new())
            .map_err(|e| {
                storage::StorageError::Io(format!("cannot read chunk {id} from the controller: {e}"))
            })?
            .ok_or_else(|| {
                storage::StorageError::Corrupt(format!("chunk {id} is not in the object store"))
            })?;
        if ChunkId::of(&bytes) != *id {
            return Err(storage::StorageError::Corrupt(format!("chunk {id} does not match its content")));
        }
        Ok(bytes.to_vec())
    }

    fn contains(&self, id: &ChunkId) -> bool {
        matches!(self.call("HEAD", id, Vec::new()), Ok(Some(_)))
    }

    fn collectable(&self) -> Option<&storage::ChunkStore> {
        None
    }
}

/// A node's volumes from a controller on another host (signed with the
/// node's own key).
pub struct HttpNodeVolumes(pub AdminClient);

impl NodeVolumesLink for HttpNodeVolumes {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<NodeVolumes>> {
        Box::pin(async move {
            let query = format!("have={have}&wait={WAIT_SECS}");
            let response = self.0.call("GET", "/node/volumes", &query, Vec::new()).await?;
            Ok(serde_json::from_slice(&response.bytes().await?)?)
        })
    }

    fn report(&self, done: NodeDone) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&[done])?;
            self.0.call("POST", "/node/volume-report", "", body).await?;
            Ok(())
        })
    }
}

pub async fn run(args: StorageControllerArgs) -> anyhow::Result<()> {
    let zone = ZoneName::parse(&args.cluster)
        .map_err(|e| anyhow::anyhow!(say!("--cluster: {e}", "--cluster: {e}")))?;
    crate::data_dir::create(&args.data_dir)?;
    let host = match &args.public_host {
        Some(h) => h.clone(),
        None if args.bind.is_unspecified() => {
            bail!(say!(
                "with --bind 0.0.0.0, give --public-host: the address nodes reach this host at",
                "--bind 0.0.0.0 のときは --public-host (ノードがこのホストに届くアドレス) を指定してください"
            ))
        }
        None => args.bind.to_string(),
    };
    let creds = credentials(&args, &zone, &host).await?;
    let client = AdminClient::new(&args.controller, &creds.access_key, &creds.secret)?;
    // Snapshots go to the cloud's Walrus, through the controller.
    let chunks: Arc<dyn storage::Chunks> = Arc::new(HttpChunks {
        client: client.clone(),
        zone: zone.clone(),
        runtime: tokio::runtime::Handle::current(),
    });
    let Some((store, target)) = args.storage.open(&args.data_dir, false, args.bind, &host, Some(chunks))?
    else {
        bail!(say!("--storage none: nothing to serve", "--storage none: 提供するものがありません"));
    };
    let link = Arc::new(HttpStorage {
        client,
        zone: zone.clone(),
        target: target.clone(),
        capacity_gib: args.storage.storage_gib,
    });
    // The first view proves the controller, the credentials and the cluster.
    link.view(0).await.with_context(|| {
        say!(
            "cannot read the storage view of cluster {zone} from {}",
            "{} からクラスター {zone} のストレージの状態を読めません",
            args.controller
        )
    })?;
    tracing::info!(%zone, portal = %target.portal, controller = %args.controller, "storage controller starting");
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(crate::ebs::run_controller(link, store, stopped));
    crate::up::shutdown_signal().await;
    tracing::info!("shutting down");
    stop.send_replace(true);
    task.await?;
    Ok(())
}

const CREDENTIALS: &str = "storage-credentials.json";

/// This storage controller's own credentials: saved in DATA_DIR, or got
/// on first start by registering with the admin's eucarc.
async fn credentials(
    args: &StorageControllerArgs,
    zone: &ZoneName,
    host: &str,
) -> anyhow::Result<StorageCredentials> {
    let path = args.data_dir.join(CREDENTIALS);
    if let Ok(bytes) = std::fs::read(&path) {
        let saved: StorageCredentials = serde_json::from_slice(&bytes)
            .with_context(|| say!("{} is damaged", "{} が壊れています", path.display()))?;
        if saved.zone != zone.as_str() {
            bail!(say!(
                "this storage controller belongs to cluster {}, not {zone}",
                "このストレージコントローラーはクラスター {} のもので、{zone} のものではありません",
                saved.zone
            ));
        }
        return Ok(saved);
    }
    let Some(eucarc) = &args.credentials else {
        bail!(say!(
            "this storage controller is not registered yet: give the admin's eucarc with --credentials FILE",
            "このストレージコントローラーはまだ登録されていません: --credentials で管理者の eucarc を指定してください"
        ));
    };
    let (_, key, secret) = crate::cluster::admin_key(eucarc)?;
    let admin = AdminClient::new(&args.controller, &key, &secret)?;
    let query = format!(
        "host={}&zone={}",
        crate::node::form_urlencoded_value(host),
        crate::node::form_urlencoded_value(zone.as_str())
    );
    let response = admin
        .call("POST", "/admin/storage-controllers", &query, Vec::new())
        .await
        .with_context(|| say!("cannot register with {}", "{} に登録できません", args.controller))?;
    let creds: StorageCredentials = serde_json::from_slice(&response.bytes().await?)?;
    crate::data_dir::write_private(&path, &serde_json::to_vec_pretty(&creds)?)?;
    tracing::info!(%zone, access_key = %creds.access_key, "registered this storage controller");
    Ok(creds)
}
