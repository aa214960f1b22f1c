//! Commands: imperative requests, each carrying every id and time the
//! decision needs (the domain makes none up).

use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

mod login_profiles;
pub use login_profiles::*;

/// Sets up a new cloud in one atomic decision: region and VM types, the
/// first cluster and node, the address pools, the admin account with its
/// key, and the built-in images.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapCloud {
    pub region: String,
    pub vm_types: Vec<VmType>,
    pub cluster: AddCluster,
    pub node: RegisterNode,
    pub private_cidr: String,
    pub public_addresses: Vec<String>,
    pub admin: CreateAccount,
    pub images: Vec<RegisterImage>,
    pub at: Timestamp,
}

/// Defines or resizes a VM type (cloud administrators only).
#[derive(Clone, Debug, PartialEq)]
pub struct SetVmType {
    pub vm_type: VmType,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AddCluster {
    pub zone: ZoneName,
    pub policy: SchedulingPolicy,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RegisterNode {
    pub node: NodeId,
    pub zone: ZoneName,
    pub host: String,
    pub hypervisor: String,
    pub capacity: Resources,
    /// The node's own credentials, for a node on another host (the
    /// embedded node of `yukari up` has none: it is in the controller).
    pub key: Option<NodeKey>,
    pub at: Timestamp,
}

/// A node's access key, its secret already sealed.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeKey {
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
}

/// Changes a cluster's scheduling policy (cloud administrators only).
#[derive(Clone, Debug, PartialEq)]
pub struct SetClusterPolicy {
    pub zone: ZoneName,
    pub policy: SchedulingPolicy,
    pub at: Timestamp,
}

/// The controller's heartbeat monitor: a node went silent (`reachable:
/// false`) or was heard again. Only a change of state is recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct MarkNode {
    pub zone: ZoneName,
    pub node: NodeId,
    pub reachable: bool,
    /// The last heartbeat the controller had (or its own start).
    pub last_heartbeat: Timestamp,
    pub at: Timestamp,
}

/// A new access key for a user, its secret already sealed.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAccessKey {
    pub user: UserName,
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
}

/// A new account with its `default` security group and, optionally, a
/// first access key for its admin user.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateAccount {
    pub account: AccountId,
    pub name: String,
    pub default_group: SecurityGroupId,
    pub access_key: Option<NewAccessKey>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateUser {
    pub account: AccountId,
    pub user: UserName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateAccessKey {
    pub account: AccountId,
    pub key: NewAccessKey,
    pub at: Timestamp,
}

/// UpdateAccessKey / DeleteAccessKey of a user's key.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeAccessKey {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: AccessKeyId,
    /// `Some(active)`: turn on or off; `None`: delete.
    pub active: Option<bool>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteUser {
    pub account: AccountId,
    pub user: UserName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RegisterImage {
    pub image: ImageId,
    pub owner: AccountId,
    pub kind: ImageKind,
    pub name: String,
    pub description: String,
    pub architecture: String,
    pub location: String,
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    pub public: bool,
    pub at: Timestamp,
}

/// A security group named by id or by name (in the caller's account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRef {
    Id(SecurityGroupId),
    Name(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunInstances {
    pub account: AccountId,
    pub requester: UserName,
    pub reservation: ReservationId,
    /// Fresh ids, at least `max_count` of them; the first `n` launched use them.
    pub instance_ids: Vec<InstanceId>,
    pub image: ImageId,
    pub vm_type: String,
    pub min_count: u32,
    pub max_count: u32,
    pub zone: ZoneName,
    pub user_data: Vec<u8>,
    pub client_token: Option<String>,
    pub key_name: Option<String>,
    /// Empty: the account's `default` group.
    pub groups: Vec<GroupRef>,
    pub shutdown_behavior: ShutdownBehavior,
    pub disable_api_termination: bool,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

impl RunInstances {
    /// One instance of `vm_type` from `image`, asked for by the account's
    /// admin, with nothing optional: no user data, token, key, tags, the
    /// default group, stop on shutdown (for tools, tests and benchmarks).
    #[allow(clippy::too_many_arguments)]
    pub fn one(
        account: AccountId,
        reservation: ReservationId,
        instance: InstanceId,
        image: ImageId,
        vm_type: &str,
        zone: ZoneName,
        at: Timestamp,
    ) -> RunInstances {
        RunInstances {
            account,
            requester: UserName::admin(),
            reservation,
            instance_ids: vec![instance],
            image,
            vm_type: vm_type.to_owned(),
            min_count: 1,
            max_count: 1,
            zone,
            user_data: Vec::new(),
            client_token: None,
            key_name: None,
            groups: Vec::new(),
            shutdown_behavior: ShutdownBehavior::Stop,
            disable_api_termination: false,
            tags: Vec::new(),
            at,
        }
    }

    /// What a retry with the same client token must ask for again.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{:?}|{:?}",
            self.image,
            self.vm_type,
            self.min_count,
            self.max_count,
            self.zone,
            self.user_data.len(),
            self.key_name,
            self.groups
        )
    }
}

/// A change of instance state asked for by a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateRequest {
    Terminate,
    Stop { force: bool },
    Start,
    Reboot,
}

/// TerminateInstances, StopInstances, StartInstances, RebootInstances.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeInstanceStates {
    pub account: AccountId,
    pub instances: Vec<InstanceId>,
    pub request: StateRequest,
    pub at: Timestamp,
}

