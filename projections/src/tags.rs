//! Tags of every resource, by resource id (DescribeTags and the `tag:`
//! filters of every Describe* read them), and an index of resources by tag
//! key and value, so that a tag filter looks at the resources it matches
//! rather than at every resource of an account.

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
}

impl TagsView {
    pub(crate) fn apply(&mut self, event: &Event) {
        let resource = match event {
            Event::TagsCreated(e) => &e.resource,
            Event::TagsDeleted(e) => &e.resource,
            _ => return,
        };
        let tags = self.by_resource.entry(resource.clone()).or_default();
        let before = tags.0.clone();
        tags.apply(resource, event);
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
                self.by_key.entry(key).or_default().entry(value).or_default().insert(resource.clone());
            }
        }
    }

    fn unindex(&mut self, resource: &str, key: &str, value: &str) {
        let Some(values) = self.by_key.get_mut(key) else { return };
        if let Some(resources) = values.get_mut(value) {
            resources.remove(resource);
            if resources.is_empty() {
                values.remove(value);
            }
        }
        if values.is_empty() {
            self.by_key.remove(key);
        }
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
        let mut by_key: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for (resource, tags) in &stored.by_resource {
            for (key, value) in &tags.0 {
                by_key
                    .entry(key.clone())
                    .or_default()
                    .entry(value.clone())
                    .or_default()
                    .insert(resource.clone());
            }
        }
        Ok(TagsView { by_resource: stored.by_resource, by_key })
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
        view.apply(&delete("role", None));
        assert!(resources_with(&view, "role", "db").is_empty());
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
