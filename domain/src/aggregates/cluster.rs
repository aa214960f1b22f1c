//! A cluster (availability zone, Eucalyptus's CC): its nodes and the
//! capacity they have left. Placement is decided here, so two racing
//! launches cannot both take the last slot.

use crate::event::*;
use crate::ids::{AccessKeyId, InstanceId, NodeId, ZoneName};
use crate::model::{Resources, SchedulingPolicy};
use std::collections::BTreeMap;

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

impl Cluster {
    pub(crate) fn new(e: &ClusterRegistered) -> Self {
        Cluster { zone: e.zone.clone(), policy: e.policy, nodes: BTreeMap::new(), last_used: None }
    }

    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::NodeRegistered(e) => {
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
            Event::NodeCredentialsIssued(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node) {
                    node.access_key = Some(e.access_key.clone());
                }
            }
            Event::NodeUnreachable(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node) {
                    node.reachable = false;
                }
            }
            Event::NodeReachable(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node) {
                    node.reachable = true;
                }
            }
            Event::ClusterPolicySet(e) => self.policy = e.policy,
            Event::CapacityReserved(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node)
                    && node.instances.insert(e.instance.clone(), e.amount).is_none()
                {
                    node.used = node.used.add(&e.amount);
                }
                self.last_used = Some(e.node.clone());
            }
            Event::CapacityReleased(e) => {
                if let Some(node) = self.nodes.get_mut(&e.node)
                    && let Some(amount) = node.instances.remove(&e.instance)
                {
                    node.used = node.used.saturating_sub(&amount);
                }
            }
            _ => {}
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn cluster(policy: SchedulingPolicy, nodes: &[(u128, u32)]) -> Cluster {
        let zone = ZoneName::parse("z1").unwrap();
        let mut c = Cluster::new(&ClusterRegistered { zone: zone.clone(), policy, at: Timestamp(0) });
        for (bits, cpus) in nodes {
            c.apply(&Event::NodeRegistered(NodeRegistered {
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
        c.apply(&Event::CapacityReserved(CapacityReserved {
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
