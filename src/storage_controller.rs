//! `yukari storage --controller URL --cluster NAME --credentials EUCARC`:
//! a cluster's storage controller on a host of its own (Eucalyptus's SC):
//! volumes as sparse files in DATA_DIR/storage exported by the tgtd it
//! starts and owns, its view read from the controller and its reports
//! sent back over the storage protocol (api::storage), signed with its
//! own key (issued once on the cloud admin's signature, then kept in
//! DATA_DIR). The protocol's clients and the loop are in
//! `controller_link` (`storage_link`, `volume_sync`); this is their
//! command line, registration and wiring.

use crate::ebs::StorageArgs;
use anyhow::{Context, bail};
use api::admin::client::AdminClient;
use api::storage::StorageCredentials;
use controller_link::form_urlencoded_value;
use controller_link::storage_link::{HttpChunks, HttpStorage};
use controller_link::volume_sync::StorageLink;
use domain::ZoneName;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
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
    let query = format!("host={}&zone={}", form_urlencoded_value(host), form_urlencoded_value(zone.as_str()));
    let response = admin
        .call("POST", "/admin/storage-controllers", &query, Vec::new())
        .await
        .with_context(|| say!("cannot register with {}", "{} に登録できません", args.controller))?;
    let creds: StorageCredentials = serde_json::from_slice(&response.bytes().await?)?;
    crate::data_dir::write_private(&path, &serde_json::to_vec_pretty(&creds)?)?;
    tracing::info!(%zone, access_key = %creds.access_key, "registered this storage controller");
    Ok(creds)
}
