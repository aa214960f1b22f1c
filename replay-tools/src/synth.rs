//! A synthetic but realistic log, for benchmarks and tests: a cloud made by
//! the same commands `yukari up` and the EC2 API make (bootstrap, accounts,
//! RunInstances, the node's reports, TerminateInstances), decided by the
//! real `domain::decide` through its decide driver (`domain::drive`),
//! encoded by the real encoders, and appended to a
//! real [`EventLog`] with expected versions, in large group commits.
//!
//! Domain times (`at` in events) follow a synthetic clock; record times are
//! the log's own (the time of writing).

use crate::error::ReplayError;
use crate::progress::Progress;
use domain::command::*;
use domain::*;
use eventlog::{EventLog, ExpectedVersion, Metadata, NewEvent, StreamAppend};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Stop once at least this many events are stored.
    pub events: u64,
    /// Customer accounts besides `admin`.
    pub accounts: u32,
    /// Instances kept running at a time (older ones are terminated).
    pub live_instances: usize,
    pub seed: u64,
    /// Commands per group commit.
    pub batch: usize,
}

impl Default for Spec {
    fn default() -> Self {
        Spec { events: 10_000, accounts: 20, live_instances: 200, seed: 1, batch: 2_000 }
    }
}

/// What was generated.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub events: u64,
    pub commands: u64,
    pub instances: u64,
    /// Customer accounts: id, name, access key.
    pub accounts: Vec<(AccountId, String, AccessKeyId)>,
    pub node: Option<NodeId>,
    /// Some instances that ran and were terminated, and some still running.
    pub terminated: Vec<InstanceId>,
    pub running: Vec<InstanceId>,
    /// Instances another account tried to terminate (refused, recorded
    /// as `RequestRefused`), a few.
    pub refused: Vec<InstanceId>,
}

const VM_TYPES: [&str; 5] = ["t1.micro", "m1.small", "m1.medium", "c1.medium", "m1.large"];

type Batch = Vec<(Metadata, Vec<StreamAppend>)>;

/// Record times that follow the generated history instead of the wall
/// clock: open the log with [`HistoryClock::log_clock`] and pass the same
/// clock to [`generate_with`], and the log's records are stamped with the
/// synthetic time of the commands being generated (a history of weeks,
/// made in minutes, then reads as weeks: what ages by record time, such
/// as a terminated instance leaving the read models, ages as in the
/// cloud it imitates).
#[derive(Clone, Debug, Default)]
pub struct HistoryClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl HistoryClock {
    /// The clock to open the log with.
    pub fn log_clock(&self) -> eventlog::Clock {
        let now = self.0.clone();
        eventlog::Clock::new(move || now.load(std::sync::atomic::Ordering::SeqCst))
    }
}

struct Generator {
    rng: StdRng,
    clock: i64,
    history: Option<HistoryClock>,
    /// Every stream a later command may read (a stream not here is new).
    cache: HashMap<StreamId, Folded>,
    batch: Batch,
    events: u64,
    commands: u64,
}

