//! Every EC2 action's parser, through the action: a table of cases, each
//! with parameters as the AWS CLI or euca2ools sends them and what they
//! must make. An action that changes something is run with its command
//! captured (`capture::commands_of`: built, not executed) and the command
//! checked field by field; a read-only one must carry what was asked in its
//! parsed request and answer a well-formed document with its own root.
//! Every case also has an input the parser refuses, with EC2's code. A
//! fixture made through the actions themselves gives the ids the cases
//! name (`$instance`, `$volume` …). Here are the case type, the fixture
//! and the check that every action has a case; the cases, one table per
//! area, are in this folder's other files.

use super::Action;
use crate::app::RequestMeta;
use crate::app::bootstrap::default_images;
use crate::app::ids::now;
use crate::app::testing::{TestApp, meta, test_app};
use crate::ec2::params::Params;
use crate::ec2::{Ctx, capture};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use domain::volumes::{BlockDevice, ConfigureStorage, SnapshotDone, SnapshotReport, VolumeReport};
use domain::{Command, Principal, SnapshotId, Tag, UserName, VolumeId, ZoneName};
use std::collections::BTreeMap;

mod addresses_and_tags;
mod cloud;
mod images;
mod instances;
mod keys_and_groups;
mod snapshots;
mod volumes;

const NAMESPACE: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";
const ZONE: &str = "yukari-1a";
const USER_DATA: &[u8] = b"#!/bin/sh\necho hello\n";

/// Ids and values the cases name that the fixture does not make: ids of
/// nothing (the parsers check only their shape), the accounts images and
/// snapshots are shared with.
const NAMED: &[(&str, &str)] = &[
    ("$other_instance", "i-0123456789abcdef0"),
    ("$allocation", "eipalloc-0123456789abcdef0"),
    ("$association", "eipassoc-0123456789abcdef0"),
    ("$eki", "eki-0123456789abcdef0"),
    ("$alice", "111122223333"),
    ("$bob", "444455556666"),
];

/// One action's case. Parameters are written as a query string
/// (`Name=value&…`, undecoded), `$name` standing for what the fixture made.
struct Case {
    action: &'static str,
    given: &'static str,
    then: Then,
    /// An input the parser refuses, and EC2's code for it.
    refused: (&'static str, &'static str),
}

enum Then {
    /// The one command the action builds, checked by the function.
    Builds(fn(&Fixture, &Command)),
    /// The request carries these (in its Debug form, `$name` filled in),
    /// and the action answers a document with this root element that
    /// shows these texts.
    Answers { carries: &'static [&'static str], root: &'static str, shows: &'static [&'static str] },
    /// Only parsed, for a reason the case says: the request carries these.
    Parses { carries: &'static [&'static str] },
}

/// `Then::Builds`, its command taken apart as `Command::$variant`.
macro_rules! builds {
    ($variant:ident, |$f:pat_param, $c:ident| $body:expr) => {
        Then::Builds(|$f, command| {
            let Command::$variant($c) = command else {
                panic!("not a {}: {command:?}", stringify!($variant))
            };
            $body
        })
    };
}
use builds;

fn strs<T: AsRef<str>>(items: &[T]) -> Vec<&str> {
    items.iter().map(AsRef::as_ref).collect()
}

/// `Key=value&…` as tags.
fn tags(query: &str) -> Vec<Tag> {
    pairs(query).map(|(key, value)| Tag { key: key.into(), value: value.into() }).collect()
}

fn device(
    name: &str,
    size_gib: Option<u32>,
    snapshot: Option<&str>,
    kind: &str,
    delete: bool,
) -> BlockDevice {
    BlockDevice {
        device: name.into(),
        size_gib,
        snapshot: snapshot.map(|s| SnapshotId::parse(s).unwrap()),
        volume_type: kind.into(),
        delete_on_termination: delete,
    }
}

fn zone() -> ZoneName {
    ZoneName::parse(ZONE).unwrap()
}

