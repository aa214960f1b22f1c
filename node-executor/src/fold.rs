//! The executor's view of the log: which instances are placed on this node
//! and what each should be on the hypervisor (its desired state), folded
//! from instance streams with the domain's own `Lifecycle::apply` (the
//! part of an instance its guest depends on, folded by the domain's
//! `Instance` through the same code).
//!
//! It must not know the hypervisor, the controller or tasks: it turns
//! envelopes into desired states and says which ones changed. Instances
//! placed elsewhere, and ours once terminated and dealt with, are dropped
//! so memory follows the live instances of this node, not the log.

use crate::driver::GuestSpec;
use crate::source::Records;
use crate::worker::Target;
use domain::registry::InstanceEvent;
use domain::{
    Event, InstanceAttribute, InstanceId, InstanceState, Lifecycle, NodeId, ParsedStream, StreamKind,
};
use eventlog::{EnvelopeRef, ReadError};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use tokio::sync::watch;

/// What the hypervisor of this node should do about an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Desired {
    /// Pending here: start the guest and report when it is up.
    /// `restart`: a stopped instance started again, whose disk must
    /// survive a failed start (a failed first launch removes everything).
    Launch { restart: bool },
    /// Running here: the guest must exist; nothing to report.
    Run,
    /// Shutting down: destroy the guest and report it terminated.
    Terminate,
    /// Stopping: stop the guest (keeping its disk) and report it stopped;
    /// `graceful`: shut it down first, as its power button would.
    Stop { graceful: bool },
    /// Stopped: the guest stays off; nothing to report.
    Stopped,
    /// Terminated, or moved to another node: no guest here, no report.
    Absent,
}

impl fmt::Display for Desired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Desired::Launch { restart: false } => "launch",
            Desired::Launch { restart: true } => "start again",
            Desired::Run => "run",
            Desired::Terminate => "terminate",
            Desired::Stop { graceful: true } => "stop",
            Desired::Stop { graceful: false } => "stop (forced)",
            Desired::Stopped => "stopped",
            Desired::Absent => "absent",
        })
    }
}

/// The desired state of an instance for `node`; `None` when it is not
/// placed on `node` (not placed yet, or placed elsewhere).
fn desired_of(i: &Lifecycle, node: &NodeId) -> Option<Desired> {
    if i.node.as_ref() != Some(node) {
        return None;
    }
    Some(match i.state {
        InstanceState::Pending => Desired::Launch { restart: i.restarting },
        InstanceState::Running => Desired::Run,
        InstanceState::ShuttingDown => Desired::Terminate,
        InstanceState::Stopping => Desired::Stop { graceful: !i.stop_forced },
        InstanceState::Stopped => Desired::Stopped,
        InstanceState::Terminated => Desired::Absent,
    })
}

/// One instance the fold follows.
pub(crate) struct Tracked {
    /// The instance's state, node and launch attempt, folded by the domain.
    pub life: Lifecycle,
    pub spec: Arc<GuestSpec>,
    /// `None` until it is placed on this node.
    pub desired: Option<Desired>,
    /// Bumped at each change of `desired`; workers report the one they reached.
    pub seq: u64,
    /// The `seq` last handed to a worker.
    pub sent: u64,
    /// The instance's launch attempt (the domain's `Instance::attempt`,
    /// folded from the same events): reports carry it.
    pub attempt: u32,
    /// The channel of this instance's worker, while one runs.
    pub worker: Option<watch::Sender<Target>>,
}

impl Tracked {
    pub(crate) fn target(&self) -> Option<Target> {
        self.desired.map(|desired| Target { seq: self.seq, desired, attempt: self.attempt })
    }
}

/// The instances of this node, from the log.
pub(crate) struct Fold {
    node: NodeId,
    instances: HashMap<InstanceId, Tracked>,
    /// Running instances of ours asked to reboot since the last `take_reboots`.
    reboots: Vec<InstanceId>,
    /// Instances placed on this node after a life on another (a stopped
    /// instance started where there is room): the fold dropped them, so
    /// their streams must be read again and adopted (see [`Fold::adopt`]).
    missing: Vec<InstanceId>,
}

