//! Tags: CreateTags and DeleteTags, the tag events, and the tags every
//! taggable state keeps. Tags live in the stream of the resource they tag
//! (for key pairs, of the account that owns them), which must belong to
//! the caller, and the rules on them (at most fifty a resource) are decided
//! there.

use crate::aggregate::{Aggregate, StateView, need};
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::model::Timestamp;
use crate::registry::TagEvent;
use crate::stream::StreamId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most tags one resource may carry (EC2's limit).
pub const MAX_TAGS: usize = 50;

/// A tag on a resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A tag to remove: by key, or by key and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TagRemoval {
    pub key: String,
    pub value: Option<String>,
}

// Events, stored in the stream of the resource they tag.

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TagsCreated {
    /// The tagged resource's id (`i-…`, `sg-…`, `key-…`, …).
    pub resource: String,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TagsDeleted {
    pub resource: String,
    pub removals: Vec<TagRemoval>,
    pub at: Timestamp,
}

impl TagEvent<'_> {
    /// The resource the event tags.
    pub fn resource(&self) -> &str {
        match self {
            TagEvent::TagsCreated(e) => &e.resource,
            TagEvent::TagsDeleted(e) => &e.resource,
        }
    }
}

/// The tags of one resource, and the rules on them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tags(pub BTreeMap<String, String>);

impl Tags {
    /// Folds a tag event of this resource.
    pub fn apply(&mut self, event: TagEvent<'_>) {
        match event {
            TagEvent::TagsCreated(e) => {
                for t in &e.tags {
                    self.0.insert(t.key.clone(), t.value.clone());
                }
            }
            TagEvent::TagsDeleted(e) => {
                for r in &e.removals {
                    if r.value.as_ref().is_none_or(|v| self.0.get(&r.key) == Some(v)) {
                        self.0.remove(&r.key);
                    }
                }
            }
        }
    }

    /// CreateTags on this resource: new keys must stay within the limit.
    pub fn create(&self, resource: &str, tags: &[Tag], at: Timestamp) -> Result<crate::Event, DecideError> {
        let new_keys = tags.iter().filter(|t| !self.0.contains_key(&t.key)).count();
        if self.0.len() + new_keys > MAX_TAGS {
            return Err(DecideError::TagLimitExceeded { resource: resource.to_owned() });
        }
        Ok(TagsCreated { resource: resource.to_owned(), tags: tags.to_vec(), at }.into())
    }

    /// DeleteTags on this resource; `None` when nothing would change.
    pub fn delete(&self, resource: &str, removals: &[TagRemoval], at: Timestamp) -> Option<crate::Event> {
        let changes = removals
            .iter()
            .any(|r| self.0.get(&r.key).is_some_and(|v| r.value.as_ref().is_none_or(|want| want == v)));
        changes.then(|| TagsDeleted { resource: resource.to_owned(), removals: removals.to_vec(), at }.into())
    }
}

// Commands.

/// Tags on several of the caller's resources at once.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateTags {
    pub account: AccountId,
    pub resources: Vec<String>,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteTags {
    pub account: AccountId,
    pub resources: Vec<String>,
    /// By key, or key and value; none: every tag of each resource.
    pub removals: Vec<TagRemoval>,
    pub at: Timestamp,
}

impl CreateTags {
    /// The resources' streams are asked for once their ids are read.
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

impl DeleteTags {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::account(&self.account)]
    }
}

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
    } else if let Ok(id) = VolumeId::parse(resource) {
        Some(StreamId::volume(&id))
    } else if let Ok(id) = SnapshotId::parse(resource) {
        Some(StreamId::snapshot(&id))
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
    at: Timestamp,
) -> Option<&'v Tags> {
    match view.get(stream)? {
        Aggregate::Instance(i) if &i.account == account && !i.out_of_view(at) => Some(&i.tags),
        Aggregate::SecurityGroup(g) if &g.account == account && !g.deleted => Some(&g.tags),
        Aggregate::ElasticIp(e) if &e.account == account && !e.released => Some(&e.tags),
        Aggregate::Image(i) if &i.owner == account => Some(&i.tags),
        Aggregate::Account(a) if &a.id == account => a.key_pair_by_id(resource).map(|(_, k)| &k.tags),
        Aggregate::Volume(v) if &v.account == account && !v.is_deleted() => Some(&v.tags),
        Aggregate::Snapshot(s) if &s.account == account && !s.deleted => Some(&s.tags),
        // Someone else's, or a kind of resource that has no tags.
        Aggregate::Instance(_)
        | Aggregate::SecurityGroup(_)
        | Aggregate::ElasticIp(_)
        | Aggregate::Image(_)
        | Aggregate::Account(_)
        | Aggregate::Volume(_)
        | Aggregate::Snapshot(_)
        | Aggregate::Storage(_)
        | Aggregate::Bucket(_)
        | Aggregate::Empty
        | Aggregate::Cloud(_)
        | Aggregate::Cluster(_)
        | Aggregate::Network(_)
        | Aggregate::Reservation(_)
        | Aggregate::ClientToken(_)
        | Aggregate::AccountName(_)
        | Aggregate::Node(_) => None,
    }
}

/// The streams of `resources`, read, and the tags of each (all must be
/// the caller's).
fn tagged<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    resources: &'v [String],
    at: Timestamp,
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
            let tags = owned_tags(view, account, resource, &stream, at)
                .ok_or_else(|| DecideError::ResourceNotFound(resource.clone()))?;
            Ok((resource, stream, tags))
        })
        .collect()
}

pub(crate) fn create_tags(c: &CreateTags, view: &dyn StateView) -> Result<Events, DecideError> {
    if c.tags.is_empty() {
        return Ok(Vec::new());
    }
    tagged(view, &c.account, &c.resources, c.at)?
        .into_iter()
        .map(|(resource, stream, tags)| Ok((stream, tags.create(resource, &c.tags, c.at)?)))
        .collect()
}

/// DeleteTags; without removals, every tag each resource has (as its own
/// stream says, never as a read model that may lag).
pub(crate) fn delete_tags(c: &DeleteTags, view: &dyn StateView) -> Result<Events, DecideError> {
    let mut events = Vec::new();
    for (resource, stream, tags) in tagged(view, &c.account, &c.resources, c.at)? {
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
