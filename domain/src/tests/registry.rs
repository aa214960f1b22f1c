//! What the registry assembles: commands named by their verbs, each event
//! type once, and a fold that is total.

use super::samples::*;
use super::*;
use crate::command::*;
use std::collections::BTreeSet;

#[test]
fn every_command_is_named_by_its_variant_once() {
    let names: BTreeSet<&str> = Command::NAMES.iter().copied().collect();
    assert_eq!(names.len(), Command::NAMES.len(), "{:?}", Command::NAMES);
    for verb in
        ["RunInstances", "TerminateInstances", "AuthorizeSecurityGroupEgress", "DeleteTags", "ImportKeyPair"]
    {
        assert!(names.contains(verb), "{verb}");
    }
    // The verb of a node's report is its outcome's, whatever its fields.
    let failed = report(&InstanceId::from_bits(1), NodeOutcome::LaunchFailed("disk".into()));
    assert_eq!(failed.name(), "ReportLaunchFailed");
    assert_eq!(report(&InstanceId::from_bits(1), NodeOutcome::PoweredOff).name(), "ReportInstancePoweredOff");
    let stop = change(admin(), &[InstanceId::from_bits(1)], StateRequest::Stop { force: true });
    assert_eq!(stop.name(), "StopInstances");
}

#[test]
fn every_event_type_is_registered_once() {
    let names: BTreeSet<&str> = Event::TYPES.iter().map(|(name, _)| *name).collect();
    assert_eq!(names.len(), Event::TYPES.len());
}

/// A stream is made by its first event, once, and only a first event makes
/// one; any event folds into any state without failing (an event of
/// another kind of stream leaves it as it is).
#[test]
fn the_fold_is_total_and_only_first_events_make_a_stream() {
    let events = every_event();
    let mut makers = BTreeSet::new();
    for first in &events {
        let mut made = Aggregate::Empty;
        made.evolve(first);
        if made.is_empty() {
            continue;
        }
        makers.insert(first.type_name());
        let mut twice = made.clone();
        twice.evolve(first);
        assert_eq!(twice, made, "{} made a stream twice", first.type_name());
        for event in &events {
            made.clone().evolve(event);
        }
    }
    let expected: BTreeSet<&str> = [
        "CloudInitialized",
        "ClusterRegistered",
        "AccountCreated",
        "InstanceRequested",
        "SecurityGroupCreated",
        "AddressPoolConfigured",
        "AddressAllocated",
        "ImageRegistered",
        "ReservationCreated",
        "ClientTokenClaimed",
        "AccountNameClaimed",
        "NodeClaimed",
        "VolumeRequested",
        "SnapshotRequested",
        "StorageConfigured",
        "BucketCreated",
    ]
    .into_iter()
    .collect();
    assert_eq!(makers, expected);
    // An event of another kind of stream changes nothing.
    let mut cloud = Aggregate::Empty;
    cloud.evolve(&events[0]);
    let before = cloud.clone();
    for event in events.iter().filter(|e| matches!(e, Event::InstanceRunning(_) | Event::TagsCreated(_))) {
        cloud.evolve(event);
    }
    assert_eq!(cloud, before);
}

/// An aggregate is kept for each stream the decide loop has read, and by
/// the node executor and storage controller: large states are boxed so
/// that each stream costs the size of the small ones (issue 14, target 5).
#[test]
fn an_aggregate_is_as_small_as_its_smallest_states() {
    let size = std::mem::size_of::<Aggregate>();
    assert!(size <= 96, "Aggregate is {size} bytes");
}
