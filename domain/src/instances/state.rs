//! An instance's state and the EC2 state machine. Every transition is
//! decided here; `apply` only records what was decided.

use super::events::*;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::cloud::VmType;
use crate::clusters::Resources;
use crate::error::DecideError;
use crate::ids::{
    AccountId, AllocationId, ImageId, InstanceId, NodeId, ReservationId, SecurityGroupId, VolumeId, ZoneName,
};
use crate::model::Timestamp;
use crate::registry::InstanceEvent;
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::BTreeMap;
use std::fmt;

/// The EC2 instance state machine; the codes are EC2's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl InstanceState {
    pub const ALL: [InstanceState; 6] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::ShuttingDown,
        InstanceState::Terminated,
        InstanceState::Stopping,
        InstanceState::Stopped,
    ];

    pub fn code(self) -> u16 {
        match self {
            InstanceState::Pending => 0,
            InstanceState::Running => 16,
            InstanceState::ShuttingDown => 32,
            InstanceState::Terminated => 48,
            InstanceState::Stopping => 64,
            InstanceState::Stopped => 80,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }

    /// Does the instance hold capacity on its node in this state?
    pub fn holds_capacity(self) -> bool {
        !matches!(self, InstanceState::Terminated | InstanceState::Stopped)
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an instance is in the state it is in (EC2's `stateReason`).
///
/// The texts EC2 gives for a stop or a termination are kept as static
/// texts, also when read back from the log: every instance that ends has
/// one, and a replay folds hundreds of thousands of them (issue 14,
/// target 2). Encoded as two strings, as when they were `String`s.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReason {
    #[serde(deserialize_with = "known_text")]
    pub code: SmolStr,
    #[serde(deserialize_with = "known_text")]
    pub message: SmolStr,
}

const USER_CODE: &str = "Client.UserInitiatedShutdown";
const USER_MESSAGE: &str = "Client.UserInitiatedShutdown: User initiated shutdown";
const GUEST_CODE: &str = "Client.InstanceInitiatedShutdown";
const GUEST_MESSAGE: &str = "Client.InstanceInitiatedShutdown: Instance initiated shutdown";
const INTERNAL_CODE: &str = "Server.InternalError";

/// A text of a [`StateReason`]: one of the known ones as a static text (no
/// allocation), any other as read.
fn known_text<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<SmolStr, D::Error> {
    struct Text;
    impl serde::de::Visitor<'_> for Text {
        type Value = SmolStr;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<SmolStr, E> {
            Ok([USER_CODE, USER_MESSAGE, GUEST_CODE, GUEST_MESSAGE, INTERNAL_CODE]
                .into_iter()
                .find(|known| *known == text)
                .map_or_else(|| SmolStr::new(text), SmolStr::new_static))
        }
    }
    deserializer.deserialize_str(Text)
}

impl StateReason {
    pub fn user_terminated() -> Self {
        StateReason { code: SmolStr::new_static(USER_CODE), message: SmolStr::new_static(USER_MESSAGE) }
    }

    pub fn user_stopped() -> Self {
        StateReason::user_terminated()
    }

    pub fn guest_stopped() -> Self {
        StateReason { code: SmolStr::new_static(GUEST_CODE), message: SmolStr::new_static(GUEST_MESSAGE) }
    }

    pub fn guest_terminated() -> Self {
        StateReason::guest_stopped()
    }

    pub fn launch_failed(detail: &str) -> Self {
        StateReason {
            code: SmolStr::new_static(INTERNAL_CODE),
            message: format!("{INTERNAL_CODE}: {detail}").into(),
        }
    }

    /// A stopped instance that was started again and could not be: EC2
    /// leaves it stopped with `Server.InternalError`.
    pub fn start_failed(detail: &str) -> Self {
        StateReason {
            code: SmolStr::new_static(INTERNAL_CODE),
            message: format!("{INTERNAL_CODE}: the instance could not be started: {detail}").into(),
        }
    }
}

/// What happens when the guest powers itself off
/// (`InstanceInitiatedShutdownBehavior`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ShutdownBehavior {
    #[default]
    Stop,
    Terminate,
}

impl ShutdownBehavior {
    pub fn ec2_name(self) -> &'static str {
        match self {
            ShutdownBehavior::Stop => "stop",
            ShutdownBehavior::Terminate => "terminate",
        }
    }
}

