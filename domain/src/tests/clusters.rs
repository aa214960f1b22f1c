//! Clusters and nodes: unique, on other hosts with their credentials,
//! going unreachable and back, cluster policies set by the administrator,
//! and where a launch without a zone goes.

use super::samples::*;
use super::*;
use crate::command::{
    AddCluster, MarkNodeReachable, MarkNodeUnreachable, NodeKey, RegisterNode, SetClusterPolicy,
};

fn cloud(cpus: u32) -> Given {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(cpus)).unwrap();
    g
}

fn second_node(key: Option<NodeKey>) -> Command {
    Command::RegisterNode(RegisterNode {
        node: NodeId::from_bits(2),
        zone: zone(),
        host: "10.250.0.12".into(),
        hypervisor: "sim".into(),
        capacity: Resources { cpus: 4, memory_mib: 1 << 20, disk_gib: 1 << 20 },
        key,
        at: t(3),
    })
}

fn mark(node: NodeId, reachable: bool) -> Command {
    if reachable {
        Command::MarkNodeReachable(MarkNodeReachable { zone: zone(), node, at: t(5) })
    } else {
        Command::MarkNodeUnreachable(MarkNodeUnreachable {
            zone: zone(),
            node,
            last_heartbeat: t(4),
            at: t(5),
        })
    }
}

fn cluster(g: &Given) -> &crate::aggregates::Cluster {
    match g.state(&StreamId::cluster(&zone())) {
        Some(Aggregate::Cluster(c)) => c,
        other => panic!("no cluster: {other:?}"),
    }
}

#[test]
fn a_node_registered_with_a_key_gets_its_credentials_recorded_sealed() {
    let mut g = cloud(8);
    let key = NodeKey { access_key: AccessKeyId::from_bits(0x42), secret: secret() };
    let d = g.then_apply(&second_node(Some(key.clone()))).unwrap();
    assert_eq!(event_types(&d), vec!["NodeRegistered", "NodeClaimed", "NodeCredentialsIssued"]);
    assert_eq!(cluster(&g).nodes[&NodeId::from_bits(2)].access_key, Some(key.access_key.clone()));
    // The same key cannot serve two nodes.
    let Command::RegisterNode(mut again) = second_node(Some(key.clone())) else { unreachable!() };
    again.node = NodeId::from_bits(3);
    assert_eq!(g.when(&Command::RegisterNode(again)), Err(DecideError::AccessKeyExists(key.access_key)));
}

#[test]
fn a_node_registering_again_keeps_its_id_and_gets_a_new_key() {
    let mut g = cloud(8);
    let first = NodeKey { access_key: AccessKeyId::from_bits(0x42), secret: secret() };
    g.then_apply(&second_node(Some(first.clone()))).unwrap();
    g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap();
    let before = cluster(&g).nodes[&NodeId::from_bits(2)].clone();
    let newer = NodeKey { access_key: AccessKeyId::from_bits(0x43), secret: secret() };
    let d = g.then_apply(&second_node(Some(newer.clone()))).unwrap();
    // One node still, with the new key in place of the old one.
    assert_eq!(event_types(&d), vec!["NodeCredentialsIssued"]);
    let after = &cluster(&g).nodes[&NodeId::from_bits(2)];
    assert_eq!(after.access_key, Some(newer.access_key.clone()));
    assert_eq!((&after.instances, after.used), (&before.instances, before.used));
    assert_eq!(cluster(&g).nodes.len(), 2);
    // A replaced key is free again; one in use is not handed to another node.
    assert_eq!(
        g.when(&second_node(Some(first.clone()))).map(|d| event_types(&d)),
        Ok(vec!["NodeCredentialsIssued"]),
        "the old key is free again once replaced"
    );
    let Command::RegisterNode(mut same) = second_node(Some(newer.clone())) else { unreachable!() };
    same.node = NodeId::from_bits(3);
    assert_eq!(g.when(&Command::RegisterNode(same)), Err(DecideError::AccessKeyExists(newer.access_key)));
    // The embedded node (no key) cannot be taken over by a registration.
    assert_eq!(g.when(&second_node(None)), Err(DecideError::NodeExists(NodeId::from_bits(2))));
}

