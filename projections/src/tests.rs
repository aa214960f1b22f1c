//! Rebuilt read models equal incrementally built ones, for any sequence of
//! commands (property test), and the live runner agrees with a rebuild.

use crate::*;
use domain::command::*;
use domain::*;
use eventlog::{EnvelopeRef, EventLog, ExpectedVersion, LogOptions, Metadata, NewEvent, StreamAppend};
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub(crate) enum Op {
    CreateAccount(u8),
    Run {
        account: u8,
        min: u32,
        max: u32,
        token: Option<u8>,
        group: Option<u8>,
    },
    Change {
        account: u8,
        picks: Vec<usize>,
        request: u8,
    },
    Report {
        pick: usize,
        outcome: u8,
    },
    CreateGroup {
        account: u8,
        name: u8,
    },
    Rule {
        account: u8,
        name: u8,
        port: u8,
        authorize: bool,
    },
    DeleteGroup {
        account: u8,
        name: u8,
    },
    KeyPair {
        account: u8,
        name: u8,
        delete: bool,
    },
    Allocate {
        account: u8,
    },
    Associate {
        account: u8,
        address: usize,
        pick: usize,
    },
    Release {
        account: u8,
        address: usize,
    },
    Tag {
        account: u8,
        pick: usize,
        key: u8,
        delete: bool,
    },
    /// Save and reload the incremental models here.
    Snapshot,
    /// An hour passes (terminated instances leave the read models).
    Wait,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3).prop_map(Op::CreateAccount),
        (0u8..3, 1u32..3, 1u32..4, proptest::option::of(0u8..3), proptest::option::of(0u8..2)).prop_map(
            |(account, min, extra, token, group)| Op::Run {
                account,
                min,
                max: min + extra - 1,
                token,
                group
            }
        ),
        (0u8..3, proptest::collection::vec(0usize..50, 1..4), 0u8..4)
            .prop_map(|(account, picks, request)| Op::Change { account, picks, request }),
        (0usize..50, 0u8..5).prop_map(|(pick, outcome)| Op::Report { pick, outcome }),
        (0u8..3, 0u8..2).prop_map(|(account, name)| Op::CreateGroup { account, name }),
        (0u8..3, 0u8..2, 0u8..3, any::<bool>()).prop_map(|(account, name, port, authorize)| Op::Rule {
            account,
            name,
            port,
            authorize
        }),
        (0u8..3, 0u8..2).prop_map(|(account, name)| Op::DeleteGroup { account, name }),
        (0u8..3, 0u8..2, any::<bool>()).prop_map(|(account, name, delete)| Op::KeyPair {
            account,
            name,
            delete
        }),
        (0u8..3).prop_map(|account| Op::Allocate { account }),
        (0u8..3, 0usize..8, 0usize..50).prop_map(|(account, address, pick)| Op::Associate {
            account,
            address,
            pick
        }),
        (0u8..3, 0usize..8).prop_map(|(account, address)| Op::Release { account, address }),
        (0u8..3, 0usize..50, 0u8..3, any::<bool>()).prop_map(|(account, pick, key, delete)| Op::Tag {
            account,
            pick,
            key,
            delete
        }),
        Just(Op::Snapshot),
        Just(Op::Wait),
    ]
}

fn zone() -> ZoneName {
    ZoneName::parse("zone-a").unwrap()
}

fn node() -> NodeId {
    NodeId::from_bits(1)
}

fn account(i: u8) -> AccountId {
    AccountId::from_bits(100 + u64::from(i))
}

fn image() -> ImageId {
    ImageId::with_kind(ImageKind::Machine, 1)
}

fn bootstrap() -> Command {
    Command::BootstrapCloud(BootstrapCloud {
        region: "r".into(),
        vm_types: VmType::eucalyptus_defaults(),
        cluster: AddCluster { zone: zone(), policy: SchedulingPolicy::Greedy, at: Timestamp(1) },
        node: RegisterNode {
            node: node(),
            zone: zone(),
            host: "h".into(),
            hypervisor: "sim".into(),
            capacity: Resources { cpus: 12, memory_mib: 1 << 20, disk_gib: 1 << 20 },
            key: None,
            at: Timestamp(1),
        },
        private_cidr: "10.1.0.0/24".into(),
        public_addresses: (10..16).map(|i| format!("198.51.100.{i}")).collect(),
        admin: CreateAccount {
            account: account(0),
            name: "admin".into(),
            default_group: SecurityGroupId::from_bits(0xd0),
            access_key: Some(NewAccessKey {
                user: UserName::admin(),
                access_key: AccessKeyId::from_bits(1),
                secret: SealedSecret { nonce: vec![0; 12], ciphertext: vec![1; 40] },
            }),
            at: Timestamp(1),
        },
        images: vec![RegisterImage {
            image: image(),
            owner: AccountId::system(),
            kind: ImageKind::Machine,
            name: "default".into(),
            description: String::new(),
            architecture: "x86_64".into(),
            location: "builtin".into(),
            kernel: None,
            ramdisk: None,
            public: true,
            bundle: None,
            ebs: None,
            at: Timestamp(1),
        }],
        at: Timestamp(1),
    })
}

