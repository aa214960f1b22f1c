//! Every event type's stored bytes, kept in `fixtures/events.txt`, must keep
//! decoding to the same value. Regenerate only for a *new* event type:
//! `YUKARI_ADD_FIXTURES=1 cargo test -p yukari-domain codec` appends the
//! missing lines and never rewrites existing ones.

use super::samples::every_event;
use crate::event::Event;
use std::collections::BTreeMap;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/events.txt");

/// Tests that read the fixture wait for the one that may append to it.
static FIXTURE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn read_fixture() -> BTreeMap<(String, u16), Vec<u8>> {
    let _guard = FIXTURE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let text = std::fs::read_to_string(FIXTURE).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next().unwrap().to_owned();
            let schema: u16 = parts.next().unwrap().parse().unwrap();
            let bytes = hex::decode(parts.next().unwrap_or("")).unwrap();
            ((name, schema), bytes)
        })
        .collect()
}

#[test]
fn samples_cover_every_event_type() {
    let samples: Vec<(&str, u16)> = every_event().iter().map(|e| (e.type_name(), e.schema())).collect();
    assert_eq!(samples, Event::TYPES.to_vec());
}

#[test]
fn every_stored_event_type_still_decodes_to_the_same_value() {
    let mut fixture = read_fixture();
    if std::env::var_os("YUKARI_ADD_FIXTURES").is_some() {
        let _guard = FIXTURE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut text = std::fs::read_to_string(FIXTURE).unwrap_or_default();
        for e in every_event() {
            let key = (e.type_name().to_owned(), e.schema());
            if let std::collections::btree_map::Entry::Vacant(slot) = fixture.entry(key) {
                text.push_str(&format!("{} {} {}\n", slot.key().0, slot.key().1, hex::encode(e.encode())));
                slot.insert(e.encode());
            }
        }
        std::fs::write(FIXTURE, text).unwrap();
    }
    for e in every_event() {
        let key = (e.type_name().to_owned(), e.schema());
        let bytes =
            fixture.get(&key).unwrap_or_else(|| panic!("no fixture for {key:?}; see this file's doc"));
        let decoded = Event::decode(&key.0, key.1, bytes).unwrap();
        assert_eq!(decoded, e, "stored bytes of {key:?} decode differently");
    }
    // Every fixture line (including retired schema versions) still decodes.
    for ((name, schema), bytes) in &fixture {
        Event::decode(name, *schema, bytes).unwrap();
    }
}

#[test]
fn unknown_types_and_garbage_are_errors_not_panics() {
    assert!(Event::decode("NoSuchEvent", 1, &[]).is_err());
    assert!(Event::decode("InstanceRunning", 99, &[]).is_err());
    assert!(Event::decode("InstanceRequested", 1, &[0xff, 0xff, 0xff]).is_err());
}

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
        for (name, schema) in Event::TYPES {
            let _ = Event::decode(name, *schema, &bytes);
        }
    }
}

#[test]
fn schema_1_instance_requests_read_as_schema_2_with_ec2_defaults() {
    let fixture = read_fixture();
    let v1 =
        fixture.get(&("InstanceRequested".to_owned(), 1)).expect("the schema 1 line stays in the fixture");
    match Event::decode("InstanceRequested", 1, v1).unwrap() {
        Event::InstanceRequested(e) => {
            assert_eq!(e.key_name, None);
            assert!(e.security_groups.is_empty());
            assert_eq!(e.shutdown_behavior, crate::ShutdownBehavior::Stop);
            assert!(!e.disable_api_termination);
            assert_eq!(e.vm_type.name, "m1.small");
            assert_eq!(e.user_data, b"#!/bin/sh".to_vec());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rule_sources_keep_their_stored_variant_numbers() {
    use crate::{AccountId, RuleSource, SecurityGroupId};
    let account = AccountId::parse("123456789012").unwrap();
    let sources = [
        RuleSource::Cidr("0.0.0.0/0".into()),
        RuleSource::Group { account: account.clone(), group: SecurityGroupId::from_bits(1) },
        RuleSource::NamedGroup { account, name: "g2".into() },
    ];
    for (number, source) in sources.iter().enumerate() {
        let bytes = postcard::to_allocvec(source).unwrap();
        assert_eq!(usize::from(bytes[0]), number, "{source:?}");
        assert_eq!(&postcard::from_bytes::<RuleSource>(&bytes).unwrap(), source);
    }
}

/// A state reason is stored as two strings, as when its texts were
/// `String`s, and the texts EC2 gives for a stop or a termination come back
/// from the log as static texts (no allocation per instance in a replay);
/// any other text comes back as stored.
#[test]
fn state_reasons_encode_as_two_strings_and_known_texts_decode_without_allocating() {
    use crate::StateReason;
    for reason in [
        StateReason::user_terminated(),
        StateReason::guest_stopped(),
        StateReason::launch_failed("the disk of a length that does not fit inline"),
    ] {
        let bytes = postcard::to_stdvec(&reason).unwrap();
        let as_strings = postcard::to_stdvec(&(reason.code.to_string(), reason.message.to_string())).unwrap();
        assert_eq!(bytes, as_strings);
        let back: StateReason = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, reason);
        assert!(!back.code.is_heap_allocated(), "{back:?}");
        let known = !back.message.starts_with("Server.InternalError");
        assert_eq!(back.message.is_heap_allocated(), !known, "{back:?}");
    }
}
