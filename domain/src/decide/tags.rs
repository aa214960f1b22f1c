//! CreateTags / DeleteTags: tags live in the stream of the resource, which
//! must belong to the caller.

use super::need;
use crate::aggregate::{Aggregate, StateView};
use crate::aggregates::tags::Tags;
use crate::command::ChangeTags;
use crate::error::DecideError;
use crate::event::*;
use crate::ids::*;
use crate::stream::StreamId;

type Events = Vec<(StreamId, Event)>;

/// The stream a taggable resource id lives in.
fn stream_of(account: &AccountId, resource: &str) -> Option<StreamId> {
    if let Ok(id) = InstanceId::parse(resource) {
        Some(StreamId::instance(&id))
    } else if let Ok(id) = SecurityGroupId::parse(resource) {
        Some(StreamId::security_group(&id))
    } else if let Ok(id) = AllocationId::parse(resource) {
        Some(StreamId::elastic_ip(&id))
    } else if let Ok(id) = ImageId::parse(resource) {
        Some(StreamId::image(&id))
    } else if KeyPairId::parse(resource).is_ok() {
        Some(StreamId::account(account))
    } else {
        None
    }
}

/// The tags of `resource` if the caller owns it.
fn owned_tags<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    resource: &str,
    stream: &StreamId,
) -> Option<&'v Tags> {
    match view.get(stream)? {
        Aggregate::Instance(i) if &i.account == account => Some(&i.tags),
        Aggregate::SecurityGroup(g) if &g.account == account && !g.deleted => Some(&g.tags),
        Aggregate::ElasticIp(e) if &e.account == account && !e.released => Some(&e.tags),
        Aggregate::Image(i) if &i.owner == account => Some(&i.tags),
        Aggregate::Account(a) if &a.id == account => a.key_pair_by_id(resource).map(|(_, k)| &k.tags),
        _ => None,
    }
}

pub(super) fn change_tags(c: &ChangeTags, view: &dyn StateView) -> Result<Events, DecideError> {
    let mut streams = Vec::new();
    for resource in &c.resources {
        let stream =
            stream_of(&c.account, resource).ok_or_else(|| DecideError::ResourceNotFound(resource.clone()))?;
        streams.push(stream);
    }
    need(view, streams.iter().cloned())?;
    let mut events = Vec::new();
    for (resource, stream) in c.resources.iter().zip(streams) {
        let tags = owned_tags(view, &c.account, resource, &stream)
            .ok_or_else(|| DecideError::ResourceNotFound(resource.clone()))?;
        if !c.create.is_empty() {
            events.push((stream.clone(), tags.create(resource, &c.create, c.at)?));
        }
        if !c.delete.is_empty()
            && let Some(event) = tags.delete(resource, &c.delete, c.at)
        {
            events.push((stream, event));
        }
    }
    Ok(events)
}
