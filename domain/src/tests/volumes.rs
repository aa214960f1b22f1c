//! Volumes: create, attach, detach, delete and snapshots as sagas whose
//! steps are events, with deadlines, capacity and tenancy.

use super::samples::*;
use super::*;
use crate::command::*;
use crate::volumes::{AttachmentState, SnapshotState, VolumeState, deadlines};

pub(super) fn vol(bits: u128) -> VolumeId {
    VolumeId::from_bits(bits)
}

pub(super) fn snap(bits: u128) -> SnapshotId {
    SnapshotId::from_bits(bits)
}

/// A cloud with 10 GiB of storage in the zone and a running instance of
/// the admin's.
pub(super) fn cloud() -> (Given, InstanceId) {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(8)).unwrap();
    g.then_apply(&create_other()).unwrap();
    g.then_apply(&Command::ConfigureStorage(ConfigureStorage { zone: zone(), capacity_gib: 10, at: t(3) }))
        .unwrap();
    let d = g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap();
    let Reply::Launched { instances, .. } = &d.reply else { panic!("{d:?}") };
    let instance = instances[0].clone();
    g.then_apply(&report(&instance, NodeOutcome::Running)).unwrap();
    (g, instance)
}

pub(super) fn create(
    account: AccountId,
    volume: u128,
    size: Option<u32>,
    snapshot: Option<SnapshotId>,
) -> Command {
    Command::CreateVolume(CreateVolume {
        account,
        volume: vol(volume),
        zone: zone(),
        size_gib: size,
        snapshot,
        volume_type: "gp2".into(),
        tags: vec![],
        at: t(30),
    })
}

pub(super) fn sc(volume: u128) -> VolumeReport {
    VolumeReport { zone: zone(), volume: vol(volume), at: t(31) }
}

pub(super) fn attach(volume: u128, instance: &InstanceId, device: &str) -> Command {
    Command::AttachVolume(AttachVolume {
        account: admin(),
        volume: vol(volume),
        instance: instance.clone(),
        device: device.into(),
        grant: secret(),
        at: t(32),
    })
}

fn detach(volume: u128, force: bool) -> Command {
    Command::DetachVolume(DetachVolume {
        account: admin(),
        volume: vol(volume),
        instance: None,
        device: None,
        force,
        at: t(40),
    })
}

pub(super) fn node_report(volume: u128, instance: &InstanceId) -> AttachmentReport {
    AttachmentReport { node: node(), instance: instance.clone(), volume: vol(volume), at: t(33) }
}

pub(super) fn volume(g: &Given, bits: u128) -> crate::volumes::Volume {
    match g.streams.get(&StreamId::volume(&vol(bits))).map(|f| &f.state) {
        Some(Aggregate::Volume(v)) => (**v).clone(),
        other => panic!("no volume: {other:?}"),
    }
}

pub(super) fn storage_used(g: &Given) -> u64 {
    match g.streams.get(&StreamId::storage(&zone())).map(|f| &f.state) {
        Some(Aggregate::Storage(s)) => s.used_gib(),
        other => panic!("no storage: {other:?}"),
    }
}

/// An available volume of 1 GiB, attached to `instance` as /dev/sdf.
pub(super) fn attached(g: &mut Given, instance: &InstanceId) {
    g.then_apply(&create(admin(), 7, Some(1), None)).unwrap();
    g.then_apply(&Command::ReportVolumeCreated(sc(7))).unwrap();
    g.then_apply(&attach(7, instance, "/dev/sdf")).unwrap();
    g.then_apply(&Command::ReportVolumeExported(sc(7))).unwrap();
    g.then_apply(&Command::ReportVolumeAttached(node_report(7, instance))).unwrap();
}

