//! Tags of every resource, by resource id (DescribeTags and the `tag:`
//! filters of every Describe* read them), and indexes of resources by tag
//! key and value and by value alone, so that a tag filter (`tag:Key`,
//! `tag-key`, `tag-value`) looks at the resources it matches rather than at
//! every resource of an account.

use domain::aggregate::TagEvent;
use domain::aggregates::tags::Tags;
use domain::event::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TagsView {
    pub by_resource: BTreeMap<String, Tags>,
    /// key → value → resources. Derived from `by_resource`: not stored in
    /// snapshots, rebuilt when one is read.
    by_key: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// value → key → resources: the same entries by value first (for
    /// `tag-value`). Derived likewise.
    by_value: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl TagsView {
    pub(crate) fn apply(&mut self, event: &Event) {
        let (resource, tag_event) = match event {
            Event::TagsCreated(e) => (&e.resource, TagEvent::TagsCreated(e)),
            Event::TagsDeleted(e) => (&e.resource, TagEvent::TagsDeleted(e)),
            _ => return,
        };
        let tags = self.by_resource.entry(resource.clone()).or_default();
        let before = tags.0.clone();
        tags.apply(tag_event);
        let after = tags.0.clone();
        if after.is_empty() {
            self.by_resource.remove(resource);
        }
        for (key, value) in &before {
            if after.get(key) != Some(value) {
                self.unindex(resource, key, value);
            }
        }
        for (key, value) in after {
            if before.get(&key) != Some(&value) {
                self.index(resource, &key, &value);
            }
        }
    }

    fn index(&mut self, resource: &str, key: &str, value: &str) {
        index_in(&mut self.by_key, key, value, resource);
        index_in(&mut self.by_value, value, key, resource);
    }

    fn unindex(&mut self, resource: &str, key: &str, value: &str) {
        unindex_in(&mut self.by_key, key, value, resource);
        unindex_in(&mut self.by_value, value, key, resource);
    }

    /// A resource's tags (empty when it has none).
    pub fn of(&self, resource: &str) -> impl Iterator<Item = (&String, &String)> {
        self.by_resource.get(resource).into_iter().flat_map(|t| t.0.iter())
    }

    /// The values of tag `key` in use, each with the resources that have it.
    pub fn values_of(&self, key: &str) -> impl Iterator<Item = (&String, &BTreeSet<String>)> {
        self.by_key.get(key).into_iter().flat_map(|values| values.iter())
    }

    /// Every tag key in use, with its values and their resources.
    pub fn keys(&self) -> impl Iterator<Item = (&String, &BTreeMap<String, BTreeSet<String>>)> {
        self.by_key.iter()
    }

    /// The resources with a tag (of any key) whose value is `value`; a
    /// resource may come more than once (once per key).
    pub fn with_value(&self, value: &str) -> impl Iterator<Item = &String> {
        self.by_value.get(value).into_iter().flat_map(|keys| keys.values().flatten())
    }

    /// Every tag value in use, with its keys and their resources.
    pub fn values(&self) -> impl Iterator<Item = (&String, &BTreeMap<String, BTreeSet<String>>)> {
        self.by_value.iter()
    }

    /// Forgets a resource that is gone (its tags go with it).
    pub(crate) fn forget(&mut self, resource: &str) {
        if let Some(tags) = self.by_resource.remove(resource) {
            for (key, value) in &tags.0 {
                self.unindex(resource, key, value);
            }
        }
    }
}

/// What a snapshot holds: the tags by resource (the index is derived).
#[derive(Serialize, Deserialize)]
struct Stored<T> {
    by_resource: T,
}

impl Serialize for TagsView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Stored { by_resource: &self.by_resource }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TagsView {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = Stored::<BTreeMap<String, Tags>>::deserialize(deserializer)?;
        let mut view = TagsView::default();
        for (resource, tags) in &stored.by_resource {
            for (key, value) in &tags.0 {
                view.index(resource, key, value);
            }
        }
        view.by_resource = stored.by_resource;
        Ok(view)
    }
}

