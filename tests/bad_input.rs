//! Hostile input on the wire: control characters, repeated parameters and
//! the admin's time-travel parameters from someone else. Every answer is
//! well-formed XML with EC2's error, and nothing changes.

mod common;
use common::wire::{Answer, Signer, raw_http};
use common::*;

/// The answer parsed by a real XML parser: a client must be able to read
/// every answer, errors included.
fn well_formed(what: &str, answer: &Answer) {
    if let Err(e) = roxmltree::Document::parse(&answer.body) {
        panic!("{what}: the answer is not well-formed XML ({e}): {:?}", answer.body);
    }
}

fn run_one(client: &common::wire::Client) -> String {
    let run = client.send(
        &[
            ("Action", "RunInstances"),
            ("ImageId", DEFAULT_IMAGE),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("Version", "2016-11-15"),
        ],
        Signer::Boto3,
    );
    assert_eq!(run.status, 200, "{}", run.body);
    run.element("instanceId").unwrap().to_owned()
}

#[test]
fn control_characters_are_refused_and_no_answer_is_ever_ill_formed() {
    let cloud = Cloud::start();
    let client = cloud.wire("/");
    let id = run_one(&client);
    let send = |params: &[(&str, &str)]| {
        let mut p = params.to_vec();
        p.push(("Version", "2016-11-15"));
        client.send(&p, Signer::Boto3)
    };

    // The tag that used to make every later DescribeInstances unreadable.
    let tag = send(&[
        ("Action", "CreateTags"),
        ("ResourceId.1", &id),
        ("Tag.1.Key", "k"),
        ("Tag.1.Value", "a\u{1}b"),
    ]);
    well_formed("CreateTags", &tag);
    assert_eq!((tag.status, tag.code()), (400, Some("InvalidParameterValue")), "{}", tag.body);
    let describe = send(&[("Action", "DescribeInstances")]);
    well_formed("DescribeInstances", &describe);
    assert_eq!(describe.all("instanceId"), vec![id.clone()]);
    assert!(!describe.body.contains("<key>k</key>"), "the refused tag was stored: {}", describe.body);

    // The key pair whose private key no client could read.
    let key = send(&[("Action", "CreateKeyPair"), ("KeyName", "k\u{1}")]);
    well_formed("CreateKeyPair", &key);
    assert_eq!(key.code(), Some("InvalidParameterValue"), "{}", key.body);
    let keys = send(&[("Action", "DescribeKeyPairs")]);
    well_formed("DescribeKeyPairs", &keys);
    assert!(keys.all("keyName").is_empty(), "{}", keys.body);

    // Unauthenticated, the value echoed back in the error.
    let port = cloud.port;
    let host = vec![("Host".to_owned(), format!("127.0.0.1:{port}"))];
    for target in [
        "/?Action=DescribeInstances&SignatureVersion=%01",
        "/?Action=DescribeInstances&SignatureVersion=2&SignatureMethod=%01%02&AWSAccessKeyId=%1F&Signature=x",
        "/?Action=%01&Version=%02",
        "/?X-Amz-Algorithm=%01&X-Amz-Credential=%02%2F%03",
        "/services/Euare?Action=ListUsers&SignatureVersion=%0B",
    ] {
        let a = raw_http(port, "GET", target, &host, b"");
        well_formed(target, &a);
        assert!(a.status >= 400, "{target}: {}", a.body);
    }

    // A storm of hostile values in every kind of place, signed: each
    // answer parses, and the log holds no resource change.
    let hostile =
        ["\u{0}", "\u{1}", "a\u{8}b", "\u{b}", "\u{c}", "\u{1b}[31m", "\u{1f}", "\u{fffe}", "\u{ffff}"];
    let mut storm = 0;
    for value in hostile {
        for params in [
            vec![
                ("Action", "CreateTags"),
                ("ResourceId.1", id.as_str()),
                ("Tag.1.Key", value),
                ("Tag.1.Value", "v"),
            ],
            vec![("Action", "CreateSecurityGroup"), ("GroupName", value), ("GroupDescription", "d")],
            vec![("Action", "CreateSecurityGroup"), ("GroupName", "g"), ("GroupDescription", value)],
            vec![("Action", "DescribeInstances"), ("Filter.1.Name", "tag:k"), ("Filter.1.Value.1", value)],
            vec![("Action", "DescribeInstances"), ("InstanceId.1", value)],
            vec![("Action", "TerminateInstances"), ("InstanceId.1", value)],
            vec![("Action", value)],
            vec![("Action", "DescribeImages"), (value, "x")],
            vec![("Action", "ImportKeyPair"), ("KeyName", value), ("PublicKeyMaterial", "c3NoLXJzYQ==")],
        ] {
            let a = send(&params);
            well_formed(&format!("{params:?}"), &a);
            assert_eq!(a.code(), Some("InvalidParameterValue"), "{params:?}: {}", a.body);
            storm += 1;
        }
    }
    assert_eq!(storm, hostile.len() * 9);
    let groups = send(&[("Action", "DescribeSecurityGroups")]);
    well_formed("DescribeSecurityGroups", &groups);
    assert!(groups.all("groupName").iter().all(|g| g == "default"), "{}", groups.body);
    // Tabs and line feeds are text like any other, and come back as sent.
    let tagged = send(&[
        ("Action", "CreateTags"),
        ("ResourceId.1", &id),
        ("Tag.1.Key", "note"),
        ("Tag.1.Value", "a\tb\nc"),
    ]);
    assert_eq!(tagged.status, 200, "{}", tagged.body);
    let tags = cloud.aws(&["describe-tags"]);
    assert_eq!(tags["Tags"][0]["Value"], "a\tb\nc", "{tags}");
}

