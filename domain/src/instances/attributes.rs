//! ModifyInstanceAttribute: the instance's type (as the cloud's VM types
//! say it is), user data, termination protection, shutdown behaviour, its
//! security groups, and its volumes' DeleteOnTermination.

use super::events::InstanceGroupsChanged;
use super::state::{Instance, InstanceAttribute, ShutdownBehavior};
use super::states::owned;
use crate::aggregate::{StateView, need};
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::model::*;
use crate::security_groups::{GroupRef, SecurityGroupMemberAdded, SecurityGroupMemberRemoved, resolve_group};
use crate::stream::StreamId;

/// ModifyInstanceAttribute. An instance type is named; the cloud's VM types
/// say what it is.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeChange {
    InstanceType(String),
    UserData(Vec<u8>),
    DisableApiTermination(bool),
    ShutdownBehavior(ShutdownBehavior),
    /// Replace the instance's security groups.
    Groups(Vec<GroupRef>),
    /// `BlockDeviceMapping.N`: DeleteOnTermination of the volume on each
    /// device.
    DeleteOnTermination(Vec<(String, bool)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModifyInstanceAttribute {
    pub account: AccountId,
    pub instance: InstanceId,
    pub change: AttributeChange,
    pub at: Timestamp,
}

impl ModifyInstanceAttribute {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::instance(&self.instance), StreamId::cloud()]
    }
}

pub(crate) fn modify_instance_attribute(
    c: &ModifyInstanceAttribute,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let instance = owned(view, &c.account, std::slice::from_ref(&c.instance), c.at)?[0];
    match &c.change {
        AttributeChange::Groups(refs) => return change_groups(view, instance, &c.account, refs, c.at),
        AttributeChange::DeleteOnTermination(changes) => {
            return crate::volumes::set_delete_on_termination(view, instance, changes, c.at);
        }
        _ => {}
    }
    let attribute = match &c.change {
        AttributeChange::InstanceType(name) => {
            let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
            let t = cloud.vm_type(name).ok_or_else(|| DecideError::UnknownInstanceType(name.clone()))?;
            InstanceAttribute::InstanceType(t.clone())
        }
        AttributeChange::UserData(d) => InstanceAttribute::UserData(d.clone()),
        AttributeChange::DisableApiTermination(v) => InstanceAttribute::DisableApiTermination(*v),
        AttributeChange::ShutdownBehavior(b) => InstanceAttribute::ShutdownBehavior(*b),
        AttributeChange::Groups(_) | AttributeChange::DeleteOnTermination(_) => {
            unreachable!("handled above")
        }
    };
    let event = instance.change_attribute(&attribute, c.at)?;
    Ok(vec![(StreamId::instance(&instance.id), event)])
}

/// ModifyInstanceAttribute GroupId.N: the instance leaves its old groups
/// and joins the new ones (all of the caller's account).
fn change_groups(
    view: &dyn StateView,
    instance: &Instance,
    account: &AccountId,
    refs: &[GroupRef],
    at: Timestamp,
) -> Result<Events, DecideError> {
    if instance.is_gone() {
        return Err(DecideError::IncorrectInstanceState {
            instance: instance.id.clone(),
            state: instance.state,
            action: "change its security groups",
        });
    }
    if refs.is_empty() {
        return Err(DecideError::GroupNotFound(String::new()));
    }
    let mut groups: Vec<SecurityGroupId> = Vec::new();
    for r in refs {
        let id = resolve_group(view, account, r)?;
        if !groups.contains(&id) {
            groups.push(id);
        }
    }
    need(view, groups.iter().chain(instance.groups.iter()).map(StreamId::security_group))?;
    if groups == instance.groups {
        return Ok(Vec::new());
    }
    let mut events: Events =
        vec![(StreamId::instance(&instance.id), InstanceGroupsChanged { groups: groups.clone(), at }.into())];
    for old in instance.groups.iter().filter(|g| !groups.contains(g)) {
        if view.security_group(old).is_some_and(|g| g.members.contains(&instance.id)) {
            events.push((
                StreamId::security_group(old),
                SecurityGroupMemberRemoved { instance: instance.id.clone() }.into(),
            ));
        }
    }
    for new in groups.iter().filter(|g| !instance.groups.contains(g)) {
        events.push((
            StreamId::security_group(new),
            SecurityGroupMemberAdded { instance: instance.id.clone() }.into(),
        ));
    }
    Ok(events)
}
