//! A simulated node (the simulator runs two): the real node executor (`node_executor`: its
//! replay and reconciliation, its follow loop and one worker per instance)
//! and the real volume loop (`controller_link::volume_sync`), driving the
//! simulated hypervisor (`SimDriver`), on a runtime of their own whose
//! clock is paused: time moves only when the simulator lets the node run
//! for a while, from one timer to the next, and every task runs on one
//! thread in one order, so a seed decides everything they do.
//!
//! What the node reads is what the simulator has read from the log for it,
//! up to where the controller's read models have folded: every record, as
//! the node in the controller's process reads them, or (a node on another
//! host, `remote`) only those the node feed gives it
//! (`api::nodes::feed::concerns`: its instances' records and the placements
//! elsewhere of those it had), with the earlier records of an instance
//! started on it after a life elsewhere read as `GET /node/history` gives
//! them;
//! what it reports waits in an outbox until the simulator delivers one,
//! late and in an order drawn from the seed, and none while the node is
//! cut off from the controller. The reporting worker waits for the answer
//! as it waits for an HTTP one. Now and then the node's process crashes:
//! its tasks are dropped wherever they were waiting, its memory (the
//! records read, the root disks handed over) is lost, and a new executor
//! replays from the log while the hypervisor's guests stay.
//!
//! Beside it the node's own fold of the log (`node_executor::view`, the
//! fold its executor keeps) is checked after every step against the
//! controller's read models. The hypervisor is simulated (libvirt and QEMU
//! are the real-process tests').

