//! The instance side of the compute API with the AWS CLI: key pairs,
//! launching with keys, groups, tags and user data, stop/start/reboot,
//! status, attributes, console output, DryRun and read-only users.

mod common;
use common::wire::Signer;
use common::*;

fn state(cloud: &Cloud, id: &str) -> String {
    let d = cloud.aws(&["describe-instances", "--instance-ids", id]);
    d["Reservations"][0]["Instances"][0]["State"]["Name"].as_str().unwrap().to_owned()
}

fn wait_state(cloud: &Cloud, id: &str, want: &str) {
    cloud.eventually(60, &format!("{id} to be {want}"), || state(cloud, id) == want);
}

fn error_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn key_pairs_are_made_imported_listed_used_and_deleted() {
    let cloud = Cloud::start();
    let made = cloud.aws(&["create-key-pair", "--key-name", "mine"]);
    assert!(made["KeyMaterial"].as_str().unwrap().starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert_eq!(made["KeyFingerprint"].as_str().unwrap().split(':').count(), 20);
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen (openssh-client) is installed");
    assert!(status.success());
    let material = format!("fileb://{}.pub", key.display());
    let imported =
        cloud.aws(&["import-key-pair", "--key-name", "theirs", "--public-key-material", &material]);
    let expected = std::process::Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    let expected = String::from_utf8_lossy(&expected.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_start_matches("SHA256:")
        .to_owned();
    assert_eq!(imported["KeyFingerprint"].as_str().unwrap().trim_end_matches('='), expected);
    let listed = cloud.aws(&["describe-key-pairs"]);
    let names: Vec<&str> =
        listed["KeyPairs"].as_array().unwrap().iter().map(|k| k["KeyName"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["mine", "theirs"]);
    let dup = cloud.aws_raw(&["create-key-pair", "--key-name", "mine"]);
    assert!(error_of(&dup).contains("InvalidKeyPair.Duplicate"), "{}", error_of(&dup));
    let none = cloud.aws_raw(&["describe-key-pairs", "--key-names", "nope"]);
    assert!(error_of(&none).contains("InvalidKeyPair.NotFound"));
    let bad = cloud.aws_raw(&["run-instances", "--image-id", DEFAULT_IMAGE, "--key-name", "nope"]);
    assert!(error_of(&bad).contains("InvalidKeyPair.NotFound"));
    let run = cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE, "--key-name", "theirs"]);
    assert_eq!(run["Instances"][0]["KeyName"], "theirs");
    let filtered = cloud.aws(&["describe-instances", "--filters", "Name=key-name,Values=their*"]);
    assert_eq!(instance_states(&filtered).len(), 1);
    cloud.aws(&["delete-key-pair", "--key-name", "mine"]);
    cloud.aws(&["delete-key-pair", "--key-name", "never-existed"]);
    assert_eq!(cloud.aws(&["describe-key-pairs"])["KeyPairs"].as_array().unwrap().len(), 1);
}

#[test]
fn instances_stop_start_reboot_and_keep_their_attributes() {
    let cloud = Cloud::start();
    let run = cloud.aws(&[
        "run-instances",
        "--image-id",
        DEFAULT_IMAGE,
        "--instance-type",
        "m1.small",
        "--user-data",
        "#!/bin/sh\necho hello",
        "--tag-specifications",
        "ResourceType=instance,Tags=[{Key=Name,Value=web-1},{Key=team,Value=ops}]",
    ]);
    let i = &run["Instances"][0];
    let id = i["InstanceId"].as_str().unwrap().to_owned();
    assert!(i["PrivateIpAddress"].as_str().unwrap().starts_with("10.111."));
    assert!(i["PublicIpAddress"].as_str().is_some());
    assert_eq!(i["SecurityGroups"][0]["GroupName"], "default");
    let tags = i["Tags"].as_array().unwrap();
    assert_eq!(tags.len(), 2);
    wait_state(&cloud, &id, "running");
    let by_tag = cloud.aws(&[
        "describe-instances",
        "--filters",
        "Name=tag:Name,Values=web-*",
        "Name=tag-key,Values=team",
    ]);
    assert_eq!(instance_states(&by_tag), vec![(id.clone(), "running".to_owned())]);

    let console = cloud.aws(&["get-console-output", "--instance-id", &id]);
    let output = console["Output"].as_str().unwrap_or_default();
    assert!(output.contains(&format!("{id} is up")), "{output}");

    let user_data =
        cloud.aws(&["describe-instance-attribute", "--instance-id", &id, "--attribute", "userData"]);
    let decoded = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        decoded
            .stdin
            .as_ref()
            .unwrap()
            .write_all(user_data["UserData"]["Value"].as_str().unwrap().as_bytes())
            .unwrap();
    }
    assert_eq!(
        String::from_utf8(decoded.wait_with_output().unwrap().stdout).unwrap(),
        "#!/bin/sh\necho hello"
    );

    // A type change needs a stopped instance.
    let early = cloud.aws_raw(&[
        "modify-instance-attribute",
        "--instance-id",
        &id,
        "--instance-type",
        "{\"Value\":\"c1.medium\"}",
    ]);
    assert!(error_of(&early).contains("IncorrectInstanceState"), "{}", error_of(&early));
    cloud.aws(&["reboot-instances", "--instance-ids", &id]);
    cloud.eventually(30, "the reboot in the console", || {
        let c = cloud.aws(&["get-console-output", "--instance-id", &id]);
        c["Output"].as_str().unwrap_or_default().contains("reboot 1")
    });
    let stop = cloud.aws(&["stop-instances", "--instance-ids", &id]);
    assert_eq!(stop["StoppingInstances"][0]["CurrentState"]["Name"], "stopping");
    wait_state(&cloud, &id, "stopped");
    let stopped = cloud.aws(&["describe-instances", "--instance-ids", &id]);
    let s = &stopped["Reservations"][0]["Instances"][0];
    assert!(s["PublicIpAddress"].is_null(), "a stopped instance gives its public address back");
    assert_eq!(s["PrivateIpAddress"], i["PrivateIpAddress"], "and keeps its private one");
    let status = cloud.aws(&["describe-instance-status", "--instance-ids", &id, "--include-all-instances"]);
    assert_eq!(status["InstanceStatuses"][0]["InstanceState"]["Name"], "stopped");
    assert_eq!(status["InstanceStatuses"][0]["InstanceStatus"]["Status"], "not-applicable");
    // One attribute per call, as on EC2: two are refused and neither is
    // applied (before, the type changed and the protection was dropped).
    let both = cloud.aws_raw(&[
        "modify-instance-attribute",
        "--instance-id",
        &id,
        "--instance-type",
        "{\"Value\":\"c1.medium\"}",
        "--disable-api-termination",
    ]);
    assert!(error_of(&both).contains("InvalidParameterCombination"), "{}", error_of(&both));
    let unchanged = cloud.aws(&["describe-instances", "--instance-ids", &id]);
    assert_eq!(unchanged["Reservations"][0]["Instances"][0]["InstanceType"], i["InstanceType"]);
    let protection = cloud.aws(&[
        "describe-instance-attribute",
        "--instance-id",
        &id,
        "--attribute",
        "disableApiTermination",
    ]);
    assert_eq!(protection["DisableApiTermination"]["Value"], false);
    cloud.aws(&[
        "modify-instance-attribute",
        "--instance-id",
        &id,
        "--instance-type",
        "{\"Value\":\"c1.medium\"}",
    ]);
    cloud.aws(&["modify-instance-attribute", "--instance-id", &id, "--disable-api-termination"]);
    let start = cloud.aws(&["start-instances", "--instance-ids", &id]);
    assert_eq!(start["StartingInstances"][0]["CurrentState"]["Name"], "pending");
    wait_state(&cloud, &id, "running");
    let again = cloud.aws(&["describe-instances", "--instance-ids", &id]);
    assert_eq!(again["Reservations"][0]["Instances"][0]["InstanceType"], "c1.medium");
    assert!(again["Reservations"][0]["Instances"][0]["PublicIpAddress"].as_str().is_some());
    let running = cloud.aws(&["describe-instance-status", "--instance-ids", &id]);
    assert_eq!(running["InstanceStatuses"][0]["InstanceStatus"]["Status"], "ok");
    // Termination protection.
    let protected = cloud.aws_raw(&["terminate-instances", "--instance-ids", &id]);
    assert!(error_of(&protected).contains("OperationNotPermitted"), "{}", error_of(&protected));
    cloud.aws(&["modify-instance-attribute", "--instance-id", &id, "--no-disable-api-termination"]);
    cloud.aws(&["terminate-instances", "--instance-ids", &id]);
    wait_state(&cloud, &id, "terminated");
}

