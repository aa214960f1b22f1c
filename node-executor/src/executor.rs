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
use crate::worker::{Context, Worker, WorkerExit};
use domain::{InstanceId, NodeId, ZoneName};
use eventlog::{EventLog, ReadError};
use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinError, JoinSet};
use tracing::Instrument;

/// How long in-flight work may take to notice shutdown before it is abandoned.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

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
}

/// Why the executor stopped other than by being told to.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("cannot read the event log: {0}")]
    Log(#[from] ReadError),
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
}

impl NodeExecutor {
    pub fn new(config: ExecutorConfig, driver: Arc<dyn HypervisorDriver>, reporter: Arc<dyn Reporter>) -> Self {
        NodeExecutor { config, driver, reporter }
    }

    /// Replays the log to learn the desired state of every instance placed
    /// on this node, reconciles the driver with it, then follows the log
    /// live until `shutdown` becomes true (or its sender is dropped).
    /// Guests are left as they are on shutdown.
    pub async fn run(self, log: EventLog, shutdown: watch::Receiver<bool>) -> Result<(), ExecutorError> {
        let span = tracing::info_span!("node_executor", node = %self.config.node, driver = self.driver.name());
        self.run_inner(log, shutdown).instrument(span).await
    }

    async fn run_inner(self, log: EventLog, shutdown: watch::Receiver<bool>) -> Result<(), ExecutorError> {
        let NodeExecutor { config, driver, reporter } = self;
        let ctx = Arc::new(Context {
            node: config.node.clone(),
            zone: config.zone,
            boot_timeout: config.boot_timeout,
            poll_interval: config.poll_interval,
            driver: driver.clone(),
            reporter,
        });
        let span = tracing::Span::current();
        let replay_log = log.clone();
        let (fold, last, work) = tokio::task::spawn_blocking(move || {
            span.in_scope(|| -> Result<_, ExecutorError> {
                let started = std::time::Instant::now();
                let (fold, last) = replay(&replay_log, config.node)?;
                let replayed = started.elapsed();
                let work = reconcile(&fold, &*driver).map_err(|source| ExecutorError::Reconcile {
                    driver: driver.name().to_owned(),
                    source,
                })?;
                tracing::info!(
                    position = last,
                    placed = fold.len(),
                    to_converge = work.len(),
                    ?replayed,
                    reconciled = ?started.elapsed() - replayed,
                    "replayed the log and reconciled the hypervisor"
                );
                Ok((fold, last, work))
            })
        })
        .await
        .map_err(|e| ExecutorError::Replay(e.to_string()))??;

        let mut live = Live { ctx, fold, workers: JoinSet::new(), tasks: HashMap::new(), shutdown };
        for id in &work {
            live.dispatch(id);
        }
        let result = live.follow(&log, last + 1).await;
        if result.is_err() {
            // Not a shutdown: workers would not notice one.
            live.workers.abort_all();
        }
        live.stop().await;
        tracing::info!("node executor stopped");
        result
    }
}

/// Folds the whole log; instances already terminated are dropped as the
/// replay goes. Returns the fold and the last position read.
fn replay(log: &EventLog, node: NodeId) -> Result<(Fold, u64), ReadError> {
    let mut fold = Fold::new(node);
    let last = log.scan(1, |envelope| {
        if let Some(id) = fold.apply_ref(&envelope)
            && fold.get(&id).and_then(|t| t.desired) == Some(Desired::Absent)
        {
            fold.forget(&id);
        }
        ControlFlow::Continue(())
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
            Ok(state) => tracing::warn!(instance = %id, %state, "the guest of a running instance is not running"),
            Err(e) => tracing::warn!(instance = %id, error = %e, "cannot read the state of a guest"),
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
    /// Follows the log from `from` until shutdown, reaping workers as they end.
    async fn follow(&mut self, log: &EventLog, from: u64) -> Result<(), ExecutorError> {
        let mut subscription = log.subscribe(from);
        let mut shutdown = self.shutdown.clone();
        let mut changed = Vec::new();
        loop {
            let batch = {
                let next = subscription.next_batch();
                tokio::pin!(next);
                loop {
                    tokio::select! {
                        biased;
                        _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                        batch = &mut next => break batch?,
                        Some(joined) = self.workers.join_next_with_id() => self.reap(joined),
                    }
                }
            };
            changed.extend(batch.iter().filter_map(|e| self.fold.apply_recorded(e)));
            for id in changed.drain(..) {
                self.dispatch(&id);
            }
        }
    }

    /// Hands the instance's current target to its worker, starting one if
    /// none runs. A target already handed over is not sent again.
    fn dispatch(&mut self, id: &InstanceId) {
        let Some(tracked) = self.fold.get_mut(id) else { return };
        let Some(target) = tracked.target() else { return };
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
        let Some(tracked) = self.fold.get_mut(&exit.instance) else { return };
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