use crate::links::{self, Views};
use crate::machine::Machine;
use api::app::volumes::{NodeDone, NodeVolumes};
use controller_link::volume_sync::{BoxFuture, NodeVolumesLink, run_node_volumes};
use domain::command::NodeReport;
use domain::volumes::AttachmentState;
use domain::{Command, InstanceId, InstanceState, NodeId, Principal, Timestamp, VolumeId, ZoneName};
use eventlog::{EnvelopeRef, EventLog, decode_record};
use node_executor::view::{NodeView, Placed, Step};
use node_executor::{
    ExecutorConfig, ExecutorError, NodeExecutor, RecordSource, Records, ReportError, Reporter, RootDisks,
    SimDriver, SourceError,
};
use projections::ReadModels;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How long a simulated guest takes to boot (in the node's time).
const BOOT: Duration = Duration::from_millis(1_500);

/// A report on its way to the controller, and where its answer goes.
pub enum Outgoing {
    Guest(NodeReport, oneshot::Sender<Result<(), ReportError>>),
    Volume(NodeDone, oneshot::Sender<anyhow::Result<()>>),
}

/// How a delivered report was answered.
pub enum Answer {
    Recorded,
    Refused(String),
    /// The controller failed (an injected fault): the node tries again.
    Unavailable(String),
}

type Outbox = links::Outbox<Outgoing>;

/// The log's records a node's process has read, `(position, bytes)`.
type Read = Arc<Mutex<Vec<(u64, Arc<[u8]>)>>>;

/// Records of streams, by stream, as `GET /node/history` answers them.
type Histories = Arc<Mutex<std::collections::HashMap<String, Vec<(u64, Arc<[u8]>)>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The node's process: its executor's and volume loop's tasks.
struct Process {
    /// Held while the process runs: dropping it would tell the tasks to
    /// stop.
    _stop: watch::Sender<bool>,
    executor: JoinHandle<Result<(), ExecutorError>>,
    volumes: JoinHandle<()>,
    /// What the process has read of the log, and the head it has read to.
    read: Read,
    head: watch::Sender<u64>,
    /// The next position to read from the log.
    next: u64,
    /// A remote node's answers of `GET /node/history`, by stream: the
    /// records of the instances placed on it after a life elsewhere.
    histories: Histories,
    /// The node's view of its volumes, as the controller last gave it.
    views: Views<NodeVolumes>,
}

/// The simulated node executor.
pub struct Node {
    pub id: NodeId,
    zone: ZoneName,
    /// On another host: it reads the node feed's records only.
    remote: bool,
    /// As a remote node: placements elsewhere of instances it had, and
    /// histories of instances placed on it after a life elsewhere, read.
    pub moves_away: u64,
    pub moves_here: u64,
    /// The node's own fold, checked against the read models.
    fold: NodeView,
    driver: Arc<SimDriver>,
    machine: Machine,
    process: Option<Process>,
    outbox: Outbox,
    clock: crate::controller::SimClock,
}

impl Node {
    pub fn new(
        id: NodeId,
        zone: ZoneName,
        remote: bool,
        clock: crate::controller::SimClock,
    ) -> Result<Node, String> {
        let mut node = Node {
            fold: NodeView::new(id.clone()),
            id,
            zone,
            remote,
            moves_away: 0,
            moves_here: 0,
            driver: Arc::new(SimDriver::new(BOOT)),
            machine: Machine::new()?,
            process: None,
            outbox: Outbox::default(),
            clock,
        };
        node.start();
        Ok(node)
    }

    /// Starts the node's process: an executor replaying what it reads
    /// from the log, and the volume loop.
    fn start(&mut self) {
        let (stop, stopped) = watch::channel(false);
        let read = Arc::new(Mutex::new(Vec::new()));
        let (head, heads) = watch::channel(0);
        let (views, handed) = Views::new();
        let roots = Arc::new(RootDisks::default());
        let config = ExecutorConfig {
            node: self.id.clone(),
            zone: self.zone.clone(),
            boot_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(500),
            stop_timeout: Duration::from_secs(5),
        };
        let clock = self.clock.clone();
        let executor = NodeExecutor::new(config, self.driver.clone(), Arc::new(Mail(self.outbox.clone())))
            .with_root_disks(roots.clone())
            .with_clock(Arc::new(move || Timestamp(clock.now_ms())));
        let histories = Histories::default();
        let source = Feed { read: read.clone(), histories: histories.clone(), heads, next: 0 };
        let executor = self.machine.spawn(executor.run_from(Box::new(source), stopped.clone()));
        let link = Arc::new(Link { views: handed, outbox: self.outbox.clone() });
        let volumes = self.machine.spawn(run_node_volumes(link, self.driver.clone(), roots, stopped));
        self.process =
            Some(Process { _stop: stop, executor, volumes, read, head, next: 1, histories, views });
    }

    /// The node's process crashed: its tasks are dropped where they
    /// waited, its memory is lost, and it starts again (the guests stay;
    /// reports already sent may still arrive).
    pub fn crash(&mut self) {
        if let Some(process) = self.process.take() {
            process.executor.abort();
            process.volumes.abort();
        }
        self.fold = NodeView::new(self.id.clone());
        self.start();
    }

    /// Reads the log's records the node has not seen yet, up to where the
    /// read models `models` have folded (they place instances), for its
    /// process and its fold: all of them, or a remote node's only.
    pub fn follow(&mut self, log: &EventLog, models: &ReadModels) -> Result<(), eventlog::ReadError> {
        let Some(process) = &mut self.process else { return Ok(()) };
        let head = log.head().min(models.position);
        let mut read = lock(&process.read);
        let mut from = process.next;
        let mut moved_here = Vec::new();
        while from <= head {
            let records = log.raw_records(from, 1024)?;
            if records.is_empty() {
                break;
            }
            for (position, bytes) in records.into_iter().filter(|(p, _)| *p <= head) {
                let envelope = decode_record(position, &bytes)?;
                from = position + 1;
                if self.remote {
                    if !api::nodes::feed::concerns(models, &self.id, &envelope) {
                        continue;
                    }
                    let id = domain::ParsedStream::instance(envelope.stream);
                    let row = id.and_then(|id| models.instances.get(id.as_str()));
                    if row.is_some_and(|row| row.node.as_ref() != Some(&self.id)) {
                        self.moves_away += 1;
                    }
                    if envelope.event_type == "InstancePlaced"
                        && row.is_some_and(|row| {
                            row.node.as_ref() == Some(&self.id) && !row.moved_from.is_empty()
                        })
                    {
                        moved_here.push(envelope.stream.to_owned());
                    }
                }
                if self.fold.position() < position {
                    self.fold.apply(&envelope);
                }
                read.push((position, bytes));
            }
        }
        process.next = from;
        // What `GET /node/history` would answer for the instances placed
        // here after a life elsewhere (the executor asks for it once it
        // meets the placement).
        let mut histories = lock(&process.histories);
        for stream in moved_here {
            let records = log.raw_stream_records(std::slice::from_ref(&stream), 1, from - 1, usize::MAX)?;
            histories.insert(stream, records);
            self.moves_here += 1;
        }
        for id in self.fold.take_missing() {
            let stream = domain::StreamId::instance(&id);
            let records = if self.remote {
                histories.get(stream.as_str()).map(Vec::as_slice).unwrap_or_default()
            } else {
                read.as_slice()
            };
            self.fold.adopt(&id, &history(records, stream.as_str(), from - 1))?;
        }
        drop((read, histories));
        process.head.send_replace(from - 1);
        Ok(())
    }

    /// The controller's view of the node's volumes, as its volume loop
    /// asks for it.
    pub fn hand_volumes(&self, view: NodeVolumes) {
        if let Some(process) = &self.process {
            process.views.hand(view);
        }
    }

    /// The hypervisor fails the next guest's start, or the next hot-plug.
    pub fn fail_next(&self, start: bool) {
        match start {
            true => self.driver.fail_next_start("the simulated hypervisor refused the guest"),
            false => self.driver.fail_next_attach("the simulated hypervisor could not plug the disk in"),
        }
    }

    /// Lets the node's process run for `time` of the node's clock; an
    /// error if it stopped (it never should).
    pub fn run_for(&mut self, time: Duration) -> Result<(), String> {
        self.machine.run_for(time)?;
        let Some(process) = &mut self.process else { return Ok(()) };
        if process.volumes.is_finished() {
            return Err("the node's volume loop stopped".to_owned());
        }
        if process.executor.is_finished() {
            let result = self.machine.block_on(&mut process.executor)?;
            return Err(format!("the node's executor stopped: {result:?}"));
        }
        Ok(())
    }

    /// The next report on its way, drawn from the outbox by `pick` (of
    /// the number waiting), if any.
    pub fn take_report(&self, pick: impl FnOnce(usize) -> usize) -> Option<Outgoing> {
        self.outbox.take(pick)
    }

    /// Its fold, caught up to `models`' position, agrees with the read
    /// models on every instance placed on it.
    pub fn agrees_with(&self, models: &ReadModels) -> Result<(), String> {
        if self.fold.position() != models.position {
            return Ok(());
        }
        let mut expected: Vec<(InstanceId, &'static str)> = models
            .instances
            .rows
            .values()
            .filter(|row| row.node.as_ref() == Some(&self.id))
            .filter_map(|row| Some((row.id.clone(), coarse_state(row.state)?)))
            .collect();
        expected.sort();
        let seen: Vec<(InstanceId, &'static str)> =
            self.fold.placed().into_iter().map(|(id, placed)| (id, coarse_placed(placed))).collect();
        if seen != expected {
            return Err(format!(
                "at {} the node executor's fold has {seen:?}, the read models {expected:?}",
                models.position
            ));
        }
        Ok(())
    }

    /// Once settled: the simulated hypervisor holds what the log says,
    /// a guest for each running instance of the node, with exactly the
    /// volumes attached to it, no guest for a stopped one, neither guest
    /// nor disk for a terminated one, and nothing the log does not place
    /// here.
    pub fn hypervisor_agrees(&self, models: &ReadModels) -> Result<(), String> {
        use node_executor::HypervisorDriver;
        let mut guests: std::collections::BTreeSet<InstanceId> =
            self.driver.list().map_err(|e| e.to_string())?.into_iter().collect();
        for row in models.instances.rows.values().filter(|row| row.node.as_ref() == Some(&self.id)) {
            let (id, guest, disk) = (&row.id, guests.remove(&row.id), self.driver.has_disk(&row.id));
            let wrong = match row.state {
                InstanceState::Running => !guest,
                InstanceState::Stopped => guest,
                InstanceState::Terminated => guest || disk,
                state => return Err(format!("{id} is still {state:?} once settled")),
            };
            if wrong {
                return Err(format!(
                    "{id} is {:?}, yet its guest is there: {guest}, its disk: {disk}",
                    row.state
                ));
            }
            if row.state != InstanceState::Running {
                continue;
            }
            let attached: Vec<String> = models
                .volumes
                .volumes
                .iter()
                .filter(|(_, v)| {
                    v.attachment
                        .as_ref()
                        .is_some_and(|a| &a.instance == id && a.state == AttachmentState::Attached)
                })
                .map(|(volume, _)| volume.to_string())
                .collect();
            let plugged = self.driver.volumes(id).map_err(|e| e.to_string())?;
            if plugged != attached {
                let rows: Vec<_> = plugged
                    .iter()
                    .filter_map(|v| VolumeId::parse(v).ok())
                    .map(|v| (models.volumes.volumes.get(&v).map(|r| (r.state, r.attachment.clone())), v))
                    .collect();
                return Err(format!(
                    "{id} has {plugged:?} plugged in, the log {attached:?} attached (the log's volumes plugged in: {rows:?})"
                ));
            }
        }
        if let Some(stray) = guests.first() {
            return Err(format!("the hypervisor runs {stray}, which the log does not place on the node"));
        }
        Ok(())
    }

    /// Are any guests or volumes of the node still between two states?
    pub fn settled(&self, app: &api::app::App, models: &ReadModels) -> bool {
        self.fold.due().is_empty() && plugs_due(app, models, &self.id).is_empty()
    }
}

/// The node's reporter: a report waits in the outbox for the simulator to
/// deliver it, and its worker for the answer.
struct Mail(Outbox);

impl Reporter for Mail {
    fn report(
        &self,
        report: NodeReport,
    ) -> Pin<Box<dyn Future<Output = Result<(), ReportError>> + Send + '_>> {
        let (answer, answered) = oneshot::channel();
        self.0.push(Outgoing::Guest(report, answer));
        Box::pin(links::answer(answered, || Err(ReportError::Unavailable("the report was lost".into()))))
    }
}

/// The node's volume loop's link to the controller.
struct Link {
    views: watch::Receiver<Option<NodeVolumes>>,
    outbox: Outbox,
}

impl NodeVolumesLink for Link {
    fn view(&self, have: u64) -> BoxFuture<'_, anyhow::Result<NodeVolumes>> {
        Box::pin(links::next_view(self.views.clone(), have))
    }

    fn report(&self, done: NodeDone) -> BoxFuture<'_, anyhow::Result<()>> {
        let (answer, answered) = oneshot::channel();
        self.outbox.push(Outgoing::Volume(done, answer));
        Box::pin(links::answer(answered, || Err(anyhow::anyhow!("the report was lost"))))
    }
}