/// `Name=value&…` as (name, value) pairs.
fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// A cloud with one resource of each kind the actions name, made through
/// the actions (and the storage controller's reports): `made` holds their
/// ids by `$name`.
struct Fixture {
    t: TestApp,
    ctx: Ctx,
    made: BTreeMap<String, String>,
}

impl Fixture {
    async fn new() -> Fixture {
        let t = test_app().await;
        let account = t.app.admin_key().expect("the admin account").account;
        let admin = meta(&account, UserName::admin().as_str());
        let ctx = Ctx { meta: admin, namespace: NAMESPACE.into(), dry_run: false, past: None };
        let public_key = crate::keys::generate_ed25519().unwrap().public.public_key;
        let mut made: BTreeMap<String, String> =
            NAMED.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        made.extend([
            ("$account".into(), account.to_string()),
            ("$emi".into(), default_images().0.to_string()),
            ("$user_data".into(), STANDARD.encode(USER_DATA)),
            ("$material".into(), STANDARD.encode(&public_key)),
            ("$public_key".into(), public_key),
        ]);
        let mut f = Fixture { t, ctx, made };
        f.system(Command::ConfigureStorage(ConfigureStorage { zone: zone(), capacity_gib: 20, at: now() }))
            .await;
        f.make("CreateKeyPair", "KeyName=fixture-key&KeyType=ed25519", "$key=keyPairId").await;
        let group = "GroupName=fixture-web&GroupDescription=fixture web tier";
        f.make("CreateSecurityGroup", group, "$group=groupId").await;
        let launch = "ImageId=$emi&MinCount=1&MaxCount=1&KeyName=fixture-key&SecurityGroupId.1=$group\
                      &BlockDeviceMapping.1.DeviceName=/dev/sdf&BlockDeviceMapping.1.Ebs.VolumeSize=1";
        f.make("RunInstances", launch, "$instance=instanceId&$attached=volumeId").await;
        f.make("CreateVolume", "Size=1&AvailabilityZone=yukari-1a", "$volume=volumeId").await;
        let volume = VolumeId::parse(f.id("$volume")).unwrap();
        f.system(Command::ReportVolumeCreated(VolumeReport { zone: zone(), volume, at: now() })).await;
        f.make("CreateSnapshot", "VolumeId=$volume&Description=fixture backup", "$snapshot=snapshotId").await;
        let snapshot = SnapshotId::parse(f.id("$snapshot")).unwrap();
        let report = SnapshotReport { zone: zone(), snapshot, at: now() };
        f.system(Command::ReportSnapshotCompleted(SnapshotDone { report, manifest: "00".repeat(32) })).await;
        let image = "Name=fixture-root&Description=fixture root image&RootDeviceName=/dev/sda1\
                     &BlockDeviceMapping.1.DeviceName=/dev/sda1\
                     &BlockDeviceMapping.1.Ebs.SnapshotId=$snapshot";
        f.make("RegisterImage", image, "$image=imageId").await;
        let tagged = "ResourceId.1=$instance&ResourceId.2=$attached&Tag.1.Key=Name&Tag.1.Value=fixture-web-1";
        f.make("CreateTags", tagged, "").await;
        f
    }

    fn id(&self, name: &str) -> &str {
        self.made.get(name).unwrap_or_else(|| panic!("the fixture made no {name}"))
    }

    /// `text` with every `$name` replaced by what the fixture made.
    fn fill(&self, text: &str) -> String {
        self.made.iter().fold(text.to_owned(), |text, (name, value)| text.replace(name, value))
    }

    fn params(&self, query: &str) -> Params {
        Params::from_pairs(pairs(query).map(|(k, v)| (k.to_owned(), self.fill(v))))
    }

    /// Executes `command` as the system (the storage controller's reports):
    /// the admin's request, of the system principal.
    async fn system(&self, command: Command) {
        let meta = RequestMeta { principal: Principal::system("parser-tests"), ..self.ctx.meta.clone() };
        self.t.app.execute(command, &meta).await.unwrap();
    }

