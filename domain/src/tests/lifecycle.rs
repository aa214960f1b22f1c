//! Stop, start, reboot, attributes and what the guest does on its own.

use super::samples::*;
use super::*;
use crate::command::*;

pub(super) fn cloud(cpus: u32) -> Given {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(cpus)).unwrap();
    g
}

pub(super) fn running(g: &mut Given, bits: u128) -> InstanceId {
    let id = match g.then_apply(&run(admin(), bits, 1, 1, None)).unwrap().reply {
        Reply::Launched { instances, .. } => instances[0].clone(),
        _ => unreachable!(),
    };
    g.then_apply(&report(&id, NodeOutcome::Running)).unwrap();
    id
}

pub(super) fn instance(g: &Given, id: &InstanceId) -> crate::aggregates::Instance {
    match g.state(&StreamId::instance(id)) {
        Some(Aggregate::Instance(i)) => (**i).clone(),
        other => panic!("{other:?}"),
    }
}

fn modify(id: &InstanceId, change: AttributeChange) -> Command {
    Command::ModifyInstanceAttribute(ModifyInstanceAttribute {
        account: admin(),
        instance: id.clone(),
        change,
        at: t(25),
    })
}

#[test]
fn stop_releases_room_and_auto_address_and_start_takes_them_again() {
    let mut g = cloud(1);
    let id = running(&mut g, 1);
    let stop = change(admin(), std::slice::from_ref(&id), StateRequest::Stop { force: false });
    let d = g.then_apply(&stop).unwrap();
    assert_eq!(
        d.reply,
        Reply::StateChanges(vec![StateChange {
            instance: id.clone(),
            previous: InstanceState::Running,
            current: InstanceState::Stopping
        }])
    );
    // Stopping again changes nothing.
    assert!(g.when(&stop).unwrap().events.is_empty());
    let d = g.then_apply(&report(&id, NodeOutcome::Stopped)).unwrap();
    assert_eq!(
        event_types(&d),
        vec!["InstanceStopped", "CapacityReleased", "PublicAddressFreed", "InstancePublicAddressChanged"]
    );
    let stopped = instance(&g, &id);
    assert_eq!(stopped.state, InstanceState::Stopped);
    assert_eq!(stopped.private_address.as_deref(), Some("10.0.0.2"));
    assert_eq!(stopped.public_address, None);
    // Its room went back: another instance fits on the one-CPU node ...
    let other = running(&mut g, 2);
    // ... so starting the stopped one now fails for want of room.
    let start = change(admin(), std::slice::from_ref(&id), StateRequest::Start);
    assert!(matches!(g.when(&start), Err(DecideError::InsufficientCapacity { .. })));
    g.then_apply(&change(admin(), std::slice::from_ref(&other), StateRequest::Terminate)).unwrap();
    g.then_apply(&report(&other, NodeOutcome::Terminated)).unwrap();
    let d = g.then_apply(&start).unwrap();
    assert_eq!(
        event_types(&d),
        vec![
            "InstanceStartRequested",
            "InstancePlaced",
            "CapacityReserved",
            "PublicAddressTaken",
            "InstancePublicAddressChanged"
        ]
    );
    assert_eq!(instance(&g, &id).state, InstanceState::Pending);
    assert!(instance(&g, &id).public_address.is_some());
    g.then_apply(&report(&id, NodeOutcome::Running)).unwrap();
    assert_eq!(instance(&g, &id).state, InstanceState::Running);
}

#[test]
fn termination_protection_and_attributes() {
    let mut g = cloud(4);
    let id = running(&mut g, 1);
    g.then_apply(&modify(&id, AttributeChange::DisableApiTermination(true))).unwrap();
    assert_eq!(
        g.when(&terminate(admin(), std::slice::from_ref(&id))),
        Err(DecideError::TerminationProtected(id.clone()))
    );
    // Type and user data change only while stopped.
    assert!(matches!(
        g.when(&modify(&id, AttributeChange::InstanceType("c1.medium".into()))),
        Err(DecideError::IncorrectInstanceState { .. })
    ));
    g.then_apply(&change(admin(), std::slice::from_ref(&id), StateRequest::Stop { force: true })).unwrap();
    g.then_apply(&report(&id, NodeOutcome::Stopped)).unwrap();
    assert_eq!(
        g.when(&modify(&id, AttributeChange::InstanceType("z9.tiny".into()))),
        Err(DecideError::UnknownInstanceType("z9.tiny".into()))
    );
    g.then_apply(&modify(&id, AttributeChange::InstanceType("c1.medium".into()))).unwrap();
    g.then_apply(&modify(&id, AttributeChange::UserData(b"new".to_vec()))).unwrap();
    assert_eq!(instance(&g, &id).vm_type.name, "c1.medium");
    assert_eq!(instance(&g, &id).resources().cpus, 2);
    g.then_apply(&modify(&id, AttributeChange::DisableApiTermination(false))).unwrap();
    assert!(g.when(&terminate(admin(), std::slice::from_ref(&id))).is_ok());
}