impl Generator {
    fn request_id(&mut self) -> String {
        let (a, b, c, d, e): (u32, u16, u16, u16, u64) =
            (self.rng.r#gen(), self.rng.r#gen(), self.rng.r#gen(), self.rng.r#gen(), self.rng.r#gen());
        format!(
            "{a:08x}-{b:04x}-4{:03x}-{:04x}-{:012x}",
            c & 0xfff,
            (d & 0x3fff) | 0x8000,
            e & 0xffff_ffff_ffff
        )
    }

    fn tick(&mut self) -> Timestamp {
        self.clock += self.rng.gen_range(1..2_000);
        if let Some(history) = &self.history {
            history.0.store(self.clock * 1000, std::sync::atomic::Ordering::SeqCst);
        }
        Timestamp(self.clock)
    }

    /// Decides `command` on the cached streams with the decide driver and
    /// stages its appends.
    fn run(&mut self, command: Command, meta: Metadata) -> Result<Decision, ReplayError> {
        let driven = domain::drive(&command, &mut self.cache)
            .map_err(|e| ReplayError::Invalid(format!("synthetic {}: {e}", command.name())))?;
        let appends: Vec<StreamAppend> = driven
            .appends(&self.cache)
            .into_iter()
            .map(|a| StreamAppend {
                stream: a.stream.to_string(),
                expected: ExpectedVersion::from_seen(a.expected),
                events: a
                    .events
                    .into_iter()
                    .map(|event| NewEvent {
                        event_type: event.type_name().into(),
                        schema: event.schema(),
                        payload: event.encode(),
                    })
                    .collect(),
            })
            .collect();
        driven.apply_to(&mut self.cache);
        self.events += driven.decision.events.len() as u64;
        self.commands += 1;
        if !appends.is_empty() {
            self.batch.push((meta, appends));
        }
        Ok(driven.decision)
    }

    /// Decides `command`, which must be refused, and stages the refusal
    /// record the API would append (code `code`) in the `refused` stream.
    fn refuse(
        &mut self,
        command: Command,
        meta: Metadata,
        code: &str,
        named: Vec<String>,
    ) -> Result<(), ReplayError> {
        let why = match domain::drive(&command, &mut self.cache) {
            Err(domain::drive::DriveError::Refused(refusal)) => refusal.to_string(),
            Ok(_) => {
                return Err(ReplayError::Invalid(format!("synthetic {} was not refused", command.name())));
            }
            Err(e) => return Err(ReplayError::Invalid(format!("synthetic {}: {e}", command.name()))),
        };
        let event = Event::RequestRefused(event::RequestRefused::new(code, &why, named, false, self.tick()));
        let append = StreamAppend {
            stream: StreamId::refused().to_string(),
            expected: ExpectedVersion::Any,
            events: vec![NewEvent {
                event_type: event.type_name().into(),
                schema: event.schema(),
                payload: event.encode(),
            }],
        };
        self.events += 1;
        self.commands += 1;
        self.batch.push((meta, vec![append]));
        Ok(())
    }

    /// Drops streams that no later command reads.
    fn forget(&mut self, stream: &StreamId) {
        self.cache.remove(stream);
    }
}

fn meta(
    account: &AccountId,
    user: &str,
    key: &str,
    action: &str,
    source: String,
    request_id: String,
) -> Metadata {
    Metadata {
        account: account.to_string(),
        user: user.to_owned(),
        access_key: key.to_owned(),
        action: action.to_owned(),
        source,
        correlation_id: request_id.clone(),
        causation_id: request_id.clone(),
        request_id,
    }
}

async fn flush(log: &EventLog, batch: Batch) -> Result<(), ReplayError> {
    if batch.is_empty() {
        return Ok(());
    }
    log.transact(move |tx| {
        for (meta, appends) in &batch {
            tx.append(meta, appends)?;
        }
        Ok::<(), eventlog::AppendError>(())
    })
    .await
    .and_then(|r| r)
    .map_err(|e| ReplayError::Invalid(format!("synthetic append: {e}")))
}

/// Appends a synthetic cloud's history to `log` (which should be empty).
pub async fn generate(log: &EventLog, spec: &Spec, progress: &Progress) -> Result<Summary, ReplayError> {
    generate_with(log, spec, progress, None).await
}

/// [`generate`], with record times from `history` when given (the log
/// must have been opened with its [`HistoryClock::log_clock`]).
pub async fn generate_with(
    log: &EventLog,
    spec: &Spec,
    progress: &Progress,
    history: Option<&HistoryClock>,
) -> Result<Summary, ReplayError> {
    let mut g = Generator {
        rng: StdRng::seed_from_u64(spec.seed),
        history: history.cloned(),
        clock: 1_767_225_600_000, // 2026-01-01T00:00:00Z
        cache: HashMap::new(),
        batch: Vec::new(),
        events: 0,
        commands: 0,
    };
    let mut summary = Summary::default();
    let zone = ZoneName::parse("yukari-1a").expect("a valid zone");
    let node = NodeId::from_bits(g.rng.r#gen());
    summary.node = Some(node.clone());
    let admin = AccountId::from_bits(g.rng.gen_range(100_000_000_000..999_999_999_999));
    let admin_key = AccessKeyId::from_bits(g.rng.r#gen());
    let at = g.tick();
    let sealed = || SealedSecret { nonce: vec![7; 12], ciphertext: vec![9; 56] };
    let image = |id: ImageId, kind, name: &str, kernel, ramdisk| RegisterImage {
        image: id,
        owner: AccountId::system(),
        kind,
        name: name.to_owned(),
        description: format!("Yukari built-in {name}"),
        architecture: "x86_64".to_owned(),
        location: format!("builtin/{name}"),
        kernel,
        ramdisk,
        public: true,
        bundle: None,
        ebs: None,
        at,
    };
    const BITS: u128 = 0x5955_4b41_5249;
    let (emi, eki, eri) = (
        ImageId::with_kind(ImageKind::Machine, BITS),
        ImageId::with_kind(ImageKind::Kernel, BITS),
        ImageId::with_kind(ImageKind::Ramdisk, BITS),
    );
    let bootstrap = Command::BootstrapCloud(BootstrapCloud {
        region: "yukari".to_owned(),
        vm_types: VmType::eucalyptus_defaults(),
        cluster: AddCluster { zone: zone.clone(), policy: SchedulingPolicy::Greedy, at },
        node: RegisterNode {
            node: node.clone(),
            zone: zone.clone(),
            host: "127.0.0.1".to_owned(),
            hypervisor: "sim".to_owned(),
            capacity: Resources { cpus: u32::MAX / 2, memory_mib: u64::MAX / 4, disk_gib: u64::MAX / 4 },
            key: None,
            at,
        },
        private_cidr: "10.111.0.0/16".to_owned(),
        public_addresses: Vec::new(),
        admin: CreateAccount {
            account: admin.clone(),
            name: "admin".to_owned(),
            default_group: SecurityGroupId::from_bits(g.rng.r#gen()),
            access_key: Some(NewAccessKey {
                user: UserName::admin(),
                access_key: admin_key.clone(),
                secret: sealed(),
            }),
            at,
        },
        images: vec![
            image(eki.clone(), ImageKind::Kernel, "yukari-kernel", None, None),
            image(eri.clone(), ImageKind::Ramdisk, "yukari-initrd", None, None),
            image(emi.clone(), ImageKind::Machine, "yukari-default", Some(eki), Some(eri)),
        ],
        at,
    });
    let system = AccountId::system();
    let rid = g.request_id();
    g.run(bootstrap, meta(&system, "bootstrap", "", "BootstrapCloud", "bootstrap".into(), rid))?;

    let mut accounts: Vec<(AccountId, String, AccessKeyId)> = Vec::new();
    for n in 0..spec.accounts.max(1) {
        let account = AccountId::from_bits(g.rng.gen_range(100_000_000_000..999_999_999_999));
        let name = format!("customer-{n:03}");
        let key = AccessKeyId::from_bits(g.rng.r#gen());
        let at = g.tick();
        let rid = g.request_id();
        let m = meta(&admin, "admin", admin_key.as_str(), "CreateAccount", "10.0.0.2:40000".into(), rid);
        let create = CreateAccount {
            account: account.clone(),
            name: name.clone(),
            default_group: SecurityGroupId::from_bits(g.rng.r#gen()),
            access_key: None,
            at,
        };
        g.run(Command::CreateAccount(create), m.clone())?;
        let user = UserName::parse("ops").expect("a valid user name");
        let create_user = CreateUser { account: account.clone(), user: user.clone(), at };
        g.run(Command::CreateUser(create_user), Metadata { action: "CreateUser".into(), ..m.clone() })?;
        let create_key = CreateAccessKey {
            account: account.clone(),
            key: NewAccessKey { user, access_key: key.clone(), secret: sealed() },
            at,
        };
        let m = Metadata { action: "CreateAccessKey".into(), ..m };
        g.run(Command::CreateAccessKey(create_key), m)?;
        accounts.push((account, name, key));
    }
    summary.accounts = accounts.clone();

    let mut pending: Vec<(InstanceId, AccountId)> = Vec::new();
    let mut running: Vec<(InstanceId, AccountId)> = Vec::new();
    let mut shutting: Vec<InstanceId> = Vec::new();
    let mut in_flight: Option<tokio::task::JoinHandle<Result<(), ReplayError>>> = None;
    let log_for_tasks = log.clone();
    let report_meta = |g: &mut Generator, action: &str, instance: &InstanceId| {
        let rid = g.request_id();
        Metadata {
            account: system.to_string(),
            user: "node-executor".to_owned(),
            access_key: String::new(),
            action: action.to_owned(),
            source: format!("node:{node}"),
            correlation_id: instance.to_string(),
            causation_id: rid.clone(),
            request_id: rid,
        }
    };
    while g.events < spec.events {
        // A customer launches 1–4 instances (with a client token, as the AWS CLI does).
        let (account, _, key) = accounts[g.rng.gen_range(0..accounts.len())].clone();
        let count = g.rng.gen_range(1..=4u32);
        let ids: Vec<InstanceId> = (0..count).map(|_| InstanceId::from_bits(g.rng.r#gen())).collect();
        let reservation = ReservationId::from_bits(g.rng.r#gen());
        let token = g.request_id();
        let run = RunInstances {
            account: account.clone(),
            requester: UserName::parse("ops").expect("a valid user name"),
            reservation: reservation.clone(),
            instance_ids: ids.clone(),
            image: emi.clone(),
            vm_type: VM_TYPES[g.rng.gen_range(0..VM_TYPES.len())].to_owned(),
            min_count: count,
            max_count: count,
            zone: Some(zone.clone()),
            user_data: Vec::new(),
            client_token: Some(token.clone()),
            key_name: None,
            groups: Vec::new(),
            shutdown_behavior: ShutdownBehavior::Stop,
            disable_api_termination: false,
            tags: Vec::new(),
            kernel: None,
            ramdisk: None,
            volume_tags: Vec::new(),
            block_devices: Vec::new(),
            volumes: Vec::new(),
            at: g.tick(),
        };
        let source = format!(
            "10.1.{}.{}:{}",
            g.rng.gen_range(0..255),
            g.rng.gen_range(1..255),
            g.rng.gen_range(30_000..60_000)
        );
        let rid = g.request_id();
        g.run(
            Command::RunInstances(run),
            meta(&account, "ops", key.as_str(), "RunInstances", source.clone(), rid),
        )?;
        g.forget(&StreamId::reservation(&reservation));
        g.forget(&StreamId::client_token(&account, &token));
        summary.instances += u64::from(count);

        // The node reports the guests placed before this launch as up.
        for (id, owner) in std::mem::take(&mut pending) {
            let at = g.tick();
            let report = NodeReport {
                node: node.clone(),
                zone: zone.clone(),
                instance: id.clone(),
                attempt: Some(1),
                outcome: NodeOutcome::Running,
                at,
            };
            let m = report_meta(&mut g, "ReportInstanceRunning", &id);
            g.run(Command::from(report), m)?;
            running.push((id, owner));
        }
        pending.extend(ids.into_iter().map(|id| (id, account.clone())));

        // Guests asked to stop earlier are gone now.
        for id in std::mem::take(&mut shutting) {
            let at = g.tick();
            let report = NodeReport {
                node: node.clone(),
                zone: zone.clone(),
                instance: id.clone(),
                attempt: Some(1),
                outcome: NodeOutcome::Terminated,
                at,
            };
            let m = report_meta(&mut g, "ReportInstanceTerminated", &id);
            g.run(Command::from(report), m)?;
            g.forget(&StreamId::instance(&id));
            if summary.terminated.len() < 16 {
                summary.terminated.push(id);
            }
        }

        // Customers terminate their oldest instances beyond the live count.
        while running.len() > spec.live_instances {
            let (id, owner) = running.swap_remove(g.rng.gen_range(0..running.len()));
            let key =
                accounts.iter().find(|a| a.0 == owner).map(|a| a.2.clone()).expect("an account of ours");
            let terminate = InstanceIds { account: owner.clone(), instances: vec![id.clone()], at: g.tick() };
            if summary.refused.len() < 16 && accounts.len() > 1 {
                // Another customer tries first: to them it does not exist.
                let (other, _, other_key) =
                    accounts.iter().find(|a| a.0 != owner).cloned().expect("two accounts");
                let attempt =
                    InstanceIds { account: other.clone(), instances: vec![id.clone()], at: g.tick() };
                let rid = g.request_id();
                let m = meta(
                    &other,
                    "ops",
                    other_key.as_str(),
                    "TerminateInstances",
                    "10.2.0.7:40000".into(),
                    rid,
                );
                g.refuse(
                    Command::TerminateInstances(attempt),
                    m,
                    "InvalidInstanceID.NotFound",
                    vec![id.to_string()],
                )?;
                summary.refused.push(id.clone());
            }
            let rid = g.request_id();
            let src = format!("10.1.0.9:{}", g.rng.gen_range(30_000..60_000));
            g.run(
                Command::TerminateInstances(terminate),
                meta(&owner, "ops", key.as_str(), "TerminateInstances", src, rid),
            )?;
            shutting.push(id);
        }

        if g.batch.len() >= spec.batch {
            if let Some(previous) = in_flight.take() {
                previous.await.map_err(|e| ReplayError::Invalid(e.to_string()))??;
            }
            progress.at(g.events);
            let (log, batch) = (log_for_tasks.clone(), std::mem::take(&mut g.batch));
            in_flight = Some(tokio::spawn(async move { flush(&log, batch).await }));
        }
    }
    if let Some(previous) = in_flight.take() {
        previous.await.map_err(|e| ReplayError::Invalid(e.to_string()))??;
    }
    flush(log, std::mem::take(&mut g.batch)).await?;
    summary.running = running.iter().take(16).map(|(id, _)| id.clone()).collect();
    summary.events = g.events;
    summary.commands = g.commands;
    Ok(summary)
}