/// An instance attribute that ModifyInstanceAttribute may change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceAttribute {
    InstanceType(VmType),
    UserData(Vec<u8>),
    DisableApiTermination(bool),
    ShutdownBehavior(ShutdownBehavior),
}
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub id: InstanceId,
    pub account: AccountId,
    pub reservation: ReservationId,
    pub image: ImageId,
    pub vm_type: VmType,
    pub state: InstanceState,
    pub node: Option<NodeId>,
    pub zone: Option<ZoneName>,
    pub reason: Option<StateReason>,
    pub requested_at: Timestamp,
    pub key_name: Option<String>,
    pub groups: Vec<SecurityGroupId>,
    pub shutdown_behavior: ShutdownBehavior,
    pub disable_api_termination: bool,
    pub private_address: Option<String>,
    pub public_address: Option<String>,
    /// The elastic IP associated with it, if any (its public address).
    pub elastic: Option<AllocationId>,
    /// Stopping without waiting for the guest to shut down (`--force`).
    pub stop_forced: bool,
    /// Pending because StartInstances started it again after a stop (not
    /// because RunInstances launched it): a launch that fails now leaves
    /// it stopped, with its disk, instead of terminated.
    pub restarting: bool,
    /// Which launch of the instance this is: 1 for RunInstances' launch,
    /// one more at each StartInstances (`InstanceStartRequested`). Derived
    /// from those events, never stored. A reboot keeps the guest, so it is
    /// not a new attempt. Node reports carry the attempt they are about,
    /// so that a late report of an earlier one cannot change this one.
    pub attempt: u32,
    /// Its volumes, by the device name each was attached as.
    pub volumes: BTreeMap<String, VolumeId>,
    pub tags: Tags,
    /// When it was terminated (its launch failing ends it too).
    pub ended_at: Option<Timestamp>,
}

/// How long a terminated instance stays in view (DescribeInstances shows
/// it, and it can still be named) after it ended, as in EC2; the log keeps
/// it forever (docs/adr/0019-read-models-follow-the-live-cloud.md).
pub const VISIBLE_AFTER_END_MS: i64 = 3_600_000;

impl State for Instance {
    type Created = InstanceRequested;

    fn created(e: &InstanceRequested) -> Self {
        let Lifecycle { state, node, stop_forced, restarting, attempt } = Lifecycle::requested();
        Instance {
            id: e.instance.clone(),
            account: e.account.clone(),
            reservation: e.reservation.clone(),
            image: e.image.clone(),
            vm_type: e.vm_type.clone(),
            state,
            node,
            zone: None,
            reason: None,
            requested_at: e.at,
            key_name: e.key_name.clone(),
            groups: e.security_groups.clone(),
            shutdown_behavior: e.shutdown_behavior,
            disable_api_termination: e.disable_api_termination,
            private_address: None,
            public_address: None,
            elastic: None,
            stop_forced,
            restarting,
            attempt,
            volumes: BTreeMap::new(),
            tags: Tags::default(),
            ended_at: None,
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        Some(&mut self.tags)
    }
}

/// What an instance's guest depends on: its state, the node it is placed
/// on, how it stops and which launch of it this is. The node executor
/// folds only this for each instance, not the whole [`Instance`];
/// [`Instance`] folds these fields through the same
/// [`Lifecycle::apply`], so the two cannot disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    pub state: InstanceState,
    pub node: Option<NodeId>,
    /// Stopping without waiting for the guest to shut down (`--force`).
    pub stop_forced: bool,
    /// Pending because StartInstances started it again after a stop.
    pub restarting: bool,
    /// Which launch of the instance this is (see [`Instance::attempt`]).
    pub attempt: u32,
}

impl Lifecycle {
    /// An instance as its `InstanceRequested` makes it: pending, nowhere.
    pub fn requested() -> Self {
        Lifecycle {
            state: InstanceState::Pending,
            node: None,
            stop_forced: false,
            restarting: false,
            attempt: 1,
        }
    }

