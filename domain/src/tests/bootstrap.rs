use super::samples::*;
use super::*;
use crate::command::*;

#[test]
fn bootstrap_creates_cloud_cluster_node_admin_and_images_at_once() {
    let g = given(&[]);
    let d = g.when(&bootstrap(4)).unwrap();
    assert_eq!(
        event_types(&d),
        vec![
            "CloudInitialized",
            "ClusterAdded",
            "ClusterRegistered",
            "NodeRegistered",
            "AddressPoolConfigured",
            "AccountNameClaimed",
            "AccountCreated",
            "GroupNameClaimed",
            "SecurityGroupCreated",
            "SecurityRulesAuthorized",
            "SecurityRulesAuthorized",
            "AccessKeyCreated",
            "ImageRegistered",
            "ImageRegistered"
        ]
    );
}

#[test]
fn vm_types_are_resized_or_added_and_checked() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(16)).unwrap();
    let set = |name: &str, cpus, memory_mib| {
        Command::ModifyInstanceTypeAttribute(ModifyInstanceTypeAttribute {
            name: name.into(),
            cpus: Some(cpus),
            memory_mib: Some(memory_mib),
            disk_gib: Some(10),
            reset: false,
            at: t(5),
        })
    };
    g.then_apply(&set("m1.small", 2, 1024)).unwrap();
    g.then_apply(&set("x1.custom", 8, 8192)).unwrap();
    assert!(g.when(&set("m1.small", 2, 1024)).unwrap().events.is_empty(), "no change, no event");
    assert_eq!(g.when(&set("bad", 0, 1024)), Err(DecideError::InvalidVmType("bad".into())));
    let Some(Aggregate::Cloud(cloud)) = g.state(&StreamId::cloud()) else { unreachable!() };
    assert_eq!(cloud.vm_type("m1.small").unwrap().cpus, 2);
    assert_eq!(cloud.vm_type("x1.custom").unwrap().memory_mib, 8192);
    // Launches use the new size.
    let mut run = run_in(admin(), 1, 1, 1, None);
    run.vm_type = "x1.custom".into();
    let d = g.when(&Command::RunInstances(run)).unwrap();
    assert!(d.events.iter().any(|(_, e)| matches!(e, Event::CapacityReserved(c) if c.amount.cpus == 8)));
}

/// What is not given keeps the value the cloud's stream has now, so two
/// racing changes of one type (one of its CPUs, one of its memory) both
/// count; a reset starts from Eucalyptus's default; a new type needs every
/// size.
#[test]
fn a_partial_change_of_a_vm_type_keeps_the_rest_of_the_current_one() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(16)).unwrap();
    let modify = |cpus, memory_mib, disk_gib, reset| {
        Command::ModifyInstanceTypeAttribute(ModifyInstanceTypeAttribute {
            name: "m1.small".into(),
            cpus,
            memory_mib,
            disk_gib,
            reset,
            at: t(5),
        })
    };
    let small = |g: &Given| {
        let Some(Aggregate::Cloud(cloud)) = g.state(&StreamId::cloud()) else { unreachable!() };
        cloud.vm_type("m1.small").cloned().unwrap()
    };
    let default = small(&g);
    let d = g.then_apply(&modify(Some(4), None, None, false)).unwrap();
    let four = VmType { cpus: 4, ..default.clone() };
    assert_eq!(d.reply, Reply::VmType { vm_type: four.clone(), previous: Some(default.clone()) });
    g.then_apply(&modify(None, Some(2048), None, false)).unwrap();
    assert_eq!(small(&g), VmType { memory_mib: 2048, ..four.clone() });
    let d = g.then_apply(&modify(None, None, Some(20), true)).unwrap();
    assert_eq!(small(&g), VmType { disk_gib: 20, ..default.clone() });
    assert_eq!(
        d.reply,
        Reply::VmType { vm_type: small(&g), previous: Some(VmType { memory_mib: 2048, ..four }) }
    );
    let new = |cpus, memory_mib, disk_gib| {
        Command::ModifyInstanceTypeAttribute(ModifyInstanceTypeAttribute {
            name: "x1.new".into(),
            cpus,
            memory_mib,
            disk_gib,
            reset: true,
            at: t(6),
        })
    };
    assert_eq!(
        g.when(&new(Some(2), Some(512), None)),
        Err(DecideError::NewVmTypeIncomplete("x1.new".into()))
    );
    let d = g.when(&new(Some(2), Some(512), Some(5))).unwrap();
    assert_eq!(event_types(&d), vec!["VmTypeSet"]);
    assert_eq!(
        d.reply,
        Reply::VmType {
            vm_type: VmType { name: "x1.new".into(), cpus: 2, memory_mib: 512, disk_gib: 5 },
            previous: None
        }
    );
}

#[test]
fn bootstrap_twice_is_refused() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    assert_eq!(g.when(&bootstrap(4)), Err(DecideError::CloudAlreadyInitialized));
}

