//! A second executor over the same log: reconciliation on start.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_lost_guests_come_back_quietly_and_stray_guests_are_destroyed() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let first_sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let first = Recorder::new(&controller, &first_sim);
    let lost = controller.launch(&here()).await;
    let crashed = controller.launch(&here()).await;
    let ended = controller.launch(&here()).await;
    let theirs = controller.launch(&elsewhere()).await;
    let executor = start(&controller, &first_sim, &first, config(Duration::from_secs(30)));
    eventually("three instances running", || {
        [&lost, &crashed, &ended].iter().all(|id| controller.state(id) == Some(InstanceState::Running))
    })
    .await;
    controller.terminate(&ended).await;
    eventually("one terminated", || controller.state(&ended) == Some(InstanceState::Terminated)).await;
    executor.stop().await;

    // The new host state: `lost`'s guest vanished with the old process;
    // `crashed`'s guest is there but crashed; leftovers of a terminated
    // instance, of another node's instance and of an unknown one remain.
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let stray = InstanceId::from_bits(0xdead_beef);
    for id in [&crashed, &ended, &theirs, &stray] {
        sim.start(&spec_of(id)).unwrap();
    }
    assert!(sim.crash(&crashed));
    let recorder = Recorder::new(&controller, &sim);
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("the lost guest back and the strays gone", || {
        sim.state(&lost).unwrap() != GuestState::Absent
            && [&ended, &theirs, &stray].iter().all(|id| sim.state(id).unwrap() == GuestState::Absent)
    })
    .await;
    settle().await;

    // The crashed guest of a running instance is reported as powered off
    // (its shutdown behavior is `stop`): the instance ends stopped.
    eventually("the crashed instance stopped", || controller.state(&crashed) == Some(InstanceState::Stopped))
        .await;
    let calls = recorder.calls().await;
    let outcomes: Vec<(&InstanceId, &NodeOutcome)> =
        calls.iter().map(|c| (&c.report.instance, &c.report.outcome)).collect();
    assert_eq!(outcomes, vec![(&crashed, &NodeOutcome::PoweredOff)], "only the crashed guest is reported");
    assert_eq!(sim.guests_defined(), 5, "four by hand, `lost` once");
    assert_eq!(sim.list().unwrap(), vec![lost.clone()], "the stopped guest is stopped, the strays gone");
    assert_eq!(controller.state(&lost), Some(InstanceState::Running));
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_left_from_before_a_restart_is_finished_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(30)));
    // While no executor runs: one instance is placed and never started,
    // one was started but its running report never made it, one was asked
    // to terminate while its guest was up.
    let fresh = controller.launch(&here()).await;
    let unreported = controller.launch(&here()).await;
    let doomed = controller.launch(&here()).await;
    sim.start(&spec_of(&unreported)).unwrap();
    sim.start(&spec_of(&doomed)).unwrap();
    controller.terminate(&doomed).await;
    assert_eq!(controller.state(&doomed), Some(InstanceState::ShuttingDown));

    let recorder = Recorder::new(&controller, &sim);
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("all three settled in the log", || {
        controller.state(&fresh) == Some(InstanceState::Running)
            && controller.state(&unreported) == Some(InstanceState::Running)
            && controller.state(&doomed) == Some(InstanceState::Terminated)
    })
    .await;
    settle().await;

    assert_eq!(recorder.outcomes(&fresh).await, vec![(NodeOutcome::Running, true)]);
    assert_eq!(recorder.outcomes(&unreported).await, vec![(NodeOutcome::Running, true)]);
    assert_eq!(recorder.outcomes(&doomed).await, vec![(NodeOutcome::Terminated, true)]);
    assert_eq!(sim.guests_defined(), 3, "the unreported guest is not defined twice");
    assert_eq!(sim.state(&doomed).unwrap(), GuestState::Absent);
    assert_eq!(sim.len(), 2);
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_launched_after_the_replay_are_followed_live() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    let before = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("the first running", || controller.state(&before) == Some(InstanceState::Running)).await;
    let mut later = Vec::new();
    for _ in 0..20 {
        later.push(controller.launch(&here()).await);
    }
    eventually("all later ones running", || {
        later.iter().all(|id| controller.state(id) == Some(InstanceState::Running))
    })
    .await;
    for id in &later {
        controller.terminate(id).await;
    }
    eventually("all later ones terminated", || {
        later.iter().all(|id| controller.state(id) == Some(InstanceState::Terminated))
    })
    .await;
    settle().await;
    assert_eq!(sim.list().unwrap(), vec![before.clone()]);
    assert_eq!(recorder.calls().await.len(), 1 + 2 * later.len());
    for id in &later {
        assert_eq!(
            recorder.outcomes(id).await,
            vec![(NodeOutcome::Running, true), (NodeOutcome::Terminated, true)]
        );
    }
    executor.stop().await;
}
