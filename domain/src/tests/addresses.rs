//! Address pools and elastic IPs.

use super::samples::*;
use super::*;
use crate::addresses::DEFAULT_ELASTIC_IP_LIMIT;
use crate::command::*;
use crate::event::*;

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

/// A cloud whose pool has room for more than the limit of every account.
fn roomy_cloud() -> Given {
    let Command::BootstrapCloud(mut boot) = bootstrap(8) else { unreachable!() };
    boot.public_addresses = (10..40).map(|i| format!("192.0.2.{i}")).collect();
    let mut g = given(&[]);
    g.then_apply(&Command::BootstrapCloud(boot)).unwrap();
    g.then_apply(&create_other()).unwrap();
    g.then_apply(&create_third()).unwrap();
    g
}

fn third_account() -> AccountId {
    AccountId::from_bits(333)
}

fn create_third() -> Command {
    Command::CreateAccount(CreateAccount {
        account: third_account(),
        name: "third".into(),
        default_group: default_group(third_account()),
        access_key: None,
        at: t(2),
    })
}

fn release(account: AccountId, bits: u128) -> Command {
    Command::ReleaseAddress(ReleaseAddress {
        account,
        address: AddressRef::Allocation(AllocationId::from_bits(bits)),
        at: t(33),
    })
}

fn set_limit(per_account: u32) -> Command {
    Command::SetElasticIpLimit(SetElasticIpLimit { per_account, at: t(29) })
}

fn allocated_in(g: &Given) -> usize {
    match g.state(&StreamId::network()) {
        Some(Aggregate::Network(n)) => n.allocations().count(),
        _ => unreachable!(),
    }
}

#[test]
fn an_account_holds_at_most_five_elastic_ips_and_others_are_not_affected() {
    let mut g = roomy_cloud();
    for bits in 1..=DEFAULT_ELASTIC_IP_LIMIT {
        g.then_apply(&allocate(other_account(), u128::from(bits))).unwrap();
    }
    // The sixth is refused, and nothing is decided: the pool keeps it.
    assert_eq!(g.when(&allocate(other_account(), 6)), Err(DecideError::AddressLimitExceeded));
    assert_eq!(allocated_in(&g), 5);
    // Another account is not affected by the first one's addresses.
    for bits in 11..=15 {
        g.then_apply(&allocate(third_account(), bits)).unwrap();
    }
    assert_eq!(g.when(&allocate(third_account(), 16)), Err(DecideError::AddressLimitExceeded));
    // Releasing one lets the account allocate again, once.
    g.then_apply(&release(other_account(), 3)).unwrap();
    g.then_apply(&allocate(other_account(), 6)).unwrap();
    assert_eq!(g.when(&allocate(other_account(), 7)), Err(DecideError::AddressLimitExceeded));
    // The cloud administrator's account has no limit.
    for bits in 21..=28 {
        g.then_apply(&allocate(admin(), bits)).unwrap();
    }
    assert_eq!(allocated_in(&g), 5 + 5 + 8);
}

#[test]
fn the_cloud_administrator_sets_the_limit_and_addresses_beyond_a_lowered_one_stay() {
    let mut g = roomy_cloud();
    let d = g.then_apply(&set_limit(7)).unwrap();
    assert_eq!(event_types(&d), vec!["ElasticIpLimitSet"]);
    assert_eq!(g.when(&set_limit(7)).unwrap().events, vec![], "the limit already");
    for bits in 1..=7 {
        g.then_apply(&allocate(other_account(), bits)).unwrap();
    }
    assert_eq!(g.when(&allocate(other_account(), 8)), Err(DecideError::AddressLimitExceeded));
    // Lowered below what the account holds: it keeps them, allocates none
    // until it is under the limit again.
    g.then_apply(&set_limit(2)).unwrap();
    for bits in 1..=5 {
        g.then_apply(&release(other_account(), bits)).unwrap();
        assert_eq!(g.when(&allocate(other_account(), 8)), Err(DecideError::AddressLimitExceeded), "{bits}");
    }
    g.then_apply(&release(other_account(), 6)).unwrap();
    g.then_apply(&allocate(other_account(), 8)).unwrap();
    // Zero: no account but the administrator's allocates.
    g.then_apply(&set_limit(0)).unwrap();
    assert_eq!(g.when(&allocate(third_account(), 9)), Err(DecideError::AddressLimitExceeded));
    g.then_apply(&allocate(admin(), 9)).unwrap();
}

/// A log written before the limit (no `ElasticIpLimitSet`, addresses
/// allocated without regard to it) folds to the right count with no new
/// event: the account over the default keeps its addresses and may not
/// allocate until it is under it; the addresses it released do not count.
#[test]
fn an_old_log_folds_to_the_right_count() {
    let pool: Vec<String> = (10..40).map(|i| format!("192.0.2.{i}")).collect();
    let mut old: Vec<(StreamId, Event)> = vec![(
        StreamId::network(),
        AddressPoolConfigured {
            private_cidr: "10.0.0.0/24".into(),
            public_addresses: pool.clone(),
            at: t(1),
        }
        .into(),
    )];
    for (account, name) in [(admin(), "admin"), (other_account(), "other")] {
        old.push((
            StreamId::account(&account),
            AccountCreated { account: account.clone(), name: name.into(), at: t(2) }.into(),
        ));
    }
    // `other` allocated 8 and released 2 of them (6 held, more than the
    // default allows now), as the log of that time records it.
    for bits in 1..=8u128 {
        let allocation = AllocationId::from_bits(bits);
        let address = pool[bits as usize].clone();
        old.push((
            StreamId::network(),
            PublicAddressTaken {
                address: address.clone(),
                holder: AddressHolder::Allocation(allocation.clone()),
            }
            .into(),
        ));
        old.push((
            StreamId::elastic_ip(&allocation),
            AddressAllocated {
                allocation: allocation.clone(),
                address: address.clone(),
                account: other_account(),
                at: t(3),
            }
            .into(),
        ));
        if bits <= 2 {
            old.push((StreamId::elastic_ip(&allocation), AddressReleased { at: t(4) }.into()));
            old.push((StreamId::network(), PublicAddressFreed { address }.into()));
        }
    }
    let mut g = given(&old);
    assert_eq!(g.when(&allocate(other_account(), 9)), Err(DecideError::AddressLimitExceeded));
    g.then_apply(&release(other_account(), 3)).unwrap();
    assert_eq!(g.when(&allocate(other_account(), 9)), Err(DecideError::AddressLimitExceeded), "5 still held");
    g.then_apply(&release(other_account(), 4)).unwrap();
    let d = g.then_apply(&allocate(other_account(), 9)).unwrap();
    assert_eq!(event_types(&d), vec!["PublicAddressTaken", "AddressAllocated"]);
    assert_eq!(g.when(&allocate(other_account(), 10)), Err(DecideError::AddressLimitExceeded));
    // The administrator's account, in the same old log, is not limited.
    for bits in 11..=17 {
        g.then_apply(&allocate(admin(), bits)).unwrap();
    }
}