#[test]
fn an_instance_changes_security_groups() {
    let mut g = cloud(4);
    let id = running(&mut g, 1);
    let web = SecurityGroupId::from_bits(0x77);
    g.then_apply(&Command::CreateSecurityGroup(CreateSecurityGroup {
        account: admin(),
        group: web.clone(),
        name: "web".into(),
        description: "d".into(),
        tags: vec![],
        at: t(21),
    }))
    .unwrap();
    let d = g.then_apply(&modify(&id, AttributeChange::Groups(vec![GroupRef::Id(web.clone())]))).unwrap();
    assert_eq!(
        event_types(&d),
        vec!["InstanceGroupsChanged", "SecurityGroupMemberRemoved", "SecurityGroupMemberAdded"]
    );
    assert_eq!(instance(&g, &id).groups, vec![web.clone()]);
    let members = |g: &Given, group: &SecurityGroupId| match g.state(&StreamId::security_group(group)) {
        Some(Aggregate::SecurityGroup(s)) => s.members.len(),
        _ => unreachable!(),
    };
    assert_eq!((members(&g, &web), members(&g, &default_group(admin()))), (1, 0));
    assert_eq!(
        g.when(&modify(&id, AttributeChange::Groups(vec![GroupRef::Name("nope".into())]))),
        Err(DecideError::GroupNotFound("nope".into()))
    );
}

#[test]
fn a_guest_that_powers_off_stops_or_terminates_as_asked() {
    let mut g = cloud(4);
    let stops = running(&mut g, 1);
    let d = g.then_apply(&report(&stops, NodeOutcome::PoweredOff)).unwrap();
    assert_eq!(event_types(&d)[..2], ["InstanceStopRequested", "InstanceStopped"]);
    assert_eq!(instance(&g, &stops).state, InstanceState::Stopped);
    assert_eq!(instance(&g, &stops).reason.as_ref().unwrap().code, "Client.InstanceInitiatedShutdown");
    let mut cmd = run_in(admin(), 2, 1, 1, None);
    cmd.shutdown_behavior = ShutdownBehavior::Terminate;
    let ends = match g.then_apply(&Command::RunInstances(cmd)).unwrap().reply {
        Reply::Launched { instances, .. } => instances[0].clone(),
        _ => unreachable!(),
    };
    g.then_apply(&report(&ends, NodeOutcome::Running)).unwrap();
    let d = g.then_apply(&report(&ends, NodeOutcome::PoweredOff)).unwrap();
    assert_eq!(event_types(&d)[..2], ["InstanceTerminationRequested", "InstanceTerminated"]);
    assert!(event_types(&d).contains(&"PrivateAddressFreed"));
    assert_eq!(instance(&g, &ends).state, InstanceState::Terminated);
}

/// Every user request in every state: the event it makes, `None` for a
/// harmless repeat, or `Err(())` for an illegal transition.
#[test]
fn every_user_request_in_every_state() {
    use InstanceState::*;
    type Expect = Result<Option<&'static str>, ()>;
    let table: [(InstanceState, [Expect; 3]); 6] = [
        //        stop                               start                                reboot
        (Pending, [Err(()), Ok(None), Err(())]),
        (Running, [Ok(Some("InstanceStopRequested")), Ok(None), Ok(Some("InstanceRebootRequested"))]),
        (ShuttingDown, [Err(()), Err(()), Ok(None)]),
        (Terminated, [Err(()), Err(()), Ok(None)]),
        (Stopping, [Ok(None), Err(()), Err(())]),
        (Stopped, [Ok(None), Ok(Some("InstanceStartRequested")), Err(())]),
    ];
    for (state, expects) in table {
        let mut g = cloud(8);
        let id = running(&mut g, 1);
        if let Some(Aggregate::Instance(i)) = g.state_mut(&StreamId::instance(&id)) {
            i.state = state;
        }
        let requests = [StateRequest::Stop { force: false }, StateRequest::Start, StateRequest::Reboot];
        for (request, expect) in requests.into_iter().zip(expects) {
            let command = change(admin(), std::slice::from_ref(&id), request);
            let got: Expect = match g.when(&command) {
                Ok(d) => Ok(d.events.first().map(|(_, e)| e.type_name())),
                Err(DecideError::IncorrectInstanceState { state: s, .. }) => {
                    assert_eq!(s, state);
                    Err(())
                }
                Err(other) => panic!("{state} / {request:?}: unexpected {other}"),
            };
            assert_eq!(got, expect, "{state} / {request:?}");
        }
    }
}

