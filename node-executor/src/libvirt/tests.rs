//! The driver's lifecycle against libvirt's test driver (`test:///default`):
//! real libvirt calls and domain XML validation, no QEMU, ~2 ms a guest.
//! The test driver is shared by every connection of a process, so each
//! test uses its own instance ids.

use super::*;
use domain::{AccountId, ImageKind, ReservationId, VmType};
use std::path::Path;

struct Node {
    driver: LibvirtDriver,
    _dir: tempfile::TempDir,
    images: PathBuf,
}

/// A driver on `test:///default` with a kernel and initrd (dummy files:
/// the test driver does not read them) and a machine image without a disk.
fn node() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for name in ["kernel", "initrd"] {
        std::fs::write(images.join(name), b"not really a kernel").unwrap();
    }
    let files = ImageFiles::new(&images)
        .with(ImageId::with_kind(ImageKind::Kernel, 1), "kernel")
        .with(ImageId::with_kind(ImageKind::Ramdisk, 1), "initrd")
        .with(ImageId::with_kind(ImageKind::Machine, 2), "disk");
    let config = LibvirtConfig::new("test:///default", dir.path().join("instances"), files);
    Node { driver: LibvirtDriver::open(config).unwrap(), _dir: dir, images }
}

fn spec(n: u128) -> GuestSpec {
    GuestSpec {
        instance: InstanceId::from_bits(n),
        reservation: ReservationId::from_bits(n),
        account: AccountId::from_bits(1),
        vm_type: VmType::eucalyptus_defaults()[0].clone(),
        image: ImageId::with_kind(ImageKind::Machine, 1),
        kernel: Some(ImageId::with_kind(ImageKind::Kernel, 1)),
        ramdisk: Some(ImageId::with_kind(ImageKind::Ramdisk, 1)),
        user_data: b"hello".to_vec(),
        launch_index: 0,
        private_address: None,
        volumes: Vec::new(),
        root_volume: None,
    }
}

fn listed(driver: &LibvirtDriver, id: &InstanceId) -> bool {
    driver.list().unwrap().contains(id)
}

#[test]
fn a_guest_is_defined_started_listed_and_destroyed_idempotently() {
    let node = node();
    let d = &node.driver;
    let s = spec(0x1001);
    assert_eq!(d.name(), "libvirt");
    assert!(d.blocks());
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::Absent);
    assert!(!listed(d, &s.instance));

    d.start(&s).unwrap();
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::Running);
    assert!(listed(d, &s.instance));
    assert!(d.instance_files(&s.instance).is_dir(), "the instance gets its folder");
    // Starting again is a no-op, not a second guest or an error.
    d.start(&s).unwrap();
    assert_eq!(d.list().unwrap().iter().filter(|i| **i == s.instance).count(), 1);
    // The test driver's own "test" domain is not an instance.
    assert!(d.list().unwrap().iter().all(|i| i.as_str().starts_with("i-")));

    d.destroy(&s.instance).unwrap();
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::Absent);
    assert!(!listed(d, &s.instance));
    assert!(!d.instance_files(&s.instance).exists(), "destroy removes the instance's files");
    d.destroy(&s.instance).unwrap();
    d.destroy(&InstanceId::from_bits(0x1fff)).unwrap();
}

#[test]
fn a_powered_off_guest_stays_defined_and_starts_again() {
    let node = node();
    let d = &node.driver;
    let s = spec(0x2001);
    d.start(&s).unwrap();
    assert!(d.shutdown(&s.instance).unwrap(), "the button of a running guest is pressed");
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::ShutOff);
    assert!(listed(d, &s.instance), "a shut-off guest is still this node's");
    // Pressing the button of a stopped guest changes nothing.
    assert!(!d.shutdown(&s.instance).unwrap());
    d.start(&s).unwrap();
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::Running);
    d.reboot(&s.instance).unwrap();
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::Running);
    // A hard stop keeps the domain; it starts again (defined anew).
    d.stop(&s.instance).unwrap();
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::ShutOff);
    d.stop(&s.instance).unwrap();
    d.start(&s).unwrap();
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::Running);
    d.destroy(&s.instance).unwrap();
    assert!(!d.shutdown(&s.instance).unwrap(), "no guest, no button");
    d.stop(&s.instance).unwrap();
    assert!(matches!(d.reboot(&s.instance), Err(DriverError::NoSuchGuest(_))));
}

