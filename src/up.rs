//! `yukari up`: the whole cloud in one process: the event log, the read
//! models, the EC2 endpoint and one node executor for one cluster.
//!
//! Data directory layout:
//! - `events.redb`: the event log (the only source of truth)
//! - `master.key`: seals secrets in the log (keep it; back it up apart)
//! - `projections.snapshot`: read-model checkpoint (disposable)
//! - `snapshots/`: time-travel snapshots, the read models every
//!   `--time-travel-every` events (disposable; `yukari replay rebuild`
//!   writes them again)
//! - `eucarc`: the admin's credentials for clients
//! - `console-cert.pem`, `console-key.pem`: the web console's self-signed
//!   certificate and key, made on first start (unless `--tls-cert`)
//! - `console-cert.sha256`: the console certificate's SHA-256 fingerprint
//! - `console-password`: the cloud admin's first console password
//! - `consoles/`: the last console output (64 KiB) each node on another
//!   host pushed, one file per instance (kept an hour after termination)
//! - `storage/`: the zone's block storage with `--storage tgt`: `volumes/`
//!   (one sparse file per volume), `chunks/` (snapshots' content-addressed
//!   chunks), `tgtd.log`
//! - `node/`: the node's guests with `--hypervisor libvirt`: `instances/`
//!   (per-guest disk overlay and console log), `libvirt/` (the embedded
//!   libvirt QEMU driver's state)

mod console;
pub(crate) mod hypervisor;
pub(crate) mod images;
mod log;
pub(crate) mod network;
pub(crate) mod storage;

use crate::credentials::Endpoint;
use anyhow::Context;
use api::app::bootstrap::{BootstrapSpec, default_images, expand_addresses};
use api::app::{App, AppConfig, ConsoleSource, ExecuteError, RequestMeta};
use api::secrets::MasterKey;
use domain::command::NodeReport;
use domain::{Command, InstanceId, NodeId, Principal, Resources, ZoneName};
use eventlog::Health;
use node_executor::{DriverError, ExecutorConfig, HypervisorDriver, NodeExecutor, ReportError, Reporter};
use projections::{TimeTravel, TimeTravelPolicy};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Where the cloud keeps its event log, keys and credentials.
    #[arg(long, default_value = "yukari-data")]
    pub data_dir: PathBuf,
    /// Port of the EC2 Query API (and of S3 under /services/objectstorage).
    #[arg(long, default_value_t = 8773)]
    pub ec2_port: u16,
    /// Port of Walrus, the S3 API: path style, and virtual-hosted buckets
    /// (BUCKET.HOST) under localhost and --public-host
    #[arg(long, default_value_t = 8774)]
    pub s3_port: u16,
    /// Port of the web console (HTTPS; plain HTTP on it is sent to https)
    #[arg(long, default_value_t = 8443)]
    pub console_port: u16,
    #[command(flatten)]
    pub tls: console::TlsArgs,
    /// `libvirt` (real QEMU guests through libvirt's embedded driver in
    /// DATA_DIR/node/libvirt: no daemon), `libvirt:URI` (e.g.
    /// `libvirt:qemu:///system`) or `sim` (simulated guests, for tests and
    /// trying the API without QEMU).
    #[arg(long, default_value = "libvirt")]
    pub hypervisor: String,
    #[command(flatten)]
    pub libvirt: hypervisor::LibvirtArgs,
    #[command(flatten)]
    pub storage: crate::ebs::StorageArgs,
    /// iSCSI targets ask each attachment for a CHAP secret as well as its
    /// initiator name. Its nodes must reach libvirt through a daemon
    /// (`--hypervisor libvirt:qemu:///system`): the embedded driver cannot
    /// read libvirt secrets
    #[arg(long)]
    pub iscsi_chap: bool,
    /// Address to listen on; 0.0.0.0 to serve other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Host name clients use to reach this cloud, written into eucarc
    /// (default: the --bind address, or 127.0.0.1 for 0.0.0.0).
    #[arg(long)]
    pub public_host: Option<String>,
    /// Simulated hypervisor: milliseconds from start until a guest is up.
    #[arg(long, default_value_t = 500)]
    pub sim_boot_ms: u64,
    /// StopInstances without `--force`: seconds a guest has to shut down
    /// (on its ACPI power button) before it is powered off hard.
    #[arg(long, default_value_t = 60)]
    pub stop_timeout_secs: u64,
    /// CPUs of the node registered on first start.
    #[arg(long, default_value_t = 64)]
    pub node_cpus: u32,
    /// Memory (MiB) of the node registered on first start.
    #[arg(long, default_value_t = 64 * 1024)]
    pub node_memory_mib: u64,
    /// Disk (GiB) of the node registered on first start.
    #[arg(long, default_value_t = 2048)]
    pub node_disk_gib: u64,
    /// Private addresses of instances, set on first start (CIDR).
    #[arg(long, default_value = "10.111.0.0/16")]
    pub private_network: String,
    /// Public addresses for instances and elastic IPs, set on first start:
    /// addresses, ranges (`a-b`) and CIDR blocks, comma-separated. The
    /// default is a documentation range: give your own real ones.
    #[arg(long, default_value = "198.51.100.0/24")]
    pub public_addresses: String,
    /// Write a time-travel snapshot of the read models into DATA_DIR/snapshots every this many events
    /// (0: none). They make `yukari replay state --at` and the admin's AsOf answers fast
    #[arg(long, default_value_t = 100_000)]
    pub time_travel_every: u64,
    /// Time-travel snapshots kept at most; beyond, those closest to their neighbours are deleted
    #[arg(long, default_value_t = 128)]
    pub time_travel_keep: usize,
    /// Seconds without a heartbeat after which a node on another host is
    /// marked unreachable (its instances impaired, nothing new placed on it).
    #[arg(long, default_value_t = 30)]
    pub node_timeout_secs: u64,
    #[command(flatten)]
    pub connections: crate::listen::ConnectionArgs,
    /// Start read-only, even on a damaged event log: reads are served (the
    /// cloud as far as the log can be read) and every change is refused
    /// (503), until the log is salvaged (yukari replay salvage) and the
    /// controller started without this flag. The node is not driven
    /// meanwhile
    #[arg(long)]
    pub allow_damaged_log: bool,
}