#[test]
fn a_volume_is_created_attached_detached_and_deleted_step_by_step() {
    let (mut g, instance) = cloud();
    let d = g.then_apply(&create(admin(), 7, Some(1), None)).unwrap();
    assert_eq!(event_types(&d), ["StorageReserved", "VolumeRequested"]);
    assert_eq!(volume(&g, 7).state, VolumeState::Creating);
    assert_eq!(storage_used(&g), 1);
    g.then_apply(&Command::ReportVolumeCreated(sc(7))).unwrap();
    assert_eq!(volume(&g, 7).state, VolumeState::Available);
    // A retried report decides nothing.
    assert!(g.when(&Command::ReportVolumeCreated(sc(7))).unwrap().events.is_empty());

    let d = g.then_apply(&attach(7, &instance, "/dev/sdf")).unwrap();
    assert_eq!(event_types(&d), ["InstanceDeviceClaimed", "VolumeAttachRequested"]);
    let v = volume(&g, 7);
    assert_eq!(v.state, VolumeState::InUse);
    assert_eq!(v.attachment.as_ref().map(|a| a.state), Some(AttachmentState::Attaching));
    // The node does not attach before the storage controller exports.
    assert!(g.when(&Command::ReportVolumeAttached(node_report(7, &instance))).unwrap().events.is_empty());
    g.then_apply(&Command::ReportVolumeExported(sc(7))).unwrap();
    g.then_apply(&Command::ReportVolumeAttached(node_report(7, &instance))).unwrap();
    assert_eq!(volume(&g, 7).attachment.map(|a| a.state), Some(AttachmentState::Attached));

    // In use: not deleted.
    let delete = Command::DeleteVolume(DeleteVolume { account: admin(), volume: vol(7), at: t(35) });
    assert_eq!(g.when(&delete), Err(DecideError::VolumeInUse { volume: vol(7), instance: instance.clone() }));

    // Detach: the node releases, then the storage controller revokes.
    g.then_apply(&detach(7, false)).unwrap();
    assert_eq!(volume(&g, 7).attachment.map(|a| a.state), Some(AttachmentState::Detaching));
    assert!(
        g.when(&Command::ReportVolumeRevoked(sc(7))).unwrap().events.is_empty(),
        "no revoke before the node let go"
    );
    g.then_apply(&Command::ReportVolumeDetached(node_report(7, &instance))).unwrap();
    let d = g.then_apply(&Command::ReportVolumeRevoked(sc(7))).unwrap();
    assert_eq!(event_types(&d), ["VolumeRevoked", "InstanceDeviceReleased"]);
    assert_eq!(volume(&g, 7).state, VolumeState::Available);
    assert!(volume(&g, 7).attachment.is_none());

    // The device name is free again.
    g.then_apply(&attach(7, &instance, "/dev/sdf")).unwrap();
    g.then_apply(&detach(7, true)).unwrap();
    g.then_apply(&Command::ReportVolumeRevoked(sc(7))).unwrap();

    let d = g.then_apply(&delete).unwrap();
    assert_eq!(event_types(&d), ["VolumeDeleteRequested"]);
    let d = g.then_apply(&Command::ReportVolumeDeleted(sc(7))).unwrap();
    assert_eq!(event_types(&d), ["VolumeDeleted", "StorageReleased"]);
    assert_eq!(storage_used(&g), 0);
    assert_eq!(g.when(&delete), Err(DecideError::VolumeNotFound(vol(7))));
}