/// Runs commands through the domain the way the controller does and keeps
/// the resulting stored records.
pub(crate) struct World {
    streams: HashMap<StreamId, Folded>,
    pub(crate) records: Vec<eventlog::RecordedEvent>,
    instances: Vec<(AccountId, InstanceId)>,
    allocations: Vec<AllocationId>,
    clock: i64,
    ids: u128,
}

impl World {
    pub(crate) fn new() -> World {
        let mut w = World {
            streams: HashMap::new(),
            records: Vec::new(),
            instances: Vec::new(),
            allocations: Vec::new(),
            clock: 10,
            ids: 0,
        };
        w.execute(&bootstrap());
        w
    }

    fn execute(&mut self, command: &Command) {
        let driven = match drive(command, &mut self.streams) {
            Ok(driven) => driven,
            Err(e) => {
                if std::env::var_os("WORLD_DEBUG").is_some() {
                    eprintln!("{}: {e}", command.name());
                }
                return;
            }
        };
        if let Reply::Launched { instances, replayed: false, .. } = &driven.decision.reply
            && let Command::RunInstances(c) = command
        {
            self.instances.extend(instances.iter().map(|i| (c.account.clone(), i.clone())));
        }
        for append in driven.appends(&self.streams) {
            for (version, event) in (append.expected + 1..).zip(append.events) {
                self.record(append.stream.to_string(), version, event);
            }
        }
        driven.apply_to(&mut self.streams);
    }

    fn record(&mut self, stream: String, version: u64, event: &Event) {
        self.records.push(eventlog::RecordedEvent {
            position: self.records.len() as u64 + 1,
            stream,
            version,
            event_type: event.type_name().into(),
            schema: event.schema(),
            recorded_at: self.clock,
            metadata: Metadata::default(),
            payload: event.encode(),
        });
    }

    /// Appends `event` to `instance`'s stream as it is (no decision), and
    /// folds it into the stream the next decisions read.
    fn append(&mut self, instance: &InstanceId, event: Event) {
        let folded = self.streams.entry(StreamId::instance(instance)).or_default();
        folded.state.evolve(&event);
        folded.version += 1;
        let version = folded.version;
        self.record(StreamId::instance(instance).to_string(), version, &event);
    }

    fn fresh(&mut self) -> u128 {
        self.ids += 1;
        self.ids
    }