impl Outgoing {
    /// The command it asks the controller for, and answers it.
    pub fn command(self, node: &NodeId, at: Timestamp) -> (Command, Box<dyn FnOnce(Answer) + Send>) {
        match self {
            Outgoing::Guest(report, answer) => (
                Command::from(report),
                Box::new(move |a| {
                    let _ = answer.send(match a {
                        Answer::Recorded => Ok(()),
                        Answer::Refused(why) => Err(ReportError::Refused(why)),
                        Answer::Unavailable(why) => Err(ReportError::Unavailable(why)),
                    });
                }),
            ),
            Outgoing::Volume(done, answer) => (
                done.command(node, at),
                Box::new(move |a| {
                    let _ = answer.send(match a {
                        Answer::Recorded => Ok(()),
                        Answer::Refused(why) | Answer::Unavailable(why) => Err(anyhow::anyhow!(why)),
                    });
                }),
            ),
        }
    }
}

/// What the node's process has read of the log, replayed and followed.
struct Feed {
    read: Read,
    histories: Histories,
    heads: watch::Receiver<u64>,
    /// The index in `read` of the next record to give.
    next: usize,
}

/// The records of `stream` among those read, up to `to`.
fn history(read: &[(u64, Arc<[u8]>)], stream: &str, to: u64) -> Records {
    let records = read.iter().filter(|(position, _)| *position <= to).filter(|(position, bytes)| {
        decode_record(*position, bytes).is_ok_and(|envelope| envelope.stream == stream)
    });
    Records::Raw(records.map(|(position, bytes)| (*position, bytes.to_vec())).collect())
}

