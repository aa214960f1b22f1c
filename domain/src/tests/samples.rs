//! Sample commands and one sample of every event type.

use crate::buckets::*;
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
        bundle: None,
        ebs: None,
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
            key: None,
            at: t(1),
        },
        private_cidr: "10.0.0.0/28".into(),
        public_addresses: public_pool(),
        admin: CreateAccount {
            account: admin(),
            name: "admin".into(),
            default_group: default_group(admin()),
            access_key: Some(NewAccessKey {
                user: UserName::admin(),
                access_key: AccessKeyId::from_bits(7),
                secret: secret(),
            }),
            at: t(1),
        },
        images: vec![
            image_cmd(kernel(), ImageKind::Kernel, None),
            image_cmd(default_image(), ImageKind::Machine, Some(kernel())),
        ],
        at: t(1),
    })
}

/// The public pool: three addresses.
pub(crate) fn public_pool() -> Vec<String> {
    vec!["192.0.2.10".into(), "192.0.2.11".into(), "192.0.2.12".into()]
}

/// An account's default group id (derived from the account, for tests).
pub(crate) fn default_group(account: AccountId) -> SecurityGroupId {
    SecurityGroupId::from_bits(account.as_str().parse::<u128>().unwrap() + 0xd000)
}

/// A second account, with its default group.
pub(crate) fn create_other() -> Command {
    Command::CreateAccount(CreateAccount {
        account: other_account(),
        name: "other".into(),
        default_group: default_group(other_account()),
        access_key: None,
        at: t(2),
    })
}

pub(crate) fn run_in(
    account: AccountId,
    bits: u128,
    min: u32,
    max: u32,
    token: Option<&str>,
) -> RunInstances {
    RunInstances {
        account,
        requester: UserName::admin(),
        reservation: ReservationId::from_bits(bits),
        instance_ids: (0..max as u128).map(|i| InstanceId::from_bits(bits * 1000 + i)).collect(),
        image: default_image(),
        vm_type: "m1.small".into(),
        min_count: min,
        max_count: max,
        zone: Some(zone()),
        user_data: b"hello".to_vec(),
        client_token: token.map(str::to_owned),
        key_name: None,
        groups: Vec::new(),
        shutdown_behavior: ShutdownBehavior::Stop,
        disable_api_termination: false,
        tags: Vec::new(),
        kernel: None,
        ramdisk: None,
        volume_tags: Vec::new(),
        block_devices: Vec::new(),
        volumes: Vec::new(),
        at: t(10),
    }
}

pub(crate) fn run(account: AccountId, bits: u128, min: u32, max: u32, token: Option<&str>) -> Command {
    Command::RunInstances(run_in(account, bits, min, max, token))
}

/// A change of instance state a user asks for (one command each).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum StateRequest {
    Terminate,
    Stop { force: bool },
    Start,
    Reboot,
}

pub(crate) fn change(account: AccountId, ids: &[InstanceId], request: StateRequest) -> Command {
    let ids = InstanceIds { account, instances: ids.to_vec(), at: t(20) };
    match request {
        StateRequest::Terminate => Command::TerminateInstances(ids),
        StateRequest::Stop { force } => Command::StopInstances(StopInstances {
            account: ids.account,
            instances: ids.instances,
            force,
            at: ids.at,
        }),
        StateRequest::Start => Command::StartInstances(ids),
        StateRequest::Reboot => Command::RebootInstances(ids),
    }
}

pub(crate) fn terminate(account: AccountId, ids: &[InstanceId]) -> Command {
    change(account, ids, StateRequest::Terminate)
}

pub(crate) fn report(instance: &InstanceId, outcome: NodeOutcome) -> Command {
    Command::from(NodeReport {
        node: node(),
        zone: zone(),
        instance: instance.clone(),
        attempt: None,
        outcome,
        at: t(15),
    })
}

