//! Rebuilt read models equal incrementally built ones, for any sequence of
//! commands (property test), and the live runner agrees with a rebuild.

use crate::*;
use domain::command::*;
use domain::*;
use eventlog::{EnvelopeRef, EventLog, ExpectedVersion, LogOptions, Metadata, NewEvent, StreamAppend};
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Clone, Debug)]
enum Op {
    CreateAccount(u8),
    Run {
        account: u8,
        min: u32,
        max: u32,
        token: Option<u8>,
    },
    Terminate {
        account: u8,
        picks: Vec<usize>,
    },
    Report {
        pick: usize,
        outcome: u8,
    },
    /// Save and reload the incremental models here.
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3).prop_map(Op::CreateAccount),
        (0u8..3, 1u32..3, 1u32..4, proptest::option::of(0u8..3))
            .prop_map(|(account, min, extra, token)| Op::Run { account, min, max: min + extra - 1, token }),
        (0u8..3, proptest::collection::vec(0usize..50, 1..4))
            .prop_map(|(account, picks)| Op::Terminate { account, picks }),
        (0usize..50, 0u8..3).prop_map(|(pick, outcome)| Op::Report { pick, outcome }),
        Just(Op::Snapshot),
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
            at: Timestamp(1),
        },
        admin: CreateAccount { account: account(0), name: "admin".into(), at: Timestamp(1) },
        admin_key: CreateAccessKey {
            account: account(0),
            user: UserName::admin(),
            access_key: AccessKeyId::from_bits(1),
            secret: SealedSecret { nonce: vec![0; 12], ciphertext: vec![1; 40] },
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
            at: Timestamp(1),
        }],
        at: Timestamp(1),
    })
}

/// Runs commands through the domain the way the controller does and keeps
/// the resulting stored records.
struct World {
    streams: HashMap<StreamId, Aggregate>,
    records: Vec<eventlog::RecordedEvent>,
    instances: Vec<(AccountId, InstanceId)>,
    clock: i64,
    ids: u128,
}

impl World {
    fn new() -> World {
        let mut w =
            World { streams: HashMap::new(), records: Vec::new(), instances: Vec::new(), clock: 10, ids: 0 };
        w.execute(&bootstrap());
        w
    }

    fn execute(&mut self, command: &Command) {
        let mut view: HashMap<StreamId, Aggregate> = HashMap::new();
        for s in command.streams() {
            view.insert(s.clone(), self.streams.get(&s).cloned().unwrap_or_default());
        }
        let Ok(decision) = decide(command, &view) else {
            return;
        };
        if let Reply::Launched { instances, replayed: false, .. } = &decision.reply
            && let Command::RunInstances(c) = command
        {
            self.instances.extend(instances.iter().map(|i| (c.account.clone(), i.clone())));
        }
        for (stream, event) in decision.events {
            let agg = self.streams.entry(stream.clone()).or_default();
            agg.evolve(&event);
            let position = self.records.len() as u64 + 1;
            let version = self.records.iter().filter(|r| r.stream == stream.as_str()).count() as u64 + 1;
            self.records.push(eventlog::RecordedEvent {
                position,
                stream: stream.to_string(),
                version,
                event_type: event.type_name().into(),
                schema: event.schema(),
                recorded_at: self.clock,
                metadata: Metadata::default(),
                payload: event.encode(),
            });
        }
    }

    fn fresh(&mut self) -> u128 {
        self.ids += 1;
        self.ids
    }

    fn play(&mut self, op: &Op) {
        self.clock += 1000;
        let at = Timestamp(self.clock);
        let command = match op {
            Op::CreateAccount(i) => {
                Command::CreateAccount(CreateAccount { account: account(*i), name: format!("acct{i}"), at })
            }
            Op::Run { account: a, min, max, token } => {
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
                    zone: zone(),
                    user_data: vec![],
                    client_token: token.map(|t| format!("tok{t}")),
                    at,
                })
            }
            Op::Terminate { account: a, picks } => {
                if self.instances.is_empty() {
                    return;
                }
                let ids = picks.iter().map(|p| self.instances[p % self.instances.len()].1.clone()).collect();
                Command::TerminateInstances(TerminateInstances { account: account(*a), instances: ids, at })
            }
            Op::Report { pick, outcome } => {
                if self.instances.is_empty() {
                    return;
                }
                let id = self.instances[pick % self.instances.len()].1.clone();
                let outcome = match outcome {
                    0 => NodeOutcome::Running,
                    1 => NodeOutcome::Terminated,
                    _ => NodeOutcome::LaunchFailed("sim".into()),
                };
                Command::ReportInstance(NodeReport { node: node(), zone: zone(), instance: id, outcome, at })
            }
            Op::Snapshot => return,
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
            let state = match world.streams.get(&StreamId::instance(id)) {
                Some(Aggregate::Instance(i)) => i.state,
                _ => unreachable!(),
            };
            prop_assert_eq!(rebuilt.instances.get(id.as_str()).unwrap().state, state);
        }
        let zone_row = &rebuilt.cloud.zones[&zone()];
        let used: u32 = rebuilt.instances.rows.values().filter_map(|r| r.holds).map(|h| h.cpus).sum();
        prop_assert_eq!(zone_row.nodes[&node()].used.cpus, used);
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
        world.play(&Op::Run { account: 0, min: 1, max: 2, token: None });
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
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follower = tokio::spawn(live.clone().follow(log.clone(), stopped));
    let done = log.append(Metadata::default(), store(&world.records[half..])).await.unwrap();
    live.wait_for(done.last).await.unwrap();
    assert_eq!(*live.read(), rebuild(&log).unwrap());
    stop.send_replace(true);
    follower.await.unwrap().unwrap();
    // The snapshot carries the checkpoint; reopening does not refold.
    let saved = load_snapshot(&snapshot).unwrap().unwrap();
    assert_eq!(saved.position, done.last);
    let reopened = Projections::open(&log, Some(snapshot)).unwrap();
    assert_eq!(*reopened.read(), rebuild(&log).unwrap());
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
