//! The cloud's shape: region, VM types, zones with their nodes, and images.

use domain::event::*;
use domain::{
    AccessKeyId, AccountId, ImageId, ImageKind, NodeId, Resources, SchedulingPolicy, SealedSecret, Timestamp,
    VmType, ZoneName,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudView {
    pub region: String,
    pub vm_types: Vec<VmType>,
    pub zones: BTreeMap<ZoneName, ZoneRow>,
    pub initialized_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZoneRow {
    pub policy: SchedulingPolicy,
    pub nodes: BTreeMap<NodeId, NodeRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRow {
    pub host: String,
    pub hypervisor: String,
    pub capacity: Resources,
    pub used: Resources,
    pub instances: u32,
    pub registered_at: Timestamp,
    /// The node's own access key (a node on another host) and its sealed
    /// secret, for authenticating the node protocol.
    pub access_key: Option<AccessKeyId>,
    pub secret: Option<SealedSecret>,
    /// `false` from NodeUnreachable until NodeReachable.
    pub reachable: bool,
    /// When it last became unreachable, and its last heartbeat then.
    pub unreachable_since: Option<(Timestamp, Timestamp)>,
}

impl NodeRow {
    /// Room left for new instances: none on an unreachable node.
    pub fn free(&self) -> Resources {
        if self.reachable { self.capacity.saturating_sub(&self.used) } else { Resources::default() }
    }
}

/// How many instances of `vm` fit in `room`.
pub fn fits(room: &Resources, vm: &VmType) -> u64 {
    let by = |have: u64, need: u64| have.checked_div(need).unwrap_or(u64::MAX);
    by(room.cpus.into(), vm.cpus.into())
        .min(by(room.memory_mib, vm.memory_mib.into()))
        .min(by(room.disk_gib, vm.disk_gib.into()))
}

impl ZoneRow {
    /// (free, max) instances of `vm` in the zone, node by node: how many
    /// more fit now, and how many would fit on its nodes were they empty
    /// (Eucalyptus's capacity table, DescribeAvailabilityZones verbose).
    pub fn capacity(&self, vm: &VmType) -> (u64, u64) {
        self.nodes.values().fold((0, 0), |(free, max), node| {
            // An unreachable node has no free room (NodeRow::free).
            (free + fits(&node.free(), vm), max + fits(&node.capacity, vm))
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRow {
    pub owner: AccountId,
    pub kind: ImageKind,
    pub name: String,
    pub description: String,
    pub architecture: String,
    pub location: String,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub public: bool,
    pub registered_at: Timestamp,
    /// Accounts besides the owner that may launch it.
    pub shared_with: Vec<AccountId>,
    pub deregistered: bool,
    /// What RegisterImage verified of its bundle.
    pub bundle: Option<ImageBundleRecorded>,
    /// An EBS-backed image's root device and block device mapping.
    pub ebs: Option<ImageBlockDevicesRecorded>,
}

impl ImageRow {
    /// EC2's image state: an EBS-backed image is `pending` until every
    /// snapshot it maps is completed, `failed` if one failed or is gone.
    pub fn state(
        &self,
        snapshots: &BTreeMap<domain::SnapshotId, crate::volumes::SnapshotRow>,
    ) -> &'static str {
        let Some(ebs) = &self.ebs else { return "available" };
        let mut state = "available";
        for snapshot in ebs.devices.iter().filter_map(|d| d.snapshot.as_ref()) {
            match snapshots.get(snapshot).map(|s| s.state) {
                Some(domain::volumes::SnapshotState::Completed) => {}
                Some(domain::volumes::SnapshotState::Pending) => state = "pending",
                Some(domain::volumes::SnapshotState::Error) | None => return "failed",
            }
        }
        state
    }

    /// May `account` see and launch it?
    pub fn executable_by(&self, account: &AccountId) -> bool {
        !self.deregistered && (self.public || &self.owner == account || self.shared_with.contains(account))
    }

    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::ImageBundleRecorded(e) => self.bundle = Some(e.clone()),
            Event::ImageDeregistered(_) => self.deregistered = true,
            Event::ImageLaunchPermissionsSet(e) => {
                self.shared_with = e.accounts.clone();
                self.public = e.public;
            }
            Event::ImageDescriptionSet(e) => self.description = e.description.clone(),
            Event::ImageBlockDevicesRecorded(e) => self.ebs = Some(e.clone()),
            _ => {}
        }
    }
}

impl CloudView {
    pub(crate) fn initialized(&mut self, e: &CloudInitialized) {
        self.region = e.region.clone();
        self.vm_types = e.vm_types.clone();
        self.initialized_at = Some(e.at);
    }

    pub(crate) fn vm_type_set(&mut self, vm_type: VmType) {
        match self.vm_types.iter_mut().find(|t| t.name == vm_type.name) {
            Some(t) => *t = vm_type,
            None => self.vm_types.push(vm_type),
        }
    }

    pub(crate) fn cluster_registered(&mut self, e: &ClusterRegistered) {
        self.zones.insert(e.zone.clone(), ZoneRow { policy: e.policy, nodes: BTreeMap::new() });
    }

    pub(crate) fn node_registered(&mut self, e: &NodeRegistered) {
        if let Some(zone) = self.zones.get_mut(&e.zone) {
            zone.nodes.insert(
                e.node.clone(),
                NodeRow {
                    host: e.host.clone(),
                    hypervisor: e.hypervisor.clone(),
                    capacity: e.capacity,
                    used: Resources::default(),
                    instances: 0,
                    registered_at: e.at,
                    access_key: None,
                    secret: None,
                    reachable: true,
                    unreachable_since: None,
                },
            );
        }
    }

    fn node_mut(&mut self, node: &NodeId) -> Option<&mut NodeRow> {
        self.zones.values_mut().find_map(|z| z.nodes.get_mut(node))
    }

    pub(crate) fn node_credentials(&mut self, e: &NodeCredentialsIssued) {
        if let Some(row) = self.node_mut(&e.node) {
            row.access_key = Some(e.access_key.clone());
            row.secret = Some(e.secret.clone());
        }
    }

    pub(crate) fn node_reachability(&mut self, node: &NodeId, unreachable: Option<(Timestamp, Timestamp)>) {
        if let Some(row) = self.node_mut(node) {
            row.reachable = unreachable.is_none();
            row.unreachable_since = unreachable;
        }
    }

    pub(crate) fn policy_set(&mut self, e: &ClusterPolicySet) {
        if let Some(zone) = self.zones.get_mut(&e.zone) {
            zone.policy = e.policy;
        }
    }

    /// A node by id, with its zone.
    pub fn node(&self, node: &NodeId) -> Option<(&ZoneName, &NodeRow)> {
        self.zones.iter().find_map(|(zone, z)| z.nodes.get(node).map(|row| (zone, row)))
    }

    /// The node whose access key this is, with its zone and sealed secret.
    pub fn node_by_key(&self, access_key: &str) -> Option<(&NodeId, &ZoneName, &NodeRow)> {
        self.zones.iter().find_map(|(zone, z)| {
            z.nodes
                .iter()
                .find(|(_, row)| row.access_key.as_ref().is_some_and(|k| k.as_str() == access_key))
                .map(|(id, row)| (id, zone, row))
        })
    }

    /// `amount` taken (`taking`) or given back on a node of `zone`.
    pub(crate) fn capacity_changed(&mut self, zone: &str, node: &NodeId, amount: &Resources, taking: bool) {
        let Some(row) = self.zones.get_mut(zone).and_then(|z| z.nodes.get_mut(node)) else {
            return;
        };
        if taking {
            row.used = row.used.add(amount);
            row.instances += 1;
        } else {
            row.used = row.used.saturating_sub(amount);
            row.instances = row.instances.saturating_sub(1);
        }
    }

    pub fn vm_type(&self, name: &str) -> Option<&VmType> {
        self.vm_types.iter().find(|t| t.name == name)
    }
}

pub(crate) fn image_row(e: &ImageRegistered) -> ImageRow {
    ImageRow {
        owner: e.owner.clone(),
        kind: e.kind,
        name: e.name.clone(),
        description: e.description.clone(),
        architecture: e.architecture.clone(),
        location: e.location.clone(),
        kernel: e.kernel.clone(),
        ramdisk: e.ramdisk.clone(),
        public: e.public,
        registered_at: e.at,
        shared_with: Vec::new(),
        deregistered: false,
        bundle: None,
        ebs: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_counts_what_fits_node_by_node() {
        let node = |cpus, used_cpus| NodeRow {
            host: "h".into(),
            hypervisor: "sim".into(),
            capacity: Resources { cpus, memory_mib: 4096, disk_gib: 100 },
            used: Resources { cpus: used_cpus, memory_mib: 0, disk_gib: 0 },
            instances: 0,
            registered_at: Timestamp(0),
            access_key: None,
            secret: None,
            reachable: true,
            unreachable_since: None,
        };
        let zone = ZoneRow {
            policy: SchedulingPolicy::Greedy,
            nodes: [(NodeId::from_bits(1), node(4, 3)), (NodeId::from_bits(2), node(3, 0))].into(),
        };
        let small = VmType { name: "s".into(), cpus: 1, memory_mib: 256, disk_gib: 5 };
        let big = VmType { name: "b".into(), cpus: 2, memory_mib: 1024, disk_gib: 10 };
        assert_eq!(zone.capacity(&small), (1 + 3, 4 + 3));
        // One fits per node when empty (by CPU: 4/2 = 2 and 3/2 = 1), and only on the second now.
        assert_eq!(zone.capacity(&big), (1, 3));
        let mut lost = zone.clone();
        lost.nodes.get_mut(&NodeId::from_bits(2)).unwrap().reachable = false;
        assert_eq!(lost.capacity(&small), (1, 4 + 3), "an unreachable node has no free room");
    }
}
