//! Guest networking of `yukari up`: what `--guest-network bridge` needs
//! on this host, the bridge itself, and the embedded node's network view,
//! read in the process from the controller's read models with the very
//! resolution remote nodes get over HTTP (`api::nodes::network`, ADR 0008),
//! enforced as they enforce it (`controller_link::guest_network::node_view`).
//!
//! Bridge mode changes the host's network (a bridge, IPv4 forwarding, an
//! nftables table), so it is never the default. Where the host cannot
//! have it (not root, no `nft`, no `ip`, the bridge refused), `yukari up`
//! says what is missing, in the user's language, and runs with user-mode
//! networking instead: the cloud runs, guests boot and read their
//! metadata, but without addresses on the wire or enforced security
//! groups.

use api::app::App;
use controller_link::guest_network::node_view;
use domain::NodeId;
use node_executor::libvirt::{GuestAddressing, GuestNetwork};
use node_executor::net::{self, GuestSource, Missing, NetError, NodeView, PlanBase};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

/// Bridge mode, once the host is ready for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bridge {
    pub name: String,
    /// The private network and its prefix.
    pub net: Ipv4Addr,
    pub prefix: u8,
    /// The bridge's address: the network's first host.
    pub gateway: Ipv4Addr,
    /// Where the metadata service listens for guests.
    pub metadata: SocketAddrV4,
}

impl Bridge {
    /// The bridge for the private network `cidr` (as the log holds it).
    pub fn for_network(name: &str, cidr: &str, metadata_port: u16) -> Option<Bridge> {
        let (addr, prefix) = cidr.split_once('/')?;
        let prefix: u8 = prefix.parse().ok().filter(|p| (8..=29).contains(p))?;
        let net = net::rules::network_of(addr.parse().ok()?, prefix);
        let gateway = Ipv4Addr::from(u32::from(net) + 1);
        Some(Bridge {
            name: name.to_owned(),
            net,
            prefix,
            gateway,
            metadata: SocketAddrV4::new(gateway, metadata_port),
        })
    }

    pub fn addressing(&self) -> GuestAddressing {
        GuestAddressing { prefix: self.prefix, gateway: self.gateway }
    }

    pub fn plan_base(&self) -> PlanBase {
        PlanBase { bridge: self.name.clone(), private_net: (self.net, self.prefix), metadata: self.metadata }
    }

    /// Says that the guests' metadata service cannot listen on the bridge
    /// (bridge mode goes on without it).
    pub fn metadata_unavailable(&self, e: &std::io::Error) {
        let address = self.metadata;
        eprintln!(
            "yukari: {}",
            say!(
                "cannot listen on {address} for the guests' metadata service ({e}): guests will not \
                 read their metadata",
                "ゲスト向けメタデータサービスを {address} で待ち受けられません({e}): ゲストは\
                 メタデータを読めません"
            )
        );
    }

