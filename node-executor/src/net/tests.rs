//! Guest networking from views: each view's ruleset and routes are
//! loaded once, sorted, and what failed to load is tried again without
//! waiting for the next view. (Which view a node gets is the controller's
//! business: api::nodes::network.)

use super::*;
use domain::InstanceId;
use std::net::Ipv4Addr;
use std::sync::Mutex;

fn here() -> NodeId {
    NodeId::from_bits(1)
}

fn base() -> PlanBase {
    PlanBase {
        bridge: "ykbr0".into(),
        private_net: (Ipv4Addr::new(10, 111, 0, 0), 16),
        metadata: "10.111.0.1:8775".parse().unwrap(),
    }
}

/// Remembers every ruleset and route list it was asked to load, and
/// refuses the first `fail_routes` route lists and `fail_rules` rulesets.
#[derive(Default)]
struct Recording {
    rulesets: Mutex<Vec<String>>,
    routes: Mutex<Vec<Vec<(Ipv4Addr, Ipv4Addr)>>>,
    fail_rules: Mutex<u32>,
    fail_routes: Mutex<u32>,
}

impl Firewall for Recording {
    fn apply(&self, ruleset: &str) -> Result<(), NetError> {
        self.rulesets.lock().unwrap().push(ruleset.to_owned());
        let mut fail = self.fail_rules.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return Err(NetError::Refused("refused by the test".into()));
        }
        Ok(())
    }

    fn routes(&self, wanted: &[(Ipv4Addr, Ipv4Addr)]) -> Result<(), NetError> {
        self.routes.lock().unwrap().push(wanted.to_vec());
        let mut fail = self.fail_routes.lock().unwrap();
        if *fail > 0 {
            *fail -= 1;
            return Err(NetError::Program { program: "ip".into(), reason: "refused by the test".into() });
        }
        Ok(())
    }
}

