//! Reports keyed by launch attempt: a late report of an earlier launch of
//! an instance (a node retrying, an executor catching up) changes nothing
//! of the current one, and is not refused either (the node must not retry
//! it forever).

use super::lifecycle::{cloud, instance, running, stopped};
use super::samples::*;
use super::*;
use crate::command::*;

fn ask(g: &mut Given, id: &InstanceId, request: StateRequest) {
    g.then_apply(&change(admin(), std::slice::from_ref(id), request)).unwrap();
}

fn failed() -> NodeOutcome {
    NodeOutcome::LaunchFailed("the domain does not start".into())
}

#[test]
fn an_instance_counts_its_launches_and_a_reboot_is_not_one() {
    let mut g = cloud(4);
    let id = running(&mut g, 1);
    assert_eq!(instance(&g, &id).attempt, 1);
    ask(&mut g, &id, StateRequest::Reboot);
    assert_eq!(instance(&g, &id).attempt, 1);
    ask(&mut g, &id, StateRequest::Stop { force: true });
    g.then_apply(&report_of(&id, 1, NodeOutcome::Stopped)).unwrap();
    assert_eq!(instance(&g, &id).attempt, 1);
    ask(&mut g, &id, StateRequest::Start);
    assert_eq!(instance(&g, &id).attempt, 2);
    g.then_apply(&report_of(&id, 2, failed())).unwrap();
    assert_eq!((instance(&g, &id).state, instance(&g, &id).attempt), (InstanceState::Stopped, 2));
    ask(&mut g, &id, StateRequest::Start);
    assert_eq!(instance(&g, &id).attempt, 3);
    // A start of a pending instance changes nothing, so it is no attempt.
    ask(&mut g, &id, StateRequest::Start);
    assert_eq!(instance(&g, &id).attempt, 3);
}

/// A start fails, the user starts again, and the node's retried failure of
/// the first start arrives: the second start goes on.
#[test]
fn an_old_launch_failure_does_not_fail_a_new_start() {
    let mut g = cloud(4);
    let id = stopped(&mut g, 1);
    ask(&mut g, &id, StateRequest::Start);
    let d = g.then_apply(&report_of(&id, 2, failed())).unwrap();
    assert_eq!(event_types(&d)[0], "InstanceStartFailed");
    // The same report again, still of the current attempt: nothing.
    assert!(g.when(&report_of(&id, 2, failed())).unwrap().events.is_empty());

    ask(&mut g, &id, StateRequest::Start);
    let d = g.then_apply(&report_of(&id, 2, failed())).unwrap();
    assert!(d.events.is_empty(), "{:?}", event_types(&d));
    let i = instance(&g, &id);
    assert_eq!((i.state, i.reason.clone(), i.attempt), (InstanceState::Pending, None, 3));
    // Without the attempt number, the same report would fail this start.
    let unkeyed = g.when(&report(&id, failed())).unwrap();
    assert_eq!(event_types(&unkeyed)[0], "InstanceStartFailed");

    let d = g.then_apply(&report_of(&id, 3, NodeOutcome::Running)).unwrap();
    assert_eq!(event_types(&d), ["InstanceRunning"]);
    assert!(g.when(&report_of(&id, 3, NodeOutcome::Running)).unwrap().events.is_empty());
}

/// The running report of a first launch arrives after a stop and a start:
/// the new guest is not running until its own report says so.
#[test]
fn an_old_running_report_does_not_mark_a_new_start_running() {
    let mut g = cloud(4);
    let id = stopped(&mut g, 1);
    ask(&mut g, &id, StateRequest::Start);
    let d = g.then_apply(&report_of(&id, 1, NodeOutcome::Running)).unwrap();
    assert!(d.events.is_empty(), "{:?}", event_types(&d));
    assert_eq!(instance(&g, &id).state, InstanceState::Pending);

    let d = g.then_apply(&report_of(&id, 2, NodeOutcome::Running)).unwrap();
    assert_eq!(event_types(&d), ["InstanceRunning"]);
    assert_eq!(instance(&g, &id).state, InstanceState::Running);
    // Repeated, and late old ones: nothing, and no error.
    assert!(g.when(&report_of(&id, 2, NodeOutcome::Running)).unwrap().events.is_empty());
    assert!(g.when(&report_of(&id, 1, NodeOutcome::Running)).unwrap().events.is_empty());
}