    /// Runs `action` for real and keeps, for each `$name=element` of
    /// `keep`, the text of the first such element of its answer.
    async fn make(&mut self, action: &str, query: &str, keep: &str) {
        let parsed = Action::parse(action, &self.params(query)).unwrap_or_else(|e| panic!("{action}: {e:?}"));
        let answer = parsed.run(&self.t.app, &self.ctx).await.unwrap_or_else(|e| panic!("{action}: {e:?}"));
        let doc = roxmltree::Document::parse(&answer).unwrap();
        for (name, element) in pairs(keep) {
            let text = doc.descendants().find(|n| n.has_tag_name(element)).and_then(|n| n.text());
            let text = text.unwrap_or_else(|| panic!("{action}: no {element} in {answer}"));
            self.made.insert(name.to_owned(), text.to_owned());
        }
    }
}

async fn check(f: &Fixture, case: &Case) {
    let action = case.action;
    let given = f.params(case.given);
    let parsed = Action::parse(action, &given).unwrap_or_else(|e| panic!("{action} {given:?}: {e:?}"));
    let request = format!("{parsed:?}");
    assert!(request.starts_with(&format!("{action}(")), "{request}");
    let carried = |carries: &[&str]| {
        for c in carries.iter().map(|c| f.fill(c)) {
            assert!(request.contains(&c), "{action}: the request does not carry {c}: {request}");
        }
    };
    match &case.then {
        Then::Builds(expect) => {
            let (commands, answer) = capture::commands_of(parsed.run(&f.t.app, &f.ctx)).await;
            let stopped = answer.expect_err("a captured command stops the action");
            assert_eq!(stopped.code, "InternalError", "{action}: {}", stopped.message);
            let [command] = commands.as_slice() else { panic!("{action} built {commands:?}") };
            expect(f, command);
        }
        Then::Answers { carries, root, shows } => {
            carried(carries);
            let (commands, answer) = capture::commands_of(parsed.run(&f.t.app, &f.ctx)).await;
            assert!(commands.is_empty(), "{action} built {commands:?}");
            let xml = answer.unwrap_or_else(|e| panic!("{action}: {e:?}"));
            let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{action}: {e}: {xml}"));
            let top = doc.root_element().tag_name();
            assert_eq!((top.name(), top.namespace()), (*root, Some(NAMESPACE)), "{xml}");
            for s in shows.iter().map(|s| f.fill(s)) {
                assert!(xml.contains(&s), "{action}: the answer does not show {s}: {xml}");
            }
        }
        Then::Parses { carries } => carried(carries),
    }
    let (refused, code) = case.refused;
    let e = Action::parse(action, &f.params(refused)).expect_err(action);
    assert_eq!(e.code, code, "{action} {refused}: {}", e.message);
}

async fn check_all(cases: &[Case]) {
    let f = Fixture::new().await;
    for case in cases {
        check(&f, case).await;
    }
}

const TABLES: &[&[Case]] = &[
    instances::INSTANCES,
    cloud::CLOUD,
    images::IMAGES,
    keys_and_groups::KEYS_AND_GROUPS,
    addresses_and_tags::ADDRESSES_AND_TAGS,
    volumes::VOLUMES,
    snapshots::SNAPSHOTS,
];

/// Actions that change something yet build no command (see their case).
const BUILD_NOTHING: &[&str] = &["ModifyVolumeAttribute"];

/// Every action of the registry has a case, and a case of each action that
/// changes something checks the command it builds: adding an action
/// without a parser test fails here.
#[test]
fn every_action_has_a_parser_case() {
    let cases: Vec<&Case> = TABLES.iter().flat_map(|t| t.iter()).collect();
    for name in Action::NAMES {
        let of: Vec<&&Case> = cases.iter().filter(|c| c.action == *name).collect();
        assert!(!of.is_empty(), "no parser case for {name}");
        let changes = Action::access_by_name(name).is_some_and(|a| a.changes());
        let builds = of.iter().any(|c| matches!(c.then, Then::Builds(_)));
        assert_eq!(builds, changes && !BUILD_NOTHING.contains(name), "{name}: changes: {changes}");
    }
    for case in &cases {
        assert!(Action::NAMES.contains(&case.action), "{} is not an action", case.action);
    }
}
