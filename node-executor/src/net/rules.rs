//! The node's nftables ruleset, generated from what the log says about the
//! guests of this node: the metadata service's DNAT, outbound NAT, public
//! addresses (DNAT in, SNAT out, except towards the private network: other
//! nodes' guests are reached by private address) and security groups (one ingress and one
//! egress chain per guest). Pure: a [`NetPlan`] in, the text for `nft -f`
//! out, so every rule is tested by reading it.
//!
//! All of it lives in one table, `inet yukari`, replaced as a whole in one
//! `nft -f` transaction (create, delete, define again), so a change is
//! atomic and nothing of another table is touched. With no guest on the
//! node the table is deleted.
//!
//! Filtering happens on the forward hook: traffic between the outside and
//! a guest, and between guests (their bridge ports are isolated, so even
//! two guests of one node talk through the host and its rules). Allowed
//! traffic `return`s from a guest's chain, so a packet from one guest to
//! another passes the sender's egress and then the receiver's ingress.

use domain::InstanceId;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The table Yukari owns (family and name).
pub const TABLE: &str = "inet yukari";

/// The well-known address of the instance metadata service.
pub const METADATA_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

/// Everything the node's table says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetPlan {
    /// The guests' bridge (its address is `gateway`).
    pub bridge: String,
    /// The private network (outbound NAT for it).
    pub private_net: (Ipv4Addr, u8),
    /// Where 169.254.169.254:80 is sent: the metadata listener.
    pub metadata: SocketAddrV4,
    /// The guests of this node, sorted by instance id.
    pub guests: Vec<GuestRules>,
}

/// One guest's addresses and what its security groups allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestRules {
    pub instance: InstanceId,
    pub private: Ipv4Addr,
    pub public: Option<Ipv4Addr>,
    /// Traffic allowed in (by source).
    pub ingress: Vec<Allow>,
    /// Traffic allowed out (by destination).
    pub egress: Vec<Allow>,
}

/// One allowed flow: a protocol and ports, to or from some peers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Allow {
    pub traffic: Traffic,
    pub peers: Peers,
}

/// Which packets: EC2's protocol and port range.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Traffic {
    /// Any protocol (`-1`).
    All,
    /// TCP or UDP destination ports `from..=to`.
    Tcp(u16, u16),
    Udp(u16, u16),
    /// ICMP type and code (`None`: all).
    Icmp(Option<u8>, Option<u8>),
}

impl Traffic {
    /// EC2's protocol and ports as stored in rules; `None` for what this
    /// node cannot express (unknown protocols, ports out of range).
    pub fn from_rule(protocol: &str, from: i32, to: i32) -> Option<Traffic> {
        let port = |p: i32| u16::try_from(p).ok();
        let icmp = |v: i32| if v == -1 { Some(None) } else { u8::try_from(v).ok().map(Some) };
        match protocol {
            "-1" => Some(Traffic::All),
            "tcp" => Some(Traffic::Tcp(port(from)?, port(to)?)).filter(|_| from <= to),
            "udp" => Some(Traffic::Udp(port(from)?, port(to)?)).filter(|_| from <= to),
            "icmp" => Some(Traffic::Icmp(icmp(from)?, icmp(to)?)),
            _ => None,
        }
    }

    /// The nft match for this traffic ("" for all of it).
    fn matcher(&self) -> String {
        let ports = |proto: &str, from: u16, to: u16| match (from, to) {
            (0, 65535) => format!("meta l4proto {proto} "),
            (a, b) if a == b => format!("{proto} dport {a} "),
            (a, b) => format!("{proto} dport {a}-{b} "),
        };
        match self {
            Traffic::All => String::new(),
            Traffic::Tcp(a, b) => ports("tcp", *a, *b),
            Traffic::Udp(a, b) => ports("udp", *a, *b),
            Traffic::Icmp(None, _) => "meta l4proto icmp ".to_owned(),
            Traffic::Icmp(Some(t), None) => format!("icmp type {t} "),
            Traffic::Icmp(Some(t), Some(c)) => format!("icmp type {t} icmp code {c} "),
        }
    }
}