/// EC2: a stopped instance whose start fails is stopped again, with a
/// StateReason, and starts later. The simulator fails a start when the
/// user data asks it to; the failure names a file of the node, which the
/// StateReason must not show.
#[test]
fn a_start_that_fails_leaves_the_instance_stopped_with_a_reason_and_it_starts_later() {
    let cloud = Cloud::start();
    let run = cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE]);
    let id = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
    wait_state(&cloud, &id, "running");
    cloud.aws(&["stop-instances", "--instance-ids", &id]);
    wait_state(&cloud, &id, "stopped");
    let data_dir = std::path::absolute(&cloud.dir).unwrap().display().to_string();
    let fail = format!(
        "#!/bin/sh\nyukari-sim: fail-start Could not open '{data_dir}/node/instances/{id}/disk.qcow2': \
         Permission denied\n"
    );
    let value = serde_json::json!({ "Value": fail }).to_string();
    cloud.aws(&["modify-instance-attribute", "--instance-id", &id, "--user-data", &value]);
    let start = cloud.aws(&["start-instances", "--instance-ids", &id]);
    assert_eq!(start["StartingInstances"][0]["CurrentState"]["Name"], "pending");
    // (Not just "stopped": a read model that lags still shows the old stop.)
    cloud.eventually(60, "the failed start", || {
        let d = cloud.aws(&["describe-instances", "--instance-ids", &id]);
        let i = &d["Reservations"][0]["Instances"][0];
        i["State"]["Name"] == "stopped" && i["StateReason"]["Code"] == "Server.InternalError"
    });

    let d = cloud.aws(&["describe-instances", "--instance-ids", &id]);
    let i = &d["Reservations"][0]["Instances"][0];
    assert_eq!(i["StateReason"]["Code"], "Server.InternalError", "{i}");
    let message = i["StateReason"]["Message"].as_str().unwrap();
    assert!(message.starts_with("Server.InternalError: the instance could not be started: "), "{message}");
    assert!(message.contains(&format!("'[data dir]/node/instances/{id}/disk.qcow2': Permission denied")));
    assert!(!message.contains(&data_dir), "a host path in {message}");
    assert_eq!(i["StateTransitionReason"], "Server error");
    assert!(i["PublicIpAddress"].is_null(), "the failed start gave its public address back");
    let by_code =
        cloud.aws(&["describe-instances", "--filters", "Name=state-reason-code,Values=Server.InternalError"]);
    assert_eq!(instance_states(&by_code), vec![(id.clone(), "stopped".to_owned())]);

    let value = serde_json::json!({ "Value": "#!/bin/sh\necho fixed\n" }).to_string();
    cloud.aws(&["modify-instance-attribute", "--instance-id", &id, "--user-data", &value]);
    cloud.aws(&["start-instances", "--instance-ids", &id]);
    wait_state(&cloud, &id, "running");
    let d = cloud.aws(&["describe-instances", "--instance-ids", &id]);
    let i = &d["Reservations"][0]["Instances"][0];
    assert!(i["StateReason"].is_null(), "{i}");
    assert!(i["PublicIpAddress"].as_str().is_some());
}

