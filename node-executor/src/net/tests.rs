//! Guest networking from events: given the log, which ruleset a node
//! loads, and that it follows rule, address and membership changes live.

use super::*;
use domain::event::*;
use domain::*;
use eventlog::{EventLog, ExpectedVersion, LogOptions, Metadata, NewEvent, RecordedEvent, StreamAppend};
use std::net::Ipv4Addr;
use std::sync::Mutex;

fn here() -> NodeId {
    NodeId::from_bits(1)
}

fn elsewhere() -> NodeId {
    NodeId::from_bits(2)
}

fn account() -> AccountId {
    AccountId::from_bits(123_456_789_012)
}

fn base() -> PlanBase {
    PlanBase {
        bridge: "ykbr0".into(),
        private_net: (Ipv4Addr::new(10, 111, 0, 0), 16),
        metadata: "10.111.0.1:8775".parse().unwrap(),
    }
}

fn rule(protocol: &str, from: i32, to: i32, source: RuleSource) -> SecurityRule {
    SecurityRule { protocol: protocol.into(), from_port: from, to_port: to, source }
}

fn cidr(c: &str) -> RuleSource {
    RuleSource::Cidr(c.into())
}

/// The events of a new group with its ingress rules (and egress to anywhere).
fn group(bits: u128, ingress: Vec<SecurityRule>) -> (String, Vec<Event>) {
    let id = SecurityGroupId::from_bits(bits);
    let at = Timestamp(1);
    let mut events: Vec<Event> = vec![
        SecurityGroupCreated {
            group: id.clone(),
            account: account(),
            name: format!("g{bits}"),
            description: String::new(),
            at,
        }
        .into(),
        SecurityRulesAuthorized {
            direction: Direction::Egress,
            rules: vec![rule("-1", -1, -1, cidr("0.0.0.0/0"))],
            at,
        }
        .into(),
    ];
    if !ingress.is_empty() {
        events.push(SecurityRulesAuthorized { direction: Direction::Ingress, rules: ingress, at }.into());
    }
    (StreamId::security_group(&id).as_str().to_owned(), events)
}

/// The events of an instance launched on `node` in `groups`.
fn instance(
    bits: u128,
    node: &NodeId,
    groups: &[u128],
    private: &str,
    public: Option<&str>,
) -> (String, Vec<Event>) {
    let id = InstanceId::from_bits(bits);
    let at = Timestamp(2);
    let events: Vec<Event> = vec![
        InstanceRequested {
            instance: id.clone(),
            reservation: ReservationId::from_bits(bits),
            account: account(),
            image: ImageId::with_kind(ImageKind::Machine, 1),
            kernel: None,
            ramdisk: None,
            vm_type: VmType::eucalyptus_defaults()[0].clone(),
            launch_index: 0,
            user_data: Vec::new(),
            client_token: None,
            key_name: None,
            security_groups: groups.iter().map(|g| SecurityGroupId::from_bits(*g)).collect(),
            shutdown_behavior: ShutdownBehavior::Stop,
            disable_api_termination: false,
            at,
        }
        .into(),
        InstanceAddressed { private_address: private.into(), public_address: public.map(Into::into) }.into(),
        InstancePlaced { node: node.clone(), zone: ZoneName::parse("z").unwrap(), at }.into(),
    ];
    (StreamId::instance(&id).as_str().to_owned(), events)
}

fn fold(streams: &[(String, Vec<Event>)]) -> NetView {
    let mut view = NetView::new();
    let mut position = 0;
    for (stream, events) in streams {
        for event in events {
            position += 1;
            let recorded = RecordedEvent {
                position,
                stream: stream.clone(),
                version: position,
                event_type: event.type_name().into(),
                schema: event.schema(),
                recorded_at: 0,
                metadata: Metadata::default(),
                payload: event.encode(),
            };
            view.apply_ref(&recorded.as_envelope());
        }
    }
    view
}

