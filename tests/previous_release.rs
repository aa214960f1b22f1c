//! A data directory written by the previous release opens with this build.
//!
//! `tests/fixtures/previous-release/data` is a log (with its master key and
//! read-model snapshot) that `make.sh` in that folder made with the release
//! binary: most event types, most EC2 actions, a second account, Euare
//! users and keys, a second cluster with a node that went silent. On a copy
//! of it, this build must verify the log (every event decodes, and the read
//! models it rebuilds equal the snapshot that release saved), show the same
//! state and answer Describe* as that release did, decide nothing on start,
//! and go on deciding on the old streams.

mod common;
use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/previous-release")
}

fn expected(name: &str) -> String {
    let path = fixture().join("expected").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn expected_json(name: &str) -> Value {
    serde_json::from_str(&expected(name)).unwrap()
}

/// A private copy of the release's data directory.
fn copy_of_release(temp: &Path) -> PathBuf {
    let dir = temp.join("data");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    for file in ["events.redb", "master.key", "projections.snapshot"] {
        let copy = dir.join(file);
        std::fs::copy(fixture().join("data").join(file), &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    dir
}

fn replay(dir: &Path, args: &[&str]) -> Output {
    yukari().arg("replay").args(args).arg("--data-dir").arg(dir).output().unwrap()
}

fn stdout_of(out: Output) -> String {
    assert!(
        out.status.success(),
        "yukari replay failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `replay verify` passes: every record's checksum, position and version,
/// every event decoded by this build. The release's read-model snapshot
/// is of an older format than this build's (read models grew since), so
/// verify says it could not compare them, and the controller rebuilds them
/// from the log at start (the Describe* answers below check the result).
fn verifies(dir: &Path, records: u64, release_snapshot: bool) {
    let report = stdout_of(replay(dir, &["verify"]));
    assert!(report.starts_with(&format!("{records} records in ")), "{report}");
    if release_snapshot {
        assert!(
            report.contains("not checked: snapshot") && report.contains("is of format 3, this build reads"),
            "{report}"
        );
    } else {
        assert!(report.contains("rebuilt read models compared with"), "{report}");
    }
    assert!(report.contains("OK: the log verifies"), "{report}");
}

/// The ids of the terminated instances in a DescribeInstances answer.
fn terminated_instances(answer: &Value) -> std::collections::BTreeSet<String> {
    instances(answer)
        .filter(|i| i["State"]["Name"] == "terminated")
        .filter_map(|i| i["InstanceId"].as_str().map(str::to_owned))
        .collect()
}

fn instances(answer: &Value) -> impl Iterator<Item = &Value> {
    answer["Reservations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["Instances"].as_array().into_iter().flatten())
}

/// The instances of an answer that are not terminated, by id, each with
/// its reservation's id.
fn instances_by_id(answer: &Value) -> std::collections::BTreeMap<String, (String, Value)> {
    let mut out = std::collections::BTreeMap::new();
    for reservation in answer["Reservations"].as_array().into_iter().flatten() {
        for i in reservation["Instances"].as_array().into_iter().flatten() {
            if i["State"]["Name"] != "terminated" {
                let id = i["InstanceId"].as_str().unwrap_or_default().to_owned();
                out.insert(
                    id,
                    (reservation["ReservationId"].as_str().unwrap_or_default().to_owned(), i.clone()),
                );
            }
        }
    }
    out
}

#[test]
fn a_data_directory_of_the_previous_release_opens_verifies_and_answers_the_same() {
    let temp = tempfile::tempdir().unwrap();
    let dir = copy_of_release(temp.path());
    let records = log_head(&dir);
    assert_eq!(records, 128, "the fixture's log");

    // Offline: the log verifies, and the cloud's state is the release's.
    verifies(&dir, records, true);
    let state = stdout_of(replay(&dir, &["state", "--position", &records.to_string()]));
    assert_eq!(state, expected("state.txt"));

    // Online: every Describe* answers as the release did, but for what an
    // hour changes: the fixture's terminated instances ended more than an
    // hour before the records this start writes, so, as in EC2, they are
    // no longer shown, nor their tags (docs/adr/0019).
    let mut cloud = Cloud::start_in(&dir, free_port(), &[]);
    let gone = terminated_instances(&expected_json("describe-instances.json"));
    assert!(!gone.is_empty(), "the fixture has a terminated instance");
    for action in ["instances", "security-groups", "key-pairs", "addresses", "tags", "availability-zones"] {
        let got = cloud.aws(&[&format!("describe-{action}")]);
        let mut wanted = expected_json(&format!("describe-{action}.json"));
        match action {
            "instances" => {
                assert_eq!(instances_by_id(&got), instances_by_id(&wanted), "describe-instances");
                for id in &gone {
                    assert!(!got.to_string().contains(id.as_str()), "{id} is still shown: {got}");
                }
                continue;
            }
            "tags" => {
                if let Some(tags) = wanted["Tags"].as_array_mut() {
                    tags.retain(|t| !gone.contains(t["ResourceId"].as_str().unwrap_or_default()));
                }
            }
            _ => {}
        }
        assert_eq!(got, wanted, "describe-{action}");
    }
    cloud.stop();
    // Starting decided three things only: the cloud admin's console
    // password (the release had no web console), written to DATA_DIR
    // first, the zone's block storage (the release had none), and, as the
    // fixture keeps no eucarc, the admin's signing certificate named by
    // the eucarc written again (the release had no image bundles).
    assert_eq!(log_head(&dir), records + 3, "starting on the release's log decided three things");
    let audit = stdout_of(replay(&dir, &["audit", "--action", "UploadSigningCertificate"]));
    assert_eq!(audit.lines().filter(|l| l.contains("UploadSigningCertificate")).count(), 1, "{audit}");
    let audit = stdout_of(replay(&dir, &["audit", "--action", "CreateLoginProfile"]));
    assert_eq!(audit.lines().filter(|l| l.contains("CreateLoginProfile")).count(), 1, "{audit}");
    let audit = stdout_of(replay(&dir, &["audit", "--action", "ConfigureStorage"]));
    assert_eq!(audit.lines().filter(|l| l.contains("ConfigureStorage")).count(), 1, "{audit}");
    assert!(dir.join("console-password").exists());

    // Decisions on the release's streams: the stopped instance with an
    // elastic IP starts again, the address is disassociated by its
    // association id, the address's tags all go, a rule is added to a group.
    cloud.restart();
    let address = &expected_json("describe-addresses.json")["Addresses"][0];
    let instance = address["InstanceId"].as_str().unwrap();
    let association = address["AssociationId"].as_str().unwrap();
    let allocation = address["AllocationId"].as_str().unwrap();
    cloud.aws(&["start-instances", "--instance-ids", instance]);
    cloud.eventually(30, "the instance running", || {
        instance_states(&cloud.aws(&["describe-instances", "--instance-ids", instance]))
            == [(instance.to_owned(), "running".to_owned())]
    });
    cloud.aws(&["disassociate-address", "--association-id", association]);
    cloud.aws(&["delete-tags", "--resources", allocation]);
    let web = cloud.aws(&["describe-security-groups", "--group-names", "web"]);
    let web = web["SecurityGroups"][0]["GroupId"].as_str().unwrap().to_owned();
    cloud.aws(&[
        "authorize-security-group-ingress",
        "--group-id",
        &web,
        "--protocol",
        "tcp",
        "--port",
        "8080",
        "--cidr",
        "192.0.2.0/24",
    ]);
    let addresses = cloud.aws(&["describe-addresses"]);
    let now = &addresses["Addresses"][0];
    assert_eq!(now["AllocationId"], address["AllocationId"]);
    assert!(now.get("AssociationId").is_none() && now.get("InstanceId").is_none(), "{now}");
    assert!(now.get("Tags").is_none_or(|t| t.as_array().is_some_and(Vec::is_empty)), "{now}");
    let rules = cloud.aws(&["describe-security-groups", "--group-ids", &web]);
    let ports: Vec<i64> = rules["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["FromPort"].as_i64())
        .collect();
    assert!(ports.contains(&8080) && ports.contains(&22), "{ports:?}");
    cloud.stop();

    // What this build appended verifies with the rest.
    let after = log_head(&dir);
    assert!(after > records, "the new decisions were stored");
    verifies(&dir, after, false);
}
