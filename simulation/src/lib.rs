//! Yukari's deterministic simulator (issue 13, part 1): the controller —
//! the real decide loop, event log, read models and EC2 endpoint — on a
//! simulated disk; two nodes — each the real node executor and volume loop
//! on a simulated hypervisor, placed on by round robin — and a storage
//! controller — its real loop and
//! reconciler on a simulated store — each on a simulated machine whose
//! clock moves only when the simulator lets it run (`machine.rs`); and
//! clients of several accounts, some with several requests in flight
//! (`concurrent.rs`). One seed drives it all: the same seed gives the
//! same requests, answers and log, so a failing seed replays exactly.
//!
//! Faults drawn from the seed: power cuts at any disk operation (the
//! controller restarts on what the disk kept, torn writes included),
//! failing writes and syncs, a full disk, the nodes and the storage
//! controller crashing wherever their tasks wait, cut off from the
//! controller (their reports wait), their reports arriving late and
//! reordered, the hypervisor failing starts and hot-plugs, the store
//! failing to make volumes. After every step the invariants in
//! `invariants.rs` are checked; the first one broken ends the run with a
//! [`Violation`].
//!
//! Not simulated here, and kept in the real-process tests: libvirt and
//! QEMU, tgt and iSCSI, files and chunks, HTTP and signatures (requests
//! enter after authentication, as the console's do), and the wire between
//! the hosts (their links hand views and reports over in memory).

mod concurrent;
mod controller;
mod history;
mod invariants;
mod links;
mod machine;
mod node;
mod reads;
mod storage;
mod workload;

use controller::Controller;
use domain::command::*;
use domain::*;
use eventlog::simdisk::{DiskStats, FaultRates, SimDisk};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub steps: u64,
    /// Customer accounts.
    pub accounts: usize,
    /// Inject faults (power cuts, failing writes and syncs, a full disk,
    /// partitions); without, a run checks the invariants of a healthy cloud.
    pub faults: bool,
    /// Now and then several requests in flight at once (`concurrent.rs`),
    /// their answers checked against the log's order (`history.rs`).
    /// Seeds found before there were concurrent steps run without.
    pub concurrent: bool,
}

impl Config {
    pub fn new(seed: u64, steps: u64) -> Config {
        Config { seed, steps, accounts: 3, faults: true, concurrent: true }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub steps: u64,
    pub requests: u64,
    pub acknowledged: u64,
    pub refused: u64,
    /// Requests that failed because of an injected fault (503, 500).
    pub failed: u64,
    pub node_reports: u64,
    /// Reports of the simulated storage controller.
    pub storage_reports: u64,
    /// Crashes of the node's process (executor and volume loop: their
    /// tasks dropped where they waited, their memory lost, the guests kept)
    /// and of the storage controller's (likewise, its store kept).
    pub node_crashes: u64,
    pub storage_crashes: u64,
    /// Stopped instances started on the other node, as the remote node
    /// saw them: placements elsewhere of instances it had (the feed tells
    /// the node they left), and histories read of instances placed on it
    /// after a life elsewhere.
    pub moves_away: u64,
    pub moves_here: u64,
    /// Volumes and snapshots the storage monitor found past their deadline.
    pub expired: u64,
    pub restarts: u64,
    /// Restarts after the log stopped on a failed sync.
    pub sync_failures: u64,
    pub partitions: u64,
    pub full_disks: u64,
    pub invariant_checks: u64,
    /// Steps with several requests in flight at once, and their requests.
    pub concurrent_steps: u64,
    pub concurrent_requests: u64,
    /// Group commits of more than one request's job in such steps.
    pub shared_commits: u64,
    /// Requests sent again while the first was in flight.
    pub retries_in_flight: u64,
    /// Histories of such steps (and of single reads) checked against the
    /// log's order.
    pub history_checks: u64,
    /// Reads answered again from read models folded from the log.
    pub reads_checked: u64,
    pub disk: DiskStats,
    /// Records in the log at the end.
    pub records: u64,
    /// SHA-256 of every record of the final log, in order: equal for
    /// equal seeds.
    pub digest: String,
}

impl Report {
    /// Adds `other`'s counts to these (several seeds' totals; the seed,
    /// records and digest stay this report's).
    pub fn add(&mut self, other: &Report) {
        let counts = [
            (&mut self.steps, other.steps),
            (&mut self.requests, other.requests),
            (&mut self.acknowledged, other.acknowledged),
            (&mut self.refused, other.refused),
            (&mut self.failed, other.failed),
            (&mut self.node_reports, other.node_reports),
            (&mut self.storage_reports, other.storage_reports),
            (&mut self.node_crashes, other.node_crashes),
            (&mut self.storage_crashes, other.storage_crashes),
            (&mut self.moves_away, other.moves_away),
            (&mut self.moves_here, other.moves_here),
            (&mut self.expired, other.expired),
            (&mut self.restarts, other.restarts),
            (&mut self.sync_failures, other.sync_failures),
            (&mut self.partitions, other.partitions),
            (&mut self.full_disks, other.full_disks),
            (&mut self.invariant_checks, other.invariant_checks),
            (&mut self.concurrent_steps, other.concurrent_steps),
            (&mut self.concurrent_requests, other.concurrent_requests),
            (&mut self.shared_commits, other.shared_commits),
            (&mut self.retries_in_flight, other.retries_in_flight),
            (&mut self.history_checks, other.history_checks),
            (&mut self.reads_checked, other.reads_checked),
            (&mut self.disk.failed_writes, other.disk.failed_writes),
            (&mut self.disk.failed_syncs, other.disk.failed_syncs),
            (&mut self.disk.power_cuts, other.disk.power_cuts),
        ];
        for (total, count) in counts {
            *total += count;
        }
    }
}

/// An invariant that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub seed: u64,
    pub step: u64,
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seed {} step {}: {}", self.seed, self.step, self.what)
    }
}

