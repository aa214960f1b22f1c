//! Launching instances and changing their state and attributes.

use super::{Decision, Reply, StateChange, need, resolve_group};
use crate::aggregate::StateView;
use crate::aggregates::Instance;
use crate::command::*;
use crate::error::DecideError;
use crate::event::*;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;
use std::collections::BTreeMap;

type Events = Vec<(StreamId, Event)>;

/// The zone asked for, or else the one whose reachable nodes have the most
/// free CPUs (ties: the first by name), as the clusters' own streams say.
fn launch_zone(c: &RunInstances, view: &dyn StateView) -> Result<ZoneName, DecideError> {
    if let Some(zone) = &c.zone {
        return Ok(zone.clone());
    }
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    need(view, cloud.zones.iter().map(StreamId::cluster))?;
    let free_cpus = |cluster: &crate::aggregates::Cluster| -> u64 {
        cluster.nodes.values().filter(|n| n.reachable).map(|n| u64::from(n.free().cpus)).sum()
    };
    cloud
        .zones
        .iter()
        .filter_map(|zone| view.cluster(zone))
        .max_by_key(|cluster| (free_cpus(cluster), std::cmp::Reverse(&cluster.zone)))
        .map(|cluster| cluster.zone.clone())
        .ok_or(DecideError::NoZoneAvailable)
}

pub(super) fn run_instances(c: &RunInstances, view: &dyn StateView) -> Result<Decision, DecideError> {
    if let Some(token) = &c.client_token
        && let Some(claimed) = view.client_token(&c.account, token)
    {
        // A claim of the previous release names the zone it chose for a
        // request that named none.
        let same = claimed.fingerprint == c.fingerprint()
            || c.zone.is_none() && claimed.fingerprint == c.fingerprint_in(launch_zone(c, view)?.as_str());
        if !same {
            return Err(DecideError::IdempotentParameterMismatch { token: token.clone() });
        }
        return Ok(Decision {
            events: Vec::new(),
            reply: Reply::Launched {
                reservation: claimed.reservation.clone(),
                instances: Vec::new(),
                replayed: true,
            },
        });
    }
    if c.min_count < 1 || c.min_count > c.max_count || c.instance_ids.len() < c.max_count as usize {
        return Err(DecideError::InvalidCount { min: c.min_count, max: c.max_count });
    }
    let zone = launch_zone(c, view)?;
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    let vm_type =
        cloud.vm_type(&c.vm_type).ok_or_else(|| DecideError::UnknownInstanceType(c.vm_type.clone()))?;
    let image = match view.image(&c.image) {
        Some(img) if img.visible_to(&c.account) => img,
        _ => return Err(DecideError::ImageNotFound(c.image.clone())),
    };
    if image.kind != ImageKind::Machine {
        return Err(DecideError::NotAMachineImage(c.image.clone()));
    }
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if let Some(key) = &c.key_name
        && !account.key_pairs.contains_key(key)
    {
        return Err(DecideError::KeyPairNotFound(key.clone()));
    }
    let default = [GroupRef::Name("default".into())];
    let refs = if c.groups.is_empty() { &default[..] } else { &c.groups[..] };
    let mut groups = Vec::new();
    for g in refs {
        let id = resolve_group(view, &c.account, g)?;
        if !groups.contains(&id) {
            groups.push(id);
        }
    }
    need(view, groups.iter().map(StreamId::security_group))?;
    let cluster = view.cluster(&zone).ok_or_else(|| DecideError::UnknownZone(zone.clone()))?;
    let network = view.network().ok_or(DecideError::CloudNotInitialized)?;
    let amount = Resources::of(vm_type);
    let mut nodes = cluster.place(&amount, c.max_count as usize);
    if nodes.len() < c.min_count as usize {
        return Err(DecideError::InsufficientCapacity {
            zone: zone.clone(),
            vm_type: vm_type.name.clone(),
            requested: c.min_count,
            available: nodes.len() as u32,
        });
    }
    let private = network.free_private(nodes.len());
    if private.len() < c.min_count as usize {
        return Err(DecideError::PrivateAddressesExhausted);
    }
    nodes.truncate(private.len());
    let public = network.free_public(nodes.len());
    let launched: Vec<InstanceId> = c.instance_ids[..nodes.len()].to_vec();
    for id in &launched {
        if view.instance(id).is_some() {
            return Err(DecideError::IdInUse(id.to_string()));
        }
    }
    let mut events: Events = Vec::with_capacity(2 + launched.len() * (7 + groups.len()));
    if let Some(token) = &c.client_token {
        events.push((
            StreamId::client_token(&c.account, token),
            ClientTokenClaimed {
                account: c.account.clone(),
                token: token.clone(),
                reservation: c.reservation.clone(),
                fingerprint: c.fingerprint(),
            }
            .into(),
        ));
    }
    events.push((
        StreamId::reservation(&c.reservation),
        ReservationCreated {
            reservation: c.reservation.clone(),
            account: c.account.clone(),
            requester: c.requester.clone(),
            instances: launched.clone(),
            at: c.at,
        }
        .into(),
    ));
    for (index, (id, node)) in launched.iter().zip(nodes).enumerate() {
        let stream = StreamId::instance(id);
        let private_address = private[index].clone();
        let public_address = public.get(index).cloned();
        events.push((
            stream.clone(),
            InstanceRequested {
                instance: id.clone(),
                reservation: c.reservation.clone(),
                account: c.account.clone(),
                image: c.image.clone(),
                kernel: image.kernel.clone(),
                ramdisk: image.ramdisk.clone(),
                vm_type: vm_type.clone(),
                launch_index: index as u32,
                user_data: c.user_data.clone(),
                client_token: c.client_token.clone(),
                key_name: c.key_name.clone(),
                security_groups: groups.clone(),
                shutdown_behavior: c.shutdown_behavior,
                disable_api_termination: c.disable_api_termination,
                at: c.at,
            }
            .into(),
        ));
        events.push((
            stream.clone(),
            InstancePlaced { node: node.clone(), zone: zone.clone(), at: c.at }.into(),
        ));
        events
            .push((StreamId::cluster(&zone), CapacityReserved { node, instance: id.clone(), amount }.into()));
        events.push((
            StreamId::network(),
            PrivateAddressTaken { address: private_address.clone(), instance: id.clone() }.into(),
        ));
        if let Some(address) = &public_address {
            events.push((
                StreamId::network(),
                PublicAddressTaken { address: address.clone(), holder: AddressHolder::Instance(id.clone()) }
                    .into(),
            ));
        }
        events.push((stream.clone(), InstanceAddressed { private_address, public_address }.into()));
        for g in &groups {
            events.push((
                StreamId::security_group(g),
                SecurityGroupMemberAdded { instance: id.clone() }.into(),
            ));
        }
        if !c.tags.is_empty() {
            events.push((
                stream,
                TagsCreated { resource: id.to_string(), tags: c.tags.clone(), at: c.at }.into(),
            ));
        }
    }
    Ok(Decision {
        events,
        reply: Reply::Launched { reservation: c.reservation.clone(), instances: launched, replayed: false },
    })
}

