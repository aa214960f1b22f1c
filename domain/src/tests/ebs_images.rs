//! EBS-backed images: registered from a snapshot, launched onto a root
//! volume made from it (attached before the guest starts), made from an
//! instance (CreateImage), and the snapshots they hold.

use super::samples::*;
use super::volumes::{attached, cloud, node_report, sc, snap, vol, volume};
use super::*;
use crate::command::*;
use crate::images::{CreateImage, EbsRegistration, Image};
use crate::instances::InstanceState;
use crate::volumes::{AttachmentState, BlockDevice, LaunchVolume, VolumeState};

fn emi(bits: u128) -> ImageId {
    ImageId::with_kind(ImageKind::Machine, bits)
}

fn device(name: &str, size: Option<u32>, snapshot: Option<SnapshotId>) -> BlockDevice {
    BlockDevice {
        device: name.into(),
        size_gib: size,
        snapshot,
        volume_type: "standard".into(),
        delete_on_termination: true,
    }
}

/// The admin's completed snapshot `snap(1)` of a 1 GiB volume.
fn snapshot(g: &mut Given, instance: &InstanceId) {
    attached(g, instance);
    take_snapshot(g, 1, 50);
}

/// The admin's completed snapshot `snap(bits)` of volume 7, taken at `at`.
fn take_snapshot(g: &mut Given, bits: u128, at: i64) {
    let take = Command::CreateSnapshot(CreateSnapshot {
        account: admin(),
        snapshot: snap(bits),
        volume: vol(7),
        description: String::new(),
        tags: vec![],
        at: t(at),
    });
    g.then_apply(&take).unwrap();
    let r = SnapshotReport { zone: zone(), snapshot: snap(bits), at: t(at + 1) };
    let manifest = format!("{bits:02x}");
    g.then_apply(&Command::ReportSnapshotCompleted(SnapshotDone { report: r, manifest })).unwrap();
}

fn register(account: AccountId, image: ImageId, root: &str, devices: Vec<BlockDevice>) -> Command {
    let mut c = image_cmd(image, ImageKind::Machine, Some(kernel()));
    c.owner = account;
    c.public = false;
    c.location = String::new();
    c.ebs = Some(EbsRegistration { root_device: root.into(), devices });
    Command::RegisterImage(c)
}

fn image(g: &Given, id: &ImageId) -> Image {
    match g.state(&StreamId::image(id)) {
        Some(Aggregate::Image(i)) => (**i).clone(),
        other => panic!("no image: {other:?}"),
    }
}

fn snapshot_images(g: &Given) -> Vec<ImageId> {
    match g.state(&StreamId::snapshot(&snap(1))) {
        Some(Aggregate::Snapshot(s)) => s.images.iter().cloned().collect(),
        other => panic!("no snapshot: {other:?}"),
    }
}

/// A launch of one instance (reservation `bits`) of `image`, with
/// `volumes` fresh volume ids numbered from `bits * 100`.
fn launch(bits: u128, image: &ImageId, volumes: usize) -> (Command, InstanceId) {
    let mut c = run_in(admin(), bits, 1, 1, None);
    c.image = image.clone();
    c.volumes =
        (0..volumes as u128).map(|i| LaunchVolume { volume: vol(bits * 100 + i), grant: secret() }).collect();
    let id = c.instance_ids[0].clone();
    (Command::RunInstances(c), id)
}

/// A cloud where image `emi(5)` is registered from `snap(1)` at
/// `/dev/sda1` and instance `id` was just launched from it (its root
/// volume is `vol(300)`, being made).
fn launched_from_an_ebs_image() -> (Given, InstanceId) {
    let (mut g, instance) = cloud();
    snapshot(&mut g, &instance);
    g.then_apply(&register(admin(), emi(5), "/dev/sda1", vec![device("/dev/sda1", None, Some(snap(1)))]))
        .unwrap();
    let (run, id) = launch(3, &emi(5), 1);
    g.then_apply(&run).unwrap();
    (g, id)
}

