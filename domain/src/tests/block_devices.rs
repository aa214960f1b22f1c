//! RunInstances' block device mappings: volumes made with the instance,
//! attached once both are ready, given up or deleted when the instance
//! ends, and DeleteOnTermination changed by ModifyInstanceAttribute.

use super::samples::*;
use super::volumes::{attached, cloud, node_report, sc, snap, storage_used, vol, volume};
use super::*;
use crate::command::*;
use crate::volumes::{AttachmentState, BlockDevice, LaunchVolume, VolumeState};

fn ebs(device: &str, size: Option<u32>, delete_on_termination: bool) -> BlockDevice {
    BlockDevice {
        device: device.into(),
        size_gib: size,
        snapshot: None,
        volume_type: "gp2".into(),
        delete_on_termination,
    }
}

/// A launch of `count` instances (reservation `bits`) with `devices`; its
/// volumes are numbered from `bits * 100`.
fn launch(bits: u128, count: u32, devices: Vec<BlockDevice>) -> (Command, Vec<InstanceId>) {
    let mut c = run_in(admin(), bits, count, count, None);
    c.volumes = (0..(count as usize * devices.len()) as u128)
        .map(|i| LaunchVolume { volume: vol(bits * 100 + i), grant: secret() })
        .collect();
    c.block_devices = devices;
    let ids = c.instance_ids.clone();
    (Command::RunInstances(c), ids)
}

fn set_delete_on_termination(instance: &InstanceId, device: &str, flag: bool) -> Command {
    Command::ModifyInstanceAttribute(ModifyInstanceAttribute {
        account: admin(),
        instance: instance.clone(),
        change: AttributeChange::DeleteOnTermination(vec![(device.into(), flag)]),
        at: t(36),
    })
}

fn instance(g: &Given, id: &InstanceId) -> crate::instances::Instance {
    match g.state(&StreamId::instance(id)) {
        Some(Aggregate::Instance(i)) => (**i).clone(),
        other => panic!("no instance: {other:?}"),
    }
}

#[test]
fn a_launch_makes_its_volumes_and_attaches_them_once_both_are_ready() {
    let (mut g, _) = cloud();
    let (run, ids) = launch(2, 1, vec![ebs("/dev/sdf", Some(2), true), ebs("/dev/xvdg", Some(1), false)]);
    let d = g.then_apply(&run).unwrap();
    let types = event_types(&d);
    for (t, n) in [("StorageReserved", 2), ("VolumeRequested", 2), ("VolumeAttachmentPlanned", 2)] {
        assert_eq!(types.iter().filter(|x| **x == t).count(), n, "{t} in {types:?}");
    }
    assert_eq!(storage_used(&g), 3);
    let i = &ids[0];
    assert_eq!(instance(&g, i).volumes.len(), 2, "both devices are the instance's from the start");
    let v = volume(&g, 200);
    assert_eq!((v.state, v.zone.clone(), v.size_gib), (VolumeState::Creating, zone(), 2));
    assert_eq!(v.planned.as_ref().map(|p| (&p.instance, p.delete_on_termination)), Some((i, true)));

    // Made for the instance: nobody else attaches or deletes it meanwhile.
    g.then_apply(&Command::ReportVolumeCreated(sc(200))).unwrap();
    let delete = Command::DeleteVolume(DeleteVolume { account: admin(), volume: vol(200), at: t(35) });
    assert_eq!(g.when(&delete), Err(DecideError::VolumeInUse { volume: vol(200), instance: i.clone() }));

    // The instance runs: the volume already made is attached.
    let d = g.then_apply(&report(i, NodeOutcome::Running)).unwrap();
    assert_eq!(event_types(&d), ["InstanceRunning", "VolumeAttachRequested"]);
    let a = volume(&g, 200).attachment.unwrap();
    assert_eq!(
        (a.device.as_str(), a.state, a.delete_on_termination),
        ("/dev/sdf", AttachmentState::Attaching, true)
    );
    assert!(volume(&g, 200).planned.is_none());
    // The other is attached when it is made.
    let d = g.then_apply(&Command::ReportVolumeCreated(sc(201))).unwrap();
    assert_eq!(event_types(&d), ["VolumeCreated", "VolumeAttachRequested"]);
    assert_eq!(volume(&g, 201).attachment.map(|a| a.delete_on_termination), Some(false));
    for v in [200, 201] {
        g.then_apply(&Command::ReportVolumeExported(sc(v))).unwrap();
        g.then_apply(&Command::ReportVolumeAttached(node_report(v, i))).unwrap();
        assert_eq!(volume(&g, v).attachment.map(|a| a.state), Some(AttachmentState::Attached));
    }

    // Termination: both detached; the one with DeleteOnTermination is
    // deleted once revoked, the other is available, and the devices free.
    g.then_apply(&terminate(admin(), std::slice::from_ref(i))).unwrap();
    g.then_apply(&report(i, NodeOutcome::Terminated)).unwrap();
    let d = g.then_apply(&Command::ReportVolumeRevoked(sc(200))).unwrap();
    assert_eq!(event_types(&d), ["VolumeRevoked", "InstanceDeviceReleased", "VolumeDeleteRequested"]);
    let d = g.then_apply(&Command::ReportVolumeRevoked(sc(201))).unwrap();
    assert_eq!(event_types(&d), ["VolumeRevoked", "InstanceDeviceReleased"]);
    assert_eq!(
        (volume(&g, 200).state, volume(&g, 201).state),
        (VolumeState::Deleting, VolumeState::Available)
    );
    let d = g.then_apply(&Command::ReportVolumeDeleted(sc(200))).unwrap();
    assert_eq!(event_types(&d), ["VolumeDeleted", "StorageReleased"]);
    assert_eq!(storage_used(&g), 1);
    assert!(instance(&g, i).volumes.is_empty());
}

