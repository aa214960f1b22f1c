//! A cluster's state: its nodes, the room each has left, and the rule that
//! places instances on them; the claim of a node id.

use super::events::*;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::ids::{AccessKeyId, InstanceId, NodeId, ZoneName};
use crate::registry::ClusterEvent;
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Resources of a node, or an amount taken from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
}

impl Resources {
    pub fn of(vm: &crate::cloud::VmType) -> Self {
        Resources { cpus: vm.cpus, memory_mib: vm.memory_mib.into(), disk_gib: vm.disk_gib.into() }
    }

    pub fn fits_in(&self, free: &Resources) -> bool {
        self.cpus <= free.cpus && self.memory_mib <= free.memory_mib && self.disk_gib <= free.disk_gib
    }

    pub fn saturating_sub(&self, other: &Resources) -> Resources {
        Resources {
            cpus: self.cpus.saturating_sub(other.cpus),
            memory_mib: self.memory_mib.saturating_sub(other.memory_mib),
            disk_gib: self.disk_gib.saturating_sub(other.disk_gib),
        }
    }

    pub fn add(&self, other: &Resources) -> Resources {
        Resources {
            cpus: self.cpus + other.cpus,
            memory_mib: self.memory_mib + other.memory_mib,
            disk_gib: self.disk_gib + other.disk_gib,
        }
    }
}

/// How a cluster picks a node, as in Eucalyptus's `SCHEDPOLICY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedulingPolicy {
    /// The first node with room.
    Greedy,
    /// The next node with room after the last one used.
    RoundRobin,
    /// The fullest node that still has room.
    PowerSave,
}

impl SchedulingPolicy {
    pub const ALL: [SchedulingPolicy; 3] =
        [SchedulingPolicy::Greedy, SchedulingPolicy::RoundRobin, SchedulingPolicy::PowerSave];

    /// Eucalyptus's name: `GREEDY`, `ROUNDROBIN`, `POWERSAVE`.
    pub fn name(self) -> &'static str {
        match self {
            SchedulingPolicy::Greedy => "GREEDY",
            SchedulingPolicy::RoundRobin => "ROUNDROBIN",
            SchedulingPolicy::PowerSave => "POWERSAVE",
        }
    }

    /// A policy by name, in any case.
    pub fn parse(text: &str) -> Option<SchedulingPolicy> {
        Self::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(text))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    pub zone: ZoneName,
    pub policy: SchedulingPolicy,
    pub nodes: BTreeMap<NodeId, Node>,
    /// The node of the most recent reservation (for round-robin).
    pub last_used: Option<NodeId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub host: String,
    pub hypervisor: String,
    pub capacity: Resources,
    pub used: Resources,
    pub instances: BTreeMap<InstanceId, Resources>,
    /// The node's own access key, for a node on another host.
    pub access_key: Option<AccessKeyId>,
    /// `false` while the controller does not hear from the node: the
    /// scheduler places nothing on it.
    pub reachable: bool,
}

impl Node {
    pub fn free(&self) -> Resources {
        self.capacity.saturating_sub(&self.used)
    }
}

impl State for Cluster {
    type Created = ClusterRegistered;

    fn created(e: &ClusterRegistered) -> Self {
        Cluster { zone: e.zone.clone(), policy: e.policy, nodes: BTreeMap::new(), last_used: None }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

impl Evolve for Cluster {
    type Event<'a> = ClusterEvent<'a>;

    fn apply(&mut self, event: ClusterEvent<'_>) {
        match event {
            ClusterEvent::NodeRegistered(e) => {
                self.nodes.insert(
                    e.node.clone(),
                    Node {
                        host: e.host.clone(),
                        hypervisor: e.hypervisor.clone(),
                        capacity: e.capacity,
                        used: Resources::default(),
                        instances: BTreeMap::new(),
                        access_key: None,
                        reachable: true,
                    },
                );
            }
            ClusterEvent::NodeCredentialsIssued(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node) {
                    node.access_key = Some(e.access_key.clone());
                }
            }
            ClusterEvent::NodeUnreachable(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node) {
                    node.reachable = false;
                }
            }
            ClusterEvent::NodeReachable(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node) {
                    node.reachable = true;
                }
            }
            ClusterEvent::ClusterPolicySet(e) => self.policy = e.policy,
            ClusterEvent::CapacityReserved(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node)
                    && node.instances.insert(e.instance.clone(), e.amount).is_none()
                {
                    node.used = node.used.add(&e.amount);
                }
                self.last_used = Some(e.node.clone());
            }
            ClusterEvent::CapacityReleased(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node)
                    && let Some(amount) = node.instances.remove(&e.instance)
                {
                    node.used = node.used.saturating_sub(&amount);
                }
            }
        }
    }
}

