//! The real store against a real tgtd: volumes exported over iSCSI to one
//! initiator name at a time, read and written by QEMU's own initiator
//! (`qemu-io`, as QEMU attaches them to guests), snapshots taken while a
//! session is open, grants revoked so that the next login fails and no
//! session survives.
//!
//! Needs `tgtd`, `tgtadm`, `iscsi-ls` (libiscsi-bin) and `qemu-io` with
//! iSCSI (qemu-utils, qemu-block-extra): `scripts/install-packages
//! --tests` installs them. A missing one fails the test.

use std::net::TcpListener;
use std::process::{Command, Output};
use storage::{Chap, Grant, StorageDriver, TgtConfig, TgtDriver};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Stops the test's tgtd however the test ends.
struct StopDaemon(u16);

impl Drop for StopDaemon {
    fn drop(&mut self) {
        if let Some(tgt) = storage::Tgt::adopt(TgtConfig::new(self.0, "", "")) {
            tgt.shutdown_daemon();
        }
    }
}

/// A tgtd control port no other tgtd uses (tgtd takes 0 to 32767).
fn free_control_port() -> u16 {
    loop {
        let n = 1000 + free_port() % 30000;
        if !std::path::Path::new(&format!("/run/tgtd/socket.{n}")).exists() {
            return n;
        }
    }
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// `qemu-io` on the volume through iSCSI, as `grant`'s initiator with its
/// CHAP account.
fn qemu_io(portal: &str, iqn: &str, grant: &Grant, command: &str) -> Output {
    let mut args = vec!["-c".to_owned(), command.to_owned()];
    args.extend(chap_args(grant));
    args.extend(["--image-opts".to_owned(), image_opts(portal, iqn, grant)]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run("qemu-io", &args)
}

/// The secret object qemu-io reads the CHAP secret from.
fn chap_args(grant: &Grant) -> Vec<String> {
    match &grant.chap {
        Some(c) => vec!["--object".into(), format!("secret,id=chap0,data={}", c.secret)],
        None => Vec::new(),
    }
}

fn image_opts(portal: &str, iqn: &str, grant: &Grant) -> String {
    let chap = match &grant.chap {
        Some(c) => format!(",user={},password-secret=chap0", c.user),
        None => String::new(),
    };
    format!(
        "driver=iscsi,transport=tcp,portal={portal},target={iqn},lun=1,initiator-name={}{chap}",
        grant.initiator
    )
}

fn grant(name: &str) -> Grant {
    Grant {
        initiator: format!("iqn.2026-12.io.yukari:{name}"),
        chap: Some(Chap { user: name.to_owned(), secret: format!("{name}-secret-0123456789") }),
    }
}

/// The same initiator name, without (or with another) CHAP secret.
fn without_chap(g: &Grant, secret: Option<&str>) -> Grant {
    Grant {
        initiator: g.initiator.clone(),
        chap: secret.map(|s| Chap { user: g.chap.as_ref().unwrap().user.clone(), secret: s.to_owned() }),
    }
}

#[test]
fn volumes_are_served_over_iscsi_to_one_initiator_snapshotted_in_use_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let portal = format!("127.0.0.1:{port}");
    let control = free_control_port();
    let config = TgtConfig::new(control, &portal, dir.path().join("tgtd.log"));
    let _daemon = StopDaemon(control);
    let store = TgtDriver::open(dir.path(), config.clone()).unwrap();
    let vol = "vol-00000000000000001";
    store.create(vol, 64 << 20).unwrap();
    let g = grant("att-1");
    let export = store.export(vol, &g).unwrap();
    assert_eq!(export, store.export(vol, &g).unwrap(), "exporting again changes nothing");
    assert_eq!(export.portal, portal);

    // The granted initiator writes; another one (or none) is refused.
    let wrote = qemu_io(&portal, &export.iqn, &g, "write -P 0xab 1M 1M");
    assert!(wrote.status.success(), "{}", String::from_utf8_lossy(&wrote.stderr));
    let guess = Grant { initiator: "iqn.2026-12.io.yukari:att-guess".into(), chap: g.chap.clone() };
    let wrong = qemu_io(&portal, &export.iqn, &guess, "read 0 512");
    assert!(!wrong.status.success(), "another initiator name must be refused");
    // The initiator name (sent in clear at login) is not enough: CHAP too.
    let no_chap = qemu_io(&portal, &export.iqn, &without_chap(&g, None), "read 0 512");
    assert!(!no_chap.status.success(), "the initiator name without CHAP must be refused");
    let bad_secret =
        qemu_io(&portal, &export.iqn, &without_chap(&g, Some("not-the-secret-42")), "read 0 512");
    assert!(!bad_secret.status.success(), "a wrong CHAP secret must be refused");
    let anonymous = run(
        "qemu-io",
        &[
            "-c",
            "read 0 512",
            "--image-opts",
            &format!("driver=iscsi,transport=tcp,portal={portal},target={},lun=1", export.iqn),
        ],
    );
    assert!(!anonymous.status.success(), "QEMU's default initiator name must be refused");
    let file = std::fs::read(store.file(vol)).unwrap();
    assert!(file[1 << 20..2 << 20].iter().all(|b| *b == 0xab));

    // A snapshot while a session is open (a guest attached): its I/O is
    // held for the copy and resumes.
    let session = Command::new("qemu-io")
        .args([
            "-c",
            "sleep 4000",
            "-c",
            "write -P 0xcd 3M 64k",
            "--object",
            &chap_args(&g)[1],
            "--image-opts",
            &image_opts(&portal, &export.iqn, &g),
        ])
        .spawn()
        .unwrap();
    let mut sessions = 0;
    for _ in 0..100 {
        sessions = store.tgt().targets().unwrap().iter().map(|t| t.sessions.len()).sum();
        if sessions > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(sessions, 1, "the held session");
    let taken = store.snapshot("snap-00000000000000001", vol, &mut |_, _| {}).unwrap();
    assert_eq!(taken.chunks, 16);
    assert_eq!(store.tgt().targets().unwrap()[0].state, "ready", "I/O resumed after the copy");
    let finished = session.wait_with_output().unwrap();
    assert!(finished.status.success(), "the guest's writes went on after the snapshot");
    let copy = "vol-00000000000000002";
    store.restore(copy, 128 << 20, &taken.manifest).unwrap();
    let restored = std::fs::read(store.file(copy)).unwrap();
    assert_eq!(restored.len(), 128 << 20);
    assert!(restored[1 << 20..2 << 20].iter().all(|b| *b == 0xab), "the snapshot holds the written data");

    // Revoked: the account is gone, no session survives, the next login fails.
    store.revoke(vol, &g.initiator).unwrap();
    assert!(
        store.tgt().targets().unwrap().iter().all(|t| t.volume() != Some(vol)),
        "the last grant took the target"
    );
    let after = qemu_io(&portal, &export.iqn, &g, "read 0 512");
    assert!(store.tgt().accounts().unwrap().is_empty(), "the attachment's CHAP account went with it");
    assert!(!after.status.success(), "a revoked grant must not log in");
    let listed = run("iscsi-ls", &["-i", &g.initiator, "-s", &format!("iscsi://{portal}")]);
    assert!(
        !String::from_utf8_lossy(&listed.stdout).contains(vol),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );

    // One attachment at a time: a new grant replaces a stale one (whose
    // login then fails); the inventory shows it; delete takes all.
    let (second, third) = (grant("att-2"), grant("att-3"));
    store.export(vol, &second).unwrap();
    store.export(vol, &third).unwrap();
    let inventory = store.inventory().unwrap();
    assert_eq!(inventory.volumes, vec![(vol.to_owned(), 64 << 20), (copy.to_owned(), 128 << 20)]);
    assert_eq!(inventory.exports, vec![(vol.to_owned(), vec![third.initiator.clone()])]);
    let stale = qemu_io(&portal, &export.iqn, &second, "read 0 512");
    assert!(!stale.status.success(), "a replaced grant must not log in");
    let current = qemu_io(&portal, &export.iqn, &third, "read -P 0xab 1M 4k");
    assert!(current.status.success(), "{}", String::from_utf8_lossy(&current.stderr));
    store.revoke(vol, &second.initiator).unwrap();
    assert_eq!(store.inventory().unwrap().exports, vec![(vol.to_owned(), vec![third.initiator.clone()])]);
    store.delete(vol).unwrap();
    store.delete(vol).unwrap();
    let inventory = store.inventory().unwrap();
    assert!(inventory.exports.is_empty() && inventory.volumes.len() == 1, "{inventory:?}");

    // The chunks of a snapshot no longer wanted are collected.
    assert!(store.collect_garbage(&[taken.manifest]).unwrap() == 0);
    assert!(store.collect_garbage(&[]).unwrap() > 0);
    assert!(store.chunks().collectable().unwrap().list().unwrap().is_empty());

    // A restarted controller adopts the running tgtd (its guests keep
    // their disks); the daemon stops only when asked.
    drop(store);
    let again = TgtDriver::open(dir.path(), config).unwrap();
    again.export(copy, &grant("att-4")).unwrap();
    assert_eq!(again.inventory().unwrap().exports.len(), 1);
    let tgt_pid = run("pgrep", &["-f", &format!("tgtd -f -C {control} ")]);
    assert!(tgt_pid.status.success(), "tgtd still runs");
}

/// A failed restore, and temporaries a crash left (a half-made volume, a
/// snapshot's copy), leave no file behind once the controller applies a
/// view: the restore removes its own, the start's cleanup the others.
#[test]
fn a_failed_restore_and_temporaries_left_by_a_crash_leave_no_file() {
    use storage::{Reconciler, StorageReport, Wanted, WantedVolume};
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let control = free_control_port();
    let config = TgtConfig::new(control, format!("127.0.0.1:{port}"), dir.path().join("tgtd.log"));
    let _daemon = StopDaemon(control);
    let store = TgtDriver::open(dir.path(), config).unwrap();
    let volumes = dir.path().join("volumes");
    let kept = "vol-00000000000000001";
    store.create(kept, 8 << 20).unwrap();
    std::fs::write(store.file(kept), b"data").unwrap();
    std::fs::OpenOptions::new().write(true).open(store.file(kept)).unwrap().set_len(8 << 20).unwrap();
    let snapshot = store.snapshot("snap-00000000000000001", kept, &mut |_, _| {}).unwrap().manifest;
    let first_chunk = storage::snapshot::manifest(store.chunks(), &snapshot).unwrap().chunks[0].unwrap();
    // Left by a kill -9 mid-step.
    let leftovers = [
        "vol-00000000000000002.creating",
        "vol-00000000000000003.restoring",
        ".vol-00000000000000001.snapshot",
    ];
    for name in leftovers {
        std::fs::write(volumes.join(name), b"half made").unwrap();
    }
    std::fs::write(volumes.join("README"), b"not ours").unwrap();
    let inventory = store.inventory().unwrap();
    assert_eq!(inventory.temporaries.len(), 3, "{inventory:?}");
    // The snapshot's chunk is lost: restoring from it fails.
    store.chunks().collectable().unwrap().remove(&first_chunk).unwrap();

    let mut reconciler = Reconciler::new(store);
    let restored = "vol-00000000000000004";
    let wanted = Wanted {
        position: 1,
        volumes: [kept, restored]
            .into_iter()
            .map(|v| WantedVolume {
                volume: v.into(),
                size: 8 << 20,
                source: (v == restored).then_some(snapshot),
                grant: None,
                created: v == kept,
                exported: false,
                revoke: None,
            })
            .collect(),
        live_snapshots: vec![snapshot],
        ..Wanted::default()
    };
    let mut reports = Vec::new();
    let cleanup = reconciler.apply(&wanted, &mut |r| reports.push(r)).unwrap();
    assert!(
        matches!(&reports[..], [StorageReport::CreateFailed { volume, .. }] if volume == restored),
        "{reports:?}"
    );
    let mut removed = cleanup.orphan_temporaries.clone();
    removed.sort();
    let mut expected: Vec<String> = leftovers.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(removed, expected);
    let mut left: Vec<String> =
        std::fs::read_dir(&volumes).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["README", kept], "only the volume (and a file not ours) stays");
}

/// A snapshot's point-in-time copy is kept, complete, across a restart of
/// the controller: the retry cuts that copy, not the volume as it is by
/// then; a copy left half-made is removed, and so is a complete copy
/// whose snapshot is no longer asked for.
#[test]
fn a_complete_copy_outlives_a_restart_and_is_cut_instead_of_the_live_volume() {
    use storage::{Reconciler, StorageReport, Wanted, WantedSnapshot, WantedVolume};
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let control = free_control_port();
    let config = TgtConfig::new(control, format!("127.0.0.1:{port}"), dir.path().join("tgtd.log"));
    let _daemon = StopDaemon(control);
    let store = TgtDriver::open(dir.path(), config.clone()).unwrap();
    let volumes = dir.path().join("volumes");
    let (vol, other) = ("vol-00000000000000001", "vol-00000000000000002");
    let (snap, dropped) = ("snap-00000000000000001", "snap-00000000000000002");
    let g = Grant { initiator: "iqn.2026-12.io.yukari:att-1".into(), chap: None };
    let write = |store: &TgtDriver, what: &[u8]| {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(store.file(vol)).unwrap();
        f.write_all_at(what, 0).unwrap();
        f.sync_all().unwrap();
    };
    store.create(vol, 8 << 20).unwrap();
    store.create(other, 8 << 20).unwrap();
    store.export(vol, &g).unwrap();
    write(&store, b"asked for");
    // CreateSnapshot's moment: both copies made, the target in use resumed.
    let frozen = store.freeze(&[(snap, vol), (dropped, other)]);
    assert!(frozen.iter().all(Result::is_ok), "{frozen:?}");
    assert_eq!(store.tgt().targets().unwrap()[0].state, "ready", "I/O resumed after the copy");
    let inventory = store.inventory().unwrap();
    assert_eq!(inventory.copies, vec![(snap.into(), vol.into()), (dropped.into(), other.into())]);
    assert!(inventory.temporaries.is_empty(), "a complete copy is no leftover: {inventory:?}");
    // The controller is killed before cutting them, during a later copy
    // (its target held, its temporary half made); the guest writes on.
    drop(store);
    std::fs::write(volumes.join(format!(".{vol}.snapshot")), b"half made").unwrap();
    let store = TgtDriver::open(dir.path(), config).unwrap();
    let tid = store.tgt().targets().unwrap()[0].tid;
    store.tgt().set_ready(tid, false).unwrap();
    write(&store, b"WRITTEN LATER");

    let mut reconciler = Reconciler::new(store);
    let wanted = Wanted {
        position: 1,
        volumes: [vol, other]
            .into_iter()
            .map(|v| WantedVolume {
                volume: v.into(),
                size: 8 << 20,
                source: None,
                grant: (v == vol).then(|| g.clone()),
                created: true,
                exported: v == vol,
                revoke: None,
            })
            .collect(),
        // The other snapshot failed meanwhile: no longer asked for.
        snapshots: vec![WantedSnapshot { snapshot: snap.into(), volume: vol.into() }],
        ..Wanted::default()
    };
    let mut reports = Vec::new();
    let cleanup = reconciler.apply(&wanted, &mut |r| reports.push(r)).unwrap();
    let Some(StorageReport::SnapshotCompleted { manifest, .. }) = reports.last().cloned() else {
        panic!("{reports:?}")
    };
    assert_eq!(cleanup.orphan_temporaries, vec![format!(".{vol}.snapshot")]);
    assert_eq!(cleanup.orphan_copies, vec![dropped.to_owned()]);
    let store = reconciler.driver();
    assert_eq!(store.tgt().targets().unwrap()[0].state, "ready", "the target the kill left held is resumed");
    let restored = "vol-00000000000000003";
    store.restore(restored, 8 << 20, &manifest).unwrap();
    let bytes = std::fs::read(store.file(restored)).unwrap();
    assert_eq!(&bytes[..13], b"asked for\0\0\0\0", "the snapshot holds the volume as it was when asked for");
    let mut left: Vec<String> =
        std::fs::read_dir(&volumes).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, [vol, other, restored], "no copy is left once cut or no longer asked for");
}
