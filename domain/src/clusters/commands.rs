//! AddCluster, RegisterNode, SetClusterPolicy and the heartbeat monitor's
//! MarkNodeReachable / MarkNodeUnreachable.

use super::events::*;
use super::state::{NodeClaim, Resources, SchedulingPolicy};
use crate::aggregate::{Aggregate, StateView};
use crate::cloud::ClusterAdded;
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

#[derive(Clone, Debug, PartialEq)]
pub struct AddCluster {
    pub zone: ZoneName,
    pub policy: SchedulingPolicy,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RegisterNode {
    pub node: NodeId,
    pub zone: ZoneName,
    pub host: String,
    pub hypervisor: String,
    pub capacity: Resources,
    /// The node's own credentials, for a node on another host (the
    /// embedded node of `yukari up` has none: it is in the controller).
    pub key: Option<NodeKey>,
    pub at: Timestamp,
}

/// A node's access key, its secret already sealed.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeKey {
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
}

/// Changes a cluster's scheduling policy (cloud administrators only).
#[derive(Clone, Debug, PartialEq)]
pub struct SetClusterPolicy {
    pub zone: ZoneName,
    pub policy: SchedulingPolicy,
    pub at: Timestamp,
}

/// The controller's heartbeat monitor: a node that went silent was heard
/// again. Only a change of state is recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct MarkNodeReachable {
    pub zone: ZoneName,
    pub node: NodeId,
    pub at: Timestamp,
}

/// The controller's heartbeat monitor: a node went silent. Only a change of
/// state is recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct MarkNodeUnreachable {
    pub zone: ZoneName,
    pub node: NodeId,
    /// The last heartbeat the controller had (or its own start).
    pub last_heartbeat: Timestamp,
    pub at: Timestamp,
}

impl AddCluster {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::cloud(), StreamId::cluster(&self.zone)]
    }
}

impl RegisterNode {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::cluster(&self.zone), StreamId::node(&self.node)]
    }

    pub(crate) fn registered(&self) -> NodeRegistered {
        NodeRegistered {
            node: self.node.clone(),
            zone: self.zone.clone(),
            host: self.host.clone(),
            hypervisor: self.hypervisor.clone(),
            capacity: self.capacity,
            at: self.at,
        }
    }
}

impl SetClusterPolicy {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::cluster(&self.zone)]
    }
}

impl MarkNodeReachable {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::cluster(&self.zone)]
    }
}

impl MarkNodeUnreachable {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::cluster(&self.zone)]
    }
}

/// A zone joins the cloud (the cloud's stream lists it) as a new cluster.
pub(crate) fn add_cluster(c: &AddCluster, view: &dyn StateView) -> Result<Events, DecideError> {
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    if cloud.has_zone(&c.zone) || view.cluster(&c.zone).is_some() {
        return Err(DecideError::ZoneExists(c.zone.clone()));
    }
    Ok(vec![
        (StreamId::cloud(), ClusterAdded { zone: c.zone.clone(), at: c.at }.into()),
        (
            StreamId::cluster(&c.zone),
            ClusterRegistered { zone: c.zone.clone(), policy: c.policy, at: c.at }.into(),
        ),
    ])
}

/// Registers a node, or — for a node on another host that registers again
/// with the id it chose (it crashed before saving its credentials, or lost
/// them) — issues it a new key, which replaces the old one. A node id
/// belongs to one cluster: its `node/ID` stream holds the claim.
pub(crate) fn register_node(c: &RegisterNode, view: &dyn StateView) -> Result<Events, DecideError> {
    let claim = match view.get(&StreamId::node(&c.node)) {
        Some(Aggregate::Node(NodeClaim { zone })) => Some(zone),
        _ => None,
    };
    if let Some(zone) = claim
        && zone != &c.zone
    {
        return Err(DecideError::NodeInOtherZone { node: c.node.clone(), zone: zone.clone() });
    }
    let cluster = view.cluster(&c.zone).ok_or_else(|| DecideError::UnknownZone(c.zone.clone()))?;
    let stream = StreamId::cluster(&c.zone);
    let mut events: Events = Vec::new();
    match (cluster.nodes.get(&c.node), &c.key) {
        // Registered with a key before: only the key changes (capacity and
        // host stay as first registered).
        (Some(node), Some(_)) if node.access_key.is_some() => {}
        (Some(_), _) => return Err(DecideError::NodeExists(c.node.clone())),
        (None, _) => events.push((stream.clone(), c.registered().into())),
    }
    if claim.is_none() {
        events.push((
            StreamId::node(&c.node),
            NodeClaimed { node: c.node.clone(), zone: c.zone.clone() }.into(),
        ));
    }
    if let Some(key) = &c.key {
        if cluster.nodes.values().any(|n| n.access_key.as_ref() == Some(&key.access_key)) {
            return Err(DecideError::AccessKeyExists(key.access_key.clone()));
        }
        events.push((
            stream,
            NodeCredentialsIssued {
                node: c.node.clone(),
                access_key: key.access_key.clone(),
                secret: key.secret.clone(),
                at: c.at,
            }
            .into(),
        ));
    }
    Ok(events)
}

pub(crate) fn set_cluster_policy(c: &SetClusterPolicy, view: &dyn StateView) -> Result<Events, DecideError> {
    let cluster = view.cluster(&c.zone).ok_or_else(|| DecideError::UnknownZone(c.zone.clone()))?;
    if cluster.policy == c.policy {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::cluster(&c.zone),
        ClusterPolicySet { zone: c.zone.clone(), policy: c.policy, at: c.at }.into(),
    )])
}

/// Records a node being heard again; nothing when it is already reachable
/// (heartbeats themselves are never recorded).
pub(crate) fn mark_node_reachable(
    c: &MarkNodeReachable,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    if node_reachable(view, &c.zone, &c.node)? {
        return Ok(Vec::new());
    }
    Ok(vec![(StreamId::cluster(&c.zone), NodeReachable { node: c.node.clone(), at: c.at }.into())])
}

/// Records a node going silent; nothing when it already is.
pub(crate) fn mark_node_unreachable(
    c: &MarkNodeUnreachable,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    if !node_reachable(view, &c.zone, &c.node)? {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::cluster(&c.zone),
        NodeUnreachable { node: c.node.clone(), last_heartbeat: c.last_heartbeat, at: c.at }.into(),
    )])
}

fn node_reachable(view: &dyn StateView, zone: &ZoneName, node: &NodeId) -> Result<bool, DecideError> {
    let cluster = view.cluster(zone).ok_or_else(|| DecideError::UnknownZone(zone.clone()))?;
    let node = cluster.nodes.get(node).ok_or_else(|| DecideError::UnknownNode(node.clone()))?;
    Ok(node.reachable)
}
