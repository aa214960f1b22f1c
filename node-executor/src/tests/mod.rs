//! Test harness: a real event log in a temporary directory, a stand-in
//! controller that decides commands with the domain's own `decide` and
//! appends with expected versions (as the api does), and a reporter that
//! records every call and submits it to that controller.

mod attempts;
mod ebs_root;
mod lifecycle;
mod moved;
mod restart;
mod start_failure;

use crate::*;
use domain::command::{Command, InstanceIds, NodeOutcome, NodeReport, StopInstances};
use domain::drive::DriveError;
use domain::event::*;
use domain::*;
use eventlog::{AppendError, EventLog, ExpectedVersion, LogOptions, Metadata, NewEvent, StreamAppend};
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub(crate) const POLL: Duration = Duration::from_millis(10);

pub(crate) fn zone() -> ZoneName {
    ZoneName::parse("zone-1").unwrap()
}

/// The node under test.
pub(crate) fn here() -> NodeId {
    NodeId::from_bits(0x1)
}

/// Another node of the same zone.
pub(crate) fn elsewhere() -> NodeId {
    NodeId::from_bits(0x2)
}

fn account() -> AccountId {
    AccountId::from_bits(123_456_789_012)
}

fn meta(request: &str) -> Metadata {
    Metadata {
        account: account().to_string(),
        user: "admin".into(),
        access_key: String::new(),
        action: "Test".into(),
        source: "test".into(),
        request_id: request.into(),
        correlation_id: request.into(),
        causation_id: request.into(),
    }
}

fn new_event(event: &Event) -> NewEvent {
    NewEvent { event_type: event.type_name().into(), schema: event.schema(), payload: event.encode() }
}

/// A guest spec for a guest made by hand in a driver.
pub(crate) fn spec_of(instance: &InstanceId) -> GuestSpec {
    GuestSpec {
        instance: instance.clone(),
        reservation: ReservationId::from_bits(1),
        account: account(),
        vm_type: VmType::eucalyptus_defaults()[1].clone(),
        image: ImageId::with_kind(ImageKind::Machine, 1),
        kernel: None,
        ramdisk: None,
        user_data: Vec::new(),
        launch_index: 0,
        private_address: None,
        volumes: Vec::new(),
        root_volume: None,
    }
}

/// Writes events the way the controller does and decides commands with
/// the domain.
pub(crate) struct Controller {
    pub log: EventLog,
    next: AtomicU64,
}

impl Controller {
    /// A log holding one zone with two nodes (`here()` and `elsewhere()`).
    pub(crate) async fn open(dir: &Path) -> Arc<Controller> {
        let log = EventLog::open(&dir.join("events.redb"), LogOptions::default()).unwrap();
        let mut events: Vec<Event> = vec![
            ClusterRegistered { zone: zone(), policy: SchedulingPolicy::Greedy, at: Timestamp(1) }.into(),
        ];
        for node in [here(), elsewhere()] {
            events.push(
                NodeRegistered {
                    node,
                    zone: zone(),
                    host: "localhost".into(),
                    hypervisor: "sim".into(),
                    capacity: Resources { cpus: 10_000, memory_mib: 1 << 30, disk_gib: 1 << 30 },
                    at: Timestamp(1),
                }
                .into(),
            );
        }
        let append = StreamAppend {
            stream: StreamId::cluster(&zone()).as_str().into(),
            expected: ExpectedVersion::NoStream,
            events: events.iter().map(new_event).collect(),
        };
        log.append(meta("bootstrap"), vec![append]).await.unwrap();
        Arc::new(Controller { log, next: AtomicU64::new(1) })
    }

    /// Launches one instance on `node`: the events RunInstances decides.
    pub(crate) async fn launch(&self, node: &NodeId) -> InstanceId {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        self.launch_as(node, InstanceId::from_bits(0x1000 + u128::from(n)), None).await
    }

    /// Launches `id` on `node`, booting `kernel` and `ramdisk` if given.
    pub(crate) async fn launch_as(
        &self,
        node: &NodeId,
        id: InstanceId,
        kernel: Option<(ImageId, ImageId)>,
    ) -> InstanceId {
        self.launch_with(node, id, kernel, Vec::new()).await
    }