#[test]
fn bad_requests_are_refused_with_the_reason() {
    let (mut g, instance) = cloud();
    let too_big = create(admin(), 7, Some(11), None);
    assert!(matches!(g.when(&too_big), Err(DecideError::InsufficientVolumeCapacity { free: 10, .. })));
    assert!(matches!(g.when(&create(admin(), 7, Some(0), None)), Err(DecideError::InvalidVolumeSize(_))));
    assert!(matches!(g.when(&create(admin(), 7, None, None)), Err(DecideError::InvalidVolumeSize(_))));
    assert_eq!(g.when(&create(admin(), 7, None, Some(snap(1)))), Err(DecideError::SnapshotNotFound(snap(1))));
    let mut elsewhere = create(admin(), 7, Some(1), None);
    if let Command::CreateVolume(c) = &mut elsewhere {
        c.zone = ZoneName::parse("nowhere").unwrap();
    }
    assert!(matches!(g.when(&elsewhere), Err(DecideError::UnknownZone(_))));

    g.then_apply(&create(admin(), 7, Some(1), None)).unwrap();
    assert_eq!(g.when(&create(admin(), 7, Some(1), None)), Err(DecideError::IdInUse(vol(7).to_string())));
    // Still creating: neither attached nor deleted.
    assert!(matches!(
        g.when(&attach(7, &instance, "/dev/sdf")),
        Err(DecideError::IncorrectVolumeState { .. })
    ));
    g.then_apply(&Command::ReportVolumeCreated(sc(7))).unwrap();
    for device in ["/dev/sda", "sdf", "/dev/sdf1", "/dev/hdf"] {
        assert_eq!(
            g.when(&attach(7, &instance, device)),
            Err(DecideError::InvalidDevice(device.into())),
            "{device}"
        );
    }
    // Another account's volume and instance are as if they did not exist.
    let mut theirs = attach(7, &instance, "/dev/sdf");
    if let Command::AttachVolume(c) = &mut theirs {
        c.account = other_account();
    }
    assert_eq!(g.when(&theirs), Err(DecideError::VolumeNotFound(vol(7))));
    // One volume per device name: /dev/xvdf is the guest's vdf too.
    g.then_apply(&create(admin(), 8, Some(1), None)).unwrap();
    g.then_apply(&Command::ReportVolumeCreated(sc(8))).unwrap();
    g.then_apply(&attach(7, &instance, "/dev/sdf")).unwrap();
    assert_eq!(
        g.when(&attach(8, &instance, "/dev/xvdf")),
        Err(DecideError::DeviceInUse { instance: instance.clone(), device: "/dev/xvdf".into() })
    );
    assert!(matches!(g.when(&attach(7, &instance, "/dev/sdg")), Err(DecideError::VolumeInUse { .. })));
    // A storage controller of another zone cannot report on it.
    let other_zone = VolumeReport { zone: ZoneName::parse("other").unwrap(), volume: vol(7), at: t(31) };
    assert!(matches!(g.when(&Command::ReportVolumeExported(other_zone)), Err(DecideError::NotInZone { .. })));
}

#[test]
fn every_transitional_state_ends_at_its_deadline() {
    let (mut g, instance) = cloud();
    g.then_apply(&create(admin(), 7, Some(1), None)).unwrap();
    let expire = |at: i64| Command::ExpireVolume(ExpireVolume { volume: vol(7), at: t(at) });
    // Creating: before the deadline nothing, after it an error.
    assert!(g.when(&expire(30 + deadlines::CREATING - 1)).unwrap().events.is_empty());
    g.then_apply(&expire(30 + deadlines::CREATING)).unwrap();
    assert_eq!(volume(&g, 7).state, VolumeState::Error);
    // An error volume can be deleted; its late report changes nothing.
    assert!(g.when(&Command::ReportVolumeCreated(sc(7))).unwrap().events.is_empty());

    // Attaching past its deadline is undone, then revoked.
    g.then_apply(&create(admin(), 8, Some(1), None)).unwrap();
    let sc8 = VolumeReport { zone: zone(), volume: vol(8), at: t(31) };
    g.then_apply(&Command::ReportVolumeCreated(sc8.clone())).unwrap();
    g.then_apply(&attach(8, &instance, "/dev/sdg")).unwrap();
    let at = 32 + deadlines::ATTACHING;
    g.then_apply(&Command::ExpireVolume(ExpireVolume { volume: vol(8), at: t(at) })).unwrap();
    let a = volume(&g, 8).attachment.unwrap();
    assert_eq!((a.state, a.released), (AttachmentState::Detaching, true));
    g.then_apply(&Command::ReportVolumeRevoked(sc8.clone())).unwrap();
    assert_eq!(volume(&g, 8).state, VolumeState::Available);

    // Detaching without the node past its deadline: revoked anyway.
    g.then_apply(&attach(8, &instance, "/dev/sdg")).unwrap();
    g.then_apply(&Command::ReportVolumeExported(sc8.clone())).unwrap();
    g.then_apply(&Command::ReportVolumeAttached(node_report(8, &instance))).unwrap();
    g.then_apply(&detach(8, false)).unwrap();
    let d = g.then_apply(&Command::ExpireVolume(ExpireVolume {
        volume: vol(8),
        at: t(40 + deadlines::DETACHING),
    }));
    assert_eq!(event_types(&d.unwrap()), ["VolumeDetachForced"]);
    g.then_apply(&Command::ReportVolumeRevoked(sc8)).unwrap();
    assert_eq!(volume(&g, 8).state, VolumeState::Available);
}

