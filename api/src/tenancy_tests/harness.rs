//! The world of the tenancy matrix: a cloud with accounts A (`alice`, with
//! one of each kind of resource, a reader user and a console password) and
//! B (`bob`, with resources of its own), signed requests through the EC2
//! and Euare routers, and what A looks like.

use super::probes::{Probe, Target};
use crate::app::bootstrap::BootstrapSpec;
use crate::app::ids::now;
use crate::app::{App, LoginProfileKind, RequestMeta};
use crate::auth::{V4Key, V4Request, sign_v4_headers};
use axum::body::Body;
use axum::http::Request;
use domain::volumes::{ConfigureStorage, SnapshotDone, SnapshotReport, VolumeReport};
use domain::{AccountId, Command, Principal, Resources, StreamId, UserName, ZoneName};
use eventlog::LogOptions;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tower::ServiceExt;

pub const CONSOLE_PASSWORD: &str = "alices console horse battery";

/// Who signs a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account: AccountId,
    pub access_key: String,
    pub secret: String,
}

pub struct World {
    pub app: Arc<App>,
    pub cloud_admin: Caller,
    pub alice: Caller,
    pub bob: Caller,
    /// A user of A's who is not its admin.
    pub reader: Caller,
    pub a_target: Target,
    pub ghost: Target,
    /// Every plaintext secret made (secret keys, passwords, a private key).
    pub secrets: Vec<String>,
    /// Every answer's body, in order.
    answers: Mutex<Vec<String>>,
    /// How many of them setting up gave.
    setup_answers: usize,
    _dir: tempfile::TempDir,
    _following: tokio::sync::watch::Sender<bool>,
}

/// An answer: status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Elements whose text is made fresh by each call (ids, keys, times):
/// compared by presence, not by text.
const FRESH: &[&str] = &[
    "requestId",
    "RequestId",
    "RequestID",
    "keyFingerprint",
    "keyMaterial",
    "keyPairId",
    "groupId",
    "instanceId",
    "reservationId",
    "launchTime",
    "privateIpAddress",
    "privateDnsName",
    "dnsName",
    "ipAddress",
    "publicIp",
    "allocationId",
    "associationId",
    "macAddress",
    "timestamp",
    "createTime",
];

impl Answer {
    /// The error code of an error answer.
    pub fn code(&self) -> Option<&str> {
        let start = self.body.find("<Code>")? + "<Code>".len();
        let end = self.body[start..].find("</Code>")? + start;
        Some(&self.body[start..end])
    }

    /// The answer as a comparable outline: every element in order with its
    /// text, the values the probe sent for `target` written as `{}`, fresh
    /// values as `*`. The body must be well-formed XML.
    pub fn normalised(&self, target: &Target, probe: &Probe) -> String {
        let doc = roxmltree::Document::parse(&self.body)
            .unwrap_or_else(|e| panic!("{}: not well-formed ({e}): {}", probe.action, self.body));
        let mut sent = probe.values_sent(target);
        sent.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = String::new();
        for node in doc.descendants().filter(|n| n.is_element()) {
            let name = node.tag_name().name();
            out.push('<');
            out.push_str(name);
            out.push('>');
            let text: String = node.children().filter(|c| c.is_text()).filter_map(|c| c.text()).collect();
            let text = text.trim();
            if FRESH.contains(&name) && !text.is_empty() {
                out.push('*');
            } else {
                let mut text = text.to_owned();
                for s in sent.iter().filter(|s| !s.is_empty()) {
                    text = text.replace(s.as_str(), "{}");
                }
                out.push_str(&text);
            }
        }
        out
    }
}

/// `mark` in `text` as a whole token (not inside a longer id or address).
pub fn contains_token(text: &str, mark: &str) -> bool {
    if mark.is_empty() {
        return false;
    }
    let part = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_';
    text.match_indices(mark).any(|(at, _)| {
        let before = text[..at].chars().next_back().is_none_or(|c| !part(c));
        let after = text[at + mark.len()..].chars().next().is_none_or(|c| !part(c));
        before && after
    })
}

fn meta(account: &AccountId) -> RequestMeta {
    RequestMeta {
        principal: Principal { account: account.clone(), user: UserName::admin(), access_key: None },
        request_id: "tenancy-setup".into(),
        correlation_id: "tenancy-setup".into(),
        source: "test".into(),
    }
}