impl Cluster {
    /// Picks nodes for up to `count` instances of size `amount` by the
    /// cluster's policy. Returns fewer than `count` when room runs out.
    pub fn place(&self, amount: &Resources, count: usize) -> Vec<NodeId> {
        // An unreachable node has no room to give.
        let mut free: Vec<(&NodeId, Resources)> = self
            .nodes
            .iter()
            .map(|(id, n)| (id, if n.reachable { n.free() } else { Resources::default() }))
            .collect();
        let mut cursor = self
            .last_used
            .as_ref()
            .and_then(|last| free.iter().position(|(id, _)| *id == last))
            .map_or(0, |i| i + 1);
        let mut chosen = Vec::with_capacity(count);
        for _ in 0..count {
            let fits = |r: &Resources| amount.fits_in(r);
            let pick = match self.policy {
                SchedulingPolicy::Greedy => free.iter().position(|(_, r)| fits(r)),
                SchedulingPolicy::RoundRobin => {
                    (0..free.len()).map(|k| (cursor + k) % free.len()).find(|&i| fits(&free[i].1))
                }
                SchedulingPolicy::PowerSave => free
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, r))| fits(r))
                    .min_by_key(|(_, (_, r))| (r.cpus, r.memory_mib))
                    .map(|(i, _)| i),
            };
            let Some(i) = pick else { break };
            free[i].1 = free[i].1.saturating_sub(amount);
            chosen.push(free[i].0.clone());
            cursor = i + 1;
        }
        chosen
    }
}

/// A node id taken: the zone (cluster) of the node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeClaim {
    pub zone: ZoneName,
}

impl State for NodeClaim {
    type Created = NodeClaimed;

    fn created(e: &NodeClaimed) -> Self {
        NodeClaim { zone: e.zone.clone() }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

impl dyn StateView + '_ {
    pub fn cluster(&self, zone: &ZoneName) -> Option<&Cluster> {
        match self.get(&StreamId::cluster(zone)) {
            Some(Aggregate::Cluster(c)) => Some(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn cluster(policy: SchedulingPolicy, nodes: &[(u128, u32)]) -> Cluster {
        let zone = ZoneName::parse("z1").unwrap();
        let mut c = Cluster::created(&ClusterRegistered { zone: zone.clone(), policy, at: Timestamp(0) });
        for (bits, cpus) in nodes {
            c.apply(ClusterEvent::NodeRegistered(&NodeRegistered {
                node: NodeId::from_bits(*bits),
                zone: zone.clone(),
                host: "h".into(),
                hypervisor: "sim".into(),
                capacity: Resources { cpus: *cpus, memory_mib: 1 << 20, disk_gib: 1 << 20 },
                at: Timestamp(0),
            }));
        }
        c
    }

    fn one_cpu() -> Resources {
        Resources { cpus: 1, memory_mib: 1, disk_gib: 1 }
    }

    #[test]
    fn greedy_fills_the_first_node_first() {
        let c = cluster(SchedulingPolicy::Greedy, &[(1, 2), (2, 2)]);
        let got = c.place(&one_cpu(), 3);
        assert_eq!(got, vec![NodeId::from_bits(1), NodeId::from_bits(1), NodeId::from_bits(2)]);
    }

    #[test]
    fn round_robin_alternates() {
        let c = cluster(SchedulingPolicy::RoundRobin, &[(1, 4), (2, 4)]);
        let got = c.place(&one_cpu(), 3);
        assert_eq!(got, vec![NodeId::from_bits(1), NodeId::from_bits(2), NodeId::from_bits(1)]);
    }

    #[test]
    fn power_save_packs_the_fullest_node() {
        let mut c = cluster(SchedulingPolicy::PowerSave, &[(1, 4), (2, 4)]);
        c.apply(ClusterEvent::CapacityReserved(&CapacityReserved {
            node: NodeId::from_bits(2),
            instance: InstanceId::from_bits(9),
            amount: one_cpu(),
        }));
        assert_eq!(c.place(&one_cpu(), 1), vec![NodeId::from_bits(2)]);
    }

    #[test]
    fn placement_stops_when_room_runs_out() {
        let c = cluster(SchedulingPolicy::Greedy, &[(1, 1), (2, 1)]);
        assert_eq!(c.place(&one_cpu(), 5).len(), 2);
        let big = Resources { cpus: 2, memory_mib: 1, disk_gib: 1 };
        assert!(c.place(&big, 1).is_empty());
    }
}