#[test]
fn a_guest_gets_its_groups_rules_with_group_sources_resolved_across_nodes() {
    let (web, db) = (0x10, 0x20);
    let from_web = RuleSource::Group { account: account(), group: SecurityGroupId::from_bits(web) };
    let view = fold(&[
        group(web, vec![rule("tcp", 80, 80, cidr("0.0.0.0/0"))]),
        group(db, vec![rule("tcp", 5432, 5432, from_web), rule("icmp", -1, -1, cidr("10.0.0.0/8"))]),
        instance(1, &here(), &[db], "10.111.0.2", Some("198.51.100.2")),
        // Members of `web` on both nodes.
        instance(2, &here(), &[web], "10.111.0.3", None),
        instance(3, &elsewhere(), &[web], "10.111.0.4", None),
        // Not ours: no chain for it.
        instance(4, &elsewhere(), &[db], "10.111.0.5", None),
    ]);
    let plan = view.plan(&here(), &base());
    let ids: Vec<String> = plan.guests.iter().map(|g| g.instance.to_string()).collect();
    assert_eq!(ids, [InstanceId::from_bits(1).to_string(), InstanceId::from_bits(2).to_string()]);
    let text = ruleset(&plan);
    let db_in = format!("chain in-{} {{", InstanceId::from_bits(1));
    let chain = &text[text.find(&db_in).expect("the db guest's chain")..];
    let chain = &chain[..chain.find("  }").unwrap()];
    assert_eq!(
        chain.lines().skip(1).map(str::trim).collect::<Vec<_>>(),
        [
            "ip saddr { 10.111.0.3, 10.111.0.4 } tcp dport 5432 return",
            "ip saddr 10.0.0.0/8 meta l4proto icmp return",
            "drop"
        ],
        "{text}"
    );
    assert!(text.contains("ip daddr 198.51.100.2 dnat ip to 10.111.0.2"), "{text}");
    assert!(!text.contains("10.111.0.5"), "a guest of another node is not in this node's table: {text}");
}

#[test]
fn stopped_and_terminated_guests_leave_the_table() {
    let id = InstanceId::from_bits(1);
    let (stream, mut events) = instance(1, &here(), &[], "10.111.0.2", None);
    let view = fold(&[(stream.clone(), events.clone())]);
    assert_eq!(view.plan(&here(), &base()).guests.len(), 1);
    events.push(InstanceTerminationRequested { at: Timestamp(3) }.into());
    events.push(InstanceTerminated { reason: StateReason::user_terminated(), at: Timestamp(4) }.into());
    let view = fold(&[(stream, events)]);
    let plan = view.plan(&here(), &base());
    assert!(plan.guests.is_empty(), "{id} is gone: {plan:?}");
    assert_eq!(ruleset(&plan), "table inet yukari\ndelete table inet yukari\n");
}

/// Remembers every ruleset it was asked to load.
#[derive(Default)]
struct Recording(Mutex<Vec<String>>);

impl Firewall for Recording {
    fn apply(&self, ruleset: &str) -> Result<(), NetError> {
        self.0.lock().unwrap().push(ruleset.to_owned());
        Ok(())
    }
}