#[test]
fn each_instance_of_a_launch_gets_its_own_volumes() {
    let (mut g, _) = cloud();
    let (run, ids) = launch(2, 2, vec![ebs("/dev/sdf", Some(1), true)]);
    g.then_apply(&run).unwrap();
    assert_eq!(storage_used(&g), 2);
    assert_eq!(volume(&g, 200).planned.map(|p| p.instance), Some(ids[0].clone()));
    assert_eq!(volume(&g, 201).planned.map(|p| p.instance), Some(ids[1].clone()));
}

#[test]
fn a_refused_launch_changes_nothing_and_says_why() {
    let (g, _) = cloud();
    let refused = |devices: Vec<BlockDevice>| g.when(&launch(2, 1, devices).0);
    for device in ["/dev/sda1", "/dev/sda", "sdf", "/dev/hdf"] {
        assert!(
            matches!(
                refused(vec![ebs(device, Some(1), true)]),
                Err(DecideError::InvalidBlockDeviceMapping(_))
            ),
            "{device}"
        );
    }
    let twice = vec![ebs("/dev/sdf", Some(1), true), ebs("/dev/xvdf", Some(1), true)];
    assert!(matches!(refused(twice), Err(DecideError::InvalidBlockDeviceMapping(_))));
    assert!(matches!(
        refused(vec![ebs("/dev/sdf", None, true)]),
        Err(DecideError::InvalidBlockDeviceMapping(_))
    ));
    assert!(matches!(refused(vec![ebs("/dev/sdf", Some(0), true)]), Err(DecideError::InvalidVolumeSize(_))));
    let mut typed = ebs("/dev/sdf", Some(1), true);
    typed.volume_type = "io9".into();
    assert!(matches!(refused(vec![typed]), Err(DecideError::InvalidVolumeSize(_))));
    let mut restored = ebs("/dev/sdf", None, true);
    restored.snapshot = Some(snap(5));
    assert_eq!(refused(vec![restored]), Err(DecideError::SnapshotNotFound(snap(5))));
    // 10 GiB in the zone: two instances of 6 GiB do not fit.
    assert!(matches!(
        g.when(&launch(2, 2, vec![ebs("/dev/sdf", Some(6), true)]).0),
        Err(DecideError::InsufficientVolumeCapacity { requested: 12, free: 10, .. })
    ));
    // Too few volume ids from the caller is a refusal, not a panic.
    let (mut short, _) = launch(2, 1, vec![ebs("/dev/sdf", Some(1), true)]);
    if let Command::RunInstances(c) = &mut short {
        c.volumes.clear();
    }
    assert!(matches!(g.when(&short), Err(DecideError::InvalidBlockDeviceMapping(_))));
}

