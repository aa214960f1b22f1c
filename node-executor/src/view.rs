//! The node executor's view of the log, on its own: which instances are
//! placed on a node and what each should be on the hypervisor, folded by
//! the executor's own [`Fold`] (the domain's `Aggregate::evolve` on each
//! instance stream). The deterministic simulator's node decides its
//! reports from it, as the executor's workers act on it, and checks it
//! against the controller's read models.

use crate::fold::{Desired, Fold};
use crate::source::Records;
use domain::{InstanceId, NodeId};
use eventlog::{EnvelopeRef, ReadError};

/// What the node must do next about an instance, and report once done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Start its guest (`restart`: a stopped instance started again) and
    /// report it running.
    Launch { restart: bool },
    /// Stop its guest and report it stopped.
    Stop,
    /// Destroy its guest and report it terminated.
    Terminate,
}

/// What an instance placed on the node should be now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Placed {
    /// A step of the node's is due.
    Due(Step),
    Running,
    Stopped,
}

/// The instances of one node, folded from the log's records in order.
pub struct NodeView {
    fold: Fold,
    position: u64,
}

impl NodeView {
    pub fn new(node: NodeId) -> NodeView {
        NodeView { fold: Fold::new(node), position: 0 }
    }

    /// The last position folded.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Folds the next record (records come in order, each once).
    pub fn apply(&mut self, envelope: &EnvelopeRef<'_>) {
        self.position = envelope.position;
        if let Some(id) = self.fold.apply_ref(envelope)
            && self.fold.get(&id).and_then(|t| t.desired) == Some(Desired::Absent)
        {
            // Terminated or moved away: dealt with, as the executor's
            // worker forgets it once its guest is gone.
            self.fold.forget(&id);
        }
    }

    /// Instances placed on the node after a life on another since the
    /// last call: their streams are to be [adopted](NodeView::adopt).
    pub fn take_missing(&mut self) -> Vec<InstanceId> {
        self.fold.take_missing()
    }

    /// Folds the whole stream of `id` (its records so far), an instance
    /// placed on the node after a life on another, as the executor does.
    pub fn adopt(&mut self, id: &InstanceId, records: &Records) -> Result<(), ReadError> {
        self.fold.adopt(id, records)?;
        if self.fold.get(id).and_then(|t| t.desired) == Some(Desired::Absent) {
            self.fold.forget(id);
        }
        Ok(())
    }

    /// Every instance placed on the node, sorted by id, with what it should
    /// be now.
    pub fn placed(&self) -> Vec<(InstanceId, Placed)> {
        let mut placed: Vec<(InstanceId, Placed)> = self
            .fold
            .placed()
            .filter_map(|(id, desired)| {
                let placed = match desired {
                    Desired::Launch { restart } => Placed::Due(Step::Launch { restart }),
                    Desired::Stop { .. } => Placed::Due(Step::Stop),
                    Desired::Terminate => Placed::Due(Step::Terminate),
                    Desired::Run => Placed::Running,
                    Desired::Stopped => Placed::Stopped,
                    Desired::Absent => return None,
                };
                Some((id.clone(), placed))
            })
            .collect();
        placed.sort();
        placed
    }

    /// The instances whose next step is the node's, sorted by id.
    pub fn due(&self) -> Vec<(InstanceId, Step)> {
        self.placed()
            .into_iter()
            .filter_map(|(id, placed)| match placed {
                Placed::Due(step) => Some((id, step)),
                _ => None,
            })
            .collect()
    }
}
