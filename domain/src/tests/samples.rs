//! Sample commands and one sample of every event type.

use crate::command::*;
use crate::event::*;
use crate::*;

pub(crate) fn t(ms: i64) -> Timestamp {
    Timestamp(ms)
}

pub(crate) fn zone() -> ZoneName {
    ZoneName::parse("zone-1").unwrap()
}

pub(crate) fn node() -> NodeId {
    NodeId::from_bits(0xabc)
}

pub(crate) fn admin() -> AccountId {
    AccountId::from_bits(111)
}

pub(crate) fn other_account() -> AccountId {
    AccountId::from_bits(222)
}

pub(crate) fn default_image() -> ImageId {
    ImageId::with_kind(ImageKind::Machine, 1)
}

pub(crate) fn kernel() -> ImageId {
    ImageId::with_kind(ImageKind::Kernel, 2)
}

pub(crate) fn secret() -> SealedSecret {
    SealedSecret { nonce: vec![1; 12], ciphertext: vec![2; 56] }
}

pub(crate) fn image_cmd(image: ImageId, kind: ImageKind, kernel: Option<ImageId>) -> RegisterImage {
    RegisterImage {
        image,
        owner: AccountId::system(),
        kind,
        name: "default".into(),
        description: "built-in".into(),
        architecture: "x86_64".into(),
        location: "yukari/default".into(),
        kernel,
        ramdisk: None,
        public: true,
        at: t(1),
    }
}

/// A cloud with one zone whose one node has room for `cpus` m1.small.
pub(crate) fn bootstrap(cpus: u32) -> Command {
    Command::BootstrapCloud(BootstrapCloud {
        region: "yukari".into(),
        vm_types: VmType::eucalyptus_defaults(),
        cluster: AddCluster { zone: zone(), policy: SchedulingPolicy::Greedy, at: t(1) },
        node: RegisterNode {
            node: node(),
            zone: zone(),
            host: "localhost".into(),
            hypervisor: "sim".into(),
            capacity: Resources { cpus, memory_mib: 1 << 20, disk_gib: 1 << 20 },
            at: t(1),
        },
        admin: CreateAccount { account: admin(), name: "admin".into(), at: t(1) },
        admin_key: CreateAccessKey {
            account: admin(),
            user: UserName::admin(),
            access_key: AccessKeyId::from_bits(7),
            secret: secret(),
            at: t(1),
        },
        images: vec![
            image_cmd(kernel(), ImageKind::Kernel, None),
            image_cmd(default_image(), ImageKind::Machine, Some(kernel())),
        ],
        at: t(1),
    })
}

pub(crate) fn run(account: AccountId, bits: u128, min: u32, max: u32, token: Option<&str>) -> Command {
    Command::RunInstances(RunInstances {
        account,
        requester: UserName::admin(),
        reservation: ReservationId::from_bits(bits),
        instance_ids: (0..max as u128).map(|i| InstanceId::from_bits(bits * 1000 + i)).collect(),
        image: default_image(),
        vm_type: "m1.small".into(),
        min_count: min,
        max_count: max,
        zone: zone(),
        user_data: b"hello".to_vec(),
        client_token: token.map(str::to_owned),
        at: t(10),
    })
}

pub(crate) fn terminate(account: AccountId, ids: &[InstanceId]) -> Command {
    Command::TerminateInstances(TerminateInstances { account, instances: ids.to_vec(), at: t(20) })
}

pub(crate) fn report(instance: &InstanceId, outcome: NodeOutcome) -> Command {
    Command::ReportInstance(NodeReport {
        node: node(),
        zone: zone(),
        instance: instance.clone(),
        outcome,
        at: t(15),
    })
}

/// One event of every type, in `Event::TYPES` order.
pub(crate) fn every_event() -> Vec<Event> {
    let i = InstanceId::from_bits(0x1234);
    vec![
        CloudInitialized {
            region: "yukari".into(),
            vm_types: VmType::eucalyptus_defaults()[..2].to_vec(),
            at: t(1),
        }
        .into(),
        ClusterAdded { zone: zone(), at: t(1) }.into(),
        ClusterRegistered { zone: zone(), policy: SchedulingPolicy::RoundRobin, at: t(1) }.into(),
        NodeRegistered {
            node: node(),
            zone: zone(),
            host: "10.0.0.2".into(),
            hypervisor: "qemu:///embed".into(),
            capacity: Resources { cpus: 8, memory_mib: 16384, disk_gib: 500 },
            at: t(2),
        }
        .into(),
        CapacityReserved {
            node: node(),
            instance: i.clone(),
            amount: Resources { cpus: 1, memory_mib: 256, disk_gib: 5 },
        }
        .into(),
        CapacityReleased { node: node(), instance: i.clone() }.into(),
        AccountCreated { account: admin(), name: "admin".into(), at: t(3) }.into(),
        AccessKeyCreated {
            account: admin(),
            user: UserName::admin(),
            access_key: AccessKeyId::from_bits(7),
            secret: secret(),
            at: t(3),
        }
        .into(),
        ImageRegistered {
            image: default_image(),
            owner: AccountId::system(),
            kind: ImageKind::Machine,
            name: "n".into(),
            description: "d".into(),
            architecture: "x86_64".into(),
            location: "l".into(),
            kernel: Some(kernel()),
            ramdisk: None,
            public: true,
            at: t(4),
        }
        .into(),
        ReservationCreated {
            reservation: ReservationId::from_bits(5),
            account: admin(),
            requester: UserName::admin(),
            instances: vec![i.clone()],
            at: t(5),
        }
        .into(),
        ClientTokenClaimed {
            account: admin(),
            token: "tok".into(),
            reservation: ReservationId::from_bits(5),
            fingerprint: "fp".into(),
        }
        .into(),
        InstanceRequested {
            instance: i.clone(),
            reservation: ReservationId::from_bits(5),
            account: admin(),
            image: default_image(),
            kernel: Some(kernel()),
            ramdisk: None,
            vm_type: VmType::eucalyptus_defaults()[1].clone(),
            launch_index: 0,
            user_data: b"#!/bin/sh".to_vec(),
            client_token: Some("tok".into()),
            at: t(5),
        }
        .into(),
        InstancePlaced { node: node(), zone: zone(), at: t(5) }.into(),
        InstanceRunning { node: node(), at: t(6) }.into(),
        InstanceTerminationRequested { at: t(7) }.into(),
        InstanceTerminated { reason: StateReason::user_terminated(), at: t(8) }.into(),
        InstanceLaunchFailed { node: node(), reason: StateReason::launch_failed("no disk"), at: t(9) }.into(),
    ]
}