impl RecordSource for Feed {
    fn blocks(&self) -> bool {
        false
    }

    fn history(
        &mut self,
        stream: String,
        to: u64,
    ) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>> {
        // A remote node asks the controller (its answer was read with the
        // placement); the node in the controller's process reads the log.
        let records = match lock(&self.histories).get(&stream) {
            Some(records) => history(records, &stream, to),
            None => history(&lock(&self.read), &stream, to),
        };
        Box::pin(async move { Ok(records) })
    }

    fn replay(&mut self, visit: &mut dyn FnMut(&EnvelopeRef<'_>)) -> Result<u64, SourceError> {
        let read = lock(&self.read);
        let mut last = 0;
        for (position, bytes) in read.iter() {
            visit(&decode_record(*position, bytes)?);
            last = *position;
        }
        self.next = read.len();
        Ok(last)
    }

    fn next_batch(&mut self) -> Pin<Box<dyn Future<Output = Result<Records, SourceError>> + Send + '_>> {
        Box::pin(async move {
            loop {
                {
                    let read = lock(&self.read);
                    if read.len() > self.next {
                        let batch = read[self.next..].iter().map(|(p, b)| (*p, b.to_vec())).collect();
                        self.next = read.len();
                        return Ok(Records::Raw(batch));
                    }
                }
                self.heads.changed().await.map_err(|_| SourceError::Remote("the node stopped".into()))?;
            }
        })
    }
}