#[test]
fn a_repeated_parameter_is_refused_and_changes_nothing() {
    let cloud = Cloud::start();
    let client = cloud.wire("/");
    let id = run_one(&client);
    for signer in [Signer::Boto3, Signer::V2Post { sha256: true }, Signer::V2Get { sha256: false }] {
        let a = client.send(
            &[
                ("Action", "DescribeInstances"),
                ("Action", "TerminateInstances"),
                ("InstanceId.1", &id),
                ("Version", "2016-11-15"),
            ],
            signer,
        );
        assert_eq!((a.status, a.code()), (400, Some("InvalidParameterValue")), "{signer:?}: {}", a.body);
        assert!(a.element("Message").unwrap().contains("Action"), "{}", a.body);
        let a = client.send(
            &[
                ("Action", "TerminateInstances"),
                ("InstanceId.1", "i-0123456789abcdef0"),
                ("InstanceId.1", &id),
                ("Version", "2016-11-15"),
            ],
            signer,
        );
        assert_eq!(a.code(), Some("InvalidParameterValue"), "{signer:?}: {}", a.body);
    }
    let states = instance_states(&cloud.aws(&["describe-instances", "--instance-ids", &id]));
    assert_eq!(states.len(), 1);
    assert_ne!(states[0].1, "shutting-down");
    assert_ne!(states[0].1, "terminated");
}

#[test]
fn time_travel_refused_to_others_tells_them_nothing_about_the_log() {
    let cloud = Cloud::start();
    let theirs = cloud.wire_as_new_account("other", "/");
    let mut answers = Vec::new();
    for (name, value) in [
        ("AsOfPosition", "100000"),
        ("AsOfPosition", "1"),
        ("AsOfPosition", "x"),
        ("AsOf", "2999-01-01T00:00:00Z"),
        ("AsOf", "yesterday"),
    ] {
        let a = theirs.send(
            &[("Action", "DescribeInstances"), (name, value), ("Version", "2016-11-15")],
            Signer::Boto3,
        );
        assert_eq!((a.status, a.code()), (403, Some("UnauthorizedOperation")), "{name}={value}: {}", a.body);
        answers.push(a.element("Message").unwrap().to_owned());
    }
    // One answer for every value, valid or not, within the log or beyond.
    answers.dedup();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(
        !answers[0].contains("position") || !answers[0].chars().any(|c| c.is_ascii_digit()),
        "{}",
        answers[0]
    );
    // The admin still gets the validation.
    let admin = cloud.wire("/");
    let a = admin.send(
        &[("Action", "DescribeInstances"), ("AsOfPosition", "100000"), ("Version", "2016-11-15")],
        Signer::Boto3,
    );
    assert_eq!(a.code(), Some("InvalidParameterValue"), "{}", a.body);
    assert!(a.element("Message").unwrap().contains("the log ends at position"), "{}", a.body);
}
