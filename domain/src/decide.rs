//! `decide(command, state) -> events`: what a command decided, and the one
//! entry point. Every rule is applied in the area that owns it (the
//! registry sends each command to its area's decide function).

use crate::aggregate::StateView;
use crate::cloud::VmType;
use crate::command::Command;
use crate::error::DecideError;
use crate::event::Event;
use crate::ids::*;
use crate::instances::InstanceState;
use crate::stream::StreamId;

/// The events a decision appends, each with its stream, in order.
pub(crate) type Events = Vec<(StreamId, Event)>;

/// What a command decided: the events to append (each with its stream) and
/// what to tell the caller.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub events: Vec<(StreamId, Event)>,
    pub reply: Reply,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Done,
    /// RunInstances: the reservation; `replayed` when a client token matched
    /// an earlier call and nothing new was launched.
    Launched {
        reservation: ReservationId,
        instances: Vec<InstanceId>,
        replayed: bool,
    },
    /// Terminate/Stop/Start/RebootInstances: previous and current state.
    StateChanges(Vec<StateChange>),
    /// An elastic IP was named by address; this is its allocation.
    Address {
        allocation: AllocationId,
        address: String,
    },
    /// A security group was named; this is its id.
    Group(SecurityGroupId),
    /// ModifyInstanceTypeAttribute: the type as it is now, and as it was.
    VmType {
        vm_type: VmType,
        previous: Option<VmType>,
    },
    /// An S3 object version stored or deleted: its version id (none on a
    /// bucket never versioned), whether it is (or was) a delete marker,
    /// and the stored object's ETag.
    Object {
        version: Option<String>,
        delete_marker: bool,
        etag: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct StateChange {
    pub instance: InstanceId,
    pub previous: InstanceState,
    pub current: InstanceState,
}

/// Events alone: nothing to tell the caller but that it was done.
impl From<Events> for Decision {
    fn from(events: Events) -> Decision {
        Decision { events, reply: Reply::Done }
    }
}

/// Decides `command` over the streams in `view`: the events that happen,
/// a refusal, or [`DecideError::NeedStreams`] (see [`crate::drive`]).
pub fn decide(command: &Command, view: &dyn StateView) -> Result<Decision, DecideError> {
    command.decide(view)
}