fn coarse_state(state: InstanceState) -> Option<&'static str> {
    Some(match state {
        InstanceState::Pending => "launch",
        InstanceState::Running => "running",
        InstanceState::Stopping => "stop",
        InstanceState::Stopped => "stopped",
        InstanceState::ShuttingDown => "terminate",
        InstanceState::Terminated => return None,
    })
}

fn coarse_placed(placed: Placed) -> &'static str {
    match placed {
        Placed::Due(Step::Launch { .. }) => "launch",
        Placed::Running => "running",
        Placed::Due(Step::Stop) => "stop",
        Placed::Stopped => "stopped",
        Placed::Due(Step::Terminate) => "terminate",
    }
}

/// What the controller hands the node to plug in or unplug
/// (`App::node_volumes_of`), less what is done: a volume to plug in while
/// its attachment is still attaching, one to unplug.
fn plugs_due(app: &api::app::App, models: &ReadModels, node: &NodeId) -> Vec<(VolumeId, InstanceId)> {
    let wanted = app.node_volumes_of(models, node);
    let attaching = |volume: &VolumeId| {
        models
            .volumes
            .volumes
            .get(volume)
            .and_then(|row| row.attachment.as_ref())
            .is_some_and(|a| a.state == AttachmentState::Attaching)
    };
    let plug =
        wanted.attach.iter().filter(|a| attaching(&a.volume)).map(|a| (a.volume.clone(), a.instance.clone()));
    let unplug = wanted.detach.iter().map(|(instance, volume)| (volume.clone(), instance.clone()));
    plug.chain(unplug).collect()
}

/// No guest is on two nodes' hypervisors, nor on one whose node the log
/// does not place its instance on (placement never moves).
pub fn guests_where_placed(nodes: &[Node], models: &ReadModels) -> Result<(), String> {
    use node_executor::HypervisorDriver;
    let mut seen: std::collections::BTreeMap<InstanceId, &NodeId> = std::collections::BTreeMap::new();
    for node in nodes {
        for guest in node.driver.list().map_err(|e| e.to_string())? {
            if let Some(other) = seen.insert(guest.clone(), &node.id) {
                return Err(format!("{guest} has a guest on {other} and on {}", node.id));
            }
            let placed = models.instances.get(guest.as_str()).map(|row| row.node.as_ref());
            if let Some(placed) = placed
                && placed != Some(&node.id)
            {
                return Err(format!("{guest} has a guest on {}, the log places it on {placed:?}", node.id));
            }
        }
    }
    Ok(())
}

/// Who reports.
pub fn principal() -> Principal {
    Principal::system("node-executor")
}