#[test]
fn many_guests_live_side_by_side() {
    let node = node();
    let d = &node.driver;
    let specs: Vec<GuestSpec> = (0x3000..0x3020).map(spec).collect();
    let started = std::time::Instant::now();
    for s in &specs {
        d.start(s).unwrap();
    }
    for s in &specs {
        assert!(listed(d, &s.instance));
    }
    for s in &specs[..16] {
        d.destroy(&s.instance).unwrap();
    }
    let left: Vec<InstanceId> =
        d.list().unwrap().into_iter().filter(|i| specs.iter().any(|s| s.instance == *i)).collect();
    assert_eq!(left.len(), 16);
    assert!(specs[16..].iter().all(|s| left.contains(&s.instance)));
    for s in &specs[16..] {
        d.destroy(&s.instance).unwrap();
    }
    eprintln!("32 guests started and destroyed in {:?}", started.elapsed());
}

#[test]
fn console_output_reads_the_console_log() {
    let node = node();
    let d = &node.driver;
    let s = spec(0x4001);
    assert!(matches!(d.console_output(&s.instance), Err(DriverError::NoSuchGuest(_))));
    d.start(&s).unwrap();
    // The test driver runs no QEMU, so nothing writes the log: empty so far.
    assert_eq!(d.console_output(&s.instance).unwrap(), b"");
    let log = d.instance_files(&s.instance).join("console.log");
    std::fs::write(&log, format!("Yukari guest {} is up\n", s.instance)).unwrap();
    let out = String::from_utf8(d.console_output(&s.instance).unwrap()).unwrap();
    assert_eq!(out, format!("Yukari guest {} is up\n", s.instance));
    d.destroy(&s.instance).unwrap();
    assert!(!log.exists());
    assert!(matches!(d.console_output(&s.instance), Err(DriverError::NoSuchGuest(_))));
}

#[test]
fn a_missing_image_file_fails_the_start_and_says_how_to_build_it() {
    let node = node();
    let d = &node.driver;
    std::fs::remove_file(node.images.join("initrd")).unwrap();
    let s = spec(0x5001);
    let err = d.start(&s).unwrap_err();
    let DriverError::StartFailed { reason, .. } = &err else { panic!("{err:?}") };
    assert!(reason.contains("scripts/build-guest-image"), "{reason}");
    assert!(reason.contains(&*node.images.join("initrd").to_string_lossy()), "{reason}");
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::Absent, "nothing is defined");

    let mut unknown = spec(0x5002);
    unknown.kernel = Some(ImageId::with_kind(ImageKind::Kernel, 99));
    let err = d.start(&unknown).unwrap_err().to_string();
    assert!(err.contains("is not available on this node"), "{err}");

    let mut no_kernel = spec(0x5003);
    no_kernel.kernel = None;
    no_kernel.ramdisk = None;
    let err = d.start(&no_kernel).unwrap_err().to_string();
    assert!(err.contains("is not available on this node"), "{err}");
}

#[test]
fn the_embedded_qemu_conf_runs_guests_as_root_only_when_asked_and_keeps_edits() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("etc/qemu.conf");
    assert!(!prepare_embed_root(dir.path(), false).unwrap());
    let plain = std::fs::read_to_string(&conf).unwrap();
    assert!(plain.contains("stdio_handler") && !plain.contains("user ="), "{plain}");
    // A later start below a closed folder turns Yukari's own file to root.
    assert!(prepare_embed_root(dir.path(), true).unwrap());
    assert!(std::fs::read_to_string(&conf).unwrap().contains("user = \"root\""));
    assert!(!prepare_embed_root(dir.path(), false).unwrap());
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), plain);
    // An edited file is the operator's: left alone, and read.
    let edited = format!("{plain}user = \"root\"\nmax_files = 4096\n");
    std::fs::write(&conf, &edited).unwrap();
    assert!(prepare_embed_root(dir.path(), false).unwrap());
    assert_eq!(std::fs::read_to_string(&conf).unwrap(), edited);
}

