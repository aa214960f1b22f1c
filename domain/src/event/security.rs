//! Events of security group streams: the group, its rules, and the
//! instances that are its members (a group in use cannot be deleted).

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupCreated {
    pub group: SecurityGroupId,
    pub account: AccountId,
    pub name: String,
    pub description: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityRulesAuthorized {
    pub direction: Direction,
    pub rules: Vec<SecurityRule>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityRulesRevoked {
    pub direction: Direction,
    pub rules: Vec<SecurityRule>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupMemberAdded {
    pub instance: InstanceId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupMemberRemoved {
    pub instance: InstanceId,
}

/// A rule of group `by` now names this group as its source: this group
/// cannot be deleted while such rules exist.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupReferenced {
    pub by: SecurityGroupId,
}

/// A rule of group `by` naming this group was revoked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupDereferenced {
    pub by: SecurityGroupId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupDeleted {
    pub at: Timestamp,
}