#[test]
fn a_node_id_cannot_join_a_second_cluster() {
    let mut g = cloud(8);
    let key = NodeKey { access_key: AccessKeyId::from_bits(0x42), secret: secret() };
    g.then_apply(&second_node(Some(key))).unwrap();
    let west = ZoneName::parse("west").unwrap();
    let add = AddCluster { zone: west.clone(), policy: SchedulingPolicy::Greedy, at: t(4) };
    g.then_apply(&Command::AddCluster(add)).unwrap();
    let Command::RegisterNode(mut elsewhere) =
        second_node(Some(NodeKey { access_key: AccessKeyId::from_bits(0x44), secret: secret() }))
    else {
        unreachable!()
    };
    elsewhere.zone = west;
    assert_eq!(
        g.when(&Command::RegisterNode(elsewhere)),
        Err(DecideError::NodeInOtherZone { node: NodeId::from_bits(2), zone: zone() })
    );
}

#[test]
fn only_transitions_of_reachability_are_recorded() {
    let mut g = cloud(8);
    g.then_apply(&second_node(None)).unwrap();
    let two = NodeId::from_bits(2);
    assert!(g.when(&mark(two.clone(), true)).unwrap().events.is_empty(), "already reachable");
    assert_eq!(event_types(&g.then_apply(&mark(two.clone(), false)).unwrap()), vec!["NodeUnreachable"]);
    assert!(g.when(&mark(two.clone(), false)).unwrap().events.is_empty(), "already unreachable");
    assert!(!cluster(&g).nodes[&two].reachable);
    assert_eq!(event_types(&g.then_apply(&mark(two.clone(), true)).unwrap()), vec!["NodeReachable"]);
    assert!(cluster(&g).nodes[&two].reachable);
    let stranger = NodeId::from_bits(9);
    assert_eq!(g.when(&mark(stranger.clone(), false)), Err(DecideError::UnknownNode(stranger)));
}

#[test]
fn nothing_is_placed_on_an_unreachable_node() {
    let mut g = cloud(2);
    g.then_apply(&second_node(None)).unwrap();
    g.then_apply(&mark(node(), false)).unwrap();
    // Room for 4 on the reachable node, none on the silent one.
    let d = g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap();
    let placed: Vec<&NodeId> = d
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::InstancePlaced(p) => Some(&p.node),
            _ => None,
        })
        .collect();
    assert_eq!(placed, vec![&NodeId::from_bits(2)]);
    g.then_apply(&mark(NodeId::from_bits(2), false)).unwrap();
    assert!(matches!(
        g.when(&run(admin(), 2, 1, 1, None)),
        Err(DecideError::InsufficientCapacity { available: 0, .. })
    ));
}

#[test]
fn a_cluster_policy_changes_once_and_only_for_known_zones() {
    let mut g = cloud(8);
    let set = |zone: ZoneName, policy| Command::SetClusterPolicy(SetClusterPolicy { zone, policy, at: t(6) });
    let d = g.then_apply(&set(zone(), SchedulingPolicy::PowerSave)).unwrap();
    assert_eq!(event_types(&d), vec!["ClusterPolicySet"]);
    assert_eq!(cluster(&g).policy, SchedulingPolicy::PowerSave);
    assert!(g.when(&set(zone(), SchedulingPolicy::PowerSave)).unwrap().events.is_empty());
    let nowhere = ZoneName::parse("nowhere").unwrap();
    assert_eq!(
        g.when(&set(nowhere.clone(), SchedulingPolicy::Greedy)),
        Err(DecideError::UnknownZone(nowhere))
    );
}