#[test]
fn terminating_an_instance_detaches_its_volumes_without_waiting_for_the_node() {
    let (mut g, instance) = cloud();
    attached(&mut g, &instance);
    g.then_apply(&terminate(admin(), std::slice::from_ref(&instance))).unwrap();
    g.then_apply(&report(&instance, NodeOutcome::Terminated)).unwrap();
    let a = volume(&g, 7).attachment.unwrap();
    assert_eq!((a.state, a.forced), (AttachmentState::Detaching, true));
    g.then_apply(&Command::ReportVolumeRevoked(sc(7))).unwrap();
    assert_eq!(volume(&g, 7).state, VolumeState::Available);
    // Terminated (and still shown): its state refuses an attach, as EC2.
    assert_eq!(
        g.when(&attach(7, &instance, "/dev/sdg")),
        Err(DecideError::IncorrectInstanceState {
            instance: instance.clone(),
            state: InstanceState::Terminated,
            action: "attach a volume",
        })
    );
}

#[test]
fn snapshots_are_taken_of_volumes_in_use_and_restored_into_larger_ones() {
    let (mut g, instance) = cloud();
    attached(&mut g, &instance);
    let take = Command::CreateSnapshot(CreateSnapshot {
        account: admin(),
        snapshot: snap(1),
        volume: vol(7),
        description: "before".into(),
        tags: vec![],
        at: t(50),
    });
    assert_eq!(event_types(&g.then_apply(&take).unwrap()), ["SnapshotRequested"]);
    let r = SnapshotReport { zone: zone(), snapshot: snap(1), at: t(51) };
    // Not restorable while pending, nor deletable.
    assert!(matches!(
        g.when(&create(admin(), 9, None, Some(snap(1)))),
        Err(DecideError::IncorrectSnapshotState { .. })
    ));
    let progress = |percent| Command::ReportSnapshotProgress(SnapshotProgress { report: r.clone(), percent });
    g.then_apply(&progress(40)).unwrap();
    assert!(g.when(&progress(30)).unwrap().events.is_empty(), "progress never goes back");
    g.then_apply(&Command::ReportSnapshotCompleted(SnapshotDone {
        report: r.clone(),
        manifest: "ab".into(),
    }))
    .unwrap();
    match g.streams.get(&StreamId::snapshot(&snap(1))).map(|f| &f.state) {
        Some(Aggregate::Snapshot(s)) => assert_eq!((s.state, s.progress), (SnapshotState::Completed, 100)),
        other => panic!("{other:?}"),
    }
    // Restored: its size or larger, never smaller; by its owner only.
    assert!(matches!(
        g.when(&create(admin(), 9, Some(0), Some(snap(1)))),
        Err(DecideError::InvalidVolumeSize(_))
    ));
    assert_eq!(
        g.when(&create(other_account(), 9, None, Some(snap(1)))),
        Err(DecideError::SnapshotNotFound(snap(1)))
    );
    g.then_apply(&create(admin(), 9, Some(2), Some(snap(1)))).unwrap();
    assert_eq!(storage_used(&g), 3);
    // In another zone too (snapshots are in Walrus, not in their zone).
    let west = ZoneName::parse("west-1").unwrap();
    g.then_apply(&Command::AddCluster(AddCluster {
        zone: west.clone(),
        policy: SchedulingPolicy::Greedy,
        at: t(52),
    }))
    .unwrap();
    g.then_apply(&Command::ConfigureStorage(ConfigureStorage {
        zone: west.clone(),
        capacity_gib: 5,
        at: t(53),
    }))
    .unwrap();
    let Command::CreateVolume(mut elsewhere) = create(admin(), 10, None, Some(snap(1))) else {
        unreachable!()
    };
    elsewhere.zone = west;
    g.then_apply(&Command::CreateVolume(elsewhere)).unwrap();
    assert_eq!(volume(&g, 10).zone.as_str(), "west-1");
    let delete = Command::DeleteSnapshot(DeleteSnapshot { account: admin(), snapshot: snap(1), at: t(60) });
    assert_eq!(event_types(&g.then_apply(&delete).unwrap()), ["SnapshotDeleted"]);
    assert_eq!(g.when(&delete), Err(DecideError::SnapshotNotFound(snap(1))));
}