impl Recording {
    fn last(&self) -> String {
        self.0.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

async fn append(log: &EventLog, (stream, events): (String, Vec<Event>)) {
    let append = StreamAppend {
        stream,
        expected: ExpectedVersion::Any,
        events: events
            .iter()
            .map(|e| NewEvent { event_type: e.type_name().into(), schema: e.schema(), payload: e.encode() })
            .collect(),
    };
    log.append(Metadata::default(), vec![append]).await.unwrap();
}

async fn eventually(firewall: &Recording, what: &str, check: impl Fn(&str) -> bool) {
    for _ in 0..1000 {
        if check(&firewall.last()) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}; last ruleset:\n{}", firewall.last());
}

#[tokio::test]
async fn the_table_follows_rules_addresses_and_guests_live() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let sg = 0x10;
    append(&log, group(sg, vec![])).await;
    append(&log, instance(1, &here(), &[sg], "10.111.0.2", None)).await;

    let firewall = Arc::new(Recording::default());
    let (stop, shutdown) = watch::channel(false);
    let task =
        tokio::spawn(GuestNetworking::new(here(), base(), firewall.clone()).run(log.clone(), shutdown));
    let id = InstanceId::from_bits(1);
    eventually(&firewall, "the replayed guest's chain", |t| {
        t.contains(&format!("chain in-{id} {{\n    drop"))
    })
    .await;

    let group_stream = StreamId::security_group(&SecurityGroupId::from_bits(sg)).as_str().to_owned();
    let port = vec![rule("tcp", 8080, 8080, cidr("0.0.0.0/0"))];
    let authorized =
        SecurityRulesAuthorized { direction: Direction::Ingress, rules: port.clone(), at: Timestamp(5) };
    append(&log, (group_stream.clone(), vec![authorized.into()])).await;
    eventually(&firewall, "the new rule", |t| t.contains("tcp dport 8080 return")).await;

    let instance_stream = StreamId::instance(&id).as_str().to_owned();
    let moved = InstancePublicAddressChanged { public_address: Some("198.51.100.9".into()), elastic: None };
    append(&log, (instance_stream.clone(), vec![moved.into()])).await;
    eventually(&firewall, "the public address", |t| {
        t.contains("ip daddr 198.51.100.9 dnat ip to 10.111.0.2")
    })
    .await;

    let revoked = SecurityRulesRevoked { direction: Direction::Ingress, rules: port, at: Timestamp(6) };
    append(&log, (group_stream, vec![revoked.into()])).await;
    eventually(&firewall, "the rule revoked", |t| !t.contains("8080") && t.contains("198.51.100.9")).await;

    let ended: Vec<Event> = vec![
        InstanceTerminationRequested { at: Timestamp(7) }.into(),
        InstanceTerminated { reason: StateReason::user_terminated(), at: Timestamp(8) }.into(),
    ];
    append(&log, (instance_stream, ended)).await;
    eventually(&firewall, "the table removed", |t| t == "table inet yukari\ndelete table inet yukari\n")
        .await;

    // Each load differed from the one before: nothing loaded twice.
    let loads = firewall.0.lock().unwrap().clone();
    assert!(loads.windows(2).all(|w| w[0] != w[1]), "{loads:#?}");
    stop.send(true).unwrap();
    task.await.unwrap().unwrap();
}

/// Guests handed over by the test, one list per change.
struct Handed(tokio::sync::mpsc::UnboundedReceiver<Vec<GuestRules>>);

impl GuestSource for Handed {
    fn next_guests(
        &mut self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<GuestRules>, NetError>> + Send + '_>>
    {
        Box::pin(async move { Ok(self.0.recv().await.unwrap_or_default()) })
    }
}

#[tokio::test]
async fn guests_from_elsewhere_are_loaded_sorted_and_once_each() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let firewall = Arc::new(Recording::default());
    let (stop, shutdown) = watch::channel(false);
    let task = tokio::spawn(
        GuestNetworking::new(here(), base(), firewall.clone()).run_from(Box::new(Handed(rx)), shutdown),
    );
    let guest = |bits: u128, private: &str| GuestRules {
        instance: InstanceId::from_bits(bits),
        private: private.parse().unwrap(),
        public: None,
        ingress: vec![Allow { traffic: Traffic::Tcp(22, 22), peers: Peers::cidr("0.0.0.0/0").unwrap() }],
        egress: Vec::new(),
    };
    tx.send(vec![guest(2, "10.111.0.3"), guest(1, "10.111.0.2")]).unwrap();
    eventually(&firewall, "both guests", |t| {
        t.contains("ip daddr vmap { 10.111.0.2 : jump in-i-00000000000000001, 10.111.0.3 : jump in-i-00000000000000002 }")
    })
    .await;
    // The same guests again: nothing to load.
    tx.send(vec![guest(1, "10.111.0.2"), guest(2, "10.111.0.3")]).unwrap();
    tx.send(vec![]).unwrap();
    eventually(&firewall, "the table removed", |t| t == "table inet yukari\ndelete table inet yukari\n")
        .await;
    assert_eq!(firewall.0.lock().unwrap().len(), 2, "one load per change");
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

    let (web, db) = (0x10, 0x20);
    let from_web = RuleSource::Group { account: account(), group: SecurityGroupId::from_bits(web) };
    let view = fold(&[
        group(web, vec![rule("tcp", 80, 80, cidr("0.0.0.0/0")), rule("udp", 0, 65535, cidr("192.0.2.0/24"))]),
        group(db, vec![rule("tcp", 5432, 5433, from_web), rule("icmp", 8, 0, cidr("10.0.0.0/8"))]),
        instance(1, &here(), &[db], "10.111.0.2", Some("198.51.100.2")),
        instance(2, &here(), &[web, db], "10.111.0.3", None),
        instance(3, &elsewhere(), &[web], "10.111.0.4", None),
    ]);
    let text = ruleset(&view.plan(&here(), &base()));
    for round in 1..=2 {
        let out = in_netns(&ns.0, &["nft", "-f", "-"], &text);
        assert!(out.status.success(), "round {round}: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    }
    let listed = in_netns(&ns.0, &["nft", "list", "table", "inet", "yukari"], "");
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("ip saddr { 10.111.0.3, 10.111.0.4 } tcp dport 5432-5433 return"), "{listed}");
    assert!(listed.contains("dnat ip to 10.111.0.2"), "{listed}");

    let gone = ruleset(&NetPlan { guests: vec![], ..view.plan(&here(), &base()) });
    let out = in_netns(&ns.0, &["nft", "-f", "-"], &gone);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = in_netns(&ns.0, &["nft", "list", "ruleset"], "");
    assert!(listed.stdout.is_empty(), "no table left: {}", String::from_utf8_lossy(&listed.stdout));
}
