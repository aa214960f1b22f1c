//! The simulated node: what a node executor reports about the guests
//! placed on it, one report at a time, in an order drawn from the seed
//! (reports arrive late and reordered), and none while it is cut off from
//! the controller (a partition).
//!
//! What is due comes from the node executor's own fold of the log
//! (`node_executor::view`), which the node follows record by record as the
//! real one follows its feed, and which starts again from nothing when the
//! node's executor crashes; after every step its view must agree with the
//! controller's read models. Which volumes to plug in and unplug comes
//! from what the controller hands a node (`App::node_volumes`, with each
//! attachment's grant unsealed). The hypervisor itself is the real-process
//! tests'.

use domain::command::{NodeOutcome, NodeReport};
use domain::volumes::{AttachmentFailure, AttachmentReport, AttachmentState};
use domain::{Command, InstanceId, InstanceState, NodeId, Principal, VolumeId, ZoneName};
use eventlog::{EventLog, decode_record};
use node_executor::view::{NodeView, Placed, Step};
use projections::ReadModels;
use rand::Rng;
use rand::rngs::StdRng;

/// The simulated node executor.
pub struct Node {
    pub id: NodeId,
    view: NodeView,
}

impl Node {
    pub fn new(id: NodeId) -> Node {
        let view = NodeView::new(id.clone());
        Node { id, view }
    }

    /// The executor crashed: it starts again from nothing and folds the
    /// log from its beginning.
    pub fn crash(&mut self) {
        self.view = NodeView::new(self.id.clone());
    }

    /// Folds the log's records it has not seen yet, up to the head.
    pub fn follow(&mut self, log: &EventLog) -> Result<(), eventlog::ReadError> {
        let head = log.head();
        while self.view.position() < head {
            let records = log.raw_records(self.view.position() + 1, 1024)?;
            if records.is_empty() {
                break;
            }
            for (position, bytes) in records.iter().filter(|(p, _)| *p <= head) {
                let envelope = decode_record(*position, bytes).map_err(|e| eventlog::ReadError::Corrupt {
                    position: *position,
                    reason: e.to_string(),
                })?;
                self.view.apply(&envelope);
            }
        }
        Ok(())
    }

    /// Its view, caught up to `models`' position, agrees with the read
    /// models on every instance placed on it.
    pub fn agrees_with(&self, models: &ReadModels) -> Result<(), String> {
        if self.view.position() != models.position {
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
            self.view.placed().into_iter().map(|(id, placed)| (id, coarse_placed(placed))).collect();
        if seen != expected {
            return Err(format!(
                "at {} the node executor's fold has {seen:?}, the read models {expected:?}",
                models.position
            ));
        }
        Ok(())
    }

    /// The report of one step, chosen at random among those due: of a
    /// guest (a launch fails now and then) or of a volume to plug in (which
    /// fails now and then too) or unplug.
    pub fn next_report(
        &self,
        app: &api::app::App,
        models: &ReadModels,
        zone: &ZoneName,
        rng: &mut StdRng,
        at: domain::Timestamp,
    ) -> Option<Command> {
        let due = self.view.due();
        let plugs = plugs_due(app, models, &self.id);
        if due.is_empty() && plugs.is_empty() {
            return None;
        }
        let pick = rng.gen_range(0..due.len() + plugs.len());
        if pick >= due.len() {
            let (volume, instance, plug) = plugs[pick - due.len()].clone();
            let report = AttachmentReport { node: self.id.clone(), instance, volume, at };
            return Some(match plug {
                true if rng.gen_ratio(1, 20) => Command::ReportVolumeAttachFailed(AttachmentFailure {
                    report,
                    reason: "the simulated hypervisor could not plug the disk in".into(),
                }),
                true => Command::ReportVolumeAttached(report),
                false => Command::ReportVolumeDetached(report),
            });
        }
        let (instance, step) = due[pick].clone();
        let outcome = match step {
            Step::Launch { .. } if rng.gen_ratio(1, 20) => {
                NodeOutcome::LaunchFailed("the simulated hypervisor refused the guest".into())
            }
            Step::Launch { .. } => NodeOutcome::Running,
            Step::Stop => NodeOutcome::Stopped,
            Step::Terminate => NodeOutcome::Terminated,
        };
        let report =
            NodeReport { node: self.id.clone(), zone: zone.clone(), instance, attempt: None, outcome, at };
        Some(Command::from(report))
    }

    /// Are any guests or volumes of the node still between two states?
    pub fn settled(&self, app: &api::app::App, models: &ReadModels) -> bool {
        self.view.due().is_empty() && plugs_due(app, models, &self.id).is_empty()
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
/// its attachment is still attaching (true), one to unplug (false).
fn plugs_due(app: &api::app::App, models: &ReadModels, node: &NodeId) -> Vec<(VolumeId, InstanceId, bool)> {
    let wanted = app.node_volumes_of(models, node);
    let attaching = |volume: &VolumeId| {
        models
            .volumes
            .volumes
            .get(volume)
            .and_then(|row| row.attachment.as_ref())
            .is_some_and(|a| a.state == AttachmentState::Attaching)
    };
    let plug = wanted
        .attach
        .iter()
        .filter(|a| attaching(&a.volume))
        .map(|a| (a.volume.clone(), a.instance.clone(), true));
    let unplug = wanted.detach.iter().map(|(instance, volume)| (volume.clone(), instance.clone(), false));
    plug.chain(unplug).collect()
}

/// Who reports.
pub fn principal() -> Principal {
    Principal::system("node-executor")
}
