//! CreateSecurityGroup and DeleteSecurityGroup, and how a group is named
//! in a command (by id or by name in the caller's account).

use super::events::*;
use super::state::{Direction, RuleSource, SecurityRule};
use crate::aggregate::{StateView, need};
use crate::decide::{Decision, Events, Reply};
use crate::error::DecideError;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;
use crate::tags::{Tag, Tags};

/// A security group named by id or by name (in the caller's account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRef {
    Id(SecurityGroupId),
    Name(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateSecurityGroup {
    pub account: AccountId,
    pub group: SecurityGroupId,
    pub name: String,
    pub description: String,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteSecurityGroup {
    pub account: AccountId,
    pub group: GroupRef,
    pub at: Timestamp,
}

impl CreateSecurityGroup {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account), StreamId::security_group(&self.group)]
    }
}

impl DeleteSecurityGroup {
    /// The group's stream is asked for once its name is resolved.
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

/// Resolves a group reference in `account` (its stream must be in view).
pub(crate) fn resolve_group(
    view: &dyn StateView,
    account: &AccountId,
    group: &GroupRef,
) -> Result<SecurityGroupId, DecideError> {
    need(view, [StreamId::account(account)])?;
    let owner = view.account(account).ok_or_else(|| DecideError::AccountNotFound(account.clone()))?;
    match group {
        GroupRef::Name(name) => {
            owner.groups.get(name).cloned().ok_or_else(|| DecideError::GroupNotFound(name.clone()))
        }
        GroupRef::Id(id) => {
            if owner.groups.values().any(|g| g == id) {
                Ok(id.clone())
            } else {
                Err(DecideError::GroupNotFound(id.to_string()))
            }
        }
    }
}

/// A new group's events: its name in the account, the group, and its
/// initial rules (egress to anywhere; the default group also lets its own
/// members in).
pub(crate) fn new_group_events(
    account: &AccountId,
    group: &SecurityGroupId,
    name: &str,
    description: &str,
    default: bool,
    at: Timestamp,
) -> Events {
    let stream = StreamId::security_group(group);
    let everything = |source| SecurityRule { protocol: "-1".into(), from_port: -1, to_port: -1, source };
    let mut events: Events = vec![
        (StreamId::account(account), GroupNameClaimed { name: name.to_owned(), group: group.clone() }.into()),
        (
            stream.clone(),
            SecurityGroupCreated {
                group: group.clone(),
                account: account.clone(),
                name: name.to_owned(),
                description: description.to_owned(),
                at,
            }
            .into(),
        ),
        (
            stream.clone(),
            SecurityRulesAuthorized {
                direction: Direction::Egress,
                rules: vec![everything(RuleSource::Cidr("0.0.0.0/0".into()))],
                at,
            }
            .into(),
        ),
    ];
    if default {
        let own = RuleSource::Group { account: account.clone(), group: group.clone() };
        events.push((
            stream,
            SecurityRulesAuthorized { direction: Direction::Ingress, rules: vec![everything(own)], at }
                .into(),
        ));
    }
    events
}

pub(crate) fn create_security_group(
    c: &CreateSecurityGroup,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.groups.contains_key(&c.name) {
        return Err(DecideError::GroupExists(c.name.clone()));
    }
    if view.get(&StreamId::security_group(&c.group)).is_some_and(|a| !a.is_empty()) {
        return Err(DecideError::IdInUse(c.group.to_string()));
    }
    let mut events = new_group_events(&c.account, &c.group, &c.name, &c.description, false, c.at);
    if !c.tags.is_empty() {
        let tags = Tags::default();
        events.push((StreamId::security_group(&c.group), tags.create(c.group.as_str(), &c.tags, c.at)?));
    }
    Ok(events)
}

pub(crate) fn delete_security_group(
    c: &DeleteSecurityGroup,
    view: &dyn StateView,
) -> Result<Decision, DecideError> {
    let id = resolve_group(view, &c.account, &c.group)?;
    need(view, [StreamId::security_group(&id)])?;
    let group = view.security_group(&id).ok_or_else(|| DecideError::GroupNotFound(id.to_string()))?;
    if group.name == "default" {
        return Err(DecideError::DefaultGroupUndeletable);
    }
    if !group.members.is_empty() {
        return Err(DecideError::GroupInUse { group: id, instances: group.members.len() });
    }
    if let Some(by) = group.referenced_by.keys().find(|by| **by != id) {
        return Err(DecideError::GroupReferenced { group: id.clone(), by: by.clone() });
    }
    Ok(Decision {
        events: vec![
            (
                StreamId::account(&c.account),
                GroupNameReleased { name: group.name.clone(), group: id.clone() }.into(),
            ),
            (StreamId::security_group(&id), SecurityGroupDeleted { at: c.at }.into()),
        ],
        reply: Reply::Group(id),
    })
}
