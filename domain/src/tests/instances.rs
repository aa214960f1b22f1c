//! RunInstances, the state machine, terminations and node reports.

use super::samples::*;
use super::*;
use crate::command::{GroupRef, NodeOutcome, RunInstances};

fn cloud(cpus: u32) -> Given {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(cpus)).unwrap();
    g
}

fn launched(d: &Decision) -> Vec<InstanceId> {
    match &d.reply {
        Reply::Launched { instances, .. } => instances.clone(),
        other => panic!("not a launch: {other:?}"),
    }
}

fn state_of(g: &Given, id: &InstanceId) -> InstanceState {
    match g.state(&StreamId::instance(id)) {
        Some(Aggregate::Instance(i)) => i.state,
        other => panic!("no instance {id}: {other:?}"),
    }
}

#[test]
fn run_instances_launches_placed_pending_instances() {
    let mut g = cloud(8);
    let d = g.then_apply(&run(admin(), 1, 2, 3, None)).unwrap();
    assert_eq!(
        event_types(&d),
        std::iter::once("ReservationCreated")
            .chain(
                [
                    "InstanceRequested",
                    "InstancePlaced",
                    "CapacityReserved",
                    "PrivateAddressTaken",
                    "PublicAddressTaken",
                    "InstanceAddressed",
                    "SecurityGroupMemberAdded"
                ]
                .repeat(3)
            )
            .collect::<Vec<_>>()
    );
    let ids = launched(&d);
    assert_eq!(ids.len(), 3);
    for id in &ids {
        assert_eq!(state_of(&g, id), InstanceState::Pending);
    }
}

#[test]
fn run_instances_refuses_bad_counts_types_and_images() {
    let g = cloud(8);
    assert_eq!(g.when(&run(admin(), 1, 0, 1, None)), Err(DecideError::InvalidCount { min: 0, max: 1 }));
    assert_eq!(g.when(&run(admin(), 1, 3, 2, None)), Err(DecideError::InvalidCount { min: 3, max: 2 }));
    let mut cmd = run(admin(), 1, 1, 1, None);
    if let Command::RunInstances(c) = &mut cmd {
        c.vm_type = "m9.huge".into();
    }
    assert_eq!(g.when(&cmd), Err(DecideError::UnknownInstanceType("m9.huge".into())));
    let mut cmd = run(admin(), 1, 1, 1, None);
    if let Command::RunInstances(c) = &mut cmd {
        c.image = ImageId::with_kind(ImageKind::Machine, 404);
    }
    assert_eq!(g.when(&cmd), Err(DecideError::ImageNotFound(ImageId::with_kind(ImageKind::Machine, 404))));
    let mut cmd = run(admin(), 1, 1, 1, None);
    if let Command::RunInstances(c) = &mut cmd {
        c.image = kernel();
    }
    assert_eq!(g.when(&cmd), Err(DecideError::NotAMachineImage(kernel())));
    let mut cmd = run(admin(), 1, 1, 1, None);
    if let Command::RunInstances(c) = &mut cmd {
        c.zone = Some(ZoneName::parse("elsewhere").unwrap());
    }
    assert_eq!(g.when(&cmd), Err(DecideError::UnknownZone(ZoneName::parse("elsewhere").unwrap())));
}

#[test]
fn a_private_image_is_invisible_to_other_accounts() {
    let mut g = cloud(8);
    g.then_apply(&create_other()).unwrap();
    let private = ImageId::with_kind(ImageKind::Machine, 77);
    let mut cmd = image_cmd(private.clone(), ImageKind::Machine, None);
    cmd.owner = other_account();
    cmd.public = false;
    g.then_apply(&Command::RegisterImage(cmd)).unwrap();
    let mut run_it = run(admin(), 1, 1, 1, None);
    if let Command::RunInstances(c) = &mut run_it {
        c.image = private.clone();
    }
    assert_eq!(g.when(&run_it), Err(DecideError::ImageNotFound(private.clone())));
    if let Command::RunInstances(c) = &mut run_it {
        c.account = other_account();
    }
    assert!(g.when(&run_it).is_ok());
}

