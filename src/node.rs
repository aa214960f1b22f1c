//! `yukari node`: a node executor on this host for a controller on another
//! (Eucalyptus's node controller), and `yukari node list` for the admin.
//!
//! First start: registers the node with the controller, proving the
//! administrator allowed it with the admin's eucarc (`--credentials`); the
//! controller answers the node's own credentials, kept in
//! `DATA_DIR/node-credentials.json` (mode 0600) and used from then on (the
//! admin's eucarc is not needed again and need not stay on the host).
//!
//! Registration converges: the node chooses its id and saves it
//! (`node-identity.json`, with the cluster) *before* it asks the
//! controller, and names it when it registers. A node that crashed between
//! the controller's answer and saving the credentials — or lost them —
//! registers again as the same node (the controller issues a new key and
//! the old one stops working) instead of joining twice.
//!
//! With `--guest-network bridge` the node keeps its guests' network (bridge,
//! NAT, security groups, metadata at 169.254.169.254) from the controller's
//! view of it (`controller_link::guest_network`,
//! docs/adr/0008-remote-guest-networking.md).
//!
//! The node's link to the controller (feed, reports, heartbeat, volumes,
//! network view, metadata forwarder) is `controller_link`; this is its
//! command line, registration and wiring.
//!
//! Data directory layout: `node-identity.json`, `node-credentials.json`,
//! and with `--hypervisor libvirt` the guests under `node/` as with
//! `yukari up`.