/// Runs one seed.
pub fn run(config: &Config) -> Result<Report, Violation> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Violation { seed: config.seed, step: 0, what: format!("no runtime: {e}") })?;
    runtime.block_on(simulate(config))
}

const START_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

struct Sim {
    config: Config,
    rng: StdRng,
    dir: tempfile::TempDir,
    controller: Option<Controller>,
    clock: i64,
    sim_clock: controller::SimClock,
    step: u64,
    report: Report,
    /// The zone's nodes (two: the scheduler places by round robin).
    nodes: Vec<node::Node>,
    storage: storage::StorageController,
    zone: ZoneName,
    /// Steps left in a partition between the node and the controller.
    partition: u64,
    /// Steps left with the disk full.
    full: u64,
    checks: invariants::Checks,
    /// Concurrent steps' histories and reads not checked yet
    /// (`history.rs`, `reads.rs`).
    histories: Vec<history::History>,
    shadow: reads::Shadow,
}

impl Sim {
    fn violation(&self, what: impl Into<String>) -> Violation {
        Violation { seed: self.config.seed, step: self.step, what: what.into() }
    }

    fn controller(&self) -> &Controller {
        self.controller.as_ref().expect("the controller runs between steps")
    }

    fn tick(&mut self) -> Timestamp {
        self.clock += self.rng.gen_range(1..2_000);
        self.sim_clock.set(self.clock);
        Timestamp(self.clock)
    }

    fn clock_now(&self) -> Timestamp {
        Timestamp(self.clock)
    }