/// A report that names the launch attempt it is about.
pub(crate) fn report_of(instance: &InstanceId, attempt: u32, outcome: NodeOutcome) -> Command {
    Command::from(NodeReport {
        node: node(),
        zone: zone(),
        instance: instance.clone(),
        attempt: Some(attempt),
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
        VmTypeSet {
            vm_type: VmType { name: "m1.small".into(), cpus: 1, memory_mib: 512, disk_gib: 10 },
            at: t(25),
        }
        .into(),
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
        ClusterPolicySet { zone: zone(), policy: SchedulingPolicy::PowerSave, at: t(30) }.into(),
        NodeCredentialsIssued {
            node: node(),
            access_key: AccessKeyId::from_bits(8),
            secret: SealedSecret { nonce: vec![1; 12], ciphertext: vec![2; 56] },
            at: t(31),
        }
        .into(),
        NodeUnreachable { node: node(), last_heartbeat: t(31), at: t(32) }.into(),
        NodeReachable { node: node(), at: t(33) }.into(),
        AccountCreated { account: admin(), name: "admin".into(), at: t(3) }.into(),
        AccessKeyCreated {
            account: admin(),
            user: UserName::admin(),
            access_key: AccessKeyId::from_bits(7),
            secret: secret(),
            at: t(3),
        }
        .into(),
        UserCreated { account: admin(), user: UserName::parse("alice").unwrap(), at: t(10) }.into(),
        UserDeleted { user: UserName::parse("alice").unwrap(), at: t(28) }.into(),
        AccessKeyStatusChanged { access_key: AccessKeyId::from_bits(7), active: false, at: t(26) }.into(),
        AccessKeyDeleted { access_key: AccessKeyId::from_bits(7), at: t(27) }.into(),
        KeyPairCreated {
            account: admin(),
            name: "mykey".into(),
            key_pair: KeyPairId::from_bits(3),
            fingerprint: "1f:51:ae".into(),
            public_key: "ssh-ed25519 AAAAC3 me".into(),
            key_type: "ed25519".into(),
            imported: true,
            at: t(10),
        }
        .into(),
        KeyPairDeleted { account: admin(), name: "mykey".into(), at: t(11) }.into(),
        GroupNameClaimed { name: "web".into(), group: SecurityGroupId::from_bits(4) }.into(),
        GroupNameReleased { name: "web".into(), group: SecurityGroupId::from_bits(4) }.into(),
        LoginProfileCreated {
            account: admin(),
            user: UserName::admin(),
            password: secret(),
            reset_required: false,
            at: t(35),
        }
        .into(),
        LoginProfileUpdated {
            account: admin(),
            user: UserName::admin(),
            password: Some(secret()),
            reset_required: true,
            at: t(36),
        }
        .into(),
        LoginProfileDeleted { account: admin(), user: UserName::admin(), at: t(37) }.into(),
        SigningCertificateUploaded {
            account: admin(),
            user: UserName::admin(),
            certificate: "QFYJ4UDWPW5BOMZ2BSQH4XUYRDBKJPXO".into(),
            pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            issued_by_cloud: true,
            at: t(90),
        }
        .into(),
        SigningCertificateStatusChanged {
            user: UserName::admin(),
            certificate: "QFYJ4UDWPW5BOMZ2BSQH4XUYRDBKJPXO".into(),
            active: false,
            at: t(91),
        }
        .into(),
        SigningCertificateDeleted {
            user: UserName::admin(),
            certificate: "QFYJ4UDWPW5BOMZ2BSQH4XUYRDBKJPXO".into(),
            at: t(92),
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
            key_name: Some("mykey".into()),
            security_groups: vec![default_group(admin())],
            shutdown_behavior: ShutdownBehavior::Terminate,
            disable_api_termination: true,
            at: t(5),
        }
        .into(),
        InstancePlaced { node: node(), zone: zone(), at: t(5) }.into(),
        InstanceRunning { node: node(), at: t(6) }.into(),
        InstanceTerminationRequested { at: t(7) }.into(),
        InstanceTerminated { reason: StateReason::user_terminated(), at: t(8) }.into(),
        InstanceLaunchFailed { node: node(), reason: StateReason::launch_failed("no disk"), at: t(9) }.into(),
        InstanceStartFailed {
            node: node(),
            reason: StateReason::start_failed("the domain does not start"),
            at: t(34),
        }
        .into(),
        InstanceAddressed { private_address: "10.0.0.5".into(), public_address: Some("192.0.2.11".into()) }
            .into(),
        InstancePublicAddressChanged {
            public_address: Some("192.0.2.10".into()),
            elastic: Some(AllocationId::from_bits(6)),
        }
        .into(),
        InstanceStopRequested { force: true, by_guest: false, at: t(18) }.into(),
        InstanceStopped { at: t(19) }.into(),
        InstanceStartRequested { at: t(20) }.into(),
        InstanceRebootRequested { at: t(21) }.into(),
        InstanceAttributeChanged {
            attribute: InstanceAttribute::InstanceType(VmType::eucalyptus_defaults()[3].clone()),
            at: t(22),
        }
        .into(),
        InstanceGroupsChanged { groups: vec![SecurityGroupId::from_bits(4)], at: t(29) }.into(),
        InstanceDeviceClaimed { device: "/dev/sdf".into(), volume: VolumeId::from_bits(0x77), at: t(40) }
            .into(),
        InstanceDeviceReleased { device: "/dev/sdf".into(), volume: VolumeId::from_bits(0x77), at: t(41) }
            .into(),
        SecurityGroupCreated {
            group: SecurityGroupId::from_bits(4),
            account: admin(),
            name: "web".into(),
            description: "web servers".into(),
            at: t(12),
        }
        .into(),
        SecurityRulesAuthorized { direction: Direction::Ingress, rules: vec![sample_rule()], at: t(12) }
            .into(),
        SecurityRulesRevoked { direction: Direction::Egress, rules: vec![sample_rule()], at: t(13) }.into(),
        SecurityGroupMemberAdded { instance: i.clone() }.into(),
        SecurityGroupMemberRemoved { instance: i.clone() }.into(),
        SecurityGroupReferenced { by: SecurityGroupId::from_bits(9) }.into(),
        SecurityGroupDereferenced { by: SecurityGroupId::from_bits(9) }.into(),
        SecurityGroupDeleted { at: t(14) }.into(),
        AddressPoolConfigured {
            private_cidr: "10.0.0.0/24".into(),
            public_addresses: public_pool(),
            at: t(1),
        }
        .into(),
        PrivateAddressTaken { address: "10.0.0.5".into(), instance: i.clone() }.into(),
        PrivateAddressFreed { address: "10.0.0.5".into() }.into(),
        PublicAddressTaken {
            address: "192.0.2.10".into(),
            holder: AddressHolder::Allocation(AllocationId::from_bits(6)),
        }
        .into(),
        PublicAddressFreed { address: "192.0.2.10".into() }.into(),
        ElasticIpLimitSet { per_account: 12, at: t(40) }.into(),
        AddressAllocated {
            allocation: AllocationId::from_bits(6),
            address: "192.0.2.10".into(),
            account: admin(),
            at: t(15),
        }
        .into(),
        AddressAssociated { association: AssociationId::from_bits(7), instance: i.clone(), at: t(15) }.into(),
        AddressDisassociated { at: t(16) }.into(),
        AddressReleased { at: t(17) }.into(),
        VolumeRequested {
            volume: VolumeId::from_bits(0x77),
            account: admin(),
            zone: zone(),
            size_gib: 1,
            volume_type: "gp2".into(),
            snapshot: Some(SnapshotId::from_bits(0x88)),
            at: t(42),
        }
        .into(),
        VolumeCreated { at: t(43) }.into(),
        VolumeFailed { reason: "disk full".into(), at: t(44) }.into(),
        VolumeAttachRequested {
            instance: i.clone(),
            device: "/dev/sdf".into(),
            grant: secret(),
            delete_on_termination: true,
            at: t(45),
        }
        .into(),
        VolumeExported { at: t(46) }.into(),
        VolumeAttached { at: t(47) }.into(),
        VolumeAttachFailed { reason: "no such device".into(), at: t(48) }.into(),
        VolumeDetachRequested { force: true, at: t(49) }.into(),
        VolumeDetachForced { reason: "late".into(), at: t(50) }.into(),
        VolumeReleased { at: t(51) }.into(),
        VolumeRevoked { at: t(52) }.into(),
        VolumeDeleteRequested { at: t(53) }.into(),
        VolumeDeleted { at: t(54) }.into(),
        VolumeAttachmentPlanned {
            instance: InstanceId::from_bits(0x1234),
            device: "/dev/sdg".into(),
            grant: secret(),
            delete_on_termination: true,
            at: t(62),
        }
        .into(),
        VolumeAttachmentCancelled { at: t(63) }.into(),
        VolumeDeleteOnTerminationSet { delete_on_termination: false, at: t(64) }.into(),
        SnapshotRequested {
            snapshot: SnapshotId::from_bits(0x88),
            account: admin(),
            volume: VolumeId::from_bits(0x77),
            zone: zone(),
            size_gib: 1,
            description: "nightly".into(),
            at: t(55),
        }
        .into(),
        SnapshotProgressed { percent: 40, at: t(56) }.into(),
        SnapshotCompleted { manifest: "ab".repeat(32), at: t(57) }.into(),
        SnapshotFailed { reason: "chunk store full".into(), at: t(58) }.into(),
        SnapshotDeleted { at: t(59) }.into(),
        SnapshotPermissionsSet {
            accounts: vec![admin(), AccountId::from_bits(222)],
            public: true,
            at: t(59),
        }
        .into(),
        SnapshotImageRegistered { image: default_image(), at: t(97) }.into(),
        SnapshotImageDeregistered { image: default_image(), at: t(98) }.into(),
        StorageConfigured { zone: zone(), capacity_gib: 100, at: t(60) }.into(),
        StorageCapacitySet { capacity_gib: 200, at: t(61) }.into(),
        StorageReserved { volume: VolumeId::from_bits(0x77), gib: 1 }.into(),
        StorageReleased { volume: VolumeId::from_bits(0x77) }.into(),
        StorageControllerRegistered {
            host: "10.0.0.21".into(),
            access_key: AccessKeyId::from_bits(0x5c),
            secret: secret(),
            at: t(61),
        }
        .into(),
        BucketCreated {
            bucket: bucket(),
            account: admin(),
            location: "yukari".into(),
            acl: Acl::new(&AclRequest::default(), &admin(), &admin()),
            at: t(70),
        }
        .into(),
        BucketRecreated {
            account: other_account(),
            location: String::new(),
            acl: Acl::new(&AclRequest::Canned(CannedAcl::PublicRead), &other_account(), &other_account()),
            at: t(71),
        }
        .into(),
        BucketDeleted { at: t(72) }.into(),
        BucketAclSet {
            acl: Acl {
                owner: admin(),
                grants: vec![
                    Grant { grantee: Grantee::Account(other_account()), permission: Permission::Write },
                    Grant { grantee: Grantee::AuthenticatedUsers, permission: Permission::Read },
                    Grant { grantee: Grantee::Cloud, permission: Permission::ReadAcp },
                ],
            },
            at: t(73),
        }
        .into(),
        BucketVersioningSet { versioning: Versioning::Enabled, at: t(74) }.into(),
        BucketCorsSet {
            rules: vec![CorsRule {
                id: Some("r1".into()),
                allowed_origins: vec!["https://example.com".into()],
                allowed_methods: vec!["GET".into(), "PUT".into()],
                allowed_headers: vec!["*".into()],
                expose_headers: vec!["ETag".into()],
                max_age_seconds: Some(3000),
            }],
            at: t(75),
        }
        .into(),
        BucketTaggingSet { tags: vec![("team".into(), "infra".into())], at: t(76) }.into(),
        ObjectStored {
            key: "photos/2026/cat.jpg".into(),
            version: "3sL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY".into(),
            content: sample_content(),
            acl: Acl::new(&AclRequest::Canned(CannedAcl::AwsExecRead), &admin(), &admin()),
            at: t(77),
        }
        .into(),
        DeleteMarkerPlaced {
            key: "photos/2026/cat.jpg".into(),
            version: "QUpfdndhfd8438MNFDN93jdnJFkdmqnh893".into(),
            account: admin(),
            at: t(78),
        }
        .into(),
        ObjectVersionDeleted { key: "photos/2026/cat.jpg".into(), version: "null".into(), at: t(79) }.into(),
        ObjectAclSet {
            key: "photos/2026/cat.jpg".into(),
            version: "null".into(),
            acl: Acl::new(&AclRequest::Canned(CannedAcl::BucketOwnerFullControl), &other_account(), &admin()),
            at: t(80),
        }
        .into(),
        MultipartUploadStarted {
            upload: "2~wPjNmQFXDCbLiLQoPi7ZYHd0mX4Ui1d".into(),
            key: "big.iso".into(),
            account: admin(),
            headers: ObjectHeaders {
                content_type: Some("application/octet-stream".into()),
                ..Default::default()
            },
            metadata: vec![],
            acl: Acl::new(&AclRequest::default(), &admin(), &admin()),
            at: t(81),
        }
        .into(),
        MultipartPartStored {
            upload: "2~wPjNmQFXDCbLiLQoPi7ZYHd0mX4Ui1d".into(),
            number: 1,
            part: BlobRef { blob: "ab".repeat(32), size: 5 * 1024 * 1024 },
            etag: "9e107d9d372bb6826bd81d3542a419d6".into(),
            at: t(82),
        }
        .into(),
        MultipartUploadEnded {
            upload: "2~wPjNmQFXDCbLiLQoPi7ZYHd0mX4Ui1d".into(),
            completed: true,
            at: t(83),
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
        ImageBundleRecorded {
            bucket: "images".into(),
            manifest_key: "disk.img.manifest.xml".into(),
            manifest_version: "null".into(),
            manifest_sha256: "cd".repeat(32),
            signed_by: "QFYJ4UDWPW5BOMZ2BSQH4XUYRDBKJPXO".into(),
            image_digest: "ef".repeat(20),
            image_size: 10240,
            bundled_size: 2064,
            encrypted_key: "0a".repeat(256),
            encrypted_iv: "0b".repeat(256),
            parts: vec![ImagePart {
                key: "disk.img.part.00".into(),
                version: "null".into(),
                sha1: "12".repeat(20),
                size: 2064,
            }],
            at: t(93),
        }
        .into(),
        ImageDeregistered { at: t(94) }.into(),
        ImageLaunchPermissionsSet { accounts: vec![other_account()], public: false, at: t(95) }.into(),
        ImageDescriptionSet { description: "my image".into(), at: t(96) }.into(),
        ImageBlockDevicesRecorded {
            root_device: "/dev/sda1".into(),
            devices: vec![
                ImageBlockDevice {
                    device: "/dev/sda1".into(),
                    snapshot: Some(SnapshotId::from_bits(7)),
                    size_gib: 2,
                    volume_type: "standard".into(),
                    delete_on_termination: true,
                },
                ImageBlockDevice {
                    device: "/dev/sdb".into(),
                    snapshot: None,
                    size_gib: 5,
                    volume_type: "gp3".into(),
                    delete_on_termination: false,
                },
            ],
            at: t(99),
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
        AccountNameClaimed { name: "admin".into(), account: admin() }.into(),
        NodeClaimed { node: node(), zone: zone() }.into(),
        TagsCreated {
            resource: i.to_string(),
            tags: vec![Tag { key: "Name".into(), value: "web-1".into() }],
            at: t(23),
        }
        .into(),
        TagsDeleted {
            resource: i.to_string(),
            removals: vec![TagRemoval { key: "Name".into(), value: None }],
            at: t(24),
        }
        .into(),
        RequestRefused {
            code: "IncorrectInstanceState".into(),
            message: "The instance 'i-00000000000001234' is terminated; it cannot stop.".into(),
            resources: vec![i.to_string()],
            dry_run: false,
            at: t(30),
        }
        .into(),
    ]
}

pub(crate) fn bucket() -> BucketName {
    BucketName::parse("my-bucket").unwrap()
}

pub(crate) fn sample_content() -> ObjectContent {
    ObjectContent {
        parts: vec![BlobRef {
            blob: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into(),
            size: 0,
        }],
        size: 0,
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        headers: ObjectHeaders {
            content_type: Some("image/jpeg".into()),
            content_encoding: None,
            content_disposition: Some("attachment; filename=\"cat.jpg\"".into()),
            content_language: Some("ja".into()),
            cache_control: Some("max-age=60".into()),
            expires: Some("Thu, 01 Dec 2027 16:00:00 GMT".into()),
        },
        metadata: vec![("camera".into(), "ねこ".into())],
    }
}

pub(crate) fn sample_rule() -> SecurityRule {
    SecurityRule {
        protocol: "tcp".into(),
        from_port: 22,
        to_port: 22,
        source: RuleSource::Cidr("0.0.0.0/0".into()),
    }
}
