//! Events of cluster streams (and of the stream claiming a node id).

use super::state::{Resources, SchedulingPolicy};
use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterRegistered {
    pub zone: ZoneName,
    pub policy: SchedulingPolicy,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRegistered {
    pub node: NodeId,
    pub zone: ZoneName,
    pub host: String,
    pub hypervisor: String,
    pub capacity: Resources,
    pub at: Timestamp,
}

/// The scheduler set aside room on a node for an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityReserved {
    pub node: NodeId,
    pub instance: InstanceId,
    pub amount: Resources,
}

/// An instance gave its room on a node back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CapacityReleased {
    pub node: NodeId,
    pub instance: InstanceId,
}

/// The administrator changed how a cluster places instances on its nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterPolicySet {
    pub zone: ZoneName,
    pub policy: SchedulingPolicy,
    pub at: Timestamp,
}

/// A node's own credentials (for the node protocol), issued when it
/// registered: the secret only sealed with the controller's master key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeCredentialsIssued {
    pub node: NodeId,
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
    pub at: Timestamp,
}

/// A node id was taken by a node of `zone`, on the stream of that id, so
/// that the same id cannot join a second cluster (a node that registers
/// again, e.g. after a crash before it saved its credentials, stays one
/// node).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeClaimed {
    pub node: NodeId,
    pub zone: ZoneName,
}

/// The controller stopped hearing from a node: nothing new is placed on it
/// and its instances are reported impaired until it is heard again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeUnreachable {
    pub node: NodeId,
    /// The last heartbeat the controller had (or its own start, if none).
    pub last_heartbeat: Timestamp,
    pub at: Timestamp,
}

/// A node that was unreachable is heard from again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReachable {
    pub node: NodeId,
    pub at: Timestamp,
}
