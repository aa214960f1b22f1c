//! Why the domain refused a command. The API maps each to an EC2 error code
//! in one place (api/src/ec2/error.rs).

use crate::ids::*;
use crate::model::InstanceState;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecideError {
    #[error("the cloud is already initialized")]
    CloudAlreadyInitialized,
    #[error("the cloud is not initialized")]
    CloudNotInitialized,
    #[error("unknown availability zone {0}")]
    UnknownZone(ZoneName),
    #[error("availability zone {0} already exists")]
    ZoneExists(ZoneName),
    #[error("node {0} is already registered")]
    NodeExists(NodeId),
    #[error("account {0} already exists")]
    AccountExists(AccountId),
    #[error("account {0} does not exist")]
    AccountNotFound(AccountId),
    #[error("access key {0} already exists")]
    AccessKeyExists(AccessKeyId),
    #[error("image {0} already exists")]
    ImageExists(ImageId),
    #[error("image {0} does not exist")]
    ImageNotFound(ImageId),
    #[error("image {0} is not a machine image")]
    NotAMachineImage(ImageId),
    #[error("unknown instance type {0}")]
    UnknownInstanceType(String),
    #[error("invalid instance count: min {min}, max {max}")]
    InvalidCount { min: u32, max: u32 },
    #[error("not enough capacity in {zone} for {requested} x {vm_type} (room for {available})")]
    InsufficientCapacity { zone: ZoneName, vm_type: String, requested: u32, available: u32 },
    #[error("instances do not exist: {0:?}")]
    InstanceNotFound(Vec<InstanceId>),
    #[error("instance {instance} is {state}: cannot {action}")]
    IncorrectInstanceState { instance: InstanceId, state: InstanceState, action: &'static str },
    #[error("client token {token:?} was used with other parameters")]
    IdempotentParameterMismatch { token: String },
    #[error("id {0} is already in use")]
    IdInUse(String),
    #[error("instance {instance} is not placed on node {node}")]
    NotPlacedOnNode { instance: InstanceId, node: NodeId },
}