/// `stop-instances --force` on a stopping instance stops waiting for its
/// guest (once); a plain stop of a stopping instance changes nothing.
#[test]
fn a_forced_stop_of_a_stopping_instance_is_recorded_once() {
    let mut g = cloud(8);
    let id = running(&mut g, 1);
    let stop = |force| change(admin(), std::slice::from_ref(&id), StateRequest::Stop { force });
    g.then_apply(&stop(false)).unwrap();
    assert!(!instance(&g, &id).stop_forced);
    assert!(g.when(&stop(false)).unwrap().events.is_empty());
    let d = g.then_apply(&stop(true)).unwrap();
    assert_eq!(event_types(&d), ["InstanceStopRequested"]);
    let i = instance(&g, &id);
    assert_eq!((i.state, i.stop_forced), (InstanceState::Stopping, true));
    assert!(g.when(&stop(true)).unwrap().events.is_empty(), "forced already");
}

pub(super) fn stopped(g: &mut Given, bits: u128) -> InstanceId {
    let id = running(g, bits);
    g.then_apply(&change(admin(), std::slice::from_ref(&id), StateRequest::Stop { force: true })).unwrap();
    g.then_apply(&report(&id, NodeOutcome::Stopped)).unwrap();
    id
}

fn placed_on(d: &Decision) -> Vec<NodeId> {
    d.events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::InstancePlaced(p) => Some(p.node.clone()),
            _ => None,
        })
        .collect()
}

/// EC2: a start that fails leaves the instance stopped, with a reason,
/// and it can be started again; its room and auto-assigned address go back.
#[test]
fn a_failed_start_of_a_stopped_instance_leaves_it_stopped_and_it_starts_again() {
    let mut g = cloud(1);
    let id = stopped(&mut g, 1);
    let start = change(admin(), std::slice::from_ref(&id), StateRequest::Start);
    g.then_apply(&start).unwrap();
    assert!(instance(&g, &id).restarting);

    let failed = report(&id, NodeOutcome::LaunchFailed("the domain does not start: no room".into()));
    let d = g.then_apply(&failed).unwrap();
    assert_eq!(
        event_types(&d),
        vec!["InstanceStartFailed", "CapacityReleased", "PublicAddressFreed", "InstancePublicAddressChanged"]
    );
    let i = instance(&g, &id);
    assert_eq!(i.state, InstanceState::Stopped);
    assert!(!i.restarting);
    let reason = i.reason.clone().unwrap();
    assert_eq!(reason.code, "Server.InternalError");
    assert_eq!(
        reason.message,
        "Server.InternalError: the instance could not be started: the domain does not start: no room"
    );
    // It keeps its node (its disk is there) and its private address.
    assert_eq!(i.node, Some(node()));
    assert_eq!(i.private_address.as_deref(), Some("10.0.0.2"));
    assert_eq!(i.public_address, None);
    // The same report again (an executor that restarted) changes nothing.
    assert!(g.when(&failed).unwrap().events.is_empty());
    // Its room went back: the one-CPU node takes it again.
    g.then_apply(&start).unwrap();
    assert_eq!(instance(&g, &id).state, InstanceState::Pending);
    assert!(instance(&g, &id).reason.is_none());
    g.then_apply(&report(&id, NodeOutcome::Running)).unwrap();
    let i = instance(&g, &id);
    assert_eq!((i.state, i.restarting), (InstanceState::Running, false));
    assert!(i.public_address.is_some());
}