use crate::cluster::{admin_client, admin_key, required, zone_name};
use crate::up::hypervisor::{self, Hypervisor, LibvirtArgs};
use anyhow::{Context, bail};
use api::admin::client::{AdminClient, AdminClientError};
use api::nodes::wire::{NodeCredentials, NodeInfo};
use controller_link::{form_urlencoded_value, guest_network, node_feed};
use domain::{NodeId, ZoneName};
use node_executor::libvirt::GuestNetwork;
use node_executor::{ExecutorConfig, NodeExecutor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NodeArgs {
    #[command(subcommand)]
    pub command: Option<NodeCommand>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(clap::Subcommand, Debug)]
pub enum NodeCommand {
    /// List the cloud's nodes: cluster, host, state, last heartbeat, capacity.
    List {
        /// The cloud's data directory (its eucarc has the admin's key).
        #[arg(long, default_value = "yukari-data")]
        data_dir: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The controller's EC2 endpoint, e.g. http://10.0.0.1:8773/.
    #[arg(long)]
    pub controller: Option<String>,
    /// The cluster (availability zone) to join on first start.
    #[arg(long)]
    pub cluster: Option<String>,
    /// Where the node keeps its credentials and guests.
    #[arg(long, default_value = "yukari-node")]
    pub data_dir: PathBuf,
    /// First start only: the admin's eucarc, proving the node may join.
    #[arg(long)]
    pub credentials: Option<PathBuf>,
    /// `libvirt` (real QEMU guests through libvirt's embedded driver in
    /// DATA_DIR/node/libvirt), `libvirt:URI` or `sim` (simulated guests).
    #[arg(long, default_value = "libvirt")]
    pub hypervisor: String,
    #[command(flatten)]
    pub libvirt: LibvirtArgs,
    /// This host's address as the controller lists it [default: the host name].
    #[arg(long)]
    pub host: Option<String>,
    /// CPUs the node offers (registered on first start).
    #[arg(long, default_value_t = 64)]
    pub cpus: u32,
    /// Memory (MiB) the node offers (registered on first start).
    #[arg(long, default_value_t = 64 * 1024)]
    pub memory_mib: u64,
    /// Disk (GiB) the node offers (registered on first start).
    #[arg(long, default_value_t = 2048)]
    pub disk_gib: u64,
    /// Seconds between heartbeats.
    #[arg(long, default_value_t = 2)]
    pub heartbeat_secs: u64,
    /// Simulated hypervisor: milliseconds from start until a guest is up.
    #[arg(long, default_value_t = 500)]
    pub sim_boot_ms: u64,
    /// StopInstances without `--force`: seconds a guest has to shut down
    /// (on its ACPI power button) before it is powered off hard.
    #[arg(long, default_value_t = 60)]
    pub stop_timeout_secs: u64,
}

const CREDENTIALS: &str = "node-credentials.json";
const IDENTITY: &str = "node-identity.json";

/// The id this node chose for itself and the cluster it joins, saved
/// before the first registration is asked for.
#[derive(serde::Serialize, serde::Deserialize)]
struct Identity {
    node: String,
    cluster: String,
}

/// The node's credentials and the controller they are for.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    controller: String,
    #[serde(flatten)]
    credentials: NodeCredentials,
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The saved credentials, or new ones from registering with the controller.
async fn credentials(args: &RunArgs, controller: &str) -> anyhow::Result<NodeCredentials> {
    let path = args.data_dir.join(CREDENTIALS);
    if let Ok(text) = std::fs::read(&path) {
        let saved: Saved = serde_json::from_slice(&text).with_context(|| {
            say!("{} is not a node's credentials", "{} はノードの認証情報ではありません", path.display())
        })?;
        if let Some(cluster) = &args.cluster
            && cluster != &saved.credentials.zone
        {
            let joined = &saved.credentials.zone;
            bail!(say!(
                "this node already belongs to cluster {joined}, not {cluster} (its data directory is {})",
                "このノードはすでにクラスター {joined} に属しています({cluster} ではありません。データディレクトリ: {})",
                args.data_dir.display()
            ));
        }
        return Ok(saved.credentials);
    }
    let cluster = zone_name(required(&args.cluster, "--cluster")?)?;
    let node = identity(args, &cluster)?;
    let Some(eucarc) = &args.credentials else {
        bail!(say!(
            "this node is not registered yet: give the admin's eucarc with --credentials FILE to join the cloud",
            "このノードはまだ登録されていません: クラウドに参加するには --credentials で管理者の eucarc を指定してください"
        ));
    };
    let (_, key, secret) = admin_key(eucarc)?;
    let admin = AdminClient::new(controller, &key, &secret)?;
    let host = args.host.clone().unwrap_or_else(host_name);
    let host_q: String = form_urlencoded_value(&host);
    let hypervisor_q = form_urlencoded_value(&args.hypervisor);
    let query = format!(
        "zone={cluster}&host={host_q}&hypervisor={hypervisor_q}&cpus={}&memory_mib={}&disk_gib={}&node={node}",
        args.cpus, args.memory_mib, args.disk_gib
    );
    let answer = match admin.call("POST", "/admin/nodes", &query, Vec::new()).await {
        Ok(answer) => answer.bytes().await?,
        Err(e) => {
            // No such cluster: this id was never registered anywhere, so it
            // is not bound to that cluster (a mistyped --cluster can be
            // corrected).
            if matches!(e, AdminClientError::Refused { status: 404, .. }) {
                let _ = std::fs::remove_file(args.data_dir.join(IDENTITY));
            }
            return Err(anyhow::Error::new(e)
                .context(say!("cannot register this node", "このノードを登録できません")));
        }
    };
    let issued: NodeCredentials = serde_json::from_slice(&answer).with_context(|| {
        say!("the controller's answer has no credentials", "コントローラーの応答に認証情報がありません")
    })?;
    if issued.node != node.as_str() {
        bail!(say!(
            "the controller registered node {} instead of {node}",
            "コントローラーが {node} ではなくノード {} を登録しました",
            issued.node
        ));
    }
    let saved = Saved { controller: controller.to_owned(), credentials: issued.clone() };
    crate::data_dir::write_private(&path, &serde_json::to_vec_pretty(&saved)?)?;
    let (node, zone) = (&issued.node, &issued.zone);
    tracing::info!(%node, %zone, credentials = %path.display(), "node registered");
    Ok(issued)
}

/// This node's id: the one saved in `DATA_DIR/node-identity.json`, or a
/// new one saved there now, before the controller hears of it (so that a
/// crash anywhere after this point registers the same node again).
fn identity(args: &RunArgs, cluster: &ZoneName) -> anyhow::Result<NodeId> {
    let path = args.data_dir.join(IDENTITY);
    let saved = match std::fs::read(&path) {
        Ok(text) => Some(
            serde_json::from_slice::<Identity>(&text)
                .ok()
                .filter(|i| NodeId::parse(&i.node).is_ok())
                .with_context(|| {
                    say!("{} is not a node's identity", "{} はノードの識別情報ではありません", path.display())
                })?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| say!("cannot read {}", "{} を読めません", path.display())),
    };
    if let Some(saved) = saved {
        if saved.cluster != cluster.as_str() {
            let joined = &saved.cluster;
            bail!(say!(
                "this node already joins cluster {joined}, not {cluster} (its data directory is {})",
                "このノードはすでにクラスター {joined} に参加しています({cluster} ではありません。データディレクトリ: {})",
                args.data_dir.display()
            ));
        }
        return Ok(NodeId::parse(&saved.node)?);
    }
    let node = NodeId::from_bits(rand::random());
    let identity = Identity { node: node.to_string(), cluster: cluster.to_string() };
    crate::data_dir::write_private(&path, &serde_json::to_vec_pretty(&identity)?)?;
    Ok(node)
}

async fn run_node(args: RunArgs) -> anyhow::Result<()> {
    let controller = required(&args.controller, "--controller")?.to_owned();
    let choice = Hypervisor::parse(&args.hypervisor)?;
    // The guests' metadata listener (bridge mode) has the defaults.
    let limits = api::serve::Limits::for_file_limit(crate::listen::raise_file_limit());
    crate::data_dir::create(&args.data_dir)?;
    crate::data_dir::tighten(&args.data_dir)?;
    let creds = credentials(&args, &controller).await?;
    let node = NodeId::parse(&creds.node)?;
    let zone = ZoneName::parse(&creds.zone)?;
    let client = AdminClient::new(&controller, &creds.access_key, &creds.secret)?;
    // A guest reaches the controller's metadata service at the controller's
    // address, with a token only the controller can make (its master key):
    // asked for when the guest is defined (on the blocking pool).
    let metadata_base = client.url().to_owned();
    let token = {
        let (client, handle) = (client.clone(), tokio::runtime::Handle::current());
        Arc::new(move |id: &domain::InstanceId| handle.block_on(node_feed::metadata_token(&client, id)))
    };
    // Bridge mode: the bridge takes the cloud's private network, which the
    // controller's view of this node's network names.
    let asked = args.libvirt.network()?;
    let (network, bridge) = match (&choice, &asked) {
        (Hypervisor::Libvirt(_), GuestNetwork::Bridge(_)) => {
            // A controller not reachable yet (or not ready) is waited for,
            // as the feed does; refused credentials end the node.
            let view = tokio::select! {
                view = guest_network::view_retrying(&client, "", 0) => view.with_context(|| {
                    say!(
                        "cannot read this node's network from the controller",
                        "コントローラーからこのノードのネットワークを読めません"
                    )
                })?,
                _ = crate::up::shutdown_signal() => return Ok(()),
            };
            tokio::task::block_in_place(|| {
                crate::up::network::prepare(asked, &view.private_network, args.libvirt.metadata_port)
            })
        }
        _ => (asked, None),
    };
    let networking = hypervisor::GuestNetworking {
        network,
        addressing: bridge.as_ref().map(crate::up::network::Bridge::addressing),
    };
    let hypervisor::NodeDriver { driver, poll_interval, images } = tokio::task::block_in_place(|| {
        hypervisor::driver(
            &choice,
            &args.libvirt,
            &args.data_dir,
            &metadata_base,
            token,
            args.sim_boot_ms,
            networking,
        )
    })?;
    if let Some(cache) = &images {
        let source =
            crate::up::images::WalrusImages::new(crate::up::images::Manifests::Remote(client.clone()))?;
        cache.connect(Arc::new(source));
    }
    let (stop, stopped) = watch::channel(false);
    let beat = tokio::spawn(node_feed::heartbeat(
        client.clone(),
        driver.clone(),
        Duration::from_secs(args.heartbeat_secs.max(1)),
        stopped.clone(),
    ));
    let volume_driver = driver.clone();
    let roots = Arc::new(node_executor::RootDisks::default());
    let executor = NodeExecutor::new(
        ExecutorConfig {
            node: node.clone(),
            zone: zone.clone(),
            boot_timeout: Duration::from_secs(300),
            poll_interval,
            stop_timeout: Duration::from_secs(args.stop_timeout_secs),
        },
        driver,
        Arc::new(node_feed::HttpReporter(client.clone())),
    )
    .with_root_disks(roots.clone());
    let guest_net = match &bridge {
        Some(bridge) => Some(bridge_mode(bridge, &node, &client, limits, stopped.clone()).await),
        None => None,
    };
    tracing::info!(%node, %zone, controller = %controller, hypervisor = %args.hypervisor, "node executor starting");
    // The node's guests' EBS volumes, as the controller's view of them says.
    let volumes = tokio::spawn(controller_link::volume_sync::run_node_volumes(
        Arc::new(controller_link::storage_link::HttpNodeVolumes(client.clone())),
        volume_driver,
        roots,
        stopped.clone(),
    ));
    let mut executor = tokio::spawn(executor.run_from(Box::new(node_feed::RemoteFeed::new(client)), stopped));
    tokio::select! {
        _ = crate::up::shutdown_signal() => {
            tracing::info!("shutting down");
            stop.send_replace(true);
            let _ = beat.await;
            let _ = volumes.await;
            executor.await??;
            if let Some(task) = guest_net
                && let Err(e) = task.await?
            {
                tracing::warn!(error = %e, "guest networking stopped with an error");
            }
        }
        ended = &mut executor => {
            stop.send_replace(true);
            ended??;
            bail!(say!("the node executor stopped", "ノードエグゼキューターが停止しました"));
        }
    }
    Ok(())
}

/// Bridge mode's two tasks: the guests' metadata service on the bridge
/// (forwarding to the controller) and the nftables table, kept equal to
/// the controller's view of this node's network.
async fn bridge_mode(
    bridge: &crate::up::network::Bridge,
    node: &NodeId,
    client: &AdminClient,
    limits: api::serve::Limits,
    stopped: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Result<(), node_executor::net::NetError>> {
    let guests = guest_network::Guests::default();
    match tokio::net::TcpListener::bind(std::net::SocketAddr::V4(bridge.metadata)).await {
        Ok(listener) => {
            tokio::spawn(guest_network::serve_metadata(
                listener,
                limits,
                client.clone(),
                guests.clone(),
                stopped.clone(),
            ));
        }
        Err(e) => bridge.metadata_unavailable(&e),
    }
    let source = guest_network::ControllerNetwork::new(client.clone(), guests);
    bridge.enforce(node, Box::new(source), stopped)
}

fn when(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "-".to_owned() };
    let now = api::app::ids::now().0;
    let ago = (now - ms).max(0) / 1000;
    say!("{ago}s ago", "{ago} 秒前")
}

async fn list(data_dir: &Path) -> anyhow::Result<()> {
    let client = admin_client(&data_dir.join("eucarc"))?;
    let body = client.call("GET", "/admin/nodes", "", Vec::new()).await?.bytes().await?;
    let rows: Vec<NodeInfo> = serde_json::from_slice(&body).with_context(|| {
        say!("the controller's answer is not a node list", "コントローラーの応答がノード一覧ではありません")
    })?;
    let header = [
        say!("NODE", "ノード"),
        say!("CLUSTER", "クラスター"),
        say!("HOST", "ホスト"),
        say!("HYPERVISOR", "ハイパーバイザー"),
        say!("STATE", "状態"),
        say!("HEARTBEAT", "ハートビート"),
        say!("CPU USED/FREE", "CPU 使用/空き"),
        say!("MEMORY MiB USED/FREE", "メモリ MiB 使用/空き"),
        say!("INSTANCES", "インスタンス"),
    ];
    println!(
        "{:<22} {:<16} {:<16} {:<11} {:<12} {:<11} {:<13} {:<20} {}",
        header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7], header[8]
    );
    for r in rows {
        let state = match (r.reachable, r.embedded) {
            (true, true) => say!("embedded", "組み込み"),
            (true, false) => say!("reachable", "到達可能"),
            (false, _) => say!("unreachable", "到達不能"),
        };
        let free = |total: u64, used: u64| if r.reachable { total.saturating_sub(used) } else { 0 };
        println!(
            "{:<22} {:<16} {:<16} {:<11} {:<12} {:<11} {:>5}/{:<7} {:>9}/{:<10} {}",
            r.node,
            r.zone,
            r.host,
            r.hypervisor,
            state,
            if r.embedded { "-".to_owned() } else { when(r.last_heartbeat) },
            r.cpus_used,
            free(r.cpus.into(), r.cpus_used.into()),
            r.memory_mib_used,
            free(r.memory_mib, r.memory_mib_used),
            r.instances
        );
    }
    Ok(())
}

pub async fn run(args: NodeArgs) -> anyhow::Result<()> {
    match args.command {
        Some(NodeCommand::List { data_dir }) => list(&data_dir).await,
        None => run_node(args.run).await,
    }
}