#[test]
fn snapshots_are_shared_by_permission_copied_by_reference_and_reset() {
    let (mut g, instance) = cloud();
    attached(&mut g, &instance);
    let take = Command::CreateSnapshot(CreateSnapshot {
        account: admin(),
        snapshot: snap(1),
        volume: vol(7),
        description: "shared".into(),
        tags: vec![],
        at: t(50),
    });
    g.then_apply(&take).unwrap();
    let r = SnapshotReport { zone: zone(), snapshot: snap(1), at: t(51) };
    g.then_apply(&Command::ReportSnapshotCompleted(SnapshotDone { report: r, manifest: "cd".into() }))
        .unwrap();
    let modify = |account: AccountId, add: Vec<AccountId>, remove: Vec<AccountId>, public: Option<bool>| {
        Command::ModifySnapshotAttribute(ModifySnapshotAttribute {
            account,
            snapshot: snap(1),
            add,
            remove,
            public,
            at: t(52),
        })
    };
    let copy = |account: AccountId, n: u128| {
        Command::CopySnapshot(CopySnapshot {
            account,
            snapshot: snap(n),
            source: snap(1),
            description: "copy".into(),
            tags: vec![],
            at: t(53),
        })
    };
    let other = other_account();
    // Not shared: nobody else sees it, nor changes who may.
    assert_eq!(
        g.when(&create(other.clone(), 9, None, Some(snap(1)))),
        Err(DecideError::SnapshotNotFound(snap(1)))
    );
    assert_eq!(g.when(&copy(other.clone(), 2)), Err(DecideError::SnapshotNotFound(snap(1))));
    assert_eq!(
        g.when(&modify(other.clone(), vec![other.clone()], vec![], None)),
        Err(DecideError::SnapshotNotFound(snap(1)))
    );
    assert_eq!(
        g.when(&modify(admin(), vec![AccountId::from_bits(999)], vec![], None)),
        Err(DecideError::AccountNotFound(AccountId::from_bits(999)))
    );
    // Public: anyone restores and copies it; the copy is whole at once,
    // with the same chunks.
    assert_eq!(
        event_types(&g.then_apply(&modify(admin(), vec![], vec![], Some(true))).unwrap()),
        ["SnapshotPermissionsSet"]
    );
    assert!(g.when(&modify(admin(), vec![], vec![], Some(true))).unwrap().events.is_empty(), "as it is");
    g.when(&create(other.clone(), 9, None, Some(snap(1)))).unwrap();
    assert_eq!(
        event_types(&g.then_apply(&copy(other.clone(), 2)).unwrap()),
        ["SnapshotRequested", "SnapshotCompleted"]
    );
    match g.streams.get(&StreamId::snapshot(&snap(2))).map(|f| &f.state) {
        Some(Aggregate::Snapshot(s)) => {
            assert_eq!(
                (&s.account, s.state, s.manifest.as_deref()),
                (&other, SnapshotState::Completed, Some("cd"))
            )
        }
        other => panic!("{other:?}"),
    }
    // Reset: the owner's alone again.
    let reset = Command::ResetSnapshotAttribute(ResetSnapshotAttribute {
        account: admin(),
        snapshot: snap(1),
        at: t(54),
    });
    g.then_apply(&reset).unwrap();
    assert_eq!(
        g.when(&create(other.clone(), 9, None, Some(snap(1)))),
        Err(DecideError::SnapshotNotFound(snap(1)))
    );
    // The copy is the other account's own, whatever became of the source.
    g.when(&create(other, 9, None, Some(snap(2)))).unwrap();
}