/// The caller's instances among `ids` (each once, in order); all of them
/// must exist and belong to the caller.
fn owned<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    ids: &[InstanceId],
) -> Result<Vec<&'v Instance>, DecideError> {
    let mut missing = Vec::new();
    let mut found: Vec<&Instance> = Vec::new();
    for id in ids {
        match view.instance(id) {
            Some(i) if &i.account == account => {
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

pub(super) fn terminate(c: &InstanceIds, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_states(view, &c.account, &c.instances, Transition::Terminate, c.at)
}

pub(super) fn stop(c: &StopInstances, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_states(view, &c.account, &c.instances, Transition::Stop { force: c.force }, c.at)
}

pub(super) fn start(c: &InstanceIds, view: &dyn StateView) -> Result<Decision, DecideError> {
    change_states(view, &c.account, &c.instances, Transition::Start, c.at)
}

pub(super) fn reboot(c: &InstanceIds, view: &dyn StateView) -> Result<Decision, DecideError> {
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
    let instances = owned(view, account, ids)?;
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
    let fits = |id: &NodeId, n: &crate::aggregates::Node| {
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
            vm_type: instance.vm_type.name.clone(),
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

pub(super) fn modify_attribute(
    c: &ModifyInstanceAttribute,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let instance = owned(view, &c.account, std::slice::from_ref(&c.instance))?[0];
    if let AttributeChange::Groups(refs) = &c.change {
        return change_groups(view, instance, &c.account, refs, c.at);
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
        AttributeChange::Groups(_) => unreachable!("handled above"),
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
