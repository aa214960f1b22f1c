//! CreateTags / DeleteTags: tags live in the stream of the resource, which
//! must belong to the caller.

use super::need;
use crate::aggregate::{Aggregate, StateView};
use crate::aggregates::tags::Tags;
use crate::command::{CreateTags, DeleteTags};
use crate::error::DecideError;
use crate::event::*;
use crate::ids::*;
use crate::model::TagRemoval;
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

/// The streams of `resources`, read, and the tags of each (all must be
/// the caller's).
fn tagged<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    resources: &'v [String],
) -> Result<Vec<(&'v String, StreamId, &'v Tags)>, DecideError> {
    let mut streams = Vec::new();
    for resource in resources {
        let stream =
            stream_of(account, resource).ok_or_else(|| DecideError::ResourceNotFound(resource.clone()))?;
        streams.push(stream);
    }
    need(view, streams.iter().cloned())?;
    resources
        .iter()
        .zip(streams)
        .map(|(resource, stream)| {
            let tags = owned_tags(view, account, resource, &stream)
                .ok_or_else(|| DecideError::ResourceNotFound(resource.clone()))?;
            Ok((resource, stream, tags))
        })
        .collect()
}

pub(super) fn create_tags(c: &CreateTags, view: &dyn StateView) -> Result<Events, DecideError> {
    if c.tags.is_empty() {
        return Ok(Vec::new());
    }
    tagged(view, &c.account, &c.resources)?
        .into_iter()
        .map(|(resource, stream, tags)| Ok((stream, tags.create(resource, &c.tags, c.at)?)))
        .collect()
}

/// DeleteTags; without removals, every tag each resource has (as its own
/// stream says, never as a read model that may lag).
pub(super) fn delete_tags(c: &DeleteTags, view: &dyn StateView) -> Result<Events, DecideError> {
    let mut events = Vec::new();
    for (resource, stream, tags) in tagged(view, &c.account, &c.resources)? {
        let every: Vec<TagRemoval>;
        let removals = if c.removals.is_empty() {
            every = tags.0.keys().map(|key| TagRemoval { key: key.clone(), value: None }).collect();
            &every
        } else {
            &c.removals
        };
        events.extend(tags.delete(resource, removals, c.at).map(|event| (stream, event)));
    }
    Ok(events)
}