/// Who a rule is about: a CIDR block, or the addresses of a group's members.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peers {
    Cidr(Ipv4Addr, u8),
    /// Distinct addresses (a group's members); empty: nobody.
    Addresses(Vec<Ipv4Addr>),
}

impl Peers {
    /// A CIDR block as rules store it (`10.0.0.0/8`, or a bare address).
    pub fn cidr(text: &str) -> Option<Peers> {
        let (addr, len) = text.split_once('/').unwrap_or((text, "32"));
        let addr: Ipv4Addr = addr.parse().ok()?;
        let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
        Some(Peers::Cidr(network_of(addr, len), len))
    }

    /// `ip saddr X ` / `ip daddr X ` ("" for everyone, `None` for no one).
    fn matcher(&self, field: &str) -> Option<String> {
        match self {
            Peers::Cidr(_, 0) => Some(String::new()),
            Peers::Cidr(addr, 32) => Some(format!("ip {field} {addr} ")),
            Peers::Cidr(addr, len) => Some(format!("ip {field} {addr}/{len} ")),
            Peers::Addresses(list) if list.is_empty() => None,
            Peers::Addresses(list) if list.len() == 1 => Some(format!("ip {field} {} ", list[0])),
            Peers::Addresses(list) => {
                let list: Vec<String> = list.iter().map(Ipv4Addr::to_string).collect();
                Some(format!("ip {field} {{ {} }} ", list.join(", ")))
            }
        }
    }
}

/// The network address of `addr/len`.
pub fn network_of(addr: Ipv4Addr, len: u8) -> Ipv4Addr {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
    Ipv4Addr::from(u32::from(addr) & mask)
}

/// The names of a guest's chains.
fn chains(instance: &InstanceId) -> (String, String) {
    (format!("in-{instance}"), format!("out-{instance}"))
}

/// The text for `nft -f`: the whole table, or its removal when the node
/// has no guest. Applying it twice gives the same table.
pub fn ruleset(plan: &NetPlan) -> String {
    // Declaring the table first lets `delete` succeed when it is absent.
    let mut out = format!("table {TABLE}\ndelete table {TABLE}\n");
    if plan.guests.is_empty() {
        return out;
    }
    let w = &mut out;
    let br = quote(&plan.bridge);
    let (net, len) = plan.private_net;
    let _ = writeln!(w, "table {TABLE} {{");

    // NAT: the metadata service, public addresses in and out, the rest out.
    let _ =
        writeln!(w, "  chain prerouting {{\n    type nat hook prerouting priority dstnat; policy accept;");
    let _ =
        writeln!(w, "    iifname {br} ip daddr {METADATA_ADDRESS} tcp dport 80 dnat ip to {}", plan.metadata);
    for g in &plan.guests {
        if let Some(public) = g.public {
            let _ = writeln!(w, "    ip daddr {public} dnat ip to {}", g.private);
        }
    }
    let _ = writeln!(w, "  }}");
    let _ = writeln!(w, "  chain output {{\n    type nat hook output priority -100; policy accept;");
    for g in &plan.guests {
        if let Some(public) = g.public {
            let _ = writeln!(w, "    ip daddr {public} dnat ip to {}", g.private);
        }
    }
    let _ = writeln!(w, "  }}");
    let _ =
        writeln!(w, "  chain postrouting {{\n    type nat hook postrouting priority srcnat; policy accept;");
    for g in &plan.guests {
        if let Some(public) = g.public {
            let _ = writeln!(
                w,
                "    ip saddr {} ip daddr != {net}/{len} oifname != {br} snat ip to {public}",
                g.private
            );
        }
    }
    let _ = writeln!(w, "    ip saddr {net}/{len} ip daddr != {net}/{len} oifname != {br} masquerade");
    let _ = writeln!(w, "  }}");

    // Filtering: established flows pass; guests send only from their own
    // address; then the sender's egress and the receiver's ingress.
    let privates: Vec<String> = plan.guests.iter().map(|g| g.private.to_string()).collect();
    let _ = writeln!(w, "  chain forward {{\n    type filter hook forward priority filter; policy accept;");
    let _ = writeln!(w, "    ct state established,related accept");
    let _ = writeln!(w, "    ct state invalid drop");
    let _ = writeln!(w, "    iifname {br} ip saddr != {{ {} }} drop", privates.join(", "));
    let jumps = |chain: fn(&InstanceId) -> String| -> Vec<String> {
        plan.guests.iter().map(|g| format!("{} : jump {}", g.private, chain(&g.instance))).collect()
    };
    let _ = writeln!(w, "    ip saddr vmap {{ {} }}", jumps(|i| chains(i).1).join(", "));
    let _ = writeln!(w, "    ip daddr vmap {{ {} }}", jumps(|i| chains(i).0).join(", "));
    let _ = writeln!(w, "  }}");
    for g in &plan.guests {
        let (inbound, outbound) = chains(&g.instance);
        for (chain, field, allows) in [(inbound, "saddr", &g.ingress), (outbound, "daddr", &g.egress)] {
            let _ = writeln!(w, "  chain {chain} {{");
            for allow in allows {
                if let Some(peers) = allow.peers.matcher(field) {
                    let _ = writeln!(w, "    {peers}{}return", allow.traffic.matcher());
                }
            }
            let _ = writeln!(w, "    drop\n  }}");
        }
    }
    let _ = writeln!(w, "}}");
    out
}

