//! Events of instance streams.

use super::state::{InstanceAttribute, ShutdownBehavior, StateReason};
use crate::cloud::VmType;
use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

/// An instance was asked for (schema 2: adds the key pair, security groups
/// and the instance's own attributes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRequested {
    pub instance: InstanceId,
    pub reservation: ReservationId,
    pub account: AccountId,
    pub image: ImageId,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub vm_type: VmType,
    pub launch_index: u32,
    pub user_data: Vec<u8>,
    pub client_token: Option<String>,
    pub key_name: Option<String>,
    pub security_groups: Vec<SecurityGroupId>,
    pub shutdown_behavior: ShutdownBehavior,
    pub disable_api_termination: bool,
    pub at: Timestamp,
}

/// `InstanceRequested` as schema 1 stored it; read as schema 2 with no key
/// pair, no groups, and EC2's defaults for the attributes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRequestedV1 {
    pub instance: InstanceId,
    pub reservation: ReservationId,
    pub account: AccountId,
    pub image: ImageId,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub vm_type: VmType,
    pub launch_index: u32,
    pub user_data: Vec<u8>,
    pub client_token: Option<String>,
    pub at: Timestamp,
}

impl From<InstanceRequestedV1> for InstanceRequested {
    fn from(v1: InstanceRequestedV1) -> Self {
        InstanceRequested {
            instance: v1.instance,
            reservation: v1.reservation,
            account: v1.account,
            image: v1.image,
            kernel: v1.kernel,
            ramdisk: v1.ramdisk,
            vm_type: v1.vm_type,
            launch_index: v1.launch_index,
            user_data: v1.user_data,
            client_token: v1.client_token,
            key_name: None,
            security_groups: Vec::new(),
            shutdown_behavior: ShutdownBehavior::Stop,
            disable_api_termination: false,
            at: v1.at,
        }
    }
}

/// The scheduler chose a node: the node executor acts on this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstancePlaced {
    pub node: NodeId,
    pub zone: ZoneName,
    pub at: Timestamp,
}

/// The node reports the guest is up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRunning {
    pub node: NodeId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceTerminationRequested {
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceTerminated {
    pub reason: StateReason,
    pub at: Timestamp,
}

/// The node could not start the guest; the instance ends terminated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceLaunchFailed {
    pub node: NodeId,
    pub reason: StateReason,
    pub at: Timestamp,
}

/// A stopped instance was started again and the node could not start its
/// guest: the instance is stopped again, its disk kept on the node, and a
/// later StartInstances tries again. (A failed first launch is
/// [`InstanceLaunchFailed`] and ends terminated.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceStartFailed {
    pub node: NodeId,
    pub reason: StateReason,
    pub at: Timestamp,
}

/// The addresses an instance got at launch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceAddressed {
    pub private_address: String,
    pub public_address: Option<String>,
}

/// The instance's public address changed (an elastic IP was associated or
/// disassociated, or the instance stopped or started).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstancePublicAddressChanged {
    pub public_address: Option<String>,
    pub elastic: Option<AllocationId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceStopRequested {
    pub force: bool,
    /// Stopped by the guest itself (its shutdown behavior is `stop`).
    pub by_guest: bool,
    pub at: Timestamp,
}

/// The node reports the guest stopped; its disk is kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceStopped {
    pub at: Timestamp,
}

/// A stopped instance was started; it is pending until placed and up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceStartRequested {
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceRebootRequested {
    pub at: Timestamp,
}

/// The instance's security groups were replaced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceGroupsChanged {
    pub groups: Vec<SecurityGroupId>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceAttributeChanged {
    pub attribute: InstanceAttribute,
    pub at: Timestamp,
}
