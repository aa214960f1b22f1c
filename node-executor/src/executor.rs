//! The node executor's main loop: replay the log to learn what this node
//! should run, reconcile the hypervisor with it, then follow the log and
//! hand each instance's new desired state to that instance's worker.
//!
//! It owns the workers' lifetimes (one task per instance with work to do,
//! none for instances at rest) and the startup reconciliation. It must not
//! know how a guest is driven (that is the worker's) nor how the log is
//! stored (it reads envelopes through `eventlog`'s scan and subscription).

use crate::driver::{DriverError, GuestState, HypervisorDriver};
use crate::fold::{Desired, Fold};
use crate::report::Reporter;
use crate::scrub::Scrub;
use crate::source::{LocalSource, RecordSource, SourceError};
use crate::volumes::RootDisks;
use crate::worker::{Clock, Context, Worker, WorkerExit, wall_clock};
use domain::{InstanceId, NodeId, ZoneName};
use eventlog::{EventLog, ReadError};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinSet};
use tracing::Instrument;

/// How long in-flight work may take to notice shutdown before it is abandoned.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How often the guests of running instances are looked at.
const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// Where this executor runs and how patient it is with booting guests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// The node whose placements this executor carries out.
    pub node: NodeId,
    /// The node's availability zone (reports name it).
    pub zone: ZoneName,
    /// A guest not up this long after its start is a failed launch.
    pub boot_timeout: Duration,
    /// How often a booting guest's state is read.
    pub poll_interval: Duration,
    /// How long a graceful stop waits for the guest to power off before
    /// stopping it hard.
    pub stop_timeout: Duration,
}

/// Why the executor stopped other than by being told to.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("cannot read the event log: {0}")]
    Log(#[from] ReadError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("cannot reconcile with the {driver} hypervisor: {source}")]
    Reconcile {
        driver: String,
        #[source]
        source: DriverError,
    },
    #[error("the replay task failed: {0}")]
    Replay(String),
}

/// Eucalyptus's node controller: carries out the placements of one node.
pub struct NodeExecutor {
    config: ExecutorConfig,
    driver: Arc<dyn HypervisorDriver>,
    reporter: Arc<dyn Reporter>,
    root_disks: Option<Arc<RootDisks>>,
    clock: Clock,
}

impl NodeExecutor {
    pub fn new(
        config: ExecutorConfig,
        driver: Arc<dyn HypervisorDriver>,
        reporter: Arc<dyn Reporter>,
    ) -> Self {
        NodeExecutor { config, driver, reporter, root_disks: None, clock: wall_clock() }
    }

    /// EBS-backed guests start once their root volume's disk is in `roots`
    /// (the node's volume loop fills it); without it they cannot start.
    pub fn with_root_disks(mut self, roots: Arc<RootDisks>) -> Self {
        self.root_disks = Some(roots);
        self
    }

    /// Reports carry the time `clock` reads when the outcome was seen (the
    /// wall clock unless told; the simulator's clock in a simulation).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Replays the log to learn the desired state of every instance placed
    /// on this node, reconciles the driver with it, then follows the log
    /// live until `shutdown` becomes true (or its sender is dropped).
    /// Guests are left as they are on shutdown.
    pub async fn run(self, log: EventLog, shutdown: watch::Receiver<bool>) -> Result<(), ExecutorError> {
        self.run_from(Box::new(LocalSource::new(log)), shutdown).await
    }

    /// As [`NodeExecutor::run`], reading records from `source` (e.g. the
    /// controller's node feed).
    pub async fn run_from(
        self,
        source: Box<dyn RecordSource>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), ExecutorError> {
        let span =
            tracing::info_span!("node_executor", node = %self.config.node, driver = self.driver.name());
        self.run_inner(source, shutdown).instrument(span).await
    }