    /// The task that keeps `node`'s nftables table and routes equal to the
    /// views `source` hands over, until `stopped`.
    pub fn enforce(
        &self,
        node: &NodeId,
        source: Box<dyn GuestSource>,
        stopped: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<Result<(), NetError>> {
        let enforcer =
            net::GuestNetworking::new(node.clone(), self.plan_base(), Arc::new(net::Nft::new("nft")));
        tokio::spawn(enforcer.run_from(source, stopped))
    }
}

/// The network guests get: bridge mode if asked for and possible (the
/// bridge made), else what was asked for. When bridge mode was asked for
/// but is not possible, says why and falls back to user-mode networking.
pub fn prepare(asked: GuestNetwork, cidr: &str, metadata_port: u16) -> (GuestNetwork, Option<Bridge>) {
    prepare_with(asked, cidr, metadata_port, Path::new("nft"), Path::new("ip"))
}

/// [`prepare`] with the `nft` and `ip` programs to use.
fn prepare_with(
    asked: GuestNetwork,
    cidr: &str,
    metadata_port: u16,
    nft: &Path,
    ip: &Path,
) -> (GuestNetwork, Option<Bridge>) {
    let GuestNetwork::Bridge(name) = &asked else {
        if asked == GuestNetwork::User {
            tracing::info!(
                "guests use user-mode networking: security groups and public addresses are not \
                 enforced on the node (--guest-network bridge does, as root)"
            );
        }
        return (asked, None);
    };
    let Some(bridge) = Bridge::for_network(name, cidr, metadata_port) else {
        warn_fallback(&format!("the private network {cidr} is not an IPv4 block of /8 to /29"));
        return (GuestNetwork::User, None);
    };
    let mut missing = net::probe(nft, ip);
    if missing.is_empty()
        && let Err(e) = net::prepare_bridge(ip, &bridge.name, bridge.gateway, bridge.prefix)
    {
        missing.push(Missing::Bridge(e.to_string()));
    }
    if !missing.is_empty() {
        let what = missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        warn_fallback(&what);
        return (GuestNetwork::User, None);
    }
    tracing::info!(
        bridge = %bridge.name,
        gateway = %bridge.gateway,
        metadata = %bridge.metadata,
        "bridge mode: guests get their private addresses, NAT, the metadata service at \
         169.254.169.254 and their security groups (nftables table inet yukari)"
    );
    (asked, Some(bridge))
}

fn warn_fallback(missing: &str) {
    let message = say!(
        "--guest-network bridge needs what this host lacks: {missing}. Guests use user-mode networking \
         instead: they boot and read their metadata, but get no address on the host's network, no public \
         address, and their security groups are NOT enforced. Run as root with nftables and iproute2 \
         installed for bridge mode.",
        "--guest-network bridge に必要なものがこのホストにありません: {missing}。代わりにゲストはユーザー\
         モードネットワークを使います。起動してメタデータは読めますが、ホストのネットワーク上のアドレスも\
         パブリックアドレスもなく、セキュリティグループは適用されません。ブリッジモードには root 権限と\
         nftables、iproute2 が必要です。"
    );
    eprintln!("yukari: {message}");
    tracing::warn!(missing, "bridge mode is not possible here; guests use user-mode networking");
}

/// The embedded node's network view, from the controller's read models in
/// this process: computed again each time they move (shared with the
/// remote nodes' long polls at the same position), handed on when it
/// changed. No second replay of the log.
pub struct LocalNetwork {
    app: Arc<App>,
    node: NodeId,
    /// The read models' position of the last view computed.
    seen: Option<u64>,
    have: String,
}

impl LocalNetwork {
    pub fn new(app: Arc<App>, node: NodeId) -> Self {
        LocalNetwork { app, node, seen: None, have: String::new() }
    }

