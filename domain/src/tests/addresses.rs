//! Address pools and elastic IPs.

use super::samples::*;
use super::*;
use crate::command::*;

fn cloud() -> Given {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(8)).unwrap();
    g.then_apply(&create_other()).unwrap();
    g
}

fn instance(g: &Given, id: &InstanceId) -> crate::aggregates::Instance {
    match g.state(&StreamId::instance(id)) {
        Some(Aggregate::Instance(i)) => (**i).clone(),
        other => panic!("{other:?}"),
    }
}

fn launch(g: &mut Given, bits: u128) -> InstanceId {
    match g.then_apply(&run(admin(), bits, 1, 1, None)).unwrap().reply {
        Reply::Launched { instances, .. } => instances[0].clone(),
        _ => unreachable!(),
    }
}

fn allocate(account: AccountId, bits: u128) -> Command {
    Command::AllocateAddress(AllocateAddress {
        account,
        allocation: AllocationId::from_bits(bits),
        tags: vec![],
        at: t(30),
    })
}

fn associate(address: AddressRef, instance: &InstanceId, allow: bool) -> Command {
    Command::AssociateAddress(AssociateAddress {
        account: admin(),
        address,
        instance: instance.clone(),
        association: AssociationId::from_bits(0xa5),
        allow_reassociation: allow,
        at: t(31),
    })
}

fn free_public(g: &Given) -> Vec<String> {
    match g.state(&StreamId::network()) {
        Some(Aggregate::Network(n)) => n.free_public(10),
        _ => unreachable!(),
    }
}

#[test]
fn launches_take_private_and_public_addresses_from_the_pools() {
    let mut g = cloud();
    let a = launch(&mut g, 1);
    let b = launch(&mut g, 2);
    assert_eq!(instance(&g, &a).private_address.as_deref(), Some("10.0.0.2"));
    assert_eq!(instance(&g, &b).private_address.as_deref(), Some("10.0.0.3"));
    assert_eq!(instance(&g, &a).public_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(instance(&g, &b).public_address.as_deref(), Some("192.0.2.11"));
    assert_eq!(free_public(&g), vec!["192.0.2.12".to_string()]);
    // When the public pool is empty, instances still launch, without one.
    launch(&mut g, 3);
    let d = launch(&mut g, 4);
    assert_eq!(instance(&g, &d).public_address, None);
}

#[test]
fn the_private_pool_limits_launches() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(64)).unwrap();
    // 10.0.0.0/28 has 13 usable addresses.
    g.then_apply(&run(admin(), 1, 13, 13, None)).unwrap();
    assert_eq!(g.when(&run(admin(), 2, 1, 1, None)), Err(DecideError::PrivateAddressesExhausted));
}

#[test]
fn elastic_ips_allocate_associate_move_and_release() {
    let mut g = cloud();
    let a = launch(&mut g, 1);
    let b = launch(&mut g, 2);
    // One address left in the pool.
    let d = g.then_apply(&allocate(admin(), 1)).unwrap();
    assert_eq!(
        d.reply,
        Reply::Address { allocation: AllocationId::from_bits(1), address: "192.0.2.12".into() }
    );
    assert_eq!(g.when(&allocate(admin(), 2)), Err(DecideError::AddressLimitExceeded));
    // Associate with a: a's auto address goes back to the pool.
    let alloc = AddressRef::Allocation(AllocationId::from_bits(1));
    g.then_apply(&associate(alloc.clone(), &a, false)).unwrap();
    assert_eq!(instance(&g, &a).public_address.as_deref(), Some("192.0.2.12"));
    assert_eq!(instance(&g, &a).elastic, Some(AllocationId::from_bits(1)));
    assert_eq!(free_public(&g), vec!["192.0.2.10".to_string()]);
    // Moving it to b needs AllowReassociation by allocation id ...
    assert!(matches!(g.when(&associate(alloc.clone(), &b, false)), Err(DecideError::AddressInUse { .. })));
    // ... but not by address (EC2-Classic); a gets an auto address again.
    g.then_apply(&associate(AddressRef::PublicIp("192.0.2.12".into()), &b, false)).unwrap();
    assert_eq!(instance(&g, &b).public_address.as_deref(), Some("192.0.2.12"));
    assert_eq!(instance(&g, &a).public_address.as_deref(), Some("192.0.2.10"));
    assert_eq!(instance(&g, &a).elastic, None);
    // b's own auto address was freed when the elastic IP came.
    assert_eq!(free_public(&g), vec!["192.0.2.11".to_string()]);
    // Disassociate by association id: found from the addresses' own
    // streams, and only the caller's.
    let dis = |account: AccountId, association: u128| {
        Command::DisassociateAddress(DisassociateAddress {
            account,
            address: DisassociateRef::Association(AssociationId::from_bits(association)),
            at: t(32),
        })
    };
    assert!(matches!(g.when(&dis(admin(), 0xbad)), Err(DecideError::AssociationNotFound(_))));
    assert!(matches!(g.when(&dis(other_account(), 0xa5)), Err(DecideError::AssociationNotFound(_))));
    g.then_apply(&dis(admin(), 0xa5)).unwrap();
    assert!(matches!(g.when(&dis(admin(), 0xa5)), Err(DecideError::AssociationNotFound(_))));
    assert_eq!(instance(&g, &b).elastic, None);
    assert_eq!(instance(&g, &b).public_address.as_deref(), Some("192.0.2.11"));
    // Release: the address is back in the pool.
    let release =
        |account| Command::ReleaseAddress(ReleaseAddress { account, address: alloc.clone(), at: t(33) });
    assert_eq!(
        g.when(&release(other_account())),
        Err(DecideError::AddressNotFound(AllocationId::from_bits(1).to_string()))
    );
    g.then_apply(&release(admin())).unwrap();
    assert_eq!(free_public(&g), vec!["192.0.2.12".to_string()]);
    assert!(g.when(&release(admin())).is_err());
}