    /// Folds one of the instance's later events; the events that do not
    /// change these fields leave them as they are.
    pub fn apply(&mut self, event: InstanceEvent<'_>) {
        match event {
            InstanceEvent::InstancePlaced(e) => self.node = Some(e.node.clone()),
            InstanceEvent::InstanceRunning(_) => {
                self.state = InstanceState::Running;
                self.restarting = false;
            }
            InstanceEvent::InstanceTerminationRequested(_) => self.state = InstanceState::ShuttingDown,
            InstanceEvent::InstanceTerminated(_) => self.state = InstanceState::Terminated,
            InstanceEvent::InstanceLaunchFailed(_) => {
                self.state = InstanceState::Terminated;
                self.restarting = false;
            }
            // It keeps its node (where its disk is).
            InstanceEvent::InstanceStartFailed(_) => {
                self.state = InstanceState::Stopped;
                self.restarting = false;
            }
            InstanceEvent::InstanceStopRequested(e) => {
                self.stop_forced = e.force || (self.state == InstanceState::Stopping && self.stop_forced);
                self.state = InstanceState::Stopping;
            }
            InstanceEvent::InstanceStopped(_) => self.state = InstanceState::Stopped,
            InstanceEvent::InstanceStartRequested(_) => {
                self.state = InstanceState::Pending;
                self.restarting = true;
                self.attempt = self.attempt.saturating_add(1);
            }
            // A reboot keeps the guest and its state.
            InstanceEvent::InstanceRebootRequested(_)
            | InstanceEvent::InstanceAddressed(_)
            | InstanceEvent::InstancePublicAddressChanged(_)
            | InstanceEvent::InstanceGroupsChanged(_)
            | InstanceEvent::InstanceDeviceClaimed(_)
            | InstanceEvent::InstanceDeviceReleased(_)
            | InstanceEvent::InstanceAttributeChanged(_) => {}
        }
    }
}

impl Evolve for Instance {
    type Event<'a> = InstanceEvent<'a>;

    fn apply(&mut self, event: InstanceEvent<'_>) {
        // State, node, stop and attempt: as the node executor folds them.
        let mut life = Lifecycle {
            state: self.state,
            node: self.node.take(),
            stop_forced: self.stop_forced,
            restarting: self.restarting,
            attempt: self.attempt,
        };
        life.apply(event);
        Lifecycle {
            state: self.state,
            node: self.node,
            stop_forced: self.stop_forced,
            restarting: self.restarting,
            attempt: self.attempt,
        } = life;
        // The rest.
        match event {
            InstanceEvent::InstancePlaced(e) => self.zone = Some(e.zone.clone()),
            InstanceEvent::InstanceTerminationRequested(_) => {
                self.reason = Some(StateReason::user_terminated())
            }
            InstanceEvent::InstanceTerminated(e) => {
                self.reason = Some(e.reason.clone());
                self.ended_at = Some(e.at);
            }
            InstanceEvent::InstanceLaunchFailed(e) => {
                self.reason = Some(e.reason.clone());
                self.ended_at = Some(e.at);
            }
            // It keeps its private address.
            InstanceEvent::InstanceStartFailed(e) => self.reason = Some(e.reason.clone()),
            InstanceEvent::InstanceAddressed(e) => {
                self.private_address = Some(e.private_address.clone());
                self.public_address = e.public_address.clone();
            }
            InstanceEvent::InstancePublicAddressChanged(e) => {
                self.public_address = e.public_address.clone();
                self.elastic = e.elastic.clone();
            }
            InstanceEvent::InstanceStopRequested(e) => {
                self.reason =
                    Some(if e.by_guest { StateReason::guest_stopped() } else { StateReason::user_stopped() });
            }
            InstanceEvent::InstanceStartRequested(_) => self.reason = None,
            InstanceEvent::InstanceGroupsChanged(e) => self.groups = e.groups.clone(),
            InstanceEvent::InstanceDeviceClaimed(e) => {
                self.volumes.insert(e.device.clone(), e.volume.clone());
            }
            InstanceEvent::InstanceDeviceReleased(e) => {
                if self.volumes.get(&e.device) == Some(&e.volume) {
                    self.volumes.remove(&e.device);
                }
            }
            InstanceEvent::InstanceAttributeChanged(e) => match &e.attribute {
                InstanceAttribute::InstanceType(t) => self.vm_type = t.clone(),
                InstanceAttribute::UserData(_) => {}
                InstanceAttribute::DisableApiTermination(v) => self.disable_api_termination = *v,
                InstanceAttribute::ShutdownBehavior(b) => self.shutdown_behavior = *b,
            },
            InstanceEvent::InstanceRunning(_)
            | InstanceEvent::InstanceStopped(_)
            | InstanceEvent::InstanceRebootRequested(_) => {}
        }
    }
}

