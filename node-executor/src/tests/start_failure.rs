//! A stopped instance whose start fails: the guest goes, its disk stays,
//! the instance is stopped again, and a later start works.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_of_a_stopped_instance_keeps_its_disk_and_leaves_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(
        SimDriver::new(Duration::from_millis(20))
            .with_private_dirs(vec![(PathBuf::from("/srv/node-data"), "data dir")]),
    );
    let recorder = Recorder::new(&controller, &sim);
    let id = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("running", || controller.state(&id) == Some(InstanceState::Running)).await;
    controller.request(&id, StateRequest::Stop { force: true }).await;
    eventually("stopped", || controller.state(&id) == Some(InstanceState::Stopped)).await;
    assert!(sim.has_disk(&id));

    let disk = format!("/srv/node-data/instances/{id}/disk.qcow2");
    sim.fail_start_of(id.clone(), format!("Could not open '{disk}': Permission denied"));
    controller.request(&id, StateRequest::Start).await;
    eventually("stopped again after the failed start", || {
        controller.instance(&id).is_some_and(|i| i.state == InstanceState::Stopped && i.reason.is_some())
    })
    .await;

    assert!(sim.has_disk(&id), "the failed start destroyed the disk");
    assert_eq!(sim.state(&id).unwrap(), GuestState::Absent);
    let reason = controller.instance(&id).unwrap().reason.unwrap();
    assert_eq!(reason.code, "Server.InternalError");
    assert!(reason.message.contains("could not be started"), "{reason:?}");
    assert!(reason.message.contains(&format!("'[data dir]/instances/{id}/disk.qcow2': Permission denied")));
    assert!(!reason.message.contains("/srv"), "a host path in {reason:?}");
    let outcomes: Vec<NodeOutcome> = recorder.outcomes(&id).await.into_iter().map(|(o, _)| o).collect();
    assert!(matches!(
        &outcomes[..],
        [NodeOutcome::Running, NodeOutcome::Stopped, NodeOutcome::LaunchFailed(_)]
    ));
    executor.stop().await;

    // A new executor over the same host finds it stopped: nothing to do,
    // nothing to report, the disk still there.
    let recorder = Recorder::new(&controller, &sim);
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    settle().await;
    assert!(recorder.calls().await.is_empty());
    assert!(sim.has_disk(&id));

    sim.clear_failures();
    controller.request(&id, StateRequest::Start).await;
    eventually("running again", || controller.state(&id) == Some(InstanceState::Running)).await;
    assert_eq!(recorder.outcomes(&id).await, vec![(NodeOutcome::Running, true)]);
    assert_eq!(controller.instance(&id).unwrap().reason, None);
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_guest_that_does_not_boot_in_time_is_stopped_not_destroyed() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    // Its guest would take an hour to boot: the first launch is reported
    // by hand, as if it had booted.
    let sim = Arc::new(SimDriver::new(Duration::from_secs(3600)));
    let recorder = Recorder::new(&controller, &sim);
    let id = controller.launch(&here()).await;
    sim.start(&spec_of(&id)).unwrap();
    let report = |outcome| {
        Command::from(NodeReport {
            node: here(),
            zone: zone(),
            instance: id.clone(),
            attempt: None,
            outcome,
            at: Timestamp(5),
        })
    };
    controller.execute(report(NodeOutcome::Running)).await.unwrap();
    controller.request(&id, StateRequest::Stop { force: true }).await;
    sim.stop(&id).unwrap();
    controller.execute(report(NodeOutcome::Stopped)).await.unwrap();
    controller.request(&id, StateRequest::Start).await;

    let timeout = Duration::from_millis(200);
    let executor = start(&controller, &sim, &recorder, config(timeout));
    eventually("stopped after the boot timeout", || {
        controller.instance(&id).is_some_and(|i| i.state == InstanceState::Stopped && i.reason.is_some())
    })
    .await;
    let outcomes = recorder.outcomes(&id).await;
    assert!(
        matches!(&outcomes[..], [(NodeOutcome::LaunchFailed(r), true)] if r.contains("did not boot within")),
        "{outcomes:?}"
    );
    assert!(sim.has_disk(&id));
    assert_eq!(sim.state(&id).unwrap(), GuestState::Absent);
    executor.stop().await;
}

/// The same with libvirt (its test driver): the start fails because the
/// image's kernel went missing from the node; libvirt's domain and the
/// instance's folder stay, and the reason names the image folder only as
/// `[image dir]`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_libvirt_start_that_fails_keeps_the_domain_and_the_instance_folder() {
    use crate::libvirt::{ImageFiles, LibvirtConfig};
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let (kernel, ramdisk) =
        (ImageId::with_kind(ImageKind::Kernel, 1), ImageId::with_kind(ImageKind::Ramdisk, 1));
    for name in ["kernel", "initrd"] {
        std::fs::write(images.join(name), b"not really a kernel").unwrap();
    }
    let files = ImageFiles::new(&images).with(kernel.clone(), "kernel").with(ramdisk.clone(), "initrd");
    let libvirt = LibvirtConfig::new("test:///default", dir.path().join("instances"), files);
    let driver = Arc::new(LibvirtDriver::open(libvirt).unwrap());
    // The test driver is shared by the whole process: an id of its own.
    let id = InstanceId::from_bits(0x5f_0001);
    controller.launch_as(&here(), id.clone(), Some((kernel, ramdisk))).await;
    let recorder = Recorder::new(&controller, &driver);
    let executor = start(&controller, &driver, &recorder, config(Duration::from_secs(30)));
    eventually("running", || controller.state(&id) == Some(InstanceState::Running)).await;
    controller.request(&id, StateRequest::Stop { force: true }).await;
    eventually("stopped", || controller.state(&id) == Some(InstanceState::Stopped)).await;

    std::fs::rename(images.join("kernel"), images.join("kernel.away")).unwrap();
    controller.request(&id, StateRequest::Start).await;
    eventually("stopped after the failed start", || {
        controller.instance(&id).is_some_and(|i| i.state == InstanceState::Stopped && i.reason.is_some())
    })
    .await;
    assert_eq!(driver.state(&id).unwrap(), GuestState::ShutOff, "the domain stays defined");
    assert!(driver.instance_files(&id).is_dir(), "the instance's folder stays");
    let reason = controller.instance(&id).unwrap().reason.unwrap().message;
    assert!(reason.contains("([image dir]/kernel) is missing"), "{reason}");
    assert!(!reason.contains(&*dir.path().to_string_lossy()), "a host path in {reason}");

    std::fs::rename(images.join("kernel.away"), images.join("kernel")).unwrap();
    controller.request(&id, StateRequest::Start).await;
    eventually("running again", || controller.state(&id) == Some(InstanceState::Running)).await;
    controller.terminate(&id).await;
    eventually("terminated", || controller.state(&id) == Some(InstanceState::Terminated)).await;
    assert_eq!(driver.state(&id).unwrap(), GuestState::Absent);
    executor.stop().await;
}
