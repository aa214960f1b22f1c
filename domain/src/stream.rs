//! Stream ids: every event belongs to exactly one stream, and a stream is
//! owned by one aggregate (see DESIGN.md, "Where a decision lives").

use crate::ids::*;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamId(String);

/// What kind of aggregate owns a stream; the part of the id before `/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Cloud,
    Cluster,
    Account,
    Image,
    Instance,
    Reservation,
    ClientToken,
    SecurityGroup,
    Network,
    ElasticIp,
    AccountName,
    /// Claims a node id for one cluster.
    Node,
    /// Refused requests (audit only; no aggregate).
    Refused,
    Unknown,
}

impl StreamId {
    pub fn cloud() -> Self {
        StreamId("cloud".to_owned())
    }
    pub fn cluster(zone: &ZoneName) -> Self {
        StreamId(format!("cluster/{zone}"))
    }
    pub fn account(account: &AccountId) -> Self {
        StreamId(format!("account/{account}"))
    }
    pub fn image(image: &ImageId) -> Self {
        StreamId(format!("image/{image}"))
    }
    pub fn instance(instance: &InstanceId) -> Self {
        StreamId(format!("instance/{instance}"))
    }
    pub fn reservation(reservation: &ReservationId) -> Self {
        StreamId(format!("reservation/{reservation}"))
    }
    pub fn client_token(account: &AccountId, token: &str) -> Self {
        StreamId(format!("token/{account}/{token}"))
    }

    /// Claims an account name.
    pub fn account_name(name: &str) -> Self {
        StreamId(format!("account-name/{name}"))
    }
    pub fn security_group(group: &SecurityGroupId) -> Self {
        StreamId(format!("sg/{group}"))
    }
    /// Claims a node id (for the cluster of its first registration).
    pub fn node(node: &NodeId) -> Self {
        StreamId(format!("node/{node}"))
    }
    pub fn network() -> Self {
        StreamId("network".to_owned())
    }
    pub fn elastic_ip(allocation: &AllocationId) -> Self {
        StreamId(format!("eip/{allocation}"))
    }

    /// Every refused request of every account (`RequestRefused`): one
    /// stream appended with any expected version, since no decision reads
    /// it, so refusals never conflict with each other or with decisions.
    pub fn refused() -> Self {
        StreamId("refused".to_owned())
    }

    /// A stream id read back from the log.
    pub fn from_stored(s: &str) -> Self {
        StreamId(s.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> StreamKind {
        match self.0.split('/').next().unwrap_or("") {
            "cloud" => StreamKind::Cloud,
            "cluster" => StreamKind::Cluster,
            "account" => StreamKind::Account,
            "image" => StreamKind::Image,
            "instance" => StreamKind::Instance,
            "reservation" => StreamKind::Reservation,
            "token" => StreamKind::ClientToken,
            "sg" => StreamKind::SecurityGroup,
            "network" => StreamKind::Network,
            "eip" => StreamKind::ElasticIp,
            "account-name" => StreamKind::AccountName,
            "node" => StreamKind::Node,
            "refused" => StreamKind::Refused,
            _ => StreamKind::Unknown,
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamId({})", self.0)
    }
}
