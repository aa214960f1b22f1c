//! What node executors report on the instances placed on them (the node
//! protocol's `NodeReport`, one command per outcome), and what it means
//! for everything the instance holds.

use super::release::{release_all, release_capacity, release_public_address};
use super::state::Instance;
use crate::aggregate::{StateView, need};
use crate::command::Command;
use crate::decide::Events;
use crate::error::DecideError;
use crate::event::Event;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

/// What a node executor saw happen to an instance placed on it, as the
/// node protocol carries it; [`Command::from`] makes it the command of its
/// outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeReport {
    pub node: NodeId,
    pub zone: ZoneName,
    pub instance: InstanceId,
    /// The launch attempt of the instance the node acted on
    /// (`Instance::attempt`): a report of an earlier attempt than the
    /// current one is ignored. `None` from a node that does not say (an
    /// older one): taken as the current attempt.
    pub attempt: Option<u32>,
    pub outcome: NodeOutcome,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeOutcome {
    Running,
    Terminated,
    Stopped,
    /// The guest shut itself down.
    PoweredOff,
    LaunchFailed(String),
}

/// A node's report on an instance placed on it: who says it, about which
/// launch attempt. The command says what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceReport {
    pub node: NodeId,
    pub zone: ZoneName,
    pub instance: InstanceId,
    /// See [`NodeReport::attempt`].
    pub attempt: Option<u32>,
    pub at: Timestamp,
}

/// The node could not start the guest, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchFailure {
    pub report: InstanceReport,
    pub detail: String,
}

impl From<NodeReport> for Command {
    fn from(r: NodeReport) -> Command {
        let report =
            InstanceReport { node: r.node, zone: r.zone, instance: r.instance, attempt: r.attempt, at: r.at };
        match r.outcome {
            NodeOutcome::Running => Command::ReportInstanceRunning(report),
            NodeOutcome::Terminated => Command::ReportInstanceTerminated(report),
            NodeOutcome::Stopped => Command::ReportInstanceStopped(report),
            NodeOutcome::PoweredOff => Command::ReportInstancePoweredOff(report),
            NodeOutcome::LaunchFailed(detail) => {
                Command::ReportLaunchFailed(LaunchFailure { report, detail })
            }
        }
    }
}

impl InstanceReport {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::instance(&self.instance), StreamId::cluster(&self.zone), StreamId::network()]
    }
}

impl LaunchFailure {
    pub fn streams(&self) -> Vec<StreamId> {
        self.report.streams()
    }
}

pub(crate) fn report_running(r: &InstanceReport, view: &dyn StateView) -> Result<Events, DecideError> {
    report(view, r, true, |i| Ok(i.report_running(&r.node, r.at)?.into_iter().collect()))
}

/// A termination is the same whatever the attempt: there is one.
pub(crate) fn report_terminated(r: &InstanceReport, view: &dyn StateView) -> Result<Events, DecideError> {
    report(view, r, false, |i| Ok(i.report_terminated(&r.node, r.at)?.into_iter().collect()))
}

pub(crate) fn report_stopped(r: &InstanceReport, view: &dyn StateView) -> Result<Events, DecideError> {
    report(view, r, true, |i| Ok(i.report_stopped(&r.node, r.at)?.into_iter().collect()))
}

pub(crate) fn report_powered_off(r: &InstanceReport, view: &dyn StateView) -> Result<Events, DecideError> {
    report(view, r, true, |i| i.report_powered_off(&r.node, r.at))
}

pub(crate) fn report_launch_failed(f: &LaunchFailure, view: &dyn StateView) -> Result<Events, DecideError> {
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
    let runs = matches!(last, Event::InstanceRunning(_));
    let ends = matches!(last, Event::InstanceTerminated(_) | Event::InstanceLaunchFailed(_));
    let stops = matches!(last, Event::InstanceStopped(_) | Event::InstanceStartFailed(_));
    if instance.zone.as_ref() != Some(&r.zone) {
        return Err(DecideError::UnknownZone(r.zone.clone()));
    }
    let mut events: Events = facts.into_iter().map(|e| (StreamId::instance(&r.instance), e)).collect();
    if runs {
        // The volumes made for it at launch are attached once it runs.
        events.extend(crate::volumes::attach_planned(view, instance, r.at)?);
    } else if ends {
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