/// A `Write` into a shared buffer, for the captured log lines.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured log lines, and the guard that keeps capturing them.
pub struct Logs {
    pub captured: Captured,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.captured.0.lock().unwrap()).into_owned()
    }
}

impl World {
    /// The world, with every log line of this thread (a current-thread
    /// runtime: the tasks it spawns too) captured at the most verbose level.
    pub async fn new_capturing() -> (World, Logs) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        let world = World::new().await;
        (world, Logs { captured, _guard: guard })
    }

    async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let pool: Vec<String> = (10..250).map(|i| format!("198.51.100.{i}")).collect();
        let spec = BootstrapSpec {
            public_addresses: pool.clone(),
            ..BootstrapSpec::simulated(Resources { cpus: 64, memory_mib: 65536, disk_gib: 1000 })
        };
        let (app, admin, following) =
            crate::app::bootstrap::in_process(dir.path(), LogOptions::default(), spec).await.unwrap();
        let cloud_admin = Caller {
            account: admin.account.clone(),
            access_key: admin.access_key.to_string(),
            secret: admin.secret,
        };
        let mut secrets = vec![cloud_admin.secret.clone(), CONSOLE_PASSWORD.to_owned()];
        let caller = |k: crate::app::bootstrap::AdminKey| Caller {
            account: k.account.clone(),
            access_key: k.access_key.to_string(),
            secret: k.secret,
        };
        let alice = caller(app.create_account("alice", &meta(&cloud_admin.account)).await.unwrap());
        let bob = caller(app.create_account("bob", &meta(&cloud_admin.account)).await.unwrap());
        let reader_name = UserName::parse("reader").unwrap();
        app.create_user(&alice.account, &reader_name, &meta(&alice.account)).await.unwrap();
        let reader =
            caller(app.create_access_key(&alice.account, &reader_name, &meta(&alice.account)).await.unwrap());
        app.change_login_profile(
            &alice.account,
            &UserName::admin(),
            LoginProfileKind::Create,
            Some(CONSOLE_PASSWORD.into()),
            None,
            &meta(&alice.account),
        )
        .await
        .unwrap();
        secrets.extend([alice.secret.clone(), bob.secret.clone(), reader.secret.clone()]);

        let mut w = World {
            app,
            cloud_admin,
            alice,
            bob,
            reader,
            a_target: Target::default(),
            ghost: Target::default(),
            answers: Mutex::new(Vec::new()),
            setup_answers: 0,
            secrets,
            _dir: dir,
            _following: following,
        };
        w.make_resources(&pool).await;
        w.setup_answers = w.answers.lock().unwrap().len();
        w
    }

    /// A's resources (one of each kind, an instance with an address and
    /// tags, a key pair, a group) and B's own instance, group and address.
    async fn make_resources(&mut self, pool: &[String]) {
        let alice = self.alice.clone();
        let bob = self.bob.clone();
        let emi = crate::app::bootstrap::default_images().0.to_string();
        let ok = |a: Answer| {
            assert_eq!(a.status, 200, "{}", a.body);
            a
        };
        let key = ok(self.call_ec2(&alice, &[("Action", "CreateKeyPair"), ("KeyName", "alices-key")]).await);
        self.secrets.push(text_of(&key.body, "keyMaterial"));
        let group = ok(self
            .call_ec2(
                &alice,
                &[
                    ("Action", "CreateSecurityGroup"),
                    ("GroupName", "alices-web"),
                    ("GroupDescription", "alices web tier"),
                ],
            )
            .await);
        let group_id = text_of(&group.body, "groupId");
        let run = ok(self
            .call_ec2(
                &alice,
                &[
                    ("Action", "RunInstances"),
                    ("ImageId", &emi),
                    ("MinCount", "1"),
                    ("MaxCount", "1"),
                    ("KeyName", "alices-key"),
                    ("SecurityGroupId.1", &group_id),
                    ("ClientToken", "alices-token"),
                    ("TagSpecification.1.ResourceType", "instance"),
                    ("TagSpecification.1.Tag.1.Key", "Name"),
                    ("TagSpecification.1.Tag.1.Value", "alices-secret-project"),
                    ("TagSpecification.1.Tag.2.Key", "alices-cost-centre"),
                    ("TagSpecification.1.Tag.2.Value", "42"),
                ],
            )
            .await);
        let instance = text_of(&run.body, "instanceId");
        let address = ok(self.call_ec2(&alice, &[("Action", "AllocateAddress"), ("Domain", "vpc")]).await);
        let allocation = text_of(&address.body, "allocationId");
        let associated = ok(self
            .call_ec2(
                &alice,
                &[("Action", "AssociateAddress"), ("AllocationId", &allocation), ("InstanceId", &instance)],
            )
            .await);
        ok(self
            .call_ec2(
                &alice,
                &[
                    ("Action", "CreateTags"),
                    ("ResourceId.1", &group_id),
                    ("Tag.1.Key", "alices-cost-centre"),
                    ("Tag.1.Value", "7"),
                ],
            )
            .await);
        let described =
            ok(self.call_ec2(&alice, &[("Action", "DescribeInstances"), ("InstanceId.1", &instance)]).await);

        let own_run = ok(self
            .call_ec2(
                &bob,
                &[("Action", "RunInstances"), ("ImageId", &emi), ("MinCount", "1"), ("MaxCount", "1")],
            )
            .await);
        let own_group = ok(self
            .call_ec2(
                &bob,
                &[("Action", "CreateSecurityGroup"), ("GroupName", "bobs-web"), ("GroupDescription", "bobs")],
            )
            .await);
        let own_address = ok(self.call_ec2(&bob, &[("Action", "AllocateAddress"), ("Domain", "vpc")]).await);

        // Block storage in the zone; A's volume, made by the storage
        // controller (its report), tagged, attached to A's instance, and a
        // snapshot of it; B's own volume.
        let zone = ZoneName::parse("yukari-1a").unwrap();
        self.system(Command::ConfigureStorage(ConfigureStorage {
            zone: zone.clone(),
            capacity_gib: 100,
            at: now(),
        }))
        .await;
        let volume = self.made_volume(&alice, &zone).await;
        ok(self
            .call_ec2(
                &alice,
                &[
                    ("Action", "CreateTags"),
                    ("ResourceId.1", &volume),
                    ("Tag.1.Key", "Name"),
                    ("Tag.1.Value", "alices-secret-project"),
                ],
            )
            .await);
        let taken = ok(self.call_ec2(&alice, &[("Action", "CreateSnapshot"), ("VolumeId", &volume)]).await);
        let snapshot = text_of(&taken.body, "snapshotId");
        self.system(Command::ReportSnapshotCompleted(SnapshotDone {
            report: SnapshotReport {
                zone: zone.clone(),
                snapshot: domain::SnapshotId::parse(&snapshot).unwrap(),
                at: now(),
            },
            manifest: "00".repeat(32),
        }))
        .await;
        // The instance running (its node's report), so the volume attaches.
        let (node, node_zone) = self.app.first_node().unwrap();
        let running = domain::command::NodeReport {
            node,
            zone: node_zone,
            instance: domain::InstanceId::parse(&instance).unwrap(),
            attempt: None,
            outcome: domain::command::NodeOutcome::Running,
            at: now(),
        };
        let ran = self.system(Command::from(running)).await;
        assert!(!ran.decision.events.is_empty(), "the instance runs: {ran:?}");
        ok(self
            .call_ec2(
                &alice,
                &[
                    ("Action", "AttachVolume"),
                    ("VolumeId", &volume),
                    ("InstanceId", &instance),
                    ("Device", "/dev/sdf"),
                ],
            )
            .await);
        let own_volume = self.made_volume(&bob, &zone).await;

        let key_id = text_of(&key.body, "keyPairId");
        self.a_target = Target {
            instance,
            instance_name: "alices-secret-project".into(),
            tag_key: "alices-cost-centre".into(),
            reservation: text_of(&run.body, "reservationId"),
            client_token: "alices-token".into(),
            private_ip: text_of(&described.body, "privateIpAddress"),
            key_name: "alices-key".into(),
            key_pair_id: key_id,
            fingerprint: text_of(&key.body, "keyFingerprint"),
            group_id,
            group_name: "alices-web".into(),
            group_description: "alices web tier".into(),
            allocation,
            public_ip: text_of(&address.body, "publicIp"),
            association: text_of(&associated.body, "associationId"),
            owner: self.alice.account.to_string(),
            account_name: "alice".into(),
            access_key: self.alice.access_key.clone(),
            own_instance: text_of(&own_run.body, "instanceId"),
            own_group: text_of(&own_group.body, "groupId"),
            own_allocation: text_of(&own_address.body, "allocationId"),
            emi,
            volume,
            snapshot,
            own_volume,
        };
        let ids = &self.app.ids;
        self.ghost = Target {
            instance: ids.instance().to_string(),
            instance_name: "ghosts-secret-project".into(),
            tag_key: "ghosts-cost-centre".into(),
            reservation: ids.reservation().to_string(),
            client_token: "ghosts-token".into(),
            private_ip: "10.111.250.250".into(),
            key_name: "ghosts-key".into(),
            key_pair_id: ids.key_pair().to_string(),
            fingerprint: "SHA256:ghostghostghostghostghostghostghostghostgh".into(),
            group_id: ids.security_group().to_string(),
            group_name: "ghosts-web".into(),
            group_description: "ghosts web tier".into(),
            allocation: ids.allocation().to_string(),
            // The pool's last address: nobody's (B's addresses come first).
            public_ip: pool.last().unwrap().clone(),
            association: ids.association().to_string(),
            owner: ids.account().to_string(),
            account_name: "ghost".into(),
            access_key: ids.access_key().to_string(),
            volume: ids.volume().to_string(),
            snapshot: ids.snapshot().to_string(),
            ..self.a_target.clone()
        };
        // A's resources are A's: the answers below would show them.
        assert!(self.a_target.private_ip.starts_with("10.111."), "{}", described.body);
        assert!(!self.a_target.association.is_empty() && !self.a_target.fingerprint.is_empty());
    }

    /// A command of the cloud's own (a storage controller's report, say).
    async fn system(&self, command: Command) -> crate::app::Executed {
        let meta = RequestMeta {
            principal: Principal::system("tenancy-setup"),
            request_id: "tenancy-setup".into(),
            correlation_id: String::new(),
            source: "test".into(),
        };
        self.app.execute(command, &meta).await.unwrap()
    }

    /// A 1 GiB volume of `caller`'s, made (as its storage controller reports).
    async fn made_volume(&self, caller: &Caller, zone: &ZoneName) -> String {
        let made = self
            .call_ec2(
                caller,
                &[("Action", "CreateVolume"), ("Size", "1"), ("AvailabilityZone", zone.as_str())],
            )
            .await;
        assert_eq!(made.status, 200, "{}", made.body);
        let volume = text_of(&made.body, "volumeId");
        self.system(Command::ReportVolumeCreated(VolumeReport {
            zone: zone.clone(),
            volume: domain::VolumeId::parse(&volume).unwrap(),
            at: now(),
        }))
        .await;
        volume
    }

    /// A signed EC2 request (Version added) through the router.
    pub async fn call_ec2(&self, caller: &Caller, params: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(String, String)> =
            params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        all.push(("Version".into(), "2016-11-15".into()));
        self.signed(crate::app(self.app.clone()), "/", "ec2", caller, &all).await
    }

    pub async fn ec2(&self, caller: &Caller, probe: &Probe, target: &Target) -> Answer {
        let mut params = probe.fill(target);
        params.push(("Action".into(), probe.action.into()));
        params.push(("Version".into(), "2016-11-15".into()));
        self.signed(crate::app(self.app.clone()), "/", "ec2", caller, &params).await
    }

    pub async fn euare(&self, caller: &Caller, probe: &Probe, target: &Target) -> Answer {
        let mut params = probe.fill(target);
        params.push(("Action".into(), probe.action.into()));
        params.push(("Version".into(), "2010-05-08".into()));
        self.signed(crate::app(self.app.clone()), "/services/Euare", "iam", caller, &params).await
    }

    async fn signed(
        &self,
        router: axum::Router,
        path: &str,
        service: &str,
        caller: &Caller,
        params: &[(String, String)],
    ) -> Answer {
        let query =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish().replace('+', "%20");
        let mut headers = vec![("Host".to_owned(), "localhost".to_owned())];
        let request = V4Request { method: "GET", host: "localhost", path, query: &query, body: b"" };
        let key = V4Key {
            access_key_id: &caller.access_key,
            secret_access_key: &caller.secret,
            region: "yukari",
            service,
        };
        sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
        let mut builder = Request::builder().method("GET").uri(format!("{path}?{query}"));
        for (k, v) in &headers {
            builder = builder.header(k, v);
        }
        let response = router.oneshot(builder.body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        self.answers.lock().unwrap().push(body.clone());
        Answer { status, body }
    }

    /// The answers given since the world was set up.
    pub fn answers_since_setup(&self) -> Vec<String> {
        self.answers.lock().unwrap()[self.setup_answers..].to_vec()
    }

    /// What A looks like: A's answer to every Describe* (and its instance's
    /// attributes and console), and the version of each of A's streams.
    pub async fn snapshot_of_a(&self) -> Snapshot {
        let mut answers = BTreeMap::new();
        let alice = self.alice.clone();
        let t = &self.a_target;
        let reads: Vec<Vec<(&str, &str)>> = vec![
            vec![("Action", "DescribeInstances")],
            vec![("Action", "DescribeInstanceStatus"), ("IncludeAllInstances", "true")],
            vec![
                ("Action", "DescribeInstanceAttribute"),
                ("InstanceId", &t.instance),
                ("Attribute", "instanceType"),
            ],
            vec![
                ("Action", "DescribeInstanceAttribute"),
                ("InstanceId", &t.instance),
                ("Attribute", "groupSet"),
            ],
            vec![("Action", "GetConsoleOutput"), ("InstanceId", &t.instance)],
            vec![("Action", "DescribeKeyPairs")],
            vec![("Action", "DescribeSecurityGroups")],
            vec![("Action", "DescribeAddresses")],
            vec![("Action", "DescribeTags")],
            vec![("Action", "DescribeVolumes")],
            vec![("Action", "DescribeVolumeStatus")],
            vec![("Action", "DescribeSnapshots")],
            vec![("Action", "DescribeImages")],
            vec![("Action", "DescribeAccountAttributes")],
        ];
        for read in reads {
            let answer = self.call_ec2(&alice, &read).await;
            assert_eq!(answer.status, 200, "{read:?}: {}", answer.body);
            // The request id and a console's `timestamp` (now) are new each time.
            let body = answer.body.replace(&text_of(&answer.body, "requestId"), "");
            let body = body.replace(&text_of(&body, "timestamp"), "");
            answers.insert(format!("{read:?}"), body);
        }
        let a = &self.alice.account;
        let mut streams = vec![
            StreamId::account(a).to_string(),
            StreamId::account_name("alice").to_string(),
            StreamId::instance(&domain::InstanceId::parse(&t.instance).unwrap()).to_string(),
            StreamId::reservation(&domain::ReservationId::parse(&t.reservation).unwrap()).to_string(),
            StreamId::client_token(a, &t.client_token).to_string(),
            StreamId::security_group(&domain::SecurityGroupId::parse(&t.group_id).unwrap()).to_string(),
            StreamId::elastic_ip(&domain::AllocationId::parse(&t.allocation).unwrap()).to_string(),
            StreamId::volume(&domain::VolumeId::parse(&t.volume).unwrap()).to_string(),
            StreamId::snapshot(&domain::SnapshotId::parse(&t.snapshot).unwrap()).to_string(),
        ];
        let models = self.app.projections.read();
        for (id, row) in &models.security.groups {
            if &row.account == a {
                streams.push(StreamId::security_group(id).to_string());
            }
        }
        drop(models);
        let versions =
            streams.into_iter().map(|s| (s.clone(), self.app.log.stream_version(&s).unwrap())).collect();
        Snapshot { answers, versions }
    }
}

/// A's answers and stream versions at one moment.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    answers: BTreeMap<String, String>,
    versions: BTreeMap<String, u64>,
}

pub fn assert_same_snapshot(before: &Snapshot, after: &Snapshot) {
    assert!(before.versions.values().all(|&v| v > 0), "A's streams exist: {:?}", before.versions);
    assert_eq!(before.versions, after.versions, "another account's requests appended to A's streams");
    for (read, answer) in &before.answers {
        assert_eq!(Some(answer), after.answers.get(read), "A's {read} changed");
    }
}

/// The text of the first `<name>` element.
pub fn text_of(body: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let Some(start) = body.find(&open).map(|s| s + open.len()) else {
        return String::new();
    };
    let end = body[start..].find("</").map_or(body.len(), |e| e + start);
    body[start..end].to_owned()
}
