//! CreateTags and DeleteTags on the caller's resources.

use super::samples::*;
use super::*;
use crate::command::*;

fn tag(key: &str, value: &str) -> Tag {
    Tag { key: key.into(), value: value.into() }
}

fn create(account: AccountId, resources: &[&str], tags: Vec<Tag>) -> Command {
    Command::CreateTags(CreateTags {
        account,
        resources: resources.iter().map(|r| r.to_string()).collect(),
        tags,
        at: t(40),
    })
}

fn delete(account: AccountId, resources: &[&str], removals: Vec<TagRemoval>) -> Command {
    Command::DeleteTags(DeleteTags {
        account,
        resources: resources.iter().map(|r| r.to_string()).collect(),
        removals,
        at: t(41),
    })
}

fn tags_of(g: &Given, id: &InstanceId) -> std::collections::BTreeMap<String, String> {
    match g.state(&StreamId::instance(id)) {
        Some(Aggregate::Instance(i)) => i.tags.0.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tags_go_on_the_callers_resources_only() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(8)).unwrap();
    g.then_apply(&create_other()).unwrap();
    let id = match g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap().reply {
        Reply::Launched { instances, .. } => instances[0].clone(),
        _ => unreachable!(),
    };
    let group = default_group(admin());
    let d = g.then_apply(&create(admin(), &[id.as_str(), group.as_str()], vec![tag("Name", "web")])).unwrap();
    assert_eq!(event_types(&d), vec!["TagsCreated", "TagsCreated"]);
    assert_eq!(tags_of(&g, &id).get("Name").map(String::as_str), Some("web"));
    // Someone else's instance, the system's image, a made-up id: not found.
    assert_eq!(
        g.when(&create(other_account(), &[id.as_str()], vec![tag("a", "b")])),
        Err(DecideError::ResourceNotFound(id.to_string()))
    );
    let image = default_image();
    assert_eq!(
        g.when(&create(admin(), &[image.as_str()], vec![tag("a", "b")])),
        Err(DecideError::ResourceNotFound(image.to_string()))
    );
    assert_eq!(
        g.when(&create(admin(), &["vol-12345678"], vec![tag("a", "b")])),
        Err(DecideError::ResourceNotFound("vol-12345678".into()))
    );
    // Overwriting a value; deleting with a value that does not match does nothing.
    g.then_apply(&create(admin(), &[id.as_str()], vec![tag("Name", "db")])).unwrap();
    assert_eq!(tags_of(&g, &id).get("Name").map(String::as_str), Some("db"));
    let wrong = TagRemoval { key: "Name".into(), value: Some("web".into()) };
    assert!(g.when(&delete(admin(), &[id.as_str()], vec![wrong])).unwrap().events.is_empty());
    g.then_apply(&delete(admin(), &[id.as_str()], vec![TagRemoval { key: "Name".into(), value: None }]))
        .unwrap();
    assert!(tags_of(&g, &id).is_empty());
}

#[test]
fn delete_tags_without_tags_removes_every_tag_each_resource_has_now() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(8)).unwrap();
    let ids = match g.then_apply(&run(admin(), 1, 2, 2, None)).unwrap().reply {
        Reply::Launched { instances, .. } => instances,
        _ => unreachable!(),
    };
    let (a, b) = (ids[0].as_str(), ids[1].as_str());
    g.then_apply(&create(admin(), &[a], vec![tag("Name", "web"), tag("env", "prod")])).unwrap();
    g.then_apply(&create(admin(), &[b], vec![tag("team", "x")])).unwrap();
    let group = default_group(admin());
    // Each resource's own keys, as its stream has them (the group has none).
    let d = g.then_apply(&delete(admin(), &[a, b, group.as_str()], vec![])).unwrap();
    let removed: Vec<(String, Vec<String>)> = d
        .events
        .iter()
        .map(|(_, e)| match e {
            Event::TagsDeleted(e) => (e.resource.clone(), e.removals.iter().map(|r| r.key.clone()).collect()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        removed,
        vec![
            (a.to_owned(), vec!["Name".to_owned(), "env".to_owned()]),
            (b.to_owned(), vec!["team".to_owned()])
        ]
    );
    assert!(tags_of(&g, &ids[0]).is_empty() && tags_of(&g, &ids[1]).is_empty());
    // Nothing left: nothing happens; someone else's resource: not found.
    assert!(g.when(&delete(admin(), &[a], vec![])).unwrap().events.is_empty());
    g.then_apply(&create_other()).unwrap();
    assert_eq!(
        g.when(&delete(other_account(), &[a], vec![])),
        Err(DecideError::ResourceNotFound(a.to_owned()))
    );
}

#[test]
fn a_resource_carries_at_most_fifty_tags() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(8)).unwrap();
    let id = match g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap().reply {
        Reply::Launched { instances, .. } => instances[0].clone(),
        _ => unreachable!(),
    };
    let fifty: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
    g.then_apply(&create(admin(), &[id.as_str()], fifty)).unwrap();
    // Changing an existing key is fine; a 51st key is not.
    assert!(g.when(&create(admin(), &[id.as_str()], vec![tag("k0", "w")])).is_ok());
    assert_eq!(
        g.when(&create(admin(), &[id.as_str()], vec![tag("k50", "v")])),
        Err(DecideError::TagLimitExceeded { resource: id.to_string() })
    );
}

#[test]
fn key_pairs_are_tagged_in_their_account() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(8)).unwrap();
    let key = KeyPairId::from_bits(5);
    g.then_apply(&Command::CreateKeyPair(NewKeyPair {
        account: admin(),
        name: "k".into(),
        key_pair: key.clone(),
        fingerprint: "f".into(),
        public_key: "p".into(),
        key_type: "rsa".into(),
        tags: vec![tag("team", "a")],
        at: t(3),
    }))
    .unwrap();
    let d = g.then_apply(&create(admin(), &[key.as_str()], vec![tag("env", "prod")])).unwrap();
    assert_eq!(d.events[0].0, StreamId::account(&admin()));
    match g.state(&StreamId::account(&admin())) {
        Some(Aggregate::Account(a)) => assert_eq!(a.key_pairs["k"].tags.0.len(), 2),
        _ => unreachable!(),
    }
}