#[test]
fn an_instance_that_ends_before_its_volumes_are_made_gives_them_up() {
    let (mut g, _) = cloud();
    let (run, ids) = launch(2, 1, vec![ebs("/dev/sdf", Some(2), true), ebs("/dev/sdg", Some(1), false)]);
    g.then_apply(&run).unwrap();
    let i = &ids[0];
    // sdg's volume is made, sdf's is still being made, when the launch fails.
    g.then_apply(&Command::ReportVolumeCreated(sc(201))).unwrap();
    let d = g.then_apply(&report(i, NodeOutcome::LaunchFailed("no room".into()))).unwrap();
    let types = event_types(&d);
    assert!(
        types.contains(&"VolumeAttachmentCancelled") && !types.contains(&"VolumeDeleteRequested"),
        "{types:?}"
    );
    let kept = volume(&g, 201);
    assert_eq!((kept.state, kept.planned.is_none()), (VolumeState::Available, true));
    assert_eq!(instance(&g, i).volumes.len(), 1, "sdf's device waits for its volume");
    // The kept one is the account's now.
    let delete = Command::DeleteVolume(DeleteVolume { account: admin(), volume: vol(201), at: t(35) });
    g.when(&delete).unwrap();
    // sdf's volume is made after the end: it goes at once.
    let d = g.then_apply(&Command::ReportVolumeCreated(sc(200))).unwrap();
    assert_eq!(
        event_types(&d),
        ["VolumeCreated", "InstanceDeviceReleased", "VolumeAttachmentCancelled", "VolumeDeleteRequested"]
    );
    assert!(instance(&g, i).volumes.is_empty());
}

#[test]
fn a_volume_that_fails_to_be_made_goes_with_its_instance() {
    let (mut g, _) = cloud();
    let (run, ids) = launch(2, 1, vec![ebs("/dev/sdf", Some(2), true)]);
    g.then_apply(&run).unwrap();
    let i = &ids[0];
    g.then_apply(&report(i, NodeOutcome::Running)).unwrap();
    let failed = VolumeFailure { report: sc(200), reason: "disk full".into() };
    let d = g.then_apply(&Command::ReportVolumeCreateFailed(failed)).unwrap();
    assert_eq!(event_types(&d), ["VolumeFailed"], "kept for the instance while it lives");
    g.then_apply(&terminate(admin(), std::slice::from_ref(i))).unwrap();
    let d = g.then_apply(&report(i, NodeOutcome::Terminated)).unwrap();
    assert!(event_types(&d).contains(&"VolumeDeleteRequested"), "{:?}", event_types(&d));
    assert_eq!(volume(&g, 200).state, VolumeState::Deleting);
}

#[test]
fn delete_on_termination_is_changed_per_device() {
    let (mut g, i) = cloud();
    // AttachVolume's attachments are kept at termination unless asked.
    attached(&mut g, &i);
    assert_eq!(volume(&g, 7).attachment.map(|a| a.delete_on_termination), Some(false));
    assert_eq!(
        g.when(&set_delete_on_termination(&i, "/dev/sdz", true)),
        Err(DecideError::DeviceNotMapped { instance: i.clone(), device: "/dev/sdz".into() })
    );
    // Unchanged: nothing recorded. The guest's other name of the disk works too.
    assert!(g.when(&set_delete_on_termination(&i, "/dev/sdf", false)).unwrap().events.is_empty());
    let d = g.then_apply(&set_delete_on_termination(&i, "/dev/xvdf", true)).unwrap();
    assert_eq!(event_types(&d), ["VolumeDeleteOnTerminationSet"]);
    assert_eq!(volume(&g, 7).attachment.map(|a| a.delete_on_termination), Some(true));
    g.then_apply(&terminate(admin(), std::slice::from_ref(&i))).unwrap();
    g.then_apply(&report(&i, NodeOutcome::Terminated)).unwrap();
    let d = g.then_apply(&Command::ReportVolumeRevoked(sc(7))).unwrap();
    assert_eq!(event_types(&d), ["VolumeRevoked", "InstanceDeviceReleased", "VolumeDeleteRequested"]);
    // A terminated instance's attributes are not changed.
    assert!(matches!(
        g.when(&set_delete_on_termination(&i, "/dev/sdf", false)),
        Err(DecideError::IncorrectInstanceState { .. })
    ));
}