    async fn run_inner(
        self,
        mut source: Box<dyn RecordSource>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(), ExecutorError> {
        let NodeExecutor { config, driver, reporter, root_disks, clock } = self;
        let ctx = Arc::new(Context {
            node: config.node.clone(),
            zone: config.zone,
            boot_timeout: config.boot_timeout,
            poll_interval: config.poll_interval,
            stop_timeout: config.stop_timeout,
            driver: driver.clone(),
            reporter,
            scrub: Scrub::new(driver.private_dirs()),
            root_disks,
            clock,
        });
        let span = tracing::Span::current();
        let blocks = source.blocks() || driver.blocks();
        let started = std::time::Instant::now();
        let node = config.node;
        let replayed = off_thread(blocks, move || {
            let (fold, last) = span.in_scope(|| replay(&mut *source, node))?;
            Ok((source, fold, last))
        });
        let (mut source, mut fold, last) = replayed.await?;
        // Before reconciling: an adopted instance's guest is not a stray.
        adopt_missing(&mut *source, &mut fold, last).await?;
        let replayed = started.elapsed();
        let span = tracing::Span::current();
        let reconciled = off_thread(blocks, move || {
            let work = span
                .in_scope(|| reconcile(&fold, &*driver))
                .map_err(|source| ExecutorError::Reconcile { driver: driver.name().to_owned(), source })?;
            Ok((fold, work))
        });
        let (fold, work) = reconciled.await?;
        tracing::info!(
            position = last,
            placed = fold.len(),
            to_converge = work.len(),
            ?replayed,
            reconciled = ?started.elapsed() - replayed,
            "replayed the log and reconciled the hypervisor"
        );

        let mut live = Live { ctx, fold, workers: JoinSet::new(), tasks: HashMap::new(), shutdown };
        for id in &work {
            live.dispatch(id);
        }
        let result = live.follow(source).await;
        if result.is_err() {
            // Not a shutdown: workers would not notice one.
            live.workers.abort_all();
        }
        live.stop().await;
        tracing::info!("node executor stopped");
        result
    }
}

/// Runs `work` on the blocking pool, unless nothing it uses `blocks` (a
/// simulated node: in line, so that it runs in one order).
async fn off_thread<T, F>(blocks: bool, work: F) -> Result<T, ExecutorError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ExecutorError> + Send + 'static,
{
    match blocks {
        true => tokio::task::spawn_blocking(work).await.map_err(|e| ExecutorError::Replay(e.to_string()))?,
        false => work(),
    }
}

/// Adopts the instances placed on this node after a life on another
/// (their streams read again up to `to`); returns those to act on.
async fn adopt_missing(
    source: &mut dyn RecordSource,
    fold: &mut Fold,
    to: u64,
) -> Result<Vec<InstanceId>, ExecutorError> {
    let mut adopted = Vec::new();
    for id in fold.take_missing() {
        let history = source.history(domain::StreamId::instance(&id).to_string(), to).await?;
        adopted.extend(fold.adopt(&id, &history)?);
    }
    Ok(adopted)
}

/// Folds the whole log; instances already terminated are dropped as the
/// replay goes. Returns the fold and the last position read.
fn replay(source: &mut dyn RecordSource, node: NodeId) -> Result<(Fold, u64), SourceError> {
    let mut fold = Fold::new(node);
    let last = source.replay(&mut |envelope| {
        if let Some(id) = fold.apply_ref(envelope)
            && fold.get(&id).and_then(|t| t.desired) == Some(Desired::Absent)
        {
            fold.forget(&id);
        }
        // Reboots asked for before this start are not done again.
        fold.take_reboots();
    })?;
    Ok((fold, last))
}

/// Compares the hypervisor with the fold: destroys guests this node should
/// not have, checks running ones, and returns the instances that need a
/// worker (pending, shutting down, or running without a guest).
fn reconcile(fold: &Fold, driver: &dyn HypervisorDriver) -> Result<Vec<InstanceId>, DriverError> {
    let guests: HashSet<InstanceId> = driver.list()?.into_iter().collect();
    let mut work = Vec::new();
    for (id, desired) in fold.placed() {
        if desired != Desired::Run || !guests.contains(id) {
            work.push(id.clone());
            continue;
        }
        match driver.state(id) {
            Ok(GuestState::Booting | GuestState::Running) => {}
            Ok(GuestState::Absent) => work.push(id.clone()),
            Ok(state) => {
                tracing::warn!(instance = %id, %state, "the guest of a running instance is not running")
            }
            Err(e) => {
                tracing::warn!(instance = %id, error = %e, "cannot read the state of a guest")
            }
        }
    }
    let mut destroyed = 0usize;
    for guest in guests.iter().filter(|g| !fold.owns_guest(g)) {
        tracing::info!(instance = %guest, "destroying a guest the log does not place on this node");
        match driver.destroy(guest) {
            Ok(()) => destroyed += 1,
            Err(e) => tracing::warn!(instance = %guest, error = %e, "cannot destroy a stray guest"),
        }
    }
    if destroyed > 0 {
        tracing::info!(destroyed, "destroyed stray guests");
    }
    // In the order of ids, not of the fold's hash map: workers start in the
    // same order every time (a seeded simulation replays).
    work.sort_unstable();
    Ok(work)
}

/// The executor once replayed: the fold and the running workers.
struct Live {
    ctx: Arc<Context>,
    fold: Fold,
    workers: JoinSet<WorkerExit>,
    /// Which instance each worker task serves (to name a panicked one).
    tasks: HashMap<tokio::task::Id, InstanceId>,
    shutdown: watch::Receiver<bool>,
}

impl Live {
    /// Follows the source after its replay until shutdown, reaping workers
    /// as they end.
    async fn follow(&mut self, mut source: Box<dyn RecordSource>) -> Result<(), ExecutorError> {
        let mut shutdown = self.shutdown.clone();
        let mut changed = Vec::new();
        let mut watch = tokio::time::interval(WATCH_INTERVAL);
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch = {
                let next = source.next_batch();
                tokio::pin!(next);
                loop {
                    let watch_now = tokio::select! {
                        biased;
                        _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                        batch = &mut next => break batch?,
                        Some(joined) = self.workers.join_next_with_id() => {
                            self.reap(joined);
                            false
                        }
                        _ = watch.tick() => true,
                    };
                    if watch_now {
                        self.watch_resting().await;
                    }
                }
            };
            let mut last = None;
            for envelope in batch.iter() {
                let envelope = envelope?;
                last = Some(envelope.position);
                if let Some(id) = self.fold.apply_ref(&envelope) {
                    changed.push(id);
                }
            }
            if let Some(last) = last {
                changed.extend(adopt_missing(&mut *source, &mut self.fold, last).await?);
            }
            for id in changed.drain(..) {
                self.dispatch(&id);
            }
            for id in self.fold.take_reboots() {
                self.reboot(id);
            }
        }
    }

