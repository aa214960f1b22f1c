//! The probes of each action: requests naming one of A's resources (or
//! the same kind of resource that does not exist), as templates whose
//! values are filled in from a [`Target`].

/// What a template value stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Instance,
    InstanceName,
    TagKey,
    Reservation,
    ClientToken,
    PrivateIp,
    KeyName,
    KeyPairId,
    Fingerprint,
    GroupId,
    GroupName,
    GroupDescription,
    Allocation,
    PublicIp,
    Association,
    /// The account's id (owner-id, UserId).
    Owner,
    /// The account's name (Euare's DelegateAccount).
    AccountName,
    /// An access key id of the account's.
    AccessKey,
    /// B's own instance (the same in both runs).
    OwnInstance,
    /// B's own security group (the same in both runs).
    OwnGroup,
    /// B's own address (the same in both runs).
    OwnAllocation,
    /// The cloud's public machine image (the same in both runs).
    Emi,
    Volume,
    Snapshot,
    /// B's own volume (the same in both runs).
    OwnVolume,
    /// A fixed string.
    Lit(&'static str),
}

/// Values for every [`Value`]: account A's real resources, or a set of
/// the same shapes that nobody has.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub instance: String,
    pub instance_name: String,
    pub tag_key: String,
    pub reservation: String,
    pub client_token: String,
    pub private_ip: String,
    pub key_name: String,
    pub key_pair_id: String,
    pub fingerprint: String,
    pub group_id: String,
    pub group_name: String,
    pub group_description: String,
    pub allocation: String,
    pub public_ip: String,
    pub association: String,
    pub owner: String,
    pub account_name: String,
    pub access_key: String,
    /// B's own resources (the same in both targets).
    pub own_instance: String,
    pub own_group: String,
    pub own_allocation: String,
    pub emi: String,
    pub volume: String,
    pub snapshot: String,
    pub own_volume: String,
}

impl Target {
    pub fn value(&self, v: Value) -> String {
        match v {
            Value::Instance => self.instance.clone(),
            Value::InstanceName => self.instance_name.clone(),
            Value::TagKey => self.tag_key.clone(),
            Value::Reservation => self.reservation.clone(),
            Value::ClientToken => self.client_token.clone(),
            Value::PrivateIp => self.private_ip.clone(),
            Value::KeyName => self.key_name.clone(),
            Value::KeyPairId => self.key_pair_id.clone(),
            Value::Fingerprint => self.fingerprint.clone(),
            Value::GroupId => self.group_id.clone(),
            Value::GroupName => self.group_name.clone(),
            Value::GroupDescription => self.group_description.clone(),
            Value::Allocation => self.allocation.clone(),
            Value::PublicIp => self.public_ip.clone(),
            Value::Association => self.association.clone(),
            Value::Owner => self.owner.clone(),
            Value::AccountName => self.account_name.clone(),
            Value::AccessKey => self.access_key.clone(),
            Value::OwnInstance => self.own_instance.clone(),
            Value::OwnGroup => self.own_group.clone(),
            Value::OwnAllocation => self.own_allocation.clone(),
            Value::Emi => self.emi.clone(),
            Value::Volume => self.volume.clone(),
            Value::Snapshot => self.snapshot.clone(),
            Value::OwnVolume => self.own_volume.clone(),
            Value::Lit(s) => s.to_owned(),
        }
    }

