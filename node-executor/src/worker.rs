//! One instance's convergence: a task that reads the instance's desired
//! state from a `watch` channel, drives the hypervisor towards it, reports
//! what happened, and exits once there is nothing left to do.
//!
//! It must not know the log or the other instances. Every step is
//! idempotent (a worker may be stopped at any await and the next one starts
//! over from the desired state), and a newer desired state interrupts any
//! wait, so a termination that arrives during boot is handled at once.

use crate::driver::{DriverError, GuestSpec, GuestState, HypervisorDriver};
use crate::fold::Desired;
use crate::report::{Backoff, ReportError, Reporter};
use crate::scrub::Scrub;
use crate::volumes::RootDisks;
use domain::command::{NodeOutcome, NodeReport};
use domain::{InstanceId, NodeId, Timestamp, ZoneName};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::time::Instant;

/// A desired state and its sequence number in the executor's fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub seq: u64,
    pub desired: Desired,
    /// The instance's launch attempt this desired state belongs to: the
    /// reports made while carrying it out name it.
    pub attempt: u32,
}

/// What every worker of an executor shares.
pub(crate) struct Context {
    pub node: NodeId,
    pub zone: ZoneName,
    pub boot_timeout: Duration,
    pub poll_interval: Duration,
    pub stop_timeout: Duration,
    pub driver: Arc<dyn HypervisorDriver>,
    pub reporter: Arc<dyn Reporter>,
    /// Takes the node's paths out of failures before they are reported.
    pub scrub: Scrub,
    /// The root disks of EBS-backed guests, once exported.
    pub root_disks: Option<Arc<RootDisks>>,
    /// The time reports carry (the wall clock, or the simulator's).
    pub clock: Clock,
}

/// Reads the time reports carry, in milliseconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The wall clock.
pub(crate) fn wall_clock() -> Clock {
    Arc::new(now)
}

/// How long an EBS-backed guest waits for its root volume to be made and
/// exported before its launch fails (past the domain's own deadline for
/// making a volume, which fails the launch first with its reason).
const ROOT_WAIT: Duration = Duration::from_secs(35 * 60);

/// How a worker ended.
#[derive(Debug)]
pub(crate) struct WorkerExit {
    pub instance: InstanceId,
    /// The `seq` of the target it fully carried out; `None` when it stopped
    /// for shutdown.
    pub rested: Option<u64>,
}

/// How a step ended.
enum Flow {
    /// The step is carried out.
    Done,
    /// A newer target arrived; the step was abandoned for it.
    Changed,
    Shutdown,
}

/// Why a pause ended.
enum Wake {
    Elapsed,
    Changed,
    Shutdown,
}

pub(crate) struct Worker {
    ctx: Arc<Context>,
    spec: Arc<GuestSpec>,
    target: watch::Receiver<Target>,
    shutdown: watch::Receiver<bool>,
    /// The attempt of the target being carried out.
    attempt: u32,
}

impl Worker {
    pub(crate) fn new(
        ctx: Arc<Context>,
        spec: Arc<GuestSpec>,
        target: watch::Receiver<Target>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let attempt = target.borrow().attempt;
        Worker { ctx, spec, target, shutdown, attempt }
    }

    pub(crate) async fn run(mut self) -> WorkerExit {
        loop {
            let target = *self.target.borrow_and_update();
            self.attempt = target.attempt;
            tracing::debug!(desired = %target.desired, attempt = target.attempt, "converging");
            let flow = match target.desired {
                Desired::Launch { restart } => self.launch(restart).await,
                Desired::Run => self.keep_running().await,
                Desired::Terminate => self.terminate().await,
                Desired::Stop { graceful } => self.stop(graceful, true).await,
                Desired::Stopped => self.stop(false, false).await,
                Desired::Absent => self.destroy().await,
            };
            let rested = match flow {
                Flow::Changed => continue,
                Flow::Shutdown => None,
                Flow::Done => match self.target.has_changed() {
                    Ok(true) => continue,
                    Ok(false) => Some(target.seq),
                    Err(_) => None,
                },
            };
            return WorkerExit { instance: self.spec.instance.clone(), rested };
        }
    }

