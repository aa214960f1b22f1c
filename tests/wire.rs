//! Requests on the wire as each real client sends them: euca2ools-shaped
//! SigV4 (made-up region, old Version), SigV2 (HmacSHA1 / HmacSHA256, GET
//! and POST), presigned URLs; and bad requests that must get EC2's error
//! code and change nothing (an authenticated attempt to change something
//! leaves only its refusal record, see docs/adr/0006).

mod common;
use common::wire::Signer;
use common::*;
use std::time::{Duration, SystemTime};

#[test]
fn every_client_signing_style_is_accepted_and_answered_in_its_version() {
    let cloud = Cloud::start();
    let euca = cloud.wire("/services/compute");
    // euca2ools 3.4: Version last, no charset, x-amz-content-sha256, region undefined-<pid>.
    let run = euca.send(
        &[
            ("Action", "RunInstances"),
            ("ImageId", DEFAULT_IMAGE),
            ("MinCount", "2"),
            ("MaxCount", "2"),
            ("Version", "2015-10-01"),
        ],
        Signer::Euca2ools { region: "undefined-31337" },
    );
    assert_eq!(run.status, 200, "{}", run.body);
    assert!(run.body.contains("xmlns=\"http://ec2.amazonaws.com/doc/2015-10-01/\""), "{}", run.body);
    let ids = run.all("instanceId");
    assert_eq!(ids.len(), 2);

    for (path, signer) in [
        ("/", Signer::V2Get { sha256: true }),
        ("/services/Eucalyptus", Signer::V2Get { sha256: false }),
        ("/services/compute", Signer::V2Post { sha256: true }),
        ("/", Signer::V2Post { sha256: false }),
        ("/", Signer::Presigned),
        ("/", Signer::Boto3),
    ] {
        let answer = cloud.wire(path).send(
            &[("Action", "DescribeInstances"), ("Version", "2013-02-01"), ("InstanceId.1", &ids[0])],
            signer,
        );
        assert_eq!(answer.status, 200, "{signer:?} on {path}: {}", answer.body);
        assert!(answer.body.contains("doc/2013-02-01/"), "{signer:?}");
        assert_eq!(answer.all("instanceId"), vec![ids[0].clone()], "{signer:?}");
    }
    // SigV2 can launch too (euca-install-image registers images this way).
    let v2 = cloud.wire("/").send(
        &[
            ("Action", "RunInstances"),
            ("ImageId", DEFAULT_IMAGE),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("Version", "2014-06-15"),
        ],
        Signer::V2Post { sha256: false },
    );
    assert_eq!(v2.status, 200, "{}", v2.body);
}