    pub(crate) fn play(&mut self, op: &Op) {
        self.clock += 1000;
        let at = Timestamp(self.clock);
        let pick = |w: &World, p: usize| -> Option<InstanceId> {
            (!w.instances.is_empty()).then(|| w.instances[p % w.instances.len()].1.clone())
        };
        let group_name = |n: u8| format!("group{n}");
        let command = match op {
            Op::CreateAccount(i) => Command::CreateAccount(CreateAccount {
                account: account(*i),
                name: format!("acct{i}"),
                default_group: SecurityGroupId::from_bits(0xd0 + u128::from(*i)),
                access_key: None,
                at,
            }),
            Op::Run { account: a, min, max, token, group } => {
                let bits = self.fresh();
                Command::RunInstances(RunInstances {
                    account: account(*a),
                    requester: UserName::admin(),
                    reservation: ReservationId::from_bits(bits),
                    instance_ids: (0..*max)
                        .map(|i| InstanceId::from_bits(bits << 8 | u128::from(i)))
                        .collect(),
                    image: image(),
                    vm_type: "c1.medium".into(),
                    min_count: *min,
                    max_count: *max,
                    zone: Some(zone()),
                    user_data: vec![],
                    client_token: token.map(|t| format!("tok{t}")),
                    key_name: None,
                    groups: group.map(|g| vec![GroupRef::Name(group_name(g))]).unwrap_or_default(),
                    shutdown_behavior: ShutdownBehavior::Stop,
                    disable_api_termination: false,
                    tags: vec![Tag { key: "run".into(), value: bits.to_string() }],
                    kernel: None,
                    ramdisk: None,
                    volume_tags: Vec::new(),
                    block_devices: vec![],
                    volumes: vec![],
                    at,
                })
            }
            Op::Change { account: a, picks, request } => {
                if self.instances.is_empty() {
                    return;
                }
                let ids = picks.iter().filter_map(|p| pick(self, *p)).collect();
                let named = InstanceIds { account: account(*a), instances: ids, at };
                match request {
                    0 => Command::TerminateInstances(named),
                    1 => Command::StopInstances(StopInstances {
                        account: named.account,
                        instances: named.instances,
                        force: false,
                        at,
                    }),
                    2 => Command::StartInstances(named),
                    _ => Command::RebootInstances(named),
                }
            }
            Op::Report { pick: p, outcome } => {
                let Some(id) = pick(self, *p) else { return };
                let outcome = match outcome {
                    0 => NodeOutcome::Running,
                    1 => NodeOutcome::Terminated,
                    2 => NodeOutcome::Stopped,
                    3 => NodeOutcome::PoweredOff,
                    _ => NodeOutcome::LaunchFailed("sim".into()),
                };
                Command::from(NodeReport {
                    node: node(),
                    zone: zone(),
                    instance: id,
                    attempt: None,
                    outcome,
                    at,
                })
            }
            Op::CreateGroup { account: a, name } => Command::CreateSecurityGroup(CreateSecurityGroup {
                account: account(*a),
                group: SecurityGroupId::from_bits(self.fresh() + 0x1000),
                name: group_name(*name),
                description: "d".into(),
                tags: vec![],
                at,
            }),
            Op::Rule { account: a, name, port, authorize } => {
                let rules = GroupRules {
                    account: account(*a),
                    group: GroupRef::Name(group_name(*name)),
                    rules: vec![RuleRef {
                        protocol: "tcp".into(),
                        from_port: i32::from(*port),
                        to_port: i32::from(*port),
                        source: SourceRef::Cidr("0.0.0.0/0".into()),
                    }],
                    at,
                };
                if *authorize {
                    Command::AuthorizeSecurityGroupIngress(rules)
                } else {
                    Command::RevokeSecurityGroupIngress(rules)
                }
            }
            Op::DeleteGroup { account: a, name } => Command::DeleteSecurityGroup(DeleteSecurityGroup {
                account: account(*a),
                group: GroupRef::Name(group_name(*name)),
                at,
            }),
            Op::KeyPair { account: a, name, delete: true } => Command::DeleteKeyPair(DeleteKeyPair {
                account: account(*a),
                name: Some(format!("key{name}")),
                key_pair: None,
                at,
            }),
            Op::KeyPair { account: a, name, delete: false } => Command::ImportKeyPair(NewKeyPair {
                account: account(*a),
                name: format!("key{name}"),
                key_pair: KeyPairId::from_bits(self.fresh()),
                fingerprint: "f".into(),
                public_key: "ssh-ed25519 AAAA".into(),
                key_type: "ed25519".into(),
                tags: vec![],
                at,
            }),
            Op::Allocate { account: a } => {
                let allocation = AllocationId::from_bits(self.fresh());
                self.allocations.push(allocation.clone());
                Command::AllocateAddress(AllocateAddress {
                    account: account(*a),
                    allocation,
                    tags: vec![],
                    at,
                })
            }
            Op::Associate { account: a, address, pick: p } => {
                let (Some(allocation), Some(id)) =
                    (self.allocations.get(*address % self.allocations.len().max(1)).cloned(), pick(self, *p))
                else {
                    return;
                };
                Command::AssociateAddress(AssociateAddress {
                    account: account(*a),
                    address: AddressRef::Allocation(allocation),
                    instance: id,
                    association: AssociationId::from_bits(self.fresh()),
                    allow_reassociation: true,
                    at,
                })
            }
            Op::Release { account: a, address } => {
                let Some(allocation) =
                    self.allocations.get(*address % self.allocations.len().max(1)).cloned()
                else {
                    return;
                };
                Command::ReleaseAddress(ReleaseAddress {
                    account: account(*a),
                    address: AddressRef::Allocation(allocation),
                    at,
                })
            }
            Op::Tag { account: a, pick: p, key, delete } => {
                let Some(id) = pick(self, *p) else { return };
                let key = format!("k{key}");
                let (account, resources) = (account(*a), vec![id.to_string()]);
                if *delete {
                    Command::DeleteTags(DeleteTags {
                        account,
                        resources,
                        removals: vec![TagRemoval { key, value: None }],
                        at,
                    })
                } else {
                    Command::CreateTags(CreateTags {
                        account,
                        resources,
                        tags: vec![Tag { key, value: "v".into() }],
                        at,
                    })
                }
            }
            Op::Snapshot => return,
            Op::Wait => {
                self.clock += crate::TERMINATED_VISIBLE_US;
                return;
            }
        };
        self.execute(&command);
    }
}