#[test]
fn the_domain_xml_follows_the_guest_and_the_settings() {
    let node = node();
    let mut s = spec(0x6001);
    s.vm_type = VmType::eucalyptus_defaults().into_iter().find(|t| t.name == "c1.medium").unwrap();
    let xml = node.driver.domain_xml(&s).unwrap();
    assert!(xml.contains("<domain type='qemu'>"), "emulation unless told otherwise: {xml}");
    assert!(xml.contains("<vcpu>2</vcpu>") && xml.contains("<memory unit='MiB'>512</memory>"), "{xml}");
    assert!(xml.contains(&format!("<kernel>{}</kernel>", node.images.join("kernel").display())), "{xml}");
    assert!(xml.contains(&format!("yukari.instance={}", s.instance)), "{xml}");
    let console = node.driver.instance_files(&s.instance).join("console.log");
    assert!(xml.contains(&format!("<source path='{}' append='on'/>", console.display())), "{xml}");
    assert!(!xml.contains("<disk"), "the machine image has no disk here: {xml}");
}

#[test]
fn an_ebs_backed_guest_boots_from_its_root_volume_and_no_copy_of_its_image() {
    let node = node();
    let mut s = spec(0x6101);
    // The machine image has a disk on this node; an EBS-backed guest does
    // not use it.
    s.image = ImageId::with_kind(ImageKind::Machine, 2);
    s.root_volume = Some("vol-00000000000000b01".into());
    let err = node.driver.domain_xml(&s).unwrap_err().to_string();
    assert!(err.contains("root volume vol-00000000000000b01 is not attached yet"), "{err}");
    s.volumes = vec![VolumeDisk {
        volume: "vol-00000000000000b01".into(),
        device: "/dev/sda1".into(),
        iqn: "iqn.2026-12.io.yukari:vol-00000000000000b01".into(),
        lun: 1,
        portal: "127.0.0.1:3260".into(),
        initiator: "iqn.2026-12.io.yukari:att-9".into(),
        chap: None,
    }];
    let xml = node.driver.domain_xml(&s).unwrap();
    assert!(!xml.contains("qcow2"), "no overlay of the image: {xml}");
    assert!(
        xml.contains("<target dev='vda' bus='virtio'/>") && xml.contains("vol00000000000000b01"),
        "{xml}"
    );
    assert!(xml.contains("<kernel>"), "the image's kernel still boots it: {xml}");
    s.kernel = None;
    s.ramdisk = None;
    let xml = node.driver.domain_xml(&s).unwrap();
    assert!(xml.contains("<boot dev='hd'/>"), "without a kernel, from the volume's boot loader: {xml}");
}

#[test]
fn an_image_with_a_disk_gets_an_overlay_in_the_instance_folder() {
    if std::process::Command::new("qemu-img").arg("--version").output().is_err() {
        eprintln!("qemu-img is not installed (scripts/test installs it); skipping");
        return;
    }
    let node = node();
    let d = &node.driver;
    std::fs::write(node.images.join("disk"), vec![0u8; 1 << 20]).unwrap();
    let mut s = spec(0x7001);
    s.image = ImageId::with_kind(ImageKind::Machine, 2);
    d.start(&s).unwrap();
    let overlay = d.instance_files(&s.instance).join("disk.qcow2");
    let image = files::inspect(&overlay).unwrap();
    assert_eq!(image.format, "qcow2");
    assert_eq!(image.virtual_size, u64::from(s.vm_type.disk_gib) << 30, "grown to the VM type's disk");
    assert!(d.domain_xml(&s).unwrap().contains(&format!("<source file='{}'/>", overlay.display())));
    d.destroy(&s.instance).unwrap();
    assert!(!overlay.exists());
    assert!(Path::new(&node.images.join("disk")).exists(), "the image itself is never touched");

    std::fs::remove_file(node.images.join("disk")).unwrap();
    let err = d.start(&spec_with_image(0x7002, 2)).unwrap_err().to_string();
    assert!(err.contains("scripts/build-guest-image"), "{err}");
}