impl Instance {
    /// Gone from view at `at`: ended [`VISIBLE_AFTER_END_MS`] or more
    /// before, holding no elastic address (whose release, a later event,
    /// the read models wait for too). Commands then find no such instance.
    pub fn out_of_view(&self, at: Timestamp) -> bool {
        self.ended_at.is_some_and(|ended| at.0 - ended.0 >= VISIBLE_AFTER_END_MS) && self.elastic.is_none()
    }

    pub fn resources(&self) -> Resources {
        Resources::of(&self.vm_type)
    }

    pub fn is_gone(&self) -> bool {
        matches!(self.state, InstanceState::ShuttingDown | InstanceState::Terminated)
    }

    fn illegal(&self, action: &'static str) -> DecideError {
        DecideError::IncorrectInstanceState { instance: self.id.clone(), state: self.state, action }
    }

    fn check_node(&self, node: &NodeId) -> Result<(), DecideError> {
        if self.node.as_ref() == Some(node) {
            Ok(())
        } else {
            Err(DecideError::NotPlacedOnNode { instance: self.id.clone(), node: node.clone() })
        }
    }

    /// TerminateInstances: `None` when already on its way out (EC2 answers
    /// with the current state and changes nothing).
    pub fn request_termination(&self, at: Timestamp) -> Result<Option<crate::Event>, DecideError> {
        if self.is_gone() {
            return Ok(None);
        }
        if self.disable_api_termination {
            return Err(DecideError::TerminationProtected(self.id.clone()));
        }
        Ok(Some(InstanceTerminationRequested { at }.into()))
    }

    /// StopInstances: `None` when already stopped, or stopping (and not
    /// newly forced).
    pub fn request_stop(&self, force: bool, at: Timestamp) -> Result<Option<crate::Event>, DecideError> {
        match self.state {
            InstanceState::Running => Ok(Some(InstanceStopRequested { force, by_guest: false, at }.into())),
            // A forced stop of a stopping instance stops waiting for its guest.
            InstanceState::Stopping if force && !self.stop_forced => {
                Ok(Some(InstanceStopRequested { force, by_guest: false, at }.into()))
            }
            InstanceState::Stopping | InstanceState::Stopped => Ok(None),
            _ => Err(self.illegal("be stopped")),
        }
    }

    /// StartInstances: `None` when already pending or running.
    pub fn request_start(&self, at: Timestamp) -> Result<Option<crate::Event>, DecideError> {
        match self.state {
            InstanceState::Stopped => Ok(Some(InstanceStartRequested { at }.into())),
            InstanceState::Pending | InstanceState::Running => Ok(None),
            _ => Err(self.illegal("be started")),
        }
    }

    /// RebootInstances: a reboot of a terminated instance is ignored.
    pub fn request_reboot(&self, at: Timestamp) -> Result<Option<crate::Event>, DecideError> {
        match self.state {
            InstanceState::Running => Ok(Some(InstanceRebootRequested { at }.into())),
            InstanceState::ShuttingDown | InstanceState::Terminated => Ok(None),
            _ => Err(self.illegal("be rebooted")),
        }
    }

    /// ModifyInstanceAttribute: type and user data only while stopped.
    pub fn change_attribute(
        &self,
        attribute: &InstanceAttribute,
        at: Timestamp,
    ) -> Result<crate::Event, DecideError> {
        if self.state == InstanceState::Terminated {
            return Err(self.illegal("be modified"));
        }
        let needs_stopped =
            matches!(attribute, InstanceAttribute::InstanceType(_) | InstanceAttribute::UserData(_));
        if needs_stopped && self.state != InstanceState::Stopped {
            return Err(self.illegal("have this attribute changed unless stopped"));
        }
        Ok(InstanceAttributeChanged { attribute: attribute.clone(), at }.into())
    }

