//! One executor, live: launch, run, terminate, fail, and report retries.

use super::*;
use std::time::SystemTime;

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_instance_placed_here_is_started_and_reported_running_once_after_booting() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let boot_delay = Duration::from_millis(150);
    let sim = Arc::new(SimDriver::new(boot_delay));
    let recorder = Recorder::new(&controller, &sim);
    let mine = controller.launch(&here()).await;
    let theirs = controller.launch(&elsewhere()).await;

    let (before, t0) = (wall_ms(), Instant::now());
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("the instance to be running in the log", || {
        controller.state(&mine) == Some(InstanceState::Running)
    })
    .await;

    let calls = recorder.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call.report.instance, mine);
    assert_eq!(call.report.outcome, NodeOutcome::Running);
    assert_eq!((&call.report.node, &call.report.zone), (&here(), &zone()));
    assert!(call.result.is_ok(), "{call:?}");
    assert_eq!(call.guest, GuestState::Running, "reported before the guest was up");
    assert!(
        call.when - t0 >= boot_delay,
        "reported {:?} after start, before the guest booted",
        call.when - t0
    );
    assert!(
        (before..=wall_ms()).contains(&call.report.at.millis()),
        "`at` is not the wall clock: {:?}",
        call.report.at
    );
    assert_eq!(sim.list().unwrap(), vec![mine.clone()]);
    assert_eq!(sim.state(&mine).unwrap(), GuestState::Running);

    // Nothing more happens: no second report, nothing for the other node's instance.
    settle().await;
    assert_eq!(recorder.calls().await.len(), 1);
    assert_eq!(sim.state(&theirs).unwrap(), GuestState::Absent);
    assert_eq!(controller.state(&theirs), Some(InstanceState::Pending));
    assert_eq!(sim.guests_defined(), 1);

    executor.stop().await;
    // Shutdown leaves guests alone.
    assert_eq!(sim.state(&mine).unwrap(), GuestState::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_destroys_the_guest_and_reports_terminated() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    let keep = controller.launch(&here()).await;
    let gone = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("both instances running", || {
        controller.state(&keep) == Some(InstanceState::Running)
            && controller.state(&gone) == Some(InstanceState::Running)
    })
    .await;
    assert_eq!(sim.len(), 2);

    controller.terminate(&gone).await;
    eventually("the instance terminated in the log", || {
        controller.state(&gone) == Some(InstanceState::Terminated)
    })
    .await;

    assert_eq!(sim.state(&gone).unwrap(), GuestState::Absent);
    assert_eq!(sim.list().unwrap(), vec![keep.clone()], "only the terminated guest is destroyed");
    assert_eq!(
        recorder.outcomes(&gone).await,
        vec![(NodeOutcome::Running, true), (NodeOutcome::Terminated, true)]
    );
    assert_eq!(controller.instance(&gone).unwrap().reason, Some(StateReason::user_terminated()));
    settle().await;
    let calls = recorder.calls().await;
    assert_eq!(calls.len(), 3, "{calls:?}");
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_termination_while_the_guest_boots_destroys_it_and_reports_terminated_only() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    // The guest would take an hour to boot.
    let sim = Arc::new(SimDriver::new(Duration::from_secs(3600)));
    let recorder = Recorder::new(&controller, &sim);
    let id = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(3600)));
    eventually("the guest booting", || sim.state(&id).unwrap() == GuestState::Booting).await;

    controller.terminate(&id).await;
    eventually("the instance terminated in the log", || {
        controller.state(&id) == Some(InstanceState::Terminated)
    })
    .await;

    assert!(sim.is_empty(), "guest left behind: {:?}", sim.list().unwrap());
    assert_eq!(recorder.outcomes(&id).await, vec![(NodeOutcome::Terminated, true)]);
    settle().await;
    assert_eq!(recorder.calls().await.len(), 1);
    assert!(sim.is_empty());
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_is_reported_as_a_launch_failure_with_the_drivers_reason() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    sim.fail_next_start("no space left for the root disk");
    let recorder = Recorder::new(&controller, &sim);
    let id = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("the instance terminated in the log", || {
        controller.state(&id) == Some(InstanceState::Terminated)
    })
    .await;

    let outcomes = recorder.outcomes(&id).await;
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    match &outcomes[0] {
        (NodeOutcome::LaunchFailed(reason), true) => {
            assert!(reason.contains("no space left for the root disk"), "{reason}");
            assert!(reason.contains(id.as_str()), "{reason}");
        }
        other => panic!("expected an accepted launch failure, got {other:?}"),
    }
    let reason = controller.instance(&id).unwrap().reason.unwrap();
    assert!(reason.message.contains("no space left for the root disk"), "{reason:?}");
    assert!(sim.is_empty());
    assert!(!sim.has_disk(&id), "a failed first launch leaves no disk behind");
    settle().await;
    assert_eq!(recorder.calls().await.len(), 1);
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_does_not_boot_in_time_is_destroyed_and_reported_as_a_launch_failure() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_secs(3600)));
    let recorder = Recorder::new(&controller, &sim);
    let id = controller.launch(&here()).await;
    let t0 = Instant::now();
    let timeout = Duration::from_millis(200);
    let executor = start(&controller, &sim, &recorder, config(timeout));
    eventually("the instance terminated in the log", || {
        controller.state(&id) == Some(InstanceState::Terminated)
    })
    .await;

    let calls = recorder.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        matches!(&calls[0].report.outcome, NodeOutcome::LaunchFailed(r) if r.contains("did not boot within"))
    );
    assert!(calls[0].when - t0 >= timeout);
    assert_eq!(calls[0].guest, GuestState::Absent, "reported before the guest was destroyed");
    assert!(sim.is_empty());
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_controller_is_retried_until_the_report_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    recorder.unavailable.store(3, Ordering::SeqCst);
    let id = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("the instance running in the log", || controller.state(&id) == Some(InstanceState::Running))
        .await;

    let calls = recorder.calls().await;
    let results: Vec<_> = calls.iter().map(|c| c.result.clone()).collect();
    assert_eq!(results.len(), 4, "{calls:?}");
    assert!(results[..3].iter().all(|r| matches!(r, Err(ReportError::Unavailable(_)))), "{results:?}");
    assert_eq!(results[3], Ok(()));
    assert!(calls.iter().all(|c| c.report.outcome == NodeOutcome::Running && c.report.instance == id));
    assert!(calls.iter().all(|c| c.report.at == calls[0].report.at), "retries carry the time it was seen");
    // Backoff: 50 + 100 + 200 ms at least between the first and the last try.
    assert!(
        calls[3].when - calls[0].when >= Duration::from_millis(350),
        "{:?}",
        calls[3].when - calls[0].when
    );
    settle().await;
    assert_eq!(recorder.calls().await.len(), 4);
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_report_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    recorder.refuse.store(true, Ordering::SeqCst);
    let id = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("a report", || !recorder.calls_now().is_empty()).await;
    settle().await;

    let calls = recorder.calls().await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(matches!(calls[0].result, Err(ReportError::Refused(_))));
    assert_eq!(controller.state(&id), Some(InstanceState::Pending));
    // The guest itself is up; only the report was refused.
    assert_eq!(sim.state(&id).unwrap(), GuestState::Running);
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_start_and_reboot_act_on_the_guest() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    let id = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("running", || controller.state(&id) == Some(InstanceState::Running)).await;

    controller.request(&id, StateRequest::Reboot).await;
    eventually("a reboot", || sim.reboots(&id) == Some(1)).await;
    assert_eq!(controller.state(&id), Some(InstanceState::Running));

    controller.request(&id, StateRequest::Stop { force: false }).await;
    eventually("stopped", || controller.state(&id) == Some(InstanceState::Stopped)).await;
    assert_eq!(sim.state(&id).unwrap(), GuestState::Absent, "the simulator keeps no stopped guests");

    controller.request(&id, StateRequest::Start).await;
    eventually("running again", || controller.state(&id) == Some(InstanceState::Running)).await;
    assert_eq!(sim.state(&id).unwrap(), GuestState::Running);
    let outcomes: Vec<NodeOutcome> = recorder.outcomes(&id).await.into_iter().map(|(o, _)| o).collect();
    assert_eq!(outcomes, vec![NodeOutcome::Running, NodeOutcome::Stopped, NodeOutcome::Running]);
    executor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_that_goes_down_on_its_own_is_reported_powered_off() {
    let dir = tempfile::tempdir().unwrap();
    let controller = Controller::open(dir.path()).await;
    let sim = Arc::new(SimDriver::new(Duration::from_millis(20)));
    let recorder = Recorder::new(&controller, &sim);
    let id = controller.launch(&here()).await;
    let executor = start(&controller, &sim, &recorder, config(Duration::from_secs(30)));
    eventually("running", || controller.state(&id) == Some(InstanceState::Running)).await;
    assert!(sim.crash(&id));
    // The executor looks at resting guests every couple of seconds.
    eventually("stopped after its guest went down", || controller.state(&id) == Some(InstanceState::Stopped))
        .await;
    let outcomes: Vec<NodeOutcome> = recorder.outcomes(&id).await.into_iter().map(|(o, _)| o).collect();
    assert_eq!(outcomes, vec![NodeOutcome::Running, NodeOutcome::PoweredOff]);
    executor.stop().await;
}