/// Adds `resource` to `index[outer][inner]`.
fn index_in(
    index: &mut BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    outer: &str,
    inner: &str,
    resource: &str,
) {
    index
        .entry(outer.to_owned())
        .or_default()
        .entry(inner.to_owned())
        .or_default()
        .insert(resource.to_owned());
}

/// Removes `resource` from `index[outer][inner]`, dropping emptied entries.
fn unindex_in(
    index: &mut BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    outer: &str,
    inner: &str,
    resource: &str,
) {
    let Some(inners) = index.get_mut(outer) else { return };
    if let Some(resources) = inners.get_mut(inner) {
        resources.remove(resource);
        if resources.is_empty() {
            inners.remove(inner);
        }
    }
    if inners.is_empty() {
        index.remove(outer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::model::Timestamp;
    use domain::{Tag, TagRemoval};

    fn create(resource: &str, tags: &[(&str, &str)]) -> Event {
        TagsCreated {
            resource: resource.to_owned(),
            tags: tags.iter().map(|(k, v)| Tag { key: (*k).to_owned(), value: (*v).to_owned() }).collect(),
            at: Timestamp(0),
        }
        .into()
    }

    fn resources_with(view: &TagsView, key: &str, value: &str) -> Vec<String> {
        view.values_of(key).filter(|(v, _)| *v == value).flat_map(|(_, r)| r.iter().cloned()).collect()
    }

    fn with_value(view: &TagsView, value: &str) -> Vec<String> {
        let mut found: Vec<String> = view.with_value(value).cloned().collect();
        found.sort();
        found.dedup();
        found
    }

    #[test]
    fn the_index_follows_creates_overwrites_deletes_and_forgets() {
        let mut view = TagsView::default();
        view.apply(&create("i-1", &[("role", "db"), ("team", "a")]));
        view.apply(&create("i-2", &[("role", "db")]));
        view.apply(&create("i-3", &[("role", "web")]));
        assert_eq!(resources_with(&view, "role", "db"), ["i-1", "i-2"]);
        // Overwriting a value moves the resource.
        view.apply(&create("i-2", &[("role", "web")]));
        assert_eq!(resources_with(&view, "role", "db"), ["i-1"]);
        assert_eq!(resources_with(&view, "role", "web"), ["i-2", "i-3"]);
        // A delete with another value than the tag's does nothing; without a value it removes.
        let delete = |key: &str, value: Option<&str>| -> Event {
            TagsDeleted {
                resource: "i-1".to_owned(),
                removals: vec![TagRemoval { key: key.to_owned(), value: value.map(str::to_owned) }],
                at: Timestamp(0),
            }
            .into()
        };
        view.apply(&delete("role", Some("web")));
        assert_eq!(resources_with(&view, "role", "db"), ["i-1"]);
        // By value alone: any key (i-1 has "a" as its team).
        view.apply(&create("i-4", &[("owner", "db"), ("db", "db")]));
        assert_eq!(with_value(&view, "db"), ["i-1", "i-4"]);
        assert_eq!(with_value(&view, "a"), ["i-1"]);
        view.apply(&delete("role", None));
        assert!(resources_with(&view, "role", "db").is_empty());
        assert_eq!(with_value(&view, "db"), ["i-4"]);
        view.forget("i-4");
        assert!(with_value(&view, "db").is_empty());
        assert_eq!(view.values().map(|(v, _)| v.as_str()).collect::<Vec<_>>(), ["a", "web"]);
        assert!(view.values_of("role").all(|(v, _)| v == "web"));
        view.forget("i-1");
        assert_eq!(view.keys().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["role"]);
        assert!(view.of("i-1").next().is_none());
        // A snapshot round trip rebuilds the same index.
        let bytes = postcard::to_stdvec(&view).unwrap();
        let back: TagsView = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, view);
        assert_eq!(bytes, postcard::to_stdvec(&(&view.by_resource,)).unwrap());
    }
}
