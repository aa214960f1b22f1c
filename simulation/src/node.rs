//! The simulated node: what a node executor reports about the guests
//! placed on it, one report at a time, in an order drawn from the seed
//! (reports arrive late and reordered), and none while it is cut off from
//! the controller (a partition).

use domain::command::{NodeOutcome, NodeReport};
use domain::{Command, InstanceId, InstanceState, NodeId, Principal, ZoneName};
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

/// The report of one guest's step, chosen at random among those due; a
/// launch fails now and then.
pub fn next_report(
    models: &ReadModels,
    node: &NodeId,
    zone: &ZoneName,
    rng: &mut StdRng,
    at: domain::Timestamp,
) -> Option<Command> {
    let due = due(models, node);
    if due.is_empty() {
        return None;
    }
    let (instance, state) = due[rng.gen_range(0..due.len())].clone();
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
    due(models, node).is_empty()
}

/// Who reports.
pub fn principal() -> Principal {
    Principal::system("node-executor")
}