#[test]
fn dry_runs_change_nothing_and_read_only_users_change_nothing() {
    let mut cloud = Cloud::start();
    let id = cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE])["Instances"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_state(&cloud, &id, "running");
    for args in [
        vec!["run-instances", "--image-id", DEFAULT_IMAGE, "--dry-run"],
        vec!["stop-instances", "--instance-ids", &id, "--dry-run"],
        vec!["terminate-instances", "--instance-ids", &id, "--dry-run"],
        vec!["create-key-pair", "--key-name", "dry", "--dry-run"],
        vec!["describe-instances", "--dry-run"],
    ] {
        let out = cloud.aws_raw(&args);
        assert!(error_of(&out).contains("DryRunOperation"), "{args:?}: {}", error_of(&out));
    }
    // A DryRun that would fail says why instead.
    let out = cloud.aws_raw(&["terminate-instances", "--instance-ids", "i-0123456789abcdef0", "--dry-run"]);
    assert!(error_of(&out).contains("InvalidInstanceID.NotFound"), "{}", error_of(&out));
    assert_eq!(state(&cloud, &id), "running");
    assert_eq!(instance_states(&cloud.aws(&["describe-instances"])).len(), 1);
    assert!(cloud.aws(&["describe-key-pairs"])["KeyPairs"].as_array().unwrap().is_empty());

    // A user who is not the account's admin reads but does not change.
    let euare = cloud.wire("/services/Euare");
    let made = euare
        .send(&[("Action", "CreateUser"), ("UserName", "reader"), ("Version", "2010-05-08")], Signer::Boto3);
    assert_eq!(made.status, 200, "{}", made.body);
    let key = euare.send(
        &[("Action", "CreateAccessKey"), ("UserName", "reader"), ("Version", "2010-05-08")],
        Signer::Boto3,
    );
    assert_eq!(key.status, 200, "{}", key.body);
    let mut reader = cloud.wire("/");
    reader.access_key = key.element("AccessKeyId").unwrap().to_owned();
    reader.secret = key.element("SecretAccessKey").unwrap().to_owned();
    let look = reader.send(&[("Action", "DescribeInstances"), ("Version", "2016-11-15")], Signer::Boto3);
    assert_eq!(look.status, 200, "{}", look.body);
    assert_eq!(look.all("instanceId"), vec![id.clone()]);
    let change = reader.send(
        &[("Action", "TerminateInstances"), ("InstanceId.1", &id), ("Version", "2016-11-15")],
        Signer::Boto3,
    );
    assert_eq!((change.status, change.code()), (403, Some("UnauthorizedOperation")), "{}", change.body);
    let dry = reader.send(
        &[
            ("Action", "TerminateInstances"),
            ("InstanceId.1", &id),
            ("DryRun", "true"),
            ("Version", "2016-11-15"),
        ],
        Signer::Boto3,
    );
    assert_eq!(dry.code(), Some("UnauthorizedOperation"), "{}", dry.body);
    assert_eq!(state(&cloud, &id), "running");
    cloud.stop();
}

