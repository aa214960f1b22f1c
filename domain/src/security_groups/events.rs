//! Events of security group streams (the group, its rules, the instances
//! that are its members and who names it), and of account streams (the
//! group's name).

use super::state::{Direction, SecurityRule};
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

/// A security group name is taken in its account (names are unique there).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupNameClaimed {
    pub name: String,
    pub group: SecurityGroupId,
}

/// A security group name is free again (its group was deleted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupNameReleased {
    pub name: String,
    pub group: SecurityGroupId,
}
