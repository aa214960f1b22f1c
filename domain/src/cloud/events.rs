//! Events of the cloud stream.

use super::state::VmType;
use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

/// The cloud was set up: its region, VM types and system account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudInitialized {
    pub region: String,
    pub vm_types: Vec<VmType>,
    pub at: Timestamp,
}

/// A VM type was defined or changed (Eucalyptus's
/// ModifyInstanceTypeAttribute); instances already running keep their size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmTypeSet {
    pub vm_type: VmType,
    pub at: Timestamp,
}

/// A cluster (availability zone) joined the cloud.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterAdded {
    pub zone: ZoneName,
    pub at: Timestamp,
}
