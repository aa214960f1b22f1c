//! The replay tools on a real cloud: `yukari up` driven with signed EC2
//! requests, then `yukari replay …` online (through the admin API, while
//! it runs) and offline (on the data directory, after it stopped), with
//! the same answers both ways.

mod common;
use common::wire::Signer;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

fn replay(args: &[&str]) -> Output {
    yukari().arg("replay").args(args).output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "yukari replay failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn state_of(cloud_dir: &Path, source: &[&str], at: &str, instance: &str) -> String {
    let mut args = source.to_vec();
    args.extend(["state", "--at", at, "--format", "json", "--data-dir", cloud_dir.to_str().unwrap()]);
    let state: Value = serde_json::from_str(&ok(replay(&args))).unwrap();
    state["state"]["instances"]["rows"][instance]["state"].as_str().unwrap_or("absent").to_owned()
}

fn describe_state(cloud: &Cloud, id: &str) -> String {
    let a = cloud.wire("/").send(
        &[("Action", "DescribeInstances"), ("Version", "2016-11-15"), ("InstanceId.1", id)],
        Signer::Boto3,
    );
    a.element("name").unwrap_or_default().to_owned()
}

#[test]
fn audit_usage_state_and_verify_online_and_offline() {
    let mut cloud = Cloud::start();
    let dir = cloud.dir.clone();
    let dir_arg = dir.to_str().unwrap().to_owned();
    let url = cloud.endpoint();
    let client = cloud.wire("/");
    // A marker in the user data: stored in the InstanceRequested record only.
    let marker = "replay-test-marker-7f3a9c";
    let user_data = "cmVwbGF5LXRlc3QtbWFya2VyLTdmM2E5Yw=="; // base64 of the marker
    let run = client.send(
        &[
            ("Action", "RunInstances"),
            ("Version", "2016-11-15"),
            ("ImageId", DEFAULT_IMAGE),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("InstanceType", "m1.small"),
            ("UserData", user_data),
        ],
        Signer::Boto3,
    );
    assert_eq!(run.status, 200, "{}", run.body);
    let request_id = run.element("requestId").unwrap().to_owned();
    let id = run.element("instanceId").unwrap().to_owned();
    cloud.eventually(30, "the instance running", || describe_state(&cloud, &id) == "running");
    std::thread::sleep(Duration::from_millis(1500));
    let gone = client.send(
        &[("Action", "TerminateInstances"), ("Version", "2016-11-15"), ("InstanceId.1", &id)],
        Signer::Boto3,
    );
    assert_eq!(gone.status, 200, "{}", gone.body);
    cloud.eventually(30, "the instance terminated", || describe_state(&cloud, &id) == "terminated");

    // ---- online, while the controller runs ----
    let online = ["--controller", url.as_str()];
    let with = |source: &[&str], rest: &[&str]| {
        let mut a: Vec<&str> = source.to_vec();
        a.extend(rest);
        a.extend(["--data-dir", dir_arg.as_str()]);
        ok(replay(&a))
    };
    let audit_online = with(&online, &["audit", "--resource", &id, "--format", "json"]);
    let entries = json_lines(&audit_online);
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["RunInstances", "ReportInstanceRunning", "TerminateInstances", "ReportInstanceTerminated"]
    );
    let launch = &entries[0];
    assert_eq!(launch["request_id"], request_id.as_str());
    assert!(launch["source"].as_str().unwrap().starts_with("127.0.0.1:"), "{launch}");
    assert_eq!(launch["account_name"], "admin");
    assert_eq!(launch["access_key"], cloud.access_key());
    assert_eq!(launch["outcome"]["status"], "ok");
    assert!(launch["resources"].as_array().unwrap().iter().any(|r| r == id.as_str()));
    assert_eq!(entries[1]["source"].as_str().unwrap().split(':').next(), Some("node"));
    // The same entries through a full read of the log, filtered by action.
    let by_action = json_lines(&with(&online, &["audit", "--action", "runinstances", "--format", "json"]));
    assert_eq!(by_action.len(), 1);
    assert_eq!(by_action[0], entries[0]);

    // Between the running report and the termination request it ran; the
    // usage is exactly that span of record time.
    let (up, down) = (entries[1]["time"].as_i64().unwrap(), entries[2]["time"].as_i64().unwrap());
    assert!(down - up >= 1_400_000, "ran {} µs", down - up);
    let to = entries[3]["time_rfc3339"].as_str().unwrap().to_owned();
    let usage_online = with(&online, &["usage", "--to", &to, "--format", "json"]);
    let lines = json_lines(&usage_online);
    assert_eq!(lines.len(), 1, "{usage_online}");
    assert_eq!(lines[0]["unit"], "m1.small");
    assert_eq!(lines[0]["account_name"], "admin");
    assert_eq!(lines[0]["quantity_micros"], (down - up).to_string());
    assert_eq!(lines[0]["seconds"], (down - up) / 1_000_000);

    let at_up = entries[1]["time_rfc3339"].as_str().unwrap().to_owned();
    let at_down = entries[3]["time_rfc3339"].as_str().unwrap().to_owned();
    assert_eq!(state_of(&dir, &online, &at_up, &id), "Running");
    assert_eq!(state_of(&dir, &online, &at_down, &id), "Terminated");
    assert_eq!(state_of(&dir, &online, "2000-01-01T00:00:00Z", &id), "absent");
    let diff = with(&online, &["diff", "--from", &at_up, "--to", &at_down]);
    assert!(diff.contains(&format!("~ instances/rows/{id}")), "{diff}");
    assert!(diff.contains("state: \"Running\" → \"Terminated\""), "{diff}");
    let verify_online = with(&online, &["verify"]);
    assert!(verify_online.contains("OK: the log verifies"), "{verify_online}");
    assert!(verify_online.contains("the running controller's read models"), "{verify_online}");
    let tail = with(&online, &["tail", "--type", "InstanceRequested", "--last", "1000"]);
    assert_eq!(tail.lines().count(), 1, "{tail}");
    let requested_at: u64 = tail.split(" #").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();

    // Following the live log: a launch made now shows up in the tail.
    let mut follower = yukari()
        .args(["replay", "--controller", url.as_str(), "--data-dir", dir_arg.as_str()])
        .args(["tail", "--follow", "--last", "0", "--type", "InstanceRequested"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let second = client.send(
        &[
            ("Action", "RunInstances"),
            ("Version", "2016-11-15"),
            ("ImageId", DEFAULT_IMAGE),
            ("MinCount", "1"),
            ("MaxCount", "1"),
        ],
        Signer::Boto3,
    );
    assert_eq!(second.status, 200, "{}", second.body);
    let second_id = second.element("instanceId").unwrap().to_owned();
    let followed = received.recv_timeout(Duration::from_secs(30)).expect("tail --follow printed the launch");
    assert!(followed.contains(&format!("instance/{second_id}@1 InstanceRequested")), "{followed}");
    assert!(followed.contains("[RunInstances by "), "{followed}");
    let _ = follower.kill();
    let _ = follower.wait();

    // Offline on the running controller's directory: refused, and says why.
    let refused = replay(&["audit", "--data-dir", &dir_arg]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--controller"), "{refused:?}");

    // ---- offline, after a clean stop: the same answers ----
    assert!(cloud.stop().success());
    let offline: [&str; 0] = [];
    assert_eq!(with(&offline, &["audit", "--resource", &id, "--format", "json"]), audit_online);
    assert_eq!(with(&offline, &["usage", "--to", &to, "--format", "json"]), usage_online);
    assert_eq!(state_of(&dir, &offline, &at_up, &id), "Running");
    let verify_offline = with(&offline, &["verify"]);
    assert!(verify_offline.contains("OK: the log verifies"), "{verify_offline}");

    // Time-travel snapshots give the same state as a fold from the start.
    let rebuilt = with(&offline, &["rebuild", "--every", "5"]);
    assert!(rebuilt.contains("time-travel snapshot(s)"), "{rebuilt}");
    let from_snapshot = with(&offline, &["state", "--at", &at_down, "--format", "json"]);
    let from_start = with(&offline, &["state", "--at", &at_down, "--format", "json", "--no-snapshots"]);
    assert_eq!(from_snapshot, from_start);

    // A flipped byte in the InstanceRequested record: verify fails and names it.
    let path = dir.join("events.redb");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut flipped = 0;
    while let Some(at) = bytes.windows(marker.len()).position(|w| w == marker.as_bytes()) {
        bytes[at] ^= 0x20;
        flipped += 1;
    }
    assert!(flipped >= 1);
    std::fs::write(&path, &bytes).unwrap();
    let bad = replay(&["verify", "--data-dir", &dir_arg]);
    assert_eq!(bad.status.code(), Some(1));
    let report = String::from_utf8_lossy(&bad.stdout);
    assert!(
        report.contains(&format!("position {requested_at}: record at position {requested_at} is corrupt")),
        "{report}"
    );
    assert!(report.contains("FAILED"), "{report}");
}

fn aws_as(cloud: &Cloud, env: &std::collections::HashMap<String, String>, args: &[&str]) -> Output {
    cloud.client("aws").envs(env).arg("ec2").args(args).args(["--output", "json"]).output().unwrap()
}

fn refused_with(out: &Output, code: &str) -> bool {
    !out.status.success() && String::from_utf8_lossy(&out.stderr).contains(code)
}

/// boto3 with `AsOf`/`AsOfPosition` (tests/clients/boto3_as_of.py) as the
/// account of `env` (the admin when `None`).
fn as_of(
    cloud: &Cloud,
    env: Option<&std::collections::HashMap<String, String>>,
    param: &str,
    value: &str,
    id: &str,
) -> Value {
    let mut cmd = cloud.client("python3");
    if let Some(env) = env {
        cmd.envs(env);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/boto3_as_of.py");
    let out = cmd.arg(script).args([param, value, id]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rfc3339_now() -> String {
    replay_tools::time::format(replay_tools::time::now())
}

#[test]
fn refused_calls_are_audited_and_the_admin_describes_the_past() {
    let mut cloud = Cloud::start_with(&["--time-travel-every", "10", "--time-travel-keep", "1000"]);
    let dir = cloud.dir.clone();
    let dir_arg = dir.to_str().unwrap().to_owned();
    let url = cloud.endpoint();
    let made = yukari().args(["account", "create", "team-b", "--data-dir"]).arg(&dir).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let b = parse_eucarc(&std::fs::read_to_string(dir.join("accounts/team-b/eucarc")).unwrap());
    // Refused by Euare: only the cloud's admin makes accounts.
    let by_b = yukari()
        .args(["account", "create", "team-c", "--data-dir"])
        .arg(dir.join("accounts/team-b"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&by_b.stderr).contains("AccessDenied"), "{by_b:?}");

    let run = cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE, "--instance-type", "m1.small"]);
    let id = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
    cloud.eventually(30, "the instance running", || describe_state(&cloud, &id) == "running");
    std::thread::sleep(Duration::from_millis(50));
    let while_running = rfc3339_now();
    std::thread::sleep(Duration::from_millis(50));
    cloud.aws(&["create-key-pair", "--key-name", "made-later"]);

    // Refused: another account's instance (to team-b it does not exist),
    // the admin stopping it twice… and a non-admin's AsOf.
    let by_b = aws_as(&cloud, &b, &["terminate-instances", "--instance-ids", &id]);
    assert!(refused_with(&by_b, "InvalidInstanceID.NotFound"), "{by_b:?}");
    let past_for_b = as_of(&cloud, Some(&b), "AsOf", &while_running, &id);
    assert_eq!(past_for_b["error"], "UnauthorizedOperation", "{past_for_b}");
    cloud.aws(&["terminate-instances", "--instance-ids", &id]);
    cloud.eventually(30, "the instance terminated", || describe_state(&cloud, &id) == "terminated");
    let stop = cloud.aws_raw(&["stop-instances", "--instance-ids", &id]);
    assert!(refused_with(&stop, "IncorrectInstanceState"), "{stop:?}");
    // Unauthenticated garbage is not recorded.
    let forged = common::wire::Client {
        port: cloud.port,
        access_key: cloud.access_key().to_owned(),
        secret: "not-the-secret".to_owned(),
        path: "/".to_owned(),
    }
    .send(
        &[("Action", "TerminateInstances"), ("Version", "2016-11-15"), ("InstanceId.1", &id)],
        Signer::Boto3,
    );
    assert_eq!(forged.code(), Some("SignatureDoesNotMatch"), "{}", forged.body);

    // ---- the admin's Describe* as of a past moment ----
    let now = as_of(&cloud, None, "AsOf", &rfc3339_now(), &id);
    assert_eq!(now["states"], serde_json::json!(["terminated"]), "{now}");
    let then = as_of(&cloud, None, "AsOf", &while_running, &id);
    assert_eq!(then["states"], serde_json::json!(["running"]), "{then}");
    assert_eq!(then["keys"], serde_json::json!([]), "{then}");
    assert_eq!(now["keys"], serde_json::json!(["made-later"]), "{now}");
    let at_start = as_of(&cloud, None, "AsOfPosition", "1", &id);
    assert_eq!(at_start["error"], "InvalidInstanceID.NotFound", "{at_start}");
    let beyond = as_of(&cloud, None, "AsOfPosition", "99999999", &id);
    assert_eq!(beyond["error"], "InvalidParameterValue", "{beyond}");
    // Nothing changed: the live answer is still terminated.
    assert_eq!(describe_state(&cloud, &id), "terminated");

    // The controller wrote time-travel snapshots beside the log, and they
    // change no answer.
    let snapshots: Vec<_> = std::fs::read_dir(dir.join("snapshots"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "snap"))
        .collect();
    assert!(snapshots.len() >= 2, "{} snapshots", snapshots.len());
    let online = ["--controller", url.as_str()];
    let with = |source: &[&str], rest: &[&str]| {
        let mut a: Vec<&str> = source.to_vec();
        a.extend(rest);
        a.extend(["--data-dir", dir_arg.as_str()]);
        ok(replay(&a))
    };
    let from_snapshot = with(&online, &["state", "--at", &while_running, "--format", "json"]);
    let from_start = with(&online, &["state", "--at", &while_running, "--format", "json", "--no-snapshots"]);
    assert_eq!(from_snapshot, from_start);
    assert_eq!(state_of(&dir, &online, &while_running, &id), "Running");

    // ---- the refusals in the audit, online and offline ----
    let audit_online = with(&online, &["audit", "--format", "json"]);
    let refused: Vec<Value> =
        json_lines(&audit_online).into_iter().filter(|e| e["outcome"]["status"] == "refused").collect();
    let summary: Vec<(String, String)> = refused
        .iter()
        .map(|e| {
            (e["action"].as_str().unwrap().to_owned(), e["outcome"]["code"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("CreateAccount".to_owned(), "AccessDenied".to_owned()),
            ("TerminateInstances".to_owned(), "InvalidInstanceID.NotFound".to_owned()),
            ("DescribeInstances".to_owned(), "UnauthorizedOperation".to_owned()),
            ("StopInstances".to_owned(), "IncorrectInstanceState".to_owned()),
        ],
        "{audit_online}"
    );
    assert_eq!(refused[0]["account_name"], "team-b");
    assert_eq!(refused[0]["resources"], serde_json::json!(["team-c"]));
    let terminate = &refused[1];
    assert_eq!(terminate["account_name"], "team-b");
    assert_eq!(terminate["access_key"], b["AWS_ACCESS_KEY_ID"].as_str());
    assert!(terminate["source"].as_str().unwrap().starts_with("127.0.0.1:"), "{terminate}");
    assert_eq!(terminate["resources"], serde_json::json!([id]));
    assert!(!terminate["request_id"].as_str().unwrap().is_empty());
    assert_eq!(refused[3]["account_name"], "admin");
    // By resource (through the index), the refusal is among the instance's entries.
    let by_resource = json_lines(&with(&online, &["audit", "--resource", &id, "--format", "json"]));
    let actions: Vec<String> = by_resource
        .iter()
        .map(|e| format!("{}:{}", e["action"].as_str().unwrap(), e["outcome"]["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            "RunInstances:ok",
            "ReportInstanceRunning:ok",
            "TerminateInstances:refused",
            "DescribeInstances:refused",
            "TerminateInstances:ok",
            "ReportInstanceTerminated:ok",
            "StopInstances:refused"
        ]
    );

    assert!(cloud.stop().success());
    let offline: [&str; 0] = [];
    assert_eq!(with(&offline, &["audit", "--format", "json"]), audit_online);
    let verify = with(&offline, &["verify"]);
    assert!(verify.contains("OK: the log verifies"), "{verify}");
    // `replay rebuild` deletes the controller's snapshots and writes its own.
    let written = std::fs::read_dir(dir.join("snapshots"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "snap"))
        .count();
    assert!(written >= snapshots.len());
    let rebuilt = with(&offline, &["rebuild", "--every", "1000000"]);
    assert!(rebuilt.contains(&format!("(every 1000000 events; {written} removed)")), "{rebuilt}");
    assert_eq!(std::fs::read_dir(dir.join("snapshots")).unwrap().count(), 0);
}
