//! An instance and the EC2 state machine. Every transition is decided here;
//! `apply` only records what was decided.

use crate::error::DecideError;
use crate::event::*;
use crate::ids::{AccountId, ImageId, InstanceId, NodeId, ReservationId, ZoneName};
use crate::model::{InstanceState, Resources, StateReason, Timestamp, VmType};

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
}

impl Instance {
    pub(crate) fn new(e: &InstanceRequested) -> Self {
        Instance {
            id: e.instance.clone(),
            account: e.account.clone(),
            reservation: e.reservation.clone(),
            image: e.image.clone(),
            vm_type: e.vm_type.clone(),
            state: InstanceState::Pending,
            node: None,
            zone: None,
            reason: None,
            requested_at: e.at,
        }
    }

    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::InstancePlaced(e) => {
                self.node = Some(e.node.clone());
                self.zone = Some(e.zone.clone());
            }
            Event::InstanceRunning(_) => self.state = InstanceState::Running,
            Event::InstanceTerminationRequested(_) => {
                self.state = InstanceState::ShuttingDown;
                self.reason = Some(StateReason::user_terminated());
            }
            Event::InstanceTerminated(e) => {
                self.state = InstanceState::Terminated;
                self.reason = Some(e.reason.clone());
            }
            Event::InstanceLaunchFailed(e) => {
                self.state = InstanceState::Terminated;
                self.reason = Some(e.reason.clone());
            }
            _ => {}
        }
    }

    pub fn resources(&self) -> Resources {
        Resources::of(&self.vm_type)
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
    pub fn request_termination(&self, at: Timestamp) -> Option<Event> {
        match self.state {
            InstanceState::Pending
            | InstanceState::Running
            | InstanceState::Stopping
            | InstanceState::Stopped => Some(InstanceTerminationRequested { at }.into()),
            InstanceState::ShuttingDown | InstanceState::Terminated => None,
        }
    }

    /// The node says the guest is up. A repeated report changes nothing.
    pub fn report_running(&self, node: &NodeId, at: Timestamp) -> Result<Option<Event>, DecideError> {
        self.check_node(node)?;
        match self.state {
            InstanceState::Pending => Ok(Some(InstanceRunning { node: node.clone(), at }.into())),
            InstanceState::Running => Ok(None),
            _ => Err(self.illegal("report running")),
        }
    }

    /// The node says the guest is gone after a termination request.
    pub fn report_terminated(&self, node: &NodeId, at: Timestamp) -> Result<Option<Event>, DecideError> {
        self.check_node(node)?;
        match self.state {
            InstanceState::ShuttingDown => {
                Ok(Some(InstanceTerminated { reason: StateReason::user_terminated(), at }.into()))
            }
            InstanceState::Terminated => Ok(None),
            _ => Err(self.illegal("report terminated")),
        }
    }

    /// The node could not start the guest.
    pub fn report_launch_failed(
        &self,
        node: &NodeId,
        detail: &str,
        at: Timestamp,
    ) -> Result<Option<Event>, DecideError> {
        self.check_node(node)?;
        match self.state {
            InstanceState::Pending | InstanceState::ShuttingDown => Ok(Some(
                InstanceLaunchFailed { node: node.clone(), reason: StateReason::launch_failed(detail), at }
                    .into(),
            )),
            InstanceState::Terminated => Ok(None),
            _ => Err(self.illegal("report launch failure")),
        }
    }
}