#[test]
fn delete_on_termination_of_a_planned_volume_is_kept_for_its_attachment() {
    let (mut g, _) = cloud();
    let (run, ids) = launch(2, 1, vec![ebs("/dev/sdf", Some(1), true)]);
    g.then_apply(&run).unwrap();
    let i = &ids[0];
    g.then_apply(&set_delete_on_termination(i, "/dev/sdf", false)).unwrap();
    g.then_apply(&Command::ReportVolumeCreated(sc(200))).unwrap();
    g.then_apply(&report(i, NodeOutcome::Running)).unwrap();
    assert_eq!(volume(&g, 200).attachment.map(|a| a.delete_on_termination), Some(false));
}

#[test]
fn a_mapping_restores_a_snapshot_in_its_zone_and_a_token_replays_the_launch() {
    let (mut g, i) = cloud();
    attached(&mut g, &i);
    let take = Command::CreateSnapshot(CreateSnapshot {
        account: admin(),
        snapshot: snap(1),
        volume: vol(7),
        description: String::new(),
        tags: vec![],
        at: t(50),
    });
    g.then_apply(&take).unwrap();
    let done = SnapshotDone {
        report: SnapshotReport { zone: zone(), snapshot: snap(1), at: t(51) },
        manifest: "ab".into(),
    };
    g.then_apply(&Command::ReportSnapshotCompleted(done)).unwrap();

    let mut restored = ebs("/dev/sdf", None, true);
    restored.snapshot = Some(snap(1));
    let (run, ids) = launch(2, 1, vec![restored]);
    let Command::RunInstances(mut c) = run else { unreachable!() };
    // No zone asked: the snapshot's, where it can be restored.
    c.zone = None;
    c.client_token = Some("tok".into());
    g.then_apply(&Command::RunInstances(c.clone())).unwrap();
    let v = volume(&g, 200);
    assert_eq!((v.zone, v.size_gib, v.snapshot), (zone(), 1, Some(snap(1))));
    assert_eq!(instance(&g, &ids[0]).zone, Some(zone()));
    // The same request again replays; other mappings under the token do not.
    let again = g.when(&Command::RunInstances(c.clone())).unwrap();
    assert!(again.events.is_empty());
    c.block_devices[0].delete_on_termination = false;
    assert!(matches!(
        g.when(&Command::RunInstances(c)),
        Err(DecideError::IdempotentParameterMismatch { .. })
    ));
}

/// RunInstances' `TagSpecification` of resource type `volume` tags every
/// volume the launch makes (before, its tags were dropped).
#[test]
fn the_volumes_of_a_launch_get_the_tags_specified_for_volumes() {
    let (mut g, _) = cloud();
    let (run, _) = launch(3, 2, vec![ebs("/dev/sdf", Some(1), true)]);
    let Command::RunInstances(mut c) = run else { unreachable!() };
    c.volume_tags = vec![Tag { key: "tier".into(), value: "data".into() }];
    let d = g.then_apply(&Command::RunInstances(c)).unwrap();
    let tagged: Vec<&StreamId> =
        d.events.iter().filter(|(_, e)| e.type_name() == "TagsCreated").map(|(s, _)| s).collect();
    assert_eq!(tagged, [&StreamId::volume(&vol(300)), &StreamId::volume(&vol(301))]);
}