/// RunInstances without a zone: the zone whose reachable nodes have the
/// most free CPUs, as the clusters' streams say (no read model is asked),
/// ties going to the first by name; a client token replays in it.
/// A client token claimed by the previous release for a request without a
/// zone recorded the zone it chose: a retry without one still replays.
#[test]
fn a_token_claimed_by_the_previous_release_without_a_zone_replays() {
    let mut g = cloud(2);
    let retry = {
        let mut c = run_in(admin(), 9, 1, 1, Some("old"));
        c.zone = None;
        c
    };
    let claimed = crate::event::ClientTokenClaimed {
        account: admin(),
        token: "old".into(),
        reservation: ReservationId::from_bits(8),
        fingerprint: retry.legacy_fingerprint_in(zone().as_str()),
    };
    g.and(&[(StreamId::client_token(&admin(), "old"), claimed.into())]);
    let d = g.when(&Command::RunInstances(retry.clone())).unwrap();
    assert_eq!(
        d.reply,
        Reply::Launched { reservation: ReservationId::from_bits(8), instances: vec![], replayed: true }
    );
    let mut other = retry;
    other.vm_type = "c1.medium".into();
    assert_eq!(
        g.when(&Command::RunInstances(other)),
        Err(DecideError::IdempotentParameterMismatch { token: "old".into() })
    );
}

#[test]
fn a_launch_without_a_zone_goes_where_the_clusters_have_most_room() {
    let mut g = cloud(2);
    let (second, big) = (ZoneName::parse("zone-2").unwrap(), NodeId::from_bits(0xb16));
    g.then_apply(&Command::AddCluster(AddCluster {
        zone: second.clone(),
        policy: SchedulingPolicy::Greedy,
        at: t(2),
    }))
    .unwrap();
    g.then_apply(&Command::RegisterNode(RegisterNode {
        node: big.clone(),
        zone: second.clone(),
        host: "10.250.0.13".into(),
        hypervisor: "sim".into(),
        capacity: Resources { cpus: 3, memory_mib: 1 << 20, disk_gib: 1 << 20 },
        key: None,
        at: t(3),
    }))
    .unwrap();
    let anywhere = |bits, token: Option<&str>| {
        let mut c = run_in(admin(), bits, 1, 1, token);
        c.zone = None;
        Command::RunInstances(c)
    };
    let zone_of = |d: &Decision| -> Vec<ZoneName> {
        d.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::InstancePlaced(p) => Some(p.zone.clone()),
                _ => None,
            })
            .collect()
    };
    // 3 free CPUs in zone-2, 2 in zone-1.
    let d = g.then_apply(&anywhere(1, Some("tok"))).unwrap();
    assert_eq!(zone_of(&d), vec![second.clone()]);
    // 2 and 2: the first by name; the retry with the token replays, the
    // zone it went to being no part of what was asked.
    assert_eq!(zone_of(&g.when(&anywhere(2, None)).unwrap()), vec![zone()]);
    let again = g.when(&anywhere(3, Some("tok"))).unwrap();
    assert!(matches!(again.reply, Reply::Launched { replayed: true, .. }), "{:?}", again.reply);
    // An unreachable node offers nothing.
    let silent = MarkNodeUnreachable { zone: second.clone(), node: big, last_heartbeat: t(4), at: t(5) };
    g.then_apply(&Command::MarkNodeUnreachable(silent)).unwrap();
    g.then_apply(&anywhere(4, None)).unwrap();
    assert_eq!(zone_of(&g.when(&anywhere(5, None)).unwrap()), vec![zone()]);
}

#[test]
fn clusters_and_nodes_are_unique_and_need_a_cloud() {
    let add = Command::AddCluster(AddCluster {
        zone: ZoneName::parse("zone-2").unwrap(),
        policy: SchedulingPolicy::RoundRobin,
        at: t(3),
    });
    assert_eq!(given(&[]).when(&add), Err(DecideError::CloudNotInitialized));
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    assert_eq!(event_types(&g.then_apply(&add).unwrap()), vec!["ClusterAdded", "ClusterRegistered"]);
    assert_eq!(g.when(&add), Err(DecideError::ZoneExists(ZoneName::parse("zone-2").unwrap())));
    let node = RegisterNode {
        node: node(),
        zone: zone(),
        host: "h".into(),
        hypervisor: "sim".into(),
        capacity: Resources::default(),
        key: None,
        at: t(4),
    };
    assert_eq!(g.when(&Command::RegisterNode(node.clone())), Err(DecideError::NodeExists(node.node.clone())));
    let elsewhere = RegisterNode { zone: ZoneName::parse("nowhere").unwrap(), ..node };
    assert_eq!(
        g.when(&Command::RegisterNode(elsewhere)),
        Err(DecideError::UnknownZone(ZoneName::parse("nowhere").unwrap()))
    );
}
