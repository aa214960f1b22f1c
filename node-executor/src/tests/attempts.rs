//! Every report names the launch attempt it carries out, counted from the
//! log as the domain counts it: live, and by an executor that replays the
//! log after a restart.

use super::*;

/// The reports about `id`, each as its outcome's name and its attempt.
async fn keyed(recorder: &Recorder, id: &InstanceId) -> Vec<(&'static str, Option<u32>)> {
    let name = |o: &NodeOutcome| match o {
        NodeOutcome::Running => "running",
        NodeOutcome::Terminated => "terminated",
        NodeOutcome::Stopped => "stopped",
        NodeOutcome::PoweredOff => "powered-off",
        NodeOutcome::LaunchFailed(_) => "launch-failed",
    };
    recorder
        .calls()
        .await
        .into_iter()
        .filter(|c| &c.report.instance == id)
        .map(|c| (name(&c.report.outcome), c.report.attempt))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_names_the_attempt_it_carries_out() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    let id = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("running", || controller.state(&id) == Some(InstanceState::Running)).await;
    // A reboot is no new attempt.
    controller.request(&id, StateRequest::Reboot).await;
    eventually("a reboot", || sim.reboots(&id) == Some(1)).await;
    controller.request(&id, StateRequest::Stop { force: true }).await;
    eventually("stopped", || controller.state(&id) == Some(InstanceState::Stopped)).await;
    controller.request(&id, StateRequest::Start).await;
    eventually("running again", || controller.state(&id) == Some(InstanceState::Running)).await;
    controller.request(&id, StateRequest::Stop { force: true }).await;
    eventually("stopped again", || controller.state(&id) == Some(InstanceState::Stopped)).await;
    sim.fail_start_of(id.clone(), "no room");
    controller.request(&id, StateRequest::Start).await;
    eventually("stopped after a failed start", || {
        controller.instance(&id).is_some_and(|i| i.state == InstanceState::Stopped && i.reason.is_some())
    })
    .await;
    sim.clear_failures();
    assert_eq!(
        keyed(&recorder, &id).await,
        [
            ("running", Some(1)),
            ("stopped", Some(1)),
            ("running", Some(2)),
            ("stopped", Some(2)),
            ("launch-failed", Some(3))
        ]
    );
    executor.stop().await;

    // A new executor folds the same log to the same count.
    let recorder = Recorder::new(&controller, &sim);
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    controller.request(&id, StateRequest::Start).await;
    eventually("running after the restart", || controller.state(&id) == Some(InstanceState::Running)).await;
    assert!(sim.crash(&id));
    eventually("stopped after its guest went down", || controller.state(&id) == Some(InstanceState::Stopped))
        .await;
    controller.terminate(&id).await;
    eventually("terminated", || controller.state(&id) == Some(InstanceState::Terminated)).await;
    assert_eq!(
        keyed(&recorder, &id).await,
        [("running", Some(4)), ("powered-off", Some(4)), ("terminated", Some(4))]
    );
    assert_eq!(controller.instance(&id).unwrap().attempt, 4);
    executor.stop().await;
}