    async fn next(&mut self) -> Result<NodeView, NetError> {
        loop {
            if let Some(seen) = self.seen {
                self.app
                    .projections
                    .wait_for(seen + 1)
                    .await
                    .map_err(|e| NetError::Stalled(e.to_string()))?;
            }
            let view = {
                let models = self.app.projections.read();
                self.app.network_views.view_of(&models, &self.node)
            };
            self.seen = Some(view.position);
            if view.version != self.have {
                self.have = view.version.clone();
                return Ok(node_view(&view));
            }
        }
    }
}

impl GuestSource for LocalNetwork {
    fn next_view(&mut self) -> Pin<Box<dyn Future<Output = Result<NodeView, NetError>> + Send + '_>> {
        Box::pin(self.next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use node_executor::net::{Allow, Peers, Traffic};

    #[test]
    fn the_bridge_takes_the_networks_first_address() {
        let b = Bridge::for_network("ykbr0", "10.111.0.0/16", 8775).unwrap();
        assert_eq!(b.gateway, Ipv4Addr::new(10, 111, 0, 1));
        assert_eq!(b.metadata.to_string(), "10.111.0.1:8775");
        assert_eq!(b.plan_base().private_net, (Ipv4Addr::new(10, 111, 0, 0), 16));
        assert_eq!(b.addressing().prefix, 16);
        let b = Bridge::for_network("ykbr0", "172.16.5.77/24", 80).unwrap();
        assert_eq!((b.net, b.gateway), (Ipv4Addr::new(172, 16, 5, 0), Ipv4Addr::new(172, 16, 5, 1)));
        assert_eq!(Bridge::for_network("ykbr0", "10.0.0.0/30", 80), None);
        assert_eq!(Bridge::for_network("ykbr0", "nonsense", 80), None);
    }

    #[test]
    fn without_nft_bridge_mode_falls_back_to_user_mode() {
        let asked = GuestNetwork::Bridge("ykbr-test".into());
        let missing = Path::new("/nonexistent/nft");
        assert_eq!(
            prepare_with(asked.clone(), "10.111.0.0/16", 8775, missing, Path::new("ip")),
            (GuestNetwork::User, None),
            "no bridge is made when a program is missing"
        );
        assert_eq!(
            prepare_with(asked, "10.0.0.0/30", 8775, missing, Path::new("ip")),
            (GuestNetwork::User, None)
        );
    }

    #[test]
    fn other_networks_are_left_as_asked() {
        assert_eq!(prepare(GuestNetwork::User, "10.111.0.0/16", 8775), (GuestNetwork::User, None));
        assert_eq!(prepare(GuestNetwork::None, "10.111.0.0/16", 8775), (GuestNetwork::None, None));
    }

    /// The embedded node's view comes from the read models in the process
    /// and wakes when they move: first the empty node, then its new guest
    /// with the default group's rule resolved.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_embedded_nodes_view_follows_the_read_models() {
        use api::app::bootstrap::{BootstrapSpec, default_images};
        use api::app::{AppConfig, RequestMeta};
        use domain::command::{Command, RunInstances};
        use domain::*;
        let dir = tempfile::tempdir().unwrap();
        let log = eventlog::EventLog::open(&dir.path().join("events.redb"), eventlog::LogOptions::default())
            .unwrap();
        let projections = projections::Projections::open(&log, None).unwrap();
        let master = api::secrets::MasterKey::load_or_create(&dir.path().join("master.key")).unwrap();
        let config = AppConfig { ec2_url: "http://localhost/".into() };
        let app = Arc::new(App::new(log.clone(), projections.clone(), master, config));
        let (_following, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(projections.clone().follow(log.clone(), stopped));
        let zone = ZoneName::parse("yukari-1a").unwrap();
        let spec = BootstrapSpec {
            region: "yukari".into(),
            zone: zone.clone(),
            node_host: "127.0.0.1".into(),
            hypervisor: "sim".into(),
            node_capacity: Resources { cpus: 8, memory_mib: 8192, disk_gib: 100 },
            private_cidr: "10.111.0.0/16".into(),
            public_addresses: Vec::new(),
        };
        app.bootstrap(spec).await.unwrap();
        let (node, _) = app.first_node().unwrap();
        let mut source = LocalNetwork::new(app.clone(), node);
        assert_eq!(source.next().await.unwrap(), NodeView::default());

        let account = app.projections.read().accounts.account_by_name("admin").map(|(a, _)| a.clone());
        let meta = RequestMeta {
            principal: Principal::system("test"),
            request_id: "r".into(),
            correlation_id: "r".into(),
            source: "test".into(),
        };
        let id = app.ids.instance();
        let run = RunInstances::one(
            account.unwrap(),
            app.ids.reservation(),
            id.clone(),
            default_images().0,
            "m1.small",
            zone,
            Timestamp(1),
        );
        app.execute(Command::RunInstances(run), &meta).await.unwrap();
        let view = source.next().await.unwrap();
        assert_eq!(view.guests.len(), 1, "{view:?}");
        let guest = &view.guests[0];
        assert_eq!(guest.instance, id);
        assert_eq!(
            guest.ingress,
            vec![Allow { traffic: Traffic::All, peers: Peers::Addresses(vec![guest.private]) }],
            "the default group lets its members in"
        );
        assert!(view.routes.is_empty(), "the only node has no route to take");
    }
}
