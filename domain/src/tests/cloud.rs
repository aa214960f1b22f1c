//! The cloud: bootstrap, and VM types resized or added.

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
