//! The network view benchmark (ADR 0008): what a change of the read models
//! costs the controller when every node waits for its network view.
//! 10,000 live instances on 50 nodes, in 20 security groups of 500 members
//! each (every group lets its own members in, like a default group, and
//! SSH from anywhere), so each guest's ingress names 500 addresses and each
//! node's view routes to the 9,800 guests of the other nodes.
//!
//! Rows, measured in the same run:
//! - the baseline: the per-node resolution as it was before the views were
//!   shared (`old_view_of` below, a copy of api::nodes::network::view_of at
//!   commit 65cd6ad), for one node and for all 50 (each waiting node did it
//!   alone, over every instance);
//! - `view_of` from scratch (one node, computing the whole cloud's index);
//! - `NetworkViews::view_of` for all 50 nodes at one position: the index
//!   once, then one lookup and filter per node.
//!
//! Run: `cargo bench --bench network_view` (seconds), `-- --quick`
//! (1,000 instances).

#[allow(dead_code)]
#[path = "foundation/report.rs"]
mod report;

use api::nodes::network::{NetworkViews, view_of};
use api::nodes::wire::{NetGuest, NetRoute, NetRule, NodeNetwork};
use domain::event::*;
use domain::*;
use eventlog::{Metadata, RecordedEvent};
use projections::ReadModels;
use report::{Table, ratio, thousands};
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

const NODES: u128 = 50;
const GROUPS: u128 = 20;

fn apply(models: &mut ReadModels, stream: &str, events: Vec<Event>) {
    for event in events {
        let position = models.position + 1;
        let recorded = RecordedEvent {
            position,
            stream: stream.to_owned(),
            version: position,
            event_type: event.type_name().into(),
            schema: event.schema(),
            recorded_at: 0,
            metadata: Metadata::default(),
            payload: event.encode(),
        };
        models.apply(&recorded.as_envelope()).unwrap();
    }
}

/// The read models of a cloud with `count` live instances.
fn cloud(count: u32) -> ReadModels {
    let mut m = ReadModels::default();
    let at = Timestamp(1);
    let zone = ZoneName::parse("bench").unwrap();
    let account = AccountId::from_bits(123_456_789_012);
    let pool = AddressPoolConfigured { private_cidr: "10.0.0.0/8".into(), public_addresses: Vec::new(), at };
    apply(&mut m, "network", vec![pool.into()]);
    let mut events: Vec<Event> =
        vec![ClusterRegistered { zone: zone.clone(), policy: SchedulingPolicy::RoundRobin, at }.into()];
    for n in 0..NODES {
        events.push(
            NodeRegistered {
                node: NodeId::from_bits(n + 1),
                zone: zone.clone(),
                host: format!("10.250.0.{}", n + 10),
                hypervisor: "sim".into(),
                capacity: Resources { cpus: 256, memory_mib: 1 << 20, disk_gib: 1 << 20 },
                at,
            }
            .into(),
        );
    }
    apply(&mut m, "cluster/bench", events);
    for g in 0..GROUPS {
        let id = SecurityGroupId::from_bits(g + 1);
        let own = RuleSource::Group { account: account.clone(), group: id.clone() };
        let rule = |protocol: &str, from, to, source| SecurityRule {
            protocol: protocol.into(),
            from_port: from,
            to_port: to,
            source,
        };
        let events: Vec<Event> = vec![
            SecurityGroupCreated {
                group: id.clone(),
                account: account.clone(),
                name: format!("g{g}"),
                description: String::new(),
                at,
            }
            .into(),
            SecurityRulesAuthorized {
                direction: Direction::Ingress,
                rules: vec![
                    rule("-1", -1, -1, own),
                    rule("tcp", 22, 22, RuleSource::Cidr("0.0.0.0/0".into())),
                ],
                at,
            }
            .into(),
            SecurityRulesAuthorized {
                direction: Direction::Egress,
                rules: vec![rule("-1", -1, -1, RuleSource::Cidr("0.0.0.0/0".into()))],
                at,
            }
            .into(),
        ];
        apply(&mut m, StreamId::security_group(&id).as_str(), events);
    }
    for i in 0..count {
        let id = InstanceId::from_bits(u128::from(i) + 1);
        let private = std::net::Ipv4Addr::from(0x0a00_0002 + i).to_string();
        let node = NodeId::from_bits(u128::from(i) % NODES + 1);
        let events: Vec<Event> = vec![
            InstanceRequested {
                instance: id.clone(),
                reservation: ReservationId::from_bits(u128::from(i) + 1),
                account: account.clone(),
                image: ImageId::with_kind(ImageKind::Machine, 1),
                kernel: None,
                ramdisk: None,
                vm_type: VmType::eucalyptus_defaults()[0].clone(),
                launch_index: 0,
                user_data: Vec::new(),
                client_token: None,
                key_name: None,
                security_groups: vec![SecurityGroupId::from_bits(u128::from(i) % GROUPS + 1)],
                shutdown_behavior: ShutdownBehavior::Stop,
                disable_api_termination: false,
                at,
            }
            .into(),
            InstanceAddressed { private_address: private, public_address: None }.into(),
            InstancePlaced { node: node.clone(), zone: zone.clone(), at }.into(),
            InstanceRunning { node, at }.into(),
        ];
        apply(&mut m, StreamId::instance(&id).as_str(), events);
    }
    m
}

fn live(state: InstanceState) -> bool {
    matches!(
        state,
        InstanceState::Pending
            | InstanceState::Running
            | InstanceState::Stopping
            | InstanceState::ShuttingDown
    )
}