impl Recording {
    fn last(&self) -> String {
        self.rulesets.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Views handed over by the test, one per change.
struct Handed(tokio::sync::mpsc::UnboundedReceiver<NodeView>);

impl GuestSource for Handed {
    fn next_view(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<NodeView, NetError>> + Send + '_>> {
        Box::pin(async move {
            match self.0.recv().await {
                Some(view) => Ok(view),
                None => std::future::pending().await,
            }
        })
    }
}

fn guest(bits: u128, private: &str) -> GuestRules {
    GuestRules {
        instance: InstanceId::from_bits(bits),
        private: private.parse().unwrap(),
        public: None,
        ingress: vec![Allow { traffic: Traffic::Tcp(22, 22), peers: Peers::cidr("0.0.0.0/0").unwrap() }],
        egress: Vec::new(),
    }
}

fn route(address: &str, via: &str) -> (Ipv4Addr, Ipv4Addr) {
    (address.parse().unwrap(), via.parse().unwrap())
}

#[tokio::test]
async fn views_are_loaded_sorted_and_once_each() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let firewall = Arc::new(Recording::default());
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(
        GuestNetworking::new(here(), base(), firewall.clone()).run_from(Box::new(Handed(rx)), shutdown),
    );
    let routes = vec![route("10.111.0.9", "10.250.0.12"), route("10.111.0.8", "10.250.0.13")];
    tx.send(NodeView {
        guests: vec![guest(2, "10.111.0.3"), guest(1, "10.111.0.2")],
        routes: routes.clone(),
    })
    .unwrap();
    eventually("both guests", || {
        firewall.last().contains("ip daddr vmap { 10.111.0.2 : jump in-i-00000000000000001, 10.111.0.3 : jump in-i-00000000000000002 }")
    })
    .await;
    // The same view again, in another order: nothing to load.
    tx.send(NodeView {
        guests: vec![guest(1, "10.111.0.2"), guest(2, "10.111.0.3")],
        routes: routes.into_iter().rev().collect(),
    })
    .unwrap();
    tx.send(NodeView::default()).unwrap();
    eventually("the table removed", || firewall.last() == "table inet yukari\ndelete table inet yukari\n")
        .await;
    assert_eq!(firewall.rulesets.lock().unwrap().len(), 2, "one load per change");
    eventually("the routes removed", || firewall.routes.lock().unwrap().len() == 2).await;
    assert_eq!(
        *firewall.routes.lock().unwrap(),
        vec![vec![route("10.111.0.8", "10.250.0.13"), route("10.111.0.9", "10.250.0.12")], vec![]],
        "routes sorted, set once per change"
    );
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn failed_routes_and_rules_are_tried_again_without_a_new_view() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let firewall = Arc::new(Recording::default());
    *firewall.fail_routes.lock().unwrap() = 2;
    *firewall.fail_rules.lock().unwrap() = 1;
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(
        GuestNetworking::new(here(), base(), firewall.clone())
            .retry_every(std::time::Duration::from_millis(20))
            .run_from(Box::new(Handed(rx)), shutdown),
    );
    let routes = vec![route("10.111.0.9", "10.250.0.12")];
    tx.send(NodeView { guests: vec![guest(1, "10.111.0.2")], routes: routes.clone() }).unwrap();
    // One view only: the retries alone must get both through.
    eventually("the routes set on the third try", || firewall.routes.lock().unwrap().len() == 3).await;
    eventually("the ruleset loaded on the second try", || firewall.rulesets.lock().unwrap().len() == 2).await;
    assert_eq!(*firewall.routes.lock().unwrap(), vec![routes.clone(), routes.clone(), routes]);
    let rulesets = firewall.rulesets.lock().unwrap().clone();
    assert_eq!(rulesets[0], rulesets[1], "the same ruleset again");
    // Once both are in, nothing is loaded again until the view changes.
    tx.send(NodeView {
        guests: vec![guest(1, "10.111.0.2")],
        routes: vec![route("10.111.0.9", "10.250.0.12")],
    })
    .unwrap();
    tx.send(NodeView { guests: vec![guest(1, "10.111.0.2")], routes: vec![] }).unwrap();
    eventually("the route removed", || firewall.routes.lock().unwrap().len() == 4).await;
    assert_eq!(firewall.rulesets.lock().unwrap().len(), 2, "{rulesets:#?}");
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

/// Runs `args` inside the network namespace `ns`.
fn in_netns(ns: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Deletes the namespace when the test ends, passed or failed.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// The generated text is what the real nft accepts: loaded twice (the
/// second replaces the first) and then removed, inside a network
/// namespace of its own so the host's rules are never touched.
#[test]
fn the_ruleset_loads_into_nft_in_a_namespace() {
    let nft = std::process::Command::new("nft").arg("--version").output();
    if !crate::libvirt::running_as_root() || !nft.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: needs root and nft (scripts/test installs nftables)");
        return;
    }
    let ns = Netns(format!("yk-rules-{}", std::process::id()));
    let created = std::process::Command::new("ip").args(["netns", "add", &ns.0]).status().unwrap();
    assert!(created.success(), "ip netns add {}", ns.0);

    let from_web = Peers::Addresses(vec!["10.111.0.3".parse().unwrap(), "10.111.0.4".parse().unwrap()]);
    let db_in = vec![
        Allow { traffic: Traffic::Tcp(5432, 5433), peers: from_web },
        Allow {
            traffic: Traffic::from_rule("icmp", 8, 0).unwrap(),
            peers: Peers::cidr("10.0.0.0/8").unwrap(),
        },
    ];
    let mut web_in = db_in.clone();
    web_in.push(Allow { traffic: Traffic::Tcp(80, 80), peers: Peers::cidr("0.0.0.0/0").unwrap() });
    web_in.push(Allow { traffic: Traffic::Udp(0, 65535), peers: Peers::cidr("192.0.2.0/24").unwrap() });
    web_in.sort();
    let out_all = vec![Allow { traffic: Traffic::All, peers: Peers::cidr("0.0.0.0/0").unwrap() }];
    let plan = NetPlan {
        bridge: base().bridge,
        private_net: base().private_net,
        metadata: base().metadata,
        guests: vec![
            GuestRules {
                instance: InstanceId::from_bits(1),
                private: "10.111.0.2".parse().unwrap(),
                public: Some("198.51.100.2".parse().unwrap()),
                ingress: db_in,
                egress: out_all.clone(),
            },
            GuestRules {
                instance: InstanceId::from_bits(2),
                private: "10.111.0.3".parse().unwrap(),
                public: None,
                ingress: web_in,
                egress: out_all,
            },
        ],
    };
    let text = ruleset(&plan);
    for round in 1..=2 {
        let out = in_netns(&ns.0, &["nft", "-f", "-"], &text);
        assert!(out.status.success(), "round {round}: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    }
    let listed = in_netns(&ns.0, &["nft", "list", "table", "inet", "yukari"], "");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("ip saddr { 10.111.0.3, 10.111.0.4 } tcp dport 5432-5433 return"), "{listed}");
    assert!(listed.contains("dnat ip to 10.111.0.2"), "{listed}");

    let gone = ruleset(&NetPlan { guests: vec![], ..plan });
    let out = in_netns(&ns.0, &["nft", "-f", "-"], &gone);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = in_netns(&ns.0, &["nft", "list", "ruleset"], "");
    assert!(listed.stdout.is_empty(), "no table left: {}", String::from_utf8_lossy(&listed.stdout));
}
