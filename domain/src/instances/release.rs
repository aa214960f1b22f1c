//! What an instance gives back when it ends (room on its node, its
//! addresses, its elastic IP's association, its group memberships) or
//! stops (its room and its auto-assigned public address).

use super::events::InstancePublicAddressChanged;
use super::state::Instance;
use crate::addresses::{AddressDisassociated, PrivateAddressFreed, PublicAddressFreed};
use crate::aggregate::{StateView, need};
use crate::clusters::CapacityReleased;
use crate::decide::Events;
use crate::error::DecideError;
use crate::model::Timestamp;
use crate::security_groups::SecurityGroupMemberRemoved;
use crate::stream::StreamId;

/// The events that release everything a finished instance held: its room
/// on the node (if held), its addresses, its elastic IP association and its
/// group memberships. Needs the cluster, network, group and elastic IP
/// streams.
pub(crate) fn release_all(
    view: &dyn StateView,
    instance: &Instance,
    at: Timestamp,
) -> Result<Events, DecideError> {
    let mut needed: Vec<StreamId> = vec![StreamId::network()];
    needed.extend(instance.zone.iter().map(StreamId::cluster));
    needed.extend(instance.groups.iter().map(StreamId::security_group));
    needed.extend(instance.elastic.iter().map(StreamId::elastic_ip));
    need(view, needed)?;
    let mut events = crate::volumes::detach_all(view, instance, at)?;
    events.extend(release_capacity(view, instance));
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
pub(crate) fn release_capacity(view: &dyn StateView, instance: &Instance) -> Events {
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
pub(crate) fn release_public_address(view: &dyn StateView, instance: &Instance, at: Timestamp) -> Events {
    let mut events = Vec::new();
    match (&instance.elastic, &instance.public_address) {
        (Some(allocation), _) => {
            // Only while it is this instance's: an address moved to
            // another instance stays there.
            let here = |e: &crate::aggregates::ElasticIp| {
                e.association.as_ref().is_some_and(|(_, holder)| holder == &instance.id)
            };
            if view.elastic_ip(allocation).is_some_and(here) {
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