fn instance_state(g: &Given, id: &InstanceId) -> (InstanceState, Option<String>) {
    match g.state(&StreamId::instance(id)) {
        Some(Aggregate::Instance(i)) => (i.state, i.reason.as_ref().map(|r| r.message.to_string())),
        other => panic!("no instance: {other:?}"),
    }
}

#[test]
fn an_image_registers_from_a_snapshot_and_holds_it() {
    let (mut g, instance) = cloud();
    snapshot(&mut g, &instance);
    let root = device("/dev/sda1", None, Some(snap(1)));
    let d = g
        .then_apply(&register(admin(), emi(5), "/dev/sda1", vec![device("/dev/sdb", Some(2), None), root]))
        .unwrap();
    assert_eq!(event_types(&d), ["ImageRegistered", "SnapshotImageRegistered", "ImageBlockDevicesRecorded"]);
    let ebs = image(&g, &emi(5)).ebs.unwrap();
    assert_eq!(ebs.root_device, "/dev/sda1");
    let devices: Vec<(&str, u32)> = ebs.devices.iter().map(|d| (d.device.as_str(), d.size_gib)).collect();
    assert_eq!(devices, [("/dev/sda1", 1), ("/dev/sdb", 2)], "the root first, its size the snapshot's");
    assert_eq!(snapshot_images(&g), [emi(5)]);

    // The snapshot cannot go while the image is registered.
    let delete = Command::DeleteSnapshot(DeleteSnapshot { account: admin(), snapshot: snap(1), at: t(60) });
    assert_eq!(g.when(&delete), Err(DecideError::SnapshotInUse { snapshot: snap(1), image: emi(5) }));
    let deregister = Command::DeregisterImage(DeregisterImage { account: admin(), image: emi(5), at: t(61) });
    assert_eq!(
        event_types(&g.then_apply(&deregister).unwrap()),
        ["ImageDeregistered", "SnapshotImageDeregistered"]
    );
    assert!(snapshot_images(&g).is_empty());
    g.then_apply(&delete).unwrap();
}

#[test]
fn a_bad_ebs_registration_is_refused_and_changes_nothing() {
    let (mut g, instance) = cloud();
    snapshot(&mut g, &instance);
    let root = || device("/dev/sda1", None, Some(snap(1)));
    let refused = |account: AccountId, root_name: &str, devices: Vec<BlockDevice>| {
        g.when(&register(account, emi(5), root_name, devices))
    };
    let bad = |r: Result<Decision, DecideError>| matches!(r, Err(DecideError::InvalidBlockDeviceMapping(_)));
    assert!(
        bad(refused(admin(), "/dev/sdf", vec![device("/dev/sdf", None, Some(snap(1)))])),
        "not a root name"
    );
    assert!(bad(refused(admin(), "/dev/sda1", vec![device("/dev/sdb", Some(1), None)])), "no root mapped");
    assert!(
        bad(refused(admin(), "/dev/sda1", vec![device("/dev/sda1", Some(1), None)])),
        "root without snapshot"
    );
    assert!(
        bad(refused(admin(), "/dev/sda1", vec![root(), device("/dev/xvda", Some(1), None)])),
        "root twice"
    );
    assert!(bad(refused(admin(), "/dev/sda1", vec![root(), device("/dev/sdb", None, None)])), "no size");
    assert!(matches!(
        refused(admin(), "/dev/sda1", vec![device("/dev/sda1", Some(0), Some(snap(1)))]),
        Err(DecideError::InvalidVolumeSize(_))
    ));
    assert_eq!(
        refused(other_account(), "/dev/sda1", vec![root()]),
        Err(DecideError::SnapshotNotFound(snap(1)))
    );
    assert!(snapshot_images(&g).is_empty());
}

