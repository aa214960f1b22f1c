//! An EBS-backed instance: its guest starts only once its root volume's
//! disk is exported (the volume loop hands it over), and boots from it.

use super::*;
use crate::volumes::{RootDisks, WantedAttachment, WantedVolumes};

fn root_disk(volume: &str) -> VolumeDisk {
    VolumeDisk {
        volume: volume.into(),
        device: "/dev/sda1".into(),
        iqn: format!("iqn.2026-12.io.yukari:{volume}"),
        lun: 1,
        portal: "127.0.0.1:3260".into(),
        initiator: "iqn.2026-12.io.yukari:att-1".into(),
        chap: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ebs_backed_guest_waits_for_its_root_volume_and_boots_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    let roots = Arc::new(RootDisks::default());
    let executor = start_with(
        &controller,
        NodeExecutor::new(config(Duration::from_secs(30)), sim.clone(), recorder.clone())
            .with_root_disks(roots.clone()),
    );
    let volume = "vol-0000000000000000a";
    let claimed: Event = InstanceDeviceClaimed {
        device: "/dev/sda1".into(),
        volume: VolumeId::parse(volume).unwrap(),
        at: Timestamp(5),
    }
    .into();
    // The root device is claimed in the launch's own decision.
    let id = controller.launch_with(&here(), InstanceId::from_bits(0x77), None, vec![claimed]).await;
    settle().await;
    assert_eq!(sim.state(&id).unwrap(), GuestState::Absent, "no guest before its root volume is exported");
    assert_eq!(controller.state(&id), Some(InstanceState::Pending));

    // The volume loop sees the export: the root disk is handed over, not
    // hot-plugged, and the guest starts with it.
    let wanted = WantedVolumes {
        position: 1,
        attach: vec![WantedAttachment { instance: id.clone(), disk: root_disk(volume), attached: false }],
        detach: vec![],
        instances: vec![id.clone()],
    };
    let mut first = Vec::new();
    VolumeSync::new(&*sim).with_root_disks(&roots).apply(&wanted, &mut |r| first.push(r)).unwrap();
    eventually("running", || controller.state(&id) == Some(InstanceState::Running)).await;
    assert_eq!(sim.volumes(&id).unwrap(), vec![volume.to_owned()], "the guest has its root disk");
    assert_eq!(sim.hot_plugs(), 0, "the root disk is given at the guest's start, never hot-plugged");
    // The loop's pass finds it in the guest and reports it attached: the
    // next one, or this one already if the executor started the guest
    // between the hand-over and the loop's look at it.
    let attached = VolumeReport::Attached { instance: id.clone(), volume: volume.into() };
    assert!(first.is_empty() || first == [attached.clone()], "only the truth is reported: {first:?}");
    let mut reports = Vec::new();
    VolumeSync::new(&*sim).with_root_disks(&roots).apply(&wanted, &mut |r| reports.push(r)).unwrap();
    assert_eq!(reports, vec![attached]);
    executor.stop().await;
}