    /// RebootInstances: restarts the guest; the instance stays running.
    fn reboot(&mut self, id: InstanceId) {
        let driver = self.ctx.driver.clone();
        let span = tracing::info_span!("instance", instance = %id, node = %self.ctx.node);
        tokio::spawn(
            async move {
                match crate::worker::driver_call(driver, move |d| d.reboot(&id)).await {
                    Ok(()) => tracing::info!("the guest rebooted"),
                    Err(e) => tracing::warn!(error = %e, "the guest did not reboot"),
                }
            }
            .instrument(span),
        );
    }

    /// Looks at the guests of running instances that have no worker: one
    /// that went down on its own or vanished gets a worker (which reports a
    /// guest that powered off, or starts a vanished one again).
    async fn watch_resting(&mut self) {
        let resting = self.fold.resting();
        if resting.is_empty() {
            return;
        }
        let driver = self.ctx.driver.clone();
        let check = move |d: &dyn HypervisorDriver| -> Result<Vec<InstanceId>, DriverError> {
            Ok(resting
                .into_iter()
                .filter(|id| {
                    matches!(d.state(id), Ok(GuestState::Absent | GuestState::ShutOff | GuestState::Crashed))
                })
                .collect())
        };
        let Ok(mut down) = crate::worker::driver_call(driver, check).await else { return };
        down.sort_unstable();
        for id in down {
            if let Some(tracked) = self.fold.get_mut(&id) {
                // Hand the same target over again: the worker checks the guest.
                tracked.sent = tracked.sent.wrapping_sub(1);
            }
            self.dispatch(&id);
        }
    }