#[test]
fn bad_requests_get_ec2_errors_and_change_nothing() {
    let mut cloud = Cloud::start();
    cloud.stop();
    let before = log_head(&cloud.dir);
    cloud.restart();
    let client = cloud.wire("/");
    let run = [
        ("Action", "RunInstances"),
        ("ImageId", DEFAULT_IMAGE),
        ("MinCount", "1"),
        ("MaxCount", "1"),
        ("Version", "2016-11-15"),
    ];

    let mut wrong = cloud.wire("/");
    wrong.secret = "not-the-secret-key-at-all-0123456789abcd".into();
    let a = wrong.send(&run, Signer::Boto3);
    assert_eq!((a.status, a.code()), (403, Some("SignatureDoesNotMatch")), "{}", a.body);
    let a = wrong.send(&run, Signer::V2Post { sha256: true });
    assert_eq!(a.code(), Some("SignatureDoesNotMatch"), "{}", a.body);

    let mut stranger = cloud.wire("/");
    stranger.access_key = "AKIAAAAAAAAAAAAAAAAA".into();
    let a = stranger.send(&run, Signer::Boto3);
    assert_eq!((a.status, a.code()), (401, Some("AuthFailure")), "{}", a.body);

    let old = SystemTime::now() - Duration::from_secs(20 * 60);
    let a = client.send_at(&run, Signer::Boto3, old);
    assert_eq!(a.code(), Some("RequestExpired"), "{}", a.body);
    let a = client.send_at(&run, Signer::V2Get { sha256: true }, old);
    assert_eq!(a.code(), Some("RequestExpired"), "{}", a.body);

    let a = raw_unsigned(&cloud, "/?Action=RunInstances&Version=2016-11-15&ImageId=x&MinCount=1&MaxCount=1");
    assert_eq!((a.status, a.code()), (401, Some("AuthFailure")), "{}", a.body);

    let a = client.send(&[("Action", "LaunchMissiles"), ("Version", "2016-11-15")], Signer::Boto3);
    assert_eq!((a.status, a.code()), (400, Some("InvalidAction")), "{}", a.body);
    let a = client.send(
        &[("Action", "RunInstances"), ("ImageId", DEFAULT_IMAGE), ("MinCount", "1"), ("MaxCount", "1")],
        Signer::Boto3,
    );
    assert_eq!(a.code(), Some("MissingParameter"), "{}", a.body);
    let a = client.send(&[("Action", "DescribeInstances"), ("Version", "2031-01-01")], Signer::Boto3);
    assert_eq!(a.code(), Some("NoSuchVersion"), "{}", a.body);
    let a = client.send(
        &[("Action", "TerminateInstances"), ("InstanceId.1", "i-12"), ("Version", "2016-11-15")],
        Signer::Boto3,
    );
    assert_eq!((a.status, a.code()), (400, Some("InvalidInstanceID.Malformed")), "{}", a.body);
    let a = client.send(
        &[
            ("Action", "TerminateInstances"),
            ("InstanceId.1", "i-0123456789abcdef0"),
            ("Version", "2016-11-15"),
        ],
        Signer::Boto3,
    );
    assert_eq!(a.code(), Some("InvalidInstanceID.NotFound"), "{}", a.body);
    let a = client.send(
        &[
            ("Action", "RunInstances"),
            ("ImageId", "emi-0123456789abcdef0"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("Version", "2016-11-15"),
        ],
        Signer::Boto3,
    );
    assert_eq!(a.code(), Some("InvalidAMIID.NotFound"), "{}", a.body);
    let a = client.send(
        &[
            ("Action", "RunInstances"),
            ("ImageId", DEFAULT_IMAGE),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("UserData", "%%%not base64"),
            ("Version", "2016-11-15"),
        ],
        Signer::Boto3,
    );
    assert_eq!(a.code(), Some("InvalidParameterValue"), "{}", a.body);
    let a = client.send(
        &[
            ("Action", "RunInstances"),
            ("ImageId", DEFAULT_IMAGE),
            ("MinCount", "1"),
            ("MaxCount", "9999"),
            ("Version", "2016-11-15"),
        ],
        Signer::Boto3,
    );
    assert_eq!(a.code(), Some("InvalidParameterValue"), "{}", a.body);
    // Every error carries a request id, and the XML shape EC2 uses.
    assert!(a.body.starts_with("<?xml"));
    assert!(a.element("RequestID").is_some_and(|id| id.len() == 36), "{}", a.body);

    cloud.stop();
    // No resource changed: what was appended is one refusal record per
    // authenticated attempt to change something (not the unauthenticated
    // ones, the unknown action, or the refused read), in the `refused`
    // stream, with the code the client got.
    let log =
        eventlog::EventLog::open(&cloud.dir.join("events.redb"), eventlog::LogOptions::default()).unwrap();
    let after = log.read_from(before + 1, 100).unwrap();
    log.close();
    let refused: Vec<(String, String, String)> = after
        .iter()
        .map(|r| {
            let code = match domain::Event::decode(&r.event_type, r.schema, &r.payload).unwrap() {
                domain::Event::RequestRefused(e) => e.code,
                other => panic!("a refused call appended {other:?} to {}", r.stream),
            };
            (r.stream.clone(), r.metadata.action.clone(), code)
        })
        .collect();
    let expected = [
        ("RunInstances", "MissingParameter"),
        ("TerminateInstances", "InvalidInstanceID.Malformed"),
        ("TerminateInstances", "InvalidInstanceID.NotFound"),
        ("RunInstances", "InvalidAMIID.NotFound"),
        ("RunInstances", "InvalidParameterValue"),
        ("RunInstances", "InvalidParameterValue"),
    ]
    .map(|(a, c)| ("refused".to_owned(), a.to_owned(), c.to_owned()));
    assert_eq!(refused, expected);
}

fn raw_unsigned(cloud: &Cloud, target: &str) -> common::wire::Answer {
    common::wire::raw_http(
        cloud.port,
        "GET",
        target,
        &[("Host".into(), format!("127.0.0.1:{}", cloud.port))],
        b"",
    )
}

/// What euca2ools 3.4 sends for a day's work (euca-create-keypair,
/// euca-run-instances -k -g -d, euca-describe-instances with a filter,
/// euca-stop-instances, euca-describe-keypairs), on the wire.
#[test]
fn a_euca2ools_session_on_the_wire() {
    let cloud = Cloud::start();
    let euca = cloud.wire("/services/compute");
    let send = |params: &[(&str, &str)]| {
        let mut p = params.to_vec();
        p.push(("Version", "2015-10-01"));
        let answer = euca.send(&p, Signer::Euca2ools { region: "undefined-2718" });
        assert_eq!(answer.status, 200, "{:?}: {}", params, answer.body);
        assert!(answer.body.contains("doc/2015-10-01/"), "{}", answer.body);
        answer
    };
    let key = send(&[("Action", "CreateKeyPair"), ("KeyName", "euca-key")]);
    assert!(key.element("keyMaterial").unwrap().contains("BEGIN RSA PRIVATE KEY"));
    let run = send(&[
        ("Action", "RunInstances"),
        ("ImageId", DEFAULT_IMAGE),
        ("MinCount", "1"),
        ("MaxCount", "1"),
        ("KeyName", "euca-key"),
        ("SecurityGroup.1", "default"),
        ("InstanceType", "m1.small"),
        ("UserData", "IyEvYmluL3NoCmVjaG8gZXVjYQ=="),
    ]);
    let id = run.element("instanceId").unwrap().to_owned();
    assert_eq!(run.element("keyName"), Some("euca-key"));
    assert_eq!(run.element("groupName"), Some("default"));
    cloud.eventually(30, "the instance to run", || {
        let d = send(&[
            ("Action", "DescribeInstances"),
            ("Filter.1.Name", "instance-state-name"),
            ("Filter.1.Value.1", "running"),
        ]);
        d.all("instanceId") == vec![id.clone()]
    });
    let stop = send(&[("Action", "StopInstances"), ("InstanceId.1", &id)]);
    assert!(stop.body.contains("<name>stopping</name>"), "{}", stop.body);
    let keys = send(&[("Action", "DescribeKeyPairs")]);
    assert_eq!(keys.all("keyName"), vec!["euca-key".to_owned()]);
    let zones = send(&[("Action", "DescribeAvailabilityZones"), ("ZoneName.1", "verbose")]);
    assert!(zones.all("zoneName").contains(&"yukari-1a".to_owned()), "{}", zones.body);
}

/// `euca-modify-instance-type -c 2 -m 1024 -d 20 m1.small`, then the new
/// size is what DescribeInstanceTypes and launches use.
#[test]
fn the_cloud_administrator_resizes_instance_types() {
    let cloud = Cloud::start();
    let euca = cloud.wire("/services/compute");
    let set = euca.send(
        &[
            ("Action", "ModifyInstanceTypeAttribute"),
            ("Name", "m1.small"),
            ("Cpu", "2"),
            ("Memory", "1024"),
            ("Disk", "20"),
            ("Version", "2015-10-01"),
        ],
        Signer::Euca2ools { region: "undefined-1" },
    );
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.element("cpu"), Some("2"));
    let types = cloud.aws(&["describe-instance-types", "--instance-types", "m1.small"]);
    assert_eq!(types["InstanceTypes"][0]["VCpuInfo"]["DefaultVCpus"], 2);
    assert_eq!(types["InstanceTypes"][0]["MemoryInfo"]["SizeInMiB"], 1024);
    let run = cloud.aws(&["run-instances", "--image-id", DEFAULT_IMAGE, "--instance-type", "m1.small"]);
    assert_eq!(run["Instances"][0]["InstanceType"], "m1.small");
    // What a change does not name keeps the value the cloud has now.
    let memory = euca.send(
        &[
            ("Action", "ModifyInstanceTypeAttribute"),
            ("Name", "m1.small"),
            ("Memory", "2048"),
            ("Version", "2015-10-01"),
        ],
        Signer::Euca2ools { region: "undefined-1" },
    );
    assert_eq!(memory.status, 200, "{}", memory.body);
    assert_eq!(memory.all("memory"), vec!["2048".to_owned(), "1024".to_owned()], "now, and before");
    assert_eq!(memory.all("cpu"), vec!["2".to_owned(), "2".to_owned()]);
    let types = cloud.aws(&["describe-instance-types", "--instance-types", "m1.small"]);
    assert_eq!(types["InstanceTypes"][0]["VCpuInfo"]["DefaultVCpus"], 2);
    assert_eq!(types["InstanceTypes"][0]["MemoryInfo"]["SizeInMiB"], 2048);
    // Another account may not.
    let theirs = cloud.wire_as_new_account("other", "/");
    let refused = theirs.send(
        &[
            ("Action", "ModifyInstanceTypeAttribute"),
            ("Name", "m1.small"),
            ("Cpu", "8"),
            ("Version", "2016-11-15"),
        ],
        Signer::Boto3,
    );
    assert_eq!(refused.code(), Some("UnauthorizedOperation"), "{}", refused.body);
}