impl Fold {
    pub(crate) fn new(node: NodeId) -> Self {
        Fold { node, instances: HashMap::new(), reboots: Vec::new(), missing: Vec::new() }
    }

    pub(crate) fn apply_ref(&mut self, e: &EnvelopeRef<'_>) -> Option<InstanceId> {
        self.apply(e.position, e.stream, e.event_type, e.schema, e.payload)
    }

    /// Folds one stored event. Returns the instance whose desired state
    /// changed, if any.
    fn apply(
        &mut self,
        position: u64,
        stream: &str,
        event_type: &str,
        schema: u16,
        payload: &[u8],
    ) -> Option<InstanceId> {
        let id = match ParsedStream::instance(stream) {
            Some(id) => id,
            None if StreamKind::of(stream) == StreamKind::Instance => {
                tracing::warn!(position, stream, "skipping an event of a malformed instance stream");
                return None;
            }
            None => return None,
        };
        let known = self.instances.contains_key(&id);
        // Only a request makes an instance known; other events of unknown
        // instances (placed elsewhere, or dealt with) are not even decoded,
        // but for a placement here: an instance that lived on another node
        // is to be adopted.
        if !known && event_type != "InstanceRequested" {
            if event_type == "InstancePlaced"
                && let Ok(Event::InstancePlaced(placed)) = Event::decode(event_type, schema, payload)
                && placed.node == self.node
                && !self.missing.contains(&id)
            {
                tracing::info!(position, instance = %id, "an instance that lived on another node is placed here");
                self.missing.push(id);
            }
            return None;
        }
        let event = match Event::decode(event_type, schema, payload) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(position, instance = %id, error = %e, "skipping an event this executor cannot read");
                return None;
            }
        };
        self.evolve(id, event, false)
    }

    /// Instances placed here after a life on another node, since the last
    /// call: their streams are to be [adopted](Fold::adopt).
    pub(crate) fn take_missing(&mut self) -> Vec<InstanceId> {
        std::mem::take(&mut self.missing)
    }

    /// Folds the whole stream of `id` (its records up to now, in order),
    /// an instance placed here after a life on another node, as if it had
    /// always been followed. Returns it if it is ours to act on.
    pub(crate) fn adopt(
        &mut self,
        id: &InstanceId,
        records: &Records,
    ) -> Result<Option<InstanceId>, ReadError> {
        self.instances.remove(id);
        let stream = domain::StreamId::instance(id);
        let mut changed = None;
        for envelope in records.iter() {
            let envelope = envelope?;
            if envelope.stream != stream.as_str() {
                continue;
            }
            let event = match Event::decode(envelope.event_type, envelope.schema, envelope.payload) {
                Ok(event) => event,
                Err(e) => {
                    tracing::warn!(position = envelope.position, instance = %id, error = %e, "skipping an event this executor cannot read");
                    continue;
                }
            };
            changed = self.evolve(id.clone(), event, true).or(changed);
        }
        if self.instances.get(id).is_some_and(|t| t.desired.is_none()) {
            self.instances.remove(id);
            return Ok(None);
        }
        Ok(changed)
    }

    /// Folds one event of instance `id`; `adopting`: its whole stream is
    /// being folded again, and a placement elsewhere on the way does not
    /// drop it.
    fn evolve(&mut self, id: InstanceId, event: Event, adopting: bool) -> Option<InstanceId> {
        let tracked = match (self.instances.get_mut(&id), &event) {
            (Some(t), _) => t,
            (None, Event::InstanceRequested(requested)) => {
                self.instances.entry(id.clone()).or_insert_with(|| Tracked {
                    life: Lifecycle::requested(),
                    spec: Arc::new(GuestSpec::from(requested)),
                    desired: None,
                    seq: 0,
                    sent: 0,
                    attempt: 0,
                    worker: None,
                })
            }
            (None, _) => return None,
        };
        if let Some(event) = InstanceEvent::of(&event) {
            tracked.life.apply(event);
        }
        // A stopped instance's type or user data may change; its next start
        // uses the new ones.
        if let Event::InstanceAttributeChanged(change) = &event {
            match &change.attribute {
                InstanceAttribute::InstanceType(vm_type) => {
                    Arc::make_mut(&mut tracked.spec).vm_type = vm_type.clone()
                }
                InstanceAttribute::UserData(data) => {
                    Arc::make_mut(&mut tracked.spec).user_data = data.clone()
                }
                _ => {}
            }
        }
        if let Event::InstanceDeviceClaimed(claimed) = &event
            && domain::volumes::is_root_device(&claimed.device)
        {
            Arc::make_mut(&mut tracked.spec).root_volume = Some(claimed.volume.to_string());
        }
        if let Event::InstanceAddressed(addressed) = &event {
            Arc::make_mut(&mut tracked.spec).private_address =
                Some(addressed.private_address.as_str().into());
        }
        if matches!(event, Event::InstanceRebootRequested(_))
            && tracked.desired == Some(Desired::Run)
            && !adopting
        {
            self.reboots.push(id.clone());
        }
        let now = match (tracked.desired, desired_of(&tracked.life, &self.node)) {
            // Was ours, now placed elsewhere: our guest must go.
            (Some(before), None) => {
                if before != Desired::Absent {
                    let node = tracked.life.node.as_ref().map_or("-", |n| n.as_str());
                    tracing::info!(instance = %id, node, "placed on another node: its guest and disk here go");
                }
                Some(Desired::Absent)
            }
            (_, now) => now,
        };
        let Some(now) = now else {
            // Not placed yet, or placed on another node: not ours to follow.
            let placed_elsewhere = tracked.life.node.is_some();
            if placed_elsewhere && !adopting {
                self.instances.remove(&id);
            }
            return None;
        };
        let attempt = tracked.life.attempt;
        if Some(now) == tracked.desired && attempt == tracked.attempt {
            return None;
        }
        tracked.desired = Some(now);
        tracked.attempt = attempt;
        tracked.seq += 1;
        Some(id)
    }

    /// The reboots asked for since the last call (a replay drops them: a
    /// reboot asked for before a restart is not done again).
    pub(crate) fn take_reboots(&mut self) -> Vec<InstanceId> {
        std::mem::take(&mut self.reboots)
    }

    /// Running instances of ours without a worker (to watch their guests).
    pub(crate) fn resting(&self) -> Vec<InstanceId> {
        self.instances
            .iter()
            .filter(|(_, t)| t.desired == Some(Desired::Run) && t.worker.is_none())
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub(crate) fn get(&self, id: &InstanceId) -> Option<&Tracked> {
        self.instances.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &InstanceId) -> Option<&mut Tracked> {
        self.instances.get_mut(id)
    }

    /// Stops following an instance.
    pub(crate) fn forget(&mut self, id: &InstanceId) {
        self.instances.remove(id);
    }

    /// Every instance placed on this node, with what it should be.
    pub(crate) fn placed(&self) -> impl Iterator<Item = (&InstanceId, Desired)> {
        self.instances.iter().filter_map(|(id, t)| t.desired.map(|d| (id, d)))
    }

    /// Should a guest of this instance exist (or still be dealt with) here?
    pub(crate) fn owns_guest(&self, id: &InstanceId) -> bool {
        self.instances.get(id).and_then(|t| t.desired).is_some_and(|d| d != Desired::Absent)
    }

    pub(crate) fn len(&self) -> usize {
        self.instances.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An executor keeps one of these for each instance of its node (the
    /// one embedded in `yukari up` for every instance of the cloud): the
    /// instance's lifecycle, not the domain's whole aggregate (issue 14,
    /// target 5). The guest's spec is shared behind an `Arc`.
    #[test]
    fn what_the_fold_keeps_of_an_instance_is_small() {
        let size = std::mem::size_of::<Tracked>();
        assert!(size <= 96, "Tracked is {size} bytes");
    }
}