#[test]
fn accounts_and_keys_are_unique() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    let again = Command::CreateAccount(CreateAccount {
        account: admin(),
        name: "x".into(),
        default_group: SecurityGroupId::from_bits(0xbeef),
        access_key: None,
        at: t(2),
    });
    assert_eq!(g.when(&again), Err(DecideError::AccountExists(admin())));
    let same_name = Command::CreateAccount(CreateAccount {
        account: AccountId::from_bits(999),
        name: "admin".into(),
        default_group: SecurityGroupId::from_bits(0xbeef),
        access_key: None,
        at: t(2),
    });
    assert_eq!(g.when(&same_name), Err(DecideError::AccountNameTaken("admin".into())));
    let key = CreateAccessKey {
        account: admin(),
        key: NewAccessKey {
            user: UserName::admin(),
            access_key: AccessKeyId::from_bits(7),
            secret: secret(),
        },
        at: t(2),
    };
    assert_eq!(
        g.when(&Command::CreateAccessKey(key.clone())),
        Err(DecideError::AccessKeyExists(AccessKeyId::from_bits(7)))
    );
    let missing = CreateAccessKey { account: other_account(), ..key.clone() };
    assert_eq!(
        g.when(&Command::CreateAccessKey(missing)),
        Err(DecideError::AccountNotFound(other_account()))
    );
    // Keys go to users that exist.
    let alice = UserName::parse("alice").unwrap();
    let for_alice = CreateAccessKey {
        key: NewAccessKey { user: alice.clone(), access_key: AccessKeyId::from_bits(8), secret: secret() },
        ..key
    };
    assert_eq!(
        g.when(&Command::CreateAccessKey(for_alice.clone())),
        Err(DecideError::UserNotFound(alice.clone()))
    );
    let user = Command::CreateUser(CreateUser { account: admin(), user: alice.clone(), at: t(3) });
    g.then_apply(&user).unwrap();
    assert_eq!(g.when(&user), Err(DecideError::UserExists(alice)));
    assert_eq!(
        event_types(&g.then_apply(&Command::CreateAccessKey(for_alice)).unwrap()),
        vec!["AccessKeyCreated"]
    );
    // Keys are turned off, on, and deleted; a user goes once keyless.
    let key8 = AccessKeyId::from_bits(8);
    let alice = UserName::parse("alice").unwrap();
    let update = |active| {
        Command::UpdateAccessKey(UpdateAccessKey {
            account: admin(),
            user: alice.clone(),
            access_key: key8.clone(),
            active,
            at: t(4),
        })
    };
    let delete = |user: &UserName| {
        Command::DeleteAccessKey(DeleteAccessKey {
            account: admin(),
            user: user.clone(),
            access_key: key8.clone(),
            at: t(4),
        })
    };
    assert_eq!(event_types(&g.then_apply(&update(false)).unwrap()), vec!["AccessKeyStatusChanged"]);
    assert!(g.when(&update(false)).unwrap().events.is_empty(), "already off");
    let delete_user = Command::DeleteUser(DeleteUser { account: admin(), user: alice.clone(), at: t(5) });
    assert_eq!(g.when(&delete_user), Err(DecideError::UserInUse(alice.clone())));
    let wrong_user = delete(&UserName::admin());
    assert_eq!(g.when(&wrong_user), Err(DecideError::AccessKeyNotFound(key8.clone())));
    g.then_apply(&delete(&alice)).unwrap();
    assert_eq!(event_types(&g.then_apply(&delete_user).unwrap()), vec!["UserDeleted"]);
    let admin_user = Command::DeleteUser(DeleteUser { account: admin(), user: UserName::admin(), at: t(5) });
    assert_eq!(g.when(&admin_user), Err(DecideError::UserInUse(UserName::admin())));
}

#[test]
fn clusters_and_nodes_are_unique_and_need_a_cloud() {
    let add = Command::AddCluster(AddCluster {
        zone: ZoneName::parse("zone-2").unwrap(),
        policy: SchedulingPolicy::RoundRobin,
        at: t(3),
    });
    assert_eq!(given(&[]).when(&add), Err(DecideError::CloudNotInitialized));
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    assert_eq!(event_types(&g.then_apply(&add).unwrap()), vec!["ClusterAdded", "ClusterRegistered"]);
    assert_eq!(g.when(&add), Err(DecideError::ZoneExists(ZoneName::parse("zone-2").unwrap())));
    let node = RegisterNode {
        node: node(),
        zone: zone(),
        host: "h".into(),
        hypervisor: "sim".into(),
        capacity: Resources::default(),
        key: None,
        at: t(4),
    };
    assert_eq!(g.when(&Command::RegisterNode(node.clone())), Err(DecideError::NodeExists(node.node.clone())));
    let elsewhere = RegisterNode { zone: ZoneName::parse("nowhere").unwrap(), ..node };
    assert_eq!(
        g.when(&Command::RegisterNode(elsewhere)),
        Err(DecideError::UnknownZone(ZoneName::parse("nowhere").unwrap()))
    );
}

#[test]
fn an_image_needs_a_visible_kernel_of_the_right_kind() {
    let mut g = given(&[]);
    g.then_apply(&bootstrap(4)).unwrap();
    let wrong_kind =
        image_cmd(ImageId::with_kind(ImageKind::Machine, 9), ImageKind::Machine, Some(default_image()));
    assert_eq!(g.when(&Command::RegisterImage(wrong_kind)), Err(DecideError::ImageNotFound(default_image())));
    let again = image_cmd(default_image(), ImageKind::Machine, None);
    assert_eq!(g.when(&Command::RegisterImage(again)), Err(DecideError::ImageExists(default_image())));
}
