//! Tags kept by every taggable aggregate, and the rules on them.

use crate::error::DecideError;
use crate::event::{Event, TagsCreated, TagsDeleted};
use crate::model::{Tag, TagRemoval, Timestamp};
use std::collections::BTreeMap;

/// Most tags one resource may carry (EC2's limit).
pub const MAX_TAGS: usize = 50;

/// The resource a tag event is about.
pub(crate) fn tag_resource(event: &Event) -> Option<&str> {
    match event {
        Event::TagsCreated(e) => Some(&e.resource),
        Event::TagsDeleted(e) => Some(&e.resource),
        _ => None,
    }
}

#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Tags(pub BTreeMap<String, String>);

impl Tags {
    /// Folds a tag event for `resource`; other events are ignored.
    pub fn apply(&mut self, resource: &str, event: &Event) {
        match event {
            Event::TagsCreated(e) if e.resource == resource => {
                for t in &e.tags {
                    self.0.insert(t.key.clone(), t.value.clone());
                }
            }
            Event::TagsDeleted(e) if e.resource == resource => {
                for r in &e.removals {
                    if r.value.as_ref().is_none_or(|v| self.0.get(&r.key) == Some(v)) {
                        self.0.remove(&r.key);
                    }
                }
            }
            _ => {}
        }
    }

    /// CreateTags on this resource: new keys must stay within the limit.
    pub fn create(&self, resource: &str, tags: &[Tag], at: Timestamp) -> Result<Event, DecideError> {
        let new_keys = tags.iter().filter(|t| !self.0.contains_key(&t.key)).count();
        if self.0.len() + new_keys > MAX_TAGS {
            return Err(DecideError::TagLimitExceeded { resource: resource.to_owned() });
        }
        Ok(TagsCreated { resource: resource.to_owned(), tags: tags.to_vec(), at }.into())
    }

    /// DeleteTags on this resource; `None` when nothing would change.
    pub fn delete(&self, resource: &str, removals: &[TagRemoval], at: Timestamp) -> Option<Event> {
        let changes = removals
            .iter()
            .any(|r| self.0.get(&r.key).is_some_and(|v| r.value.as_ref().is_none_or(|want| want == v)));
        changes.then(|| TagsDeleted { resource: resource.to_owned(), removals: removals.to_vec(), at }.into())
    }
}