#[test]
fn capacity_limits_launches_and_is_given_back_on_termination() {
    let mut g = cloud(2);
    assert_eq!(
        g.when(&run(admin(), 1, 3, 3, None)),
        Err(DecideError::InsufficientCapacity {
            zone: zone(),
            vm_type: "m1.small".into(),
            requested: 3,
            available: 2
        })
    );
    // min 1, max 5: as many as fit.
    let ids = launched(&g.then_apply(&run(admin(), 2, 1, 5, None)).unwrap());
    assert_eq!(ids.len(), 2);
    assert!(matches!(g.when(&run(admin(), 3, 1, 1, None)), Err(DecideError::InsufficientCapacity { .. })));
    g.then_apply(&terminate(admin(), &ids[..1])).unwrap();
    // Shutting down still holds the room until the node confirms.
    assert!(g.when(&run(admin(), 3, 1, 1, None)).is_err());
    let d = g.then_apply(&report(&ids[0], NodeOutcome::Terminated)).unwrap();
    assert_eq!(event_types(&d)[..2], ["InstanceTerminated", "CapacityReleased"]);
    assert_eq!(launched(&g.when(&run(admin(), 3, 1, 1, None)).unwrap()).len(), 1);
}

#[test]
fn a_client_token_makes_run_instances_idempotent() {
    let mut g = cloud(8);
    g.then_apply(&create_other()).unwrap();
    let first = g.then_apply(&run(admin(), 1, 1, 1, Some("tok-1"))).unwrap();
    assert_eq!(event_types(&first)[0], "ClientTokenClaimed");
    let again = g.when(&run(admin(), 9, 1, 1, Some("tok-1"))).unwrap();
    assert!(again.events.is_empty());
    assert_eq!(
        again.reply,
        Reply::Launched { reservation: ReservationId::from_bits(1), instances: vec![], replayed: true }
    );
    assert_eq!(
        g.when(&run(admin(), 9, 1, 2, Some("tok-1"))),
        Err(DecideError::IdempotentParameterMismatch { token: "tok-1".into() })
    );
    // The same token in another account is another token.
    assert_eq!(
        event_types(&g.when(&run(other_account(), 9, 1, 1, Some("tok-1"))).unwrap())[0],
        "ClientTokenClaimed"
    );
}

/// A retry under a client token must ask for everything the first request
/// asked for but the zone (EC2's rule): user data by content (before, only
/// its length was compared), tags, termination protection and shutdown
/// behaviour (before, not compared at all). The order tags or groups are
/// listed in asks for nothing.
#[test]
fn a_retry_under_a_token_asking_for_anything_else_is_a_mismatch() {
    let mut g = cloud(8);
    let mut first = run_in(admin(), 1, 1, 1, Some("tok"));
    first.tags = vec![Tag { key: "a".into(), value: "1".into() }, Tag { key: "b".into(), value: "2".into() }];
    first.groups = vec![GroupRef::Name("default".into())];
    g.then_apply(&Command::RunInstances(first.clone())).unwrap();
    let retry = |change: &dyn Fn(&mut RunInstances)| {
        let mut c = first.clone();
        c.reservation = ReservationId::from_bits(9);
        c.instance_ids = vec![InstanceId::from_bits(9000)];
        change(&mut c);
        g.when(&Command::RunInstances(c))
    };
    let mismatch = Err(DecideError::IdempotentParameterMismatch { token: "tok".into() });
    type Change<'a> = (&'a str, &'a dyn Fn(&mut RunInstances));
    let changes: [Change<'_>; 7] = [
        ("user data of the same length", &|c| c.user_data = b"HELLO".to_vec()),
        ("a tag's value", &|c| c.tags[1].value = "3".into()),
        ("one tag fewer", &|c| c.tags.truncate(1)),
        ("volume tags", &|c| c.volume_tags = vec![Tag { key: "v".into(), value: "1".into() }]),
        ("termination protection", &|c| c.disable_api_termination = true),
        ("shutdown behaviour", &|c| c.shutdown_behavior = ShutdownBehavior::Terminate),
        ("groups", &|c| c.groups = vec![GroupRef::Name("web".into())]),
    ];
    let replayed_anyway: Vec<&str> =
        changes.iter().filter(|(_, change)| retry(*change) != mismatch).map(|(what, _)| *what).collect();
    assert!(replayed_anyway.is_empty(), "not a mismatch: {replayed_anyway:?}");
    let replayed = |d: Result<Decision, DecideError>| {
        matches!(d.map(|d| d.reply), Ok(Reply::Launched { replayed: true, .. }))
    };
    assert!(replayed(retry(&|_| {})));
    assert!(replayed(retry(&|c| c.tags.reverse())), "tags in another order");
    // The zone is no part of what is compared.
    assert!(replayed(retry(&|c| c.zone = None)));
}

