//! What node executors report, and what it means for everything the
//! instance holds.

use super::{need, release_all, release_capacity, release_public_address};
use crate::aggregate::StateView;
use crate::command::*;
use crate::error::DecideError;
use crate::event::*;
use crate::stream::StreamId;

type Events = Vec<(StreamId, Event)>;

pub(super) fn report_instance(r: &NodeReport, view: &dyn StateView) -> Result<Events, DecideError> {
    let instance =
        view.instance(&r.instance).ok_or_else(|| DecideError::InstanceNotFound(vec![r.instance.clone()]))?;
    // A late report of an earlier launch attempt (a node retrying, or an
    // executor catching up) must not change the current one: it is
    // ignored, not refused, so the node does not retry it. Only a
    // termination is the same whatever the attempt: there is one.
    let keyed = !matches!(r.outcome, NodeOutcome::Terminated);
    if instance.is_earlier_attempt(&r.node, r.attempt)? && keyed {
        return Ok(Vec::new());
    }
    let own = |e: Option<Event>| e.into_iter().collect::<Vec<Event>>();
    let facts: Vec<Event> = match &r.outcome {
        NodeOutcome::Running => own(instance.report_running(&r.node, r.at)?),
        NodeOutcome::Terminated => own(instance.report_terminated(&r.node, r.at)?),
        NodeOutcome::Stopped => own(instance.report_stopped(&r.node, r.at)?),
        NodeOutcome::PoweredOff => instance.report_powered_off(&r.node, r.at)?,
        NodeOutcome::LaunchFailed(detail) => own(instance.report_launch_failed(&r.node, detail, r.at)?),
    };
    let Some(last) = facts.last() else { return Ok(Vec::new()) };
    let ends = matches!(last, Event::InstanceTerminated(_) | Event::InstanceLaunchFailed(_));
    let stops = matches!(last, Event::InstanceStopped(_) | Event::InstanceStartFailed(_));
    if instance.zone.as_ref() != Some(&r.zone) {
        return Err(DecideError::UnknownZone(r.zone.clone()));
    }
    let mut events: Events = facts.into_iter().map(|e| (StreamId::instance(&r.instance), e)).collect();
    if ends {
        events.extend(release_all(view, instance, r.at)?);
    } else if stops {
        // A stopped instance (or one whose start failed) keeps its private
        // address and elastic IP, and gives back its room and its
        // auto-assigned public address.
        need(view, [StreamId::cluster(&r.zone), StreamId::network()])?;
        events.extend(release_capacity(view, instance));
        if instance.elastic.is_none() {
            events.extend(release_public_address(view, instance, r.at));
        }
    }
    Ok(events)
}