    /// Launches `id` as [`Controller::launch_as`] does, with `more` of the
    /// instance's events in the same append (its devices claimed…).
    pub(crate) async fn launch_with(
        &self,
        node: &NodeId,
        id: InstanceId,
        kernel: Option<(ImageId, ImageId)>,
        more: Vec<Event>,
    ) -> InstanceId {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let vm_type = VmType::eucalyptus_defaults()[1].clone();
        let at = Timestamp(1_700_000_000_000 + n as i64);
        let mut instance: Vec<Event> = vec![
            InstanceRequested {
                instance: id.clone(),
                reservation: ReservationId::from_bits(u128::from(n)),
                account: account(),
                image: ImageId::with_kind(ImageKind::Machine, 1),
                kernel: kernel.as_ref().map(|k| k.0.clone()),
                ramdisk: kernel.as_ref().map(|k| k.1.clone()),
                vm_type: vm_type.clone(),
                launch_index: 0,
                user_data: b"#!/bin/sh\necho hello\n".to_vec(),
                client_token: None,
                key_name: None,
                security_groups: Vec::new(),
                shutdown_behavior: ShutdownBehavior::Stop,
                disable_api_termination: false,
                at,
            }
            .into(),
            InstancePlaced { node: node.clone(), zone: zone(), at }.into(),
        ];
        instance.extend(more);
        let cluster: Event =
            CapacityReserved { node: node.clone(), instance: id.clone(), amount: Resources::of(&vm_type) }
                .into();
        let appends = vec![
            StreamAppend {
                stream: StreamId::instance(&id).as_str().into(),
                expected: ExpectedVersion::NoStream,
                events: instance.iter().map(new_event).collect(),
            },
            StreamAppend {
                stream: StreamId::cluster(&zone()).as_str().into(),
                expected: ExpectedVersion::Any,
                events: vec![new_event(&cluster)],
            },
        ];
        self.log.append(meta(&format!("run-{n}")), appends).await.unwrap();
        id
    }

    /// TerminateInstances, decided by the domain.
    pub(crate) async fn terminate(&self, id: &InstanceId) {
        let command = InstanceIds { account: account(), instances: vec![id.clone()], at: Timestamp(2) };
        self.execute(Command::TerminateInstances(command)).await.unwrap();
    }

    /// Stop, start or reboot, decided by the domain.
    pub(crate) async fn request(&self, id: &InstanceId, request: StateRequest) {
        let (account, instances, at) = (account(), vec![id.clone()], Timestamp(3));
        let command = match request {
            StateRequest::Stop { force } => {
                Command::StopInstances(StopInstances { account, instances, force, at })
            }
            StateRequest::Start => Command::StartInstances(InstanceIds { account, instances, at }),
            StateRequest::Reboot => Command::RebootInstances(InstanceIds { account, instances, at }),
        };
        self.execute(command).await.unwrap();
    }

    /// Decides with the domain's decide driver over the log's streams and
    /// appends with the versions read; a conflict is decided again.
    pub(crate) async fn execute(&self, command: Command) -> Result<(), DecideError> {
        loop {
            let mut streams = FromLog { controller: self, read: HashMap::new() };
            let driven = match drive(&command, &mut streams) {
                Ok(driven) => driven,
                Err(DriveError::Refused(refusal)) => return Err(refusal),
                Err(DriveError::Bug(bug)) => panic!("{bug}"),
                Err(DriveError::Load(never)) => match never {},
            };
            let appends: Vec<StreamAppend> = driven
                .appends(&streams)
                .into_iter()
                .map(|a| StreamAppend {
                    stream: a.stream.as_str().into(),
                    expected: ExpectedVersion::from_seen(a.expected),
                    events: a.events.into_iter().map(new_event).collect(),
                })
                .collect();
            if appends.is_empty() {
                return Ok(());
            }
            match self.log.append(meta(command.name()), appends).await {
                Ok(_) => return Ok(()),
                Err(AppendError::Conflict { .. }) => continue,
                Err(e) => panic!("append failed: {e}"),
            }
        }
    }

    fn load(&self, stream: &StreamId) -> Folded {
        let mut folded = Folded::default();
        for e in self.log.read_stream(stream.as_str(), 0).unwrap() {
            folded.state.evolve(&Event::decode(&e.event_type, e.schema, &e.payload).unwrap());
            folded.version = e.version;
        }
        folded
    }

    pub(crate) fn instance(&self, id: &InstanceId) -> Option<aggregates::Instance> {
        match self.load(&StreamId::instance(id)).state {
            Aggregate::Instance(i) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn state(&self, id: &InstanceId) -> Option<InstanceState> {
        self.instance(id).map(|i| i.state)
    }
}

/// The streams a decision reads, each folded from the log when first named.
struct FromLog<'c> {
    controller: &'c Controller,
    read: HashMap<StreamId, Folded>,
}

impl Streams for FromLog<'_> {
    type Error = std::convert::Infallible;

    fn load(&mut self, stream: &StreamId) -> Result<(), Self::Error> {
        if !self.read.contains_key(stream) {
            self.read.insert(stream.clone(), self.controller.load(stream));
        }
        Ok(())
    }

    fn folded(&self, stream: &StreamId) -> Option<&Folded> {
        self.read.get(stream)
    }

    fn folded_mut(&mut self, stream: &StreamId) -> Option<&mut Folded> {
        self.read.get_mut(stream)
    }
}

/// A user's request to stop, start or reboot an instance.
#[derive(Clone, Copy, Debug)]
pub(crate) enum StateRequest {
    Stop { force: bool },
    Start,
    Reboot,
}

