//! `decide(command, state) -> events`: every rule of the domain is applied
//! here or in the aggregate that owns it. One module per area.

mod addresses;
mod instances;
mod keys_and_groups;
mod login_profiles;
mod reports;
mod setup;
mod tags;

use crate::aggregate::StateView;
use crate::command::*;
use crate::error::DecideError;
use crate::event::*;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

/// What a command decided: the events to append (each with its stream) and
/// what to tell the caller.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub events: Vec<(StreamId, Event)>,
    pub reply: Reply,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Done,
    /// RunInstances: the reservation; `replayed` when a client token matched
    /// an earlier call and nothing new was launched.
    Launched {
        reservation: ReservationId,
        instances: Vec<InstanceId>,
        replayed: bool,
    },
    /// Terminate/Stop/Start/RebootInstances: previous and current state.
    StateChanges(Vec<StateChange>),
    /// An elastic IP was named by address; this is its allocation.
    Address {
        allocation: AllocationId,
        address: String,
    },
    /// A security group was named; this is its id.
    Group(SecurityGroupId),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StateChange {
    pub instance: InstanceId,
    pub previous: InstanceState,
    pub current: InstanceState,
}

impl Decision {
    fn done(events: Vec<(StreamId, Event)>) -> Self {
        Decision { events, reply: Reply::Done }
    }
}

pub fn decide(command: &Command, view: &dyn StateView) -> Result<Decision, DecideError> {
    match command {
        Command::BootstrapCloud(c) => setup::bootstrap(c, view).map(Decision::done),
        Command::AddCluster(c) => setup::add_cluster(c, view).map(Decision::done),
        Command::SetVmType(c) => setup::set_vm_type(c, view).map(Decision::done),
        Command::RegisterNode(c) => setup::register_node(c, view).map(Decision::done),
        Command::CreateAccount(c) => setup::create_account(c, view).map(Decision::done),
        Command::CreateUser(c) => setup::create_user(c, view).map(Decision::done),
        Command::CreateAccessKey(c) => setup::create_access_key(c, view).map(Decision::done),
        Command::ChangeAccessKey(c) => setup::change_access_key(c, view).map(Decision::done),
        Command::DeleteUser(c) => setup::delete_user(c, view).map(Decision::done),
        Command::RegisterImage(c) => setup::register_image(c, view).map(Decision::done),
        Command::RunInstances(c) => instances::run_instances(c, view),
        Command::ChangeInstanceStates(c) => instances::change_states(c, view),
        Command::ModifyInstanceAttribute(c) => instances::modify_attribute(c, view).map(Decision::done),
        Command::CreateKeyPair(c) => keys_and_groups::create_key_pair(c, view).map(Decision::done),
        Command::DeleteKeyPair(c) => keys_and_groups::delete_key_pair(c, view).map(Decision::done),
        Command::CreateSecurityGroup(c) => keys_and_groups::create_group(c, view).map(Decision::done),
        Command::DeleteSecurityGroup(c) => keys_and_groups::delete_group(c, view),
        Command::ChangeSecurityRules(c) => keys_and_groups::change_rules(c, view),
        Command::AllocateAddress(c) => addresses::allocate(c, view),
        Command::AssociateAddress(c) => addresses::associate(c, view),
        Command::DisassociateAddress(c) => addresses::disassociate(c, view),
        Command::ReleaseAddress(c) => addresses::release(c, view),
        Command::ChangeTags(c) => tags::change_tags(c, view).map(Decision::done),
        Command::ReportInstance(r) => reports::report_instance(r, view).map(Decision::done),
        Command::SetClusterPolicy(c) => setup::set_cluster_policy(c, view).map(Decision::done),
        Command::MarkNode(c) => setup::mark_node(c, view).map(Decision::done),
        Command::ChangeLoginProfile(c) => login_profiles::change_login_profile(c, view).map(Decision::done),
    }
}

/// Asks for the streams the view does not have yet; `Ok` when it has all.
pub(crate) fn need(
    view: &dyn StateView,
    streams: impl IntoIterator<Item = StreamId>,
) -> Result<(), DecideError> {
    let mut missing: Vec<StreamId> = streams.into_iter().filter(|s| view.get(s).is_none()).collect();
    missing.dedup();
    if missing.is_empty() { Ok(()) } else { Err(DecideError::NeedStreams(missing)) }
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

/// The events that release everything a finished instance held: its room
/// on the node (if held), its addresses, its elastic IP association and its
/// group memberships. Needs the cluster, network, group and elastic IP
/// streams.
pub(crate) fn release_all(
    view: &dyn StateView,
    instance: &crate::aggregates::Instance,
    at: Timestamp,
) -> Result<Vec<(StreamId, Event)>, DecideError> {
    let mut needed: Vec<StreamId> = vec![StreamId::network()];
    needed.extend(instance.zone.iter().map(StreamId::cluster));
    needed.extend(instance.groups.iter().map(StreamId::security_group));
    needed.extend(instance.elastic.iter().map(StreamId::elastic_ip));
    need(view, needed)?;
    let mut events = release_capacity(view, instance);
    events.extend(release_public_address(view, instance, at));
    if let Some(address) = &instance.private_address {
        events.push((StreamId::network(), PrivateAddressFreed { address: address.clone() }.into()));
    }
    for group in &instance.groups {
        let member = view.security_group(group).is_some_and(|g| g.members.contains(&instance.id));
        if member {
            events.push((
                StreamId::security_group(group),
                SecurityGroupMemberRemoved { instance: instance.id.clone() }.into(),
            ));
        }
    }
    Ok(events)
}

/// Gives the instance's room on its node back, if it holds any.
pub(crate) fn release_capacity(
    view: &dyn StateView,
    instance: &crate::aggregates::Instance,
) -> Vec<(StreamId, Event)> {
    let (Some(zone), Some(node)) = (&instance.zone, &instance.node) else { return Vec::new() };
    let holds = view
        .cluster(zone)
        .and_then(|c| c.nodes.get(node))
        .is_some_and(|n| n.instances.contains_key(&instance.id));
    if !holds {
        return Vec::new();
    }
    vec![(
        StreamId::cluster(zone),
        CapacityReleased { node: node.clone(), instance: instance.id.clone() }.into(),
    )]
}

/// Frees the instance's public address: an auto-assigned one goes back to
/// the pool, an elastic IP is disassociated (and stays allocated).
pub(crate) fn release_public_address(
    view: &dyn StateView,
    instance: &crate::aggregates::Instance,
    at: Timestamp,
) -> Vec<(StreamId, Event)> {
    let mut events = Vec::new();
    match (&instance.elastic, &instance.public_address) {
        (Some(allocation), _) => {
            if view.elastic_ip(allocation).is_some_and(|e| e.association.is_some()) {
                events.push((StreamId::elastic_ip(allocation), AddressDisassociated { at }.into()));
            }
        }
        (None, Some(address)) => {
            events.push((StreamId::network(), PublicAddressFreed { address: address.clone() }.into()));
        }
        (None, None) => return events,
    }
    events.push((
        StreamId::instance(&instance.id),
        InstancePublicAddressChanged { public_address: None, elastic: None }.into(),
    ));
    events
}