#[test]
fn security_groups_of_an_instance_change_and_euca2ools_reads_instance_types() {
    use common::wire::Signer;
    let cloud = Cloud::start();
    let web = cloud.aws(&["create-security-group", "--group-name", "web", "--description", "web"])["GroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE])["Instances"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    cloud.aws(&["modify-instance-attribute", "--instance-id", &id, "--groups", &web]);
    let d = cloud.aws(&["describe-instances", "--instance-ids", &id]);
    let groups: Vec<&str> = d["Reservations"][0]["Instances"][0]["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["GroupName"].as_str().unwrap())
        .collect();
    assert_eq!(groups, vec!["web"]);
    // The default group has no member now: it may lose its rule, web may not be deleted.
    let in_use = cloud.aws_raw(&["delete-security-group", "--group-id", &web]);
    assert!(error_of(&in_use).contains("DependencyViolation"), "{}", error_of(&in_use));
    let kernel = cloud.aws_raw(&[
        "modify-instance-attribute",
        "--instance-id",
        &id,
        "--kernel",
        "{\"Value\":\"eki-0000059554b415249\"}",
    ]);
    assert!(error_of(&kernel).contains("UnsupportedOperation"), "{}", error_of(&kernel));
    // euca-describe-instance-types reads Eucalyptus's shape.
    let types = cloud.wire("/services/compute").send(
        &[("Action", "DescribeInstanceTypes"), ("Availability", "true"), ("Version", "2015-10-01")],
        Signer::Euca2ools { region: "undefined-5" },
    );
    assert!(
        types.body.contains(
            "<instanceTypeDetails><item><name>t1.micro</name><cpu>1</cpu><disk>5</disk><memory>256</memory>"
        ),
        "{}",
        types.body
    );
    assert!(types.body.contains("<zoneName>yukari-1a</zoneName><max>"), "{}", types.body);
}