/// Forwards the embedded node executor's reports to the application layer.
struct LocalReporter(Arc<App>);

impl Reporter for LocalReporter {
    fn report(
        &self,
        report: NodeReport,
    ) -> Pin<Box<dyn Future<Output = Result<(), ReportError>> + Send + '_>> {
        Box::pin(async move {
            let meta = RequestMeta {
                principal: Principal::system("node-executor"),
                request_id: self.0.ids.request_id(),
                correlation_id: report.instance.to_string(),
                source: format!("node:{}", report.node),
            };
            match self.0.execute(Command::from(report), &meta).await {
                Ok(_) => Ok(()),
                Err(ExecuteError::Refused(e)) => Err(ReportError::Refused(e.to_string())),
                Err(e) => Err(ReportError::Unavailable(e.to_string())),
            }
        })
    }
}

/// Console output from the embedded node's hypervisor.
struct EmbeddedConsoles {
    node: NodeId,
    driver: Arc<dyn HypervisorDriver>,
}

impl ConsoleSource for EmbeddedConsoles {
    fn console_output(&self, node: &NodeId, instance: &InstanceId) -> Result<Option<Vec<u8>>, String> {
        if node != &self.node {
            return Ok(None);
        }
        match self.driver.console_output(instance) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(DriverError::NoSuchGuest(_)) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

fn public_host(args: &UpArgs) -> String {
    match &args.public_host {
        Some(h) => h.clone(),
        None if args.bind.is_unspecified() => "127.0.0.1".to_owned(),
        None => args.bind.to_string(),
    }
}

pub(crate) async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate => {},
    }
}