    /// Hands the instance's current target to its worker, starting one if
    /// none runs. A target already handed over is not sent again.
    fn dispatch(&mut self, id: &InstanceId) {
        let Some(tracked) = self.fold.get_mut(id) else {
            return;
        };
        let Some(target) = tracked.target() else {
            return;
        };
        if tracked.sent == target.seq {
            return;
        }
        tracked.sent = target.seq;
        if let Some(sender) = &tracked.worker {
            sender.send_replace(target);
            return;
        }
        let (sender, receiver) = watch::channel(target);
        tracked.worker = Some(sender);
        let span = tracing::info_span!("instance", instance = %id, node = %self.ctx.node);
        let worker = Worker::new(self.ctx.clone(), tracked.spec.clone(), receiver, self.shutdown.clone());
        let handle = self.workers.spawn(worker.run().instrument(span));
        self.tasks.insert(handle.id(), id.clone());
    }

    /// A worker ended: forget the instance if it is gone for good, start a
    /// new worker if a newer target arrived while the old one finished.
    fn reap(&mut self, joined: Result<(tokio::task::Id, WorkerExit), JoinError>) {
        let exit = match joined {
            Ok((task, exit)) => {
                self.tasks.remove(&task);
                exit
            }
            Err(e) => {
                let instance = self.tasks.remove(&e.id());
                tracing::error!(instance = ?instance, error = %e, "an instance worker failed; it restarts at the instance's next change");
                if let Some(tracked) = instance.and_then(|id| self.fold.get_mut(&id)) {
                    tracked.worker = None;
                }
                return;
            }
        };
        let Some(tracked) = self.fold.get_mut(&exit.instance) else {
            return;
        };
        tracked.worker = None;
        // `None`: stopped for shutdown.
        let Some(seq) = exit.rested else { return };
        if seq != tracked.seq {
            // The target moved on while the worker was finishing.
            tracked.sent = 0;
            self.dispatch(&exit.instance);
        } else if tracked.desired == Some(Desired::Absent) {
            self.fold.forget(&exit.instance);
        }
    }