#[test]
fn an_ebs_image_launches_onto_a_root_volume_attached_before_it_runs() {
    let (mut g, instance) = cloud();
    snapshot(&mut g, &instance);
    let mut root = device("/dev/sda1", None, Some(snap(1)));
    root.delete_on_termination = true;
    g.then_apply(&register(admin(), emi(5), "/dev/sda1", vec![root])).unwrap();
    // Too few volume ids for the image's mapping.
    assert!(matches!(g.when(&launch(3, &emi(5), 0).0), Err(DecideError::InvalidBlockDeviceMapping(_))));
    let (run, id) = launch(3, &emi(5), 1);
    let d = g.then_apply(&run).unwrap();
    assert!(event_types(&d).contains(&"VolumeAttachmentPlanned"));
    let v = volume(&g, 300);
    assert_eq!(v.snapshot.as_ref(), Some(&snap(1)));
    assert_eq!(v.planned.as_ref().map(|p| p.device.as_str()), Some("/dev/sda1"));
    // Made while the instance is pending: attached at once, for its guest
    // to start from.
    let d = g.then_apply(&Command::ReportVolumeCreated(sc(300))).unwrap();
    assert_eq!(event_types(&d), ["VolumeCreated", "VolumeAttachRequested"]);
    g.then_apply(&Command::ReportVolumeExported(sc(300))).unwrap();
    g.then_apply(&Command::ReportVolumeAttached(node_report(300, &id))).unwrap();
    let d = g.then_apply(&report(&id, NodeOutcome::Running)).unwrap();
    assert_eq!(event_types(&d), ["InstanceRunning"], "nothing more to attach");
    assert_eq!(volume(&g, 300).attachment.map(|a| a.state), Some(AttachmentState::Attached));

    // The root volume stays with its instance.
    let detach = Command::DetachVolume(DetachVolume {
        account: admin(),
        volume: vol(300),
        instance: None,
        device: None,
        force: true,
        at: t(40),
    });
    assert_eq!(g.when(&detach), Err(DecideError::RootVolume { volume: vol(300), instance: id.clone() }));

    // Terminated: the root volume is detached and deleted.
    g.then_apply(&terminate(admin(), std::slice::from_ref(&id))).unwrap();
    g.then_apply(&report(&id, NodeOutcome::Terminated)).unwrap();
    g.then_apply(&Command::ReportVolumeDetached(node_report(300, &id))).ok();
    let d = g.then_apply(&Command::ReportVolumeRevoked(sc(300))).unwrap();
    assert!(event_types(&d).contains(&"VolumeDeleteRequested"), "{d:?}");
}

#[test]
fn a_root_volume_that_cannot_be_made_fails_the_launch() {
    let (mut g, id) = launched_from_an_ebs_image();
    let failed =
        Command::ReportVolumeCreateFailed(VolumeFailure { report: sc(300), reason: "disk full".into() });
    let d = g.then_apply(&failed).unwrap();
    let types = event_types(&d);
    assert_eq!(types[..2], ["VolumeFailed", "InstanceLaunchFailed"], "{types:?}");
    let (state, reason) = instance_state(&g, &id);
    assert_eq!(state, InstanceState::Terminated);
    assert!(reason.unwrap().contains("root volume vol-"), "the reason names the root volume");
    // The failed volume is given up and deleted with its instance.
    let v = volume(&g, 300);
    assert!(v.planned.is_none());
    assert_eq!(v.state, VolumeState::Deleting);
}

#[test]
fn create_image_snapshots_an_ebs_backed_instance() {
    let (mut g, instance) = cloud();
    snapshot(&mut g, &instance);
    g.then_apply(&register(admin(), emi(5), "/dev/sda1", vec![device("/dev/sda1", None, Some(snap(1)))]))
        .unwrap();
    let create = |instance: &InstanceId, image: u128| {
        Command::CreateImage(CreateImage {
            account: admin(),
            instance: instance.clone(),
            image: emi(image),
            name: "mine".into(),
            description: "made".into(),
            snapshots: (10..36).map(snap).collect(),
            at: t(70),
        })
    };
    // An instance-store instance cannot be imaged this way.
    assert!(matches!(g.when(&create(&instance, 6)), Err(DecideError::NotEbsBacked(_))));
    let (run, id) = launch(3, &emi(5), 1);
    g.then_apply(&run).unwrap();
    assert!(matches!(g.when(&create(&id, 6)), Err(DecideError::IncorrectInstanceState { .. })), "pending");
    for c in [
        Command::ReportVolumeCreated(sc(300)),
        Command::ReportVolumeExported(sc(300)),
        Command::ReportVolumeAttached(node_report(300, &id)),
        report(&id, NodeOutcome::Running),
    ] {
        g.then_apply(&c).unwrap();
    }
    let d = g.then_apply(&create(&id, 6)).unwrap();
    assert_eq!(
        event_types(&d),
        ["ImageRegistered", "SnapshotRequested", "SnapshotImageRegistered", "ImageBlockDevicesRecorded"]
    );
    let made = image(&g, &emi(6));
    assert_eq!(made.kernel, Some(kernel()), "the kernel of the instance's image");
    let ebs = made.ebs.unwrap();
    assert_eq!(ebs.root_device, "/dev/sda1");
    assert_eq!(ebs.devices[0].snapshot, Some(snap(10)));
    assert_eq!(ebs.devices[0].size_gib, 1);
    // Launching it waits for its snapshot.
    assert!(matches!(g.when(&launch(4, &emi(6), 1).0), Err(DecideError::IncorrectSnapshotState { .. })));
    assert_eq!(g.when(&create(&id, 6)), Err(DecideError::ImageExists(emi(6))));
}

