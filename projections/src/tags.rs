//! Tags of every resource, by resource id (DescribeTags and the `tag:`
//! filters of every Describe* read them).

use domain::aggregates::tags::Tags;
use domain::event::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TagsView {
    pub by_resource: BTreeMap<String, Tags>,
}

impl TagsView {
    pub(crate) fn apply(&mut self, event: &Event) {
        let resource = match event {
            Event::TagsCreated(e) => &e.resource,
            Event::TagsDeleted(e) => &e.resource,
            _ => return,
        };
        let tags = self.by_resource.entry(resource.clone()).or_default();
        tags.apply(resource, event);
        if tags.0.is_empty() {
            self.by_resource.remove(resource);
        }
    }

    /// A resource's tags (empty when it has none).
    pub fn of(&self, resource: &str) -> impl Iterator<Item = (&String, &String)> {
        self.by_resource.get(resource).into_iter().flat_map(|t| t.0.iter())
    }

    /// Forgets a resource that is gone (its tags go with it).
    pub(crate) fn forget(&mut self, resource: &str) {
        self.by_resource.remove(resource);
    }
}