/// An interface name as an nft string (names are checked when the bridge
/// is made; this keeps a stray quote from ending the string).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace(['"', '\\', '\n'], ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn guest(bits: u128, private: &str, public: Option<&str>) -> GuestRules {
        GuestRules {
            instance: InstanceId::from_bits(bits),
            private: ip(private),
            public: public.map(ip),
            ingress: Vec::new(),
            egress: vec![Allow { traffic: Traffic::All, peers: Peers::cidr("0.0.0.0/0").unwrap() }],
        }
    }

    fn plan(guests: Vec<GuestRules>) -> NetPlan {
        NetPlan {
            bridge: "ykbr0".into(),
            private_net: (ip("10.111.0.0"), 16),
            metadata: "10.111.0.1:8775".parse().unwrap(),
            guests,
        }
    }

    #[test]
    fn no_guest_no_table() {
        assert_eq!(ruleset(&plan(vec![])), "table inet yukari\ndelete table inet yukari\n");
    }

    #[test]
    fn one_guest_with_ssh_from_a_block_and_web_from_a_group() {
        let mut web = guest(0xa, "10.111.0.5", Some("198.51.100.7"));
        web.ingress = vec![
            Allow { traffic: Traffic::Tcp(22, 22), peers: Peers::cidr("192.0.2.0/24").unwrap() },
            Allow {
                traffic: Traffic::Tcp(8000, 8080),
                peers: Peers::Addresses(vec![ip("10.111.0.9"), ip("10.111.3.4")]),
            },
            Allow { traffic: Traffic::Icmp(Some(8), None), peers: Peers::cidr("0.0.0.0/0").unwrap() },
            // A group with no members yet allows nobody: no rule.
            Allow { traffic: Traffic::All, peers: Peers::Addresses(vec![]) },
        ];
        let text = ruleset(&plan(vec![web]));
        let expected = "\
table inet yukari
delete table inet yukari
table inet yukari {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname \"ykbr0\" ip daddr 169.254.169.254 tcp dport 80 dnat ip to 10.111.0.1:8775
    ip daddr 198.51.100.7 dnat ip to 10.111.0.5
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr 198.51.100.7 dnat ip to 10.111.0.5
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 10.111.0.5 ip daddr != 10.111.0.0/16 oifname != \"ykbr0\" snat ip to 198.51.100.7
    ip saddr 10.111.0.0/16 ip daddr != 10.111.0.0/16 oifname != \"ykbr0\" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    ct state invalid drop
    iifname \"ykbr0\" ip saddr != { 10.111.0.5 } drop
    ip saddr vmap { 10.111.0.5 : jump out-i-0000000000000000a }
    ip daddr vmap { 10.111.0.5 : jump in-i-0000000000000000a }
  }
  chain in-i-0000000000000000a {
    ip saddr 192.0.2.0/24 tcp dport 22 return
    ip saddr { 10.111.0.9, 10.111.3.4 } tcp dport 8000-8080 return
    icmp type 8 return
    drop
  }
  chain out-i-0000000000000000a {
    return
    drop
  }
}
";
        assert_eq!(text, expected, "got:\n{text}");
    }

    #[test]
    fn guests_without_public_addresses_have_no_public_nat() {
        let text =
            ruleset(&plan(vec![guest(1, "10.111.0.2", None), guest(2, "10.111.0.3", Some("198.51.100.9"))]));
        assert!(!text.contains("dnat ip to 10.111.0.2"), "{text}");
        assert!(text.contains("ip daddr 198.51.100.9 dnat ip to 10.111.0.3"), "{text}");
        assert!(text.contains("ip saddr != { 10.111.0.2, 10.111.0.3 } drop"), "{text}");
        assert!(
            text.contains(
                "ip daddr vmap { 10.111.0.2 : jump in-i-00000000000000001, 10.111.0.3 : jump in-i-00000000000000002 }"
            ),
            "{text}"
        );
        // No ingress rule at all: everything new from outside is dropped.
        assert!(text.contains("chain in-i-00000000000000001 {\n    drop\n  }"), "{text}");
    }

    #[test]
    fn ec2_protocols_and_ports_become_matches() {
        let m = |p: &str, a: i32, b: i32| Traffic::from_rule(p, a, b).map(|t| t.matcher());
        assert_eq!(m("-1", -1, -1).as_deref(), Some(""));
        assert_eq!(m("tcp", 22, 22).as_deref(), Some("tcp dport 22 "));
        assert_eq!(m("udp", 53, 54).as_deref(), Some("udp dport 53-54 "));
        assert_eq!(m("tcp", 0, 65535).as_deref(), Some("meta l4proto tcp "));
        assert_eq!(m("icmp", -1, -1).as_deref(), Some("meta l4proto icmp "));
        assert_eq!(m("icmp", 3, 4).as_deref(), Some("icmp type 3 icmp code 4 "));
        assert_eq!(m("tcp", 80, 22), None, "a reversed range is not a rule");
        assert_eq!(m("tcp", -1, 70000), None);
        assert_eq!(m("gre", 0, 0), None);
    }

    #[test]
    fn cidr_blocks_are_normalized_and_checked() {
        assert_eq!(Peers::cidr("10.1.2.3/8"), Some(Peers::Cidr(ip("10.0.0.0"), 8)));
        assert_eq!(Peers::cidr("10.1.2.3"), Some(Peers::Cidr(ip("10.1.2.3"), 32)));
        assert_eq!(Peers::cidr("10.1.2.3/33"), None);
        assert_eq!(Peers::cidr("10.1.2.3/8; flush ruleset"), None);
        assert_eq!(Peers::cidr("::/0"), None);
        assert_eq!(Peers::cidr("0.0.0.0/0").unwrap().matcher("saddr").as_deref(), Some(""));
    }

    #[test]
    fn bridge_names_cannot_break_out_of_their_string() {
        let mut p = plan(vec![guest(1, "10.111.0.2", None)]);
        p.bridge = "br\"; flush ruleset".into();
        assert!(ruleset(&p).contains("iifname \"br; flush ruleset\""));
    }
}