/// `euca-authorize -P tcp -p 5000 -o g2 -u ACCOUNT default` (and its
/// revoke): euca2ools 3.4 always adds `0.0.0.0/0` beside the group it
/// names. The port opens to g2's members only, as on Eucalyptus, and the
/// revoke removes exactly that rule.
#[test]
fn euca2ools_authorize_from_a_group_opens_the_port_to_that_group_only() {
    let cloud = Cloud::start();
    let euca = cloud.wire("/services/compute");
    let send = |params: &[(&str, &str)]| {
        let mut p = params.to_vec();
        p.push(("Version", "2015-10-01"));
        let answer = euca.send(&p, Signer::Euca2ools { region: "undefined-5000" });
        assert_eq!(answer.status, 200, "{:?}: {}", params, answer.body);
        answer
    };
    send(&[("Action", "CreateSecurityGroup"), ("GroupName", "g2"), ("GroupDescription", "peers")]);
    let groups = send(&[("Action", "DescribeSecurityGroups"), ("GroupName.1", "default")]);
    let account = groups.element("ownerId").unwrap().to_owned();
    let rule = |action: &'static str| {
        vec![
            ("Action", action),
            ("GroupName", "default"),
            ("IpPermissions.1.IpProtocol", "tcp"),
            ("IpPermissions.1.FromPort", "5000"),
            ("IpPermissions.1.ToPort", "5000"),
            ("IpPermissions.1.Groups.1.GroupName", "g2"),
            ("IpPermissions.1.Groups.1.UserId", account.as_str()),
            ("IpPermissions.1.IpRanges.1.CidrIp", "0.0.0.0/0"),
        ]
    };
    send(&rule("AuthorizeSecurityGroupIngress"));
    let described = cloud.aws(&["describe-security-groups", "--group-names", "default"]);
    let port_5000: Vec<&serde_json::Value> = described["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["FromPort"] == 5000)
        .collect();
    assert_eq!(port_5000.len(), 1, "{described}");
    assert_eq!(port_5000[0]["IpRanges"], serde_json::json!([]), "the port is open to everyone: {described}");
    assert_eq!(port_5000[0]["UserIdGroupPairs"][0]["GroupName"], "g2", "{described}");
    send(&rule("RevokeSecurityGroupIngress"));
    let described = cloud.aws(&["describe-security-groups", "--group-names", "default"]);
    let left = described["SecurityGroups"][0]["IpPermissions"].as_array().unwrap();
    assert!(left.iter().all(|p| p["FromPort"] != 5000), "{described}");
}
