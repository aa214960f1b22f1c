//! Events of the network stream (the cloud's address pools: which private
//! and public addresses are taken, and by what) and of elastic IP streams.

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

/// The pools addresses are handed out from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressPoolConfigured {
    /// Private addresses of instances, e.g. `172.31.0.0/16`.
    pub private_cidr: String,
    /// Public addresses, for instances and elastic IPs.
    pub public_addresses: Vec<String>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivateAddressTaken {
    pub address: String,
    pub instance: InstanceId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrivateAddressFreed {
    pub address: String,
}

/// Who holds a public address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AddressHolder {
    /// Given to an instance for its life (EC2's auto-assigned public IP).
    Instance(InstanceId),
    /// Allocated to an account as an elastic IP.
    Allocation(AllocationId),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublicAddressTaken {
    pub address: String,
    pub holder: AddressHolder,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PublicAddressFreed {
    pub address: String,
}

/// The cloud administrator set how many elastic IPs an account may hold
/// at once (the cloud administrator's own account excepted). A network
/// without this event allows [`DEFAULT_ELASTIC_IP_LIMIT`](super::DEFAULT_ELASTIC_IP_LIMIT).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElasticIpLimitSet {
    pub per_account: u32,
    pub at: Timestamp,
}

/// An elastic IP was allocated to an account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressAllocated {
    pub allocation: AllocationId,
    pub address: String,
    pub account: AccountId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressAssociated {
    pub association: AssociationId,
    pub instance: InstanceId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressDisassociated {
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddressReleased {
    pub at: Timestamp,
}
