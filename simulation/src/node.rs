//! The simulated node: what a node executor reports about the guests
//! placed on it, one report at a time, in an order drawn from the seed
//! (reports arrive late and reordered), and none while it is cut off from
//! the controller (a partition).

use domain::command::{NodeOutcome, NodeReport};
use domain::volumes::{AttachmentFailure, AttachmentReport, AttachmentState};
use domain::{Command, InstanceId, InstanceState, NodeId, Principal, VolumeId, ZoneName};
use projections::ReadModels;
use rand::Rng;
use rand::rngs::StdRng;

/// The instances on `node` whose next step is the node's, with what it
/// reports once the step is done.
fn due(models: &ReadModels, node: &NodeId) -> Vec<(InstanceId, InstanceState)> {
    let mut due: Vec<(InstanceId, InstanceState)> = models
        .instances
        .rows
        .values()
        .filter(|row| row.node.as_ref() == Some(node))
        .filter(|row| {
            matches!(
                row.state,
                InstanceState::Pending | InstanceState::Stopping | InstanceState::ShuttingDown
            )
        })
        .map(|row| (row.id.clone(), row.state))
        .collect();
    // The read models keep instances in a hash map: sorted, one seed
    // picks the same one every run.
    due.sort();
    due
}

/// The attachments of volumes to instances on `node` whose next step is
/// the node's: plug in a volume exported to it (true), or unplug one being
/// detached (false).
fn attachments_due(models: &ReadModels, node: &NodeId) -> Vec<(VolumeId, InstanceId, bool)> {
    models
        .volumes
        .volumes
        .iter()
        .filter_map(|(volume, row)| {
            let a = row.attachment.as_ref()?;
            let here =
                models.instances.get(a.instance.as_str()).is_some_and(|i| i.node.as_ref() == Some(node));
            let plug = match a.state {
                AttachmentState::Attaching if a.exported => true,
                AttachmentState::Detaching if !a.released && !a.forced => false,
                _ => return None,
            };
            here.then(|| (volume.clone(), a.instance.clone(), plug))
        })
        .collect()
}

/// The report of one guest's step, chosen at random among those due; a
/// launch fails now and then, and so does plugging in a volume.
pub fn next_report(
    models: &ReadModels,
    node: &NodeId,
    zone: &ZoneName,
    rng: &mut StdRng,
    at: domain::Timestamp,
) -> Option<Command> {
    let due = due(models, node);
    let attachments = attachments_due(models, node);
    if due.is_empty() && attachments.is_empty() {
        return None;
    }
    let pick = rng.gen_range(0..due.len() + attachments.len());
    if let Some((volume, instance, plug)) = attachments.get(pick.wrapping_sub(due.len())).cloned() {
        let report = AttachmentReport { node: node.clone(), instance, volume, at };
        return Some(match plug {
            true if rng.gen_ratio(1, 20) => Command::ReportVolumeAttachFailed(AttachmentFailure {
                report,
                reason: "the simulated hypervisor could not plug the disk in".into(),
            }),
            true => Command::ReportVolumeAttached(report),
            false => Command::ReportVolumeDetached(report),
        });
    }
    let (instance, state) = due[pick].clone();
    let outcome = match state {
        InstanceState::Pending if rng.gen_ratio(1, 20) => {
            NodeOutcome::LaunchFailed("the simulated hypervisor refused the guest".into())
        }
        InstanceState::Pending => NodeOutcome::Running,
        InstanceState::Stopping => NodeOutcome::Stopped,
        _ => NodeOutcome::Terminated,
    };
    let report = NodeReport { node: node.clone(), zone: zone.clone(), instance, attempt: None, outcome, at };
    Some(Command::from(report))
}

/// Are any guests still between two states?
pub fn settled(models: &ReadModels, node: &NodeId) -> bool {
    due(models, node).is_empty() && attachments_due(models, node).is_empty()
}

/// Who reports.
pub fn principal() -> Principal {
    Principal::system("node-executor")
}