#[test]
fn an_ebs_image_shared_with_an_account_launches_there_without_a_permission_on_its_snapshot() {
    let (mut g, instance) = cloud();
    snapshot(&mut g, &instance);
    g.then_apply(&register(admin(), emi(5), "/dev/sda1", vec![device("/dev/sda1", None, Some(snap(1)))]))
        .unwrap();
    let mut c = run_in(other_account(), 6, 1, 1, None);
    c.image = emi(5);
    c.volumes = vec![LaunchVolume { volume: vol(600), grant: secret() }];
    let launch = Command::RunInstances(c);
    assert_eq!(g.when(&launch).map(|_| ()), Err(DecideError::ImageNotFound(emi(5))), "not shared yet");
    let share = Command::ModifyImageAttribute(ModifyImageAttribute {
        account: admin(),
        image: emi(5),
        add: vec![other_account()],
        remove: vec![],
        public: None,
        description: None,
        at: t(60),
    });
    g.then_apply(&share).unwrap();
    g.then_apply(&launch).unwrap();
    let v = volume(&g, 600);
    assert_eq!((v.account, v.snapshot), (other_account(), Some(snap(1))), "the launching account's volume");
    // A snapshot of the owner's that the image does not map stays the owner's.
    take_snapshot(&mut g, 2, 61);
    let mut c = run_in(other_account(), 7, 1, 1, None);
    c.image = emi(5);
    c.block_devices = vec![device("/dev/sdf", None, Some(snap(2)))];
    c.volumes = (0..2).map(|i| LaunchVolume { volume: vol(700 + i), grant: secret() }).collect();
    assert_eq!(g.when(&Command::RunInstances(c)).map(|_| ()), Err(DecideError::SnapshotNotFound(snap(2))));
}

#[test]
fn a_root_volume_never_attached_fails_the_launch_at_its_deadline() {
    let (mut g, id) = launched_from_an_ebs_image();
    g.then_apply(&Command::ReportVolumeCreated(sc(300))).unwrap();
    assert_eq!(volume(&g, 300).attachment.map(|a| a.state), Some(AttachmentState::Attaching));
    let expire = |at: i64| Command::ExpireVolume(ExpireVolume { volume: vol(300), at: t(at) });
    assert!(g.when(&expire(60)).unwrap().events.is_empty(), "not yet");
    let d = g.then_apply(&expire(31 + crate::volumes::deadlines::ATTACHING + 1)).unwrap();
    let types = event_types(&d);
    assert!(types.starts_with(&["VolumeAttachFailed", "InstanceLaunchFailed"]), "{types:?}");
    let (state, reason) = instance_state(&g, &id);
    assert_eq!(state, InstanceState::Terminated);
    assert!(reason.unwrap().contains("could not be attached"));
    // Revoked, the root volume goes with its instance.
    let d = g.then_apply(&Command::ReportVolumeRevoked(sc(300))).unwrap();
    assert!(event_types(&d).contains(&"VolumeDeleteRequested"), "{d:?}");
}
