//! Guest networking of `yukari up`: what `--guest-network bridge` needs
//! on this host, the bridge itself, and the task that keeps the node's
//! nftables table equal to the log.
//!
//! Bridge mode changes the host's network (a bridge, IPv4 forwarding, an
//! nftables table), so it is never the default. Where the host cannot
//! have it (not root, no `nft`, no `ip`, the bridge refused), `yukari up`
//! says what is missing, in the user's language, and runs with user-mode
//! networking instead: the cloud runs, guests boot and read their
//! metadata, but without addresses on the wire or enforced security
//! groups.

use node_executor::libvirt::{GuestAddressing, GuestNetwork};
use node_executor::net::{self, Missing, PlanBase};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