fn apply_all(models: &mut ReadModels, records: &[eventlog::RecordedEvent]) {
    for r in records {
        models.apply(&r.as_envelope()).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn rebuilt_read_models_equal_incrementally_built_ones(ops in proptest::collection::vec(op(), 1..60)) {
        let mut world = World::new();
        let mut incremental = ReadModels::default();
        apply_all(&mut incremental, &world.records);
        for op in &ops {
            let before = world.records.len();
            world.play(op);
            apply_all(&mut incremental, &world.records[before..]);
            if matches!(op, Op::Snapshot) {
                let bytes = encode_snapshot(&incremental);
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("snap");
                std::fs::write(&path, &bytes).unwrap();
                incremental = load_snapshot(&path).unwrap().unwrap();
            }
        }
        let mut rebuilt = ReadModels::default();
        apply_all(&mut rebuilt, &world.records);
        prop_assert_eq!(&rebuilt, &incremental);
        prop_assert_eq!(encode_snapshot(&rebuilt), encode_snapshot(&incremental));
        // The models reflect the domain's own state.
        for (_, id) in &world.instances {
            let state = match world.streams.get(&StreamId::instance(id)).map(|f| &f.state) {
                Some(Aggregate::Instance(i)) => i.state,
                _ => unreachable!(),
            };
            match rebuilt.instances.get(id.as_str()) {
                Some(row) => prop_assert_eq!(row.state, state),
                // Gone an hour after it ended, and its tags with it.
                None => {
                    prop_assert_eq!(state, InstanceState::Terminated);
                    prop_assert_eq!(rebuilt.tags.of(id.as_str()).count(), 0);
                }
            }
        }
        let zone_row = &rebuilt.cloud.zones[&zone()];
        let used: u32 = rebuilt.instances.rows.values().filter_map(|r| r.holds).map(|h| h.cpus).sum();
        prop_assert_eq!(zone_row.nodes[&node()].used.cpus, used);
        // Tags, groups and addresses agree with the domain's streams.
        for (stream, folded) in &world.streams {
            match &folded.state {
                Aggregate::Instance(i) if rebuilt.instances.get(i.id.as_str()).is_some() => {
                    let tags: std::collections::BTreeMap<String, String> =
                        rebuilt.tags.of(i.id.as_str()).map(|(k, v)| (k.clone(), v.clone())).collect();
                    prop_assert_eq!(&tags, &i.tags.0, "tags of {}", stream);
                    let row = rebuilt.instances.get(i.id.as_str()).unwrap();
                    prop_assert_eq!(&row.public_address, &i.public_address);
                    prop_assert_eq!(&row.elastic, &i.elastic);
                }
                Aggregate::SecurityGroup(g) if !g.deleted => {
                    let row = &rebuilt.security.groups[&g.id];
                    prop_assert_eq!(row.members as usize, g.members.len());
                    prop_assert_eq!(row.ingress.iter().cloned().collect::<std::collections::BTreeSet<_>>(), g.ingress.clone());
                }
                Aggregate::ElasticIp(e) if !e.released => {
                    prop_assert_eq!(&rebuilt.network.addresses[&e.allocation].association, &e.association);
                }
                _ => {}
            }
        }
    }
}

#[test]
fn events_out_of_order_are_refused() {
    let world = World::new();
    let mut models = ReadModels::default();
    let second = &world.records[1];
    assert!(matches!(
        models.apply(&second.as_envelope()),
        Err(ProjectionError::OutOfOrder { position: 2, previous: 0 })
    ));
    let mut garbage = world.records[0].clone();
    garbage.payload = vec![0xff; 3];
    let env: EnvelopeRef<'_> = garbage.as_envelope();
    assert!(matches!(models.apply(&env), Err(ProjectionError::Decode { position: 1, .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_models_follow_the_log_and_survive_a_restart_via_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let mut world = World::new();
    for i in 0..20 {
        world.play(&Op::Run { account: 0, min: 1, max: 2, token: None, group: None });
        world.play(&Op::Report { pick: i, outcome: 0 });
    }
    let store = |records: &[eventlog::RecordedEvent]| {
        records
            .iter()
            .map(|r| StreamAppend {
                stream: r.stream.clone(),
                expected: ExpectedVersion::Exactly(r.version - 1),
                events: vec![NewEvent {
                    event_type: r.event_type.clone(),
                    schema: r.schema,
                    payload: r.payload.clone(),
                }],
            })
            .collect::<Vec<_>>()
    };
    let half = world.records.len() / 2;
    log.append(Metadata::default(), store(&world.records[..half])).await.unwrap();
    let snapshot = dir.path().join("models.snapshot");
    let live = Projections::open(&log, Some(snapshot.clone())).unwrap();
    assert_eq!(live.position(), half as u64);
    // Shared (as a snapshot being encoded holds them): the follower goes
    // on without waiting for it, and the shared models stay as they were.
    let shared = live.share();
    let at_half = (*live.read()).clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(live.clone().follow(log.clone(), stopped));
    let done = log.append(Metadata::default(), store(&world.records[half..])).await.unwrap();
    live.wait_for(done.last).await.unwrap();
    assert_eq!(*live.read(), rebuild(&log).unwrap());
    assert_eq!(*shared, at_half);
    assert_ne!(*shared, *live.read());
    drop(shared);
    stop.send_replace(true);
    follower.await.unwrap().unwrap();
    // The snapshot carries the checkpoint; reopening does not refold.
    let saved = load_snapshot(&snapshot).unwrap().unwrap();
    assert_eq!(saved.position, done.last);
    let reopened = Projections::open(&log, Some(snapshot)).unwrap();
    assert_eq!(*reopened.read(), rebuild(&log).unwrap());
}

#[test]
fn a_snapshot_encoded_into_its_file_is_the_encoded_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap");
    let world = World::new();
    let mut models = ReadModels::default();
    apply_all(&mut models, &world.records);
    let bytes = encode_snapshot(&models);
    assert!(bytes.len() > 64 * 10, "the snapshot takes many writes: {} bytes", bytes.len());
    save_snapshot(&path, &models).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(load_snapshot(&path).unwrap(), Some(models.clone()));
    // An older, shorter one written over it, from a shared copy as the
    // follower writes them: nothing of the longer one is left.
    let mut half = ReadModels::default();
    apply_all(&mut half, &world.records[..world.records.len() / 2]);
    save_snapshot(&path, std::sync::Arc::new(half.clone())).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), encode_snapshot(&half));
    assert_eq!(load_snapshot(&path).unwrap(), Some(half));
}

/// The copy the follower makes while a snapshot shares the models copies
/// the instance rows' pointers, then each row only when it changes.
#[test]
fn a_copy_of_the_models_shares_every_row_it_does_not_change() {
    let mut world = World::new();
    world.play(&Op::CreateAccount(1));
    world.play(&Op::Run { account: 1, min: 3, max: 3, token: None, group: None });
    let mut models = ReadModels::default();
    apply_all(&mut models, &world.records);
    let rows = &models.instances.rows;
    assert!(rows.len() >= 2, "the world has {} instances", rows.len());
    let changed = rows.keys().min().unwrap().clone();
    let shared = models.clone();
    let event = Event::InstanceRunning(domain::event::InstanceRunning {
        node: NodeId::from_bits(2),
        at: Timestamp(9),
    });
    models.instances.instance_event(&changed, &event, 9_000);
    for (id, row) in &models.instances.rows {
        let before = &shared.instances.rows[id];
        assert_eq!(std::sync::Arc::ptr_eq(row, before), *id != changed, "{id}");
    }
    assert_eq!(models.instances.rows[&changed].state, InstanceState::Running);
    assert_ne!(shared.instances.rows[&changed], models.instances.rows[&changed]);
}

#[test]
fn a_damaged_snapshot_is_ignored_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap");
    let world = World::new();
    let mut models = ReadModels::default();
    apply_all(&mut models, &world.records);
    save_snapshot(&path, &models).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(load_snapshot(&path), Err(ProjectionError::Snapshot { .. })));
    assert_eq!(load_snapshot(&dir.path().join("none")).unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_released_with_an_error_when_following_fails() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let live = Projections::open(&log, None).unwrap();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(live.clone().follow(log.clone(), stopped));
    let garbage = StreamAppend {
        stream: "cloud".into(),
        expected: ExpectedVersion::Any,
        events: vec![NewEvent { event_type: "NoSuchEvent".into(), schema: 1, payload: vec![1, 2, 3] }],
    };
    let done = log.append(Metadata::default(), vec![garbage]).await.unwrap();
    let waited = tokio::time::timeout(std::time::Duration::from_secs(10), live.wait_for(done.last)).await;
    assert_eq!(waited.expect("the waiter is released"), Err(Stalled { reached: 0, wanted: done.last }));
    assert!(matches!(follower.await.unwrap(), Err(ProjectionError::Decode { position: 1, .. })));
}

#[test]
fn the_generated_operations_really_change_the_cloud() {
    let mut world = World::new();
    let ops = [
        Op::CreateAccount(1),
        Op::CreateGroup { account: 0, name: 0 },
        Op::Rule { account: 0, name: 0, port: 2, authorize: true },
        Op::KeyPair { account: 0, name: 0, delete: false },
        Op::Run { account: 0, min: 2, max: 2, token: Some(1), group: Some(0) },
        Op::Report { pick: 0, outcome: 0 },
        Op::Allocate { account: 0 },
        Op::Associate { account: 0, address: 0, pick: 0 },
        Op::Tag { account: 0, pick: 0, key: 1, delete: false },
        Op::Change { account: 0, picks: vec![0], request: 1 },
        Op::Report { pick: 0, outcome: 2 },
        Op::Change { account: 0, picks: vec![0], request: 2 },
        // The start fails on the node: stopped again.
        Op::Report { pick: 0, outcome: 4 },
        Op::Release { account: 0, address: 0 },
    ];
    for op in &ops {
        world.play(op);
    }
    let count = |t: &str| world.records.iter().filter(|r| r.event_type == t).count();
    for (t, n) in [
        ("AccountCreated", 2),
        ("SecurityGroupCreated", 3),
        ("KeyPairCreated", 1),
        ("InstanceRequested", 2),
        ("InstanceRunning", 1),
        ("AddressAssociated", 1),
        ("TagsCreated", 3),
        ("InstanceStopped", 1),
        ("InstanceStartRequested", 1),
        ("InstanceStartFailed", 1),
        ("AddressReleased", 1),
    ] {
        assert_eq!(count(t), n, "{t}");
    }
    let mut models = ReadModels::default();
    apply_all(&mut models, &world.records);
    let failed = models.instances.get(world.instances[0].1.as_str()).unwrap();
    assert_eq!(failed.state, domain::InstanceState::Stopped);
    assert!(failed.reason.as_ref().unwrap().message.contains("could not be started: sim"), "{failed:?}");
    assert_eq!(failed.holds, None, "its room went back");
    assert_eq!(models.security.key_pairs.len(), 1);
    assert!(models.network.addresses.is_empty());
}

#[test]
fn a_refused_request_changes_no_read_model() {
    let world = World::new();
    let mut models = ReadModels::default();
    apply_all(&mut models, &world.records);
    let before = models.clone();
    let refused = Event::RequestRefused(domain::event::RequestRefused::new(
        "IncorrectInstanceState",
        "no",
        ["i-00000000000001234".to_owned()],
        false,
        Timestamp(5),
    ));
    let record = eventlog::RecordedEvent {
        position: models.position + 1,
        stream: StreamId::refused().to_string(),
        version: 1,
        event_type: refused.type_name().into(),
        schema: refused.schema(),
        recorded_at: 99,
        metadata: Metadata::default(),
        payload: refused.encode(),
    };
    models.apply(&record.as_envelope()).unwrap();
    assert_eq!(models.position, before.position + 1);
    models.position = before.position;
    assert_eq!(models, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_open_folds_as_far_as_the_log_can_be_folded_and_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::open(&dir.path().join("events.redb"), LogOptions::default()).unwrap();
    let mut world = World::new();
    world.play(&Op::Run { account: 0, min: 1, max: 1, token: None, group: None });
    let good: Vec<StreamAppend> = world
        .records
        .iter()
        .map(|r| StreamAppend {
            stream: r.stream.clone(),
            expected: ExpectedVersion::Any,
            events: vec![NewEvent {
                event_type: r.event_type.clone(),
                schema: r.schema,
                payload: r.payload.clone(),
            }],
        })
        .collect();
    let before = log.append(Metadata::default(), good.clone()).await.unwrap();
    let garbage = StreamAppend {
        stream: "cloud".into(),
        expected: ExpectedVersion::Any,
        events: vec![NewEvent { event_type: "NoSuchEvent".into(), schema: 1, payload: vec![1, 2, 3] }],
    };
    log.append(Metadata::default(), vec![garbage]).await.unwrap();
    log.append(Metadata::default(), good).await.unwrap();
    let snapshot = dir.path().join("models.snapshot");
    assert!(Projections::open(&log, Some(snapshot.clone())).is_err());
    let (partial, stopped) = Projections::open_partial(&log, Some(snapshot.clone()));
    assert_eq!(partial.position(), before.last);
    assert!(matches!(stopped, Some(ProjectionError::Decode { position, .. }) if position == before.last + 1));
    let mut expected = ReadModels::default();
    apply_all(&mut expected, &world.records);
    assert_eq!(*partial.read(), expected);
    partial.save().await;
    assert!(!snapshot.exists(), "a partial open wrote the checkpoint");
}

#[test]
fn a_terminated_instance_leaves_the_read_models_an_hour_after_it_ended() {
    let mut world = World::new();
    // Two reservations of account 0: the first's instance ends, tagged.
    world.play(&Op::Run { account: 0, min: 1, max: 1, token: None, group: None });
    world.play(&Op::Run { account: 0, min: 1, max: 1, token: None, group: None });
    let (ended, kept) = (world.instances[0].1.clone(), world.instances[1].1.clone());
    world.play(&Op::Report { pick: 0, outcome: 0 });
    world.play(&Op::Tag { account: 0, pick: 0, key: 1, delete: false });
    world.play(&Op::Change { account: 0, picks: vec![0], request: 0 });
    world.play(&Op::Report { pick: 0, outcome: 1 });
    let fold = |world: &World| {
        let mut models = ReadModels::default();
        apply_all(&mut models, &world.records);
        models
    };
    let models = fold(&world);
    let row = models.instances.get(ended.as_str()).expect("shown while recently terminated");
    assert_eq!(row.state, InstanceState::Terminated);
    assert_eq!(row.holds, None);
    assert!(models.tags.of(ended.as_str()).any(|(k, _)| k == "k1"));
    let reservation = row.reservation.clone();
    let used = models.cloud.zones[&zone()].nodes[&node()].used;

    // Just under an hour later it is still there; at an hour, it is gone.
    world.clock += crate::TERMINATED_VISIBLE_US - 2_000;
    world.play(&Op::CreateAccount(1));
    assert!(fold(&world).instances.get(ended.as_str()).is_some());
    world.clock += 2_000;
    world.play(&Op::CreateAccount(2));
    let models = fold(&world);
    assert!(models.instances.get(ended.as_str()).is_none());
    assert_eq!(models.tags.of(ended.as_str()).count(), 0, "its tags went with it");
    assert!(!models.instances.reservations.contains_key(&reservation), "and its empty reservation");
    assert!(models.instances.ended.is_empty());
    let listed: Vec<_> = models.instances.of_account(&account(0), None).map(|r| r.id.clone()).collect();
    assert_eq!(listed, vec![kept.clone()]);
    assert_eq!(models.instances.get(kept.as_str()).unwrap().state, InstanceState::Pending, "others stay");
    assert_eq!(models.cloud.zones[&zone()].nodes[&node()].used, used, "capacity untouched");
    // A snapshot carries the queue: the same models after a reload.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap");
    save_snapshot(&path, &models).unwrap();
    assert_eq!(load_snapshot(&path).unwrap().unwrap(), models);
}

/// Seed 1023 of the simulator: a forced detach left the volume's disk
/// plugged in the guest, because the node's view stopped naming the
/// instance once its last device was released, and the node only unplugs
/// stray disks of the instances its view names.
#[test]
fn an_instance_that_had_a_volume_stays_listed_until_it_leaves_the_read_models() {
    let mut world = World::new();
    world.play(&Op::Run { account: 0, min: 1, max: 1, token: None, group: None });
    world.play(&Op::Report { pick: 0, outcome: 0 });
    let id = world.instances[0].1.clone();
    let volume = VolumeId::from_bits(9);
    let device = "/dev/sdf".to_owned();
    use domain::event::{InstanceDeviceClaimed, InstanceDeviceReleased};
    let claimed = InstanceDeviceClaimed { device: device.clone(), volume: volume.clone(), at: Timestamp(20) };
    world.append(&id, claimed.into());
    let fold = |world: &World| {
        let mut models = ReadModels::default();
        apply_all(&mut models, &world.records);
        models
    };
    let devices = |models: &ReadModels| models.volumes.by_instance.get(&id).cloned();
    assert_eq!(devices(&fold(&world)), Some([(device.clone(), volume.clone())].into()));
    world.append(&id, InstanceDeviceReleased { device, volume, at: Timestamp(30) }.into());
    assert_eq!(devices(&fold(&world)), Some(Default::default()), "listed, with no device");
    // Terminated, it is listed while it is shown, and goes with it.
    world.play(&Op::Change { account: 0, picks: vec![0], request: 0 });
    world.play(&Op::Report { pick: 0, outcome: 1 });
    assert_eq!(devices(&fold(&world)), Some(Default::default()));
    world.clock += crate::TERMINATED_VISIBLE_US;
    world.play(&Op::CreateAccount(1));
    assert_eq!(devices(&fold(&world)), None);
}

#[test]
fn an_ended_instance_that_still_holds_capacity_waits_for_its_release() {
    let mut models = ReadModels::default();
    let world = World::new();
    apply_all(&mut models, &world.records);
    let id = InstanceId::from_bits(0x77);
    models.instances.rows.insert(
        id.clone(),
        std::sync::Arc::new(InstanceRow {
            holds: Some(Resources { cpus: 1, memory_mib: 1, disk_gib: 1 }),
            state: InstanceState::Terminated,
            ..models_row(&id)
        }),
    );
    models.instances.ended.push_back((0, id.clone()));
    models.instances.expire(crate::TERMINATED_VISIBLE_US, |_| {});
    assert!(models.instances.get(id.as_str()).is_some(), "kept while it holds room");
    assert_eq!(models.instances.ended.back().map(|e| e.0), Some(crate::TERMINATED_VISIBLE_US));
    std::sync::Arc::make_mut(models.instances.rows.get_mut(id.as_str()).unwrap()).holds = None;
    models.instances.expire(2 * crate::TERMINATED_VISIBLE_US, |_| {});
    assert!(models.instances.get(id.as_str()).is_none());
}

fn models_row(id: &InstanceId) -> InstanceRow {
    InstanceRow {
        id: id.clone(),
        account: account(0),
        reservation: ReservationId::from_bits(0x78),
        image: image(),
        kernel: None,
        ramdisk: None,
        vm_type: "m1.small".into(),
        launch_index: 0,
        client_token: None,
        state: InstanceState::Pending,
        reason: None,
        launched_at: Timestamp(0),
        state_changed_at: Timestamp(0),
        node: None,
        moved_from: Vec::new(),
        zone: None,
        holds: None,
        key_name: None,
        groups: vec![],
        private_address: None,
        public_address: None,
        elastic: None,
        shutdown_behavior: ShutdownBehavior::Stop,
        disable_api_termination: false,
    }
}

/// Folding on two threads gives the read models one record at a time
/// gives, stops at the same record with the same error, stops reading soon
/// after a record cannot be folded, and folds what was read before a read
/// failure: whichever side decodes the events (the reading side all of
/// them, none, part of each batch, or a share that follows the two sides'
/// speeds).
#[test]
fn folding_on_two_threads_equals_folding_one_record_at_a_time() {
    for share in [None, Some(0), Some(5), Some(16)] {
        fold_on_two_threads_as_one_record_at_a_time(share);
    }
}

fn fold_on_two_threads_as_one_record_at_a_time(share: Option<usize>) {
    use crate::FoldFailed;
    // Small batches, so that a short log makes many.
    let (size, in_flight) = (16, 2);
    let fold_decoding_aside =
        |models: &mut ReadModels,
         read: &mut (dyn FnMut(crate::Visitor<'_>) -> Result<(), &'static str> + Send)|
         -> Result<u64, FoldFailed<&'static str>> {
            crate::parallel::fold_in_batches(models, read, size, in_flight, share)
        };
    let mut world = World::new();
    world.play(&Op::CreateAccount(1));
    for i in 0..20 {
        world.play(&Op::Run { account: (i % 2) as u8, min: 1, max: 2, token: None, group: None });
        world.play(&Op::Report { pick: i, outcome: 0 });
    }
    for i in 0..3_000 {
        let account = (i % 2) as u8;
        match i % 4 {
            0 => world.play(&Op::KeyPair { account, name: (i % 7) as u8, delete: i % 8 == 4 }),
            1 => world.play(&Op::Allocate { account }),
            _ => world.play(&Op::Tag { account, pick: i, key: (i % 5) as u8, delete: i % 3 == 0 }),
        }
    }
    let records = world.records.clone();
    // The reader may be ahead of the fold by the batches in flight, the
    // one being filled and the one being folded.
    let ahead = (in_flight + 2) * size;
    let bad = 700;
    assert!(records.len() > bad + ahead, "{} records: more than the reader can be ahead", records.len());
    let read_all = |records: &[eventlog::RecordedEvent], visited: &mut usize, visit: crate::Visitor<'_>| {
        for r in records {
            *visited += 1;
            if visit(&r.as_envelope()).is_break() {
                break;
            }
        }
        Ok::<(), &str>(())
    };
    let mut one_by_one = ReadModels::default();
    apply_all(&mut one_by_one, &records);
    let mut aside = ReadModels::default();
    let mut visited = 0;
    assert_eq!(
        fold_decoding_aside(&mut aside, &mut |visit| read_all(&records, &mut visited, visit)).unwrap(),
        records.len() as u64
    );
    assert_eq!(aside, one_by_one, "share {share:?}");

    // From a checkpoint part of the way.
    let mut from_middle = ReadModels::default();
    apply_all(&mut from_middle, &records[..500]);
    fold_decoding_aside(&mut from_middle, &mut |visit| read_all(&records[500..], &mut visited, visit))
        .unwrap();
    assert_eq!(from_middle, one_by_one);

    // A record that cannot be decoded, part of the way.
    let mut damaged = records.clone();
    damaged[bad].payload = vec![0xff; 3];
    let mut aside = ReadModels::default();
    let mut visited = 0;
    let failed = fold_decoding_aside(&mut aside, &mut |visit| read_all(&damaged, &mut visited, visit));
    assert!(
        matches!(failed, Err(FoldFailed::Fold(ProjectionError::Decode { position, .. })) if position == bad as u64 + 1),
        "{failed:?}"
    );
    let mut before = ReadModels::default();
    apply_all(&mut before, &records[..bad]);
    assert_eq!(aside, before);
    assert!(visited <= bad + ahead, "the reading went on to record {visited} after the fold failed at {bad}");

    // Reading fails after 600 records.
    let mut aside = ReadModels::default();
    let failed = fold_decoding_aside(&mut aside, &mut |visit| {
        read_all(&records[..600], &mut 0, visit)?;
        Err("the disk went away")
    });
    assert!(matches!(failed, Err(FoldFailed::Read("the disk went away"))), "{failed:?}");
    let mut before = ReadModels::default();
    apply_all(&mut before, &records[..600]);
    assert_eq!(aside, before);
}
