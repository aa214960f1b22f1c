//! TerminateInstances, StopInstances, StartInstances and RebootInstances:
//! each instance's own transition, and for a start, room on a node of its
//! zone and a public address again.

use super::events::{InstancePlaced, InstancePublicAddressChanged};
use super::state::{Instance, InstanceState};
use crate::addresses::{AddressHolder, PublicAddressTaken};
use crate::aggregate::{StateView, need};
use crate::clusters::{CapacityReserved, Node, Resources};
use crate::decide::{Decision, Events, Reply, StateChange};
use crate::error::DecideError;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;
use std::collections::BTreeMap;

/// The caller's instances named by TerminateInstances, StartInstances or
/// RebootInstances.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceIds {
    pub account: AccountId,
    pub instances: Vec<InstanceId>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StopInstances {
    pub account: AccountId,
    pub instances: Vec<InstanceId>,
    /// Without waiting for the guest to shut down.
    pub force: bool,
    pub at: Timestamp,
}

impl InstanceIds {
    pub fn streams(&self) -> Vec<StreamId> {
        self.instances.iter().map(StreamId::instance).collect()
    }
}

impl StopInstances {
    pub fn streams(&self) -> Vec<StreamId> {
        self.instances.iter().map(StreamId::instance).collect()
    }
}

/// The caller's instances among `ids` (each once, in order); all of them
/// must exist at `at` (not [out of view](Instance::out_of_view)) and belong to the caller.
pub(super) fn owned<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    ids: &[InstanceId],
    at: Timestamp,
) -> Result<Vec<&'v Instance>, DecideError> {
    let mut missing = Vec::new();
    let mut found: Vec<&Instance> = Vec::new();
    for id in ids {
        match view.instance(id) {
            Some(i) if &i.account == account && !i.out_of_view(at) => {
                if !found.iter().any(|f| f.id == i.id) {
                    found.push(i);
                }
            }
            _ => missing.push(id.clone()),
        }
    }
    if missing.is_empty() { Ok(found) } else { Err(DecideError::InstanceNotFound(missing)) }
}

/// A change of state a user asks for.
#[derive(Clone, Copy, PartialEq)]
enum Transition {
    Terminate,
    Stop { force: bool },
    Start,
    Reboot,
}

pub(crate) fn terminate_instances(c: &InstanceIds, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_states(view, &c.account, &c.instances, Transition::Terminate, c.at)
}

pub(crate) fn stop_instances(c: &StopInstances, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_states(view, &c.account, &c.instances, Transition::Stop { force: c.force }, c.at)
}

pub(crate) fn start_instances(c: &InstanceIds, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_states(view, &c.account, &c.instances, Transition::Start, c.at)
}

pub(crate) fn reboot_instances(c: &InstanceIds, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_states(view, &c.account, &c.instances, Transition::Reboot, c.at)
}

/// Each instance's previous and current state in the reply.
fn change_states(
    view: &dyn StateView,
    account: &AccountId,
    ids: &[InstanceId],
    transition: Transition,
    at: Timestamp,
) -> Result<Decision, DecideError> {
    let instances = owned(view, account, ids, at)?;
    let mut events: Events = Vec::new();
    let mut changes = Vec::new();
    let mut taking = Taking::default();
    for instance in instances {
        let event = match transition {
            Transition::Terminate => instance.request_termination(at)?,
            Transition::Stop { force } => instance.request_stop(force, at)?,
            Transition::Start => instance.request_start(at)?,
            Transition::Reboot => instance.request_reboot(at)?,
        };
        let current = match (&event, transition) {
            (None, _) | (Some(_), Transition::Reboot) => instance.state,
            (Some(_), Transition::Terminate) => InstanceState::ShuttingDown,
            (Some(_), Transition::Stop { .. }) => InstanceState::Stopping,
            (Some(_), Transition::Start) => InstanceState::Pending,
        };
        if let Some(event) = event {
            events.push((StreamId::instance(&instance.id), event));
            if transition == Transition::Start {
                events.extend(start_placement(view, instance, &mut taking, at)?);
            }
        }
        changes.push(StateChange { instance: instance.id.clone(), previous: instance.state, current });
    }
    Ok(Decision { events, reply: Reply::StateChanges(changes) })
}

/// What instances started earlier in the same call take.
#[derive(Default)]
struct Taking {
    room: BTreeMap<(ZoneName, NodeId), Resources>,
    public: Vec<String>,
}

/// A stopped instance starting again: room on a node of its zone (the one
/// it ran on, where its disk is, if that one has room), and a public
/// address unless an elastic IP is associated.
fn start_placement(
    view: &dyn StateView,
    instance: &Instance,
    taking: &mut Taking,
    at: Timestamp,
) -> Result<Events, DecideError> {
    let zone = instance.zone.clone().ok_or_else(|| DecideError::IncorrectInstanceState {
        instance: instance.id.clone(),
        state: instance.state,
        action: "be started (it was never placed)",
    })?;
    need(view, [StreamId::cluster(&zone), StreamId::network()])?;
    let cluster = view.cluster(&zone).ok_or_else(|| DecideError::UnknownZone(zone.clone()))?;
    let amount = instance.resources();
    let fits = |id: &NodeId, n: &Node| {
        let extra = taking.room.get(&(zone.clone(), id.clone())).copied().unwrap_or_default();
        n.reachable && amount.fits_in(&n.free().saturating_sub(&extra))
    };
    // Its disk is on the node it ran on: back there if it has room.
    let previous = instance.node.as_ref().and_then(|id| cluster.nodes.get_key_value(id));
    let node = previous
        .filter(|(id, n)| fits(id, n))
        .or_else(|| cluster.nodes.iter().find(|(id, n)| fits(id, n)))
        .map(|(id, _)| id.clone())
        .ok_or_else(|| DecideError::InsufficientCapacity {
            zone: zone.clone(),
            vm_type: instance.vm_type.name.to_string(),
            requested: 1,
            available: 0,
        })?;
    let entry = taking.room.entry((zone.clone(), node.clone())).or_default();
    *entry = entry.add(&amount);
    let mut events: Events = vec![
        (
            StreamId::instance(&instance.id),
            InstancePlaced { node: node.clone(), zone: zone.clone(), at }.into(),
        ),
        (StreamId::cluster(&zone), CapacityReserved { node, instance: instance.id.clone(), amount }.into()),
    ];
    if instance.elastic.is_none()
        && let Some(network) = view.network()
    {
        let free = network.free_public(taking.public.len() + 1);
        if let Some(address) = free.into_iter().find(|a| !taking.public.contains(a)) {
            taking.public.push(address.clone());
            events.push((
                StreamId::network(),
                PublicAddressTaken {
                    address: address.clone(),
                    holder: AddressHolder::Instance(instance.id.clone()),
                }
                .into(),
            ));
            events.push((
                StreamId::instance(&instance.id),
                InstancePublicAddressChanged { public_address: Some(address), elastic: None }.into(),
            ));
        }
    }
    Ok(events)
}