/// A claim an earlier release wrote (an unversioned fingerprint naming the
/// zone and the user data's length) is compared as it was: a retry with
/// the same parameters replays, another instance type is a mismatch.
#[test]
fn a_token_claimed_by_an_earlier_release_is_compared_as_it_was() {
    let mut g = cloud(8);
    let retry = run_in(admin(), 9, 1, 1, Some("old"));
    let fingerprint = retry.legacy_fingerprint_in(zone().as_str());
    assert!(fingerprint.starts_with(&format!("{}|m1.small|1|1|{}|5|None|[]", default_image(), zone())));
    let claimed = crate::event::ClientTokenClaimed {
        account: admin(),
        token: "old".into(),
        reservation: ReservationId::from_bits(8),
        fingerprint,
    };
    g.and(&[(StreamId::client_token(&admin(), "old"), claimed.into())]);
    assert_eq!(
        g.when(&Command::RunInstances(retry.clone())).unwrap().reply,
        Reply::Launched { reservation: ReservationId::from_bits(8), instances: vec![], replayed: true }
    );
    let mut other = retry;
    other.vm_type = "c1.medium".into();
    assert_eq!(
        g.when(&Command::RunInstances(other)),
        Err(DecideError::IdempotentParameterMismatch { token: "old".into() })
    );
}

/// The fingerprint is stored: the same request must give the same one in
/// every release (a change here breaks retries of stored claims).
#[test]
fn the_fingerprint_of_a_request_is_pinned() {
    let c = run_in(admin(), 1, 1, 2, Some("tok"));
    assert_eq!(c.fingerprint(), "v2:fd85606d4c80e0f0524cc6c2a7deabd66a23a8a39e93eb1a7b380c395b8c2521");
}

#[test]
fn terminate_reports_previous_and_current_state() {
    let mut g = cloud(8);
    let ids = launched(&g.then_apply(&run(admin(), 1, 2, 2, None)).unwrap());
    g.then_apply(&report(&ids[0], NodeOutcome::Running)).unwrap();
    let d = g.then_apply(&terminate(admin(), &[ids[0].clone(), ids[1].clone(), ids[0].clone()])).unwrap();
    assert_eq!(
        d.reply,
        Reply::StateChanges(vec![
            StateChange {
                instance: ids[0].clone(),
                previous: InstanceState::Running,
                current: InstanceState::ShuttingDown
            },
            StateChange {
                instance: ids[1].clone(),
                previous: InstanceState::Pending,
                current: InstanceState::ShuttingDown
            },
        ])
    );
    // Again: nothing changes, and EC2 says so.
    let again = g.when(&terminate(admin(), &ids[..1])).unwrap();
    assert!(again.events.is_empty());
}

#[test]
fn terminate_of_unknown_or_foreign_instances_changes_nothing() {
    let mut g = cloud(8);
    let ids = launched(&g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap());
    let ghost = InstanceId::from_bits(0xdead);
    assert_eq!(
        g.when(&terminate(admin(), &[ids[0].clone(), ghost.clone()])),
        Err(DecideError::InstanceNotFound(vec![ghost]))
    );
    assert_eq!(g.when(&terminate(other_account(), &ids)), Err(DecideError::InstanceNotFound(ids.clone())));
}

#[test]
fn reports_come_only_from_the_node_the_instance_is_on() {
    let mut g = cloud(8);
    let ids = launched(&g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap());
    let mut cmd = report(&ids[0], NodeOutcome::Running);
    if let Command::ReportInstanceRunning(r) = &mut cmd {
        r.node = NodeId::from_bits(0xfff);
    }
    assert_eq!(
        g.when(&cmd),
        Err(DecideError::NotPlacedOnNode { instance: ids[0].clone(), node: NodeId::from_bits(0xfff) })
    );
}