    /// Is a report of `node` about `attempt` one of an earlier launch
    /// attempt than the current one? `None` (a node that does not say) is
    /// taken as the current attempt; an attempt that was never made is
    /// refused.
    pub fn is_earlier_attempt(&self, node: &NodeId, attempt: Option<u32>) -> Result<bool, DecideError> {
        self.check_node(node)?;
        match attempt {
            None => Ok(false),
            Some(a) if a == 0 || a > self.attempt => Err(DecideError::UnknownAttempt {
                instance: self.id.clone(),
                attempt: a,
                current: self.attempt,
            }),
            Some(a) => Ok(a < self.attempt),
        }
    }

    /// The node says the guest is up. A repeated report changes nothing.
    pub fn report_running(&self, node: &NodeId, at: Timestamp) -> Result<Option<crate::Event>, DecideError> {
        self.check_node(node)?;
        match self.state {
            InstanceState::Pending => Ok(Some(InstanceRunning { node: node.clone(), at }.into())),
            InstanceState::Running => Ok(None),
            _ => Err(self.illegal("report running")),
        }
    }

    /// The node says the guest is gone after a termination request.
    pub fn report_terminated(
        &self,
        node: &NodeId,
        at: Timestamp,
    ) -> Result<Option<crate::Event>, DecideError> {
        self.check_node(node)?;
        match self.state {
            InstanceState::ShuttingDown => {
                Ok(Some(InstanceTerminated { reason: StateReason::user_terminated(), at }.into()))
            }
            InstanceState::Terminated => Ok(None),
            _ => Err(self.illegal("report terminated")),
        }
    }

    /// The node says the guest stopped after a stop request.
    pub fn report_stopped(&self, node: &NodeId, at: Timestamp) -> Result<Option<crate::Event>, DecideError> {
        self.check_node(node)?;
        match self.state {
            InstanceState::Stopping => Ok(Some(InstanceStopped { at }.into())),
            InstanceState::Stopped => Ok(None),
            _ => Err(self.illegal("report stopped")),
        }
    }

    /// The guest powered itself off: it stops or terminates, as its
    /// shutdown behavior says. Both events of the transition at once.
    pub fn report_powered_off(&self, node: &NodeId, at: Timestamp) -> Result<Vec<crate::Event>, DecideError> {
        self.check_node(node)?;
        match (self.state, self.shutdown_behavior) {
            (InstanceState::Running, ShutdownBehavior::Stop) => Ok(vec![
                InstanceStopRequested { force: false, by_guest: true, at }.into(),
                InstanceStopped { at }.into(),
            ]),
            (InstanceState::Running, ShutdownBehavior::Terminate) => Ok(vec![
                InstanceTerminationRequested { at }.into(),
                InstanceTerminated { reason: StateReason::guest_terminated(), at }.into(),
            ]),
            (InstanceState::Stopping, _) => Ok(vec![InstanceStopped { at }.into()]),
            (InstanceState::ShuttingDown, _) => {
                Ok(vec![InstanceTerminated { reason: StateReason::user_terminated(), at }.into()])
            }
            (InstanceState::Stopped | InstanceState::Terminated, _) => Ok(Vec::new()),
            _ => Err(self.illegal("report powered off")),
        }
    }

    /// The node could not start the guest. A first launch ends
    /// terminated; a start of a stopped instance leaves it stopped (with
    /// its disk, to be started again), as on EC2. A repeated report
    /// changes nothing.
    pub fn report_launch_failed(
        &self,
        node: &NodeId,
        detail: &str,
        at: Timestamp,
    ) -> Result<Option<crate::Event>, DecideError> {
        self.check_node(node)?;
        match self.state {
            InstanceState::Pending if self.restarting => Ok(Some(
                InstanceStartFailed { node: node.clone(), reason: StateReason::start_failed(detail), at }
                    .into(),
            )),
            InstanceState::Pending | InstanceState::ShuttingDown => Ok(Some(
                InstanceLaunchFailed { node: node.clone(), reason: StateReason::launch_failed(detail), at }
                    .into(),
            )),
            InstanceState::Terminated | InstanceState::Stopped => Ok(None),
            _ => Err(self.illegal("report launch failure")),
        }
    }
}

impl dyn StateView + '_ {
    pub fn instance(&self, instance: &InstanceId) -> Option<&Instance> {
        match self.get(&StreamId::instance(instance)) {
            Some(Aggregate::Instance(i)) => Some(i),
            _ => None,
        }
    }
}