pub async fn run(args: UpArgs) -> anyhow::Result<()> {
    let choice = hypervisor::Hypervisor::parse(&args.hypervisor)?;
    let limits = args.connections.limits(crate::listen::raise_file_limit());
    let dir = &args.data_dir;
    crate::data_dir::create(dir)?;
    let asked_network = args.libvirt.network()?;
    let master_key = MasterKey::load_or_create(&dir.join("master.key"))?;
    let tokens = api::metadata::MetadataTokens::new(&master_key);
    let metadata_token = Arc::new(move |id: &InstanceId| tokens.token(id));
    let (log, projections) = log::open_log(dir, args.allow_damaged_log)?;
    // After the log is open: its file exists, made by redb with the umask's mode.
    crate::data_dir::tighten(dir)?;
    // With --allow-damaged-log: nothing is written and the node is not driven.
    let read_only = args.allow_damaged_log;
    projections.keep_time_travel(TimeTravelPolicy {
        store: TimeTravel::in_data_dir(dir),
        every: args.time_travel_every,
        keep: args.time_travel_keep,
    });
    // Guest networking needs the private network: the log's once set (on
    // the first start), else the one asked for. Bridge mode makes the
    // bridge now, before any guest.
    let (guest_network, bridge) = match choice {
        hypervisor::Hypervisor::Sim => (asked_network, None),
        hypervisor::Hypervisor::Libvirt(_) => {
            let cidr = match projections.read().cloud.initialized_at {
                Some(_) => projections.read().network.private_cidr.clone(),
                None => args.private_network.clone(),
            };
            tokio::task::block_in_place(|| network::prepare(asked_network, &cidr, args.libvirt.metadata_port))
        }
    };
    // Connecting to libvirt blocks (the first start of the embedded driver
    // probes QEMU for seconds).
    let hypervisor::NodeDriver { driver, poll_interval, images } = tokio::task::block_in_place(|| {
        hypervisor::driver(
            &choice,
            &args.libvirt,
            dir,
            &format!("http://10.0.2.2:{}", args.ec2_port),
            metadata_token,
            args.sim_boot_ms,
            hypervisor::GuestNetworking {
                network: guest_network,
                addressing: bridge.as_ref().map(network::Bridge::addressing),
            },
        )
    })?;

    let host = public_host(&args);
    // The console's certificate first: a bad --tls-cert stops the start
    // before anything is served.
    let (tls, fingerprint) = console::tls(dir, &args.tls, &[host.clone(), args.bind.to_string()])?;
    let config = AppConfig { ec2_url: format!("http://{host}:{}/", args.ec2_port) };
    let app = Arc::new(App::new(log.clone(), projections.clone(), master_key, config));
    // Console output pushed by nodes on other hosts outlives a restart.
    let consoles = dir.join("consoles");
    app.liveness
        .consoles
        .persist_in(consoles.clone())
        .with_context(|| say!("cannot create {}", "{} を作成できません", consoles.display()))?;

    let (stop, stopped) = watch::channel(false);
    // If the read models stop following the log (a record that does not
    // decode, a storage error), nothing acknowledged could be shown any
    // more; if the node executor stops, nothing placed on the node would
    // run or stop any more (it answered with a warning at shutdown before,
    // while the API kept accepting work): either way the controller stops,
    // and exits with the error, for its supervisor to see and restart it.
    let (fatal, fatal_seen) = watch::channel(None::<String>);
    let fatal = Arc::new(fatal);
    let follower = (!read_only).then(|| {
        let (projections, log, stopped, fatal) =
            (projections.clone(), log.clone(), stopped.clone(), fatal.clone());
        tokio::spawn(async move {
            let result = projections.follow(log, stopped).await;
            if let Err(e) = &result {
                tracing::error!(error = %e, "the read models stopped following the log; shutting down");
                fatal.send_replace(Some(say!(
                    "the read models stopped following the log: {e}",
                    "読み取りモデルがログに追随できなくなりました: {e}"
                )));
            }
            result
        })
    });

    // The whole log read once in the background, every record's checksum
    // and envelope checked: damage the start-up check cannot see (it reads
    // the tail only) stops the controller, naming the record and the
    // salvage command. (The embedded node executor used to find it by
    // scanning the log at every start; it now reads only its own
    // instances' records, through the stream index.)
    if !read_only {
        let (log, fatal) = (log.clone(), fatal.clone());
        tokio::task::spawn_blocking(move || match log.scan(1, |_| std::ops::ControlFlow::Continue(())) {
            Ok(last) => tracing::info!(records = last, "the event log was read through: no damage"),
            Err(e @ eventlog::ReadError::Corrupt { .. }) => {
                tracing::error!(error = %e, "the event log is damaged; shutting down");
                fatal.send_replace(Some(say!(
                    "reading the whole event log after the start found damage: {e}",
                    "起動後のイベントログ全体の読み取りで損傷が見つかりました: {e}"
                )));
            }
            // Closed at shutdown, or a storage error the log itself reports.
            Err(e) => tracing::warn!(error = %e, "the event log was not read through after the start"),
        });
    }

    let eucarc = dir.join("eucarc");
    // The cloud's RSA key and certificate: bundles' keys are sealed to it,
    // users' signing certificates are signed with it.
    let identity = Arc::new(bundle::CloudIdentity::load_or_create(dir).with_context(|| {
        say!(
            "cannot make or read the cloud's certificate in {}",
            "{} のクラウド証明書を作成・読み込みできません",
            dir.display()
        )
    })?);
    // Public, but every file of the data directory is private (tests/data_dir.rs).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let cert = dir.join(crate::credentials::CLOUD_CERT);
        if let Err(e) = std::fs::set_permissions(&cert, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(error = %e, path = %cert.display(), "cannot make the cloud's certificate private");
        }
    }
    // The admin's signing certificate and key, made now (the key is never stored).
    let admin_signing = |account: domain::AccountId| {
        let (app, identity) = (app.clone(), identity.clone());
        async move {
            match app.issue_signing_certificate(&identity, &account, &domain::UserName::admin()).await {
                Ok(issued) => Some(crate::credentials::Signing {
                    cloud_cert_pem: identity.cert_pem().to_owned(),
                    cert_pem: issued.certificate_pem,
                    key_pem: issued.private_key_pem,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "no signing certificate for the admin: eucarc will not name one");
                    None
                }
            }
        }
    };
    let initialized = projections.read().cloud.initialized_at.is_some();
    if !initialized {
        let spec = BootstrapSpec {
            region: "yukari".to_owned(),
            zone: ZoneName::parse("yukari-1a").expect("a valid zone name"),
            node_host: host.clone(),
            hypervisor: args.hypervisor.clone(),
            node_capacity: Resources {
                cpus: args.node_cpus,
                memory_mib: args.node_memory_mib,
                disk_gib: args.node_disk_gib,
            },
            private_cidr: args.private_network.clone(),
            public_addresses: expand_addresses(&args.public_addresses)
                .map_err(|e| anyhow::anyhow!(say!("--public-addresses: {e}", "--public-addresses: {e}")))?,
        };
        let key = app
            .bootstrap(spec)
            .await
            .with_context(|| say!("cannot initialize the cloud", "クラウドを初期化できません"))?;
        let endpoint = Endpoint {
            host: host.clone(),
            port: args.ec2_port,
            region: "yukari".to_owned(),
            s3_url: format!("http://{host}:{}/", args.s3_port),
        };
        let signing = admin_signing(key.account.clone()).await;
        crate::credentials::write(dir, "admin", &endpoint, &key, signing.as_ref())?;
        tracing::info!(account = %key.account, eucarc = %eucarc.display(), "new cloud initialized");
    } else if !eucarc.exists() {
        let key = app.admin_key().with_context(|| {
            say!(
                "the admin key does not open with this master key",
                "このマスターキーでは管理者の鍵を開けません"
            )
        })?;
        let region = projections.read().cloud.region.clone();
        let s3_url = format!("http://{host}:{}/", args.s3_port);
        let endpoint = Endpoint { host: host.clone(), port: args.ec2_port, region, s3_url };
        let signing = if read_only { None } else { admin_signing(key.account.clone()).await };
        crate::credentials::write(dir, "admin", &endpoint, &key, signing.as_ref())?;
        tracing::info!(eucarc = %eucarc.display(), "eucarc written again");
    }

    let password_file = if read_only { None } else { console::initial_password(&app, dir).await? };

    let (node, zone) =
        app.first_node().with_context(|| say!("the cloud has no node", "クラウドにノードがありません"))?;
    let zone_of_node = zone.clone();
    let node_driver = driver.clone();
    let _ = app.consoles.set(Arc::new(EmbeddedConsoles { node: node.clone(), driver: driver.clone() }));
    if let Some(cache) = &images {
        // Parts come through Walrus on the EC2 port, as a remote node's do.
        let reach = if args.bind.is_unspecified() { std::net::Ipv4Addr::LOCALHOST.into() } else { args.bind };
        let base = format!("http://{}", std::net::SocketAddr::new(reach, args.ec2_port));
        let manifests = images::Manifests::Local { app: app.clone(), node: node.clone(), base };
        cache.connect(Arc::new(images::WalrusImages::new(manifests)?));
    }
    let roots = Arc::new(node_executor::RootDisks::default());
    let executor = NodeExecutor::new(
        ExecutorConfig {
            node: node.clone(),
            zone,
            boot_timeout: Duration::from_secs(300),
            poll_interval,
            stop_timeout: Duration::from_secs(args.stop_timeout_secs),
        },
        driver,
        Arc::new(LocalReporter(app.clone())),
    )
    .with_root_disks(roots.clone());
    let executor = if read_only {
        tracing::warn!(node = %node, "the node is not driven while the controller runs read-only");
        None
    } else {
        let source = Box::new(controller_link::node_feed::LocalFeed::new(app.clone(), node.clone()));
        let (run, fatal, stopped) =
            (executor.run_from(source, stopped.clone()), fatal.clone(), stopped.clone());
        Some(tokio::spawn(async move {
            let result = run.await;
            if !*stopped.borrow() {
                let why = result.as_ref().err().map_or_else(|| "it ended".to_owned(), ToString::to_string);
                tracing::error!(error = %why, "the node executor stopped; shutting down");
                fatal.send_replace(Some(say!(
                    "the node executor stopped: {why}",
                    "ノード実行部が停止しました: {why}"
                )));
            }
            result
        }))
    };
    // Walrus (S3): object bytes in DATA_DIR/objects, served on its own
    // port and under /services/objectstorage of the EC2 port.
    let blobs = objectstore::BlobStore::open(dir.join("objects")).with_context(|| {
        say!(
            "cannot open the object store in {}",
            "{} のオブジェクトストアを開けません",
            dir.join("objects").display()
        )
    })?;
    // Block storage: the zone's storage controller, the embedded node's
    // attachments and the deadline monitor.
    app.storage_targets.chap.store(args.iscsi_chap, std::sync::atomic::Ordering::Relaxed);
    let mut storage_tasks = Vec::new();
    if !read_only {
        let simulated = matches!(choice, hypervisor::Hypervisor::Sim);
        // `auto` (the default) runs without volumes when tgtd cannot start
        // (not installed, its port taken), saying so; asked for, it must.
        // Snapshots go to Walrus's blob store.
        let walrus_chunks: Arc<dyn ::storage::Chunks> =
            Arc::new(::storage::BlobChunks::new(blobs.clone(), tokio::runtime::Handle::current()));
        let opened = match args.storage.open(dir, simulated, args.bind, &host, Some(walrus_chunks)) {
            Err(e) if args.storage.storage == "auto" => {
                tracing::error!(error = %format!("{e:#}"), "block storage is off: EBS volumes are refused until it runs");
                None
            }
            opened => opened?,
        };
        if let Some((store, target)) = opened {
            storage::configure(&app, &zone_of_node, args.storage.storage_gib, target).await?;
            let link = Arc::new(storage::LocalStorage { app: app.clone(), zone: zone_of_node.clone() });
            storage_tasks.push(tokio::spawn(crate::ebs::run_controller(link, store, stopped.clone())));
        }
        let link = Arc::new(storage::LocalNode { app: app.clone(), node: node.clone() });
        storage_tasks.push(tokio::spawn(controller_link::volume_sync::run_node_volumes(
            link,
            node_driver.clone(),
            roots,
            stopped.clone(),
        )));
        storage_tasks.push(tokio::spawn(storage::run_monitor(app.clone(), stopped.clone())));
    }
    // Nodes on other hosts (`yukari node`) heartbeat; the embedded one is
    // in this process.
    let monitor = (!read_only).then(|| {
        tokio::spawn(api::nodes::liveness::monitor(
            app.clone(),
            Duration::from_secs(args.node_timeout_secs.max(1)),
            Some(node.clone()),
            stopped.clone(),
        ))
    });
    let mut guest_net = None;
    if let Some(bridge) = &bridge {
        // The metadata service where guests' 169.254.169.254 is sent: the
        // bridge's address; the service knows guests by their address.
        match tokio::net::TcpListener::bind(SocketAddr::V4(bridge.metadata)).await {
            Ok(listener) => {
                let router = api::metadata::router(app.clone());
                let mut stopped = stopped.clone();
                tokio::spawn(api::serve::serve(listener, router, limits, async move {
                    let _ = stopped.wait_for(|s| *s).await;
                }));
            }
            Err(e) => bridge.metadata_unavailable(&e),
        }
        // The same view remote nodes get, from the read models in this
        // process (routes to other nodes' guests included).
        let source = network::LocalNetwork::new(app.clone(), node.clone());
        guest_net = Some(bridge.enforce(&node, Box::new(source), stopped.clone()));
    }

    // The console's listener before the EC2 endpoint's: once clients can
    // reach the API, the console answers too.
    let console_listener = console::bind(SocketAddr::new(args.bind, args.console_port)).await?;
    let mut virtual_hosts = vec!["localhost".to_owned()];
    if host.parse::<IpAddr>().is_err() && host != "localhost" {
        virtual_hosts.push(host.clone());
    }
    let region = projections.read().cloud.region.clone();
    let _ = app.images.set(api::app::images::ImageSupport { cloud: identity.clone(), blobs: blobs.clone() });
    let walrus = api::s3::Walrus::new(app.clone(), blobs, api::s3::WalrusConfig { region, virtual_hosts });
    let console_task = tokio::spawn(console::serve(
        app.clone(),
        walrus.clone(),
        console_listener,
        tls,
        limits,
        stopped.clone(),
    ));
    let s3_address = SocketAddr::new(args.bind, args.s3_port);
    let s3_listener = tokio::net::TcpListener::bind(s3_address)
        .await
        .with_context(|| say!("cannot listen on {s3_address}", "{s3_address} で待ち受けられません"))?;
    let s3_task = tokio::spawn(api::s3::serve(walrus.clone(), s3_listener, limits, stopped.clone()));
    if !read_only {
        tokio::spawn(walrus.clone().run_garbage_collection(stopped.clone()));
    }
    let address = SocketAddr::new(args.bind, args.ec2_port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| say!("cannot listen on {address}", "{address} で待ち受けられません"))?;
    let (emi, _, _) = default_images();
    tracing::info!(
        ec2 = %format!("http://{host}:{}/", args.ec2_port),
        node = %node,
        default_image = %emi,
        max_connections = limits.max_connections,
        "Yukari is up; `. {}` to use it",
        eucarc.display()
    );
    tracing::info!(s3 = %format!("http://{host}:{}/", args.s3_port), "Walrus (S3)");
    tracing::info!(
        console = %format!("https://{host}:{}/", args.console_port),
        certificate_sha256 = %fingerprint,
        fingerprint_file = %dir.join(console::FINGERPRINT_FILE).display(),
        "web console"
    );
    if let Some(path) = &password_file {
        tracing::info!(
            account = "admin",
            user = "admin",
            password_file = %path.display(),
            "the cloud administrator's first console password"
        );
    }
    let router = api::app(app.clone()).merge(walrus.prefixed_router());
    let mut fatal_seen = fatal_seen;
    let mut fatal_wait = fatal_seen.clone();
    let stop_when = async move {
        tokio::select! {
            _ = shutdown_signal() => {},
            _ = fatal_wait.wait_for(|f| f.is_some()) => {},
        }
    };
    api::serve::serve(listener, router, limits, stop_when).await;

    tracing::info!("shutting down");
    stop.send_replace(true);
    if let Err(e) = s3_task.await {
        tracing::warn!(error = %e, "Walrus stopped with an error");
    }
    if let Err(e) = console_task.await {
        tracing::warn!(error = %e, "the web console stopped with an error");
    }
    if let Some(executor) = executor
        && let Err(e) = executor.await?
    {
        tracing::error!(error = %e, "node executor stopped with an error");
    }
    if let Some(task) = guest_net
        && let Err(e) = task.await?
    {
        tracing::warn!(error = %e, "guest networking stopped with an error");
    }
    if let Some(monitor) = monitor {
        let _ = monitor.await;
    }
    for task in storage_tasks {
        if let Err(e) = task.await {
            tracing::warn!(error = %e, "block storage stopped with an error");
        }
    }
    let followed = match follower {
        Some(follower) => follower.await?,
        None => Ok(()),
    };
    let health = log.health();
    log.close();
    let stopped_by = fatal_seen.borrow_and_update().clone();
    if let Some(why) = stopped_by {
        if let Health::Damaged(damage) = health {
            anyhow::bail!("{why}; {}", log::damaged(dir, &damage));
        }
        anyhow::bail!(why);
    }
    followed?;
    tracing::info!("stopped cleanly");
    Ok(())
}