    fn request_id(&mut self) -> String {
        format!("sim-{:016x}", self.rng.r#gen::<u64>())
    }

    /// Is a fault at work now, so that a 503 or 500 may be answered: the
    /// disk fails writes or syncs, is full, lost its power or is about to,
    /// or the log has not recovered from one of these yet.
    fn faulty(&self) -> bool {
        let Some(controller) = &self.controller else { return true };
        let disk = &controller.disk;
        disk.rates() != FaultRates::default()
            || self.full > 0
            || disk.power_cut()
            || disk.power_cut_planned()
            || controller.app.log.health() != eventlog::Health::Writable
    }

    /// Executes a command of the simulator's own (bootstrap, accounts, the
    /// node's reports).
    async fn execute(
        &mut self,
        command: Command,
        principal: Principal,
    ) -> Result<(), api::app::ExecuteError> {
        let request_id = self.request_id();
        let meta = controller::meta(principal, request_id);
        self.controller().app.execute(command, &meta).await.map(|_| ())
    }

    /// The controller restarts on the disk as a power cut left it.
    async fn restart(&mut self) -> Result<(), Violation> {
        let controller = self.controller.take().expect("a running controller");
        let disk = controller.disk.after_power_cut();
        // The machine comes back with a working disk; faults are drawn
        // again from the next step.
        disk.set_rates(FaultRates::default());
        controller.stop().await;
        self.report.restarts += 1;
        let seed = self.rng.r#gen();
        let started = Controller::start(disk, self.dir.path(), seed, &self.sim_clock, &self.zone);
        let controller = started.map_err(|e| self.violation(format!("after a power cut: {e}")))?;
        self.controller = Some(controller);
        let app = self.controller().app.clone();
        caught_up(&app).await.map_err(|e| self.violation(e))?;
        self.checks.after_restart(&app).map_err(|e| self.violation(e))?;
        Ok(())
    }
}

async fn simulate(config: &Config) -> Result<Report, Violation> {
    let dir =
        tempfile::tempdir().map_err(|e| Violation { seed: config.seed, step: 0, what: e.to_string() })?;
    let mut rng = StdRng::seed_from_u64(config.seed);
    // The master key the attachments' grants are sealed with, from the
    // seed (its own generator: the run's draws stay as they were).
    let mut key = [0u8; 32];
    StdRng::seed_from_u64(config.seed ^ 0x6d61_7374_6572).fill(&mut key);
    std::fs::write(dir.path().join("master.key"), key).map_err(|e| Violation {
        seed: config.seed,
        step: 0,
        what: format!("master key: {e}"),
    })?;
    let disk = SimDisk::new(rng.r#gen());
    let sim_clock = controller::SimClock::default();
    sim_clock.set(START_MS);
    let zone = ZoneName::parse("sim-1a").expect("a valid zone");
    let controller = Controller::start(disk, dir.path(), rng.r#gen(), &sim_clock, &zone)
        .map_err(|what| Violation { seed: config.seed, step: 0, what })?;
    let mut nodes = Vec::new();
    // The node in the controller's process, and one on another host.
    for remote in [false, true] {
        let node = node::Node::new(NodeId::from_bits(rng.r#gen()), zone.clone(), remote, sim_clock.clone())
            .map_err(|what| Violation { seed: config.seed, step: 0, what })?;
        nodes.push(node);
    }
    let storage = storage::StorageController::new(zone.clone(), config.seed ^ 0x0073_746f_7261_6765)
        .map_err(|what| Violation { seed: config.seed, step: 0, what })?;
    let mut sim = Sim {
        config: config.clone(),
        rng,
        dir,
        controller: Some(controller),
        clock: START_MS,
        sim_clock,
        step: 0,
        report: Report { seed: config.seed, ..Report::default() },
        nodes,
        storage,
        zone,
        partition: 0,
        full: 0,
        checks: invariants::Checks::default(),
        histories: Vec::new(),
        shadow: reads::Shadow::default(),
    };
    let mut clients = bootstrap(&mut sim).await?;
    let image = api::app::bootstrap::default_images().0.to_string();
    while sim.step < config.steps {
        sim.step += 1;
        let at = sim.tick();
        if sim.config.faults {
            inject(&mut sim);
        }
        let partitioned = sim.partition > 0;
        if !partitioned && sim.rng.gen_ratio(1, 3) {
            let host = match sim.rng.gen_range(0..8) {
                0 | 1 => Host::Storage,
                2 => Host::Monitor,
                _ => Host::Node,
            };
            host_step(&mut sim, at, host).await?;
        } else if sim.config.concurrent && sim.rng.gen_ratio(1, 5) {
            concurrent::step(&mut sim, &mut clients, &image).await?;
        } else {
            let request = workload::next(&mut sim.rng, &clients, &image, sim.zone.as_str());
            client_step(&mut sim, &mut clients, request).await?;
        }
        sim.partition = sim.partition.saturating_sub(1);
        if sim.full > 0 {
            sim.full -= 1;
            if sim.full == 0 {
                sim.controller().disk.set_capacity(u64::MAX);
            }
        }
        // A power cut, or a failed sync after which the log stores
        // nothing until restarted: the machine restarts (its page cache
        // gone, as the log's error asks).
        let sync_failed = matches!(sim.controller().app.log.health(), eventlog::Health::SyncFailed(_));
        if sim.controller().disk.power_cut() || sync_failed {
            sim.report.sync_failures += u64::from(sync_failed);
            sim.restart().await?;
        }
        let app = sim.controller().app.clone();
        caught_up(&app).await.map_err(|e| sim.violation(e))?;
        check_histories(&mut sim).await?;
        let cut_due = sim.controller().disk.power_cut_planned() || sim.controller().disk.power_cut();
        sim.checks.after_step(&app, sim.step, cut_due).map_err(|e| sim.violation(e))?;
        sim.report.invariant_checks += 1;
    }
    settle(&mut sim).await?;
    check_histories(&mut sim).await?;
    if !sim.histories.is_empty() {
        return Err(sim.violation("concurrent steps' histories could not be read after the faults stopped"));
    }
    let controller = sim.controller.take().expect("a running controller");
    sim.report.disk = controller.disk.stats();
    let (records, digest) = invariants::digest(&controller.app.log).map_err(|e| sim.violation(e))?;
    sim.report.records = records;
    sim.report.digest = digest;
    controller.stop().await;
    api::app::ids::set_simulated_clock(None);
    sim.report.steps = sim.step;
    sim.report.moves_away = sim.nodes.iter().map(|n| n.moves_away).sum();
    sim.report.moves_here = sim.nodes.iter().map(|n| n.moves_here).sum();
    Ok(sim.report)
}

/// Checks the concurrent steps' histories and the reads the log can be
/// read for now.
async fn check_histories(sim: &mut Sim) -> Result<(), Violation> {
    let app = sim.controller().app.clone();
    while let Some(history) = sim.histories.first() {
        let checked = match history::check(&app.log, history) {
            Ok(reads) => reads::check(&mut sim.shadow, &app, history, &reads).await.map(|()| reads.len()),
            Err(e) => Err(e),
        };
        match checked {
            Ok(reads) => {
                sim.histories.remove(0);
                sim.report.history_checks += 1;
                sim.report.reads_checked += reads as u64;
            }
            Err(history::Unchecked::Unreadable(_)) if sim.faulty() => return Ok(()),
            Err(history::Unchecked::Unreadable(e)) => {
                return Err(sim.violation(format!("history: the log cannot be read without a fault: {e}")));
            }
            Err(history::Unchecked::Violation(what)) => return Err(sim.violation(what)),
        }
    }
    Ok(())
}

/// Waits until the read models include the whole log (a refusal's record
/// is not waited for by its request).
async fn caught_up(app: &api::app::App) -> Result<(), String> {
    app.projections.wait_for(app.log.head()).await.map_err(|e| format!("the read models stopped: {e}"))
}

/// Draws this step's faults.
fn inject(sim: &mut Sim) {
    let disk = sim.controller().disk.clone();
    if !disk.power_cut() && sim.rng.gen_ratio(1, 150) {
        let operations = sim.rng.gen_range(0..400);
        disk.cut_power_after(operations);
    }
    let rates = if sim.rng.gen_ratio(1, 40) {
        FaultRates { write_fails: 20_000, sync_fails: 20_000 }
    } else {
        FaultRates::default()
    };
    disk.set_rates(rates);
    if sim.partition == 0 && sim.rng.gen_ratio(1, 100) {
        sim.partition = sim.rng.gen_range(5..60);
        sim.report.partitions += 1;
    }
    if sim.full == 0 && sim.rng.gen_ratio(1, 200) {
        sim.full = sim.rng.gen_range(3..30);
        sim.report.full_disks += 1;
        disk.set_capacity(disk.len());
    }
}

/// The cloud, its accounts and the simulator's view of them.
async fn bootstrap(sim: &mut Sim) -> Result<Vec<workload::Known>, Violation> {
    let at = sim.tick();
    let sealed = || SealedSecret { nonce: vec![7; 12], ciphertext: vec![9; 56] };
    let admin = AccountId::from_bits(sim.rng.gen_range(100_000_000_000..999_999_999_999));
    let command = Command::BootstrapCloud(BootstrapCloud {
        region: "sim".to_owned(),
        vm_types: VmType::eucalyptus_defaults(),
        cluster: AddCluster { zone: sim.zone.clone(), policy: SchedulingPolicy::RoundRobin, at },
        node: register(sim, 0, at),
        private_cidr: "10.111.0.0/24".to_owned(),
        public_addresses: (1..=6).map(|i| format!("198.51.100.{i}")).collect(),
        admin: CreateAccount {
            account: admin.clone(),
            name: "admin".to_owned(),
            default_group: SecurityGroupId::from_bits(sim.rng.r#gen()),
            access_key: Some(NewAccessKey {
                user: UserName::admin(),
                access_key: AccessKeyId::from_bits(sim.rng.r#gen()),
                secret: sealed(),
            }),
            at,
        },
        images: api::app::bootstrap::builtin_images(at),
        at,
    });
    let system = Principal::system("bootstrap");
    sim.execute(command, system).await.map_err(|e| sim.violation(format!("bootstrap: {e}")))?;
    for n in 1..sim.nodes.len() {
        let command = Command::RegisterNode(register(sim, n, sim.clock_now()));
        sim.execute(command, controller::admin(&admin))
            .await
            .map_err(|e| sim.violation(format!("node {n}: {e}")))?;
    }
    let storage = ConfigureStorage { zone: sim.zone.clone(), capacity_gib: 40, at: sim.tick() };
    sim.execute(Command::ConfigureStorage(storage), Principal::system("bootstrap"))
        .await
        .map_err(|e| sim.violation(format!("storage: {e}")))?;
    let mut clients = Vec::new();
    for n in 0..sim.config.accounts.max(2) {
        let account = AccountId::from_bits(sim.rng.gen_range(100_000_000_000..999_999_999_999));
        let create = CreateAccount {
            account: account.clone(),
            name: format!("customer-{n}"),
            default_group: SecurityGroupId::from_bits(sim.rng.r#gen()),
            access_key: None,
            at: sim.tick(),
        };
        let by = controller::admin(&admin);
        sim.execute(Command::CreateAccount(create), by)
            .await
            .map_err(|e| sim.violation(format!("account: {e}")))?;
        clients.push(workload::Known {
            account,
            instances: Vec::new(),
            allocations: Vec::new(),
            tokens: Vec::new(),
            volumes: Vec::new(),
            snapshots: Vec::new(),
        });
    }
    let app = sim.controller().app.clone();
    sim.checks.after_step(&app, 0, false).map_err(|e| sim.violation(e))?;
    Ok(clients)
}

/// The `n`th node's registration.
fn register(sim: &Sim, n: usize, at: Timestamp) -> RegisterNode {
    RegisterNode {
        node: sim.nodes[n].id.clone(),
        zone: sim.zone.clone(),
        host: format!("127.0.0.{}", n + 1),
        hypervisor: "sim".to_owned(),
        capacity: Resources { cpus: 8, memory_mib: 8192, disk_gib: 100 },
        key: None,
        at,
    }
}

/// The hosts that report to the controller, and the controller's own
/// storage monitor (which expires volumes and snapshots whose transitional
/// state outlived its deadline: `App::expire_storage`, as `yukari up` runs
/// it).
#[derive(Clone, Copy, Debug)]
enum Host {
    Node,
    Storage,
    Monitor,
}

/// One report of the node or of the storage controller, if one is due.
async fn host_step(sim: &mut Sim, at: Timestamp, host: Host) -> Result<(), Violation> {
    let app = sim.controller().app.clone();
    match host {
        Host::Node => node_step(sim, &app, at).await,
        Host::Storage => storage_step(sim, &app).await,
        Host::Monitor => match app.expire_storage(at).await {
            Ok(expired) => {
                sim.report.expired += expired as u64;
                sim.checks.acknowledged(&app).map_err(|e| sim.violation(e))
            }
            Err(_) if sim.faulty() => {
                sim.report.failed += 1;
                Ok(())
            }
            Err(e) => Err(sim.violation(format!("the storage monitor failed without a fault: {e}"))),
        },
    }
}

/// One step of a node: now and then its process crashes; it reads the
/// log's new records and the controller's view of its volumes, runs for a
/// while of its own time (its workers drive the simulated hypervisor), and
/// one of its reports waiting to go is delivered. Then no guest may be on
/// two hypervisors, nor on one the log does not place it on.
async fn node_step(sim: &mut Sim, app: &api::app::App, at: Timestamp) -> Result<(), Violation> {
    let n = sim.rng.gen_range(0..sim.nodes.len());
    if sim.rng.gen_ratio(1, 200) {
        sim.nodes[n].crash();
        sim.report.node_crashes += 1;
    }
    let followed = sim.nodes[n].follow(&app.log, &app.projections.read());
    match followed {
        Ok(()) => {}
        Err(_) if sim.faulty() => return Ok(()),
        Err(e) => return Err(sim.violation(format!("the node cannot read the log without a fault: {e}"))),
    }
    {
        let models = app.projections.read();
        sim.nodes[n].agrees_with(&models).map_err(|e| sim.violation(e))?;
        sim.nodes[n].hand_volumes(app.node_volumes_of(&models, &sim.nodes[n].id));
    }
    if sim.rng.gen_ratio(1, 60) {
        sim.nodes[n].fail_next(true);
    }
    if sim.rng.gen_ratio(1, 60) {
        sim.nodes[n].fail_next(false);
    }
    let time = std::time::Duration::from_millis(sim.rng.gen_range(0..3_000));
    sim.nodes[n].run_for(time).map_err(|e| sim.violation(e))?;
    node::guests_where_placed(&sim.nodes, &app.projections.read()).map_err(|e| sim.violation(e))?;
    let Some(outgoing) = sim.nodes[n].take_report(|waiting| sim.rng.gen_range(0..waiting)) else {
        return Ok(());
    };
    let (command, answer) = outgoing.command(&sim.nodes[n].id, at);
    match sim.execute(command, node::principal()).await {
        Ok(()) => {
            answer(node::Answer::Recorded);
            sim.report.node_reports += 1;
            let app = sim.controller().app.clone();
            sim.checks.acknowledged(&app).map_err(|e| sim.violation(e))?;
        }
        // A late report (the instance or volume moved on) is refused.
        Err(api::app::ExecuteError::Refused(why)) => answer(node::Answer::Refused(why.to_string())),
        Err(e) if sim.faulty() => {
            sim.report.failed += 1;
            answer(node::Answer::Unavailable(e.to_string()));
        }
        Err(e) => return Err(sim.violation(format!("a node report failed without a fault: {e}"))),
    }
    Ok(())
}

/// One step of the storage controller: a crash, its view applied, or one
/// of its reports delivered.
async fn storage_step(sim: &mut Sim, app: &api::app::App) -> Result<(), Violation> {
    {
        let models = app.projections.read();
        // Every volume the log holds as made is on the store.
        let zone = sim.storage.zone();
        let made = models.volumes.volumes.iter().filter(|(_, v)| &v.zone == zone).filter(|(_, v)| {
            matches!(v.state, domain::volumes::VolumeState::Available | domain::volumes::VolumeState::InUse)
        });
        if let Some((id, _)) = made.clone().find(|(id, _)| !sim.storage.holds(id.as_str())) {
            return Err(sim.violation(format!("{id} is made as the log says, but not on the store")));
        }
        sim.storage.hand_view(app.storage_view_of(&models, zone));
    }
    if sim.rng.gen_ratio(1, 200) {
        sim.storage.crash();
        sim.report.storage_crashes += 1;
    }
    let time = std::time::Duration::from_millis(sim.rng.gen_range(0..3_000));
    sim.storage.run_for(time).map_err(|e| sim.violation(e))?;
    let Some((done, answer)) = sim.storage.take_report(|waiting| sim.rng.gen_range(0..waiting)) else {
        return Ok(());
    };
    let zone = sim.storage.zone().clone();
    match app.record_storage(&zone, done).await {
        Ok(()) => {
            let _ = answer.send(Ok(()));
            sim.report.storage_reports += 1;
            sim.checks.acknowledged(app).map_err(|e| sim.violation(e))?;
        }
        Err(e) if sim.faulty() => {
            sim.report.failed += 1;
            let _ = answer.send(Err(anyhow::anyhow!("{e}")));
        }
        Err(e) => return Err(sim.violation(format!("a storage report failed without a fault: {e}"))),
    }
    Ok(())
}

/// One client request through the EC2 endpoint.
async fn client_step(
    sim: &mut Sim,
    clients: &mut [workload::Known],
    request: workload::Request,
) -> Result<(), Violation> {
    let request_id = sim.request_id();
    let head = sim.controller().app.log.head();
    let params = request_params(sim, &request)?;
    let account = clients[request.client].account.clone();
    let meta = controller::meta(controller::admin(&account), request_id.clone());
    let answer = api::ec2::invoke(&sim.controller().app, &params, meta).await;
    let xml = answer.as_ref().ok().cloned();
    let answer = answered(sim, clients, &request, answer)?;
    // A refusal (it appended at most its refusal) and a read (it shows the
    // log as it was) are checked against the log as the concurrent steps'
    // requests are, once the log can be read.
    let read = answer == Answer::Acknowledged && request.action().starts_with("Describe");
    if answer == Answer::Refused || read {
        let to = sim.controller().app.log.head();
        let flight = history::Flight {
            request_id,
            account,
            invoked: head,
            answered: to,
            invoked_seq: 1,
            answered_seq: 2,
            outcome: Some((answer, xml)),
        };
        let commits = vec![head];
        sim.histories.push(history::History { from: head, to, commits, flights: vec![(flight, request)] });
    }
    Ok(())
}

fn request_params(sim: &Sim, request: &workload::Request) -> Result<api::ec2::params::Params, Violation> {
    api::ec2::params::Params::from_request(request.params.clone())
        .map_err(|e| sim.violation(format!("the simulator built a bad request: {e:?}")))
}

/// How a request was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Acknowledged,
    /// Refused (an EC2 error other than the faults' 503 and 500).
    Refused,
    /// Failed on an injected fault: it may or may not have taken effect.
    Failed,
}

/// Checks an answer against what may be answered, counts it, and lets the
/// client learn from it.
fn answered(
    sim: &mut Sim,
    clients: &mut [workload::Known],
    request: &workload::Request,
    answer: Result<String, api::ec2::error::Ec2Error>,
) -> Result<Answer, Violation> {
    sim.report.requests += 1;
    if std::env::var_os("SIM_TRACE").is_some() {
        let outcome = answer.as_ref().map(|_| "ok".to_owned()).unwrap_or_else(|e| e.code.to_string());
        eprintln!(
            "step {} {:?}: {outcome} (log at {})",
            sim.step,
            request.params,
            sim.controller().app.log.head()
        );
    }
    match answer {
        Ok(xml) => {
            if request.foreign {
                return Err(sim.violation(format!(
                    "{} of another account's resource was answered: {xml}",
                    request.action()
                )));
            }
            sim.report.acknowledged += 1;
            learn(&mut clients[request.client], request, &xml).map_err(|e| sim.violation(e))?;
            let app = sim.controller().app.clone();
            sim.checks.acknowledged(&app).map_err(|e| sim.violation(e))?;
            Ok(Answer::Acknowledged)
        }
        Err(e) if matches!(e.code.as_str(), "ServiceUnavailable" | "InternalError") => {
            if !sim.faulty() {
                return Err(sim.violation(format!("{} failed without a fault: {e:?}", request.action())));
            }
            sim.report.failed += 1;
            Ok(Answer::Failed)
        }
        Err(e) => {
            sim.report.refused += 1;
            if request.foreign && !e.code.as_str().ends_with(".NotFound") {
                return Err(sim.violation(format!(
                    "{} of another account's resource was refused as {} ({}), not as one that does not exist",
                    request.action(),
                    e.code,
                    e.message
                )));
            }
            Ok(Answer::Refused)
        }
    }
}

/// What a client learns from an answer: the ids it will name next.
fn learn(known: &mut workload::Known, request: &workload::Request, xml: &str) -> Result<(), String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("an ill-formed answer ({e}): {xml}"))?;
    let texts = |tag: &str| -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name(tag))
            .filter_map(|n| n.text())
            .map(str::to_owned)
            .collect()
    };
    match request.action() {
        "RunInstances" => {
            for id in texts("instanceId") {
                if !known.instances.contains(&id) {
                    known.instances.push(id);
                }
            }
            if let Some((_, token)) = request.params.iter().find(|(k, _)| k == "ClientToken")
                && !known.tokens.contains(token)
            {
                known.tokens.push(token.clone());
            }
        }
        "AllocateAddress" => known.allocations.extend(texts("allocationId")),
        "CreateVolume" => known.volumes.extend(texts("volumeId")),
        "CreateSnapshot" => known.snapshots.extend(texts("snapshotId")),
        "DeleteVolume" | "DeleteSnapshot" => {
            let gone = request.params.get(1).map(|(_, v)| v.clone());
            known.volumes.retain(|v| Some(v) != gone.as_ref());
            known.snapshots.retain(|s| Some(s) != gone.as_ref());
        }
        "ReleaseAddress" => {
            let released = request.params.iter().find(|(k, _)| k == "AllocationId").map(|(_, v)| v.clone());
            known.allocations.retain(|a| Some(a) != released.as_ref());
        }
        _ => {}
    }
    Ok(())
}

/// Faults stop; the node and the storage controller run until nothing is
/// between states, and the hypervisor holds what the log says.
async fn settle(sim: &mut Sim) -> Result<(), Violation> {
    let disk = sim.controller().disk.clone();
    disk.set_rates(FaultRates::default());
    disk.set_capacity(u64::MAX);
    disk.cancel_power_cut();
    sim.partition = 0;
    sim.config.faults = false;
    let sync_failed = matches!(sim.controller().app.log.health(), eventlog::Health::SyncFailed(_));
    if disk.power_cut() || sync_failed {
        sim.restart().await?;
    }
    let mut restarted_unreadable = false;
    for _ in 0..100_000 {
        let app = sim.controller().app.clone();
        caught_up(&app).await.map_err(|e| sim.violation(e))?;
        let mut unreadable = None;
        for node in &mut sim.nodes {
            match node.follow(&app.log, &app.projections.read()) {
                Ok(()) => {}
                // The last fault left the file for redb to repair, and the
                // repair's own sync failed (it was drawn before the faults
                // stopped): the log reads nothing until it is opened again,
                // which an operator does by restarting the controller.
                Err(eventlog::ReadError::Unavailable(why)) => unreadable = Some(why),
                Err(e) => {
                    return Err(Violation {
                        seed: sim.config.seed,
                        step: sim.step,
                        what: format!("a node cannot read the log: {e}"),
                    });
                }
            }
        }
        if let Some(why) = unreadable {
            if restarted_unreadable {
                return Err(sim.violation(format!("the log cannot be read after a restart: {why}")));
            }
            restarted_unreadable = true;
            sim.restart().await?;
            continue;
        }
        let settled = {
            let models = app.projections.read();
            for node in &sim.nodes {
                node.agrees_with(&models).map_err(|e| sim.violation(e))?;
            }
            sim.nodes.iter().all(|node| node.settled(&app, &models))
                && storage::settled(&models, &sim.zone)
                && models.volumes.volumes.values().all(|v| {
                    domain::volumes::volume_deadline(v.state, v.attachment.as_ref().map(|a| a.state), v.since)
                        .is_none()
                })
        };
        if settled {
            // What the node's workers and volume loop still do about
            // changes no report waits for (a guest to destroy once its
            // instance is gone, a disk to unplug once its attachment is
            // gone), they do in a minute of the node's time, given the
            // last view of its volumes.
            for n in 0..sim.nodes.len() {
                let view = app.node_volumes_of(&app.projections.read(), &sim.nodes[n].id);
                sim.nodes[n].hand_volumes(view);
                sim.nodes[n].run_for(std::time::Duration::from_secs(60)).map_err(|e| sim.violation(e))?;
            }
            let models = app.projections.read();
            let agrees = sim.nodes.iter().try_for_each(|node| node.hypervisor_agrees(&models));
            if let Err(e) = agrees {
                if std::env::var_os("SIM_DUMP").is_some() {
                    invariants::digest(&app.log).map_err(|e| sim.violation(e))?;
                }
                return Err(sim.violation(format!("settled, but {e}")));
            }
            drop(models);
            return sim.checks.rebuild_equals_live(&app).map_err(|e| sim.violation(e));
        }
        let at = sim.tick();
        let host = match sim.rng.gen_range(0..5) {
            0 | 1 => Host::Storage,
            2 => Host::Monitor,
            _ => Host::Node,
        };
        host_step(sim, at, host).await?;
    }
    Err(sim
        .violation("instances, volumes or snapshots were still between states long after the faults stopped"))
}