#[test]
fn a_terminated_instance_gives_its_addresses_back_and_keeps_no_elastic_ip() {
    let mut g = cloud();
    let a = launch(&mut g, 1);
    g.then_apply(&allocate(admin(), 1)).unwrap();
    g.then_apply(&associate(AddressRef::Allocation(AllocationId::from_bits(1)), &a, false)).unwrap();
    g.then_apply(&report(&a, NodeOutcome::Running)).unwrap();
    g.then_apply(&terminate(admin(), std::slice::from_ref(&a))).unwrap();
    let d = g.then_apply(&report(&a, NodeOutcome::Terminated)).unwrap();
    assert_eq!(
        event_types(&d),
        vec![
            "InstanceTerminated",
            "CapacityReleased",
            "AddressDisassociated",
            "InstancePublicAddressChanged",
            "PrivateAddressFreed",
            "SecurityGroupMemberRemoved"
        ]
    );
    match g.state(&StreamId::elastic_ip(&AllocationId::from_bits(1))) {
        Some(Aggregate::ElasticIp(e)) => assert!(e.association.is_none() && !e.released),
        other => panic!("{other:?}"),
    }
    match g.state(&StreamId::network()) {
        Some(Aggregate::Network(n)) => assert!(n.private_taken.is_empty()),
        _ => unreachable!(),
    }
}

/// Found by the deterministic simulator (seed 2, step 333): an elastic IP
/// moved away from an instance that is shutting down stayed on that
/// instance's stream, so the instance still showed the address, and its
/// termination then disassociated the address from the instance it had
/// moved to.
#[test]
fn an_address_moved_from_a_shutting_down_instance_leaves_it_and_stays_where_it_went() {
    let mut g = cloud();
    let a = launch(&mut g, 1);
    let b = launch(&mut g, 2);
    g.then_apply(&allocate(admin(), 1)).unwrap();
    let alloc = AddressRef::Allocation(AllocationId::from_bits(1));
    g.then_apply(&associate(alloc.clone(), &a, false)).unwrap();
    g.then_apply(&report(&a, NodeOutcome::Running)).unwrap();
    g.then_apply(&terminate(admin(), std::slice::from_ref(&a))).unwrap();
    g.then_apply(&associate(alloc, &b, true)).unwrap();
    assert_eq!((instance(&g, &a).public_address, instance(&g, &a).elastic), (None, None));
    assert_eq!(instance(&g, &b).public_address.as_deref(), Some("192.0.2.12"));
    let d = g.then_apply(&report(&a, NodeOutcome::Terminated)).unwrap();
    assert!(!event_types(&d).contains(&"AddressDisassociated"), "{:?}", event_types(&d));
    match g.state(&StreamId::elastic_ip(&AllocationId::from_bits(1))) {
        Some(Aggregate::ElasticIp(e)) => {
            assert_eq!(e.association.as_ref().map(|(_, i)| i), Some(&b));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(instance(&g, &b).elastic, Some(AllocationId::from_bits(1)));
}