fn spec_with_image(n: u128, image: u128) -> GuestSpec {
    GuestSpec { image: ImageId::with_kind(ImageKind::Machine, image), ..spec(n) }
}

/// One real guest under libvirt's embedded QEMU driver (emulation): the
/// ACPI power button ends the VM (libvirt's event loop sees the guest power
/// off), a shut-off guest starts again, reboot boots it once more.
/// Needs QEMU and the built-in image (`scripts/test` provides both).
#[test]
fn a_real_guest_powers_off_on_the_acpi_button_and_starts_again() {
    let images = default_image_dir();
    for file in ["yukari-kernel", "yukari-initrd", "yukari-default"] {
        assert!(
            images.join(file).is_file(),
            "{} is missing: run `scripts/build-guest-image {}` (scripts/test does)",
            images.join(file).display(),
            images.display()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    // QEMU may run as another user (libvirt-qemu under root): let it in.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let d = real_guest_driver(&images, dir.path());
    let s = spec(0x8001);
    let ready = format!("Yukari guest {} ready", s.instance);
    let boots = |d: &LibvirtDriver| {
        String::from_utf8_lossy(&d.console_output(&s.instance).unwrap()).matches(&ready).count()
    };
    let wait = |what: &str, check: &dyn Fn() -> bool| {
        let started = std::time::Instant::now();
        while !check() {
            assert!(started.elapsed() < Duration::from_secs(120), "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("{what}: {:?}", started.elapsed());
    };

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        d.start(&s).unwrap();
        assert_eq!(d.state(&s.instance).unwrap(), GuestState::Running);
        wait("first boot", &|| boots(&d) == 1);
        let log = String::from_utf8_lossy(&d.console_output(&s.instance).unwrap()).into_owned();
        assert!(log.contains("Yukari guest disk vda:"), "{log}");
        assert!(log.contains("(network: none)"), "no interface was asked for: {log}");

        // The guest's acpid starts just before it says it is ready and
        // may not listen yet on a busy machine: a press it missed is
        // pressed again, as a user would (StopInstances itself ends in a
        // hard power-off when the button is not answered).
        d.shutdown(&s.instance).unwrap();
        let pressed = std::cell::Cell::new(std::time::Instant::now());
        wait("power off on the ACPI button", &|| {
            if d.state(&s.instance).unwrap() == GuestState::ShutOff {
                return true;
            }
            if pressed.get().elapsed() > Duration::from_secs(20) {
                eprintln!("pressing the button again");
                let _ = d.shutdown(&s.instance);
                pressed.set(std::time::Instant::now());
            }
            false
        });
        let log = String::from_utf8_lossy(&d.console_output(&s.instance).unwrap()).into_owned();
        assert!(log.contains("Yukari guest powering off"), "{log}");
        assert!(d.list().unwrap().contains(&s.instance), "a powered-off guest stays defined");

        d.start(&s).unwrap();
        wait("second boot", &|| boots(&d) == 2);
        d.reboot(&s.instance).unwrap();
        wait("boot after reboot", &|| boots(&d) == 3);
        assert_eq!(d.state(&s.instance).unwrap(), GuestState::Running);
    }));
    d.destroy(&s.instance).unwrap();
    assert_eq!(d.state(&s.instance).unwrap(), GuestState::Absent);
    assert!(!d.instance_files(&s.instance).exists());
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// An EBS volume on a real tgtd, attached to a real guest over QEMU's
/// iSCSI initiator with the attachment's initiator name: the guest sees the disk appear
/// (size and serial), the volume survives a stop and start in the
/// guest's definition, and detaches live (the guest sees it go). Needs
/// tgt, QEMU with iSCSI (qemu-block-extra) and the built-in image.
#[test]
fn a_volume_on_a_real_target_attaches_to_a_running_guest_stays_through_stop_and_start_and_detaches() {
    use storage::{Grant, StorageDriver, TgtConfig, TgtDriver};
    let images = default_image_dir();
    assert!(images.join("yukari-initrd").is_file(), "run scripts/build-guest-image (scripts/test does)");
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let control = loop {
        let n =
            1000 + std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port() % 30000;
        if !Path::new(&format!("/run/tgtd/socket.{n}")).exists() {
            break n;
        }
    };
    let store_dir = dir.path().join("sc");
    let store = TgtDriver::open(
        &store_dir,
        TgtConfig::new(control, format!("127.0.0.1:{port}"), dir.path().join("tgtd.log")),
    )
    .unwrap();
    let volume = "vol-0000000000000a77a";
    store.create(volume, 1 << 30).unwrap();
    // No CHAP: the embedded QEMU driver cannot read libvirt secrets ("No
    // current identity to elevate"); access is by the initiator name.
    let grant = Grant { initiator: "iqn.2026-12.io.yukari:att-volume-test".into(), chap: None };
    let export = store.export(volume, &grant).unwrap();
    let disk = VolumeDisk {
        volume: volume.into(),
        device: "/dev/sdf".into(),
        iqn: export.iqn,
        lun: export.lun,
        portal: export.portal,
        initiator: grant.initiator.clone(),
        chap: None,
    };

    let d = real_guest_driver(&images, dir.path());
    let s = spec(0x8a77);
    let instance = s.instance.clone();
    let console =
        |d: &LibvirtDriver| String::from_utf8_lossy(&d.console_output(&instance).unwrap()).into_owned();
    let wait = |what: &str, check: &dyn Fn() -> bool| {
        let started = std::time::Instant::now();
        while !check() {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "timed out waiting for {what}; the console:\n{}",
                console(&d)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!("{what}: {:?}", started.elapsed());
    };
    let ready = format!("Yukari guest {} ready", s.instance);
    let attached_line = "Yukari guest disk vdb attached: 1024 MiB serial vol0000000000000a77a";
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        d.start(&s).unwrap();
        wait("the guest to boot", &|| console(&d).contains(&ready));
        d.attach_volume(&s.instance, &disk).unwrap();
        d.attach_volume(&s.instance, &disk).unwrap();
        assert_eq!(d.volumes(&s.instance).unwrap(), [volume]);
        wait("the guest to see the disk", &|| console(&d).contains(attached_line));

        // Stop and start: the definition keeps the volume, and the guest
        // sees it at boot.
        d.stop(&s.instance).unwrap();
        assert_eq!(d.volumes(&s.instance).unwrap(), [volume]);
        d.start(&GuestSpec { volumes: vec![disk.clone()], ..s.clone() }).unwrap();
        let at_boot = "Yukari guest disk vdb: 1024 MiB serial vol0000000000000a77a";
        wait("the disk at the second boot", &|| console(&d).contains(at_boot));
        wait("the second boot to finish", &|| console(&d).matches(&ready).count() == 2);

        d.detach_volume(&s.instance, volume).unwrap();
        d.detach_volume(&s.instance, volume).unwrap();
        assert!(d.volumes(&s.instance).unwrap().is_empty());
        wait("the guest to see the disk go", &|| console(&d).contains("Yukari guest disk vdb detached"));
    }));
    d.destroy(&s.instance).unwrap();
    store.revoke(volume, &grant.initiator).unwrap();
    store.tgt().shutdown_daemon();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// A driver on the embedded QEMU driver rooted in `dir`, with the built-in
/// image from `images` and no guest network.
fn real_guest_driver(images: &Path, dir: &Path) -> LibvirtDriver {
    let files = ImageFiles::new(images)
        .with(ImageId::with_kind(ImageKind::Kernel, 1), "yukari-kernel")
        .with(ImageId::with_kind(ImageKind::Ramdisk, 1), "yukari-initrd")
        .with(ImageId::with_kind(ImageKind::Machine, 1), "yukari-default");
    let mut config = LibvirtConfig::new(embedded_uri(&dir.join("libvirt")), dir.join("instances"), files);
    config.network = GuestNetwork::None;
    LibvirtDriver::open(config).unwrap()
}