/// The baseline: api::nodes::network::view_of as of commit 65cd6ad, where
/// each node's view was computed alone over every instance.
fn old_view_of(models: &ReadModels, position: u64, node: &NodeId) -> NodeNetwork {
    let mut members: HashMap<&SecurityGroupId, BTreeSet<&str>> = HashMap::new();
    for row in models.instances.rows.values() {
        if row.state == InstanceState::Terminated {
            continue;
        }
        let Some(private) = row.private_address.as_deref() else { continue };
        for g in &row.groups {
            members.entry(g).or_default().insert(private);
        }
    }
    let resolve = |rule: &SecurityRule| -> NetRule {
        let (cidr, addresses) = match &rule.source {
            RuleSource::Cidr(cidr) => (Some(cidr.clone()), Vec::new()),
            RuleSource::Group { group, .. } => (
                None,
                members.get(group).map(|m| m.iter().map(|a| (*a).to_owned()).collect()).unwrap_or_default(),
            ),
            // The bench's clouds name no group by name.
            RuleSource::NamedGroup { .. } => (None, Vec::new()),
        };
        NetRule {
            protocol: rule.protocol.clone(),
            from_port: rule.from_port,
            to_port: rule.to_port,
            cidr,
            addresses,
        }
    };
    let mut guests = BTreeMap::new();
    for (id, row) in &models.instances.rows {
        if !live(row.state) || row.node.as_ref() != Some(node) {
            continue;
        }
        let Some(private) = row.private_address.clone() else { continue };
        let (mut ingress, mut egress) = (BTreeSet::new(), BTreeSet::new());
        for g in &row.groups {
            if let Some(group) = models.security.groups.get(g) {
                ingress.extend(group.ingress.iter().map(resolve));
                egress.extend(group.egress.iter().map(resolve));
            }
        }
        guests.insert(
            id.as_str(),
            NetGuest {
                instance: id.to_string(),
                private: private.to_string(),
                public: row.public_address.clone(),
                ingress: ingress.into_iter().collect(),
                egress: egress.into_iter().collect(),
            },
        );
    }
    let own_host = models.cloud.node(node).map(|(_, row)| row.host.as_str());
    let mut routes = BTreeSet::new();
    for row in models.instances.rows.values() {
        let (Some(other), Some(private)) = (row.node.as_ref(), row.private_address.as_ref()) else {
            continue;
        };
        if !live(row.state) || other == node {
            continue;
        }
        let Some((_, host)) = models.cloud.node(other) else { continue };
        if host.host.parse::<std::net::Ipv4Addr>().is_ok() && Some(host.host.as_str()) != own_host {
            routes.insert(NetRoute { address: private.to_string(), via: host.host.clone() });
        }
    }
    let mut view = NodeNetwork {
        position,
        version: String::new(),
        private_network: models.network.private_cidr.clone(),
        guests: guests.into_values().collect(),
        routes: routes.into_iter().collect(),
    };
    let content =
        serde_json::to_vec(&(&view.private_network, &view.guests, &view.routes)).expect("a view encodes");
    view.version = hex::encode(&sha2::Sha256::digest(&content)[..12]);
    view
}

/// Best of `rounds` runs of `f`.
fn best<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let mut fastest = Duration::MAX;
    for _ in 0..rounds {
        let started = Instant::now();
        let value = std::hint::black_box(f());
        fastest = fastest.min(started.elapsed());
        out = Some(value);
    }
    (fastest, out.expect("at least one round"))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let count: u32 = if quick { 1_000 } else { 10_000 };
    let rounds = if quick { 5 } else { 3 };
    eprintln!("[network_view] {count} instances on {NODES} nodes, {GROUPS} groups");
    let models = cloud(count);
    let nodes: Vec<NodeId> = (1..=NODES).map(NodeId::from_bits).collect();
    let position = models.position;

    // The old and new resolutions give every node the same view.
    for node in &nodes {
        assert_eq!(old_view_of(&models, position, node), view_of(&models, node), "{node}");
    }
    let sample = view_of(&models, &nodes[0]);
    let (guests, routes) = (sample.guests.len(), sample.routes.len());

    let (old_one, _) = best(rounds, || old_view_of(&models, position, &nodes[0]));
    let (old_all, _) =
        best(rounds, || nodes.iter().map(|n| old_view_of(&models, position, n).routes.len()).sum::<usize>());
    let (new_one, _) = best(rounds, || view_of(&models, &nodes[0]));
    let (shared_all, _) = best(rounds, || {
        let views = NetworkViews::default();
        nodes.iter().map(|n| views.view_of(&models, n).routes.len()).sum::<usize>()
    });
    let views = NetworkViews::default();
    views.at(&models);
    let (cached_one, _) = best(rounds, || views.view_of(&models, &nodes[0]));

    let mut table = Table::default();
    let n = thousands(u64::from(count));
    table.row(
        &format!(
            "old view_of, one node ({guests} guests, {} routes), {n} instances",
            thousands(routes as u64)
        ),
        ms(old_one),
        "(baseline)".into(),
        String::new(),
    );
    table.row(
        &format!("old view_of, each of {NODES} nodes alone"),
        ms(old_all),
        "(baseline)".into(),
        String::new(),
    );
    table.row(
        "view_of from scratch, one node (the whole cloud's index)",
        ms(new_one),
        "old, one node".into(),
        ratio(new_one.as_secs_f64(), old_one.as_secs_f64()),
    );
    table.row(
        &format!("NetworkViews: all {NODES} nodes at one position"),
        ms(shared_all),
        format!("old, {NODES} nodes"),
        ratio(shared_all.as_secs_f64(), old_all.as_secs_f64()),
    );
    table.row(
        "NetworkViews: one more node, index already built",
        ms(cached_one),
        "old, one node".into(),
        ratio(cached_one.as_secs_f64(), old_one.as_secs_f64()),
    );
    table.print();
}