/// ModifyInstanceAttribute. An instance type is named; the cloud's VM types
/// say what it is.
#[derive(Clone, Debug, PartialEq)]
pub enum AttributeChange {
    InstanceType(String),
    UserData(Vec<u8>),
    DisableApiTermination(bool),
    ShutdownBehavior(ShutdownBehavior),
    /// Replace the instance's security groups.
    Groups(Vec<GroupRef>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModifyInstanceAttribute {
    pub account: AccountId,
    pub instance: InstanceId,
    pub change: AttributeChange,
    pub at: Timestamp,
}

/// A key pair to store: its private key (if EC2 made it) is already gone.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateKeyPair {
    pub account: AccountId,
    pub name: String,
    pub key_pair: KeyPairId,
    pub fingerprint: String,
    pub public_key: String,
    pub key_type: String,
    pub imported: bool,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteKeyPair {
    pub account: AccountId,
    /// By name, or by id (`key-…`).
    pub name: Option<String>,
    pub key_pair: Option<KeyPairId>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateSecurityGroup {
    pub account: AccountId,
    pub group: SecurityGroupId,
    pub name: String,
    pub description: String,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteSecurityGroup {
    pub account: AccountId,
    pub group: GroupRef,
    pub at: Timestamp,
}

/// A rule as asked for: a group source may be named, in this or another
/// account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceRef {
    Cidr(String),
    Group { account: Option<AccountId>, group: GroupRef },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: SourceRef,
}

/// Authorize or revoke ingress or egress rules.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeSecurityRules {
    pub account: AccountId,
    pub group: GroupRef,
    pub direction: Direction,
    pub authorize: bool,
    pub rules: Vec<RuleRef>,
    pub at: Timestamp,
}

/// An elastic IP named by allocation id or by its address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressRef {
    Allocation(AllocationId),
    PublicIp(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AllocateAddress {
    pub account: AccountId,
    pub allocation: AllocationId,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AssociateAddress {
    pub account: AccountId,
    pub address: AddressRef,
    pub instance: InstanceId,
    pub association: AssociationId,
    pub allow_reassociation: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DisassociateRef {
    Association(AssociationId),
    PublicIp(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct DisassociateAddress {
    pub account: AccountId,
    pub address: DisassociateRef,
    /// The association's elastic IP, as the read models know it (checked).
    pub allocation: Option<AllocationId>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseAddress {
    pub account: AccountId,
    pub address: AddressRef,
    pub at: Timestamp,
}

/// CreateTags / DeleteTags over several resources at once.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeTags {
    pub account: AccountId,
    pub resources: Vec<String>,
    pub create: Vec<Tag>,
    pub delete: Vec<TagRemoval>,
    pub at: Timestamp,
}

/// What a node executor saw happen to an instance placed on it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeReport {
    pub node: NodeId,
    pub zone: ZoneName,
    pub instance: InstanceId,
    /// The launch attempt of the instance the node acted on
    /// (`Instance::attempt`): a report of an earlier attempt than the
    /// current one is ignored. `None` from a node that does not say (an
    /// older one): taken as the current attempt.
    pub attempt: Option<u32>,
    pub outcome: NodeOutcome,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeOutcome {
    Running,
    Terminated,
    Stopped,
    /// The guest shut itself down.
    PoweredOff,
    LaunchFailed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    BootstrapCloud(BootstrapCloud),
    AddCluster(AddCluster),
    SetVmType(SetVmType),
    RegisterNode(RegisterNode),
    CreateAccount(CreateAccount),
    CreateUser(CreateUser),
    CreateAccessKey(CreateAccessKey),
    ChangeAccessKey(ChangeAccessKey),
    DeleteUser(DeleteUser),
    RegisterImage(RegisterImage),
    RunInstances(RunInstances),
    ChangeInstanceStates(ChangeInstanceStates),
    ModifyInstanceAttribute(ModifyInstanceAttribute),
    CreateKeyPair(CreateKeyPair),
    DeleteKeyPair(DeleteKeyPair),
    CreateSecurityGroup(CreateSecurityGroup),
    DeleteSecurityGroup(DeleteSecurityGroup),
    ChangeSecurityRules(ChangeSecurityRules),
    AllocateAddress(AllocateAddress),
    AssociateAddress(AssociateAddress),
    DisassociateAddress(DisassociateAddress),
    ReleaseAddress(ReleaseAddress),
    ChangeTags(ChangeTags),
    ReportInstance(NodeReport),
    SetClusterPolicy(SetClusterPolicy),
    MarkNode(MarkNode),
    ChangeLoginProfile(ChangeLoginProfile),
}

impl Command {
    /// The EC2-style verb, for logs and audit.
    pub fn name(&self) -> &'static str {
        match self {
            Command::BootstrapCloud(_) => "BootstrapCloud",
            Command::AddCluster(_) => "AddCluster",
            Command::SetVmType(_) => "ModifyInstanceTypeAttribute",
            Command::RegisterNode(_) => "RegisterNode",
            Command::CreateAccount(_) => "CreateAccount",
            Command::CreateUser(_) => "CreateUser",
            Command::CreateAccessKey(_) => "CreateAccessKey",
            Command::ChangeAccessKey(c) if c.active.is_none() => "DeleteAccessKey",
            Command::ChangeAccessKey(_) => "UpdateAccessKey",
            Command::DeleteUser(_) => "DeleteUser",
            Command::RegisterImage(_) => "RegisterImage",
            Command::RunInstances(_) => "RunInstances",
            Command::ChangeInstanceStates(c) => match c.request {
                StateRequest::Terminate => "TerminateInstances",
                StateRequest::Stop { .. } => "StopInstances",
                StateRequest::Start => "StartInstances",
                StateRequest::Reboot => "RebootInstances",
            },
            Command::ModifyInstanceAttribute(_) => "ModifyInstanceAttribute",
            Command::CreateKeyPair(c) if c.imported => "ImportKeyPair",
            Command::CreateKeyPair(_) => "CreateKeyPair",
            Command::DeleteKeyPair(_) => "DeleteKeyPair",
            Command::CreateSecurityGroup(_) => "CreateSecurityGroup",
            Command::DeleteSecurityGroup(_) => "DeleteSecurityGroup",
            Command::ChangeSecurityRules(c) => match (c.direction, c.authorize) {
                (Direction::Ingress, true) => "AuthorizeSecurityGroupIngress",
                (Direction::Ingress, false) => "RevokeSecurityGroupIngress",
                (Direction::Egress, true) => "AuthorizeSecurityGroupEgress",
                (Direction::Egress, false) => "RevokeSecurityGroupEgress",
            },
            Command::AllocateAddress(_) => "AllocateAddress",
            Command::AssociateAddress(_) => "AssociateAddress",
            Command::DisassociateAddress(_) => "DisassociateAddress",
            Command::ReleaseAddress(_) => "ReleaseAddress",
            Command::ChangeTags(c) if c.create.is_empty() => "DeleteTags",
            Command::ChangeTags(_) => "CreateTags",
            Command::ReportInstance(r) => match r.outcome {
                NodeOutcome::Running => "ReportInstanceRunning",
                NodeOutcome::Terminated => "ReportInstanceTerminated",
                NodeOutcome::Stopped => "ReportInstanceStopped",
                NodeOutcome::PoweredOff => "ReportInstancePoweredOff",
                NodeOutcome::LaunchFailed(_) => "ReportLaunchFailed",
            },
            Command::SetClusterPolicy(_) => "SetClusterPolicy",
            Command::MarkNode(c) if c.reachable => "MarkNodeReachable",
            Command::MarkNode(_) => "MarkNodeUnreachable",
            Command::ChangeLoginProfile(c) => c.name(),
        }
    }

    /// The streams the decision starts from. A decision that finds it needs
    /// more (a group named in an account, the zone of an instance …) says
    /// so with [`crate::DecideError::NeedStreams`] and is decided again with
    /// them; events go only to streams that were read.
    pub fn streams(&self) -> Vec<StreamId> {
        match self {
            Command::BootstrapCloud(c) => {
                let mut s = vec![
                    StreamId::cloud(),
                    StreamId::cluster(&c.cluster.zone),
                    StreamId::network(),
                    StreamId::account(&c.admin.account),
                    StreamId::account_name(&c.admin.name),
                    StreamId::security_group(&c.admin.default_group),
                ];
                s.extend(c.images.iter().map(|i| StreamId::image(&i.image)));
                s
            }
            Command::AddCluster(c) => vec![StreamId::cloud(), StreamId::cluster(&c.zone)],
            Command::SetVmType(_) => vec![StreamId::cloud()],
            Command::RegisterNode(c) => vec![StreamId::cluster(&c.zone), StreamId::node(&c.node)],
            Command::CreateAccount(c) => vec![
                StreamId::account(&c.account),
                StreamId::account_name(&c.name),
                StreamId::security_group(&c.default_group),
            ],
            Command::CreateUser(c) => vec![StreamId::account(&c.account)],
            Command::CreateAccessKey(c) => vec![StreamId::account(&c.account)],
            Command::ChangeAccessKey(c) => vec![StreamId::account(&c.account)],
            Command::DeleteUser(c) => vec![StreamId::account(&c.account)],
            Command::RegisterImage(c) => {
                let mut s = vec![StreamId::image(&c.image)];
                s.extend(c.kernel.iter().chain(c.ramdisk.iter()).map(StreamId::image));
                s
            }
            Command::RunInstances(c) => {
                let mut s = vec![
                    StreamId::cloud(),
                    StreamId::image(&c.image),
                    StreamId::cluster(&c.zone),
                    StreamId::network(),
                    StreamId::account(&c.account),
                    StreamId::reservation(&c.reservation),
                ];
                if let Some(token) = &c.client_token {
                    s.push(StreamId::client_token(&c.account, token));
                }
                s.extend(c.instance_ids.iter().map(StreamId::instance));
                s
            }
            Command::ChangeInstanceStates(c) => c.instances.iter().map(StreamId::instance).collect(),
            Command::ModifyInstanceAttribute(c) => vec![StreamId::instance(&c.instance), StreamId::cloud()],
            Command::CreateKeyPair(c) => vec![StreamId::account(&c.account)],
            Command::DeleteKeyPair(c) => vec![StreamId::account(&c.account)],
            Command::CreateSecurityGroup(c) => {
                vec![StreamId::account(&c.account), StreamId::security_group(&c.group)]
            }
            Command::DeleteSecurityGroup(c) => vec![StreamId::account(&c.account)],
            Command::ChangeSecurityRules(c) => vec![StreamId::account(&c.account)],
            Command::AllocateAddress(c) => vec![StreamId::network(), StreamId::elastic_ip(&c.allocation)],
            Command::AssociateAddress(c) => vec![StreamId::network(), StreamId::instance(&c.instance)],
            Command::DisassociateAddress(_) => vec![StreamId::network()],
            Command::ReleaseAddress(_) => vec![StreamId::network()],
            Command::ChangeTags(c) => vec![StreamId::account(&c.account)],
            Command::ReportInstance(r) => {
                vec![StreamId::instance(&r.instance), StreamId::cluster(&r.zone), StreamId::network()]
            }
            Command::SetClusterPolicy(c) => vec![StreamId::cluster(&c.zone)],
            Command::MarkNode(c) => vec![StreamId::cluster(&c.zone)],
            Command::ChangeLoginProfile(c) => vec![StreamId::account(&c.account)],
        }
    }
}