    /// Pending: start the guest, wait for it to be up, report it running;
    /// on a failed start or a boot timeout, clear it away and report the
    /// failure (`restart`: a stopped instance started again keeps its disk).
    async fn launch(&mut self, restart: bool) -> Flow {
        let spec = match self.with_root_disk(restart).await {
            Ok(spec) => spec,
            Err(flow) => return flow,
        };
        if let Err(e) = self.call(move |d| d.start(&spec)).await {
            tracing::warn!(error = %e, restart, "the guest did not start");
            return self.fail_launch(e.to_string(), restart).await;
        }
        let timeout = self.ctx.boot_timeout;
        let deadline = Instant::now() + timeout;
        loop {
            let id = self.spec.instance.clone();
            match self.call(move |d| d.state(&id)).await {
                Ok(GuestState::Running) => {
                    tracing::info!("the guest is up");
                    return self.report(NodeOutcome::Running).await;
                }
                Ok(GuestState::Booting) => {}
                Ok(state) => {
                    tracing::warn!(%state, "the guest stopped while booting");
                    return self.fail_launch(format!("the guest is {state} while booting"), restart).await;
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the state of the booting guest"),
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(?timeout, "the guest did not boot in time");
                return self.fail_launch(format!("the guest did not boot within {timeout:?}"), restart).await;
            }
            match self.pause(self.ctx.poll_interval.min(deadline - now)).await {
                Wake::Elapsed => {}
                Wake::Changed => return Flow::Changed,
                Wake::Shutdown => return Flow::Shutdown,
            }
        }
    }

    /// The spec to start the guest from: an EBS-backed guest's with its
    /// root volume's disk first among its volumes, once the storage
    /// controller exports it (waiting up to [`ROOT_WAIT`], or until the
    /// target changes).
    async fn with_root_disk(&mut self, restart: bool) -> Result<Arc<GuestSpec>, Flow> {
        let Some(volume) = self.spec.root_volume.clone() else { return Ok(self.spec.clone()) };
        let Some(roots) = self.ctx.root_disks.clone() else {
            let why = format!("its root volume {volume} cannot be attached: this node has no block storage");
            return Err(self.fail_launch(why, restart).await);
        };
        let mut changes = roots.subscribe();
        let deadline = Instant::now() + ROOT_WAIT;
        loop {
            if let Some(disk) = roots.get(&self.spec.instance, &volume) {
                return Ok(self.spec_with_root(disk));
            }
            let now = Instant::now();
            if now >= deadline {
                let why = format!(
                    "its root volume {volume} was not attached within {} minutes",
                    ROOT_WAIT.as_secs() / 60
                );
                return Err(self.fail_launch(why, restart).await);
            }
            tracing::debug!(%volume, "waiting for the root volume");
            // Biased (here and below): of several ready at once, the same
            // one is taken every time, so that a seeded simulation replays.
            tokio::select! {
                biased;
                _ = self.shutdown.wait_for(|stop| *stop) => return Err(Flow::Shutdown),
                changed = self.target.changed() => {
                    return Err(if changed.is_ok() { Flow::Changed } else { Flow::Shutdown });
                }
                _ = changes.changed() => {}
                _ = tokio::time::sleep(deadline - now) => {}
            }
        }
    }

    fn spec_with_root(&self, disk: crate::driver::VolumeDisk) -> Arc<GuestSpec> {
        let mut spec = (*self.spec).clone();
        spec.volumes.retain(|v| v.volume != disk.volume);
        spec.volumes.insert(0, disk);
        Arc::new(spec)
    }

    /// A first launch that failed leaves nothing behind (guest and disk
    /// are destroyed); a stopped instance started again only loses its
    /// guest, and keeps its disk for the next start. The reason reported
    /// names none of the node's paths (the full error is in the node's log).
    async fn fail_launch(&mut self, reason: String, restart: bool) -> Flow {
        let cleared = if restart { self.stop(false, false).await } else { self.destroy().await };
        match cleared {
            Flow::Done => {
                let detail = self.ctx.scrub.detail(&reason);
                self.report(NodeOutcome::LaunchFailed(detail)).await
            }
            other => other,
        }
    }

    /// Running: the log already says so, so nothing is reported; a guest
    /// that vanished (the simulator after a restart) is started again.
    async fn keep_running(&mut self) -> Flow {
        let id = self.spec.instance.clone();
        match self.call(move |d| d.state(&id)).await {
            Ok(GuestState::Absent) => {
                let root = self.spec.root_volume.as_ref().map(|volume| {
                    self.ctx.root_disks.as_ref().and_then(|roots| roots.get(&self.spec.instance, volume))
                });
                let spec = match root {
                    None => self.spec.clone(),
                    Some(Some(disk)) => self.spec_with_root(disk),
                    Some(None) => {
                        tracing::warn!(
                            "the guest of a running instance is missing and its root volume is not exported yet"
                        );
                        return Flow::Done;
                    }
                };
                match self.call(move |d| d.start(&spec)).await {
                    Ok(()) => tracing::info!("the guest of a running instance was missing; started it again"),
                    Err(e) => {
                        tracing::warn!(error = %e, "the guest of a running instance is missing and does not start")
                    }
                }
            }
            Ok(GuestState::Booting | GuestState::Running) => {}
            Ok(state @ (GuestState::ShutOff | GuestState::Crashed)) => {
                // The guest went down on its own: the domain decides, from
                // the instance's shutdown behavior, whether it stops or ends.
                tracing::info!(%state, "the guest of a running instance is down");
                return self.report(NodeOutcome::PoweredOff).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the state of the guest of a running instance")
            }
        }
        Flow::Done
    }

    /// Shutting down: destroy the guest, then report it terminated.
    async fn terminate(&mut self) -> Flow {
        match self.destroy().await {
            Flow::Done => {
                tracing::info!("the guest is destroyed");
                self.report(NodeOutcome::Terminated).await
            }
            other => other,
        }
    }

    /// Stopping or stopped: stop the guest, keeping its disk; report it
    /// stopped when asked to. A graceful stop first asks the guest to shut
    /// down and gives it `stop_timeout` to power off.
    async fn stop(&mut self, graceful: bool, report: bool) -> Flow {
        if graceful {
            match self.shut_down().await {
                Flow::Done => {}
                other => return other,
            }
        }
        let mut backoff = Backoff::new();
        loop {
            let id = self.spec.instance.clone();
            match self.call(move |d| d.stop(&id)).await {
                Ok(()) if report => {
                    tracing::info!("the guest is stopped");
                    return self.report(NodeOutcome::Stopped).await;
                }
                Ok(()) => return Flow::Done,
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, ?delay, "cannot stop the guest; will retry");
                    match self.pause(delay).await {
                        Wake::Elapsed => {}
                        Wake::Changed => return Flow::Changed,
                        Wake::Shutdown => return Flow::Shutdown,
                    }
                }
            }
        }
    }

    /// Asks the guest to shut down (the ACPI power button) and waits until
    /// it is off or `stop_timeout` has passed; `Done` either way (what is
    /// still running is then stopped hard).
    async fn shut_down(&mut self) -> Flow {
        let id = self.spec.instance.clone();
        match self.call(move |d| d.shutdown(&id)).await {
            Ok(true) => {}
            Ok(false) => return Flow::Done,
            Err(e) => {
                tracing::warn!(error = %e, "cannot ask the guest to shut down; stopping it hard");
                return Flow::Done;
            }
        }
        let deadline = Instant::now() + self.ctx.stop_timeout;
        loop {
            let id = self.spec.instance.clone();
            match self.call(move |d| d.state(&id)).await {
                Ok(GuestState::Booting | GuestState::Running) => {}
                Ok(state) => {
                    tracing::info!(%state, "the guest shut down");
                    return Flow::Done;
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the state of the guest shutting down"),
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::info!(timeout = ?self.ctx.stop_timeout, "the guest did not shut down in time; stopping it hard");
                return Flow::Done;
            }
            match self.pause(self.ctx.poll_interval.max(Duration::from_millis(200)).min(deadline - now)).await
            {
                Wake::Elapsed => {}
                Wake::Changed => return Flow::Changed,
                Wake::Shutdown => return Flow::Shutdown,
            }
        }
    }

    /// Destroys the guest, retrying hypervisor errors with backoff.
    async fn destroy(&mut self) -> Flow {
        let mut backoff = Backoff::new();
        loop {
            let id = self.spec.instance.clone();
            match self.call(move |d| d.destroy(&id)).await {
                Ok(()) => return Flow::Done,
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, ?delay, "cannot destroy the guest; will retry");
                    match self.pause(delay).await {
                        Wake::Elapsed => {}
                        Wake::Changed => return Flow::Changed,
                        Wake::Shutdown => return Flow::Shutdown,
                    }
                }
            }
        }
    }

    /// Reports `outcome`, naming the attempt being carried out; a refusal
    /// is logged and dropped, an unavailable controller is retried with
    /// backoff until it answers or the target changes.
    /// Every try carries the time the outcome was seen, not the time of the
    /// try: usage is billed from these times.
    async fn report(&mut self, outcome: NodeOutcome) -> Flow {
        let mut backoff = Backoff::new();
        let seen = (self.ctx.clock)();
        loop {
            let report = NodeReport {
                node: self.ctx.node.clone(),
                zone: self.ctx.zone.clone(),
                instance: self.spec.instance.clone(),
                attempt: Some(self.attempt),
                outcome: outcome.clone(),
                at: seen,
            };
            let result = tokio::select! {
                biased;
                result = self.ctx.reporter.report(report) => result,
                _ = self.shutdown.wait_for(|stop| *stop) => return Flow::Shutdown,
            };
            match result {
                Ok(()) => {
                    tracing::info!(?outcome, "reported");
                    return Flow::Done;
                }
                Err(ReportError::Refused(why)) => {
                    tracing::info!(?outcome, %why, "the controller refused the report; not retrying");
                    return Flow::Done;
                }
                Err(ReportError::Unavailable(why)) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(?outcome, %why, ?delay, "cannot report; will retry");
                    match self.pause(delay).await {
                        Wake::Elapsed => {}
                        Wake::Changed => return Flow::Changed,
                        Wake::Shutdown => return Flow::Shutdown,
                    }
                }
            }
        }
    }

    /// Waits `delay`, or less if a newer target or shutdown arrives.
    async fn pause(&mut self, delay: Duration) -> Wake {
        tokio::select! {
            biased;
            _ = self.shutdown.wait_for(|stop| *stop) => Wake::Shutdown,
            changed = self.target.changed() => match changed {
                Ok(()) => Wake::Changed,
                // The executor is gone.
                Err(_) => Wake::Shutdown,
            },
            _ = tokio::time::sleep(delay) => Wake::Elapsed,
        }
    }

    /// Runs a blocking driver call on the blocking pool.
    async fn call<T, F>(&self, f: F) -> Result<T, DriverError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn HypervisorDriver) -> Result<T, DriverError> + Send + 'static,
    {
        driver_call(self.ctx.driver.clone(), f).await
    }
}

/// Runs a driver call: on the blocking pool when the driver blocks, else
/// right here (so that a simulated node runs on one thread, in order). A panic in the driver is a hypervisor error.
pub async fn driver_call<T, F>(driver: Arc<dyn HypervisorDriver>, f: F) -> Result<T, DriverError>
where
    T: Send + 'static,
    F: FnOnce(&dyn HypervisorDriver) -> Result<T, DriverError> + Send + 'static,
{
    if !driver.blocks() {
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&*driver)))
            .unwrap_or_else(|_| Err(DriverError::Hypervisor("the driver call panicked".into())));
    }
    tokio::task::spawn_blocking(move || f(&*driver))
        .await
        .unwrap_or_else(|e| Err(DriverError::Hypervisor(format!("the driver call did not finish: {e}"))))
}

/// The wall clock in milliseconds since the Unix epoch.
pub(crate) fn now() -> Timestamp {
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
}