#[test]
fn a_failed_launch_ends_terminated_with_a_reason_and_frees_capacity() {
    let mut g = cloud(1);
    let ids = launched(&g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap());
    let d = g.then_apply(&report(&ids[0], NodeOutcome::LaunchFailed("disk missing".into()))).unwrap();
    assert_eq!(
        event_types(&d),
        vec![
            "InstanceLaunchFailed",
            "CapacityReleased",
            "PublicAddressFreed",
            "InstancePublicAddressChanged",
            "PrivateAddressFreed",
            "SecurityGroupMemberRemoved"
        ]
    );
    assert_eq!(state_of(&g, &ids[0]), InstanceState::Terminated);
    match g.state(&StreamId::instance(&ids[0])) {
        Some(Aggregate::Instance(i)) => {
            assert_eq!(i.reason.as_ref().unwrap().code, "Server.InternalError");
            assert!(i.reason.as_ref().unwrap().message.contains("disk missing"));
        }
        _ => unreachable!(),
    }
    assert!(g.when(&run(admin(), 2, 1, 1, None)).is_ok());
}

/// What each command does in each state: the event it makes, `None` for a
/// harmless repeat, or `Err(())` for an illegal transition.
#[test]
fn every_transition_of_the_state_machine() {
    use InstanceState::*;
    type Expect = Result<Option<&'static str>, ()>;
    let table: [(InstanceState, [Expect; 4]); 6] = [
        //            terminate                         running                     terminated                         launch failed
        (
            Pending,
            [
                Ok(Some("InstanceTerminationRequested")),
                Ok(Some("InstanceRunning")),
                Err(()),
                Ok(Some("InstanceLaunchFailed")),
            ],
        ),
        (Running, [Ok(Some("InstanceTerminationRequested")), Ok(None), Err(()), Err(())]),
        (ShuttingDown, [Ok(None), Err(()), Ok(Some("InstanceTerminated")), Ok(Some("InstanceLaunchFailed"))]),
        (Terminated, [Ok(None), Err(()), Ok(None), Ok(None)]),
        (Stopping, [Ok(Some("InstanceTerminationRequested")), Err(()), Err(()), Err(())]),
        // A launch failure reported again after it left the instance stopped.
        (Stopped, [Ok(Some("InstanceTerminationRequested")), Err(()), Err(()), Ok(None)]),
    ];
    for (state, expects) in table {
        let mut g = cloud(8);
        let id = launched(&g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap())[0].clone();
        if let Some(Aggregate::Instance(i)) = g.state_mut(&StreamId::instance(&id)) {
            i.state = state;
        }
        let commands = [
            terminate(admin(), std::slice::from_ref(&id)),
            report(&id, NodeOutcome::Running),
            report(&id, NodeOutcome::Terminated),
            report(&id, NodeOutcome::LaunchFailed("x".into())),
        ];
        for (command, expect) in commands.iter().zip(expects) {
            let got = g.when(command);
            let got: Expect = match &got {
                Ok(d) => Ok(d.events.first().map(|(_, e)| e.type_name())),
                Err(DecideError::IncorrectInstanceState { state: s, .. }) => {
                    assert_eq!(*s, state);
                    Err(())
                }
                Err(other) => panic!("{state} / {}: unexpected {other}", command.name()),
            };
            assert_eq!(got, expect, "{state} / {}", command.name());
        }
    }
}

/// KernelId/RamdiskId (euca-run-instances --kernel/--ramdisk): a kernel
/// instead of the image's, if it is a kernel image the account may use.
#[test]
fn a_launch_boots_the_kernel_asked_for_instead_of_the_images() {
    let mut g = cloud(8);
    let other_kernel = ImageId::with_kind(ImageKind::Kernel, 77);
    g.then_apply(&Command::RegisterImage(image_cmd(other_kernel.clone(), ImageKind::Kernel, None))).unwrap();
    let asking = |kernel: ImageId| {
        let mut cmd = run(admin(), 1, 1, 1, None);
        if let Command::RunInstances(c) = &mut cmd {
            c.kernel = Some(kernel);
        }
        cmd
    };
    assert_eq!(
        g.when(&asking(default_image())),
        Err(DecideError::WrongImageKind { image: default_image(), expected: "kernel" })
    );
    let missing = ImageId::with_kind(ImageKind::Kernel, 404);
    assert_eq!(g.when(&asking(missing.clone())), Err(DecideError::ImageNotFound(missing)));
    let d = g.then_apply(&asking(other_kernel.clone())).unwrap();
    let booted: Vec<Option<ImageId>> = d
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::InstanceRequested(r) => Some(r.kernel.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(booted, [Some(other_kernel)]);
    // Without one, the image's own.
    let d = g.then_apply(&run(admin(), 2, 1, 1, None)).unwrap();
    assert!(
        d.events.iter().any(|(_, e)| matches!(e, Event::InstanceRequested(r) if r.kernel == Some(kernel())))
    );
}
