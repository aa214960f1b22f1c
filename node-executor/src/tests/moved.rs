//! An instance started again on this node after a life on another (its
//! node answered no more): the executor, which dropped it when it was
//! placed elsewhere, reads its stream again and launches it, whether it
//! follows the log then or replays it at a start. Found by the
//! simulator once it ran two nodes.

use super::*;

/// Runs `id` on `elsewhere()`, stops it there, marks that node
/// unreachable and starts `id` again: it is placed here.
async fn move_here(controller: &Controller, id: &InstanceId) {
    let report = |outcome, at| NodeReport {
        node: elsewhere(),
        zone: zone(),
        instance: id.clone(),
        attempt: Some(1),
        outcome,
        at: Timestamp(at),
    };
    controller.execute(Command::from(report(NodeOutcome::Running, 10))).await.unwrap();
    controller.request(id, StateRequest::Stop { force: true }).await;
    controller.execute(Command::from(report(NodeOutcome::Stopped, 20))).await.unwrap();
    assert_eq!(controller.state(id), Some(InstanceState::Stopped));
    let silent = domain::command::MarkNodeUnreachable {
        zone: zone(),
        node: elsewhere(),
        last_heartbeat: Timestamp(20),
        at: Timestamp(30),
    };
    controller.execute(Command::MarkNodeUnreachable(silent)).await.unwrap();
    controller.request(id, StateRequest::Start).await;
    let placed = controller.instance(id).and_then(|i| i.node);
    assert_eq!(placed, Some(here()), "started again where there is a node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_moved_here_is_launched_while_following_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    let following = controller.launch(&elsewhere()).await;
    move_here(&controller, &following).await;
    eventually("the moved instance running here", || {
        controller.state(&following) == Some(InstanceState::Running)
    })
    .await;
    assert_eq!(sim.state(&following).unwrap(), GuestState::Running);
    executor.stop().await;

    // Moved while no executor ran here: the next one's replay adopts it
    // (and its guest is not destroyed as a stray).
    let replayed = controller.launch(&elsewhere()).await;
    move_here(&controller, &replayed).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("the other moved instance running here", || {
        controller.state(&replayed) == Some(InstanceState::Running)
    })
    .await;
    assert_eq!(sim.state(&following).unwrap(), GuestState::Running, "the first one's guest stays");
    assert_eq!(sim.guests_defined(), 2);
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_instance_started_on_another_node_leaves_no_guest_or_disk_here() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    let id = controller.launch(&here()).await;
    eventually("running here", || controller.state(&id) == Some(InstanceState::Running)).await;
    controller.request(&id, StateRequest::Stop { force: true }).await;
    eventually("stopped here", || controller.state(&id) == Some(InstanceState::Stopped)).await;
    assert!(sim.has_disk(&id), "a stopped instance keeps its disk");
    // This node goes silent (it was only cut off); the instance starts on
    // the other: its placement elsewhere reaches this executor, which lets
    // the guest and its disk go.
    let silent = domain::command::MarkNodeUnreachable {
        zone: zone(),
        node: here(),
        last_heartbeat: Timestamp(20),
        at: Timestamp(30),
    };
    controller.execute(Command::MarkNodeUnreachable(silent)).await.unwrap();
    controller.request(&id, StateRequest::Start).await;
    assert_eq!(controller.instance(&id).and_then(|i| i.node), Some(elsewhere()));
    eventually("the guest left here destroyed", || sim.is_empty() && !sim.has_disk(&id)).await;
    executor.stop().await;
}