    /// Lets workers notice shutdown and finish their current driver call,
    /// then abandons whatever is left.
    async fn stop(&mut self) {
        let grace = tokio::time::sleep(SHUTDOWN_GRACE);
        tokio::pin!(grace);
        while !self.workers.is_empty() {
            tokio::select! {
                biased;
                _ = &mut grace => {
                    tracing::warn!(left = self.workers.len(), "abandoning instance workers at shutdown");
                    self.workers.abort_all();
                    break;
                }
                _ = self.workers.join_next() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ReportError;
    use crate::sim::SimDriver;
    use domain::command::NodeReport;
    use domain::event::{
        InstancePlaced, InstanceRequested, InstanceTerminated, InstanceTerminationRequested,
    };
    use domain::{AccountId, Event, ImageId, ImageKind, ReservationId, StateReason, Timestamp, VmType};
    use eventlog::{Metadata, RecordedEvent};
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    impl Reporter for Counting {
        fn report(
            &self,
            _: NodeReport,
        ) -> Pin<Box<dyn Future<Output = Result<(), ReportError>> + Send + '_>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        }
    }

    fn recorded(position: u64, id: &InstanceId, event: Event) -> RecordedEvent {
        RecordedEvent {
            position,
            stream: domain::StreamId::instance(id).to_string(),
            version: position,
            event_type: event.type_name().into(),
            schema: event.schema(),
            recorded_at: 0,
            metadata: Metadata::default(),
            payload: event.encode(),
        }
    }

    /// A `Live` following one instance placed on its node, not yet dispatched.
    fn live_with_one(sim: &Arc<SimDriver>) -> (Live, InstanceId, Arc<Counting>, watch::Sender<bool>) {
        let node = NodeId::from_bits(1);
        let id = InstanceId::from_bits(7);
        let mut fold = Fold::new(node.clone());
        let requested = InstanceRequested {
            instance: id.clone(),
            reservation: ReservationId::from_bits(1),
            account: AccountId::from_bits(1),
            image: ImageId::with_kind(ImageKind::Machine, 1),
            kernel: None,
            ramdisk: None,
            vm_type: VmType::eucalyptus_defaults()[0].clone(),
            launch_index: 0,
            user_data: Vec::new(),
            client_token: None,
            key_name: None,
            security_groups: Vec::new(),
            shutdown_behavior: domain::ShutdownBehavior::Stop,
            disable_api_termination: false,
            at: Timestamp(1),
        };
        assert_eq!(fold.apply_ref(&recorded(1, &id, requested.into()).as_envelope()), None);
        let placed =
            InstancePlaced { node: node.clone(), zone: ZoneName::parse("z").unwrap(), at: Timestamp(1) };
        assert_eq!(fold.apply_ref(&recorded(2, &id, placed.into()).as_envelope()), Some(id.clone()));
        let reporter = Arc::new(Counting(AtomicUsize::new(0)));
        let ctx = Arc::new(Context {
            node,
            zone: ZoneName::parse("z").unwrap(),
            boot_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(10),
            stop_timeout: Duration::from_secs(1),
            driver: sim.clone(),
            reporter: reporter.clone(),
            scrub: Scrub::default(),
            root_disks: None,
            clock: wall_clock(),
        });
        let (stop, shutdown) = watch::channel(false);
        let live = Live { ctx, fold, workers: JoinSet::new(), tasks: HashMap::new(), shutdown };
        (live, id, reporter, stop)
    }

    async fn exited(
        instance: &InstanceId,
        rested: Option<u64>,
    ) -> Result<(tokio::task::Id, WorkerExit), JoinError> {
        let mut set = JoinSet::new();
        let instance = instance.clone();
        set.spawn(async move { WorkerExit { instance, rested } });
        set.join_next_with_id().await.unwrap()
    }

    #[tokio::test]
    async fn a_target_sent_while_the_worker_was_finishing_gets_a_new_worker() {
        let sim = Arc::new(SimDriver::new(Duration::ZERO));
        let (mut live, id, reporter, _stop) = live_with_one(&sim);
        // A worker took target 1 (launch) and is finishing, unseen by us.
        let tracked = live.fold.get_mut(&id).unwrap();
        let (sender, _receiver) = watch::channel(tracked.target().unwrap());
        tracked.worker = Some(sender);
        tracked.sent = 1;
        sim.start(&tracked.spec).unwrap();
        // Meanwhile the termination request arrives and goes to its channel.
        let terminate = recorded(3, &id, InstanceTerminationRequested { at: Timestamp(2) }.into());
        assert_eq!(live.fold.apply_ref(&terminate.as_envelope()), Some(id.clone()));
        live.dispatch(&id);
        assert!(live.workers.is_empty());

        live.reap(exited(&id, Some(1)).await);

        assert!(live.fold.get(&id).unwrap().worker.is_some(), "no worker for the newer target");
        let (_, exit) = live.workers.join_next_with_id().await.unwrap().unwrap();
        assert_eq!(exit.rested, Some(2));
        assert!(sim.is_empty(), "the new worker destroys the guest");
        assert_eq!(reporter.0.load(Ordering::SeqCst), 1, "and reports it terminated");
    }

    #[tokio::test]
    async fn a_worker_at_rest_is_retired_and_a_gone_instance_forgotten() {
        let sim = Arc::new(SimDriver::new(Duration::ZERO));
        let (mut live, id, _reporter, _stop) = live_with_one(&sim);
        live.dispatch(&id);
        assert_eq!(live.workers.len(), 1);
        let joined = live.workers.join_next_with_id().await.unwrap();
        live.reap(joined);
        assert!(live.fold.get(&id).unwrap().worker.is_none());
        assert!(live.workers.is_empty());
        assert!(live.tasks.is_empty());

        let ended = InstanceTerminated { reason: StateReason::user_terminated(), at: Timestamp(3) };
        assert_eq!(live.fold.apply_ref(&recorded(4, &id, ended.into()).as_envelope()), Some(id.clone()));
        live.dispatch(&id);
        let joined = live.workers.join_next_with_id().await.unwrap();
        live.reap(joined);
        assert!(live.fold.get(&id).is_none(), "a terminated instance is no longer followed");
        assert!(sim.is_empty());
    }
}
