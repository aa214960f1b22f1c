//! What node executors report, and what it means for everything the
//! instance holds.

use super::{need, release_all, release_capacity, release_public_address};
use crate::aggregate::StateView;
use crate::aggregates::Instance;
use crate::command::*;
use crate::error::DecideError;
use crate::event::*;
use crate::stream::StreamId;

type Events = Vec<(StreamId, Event)>;

pub(super) fn running(r: &InstanceReport, view: &dyn StateView) -> Result<Events, DecideError> {
    report(view, r, true, |i| Ok(i.report_running(&r.node, r.at)?.into_iter().collect()))
}

/// A termination is the same whatever the attempt: there is one.
pub(super) fn terminated(r: &InstanceReport, view: &dyn StateView) -> Result<Events, DecideError> {
    report(view, r, false, |i| Ok(i.report_terminated(&r.node, r.at)?.into_iter().collect()))
}

pub(super) fn stopped(r: &InstanceReport, view: &dyn StateView) -> Result<Events, DecideError> {
    report(view, r, true, |i| Ok(i.report_stopped(&r.node, r.at)?.into_iter().collect()))
}

pub(super) fn powered_off(r: &InstanceReport, view: &dyn StateView) -> Result<Events, DecideError> {
    report(view, r, true, |i| i.report_powered_off(&r.node, r.at))
}

pub(super) fn launch_failed(f: &LaunchFailure, view: &dyn StateView) -> Result<Events, DecideError> {
    let r = &f.report;
    report(view, r, true, |i| Ok(i.report_launch_failed(&r.node, &f.detail, r.at)?.into_iter().collect()))
}

/// The instance's own `facts` on what the node saw, and what they mean
/// for everything it holds. A late report of an earlier launch attempt
/// than the current one (`keyed`: one that depends on the attempt) is
/// ignored, not refused, so the node does not retry it.
fn report(
    view: &dyn StateView,
    r: &InstanceReport,
    keyed: bool,
    facts: impl FnOnce(&Instance) -> Result<Vec<Event>, DecideError>,
) -> Result<Events, DecideError> {
    let instance =
        view.instance(&r.instance).ok_or_else(|| DecideError::InstanceNotFound(vec![r.instance.clone()]))?;
    if instance.is_earlier_attempt(&r.node, r.attempt)? && keyed {
        return Ok(Vec::new());
    }
    let facts = facts(instance)?;
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