/// The stop of a first run is reported late, while the second run is
/// stopping or running: it stops nothing.
#[test]
fn an_old_stop_or_power_off_does_not_stop_the_new_guest() {
    let mut g = cloud(4);
    let id = stopped(&mut g, 1);
    ask(&mut g, &id, StateRequest::Start);
    g.then_apply(&report_of(&id, 2, NodeOutcome::Running)).unwrap();
    for old in [NodeOutcome::Stopped, NodeOutcome::PoweredOff, failed()] {
        let d = g.when(&report_of(&id, 1, old.clone())).unwrap();
        assert!(d.events.is_empty(), "{old:?}: {:?}", event_types(&d));
    }
    // Unkeyed, the power-off would have stopped the new guest.
    assert_eq!(event_types(&g.when(&report(&id, NodeOutcome::PoweredOff)).unwrap())[1], "InstanceStopped");

    ask(&mut g, &id, StateRequest::Stop { force: false });
    assert!(g.when(&report_of(&id, 1, NodeOutcome::Stopped)).unwrap().events.is_empty());
    assert!(g.when(&report_of(&id, 1, NodeOutcome::PoweredOff)).unwrap().events.is_empty());
    assert_eq!(instance(&g, &id).state, InstanceState::Stopping);
    let d = g.then_apply(&report_of(&id, 2, NodeOutcome::Stopped)).unwrap();
    assert_eq!(event_types(&d)[0], "InstanceStopped");
    assert!(g.when(&report_of(&id, 2, NodeOutcome::Stopped)).unwrap().events.is_empty());
}

/// There is one termination whatever the attempt: its report counts even
/// when it names an earlier attempt.
#[test]
fn a_termination_counts_from_any_attempt() {
    let mut g = cloud(4);
    let id = stopped(&mut g, 1);
    ask(&mut g, &id, StateRequest::Start);
    ask(&mut g, &id, StateRequest::Terminate);
    let d = g.then_apply(&report_of(&id, 1, NodeOutcome::Terminated)).unwrap();
    assert_eq!(event_types(&d)[0], "InstanceTerminated");
    assert_eq!(instance(&g, &id).state, InstanceState::Terminated);
    assert!(g.when(&report_of(&id, 2, NodeOutcome::Terminated)).unwrap().events.is_empty());
}

/// An attempt that was never made is refused; a report from a node the
/// instance is not on is refused whatever its attempt.
#[test]
fn a_report_of_an_attempt_never_made_or_of_another_node_is_refused() {
    let mut g = cloud(4);
    let id = running(&mut g, 1);
    for attempt in [0, 2] {
        assert_eq!(
            g.when(&report_of(&id, attempt, NodeOutcome::Terminated)),
            Err(DecideError::UnknownAttempt { instance: id.clone(), attempt, current: 1 })
        );
    }
    ask(&mut g, &id, StateRequest::Stop { force: true });
    g.then_apply(&report_of(&id, 1, NodeOutcome::Stopped)).unwrap();
    ask(&mut g, &id, StateRequest::Start);
    let Command::ReportInstanceRunning(mut elsewhere) = report_of(&id, 1, NodeOutcome::Running) else {
        unreachable!()
    };
    elsewhere.node = NodeId::from_bits(0xfff);
    assert_eq!(
        g.when(&Command::ReportInstanceRunning(elsewhere)),
        Err(DecideError::NotPlacedOnNode { instance: id.clone(), node: NodeId::from_bits(0xfff) })
    );
}