    /// What of the account's must not be shown to another: every value
    /// but B's own and the fixed ones.
    pub fn marks(&self) -> Vec<String> {
        [
            &self.instance,
            &self.instance_name,
            &self.tag_key,
            &self.reservation,
            &self.client_token,
            &self.private_ip,
            &self.key_name,
            &self.key_pair_id,
            &self.fingerprint,
            &self.group_id,
            &self.group_name,
            &self.group_description,
            &self.allocation,
            &self.public_ip,
            &self.association,
            &self.owner,
            &self.account_name,
            &self.access_key,
            &self.volume,
            &self.snapshot,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}

/// One request: its action and parameters (values still templates).
#[derive(Clone, Debug)]
pub struct Probe {
    pub action: &'static str,
    pub params: Vec<(String, Value)>,
}

impl Probe {
    fn new(action: &'static str, params: &[(&str, Value)]) -> Probe {
        Probe { action, params: params.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect() }
    }

    /// The probe as sent, then with DryRun (for an action that changes),
    /// then asking for the past (AsOfPosition, the cloud admin's only).
    pub fn variants(&self, changes: bool) -> Vec<Probe> {
        let mut out = vec![self.clone()];
        if changes {
            let mut dry = self.clone();
            dry.params.push(("DryRun".into(), Value::Lit("true")));
            out.push(dry);
        }
        let mut past = self.clone();
        past.params.push(("AsOfPosition".into(), Value::Lit("1")));
        out.push(past);
        out
    }

    /// The parameters with `target`'s values.
    pub fn fill(&self, target: &Target) -> Vec<(String, String)> {
        self.params.iter().map(|(k, v)| (k.clone(), target.value(*v))).collect()
    }

    /// The values sent that stand for the target's resources.
    pub fn values_sent(&self, target: &Target) -> Vec<String> {
        self.params
            .iter()
            .filter(|(_, v)| {
                !matches!(
                    v,
                    Value::Lit(_) | Value::OwnInstance | Value::OwnGroup | Value::OwnAllocation | Value::Emi
                )
            })
            .map(|(_, v)| target.value(*v))
            .collect()
    }
}

use Value::*;

/// A filter on `name` for `value`.
fn filter(action: &'static str, name: &'static str, value: Value) -> Probe {
    Probe::new(action, &[("Filter.1.Name", Lit(name)), ("Filter.1.Value.1", value)])
}

const TCP_22: [(&str, Value); 4] = [
    ("IpPermissions.1.IpProtocol", Lit("tcp")),
    ("IpPermissions.1.FromPort", Lit("22")),
    ("IpPermissions.1.ToPort", Lit("22")),
    ("IpPermissions.1.IpRanges.1.CidrIp", Lit("192.0.2.0/24")),
];

fn rules(action: &'static str) -> Vec<Probe> {
    let on = |group: (&'static str, Value)| {
        let mut p = vec![group];
        p.extend(TCP_22);
        Probe::new(action, &p)
    };
    let from = |source: &[(&'static str, Value)]| {
        let mut p = vec![
            ("GroupId", OwnGroup),
            ("IpPermissions.1.IpProtocol", Lit("tcp")),
            ("IpPermissions.1.FromPort", Lit("80")),
            ("IpPermissions.1.ToPort", Lit("80")),
        ];
        p.extend_from_slice(source);
        Probe::new(action, &p)
    };
    let mut out = vec![
        on(("GroupId", GroupId)),
        on(("GroupName", GroupName)),
        // A rule of B's own group naming A's group as its source.
        from(&[("IpPermissions.1.Groups.1.GroupId", GroupId), ("IpPermissions.1.Groups.1.UserId", Owner)]),
        from(&[
            ("IpPermissions.1.Groups.1.GroupName", GroupName),
            ("IpPermissions.1.Groups.1.UserId", Owner),
        ]),
    ];
    if action.ends_with("Ingress") {
        out.push(Probe::new(
            action,
            &[
                ("GroupId", OwnGroup),
                ("IpProtocol", Lit("tcp")),
                ("FromPort", Lit("443")),
                ("ToPort", Lit("443")),
                ("SourceSecurityGroupName", GroupName),
                ("SourceSecurityGroupOwnerId", Owner),
            ],
        ));
    }
    out
}

/// The EC2 actions [`ec2`] has probes for: must equal `Action::NAMES`.
pub const COVERED: &[&str] = &[
    "RunInstances",
    "DescribeInstances",
    "TerminateInstances",
    "StopInstances",
    "StartInstances",
    "RebootInstances",
    "DescribeInstanceStatus",
    "DescribeInstanceAttribute",
    "ModifyInstanceAttribute",
    "GetConsoleOutput",
    "DescribeInstanceTypes",
    "ModifyInstanceTypeAttribute",
    "DescribeImages",
    "DescribeRegions",
    "DescribeAvailabilityZones",
    "DescribeAccountAttributes",
    "CreateKeyPair",
    "ImportKeyPair",
    "DescribeKeyPairs",
    "DeleteKeyPair",
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
    "DescribeSecurityGroups",
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "AllocateAddress",
    "AssociateAddress",
    "DisassociateAddress",
    "ReleaseAddress",
    "DescribeAddresses",
    "CreateTags",
    "DeleteTags",
    "DescribeTags",
    "CreateVolume",
    "DescribeVolumes",
    "DeleteVolume",
    "AttachVolume",
    "DetachVolume",
    "DescribeVolumeStatus",
    "DescribeVolumeAttribute",
    "ModifyVolumeAttribute",
    "CreateSnapshot",
    "CreateSnapshots",
    "DescribeSnapshots",
    "DeleteSnapshot",
    "CopySnapshot",
    "DescribeSnapshotAttribute",
    "ModifySnapshotAttribute",
    "ResetSnapshotAttribute",
    "RegisterImage",
    "CreateImage",
    "DeregisterImage",
    "DescribeImageAttribute",
    "ModifyImageAttribute",
    "ResetImageAttribute",
];

/// The public key B imports (the same in both runs).
pub const PUBLIC_KEY: &str = include_str!("../keys_fixtures/ed25519.pub");

/// The probes of EC2 action `action`; empty for one the matrix does not know.
pub fn ec2(action: &'static str) -> Vec<Probe> {
    let p = |params: &[(&str, Value)]| Probe::new(action, params);
    let f = |name, value| filter(action, name, value);
    let run = |extra: &[(&'static str, Value)]| {
        let mut params = vec![
            ("ImageId", Emi),
            ("MinCount", Lit("1")),
            ("MaxCount", Lit("1")),
            ("InstanceType", Lit("m1.small")),
        ];
        params.extend_from_slice(extra);
        Probe::new(action, &params)
    };
    match action {
        "RunInstances" => vec![
            run(&[("KeyName", KeyName)]),
            run(&[("SecurityGroup.1", GroupName)]),
            run(&[("SecurityGroupId.1", GroupId)]),
            run(&[("ClientToken", ClientToken)]),
        ],
        "DescribeInstances" => vec![
            p(&[("InstanceId.1", Instance)]),
            f("instance-id", Instance),
            f("reservation-id", Reservation),
            f("key-name", KeyName),
            f("group-id", GroupId),
            f("group-name", GroupName),
            f("owner-id", Owner),
            f("private-ip-address", PrivateIp),
            f("ip-address", PublicIp),
            f("client-token", ClientToken),
            f("tag:Name", InstanceName),
            filter(action, "tag-key", TagKey),
        ],
        "TerminateInstances" | "StopInstances" | "StartInstances" | "RebootInstances" => {
            vec![
                p(&[("InstanceId.1", Instance)]),
                p(&[("InstanceId.1", OwnInstance), ("InstanceId.2", Instance)]),
            ]
        }
        "DescribeInstanceStatus" => vec![
            p(&[("InstanceId.1", Instance), ("IncludeAllInstances", Lit("true"))]),
            p(&[
                ("IncludeAllInstances", Lit("true")),
                ("Filter.1.Name", Lit("instance-state-name")),
                ("Filter.1.Value.1", Lit("pending")),
            ]),
        ],
        "DescribeInstanceAttribute" => vec![
            p(&[("InstanceId", Instance), ("Attribute", Lit("instanceType"))]),
            p(&[("InstanceId", Instance), ("Attribute", Lit("userData"))]),
            p(&[("InstanceId", Instance), ("Attribute", Lit("groupSet"))]),
        ],
        "ModifyInstanceAttribute" => vec![
            p(&[("InstanceId", Instance), ("InstanceType.Value", Lit("m1.large"))]),
            p(&[("InstanceId", Instance), ("Attribute", Lit("instanceType")), ("Value", Lit("m1.large"))]),
            p(&[("InstanceId", OwnInstance), ("GroupId.1", GroupId)]),
        ],
        "GetConsoleOutput" => vec![p(&[("InstanceId", Instance)])],
        "DescribeInstanceTypes" => vec![p(&[])],
        "ModifyInstanceTypeAttribute" => vec![p(&[("Name", Lit("m1.small")), ("Cpu", Lit("2"))])],
        "DescribeImages" => {
            vec![p(&[("Owner.1", Owner)]), f("owner-id", Owner), p(&[("ExecutableBy.1", Owner)])]
        }
        "DescribeRegions" | "DescribeAvailabilityZones" | "DescribeAccountAttributes" => vec![p(&[])],
        "CreateKeyPair" => vec![p(&[("KeyName", KeyName)])],
        "ImportKeyPair" => vec![p(&[("KeyName", KeyName), ("PublicKeyMaterial", Lit(PUBLIC_KEY))])],
        "DescribeKeyPairs" => vec![
            p(&[("KeyName.1", KeyName)]),
            p(&[("KeyPairId.1", KeyPairId)]),
            f("key-name", KeyName),
            f("key-pair-id", KeyPairId),
            f("fingerprint", Fingerprint),
        ],
        "DeleteKeyPair" => vec![p(&[("KeyPairId", KeyPairId)]), p(&[("KeyName", KeyName)])],
        "CreateSecurityGroup" => {
            vec![p(&[("GroupName", GroupName), ("GroupDescription", GroupDescription)])]
        }
        "DeleteSecurityGroup" => vec![p(&[("GroupId", GroupId)]), p(&[("GroupName", GroupName)])],
        "DescribeSecurityGroups" => vec![
            p(&[("GroupId.1", GroupId)]),
            p(&[("GroupName.1", GroupName)]),
            f("group-id", GroupId),
            f("group-name", GroupName),
            f("description", GroupDescription),
            f("owner-id", Owner),
        ],
        "AuthorizeSecurityGroupIngress"
        | "AuthorizeSecurityGroupEgress"
        | "RevokeSecurityGroupIngress"
        | "RevokeSecurityGroupEgress" => rules(action),
        "AllocateAddress" => vec![p(&[("Domain", Lit("vpc"))])],
        "AssociateAddress" => vec![
            p(&[("AllocationId", Allocation), ("InstanceId", OwnInstance)]),
            p(&[("PublicIp", PublicIp), ("InstanceId", OwnInstance)]),
            p(&[("AllocationId", OwnAllocation), ("InstanceId", Instance)]),
        ],
        "DisassociateAddress" => vec![p(&[("PublicIp", PublicIp)]), p(&[("AssociationId", Association)])],
        "ReleaseAddress" => vec![p(&[("AllocationId", Allocation)]), p(&[("PublicIp", PublicIp)])],
        "DescribeAddresses" => vec![
            p(&[("AllocationId.1", Allocation)]),
            p(&[("PublicIp.1", PublicIp)]),
            f("allocation-id", Allocation),
            f("association-id", Association),
            f("instance-id", Instance),
            f("public-ip", PublicIp),
            f("private-ip-address", PrivateIp),
        ],
        "CreateTags" => vec![
            p(&[("ResourceId.1", Instance), ("Tag.1.Key", Lit("k")), ("Tag.1.Value", Lit("v"))]),
            p(&[("ResourceId.1", GroupId), ("Tag.1.Key", Lit("k")), ("Tag.1.Value", Lit("v"))]),
            p(&[("ResourceId.1", OwnInstance), ("ResourceId.2", Instance), ("Tag.1.Key", Lit("k"))]),
        ],
        "DeleteTags" => vec![
            p(&[("ResourceId.1", Instance)]),
            p(&[("ResourceId.1", Instance), ("Tag.1.Key", Lit("Name"))]),
            p(&[("ResourceId.1", GroupId)]),
            p(&[("ResourceId.1", Allocation)]),
        ],
        "CreateVolume" => vec![
            p(&[("AvailabilityZone", Lit("yukari-1a")), ("SnapshotId", Snapshot)]),
            p(&[("AvailabilityZone", Lit("yukari-1a")), ("Size", Lit("2")), ("SnapshotId", Snapshot)]),
        ],
        "DescribeVolumes" => vec![
            p(&[("VolumeId.1", Volume)]),
            f("volume-id", Volume),
            f("attachment.instance-id", Instance),
            f("snapshot-id", Snapshot),
            f("tag:Name", InstanceName),
        ],
        "DeleteVolume" => vec![p(&[("VolumeId", Volume)])],
        "AttachVolume" => vec![
            p(&[("VolumeId", Volume), ("InstanceId", OwnInstance), ("Device", Lit("/dev/sdg"))]),
            p(&[("VolumeId", OwnVolume), ("InstanceId", Instance), ("Device", Lit("/dev/sdh"))]),
        ],
        "DetachVolume" => vec![
            p(&[("VolumeId", Volume)]),
            p(&[("VolumeId", Volume), ("InstanceId", Instance), ("Force", Lit("true"))]),
        ],
        "DescribeVolumeStatus" => vec![p(&[("VolumeId.1", Volume)]), f("volume-id", Volume)],
        "DescribeVolumeAttribute" => vec![p(&[("VolumeId", Volume), ("Attribute", Lit("autoEnableIO"))])],
        "ModifyVolumeAttribute" => vec![p(&[("VolumeId", Volume), ("AutoEnableIO.Value", Lit("true"))])],
        "CreateSnapshot" => vec![p(&[("VolumeId", Volume), ("Description", Lit("b's"))])],
        "CreateSnapshots" => vec![p(&[("InstanceSpecification.InstanceId", Instance)])],
        "DescribeSnapshots" => vec![
            p(&[("SnapshotId.1", Snapshot)]),
            p(&[("Owner.1", Owner)]),
            f("snapshot-id", Snapshot),
            f("volume-id", Volume),
            f("owner-id", Owner),
        ],
        "DeleteSnapshot" => vec![p(&[("SnapshotId", Snapshot)])],
        "CopySnapshot" => vec![p(&[("SourceSnapshotId", Snapshot), ("SourceRegion", Lit("yukari"))])],
        "DescribeSnapshotAttribute" => {
            vec![p(&[("SnapshotId", Snapshot), ("Attribute", Lit("createVolumePermission"))])]
        }
        "ModifySnapshotAttribute" => vec![
            p(&[("SnapshotId", Snapshot), ("CreateVolumePermission.Add.1.Group", Lit("all"))]),
            p(&[
                ("SnapshotId", Snapshot),
                ("Attribute", Lit("createVolumePermission")),
                ("OperationType", Lit("remove")),
                ("UserId.1", Owner),
            ]),
        ],
        "ResetSnapshotAttribute" => {
            vec![p(&[("SnapshotId", Snapshot), ("Attribute", Lit("createVolumePermission"))])]
        }
        // A has no image of its own in the harness (a bundle needs Walrus):
        // the probes name the cloud's public one and a bundle location.
        "RegisterImage" => {
            vec![
                p(&[("ImageLocation", Lit("a-images/disk.img.manifest.xml")), ("Name", Lit("b's"))]),
                p(&[
                    ("Name", Lit("b-ebs")),
                    ("RootDeviceName", Lit("/dev/sda1")),
                    ("BlockDeviceMapping.1.DeviceName", Lit("/dev/sda1")),
                    ("BlockDeviceMapping.1.Ebs.SnapshotId", Snapshot),
                ]),
            ]
        }
        "CreateImage" => vec![p(&[("InstanceId", Instance), ("Name", Lit("b-image"))])],
        "DeregisterImage" => vec![p(&[("ImageId", Emi)])],
        "DescribeImageAttribute" => vec![
            p(&[("ImageId", Emi), ("Attribute", Lit("launchPermission"))]),
            p(&[("ImageId", Emi), ("Attribute", Lit("description"))]),
        ],
        "ModifyImageAttribute" => vec![
            p(&[("ImageId", Emi), ("LaunchPermission.Add.1.UserId", Owner)]),
            p(&[("ImageId", Emi), ("Attribute", Lit("description")), ("Value", Lit("b's"))]),
        ],
        "ResetImageAttribute" => vec![p(&[("ImageId", Emi), ("Attribute", Lit("launchPermission"))])],
        "DescribeTags" => vec![
            f("resource-id", Volume),
            f("resource-id", Snapshot),
            f("resource-id", Instance),
            f("resource-id", GroupId),
            f("resource-id", Allocation),
            f("value", InstanceName),
            f("key", TagKey),
        ],
        _ => Vec::new(),
    }
}

/// The Euare actions [`euare`] has probes for: must equal Euare's table.
pub const EUARE_COVERED: &[&str] = &[
    "CreateAccount",
    "CreateUser",
    "DeleteUser",
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "DeleteLoginProfile",
    "ListAccounts",
    "ListAccountAliases",
    "GetUser",
    "ListUsers",
    "ListUserPolicies",
    "ListGroupsForUser",
    "ListAttachedUserPolicies",
    "ListAccessKeys",
    "GetLoginProfile",
    "UploadSigningCertificate",
    "CreateSigningCertificate",
    "ListSigningCertificates",
    "UpdateSigningCertificate",
    "DeleteSigningCertificate",
];

/// The probes of Euare action `action` for another account's admin: the
/// account acted on named (`DelegateAccount`), and keys by id.
pub fn euare(action: &'static str) -> Vec<Probe> {
    if !EUARE_COVERED.contains(&action) {
        return Vec::new();
    }
    let p = |params: &[(&str, Value)]| Probe::new(action, params);
    let mut out = vec![
        p(&[("DelegateAccount", AccountName)]),
        p(&[("DelegateAccount", AccountName), ("UserName", Lit("admin"))]),
        p(&[("DelegateAccount", Owner), ("UserName", Lit("reader"))]),
    ];
    match action {
        "UpdateAccessKey" => out.push(p(&[("AccessKeyId", AccessKey), ("Status", Lit("Inactive"))])),
        "DeleteAccessKey" => out.push(p(&[("AccessKeyId", AccessKey)])),
        "CreateAccount" => out.push(p(&[("AccountName", AccountName)])),
        "CreateLoginProfile" | "UpdateLoginProfile" => {
            out.push(p(&[("DelegateAccount", AccountName), ("Password", Lit("another horse battery"))]));
        }
        "UpdateSigningCertificate" => out.push(p(&[
            ("DelegateAccount", AccountName),
            ("CertificateId", Lit("QFYJ4UDWPW5BOMZ2BSQH4XUYRDBKJPXO")),
            ("Status", Lit("Inactive")),
        ])),
        "DeleteSigningCertificate" => out.push(p(&[
            ("DelegateAccount", AccountName),
            ("CertificateId", Lit("QFYJ4UDWPW5BOMZ2BSQH4XUYRDBKJPXO")),
        ])),
        _ => {}
    }
    out
}

/// A user of A who is not its admin, on A's admin: every change refused.
pub fn euare_as_reader(action: &'static str) -> Vec<Probe> {
    let p = |params: &[(&str, Value)]| Probe::new(action, params);
    match action {
        "CreateAccount" => vec![p(&[("AccountName", Lit("readers-own"))])],
        "UpdateAccessKey" => {
            vec![p(&[("UserName", Lit("admin")), ("AccessKeyId", AccessKey), ("Status", Lit("Inactive"))])]
        }
        "DeleteAccessKey" => vec![p(&[("UserName", Lit("admin")), ("AccessKeyId", AccessKey)])],
        "CreateUser" => vec![p(&[("UserName", Lit("readers-friend"))])],
        "CreateLoginProfile" | "UpdateLoginProfile" => {
            vec![p(&[("UserName", Lit("admin")), ("Password", Lit("another horse battery"))])]
        }
        _ => vec![p(&[("UserName", Lit("admin"))])],
    }
}