/// A first launch that fails still ends terminated, and so does a start
/// that fails after the instance was asked to terminate.
#[test]
fn a_failed_first_launch_or_a_terminated_start_ends_terminated() {
    let mut g = cloud(4);
    let first = match g.then_apply(&run(admin(), 1, 1, 1, None)).unwrap().reply {
        Reply::Launched { instances, .. } => instances[0].clone(),
        _ => unreachable!(),
    };
    assert!(!instance(&g, &first).restarting);
    let d = g.then_apply(&report(&first, NodeOutcome::LaunchFailed("x".into()))).unwrap();
    assert_eq!(event_types(&d)[0], "InstanceLaunchFailed");
    assert_eq!(instance(&g, &first).state, InstanceState::Terminated);

    let id = stopped(&mut g, 2);
    g.then_apply(&change(admin(), std::slice::from_ref(&id), StateRequest::Start)).unwrap();
    g.then_apply(&terminate(admin(), std::slice::from_ref(&id))).unwrap();
    let d = g.then_apply(&report(&id, NodeOutcome::LaunchFailed("x".into()))).unwrap();
    assert_eq!(event_types(&d)[0], "InstanceLaunchFailed");
    assert!(event_types(&d).contains(&"PrivateAddressFreed"));
    assert_eq!(instance(&g, &id).state, InstanceState::Terminated);
}

/// A stopped instance starts again on the node it ran on (its disk is
/// there) when that node has room and answers; elsewhere otherwise.
#[test]
fn a_start_goes_back_to_the_instances_node_when_it_can() {
    let mut g = cloud(4);
    let id = stopped(&mut g, 1);
    // A second node that sorts first and has room.
    g.then_apply(&Command::RegisterNode(RegisterNode {
        node: NodeId::from_bits(2),
        zone: zone(),
        host: "10.250.0.12".into(),
        hypervisor: "sim".into(),
        capacity: Resources { cpus: 4, memory_mib: 1 << 20, disk_gib: 1 << 20 },
        key: None,
        at: t(3),
    }))
    .unwrap();
    let start = change(admin(), std::slice::from_ref(&id), StateRequest::Start);
    assert_eq!(placed_on(&g.when(&start).unwrap()), vec![node()]);
    let silent = MarkNodeUnreachable { zone: zone(), node: node(), last_heartbeat: t(4), at: t(5) };
    g.then_apply(&Command::MarkNodeUnreachable(silent)).unwrap();
    assert_eq!(placed_on(&g.when(&start).unwrap()), vec![NodeId::from_bits(2)]);
}

/// A terminated instance can be named (tagged, terminated again, modified)
/// for an hour after it ended, while DescribeInstances still shows it; then
/// it is gone, as in EC2, and every command finds no such instance.
#[test]
fn an_instance_gone_from_view_an_hour_after_it_ended_is_not_found() {
    let mut g = cloud(4);
    let id = running(&mut g, 1);
    g.then_apply(&terminate(admin(), std::slice::from_ref(&id))).unwrap();
    g.then_apply(&report(&id, NodeOutcome::Terminated)).unwrap();
    let ended = instance(&g, &id).ended_at.expect("it ended");
    let tags = |at: i64| {
        Command::CreateTags(CreateTags {
            account: admin(),
            resources: vec![id.to_string()],
            tags: vec![Tag { key: "k".into(), value: "v".into() }],
            at: Timestamp(ended.0 + at),
        })
    };
    let again = |at: i64| {
        Command::TerminateInstances(InstanceIds {
            account: admin(),
            instances: vec![id.clone()],
            at: Timestamp(ended.0 + at),
        })
    };
    let attribute = |at: i64| {
        Command::ModifyInstanceAttribute(ModifyInstanceAttribute {
            account: admin(),
            instance: id.clone(),
            change: AttributeChange::DisableApiTermination(true),
            at: Timestamp(ended.0 + at),
        })
    };
    let hour = crate::instances::VISIBLE_AFTER_END_MS;
    assert!(g.when(&tags(hour - 1)).is_ok(), "still in view");
    assert!(g.when(&again(hour - 1)).is_ok(), "terminated again, as EC2 answers");
    assert_eq!(
        g.when(&tags(hour)).map(|d| d.events.len()),
        Err(DecideError::ResourceNotFound(id.to_string()))
    );
    assert_eq!(
        g.when(&again(hour)).map(|d| d.events.len()),
        Err(DecideError::InstanceNotFound(vec![id.clone()]))
    );
    assert_eq!(
        g.when(&attribute(hour)).map(|d| d.events.len()),
        Err(DecideError::InstanceNotFound(vec![id.clone()]))
    );
    let delete = Command::DeleteTags(DeleteTags {
        account: admin(),
        resources: vec![id.to_string()],
        removals: Vec::new(),
        at: Timestamp(ended.0 + hour),
    });
    assert_eq!(g.when(&delete).map(|d| d.events.len()), Err(DecideError::ResourceNotFound(id.to_string())));
}
