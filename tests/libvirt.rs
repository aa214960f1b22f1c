//! Real guests: `yukari up --hypervisor libvirt` (libvirt's embedded QEMU
//! driver, no daemon, QEMU emulation) boots the built-in image for a
//! RunInstances from the AWS CLI; the guest reads its metadata and user
//! data; StopInstances shuts it down on its power button and keeps its
//! disk, StartInstances boots it again, RebootInstances restarts it, and
//! TerminateInstances ends its QEMU and removes its files.
//!
//! Needs libvirt, QEMU and the built-in image (`scripts/test` installs and
//! builds them; by hand: `scripts/build-guest-image`). One real boot:
//! ~6 s under emulation on an idle machine, much more on a busy one.

mod common;
use common::*;
use std::path::Path;

fn state_of(cloud: &Cloud, id: &str) -> String {
    let one = cloud.aws(&["describe-instances", "--instance-ids", id]);
    instance_states(&one).first().map(|(_, s)| s.clone()).unwrap_or_default()
}

#[test]
fn run_instances_boots_a_real_guest_and_terminate_removes_it() {
    let images = image_dir();
    let temp = qemu_temp_dir();
    let dir = temp.path().join("data");
    let _reaper = QemuReaper(dir.clone());
    let cloud = Cloud::start_in(&dir, free_port(), &libvirt_flags(&images).each_ref().map(String::as_str));

    let run = cloud.aws(&[
        "run-instances",
        "--image-id",
        DEFAULT_IMAGE,
        "--instance-type",
        "m1.small",
        "--user-data",
        "yukari-e2e-user-data-42",
    ]);
    let id = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
    let took = poll(120, "the instance to be running", || state_of(&cloud, &id) == "running");
    eprintln!("{id} running {took:?} after RunInstances");

    let qemu = qemu_processes(&format!("guest={id}"));
    assert_eq!(qemu.len(), 1, "one QEMU process for {id}: {qemu:?}");
    let (pid, cmdline) = &qemu[0];
    assert!(cmdline.contains("yukari-kernel") && cmdline.contains("yukari-initrd"), "{cmdline}");
    assert!(cmdline.contains("-accel tcg"), "emulation, as asked: {cmdline}");
    // The data directory is private, yet QEMU keeps its own user: the
    // directory lets QEMU's group through (search only), nobody else.
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&dir).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap().split_whitespace().next().unwrap();
    if netns::is_root() {
        assert_ne!(uid, "0", "QEMU runs as root: the private data directory kept its own user out");
        assert_eq!(meta.mode() & 0o777, 0o710, "the data directory");
        assert_eq!(meta.gid(), std::fs::metadata(format!("/proc/{pid}")).unwrap().gid(), "QEMU's group");
    } else {
        assert_eq!(meta.mode() & 0o777, 0o700, "the data directory");
    }
    for file in ["events.redb", "master.key", "eucarc"] {
        assert_eq!(std::fs::metadata(dir.join(file)).unwrap().mode() & 0o777, 0o600, "{file}");
    }

    let instance_dir = dir.join("node/instances").join(&id);
    let console = instance_dir.join("console.log");
    let read_console = || String::from_utf8_lossy(&std::fs::read(&console).unwrap_or_default()).into_owned();
    let up_line = format!("Yukari guest {id} is up");
    let took = poll(120, "the guest's boot line on its console", || read_console().contains(&up_line));
    eprintln!("boot line {took:?} after running");
    poll(60, "the guest to finish its boot script", || {
        read_console().contains(&format!("Yukari guest {id} ready"))
    });
    let log = read_console();
    eprintln!("console:\n{}", log.lines().filter(|l| l.starts_with("Yukari")).collect::<Vec<_>>().join("\n"));
    assert!(log.contains("Linux version"), "the kernel's own messages are on the console");
    assert!(log.contains("Yukari guest disk vda: 5120 MiB"), "the image's disk, grown to m1.small's 5 GiB");
    // The guest found itself in the metadata service (through the host, with
    // the token on its kernel command line) and read its user data.
    assert!(log.contains(&format!("/metadata/{id}.")), "the token names the instance: {log}");
    assert!(log.contains(&format!("instance-id {id}")), "{log}");
    assert!(log.contains("yukari-e2e-user-data-42"), "{log}");
    assert!(instance_dir.join("disk.qcow2").is_file());

    // StopInstances: the guest shuts down on its power button (the console
    // says so), QEMU ends, the disk stays.
    cloud.aws(&["stop-instances", "--instance-ids", &id]);
    poll(120, "the instance to be stopped", || state_of(&cloud, &id) == "stopped");
    assert!(read_console().contains("Yukari guest powering off"), "a graceful shutdown: {}", read_console());
    poll(30, "its QEMU process to end", || !Path::new(&format!("/proc/{pid}")).exists());
    assert!(instance_dir.join("disk.qcow2").is_file(), "a stopped instance keeps its disk");

    // StartInstances: the same domain and disk boot again (a new QEMU).
    cloud.aws(&["start-instances", "--instance-ids", &id]);
    poll(120, "the instance to be running again", || state_of(&cloud, &id) == "running");
    poll(120, "the second boot", || read_console().matches(&up_line).count() >= 2);
    let qemu = qemu_processes(&format!("guest={id}"));
    assert_eq!(qemu.len(), 1, "one QEMU process for {id} again: {qemu:?}");
    let pid = qemu[0].0;

    // RebootInstances: the guest goes down and comes up in the same QEMU
    // (libvirt resets it), and stays running.
    poll(60, "the guest to be ready again", || {
        read_console().matches(&format!("Yukari guest {id} ready")).count() >= 2
    });
    cloud.aws(&["reboot-instances", "--instance-ids", &id]);
    poll(120, "the boot after the reboot", || read_console().matches(&up_line).count() >= 3);
    assert_eq!(state_of(&cloud, &id), "running");

    cloud.aws(&["terminate-instances", "--instance-ids", &id]);
    poll(60, "the instance to be terminated", || state_of(&cloud, &id) == "terminated");
    poll(30, "its QEMU process to end", || !Path::new(&format!("/proc/{pid}")).exists());
    assert!(qemu_processes(&format!("guest={id}")).is_empty());
    assert!(!instance_dir.exists(), "the instance's files are removed: {}", instance_dir.display());
}
