//! A damaged event log, as an operator meets it with the real binary: the
//! replay tools only read the log file (its bytes do not change), `yukari
//! replay salvage` copies every readable record into a new log the cloud
//! starts on, `yukari up` refuses a damaged log (naming the position and
//! the salvage command) unless `--allow-damaged-log`, which serves reads and
//! refuses every change with 503, a damaged record that the start-up check
//! cannot see stops the controller once it has read the log through (in the
//! background, after the start), and only a log in use gets the hint about
//! another yukari.

mod common;
use common::wire::{Answer, Signer};
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

const V: (&str, &str) = ("Version", "2016-11-15");

fn create_group(cloud: &Cloud, name: &str, description: &str) -> Answer {
    cloud.wire("/").send(
        &[("Action", "CreateSecurityGroup"), ("GroupName", name), ("GroupDescription", description), V],
        Signer::Boto3,
    )
}

fn group_names(cloud: &Cloud) -> Vec<String> {
    let answer = cloud.wire("/").send(&[("Action", "DescribeSecurityGroups"), V], Signer::Boto3);
    assert_eq!(answer.status, 200, "{}", answer.body);
    // The default group's rules name it too.
    let mut names = answer.all("groupName");
    names.sort();
    names.dedup();
    names
}

/// A stopped cloud with groups g1..g4, g2's description being `marker`
/// (stored in that one record). Returns the cloud and g2's position.
fn stopped_cloud_with_marker(marker: &str) -> (Cloud, u64) {
    let mut cloud = Cloud::start();
    for (name, description) in [("g1", "first"), ("g2", marker), ("g3", "third"), ("g4", "fourth")] {
        let answer = create_group(&cloud, name, description);
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert!(cloud.stop().success());
    let position = position_of(&cloud.dir, marker);
    (cloud, position)
}

/// The position of the record whose payload holds `marker`.
fn position_of(dir: &Path, marker: &str) -> u64 {
    let log = eventlog::EventLog::open_read_only(&dir.join("events.redb"), eventlog::LogOptions::default())
        .unwrap();
    let found: Vec<u64> = log
        .read_from(1, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|r| r.payload.windows(marker.len()).any(|w| w == marker.as_bytes()))
        .map(|r| r.position)
        .collect();
    log.close();
    assert_eq!(found.len(), 1, "one record holds the marker");
    found[0]
}

/// Flips a byte of every copy of `marker` in the log file (redb copies
/// pages on write, so older copies of the record may be in the file).
fn damage_record(dir: &Path, marker: &str) {
    let path = dir.join("events.redb");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut flipped = 0;
    while let Some(at) = bytes.windows(marker.len()).position(|w| w == marker.as_bytes()) {
        bytes[at] ^= 0x20;
        flipped += 1;
    }
    assert!(flipped > 0);
    std::fs::write(&path, &bytes).unwrap();
}

fn replay(dir: &Path, args: &[&str]) -> Output {
    yukari().arg("replay").args(args).arg("--data-dir").arg(dir).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `yukari up` on `dir` until it exits by itself (within 90 s).
fn up_until_it_exits(dir: &Path, extra: &[&str]) -> Output {
    let mut child = yukari()
        .args(["up", "--hypervisor", "sim", "--data-dir"])
        .arg(dir)
        .args(["--ec2-port", &free_port().to_string(), "--console-port", &free_port().to_string()])
        .args(["--s3-port", &free_port().to_string()])
        .args(extra)
        .env("YUKARI_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("yukari up went on running; its log: {}", text(&child.wait_with_output().unwrap().stderr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_replay_tools_leave_the_log_file_as_it_was() {
    let (cloud, _) = stopped_cloud_with_marker("tools-marker-41c7");
    let path = cloud.dir.join("events.redb");
    let before = std::fs::read(&path).unwrap();
    for args in [
        &["verify"][..],
        &["audit"],
        &["usage"],
        &["state", "--position", "3"],
        &["diff", "--from-position", "2", "--to-position", "5"],
        &["tail"],
    ] {
        let out = replay(&cloud.dir, args);
        assert!(out.status.success(), "replay {args:?}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(std::fs::read(&path).unwrap() == before, "yukari replay {args:?} changed the log file");
    }
    // A damaged log too: verify names the record and leaves the file alone.
    let position = position_of(&cloud.dir, "tools-marker-41c7");
    damage_record(&cloud.dir, "tools-marker-41c7");
    let damaged = std::fs::read(&path).unwrap();
    let out = replay(&cloud.dir, &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("position {position}: record at position {position} is corrupt"))
    );
    assert!(std::fs::read(&path).unwrap() == damaged, "yukari replay verify changed a damaged log file");
}

#[test]
fn salvage_copies_every_readable_record_into_a_log_the_cloud_starts_on() {
    let marker = "salvage-marker-9e2d";
    let (cloud, position) = stopped_cloud_with_marker(marker);
    let dir = cloud.dir.clone();
    let pristine = std::fs::read(dir.join("events.redb")).unwrap();
    damage_record(&dir, marker);
    let damaged = std::fs::read(dir.join("events.redb")).unwrap();
    let head = log_head_read_only(&dir);

    let out_dir = dir.parent().unwrap().join("salvaged/");
    let out = replay(&dir, &["salvage", "--to", out_dir.to_str().unwrap()]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert!(report.contains(&format!("salvaged {} of {head} record(s)", head - 1)), "{report}");
    assert!(report.contains(&format!("LOST: 1 record(s), at position(s) {position}")), "{report}");
    assert!(report.contains("OK: the log verifies"), "{report}");
    assert!(std::fs::read(dir.join("events.redb")).unwrap() == damaged, "salvage wrote to the damaged log");
    let again = replay(&dir, &["salvage", "--to", out_dir.to_str().unwrap()]);
    assert!(!again.status.success() && text(&again.stderr).contains("exists already"), "{again:?}");

    // As the report says: the new log in place, derived files gone.
    let new_log = out_dir.join("events.redb");
    assert_eq!(log_head_read_only(&out_dir), head - 1);
    std::fs::rename(&new_log, dir.join("events.redb")).unwrap();
    std::fs::remove_file(dir.join("projections.snapshot")).unwrap();
    let _ = std::fs::remove_dir_all(dir.join("snapshots"));
    let mut restarted = Cloud::start_in(&dir, free_port(), &[]);
    assert_eq!(group_names(&restarted), vec!["default", "g1", "g3", "g4"], "g2's record was the one lost");
    let answer = create_group(&restarted, "g5", "after the salvage");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(restarted.stop().success());

    // A damaged B-tree page: its records are found in the file's bytes.
    let copy = dir.parent().unwrap().join("page-damage");
    std::fs::create_dir_all(&copy).unwrap();
    let mut bytes = pristine;
    let at = bytes.windows(marker.len()).rposition(|w| w == marker.as_bytes()).unwrap() / 4096 * 4096;
    bytes[at..at + 16].fill(0xA5);
    std::fs::write(copy.join("events.redb"), &bytes).unwrap();
    let out = replay(&copy, &["salvage", "--to", copy.join("new.redb").to_str().unwrap()]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert!(report.contains(&format!("salvaged {head} of {head} record(s)")), "{report}");
    assert!(report.contains("nothing was lost") && report.contains("OK: the log verifies"), "{report}");
}

fn log_head_read_only(dir: &Path) -> u64 {
    let log = eventlog::EventLog::open_read_only(&dir.join("events.redb"), eventlog::LogOptions::default())
        .unwrap();
    let head = log.head();
    log.close();
    head
}

#[test]
fn a_damaged_log_stops_the_start_unless_allowed_and_then_every_change_is_refused() {
    let marker = "startup-marker-5b80";
    let (cloud, position) = stopped_cloud_with_marker(marker);
    let dir: PathBuf = cloud.dir.clone();
    // Without the checkpoint, the read models fold the whole log at start.
    std::fs::remove_file(dir.join("projections.snapshot")).unwrap();
    damage_record(&dir, marker);

    let refused = up_until_it_exits(&dir, &[]);
    let said = text(&refused.stderr);
    assert!(!refused.status.success(), "{said}");
    assert!(said.contains(&format!("is damaged (record at position {position}")), "{said}");
    assert!(said.contains(&format!("yukari replay salvage --data-dir {}", dir.display())), "{said}");
    assert!(said.contains("--allow-damaged-log"), "{said}");
    assert!(!said.contains("another yukari"), "the in-use hint for a damaged log: {said}");

    let mut read_only = Cloud::start_in(&dir, free_port(), &["--allow-damaged-log"]);
    // Reads: the cloud as far as the log could be folded (g1, before g2).
    assert_eq!(group_names(&read_only), vec!["default", "g1"]);
    let change = create_group(&read_only, "g9", "refused");
    assert_eq!(change.status, 503, "{}", change.body);
    assert_eq!(change.element("Code"), Some("ServiceUnavailable"), "{}", change.body);
    assert!(change.body.contains("damaged"), "{}", change.body);
    // A refusal is still the refusal it is.
    let unknown = read_only
        .wire("/")
        .send(&[("Action", "TerminateInstances"), ("InstanceId.1", "i-0123456789abcdef0"), V], Signer::Boto3);
    assert_eq!(unknown.element("Code"), Some("InvalidInstanceID.NotFound"), "{}", unknown.body);
    let damaged = std::fs::read(dir.join("events.redb")).unwrap();
    assert!(read_only.stop().success());
    assert!(std::fs::read(dir.join("events.redb")).unwrap() == damaged, "a read-only start wrote to the log");
}

#[test]
fn damage_the_start_up_check_cannot_see_stops_the_controller_once_the_log_is_read_through() {
    let marker = "executor-marker-c3a1";
    // Stopped cleanly: the read models' checkpoint and the stream index
    // cover the whole log, so opening decodes only the last record.
    let (cloud, position) = stopped_cloud_with_marker(marker);
    damage_record(&cloud.dir, marker);
    let stopped = up_until_it_exits(&cloud.dir, &[]);
    let said = text(&stopped.stderr);
    assert!(!stopped.status.success(), "{said}");
    assert!(said.contains("reading the whole event log after the start found damage"), "{said}");
    assert!(said.contains(&format!("record at position {position}")), "{said}");
    assert!(said.contains("yukari replay salvage"), "{said}");
    // The flag the message offers starts it read-only, whatever the
    // start-up check found.
    let read_only = Cloud::start_in(&cloud.dir, free_port(), &["--allow-damaged-log"]);
    assert_eq!(group_names(&read_only), vec!["default", "g1", "g2", "g3", "g4"]);
    let change = create_group(&read_only, "g9", "refused");
    assert_eq!((change.status, change.element("Code")), (503, Some("ServiceUnavailable")), "{}", change.body);
}

#[test]
fn only_a_log_in_use_gets_the_hint_about_another_yukari() {
    let cloud = Cloud::start();
    let second = up_until_it_exits(&cloud.dir, &[]);
    let said = text(&second.stderr);
    assert!(!second.status.success());
    assert!(said.contains("is another yukari using it?"), "{said}");
    // A log that is not in use but unreadable gets no such hint.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("events.redb"), vec![0x5Au8; 64 * 1024]).unwrap();
    let garbage = up_until_it_exits(other.path(), &[]);
    let said = text(&garbage.stderr);
    assert!(!garbage.status.success() && said.contains("cannot open the event log"), "{said}");
    assert!(!said.contains("another yukari"), "{said}");
    drop(cloud);
}