/// One call the executor made to the reporter.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub report: NodeReport,
    pub result: Result<(), ReportError>,
    pub when: Instant,
    /// The guest's state in the driver when the report was made.
    pub guest: GuestState,
}

/// Records every report (and the guest's state in the driver at that
/// moment) and submits it to the stand-in controller.
pub(crate) struct Recorder {
    controller: Arc<Controller>,
    driver: Arc<dyn HypervisorDriver>,
    calls: Mutex<Vec<Call>>,
    /// Calls started and not yet recorded: the controller may already have
    /// stored a report that is not in `calls` yet.
    in_flight: AtomicUsize,
    /// The next this many calls fail as `Unavailable`.
    pub unavailable: AtomicUsize,
    /// Every call is refused.
    pub refuse: AtomicBool,
}

impl Recorder {
    pub(crate) fn new<D: HypervisorDriver>(controller: &Arc<Controller>, driver: &Arc<D>) -> Arc<Recorder> {
        Arc::new(Recorder {
            controller: controller.clone(),
            driver: driver.clone(),
            calls: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            unavailable: AtomicUsize::new(0),
            refuse: AtomicBool::new(false),
        })
    }

    /// The calls recorded so far (for polling).
    pub(crate) fn calls_now(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// The calls once none is half-way through (up to 10 s): what the log
    /// shows as reported is then in the list.
    pub(crate) async fn calls(&self) -> Vec<Call> {
        eventually("reports in flight to be recorded", || self.in_flight.load(Ordering::SeqCst) == 0).await;
        self.calls_now()
    }

    /// Outcomes of the calls about `id`, in order, with whether each was
    /// accepted. Checks on the way that a running report was made with the
    /// guest up and any other with the guest already destroyed.
    pub(crate) async fn outcomes(&self, id: &InstanceId) -> Vec<(NodeOutcome, bool)> {
        self.calls()
            .await
            .into_iter()
            .filter(|c| &c.report.instance == id)
            .map(|c| {
                let expected: &[GuestState] = match c.report.outcome {
                    NodeOutcome::Running => &[GuestState::Running],
                    NodeOutcome::PoweredOff => &[GuestState::ShutOff, GuestState::Crashed],
                    NodeOutcome::Terminated | NodeOutcome::Stopped | NodeOutcome::LaunchFailed(_) => {
                        &[GuestState::Absent]
                    }
                };
                assert!(
                    expected.contains(&c.guest),
                    "guest {:?} when {:?} was reported",
                    c.guest,
                    c.report.outcome
                );
                (c.report.outcome, c.result.is_ok())
            })
            .collect()
    }

    async fn submit(&self, report: NodeReport) -> Result<(), ReportError> {
        let fail = self.unavailable.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if fail.is_ok() {
            return Err(ReportError::Unavailable("connection refused".into()));
        }
        if self.refuse.load(Ordering::SeqCst) {
            return Err(ReportError::Refused("refused by the test".into()));
        }
        self.controller.execute(Command::from(report)).await.map_err(|e| ReportError::Refused(e.to_string()))
    }
}

impl Reporter for Recorder {
    fn report(
        &self,
        report: NodeReport,
    ) -> Pin<Box<dyn Future<Output = Result<(), ReportError>> + Send + '_>> {
        // Counted down even if the executor drops the call unfinished.
        let in_flight = InFlight::start(&self.in_flight);
        Box::pin(async move {
            let _in_flight = in_flight;
            let guest = self.driver.state(&report.instance).unwrap();
            let result = self.submit(report.clone()).await;
            let call = Call { report, result: result.clone(), when: Instant::now(), guest };
            self.calls.lock().unwrap().push(call);
            result
        })
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An executor running in the background.
pub(crate) struct Running {
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<Result<(), ExecutorError>>,
}

pub(crate) fn config(boot_timeout: Duration) -> ExecutorConfig {
    ExecutorConfig {
        node: here(),
        zone: zone(),
        boot_timeout,
        poll_interval: POLL,
        stop_timeout: Duration::from_secs(5),
    }
}

pub(crate) fn start(
    controller: &Controller,
    driver: &Arc<impl HypervisorDriver>,
    reporter: &Arc<Recorder>,
    config: ExecutorConfig,
) -> Running {
    start_with(controller, NodeExecutor::new(config, driver.clone(), reporter.clone()))
}

/// Runs `executor` over the controller's log.
pub(crate) fn start_with(controller: &Controller, executor: NodeExecutor) -> Running {
    let (shutdown, receiver) = watch::channel(false);
    let handle = tokio::spawn(executor.run(controller.log.clone(), receiver));
    Running { shutdown, handle }
}

impl Running {
    /// Asks the executor to stop and checks that it stops cleanly and soon.
    pub(crate) async fn stop(self) {
        self.shutdown.send(true).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
        ended.expect("the executor stops within 10 s").unwrap().unwrap();
    }
}

/// Waits up to 10 s for `check` to hold.
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits long enough for a wrong extra action (a retry, a second report)
/// to have happened: many poll intervals and report backoffs.
pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}
