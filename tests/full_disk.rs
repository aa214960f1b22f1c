//! The real binary on a real file system that fills up, then on one
//! mounted read-only: changes answer 503 ServiceUnavailable while the log
//! cannot store them, a refusal keeps its own code, reads go on, and once
//! space returns (the mount is writable again) changes are stored again,
//! without a restart.
//!
//! Needs root (CI runs as root) to mount a small tmpfs as the data
//! directory; without it the test fails, saying so.

mod common;
use common::wire::{Answer, Signer};
use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const V: (&str, &str) = ("Version", "2016-11-15");

/// A tmpfs of `size` mounted on a new directory, unmounted when dropped.
struct Tmpfs {
    at: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let uid = Command::new("id").arg("-u").output().expect("id runs");
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "this test mounts a tmpfs and must run as root (CI does); it cannot test a full disk otherwise"
        );
        let parent = tempfile::tempdir().unwrap();
        let at = parent.path().join("mnt");
        std::fs::create_dir(&at).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .output()
            .expect("mount runs");
        assert!(
            mounted.status.success(),
            "cannot mount a tmpfs on {} ({}): the full-disk test cannot run here",
            at.display(),
            String::from_utf8_lossy(&mounted.stderr)
        );
        Tmpfs { at, _parent: parent }
    }

    fn remount(&self, mode: &str) {
        let out =
            Command::new("mount").args(["-o", &format!("remount,{mode}")]).arg(&self.at).output().unwrap();
        assert!(out.status.success(), "remount,{mode}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let done = Command::new("umount").arg(&self.at).status().is_ok_and(|s| s.success());
        if !done {
            let _ = Command::new("umount").arg("-l").arg(&self.at).status();
        }
    }
}

/// Fills the file system of `dir` with one file until it is full.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    for chunk in [1 << 20, 4096, 512] {
        let block = vec![0xEEu8; chunk];
        while file.write_all(&block).is_ok() {}
    }
    let _ = file.sync_all();
    path
}

fn create_group(cloud: &Cloud, name: &str) -> Answer {
    cloud.wire("/").send(
        &[("Action", "CreateSecurityGroup"), ("GroupName", name), ("GroupDescription", "full disk test"), V],
        Signer::Boto3,
    )
}

fn has_group(cloud: &Cloud, name: &str) -> bool {
    let answer = cloud.wire("/").send(&[("Action", "DescribeSecurityGroups"), V], Signer::Boto3);
    assert_eq!(answer.status, 200, "reads go on: {}", answer.body);
    answer.all("groupName").iter().any(|n| n == name)
}

/// A refused change keeps its own error even though recording the
/// refusal in the log fails.
fn refusal_keeps_its_code(cloud: &Cloud) {
    let unknown = cloud
        .wire("/")
        .send(&[("Action", "TerminateInstances"), ("InstanceId.1", "i-0123456789abcdef0"), V], Signer::Boto3);
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(unknown.element("Code"), Some("InvalidInstanceID.NotFound"), "{}", unknown.body);
}

fn unavailable(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.element("Code"), Some("ServiceUnavailable"), "{}", answer.body);
    assert!(answer.body.contains(what), "{}", answer.body);
}

#[test]
fn a_full_then_read_only_disk_refuses_changes_with_503_and_heals_without_a_restart() {
    let disk = Tmpfs::mount("48m");
    // The data directory is the mount itself; the cloud's own log
    // (DIR.log) stays outside it.
    let mut cloud = Cloud::start_in(&disk.at, free_port(), &[]);
    let pid = cloud.pid();
    assert_eq!(create_group(&cloud, "before").status, 200);

    // ---- full ----
    let filler = fill(&disk.at);
    // redb may still find free pages inside its file for a few commits.
    let mut first_refused = None;
    for n in 0..200 {
        let answer = create_group(&cloud, &format!("full-{n}"));
        assert_ne!(answer.status, 500, "a full disk answered InternalError: {}", answer.body);
        if answer.status != 200 {
            first_refused = Some(answer);
            break;
        }
    }
    let refused = first_refused.expect("a change was refused once the disk was full");
    unavailable(&refused, "disk is full");
    refusal_keeps_its_code(&cloud);
    assert!(has_group(&cloud, "before"));
    unavailable(&create_group(&cloud, "still-full"), "disk is full");

    std::fs::remove_file(&filler).unwrap();
    poll(60, "a change stored again once space returned", || {
        create_group(&cloud, "after-full").status == 200
    });
    assert!(has_group(&cloud, "after-full"));
    assert_eq!(cloud.pid(), pid, "no restart");

    // ---- read-only ----
    // Linux does not let a file system go read-only under a process that
    // has a file open for writing (EBUSY): stop, remount, start on it.
    assert!(cloud.stop().success());
    disk.remount("ro");
    let mut cloud = Cloud::start_in(&disk.at, cloud.port, &[]);
    let pid = cloud.pid();
    assert!(has_group(&cloud, "after-full"));
    unavailable(&create_group(&cloud, "read-only"), "read-only");
    refusal_keeps_its_code(&cloud);

    disk.remount("rw");
    poll(60, "a change stored again once the disk was writable", || {
        create_group(&cloud, "after-read-only").status == 200
    });
    assert!(has_group(&cloud, "after-read-only"));
    assert_eq!(cloud.pid(), pid, "no restart");
    assert!(cloud.stop().success());

    // Everything acknowledged is in the log, and it verifies.
    let verify = yukari().args(["replay", "verify", "--data-dir"]).arg(&disk.at).output().unwrap();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success() && report.contains("OK: the log verifies"), "{report}");
}
