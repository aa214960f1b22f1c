//! Commands: imperative requests, each carrying every id and time the
//! decision needs (the domain makes none up).

use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

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

/// Eucalyptus's ModifyInstanceTypeAttribute (cloud administrators only):
/// resizes a VM type (what is not given keeps its current value), resets
/// it to Eucalyptus's default first (`reset`), or defines a new one (which
/// needs all three sizes). Decided on the cloud stream, so two racing
/// changes of one type each change what the other left.
#[derive(Clone, Debug, PartialEq)]
pub struct ModifyInstanceTypeAttribute {
    pub name: String,
    pub cpus: Option<u32>,
    pub memory_mib: Option<u32>,
    pub disk_gib: Option<u32>,
    pub reset: bool,
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

/// The controller's heartbeat monitor: a node that went silent was heard
/// again. Only a change of state is recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct MarkNodeReachable {
    pub zone: ZoneName,
    pub node: NodeId,
    pub at: Timestamp,
}

/// The controller's heartbeat monitor: a node went silent. Only a change of
/// state is recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct MarkNodeUnreachable {
    pub zone: ZoneName,
    pub node: NodeId,
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

/// Turns a user's key on or off.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateAccessKey {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: AccessKeyId,
    pub active: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteAccessKey {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: AccessKeyId,
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
    /// None: the zone with the most free CPUs, as the domain decides.
    pub zone: Option<ZoneName>,
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
            zone: Some(zone),
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

    /// What a retry with the same client token must ask for again: the
    /// zone as asked (none asked is none, wherever the launch went).
    pub fn fingerprint(&self) -> String {
        self.fingerprint_in(self.zone.as_ref().map_or("", ZoneName::as_str))
    }

    /// The fingerprint naming `zone`: how the previous release wrote it,
    /// with the zone it chose when none was asked for.
    pub fn fingerprint_in(&self, zone: &str) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{:?}|{:?}",
            self.image,
            self.vm_type,
            self.min_count,
            self.max_count,
            zone,
            self.user_data.len(),
            self.key_name,
            self.groups
        )
    }
}

/// The caller's instances named by TerminateInstances, StartInstances or
/// RebootInstances.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceIds {
    pub account: AccountId,
    pub instances: Vec<InstanceId>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StopInstances {
    pub account: AccountId,
    pub instances: Vec<InstanceId>,
    /// Without waiting for the guest to shut down.
    pub force: bool,
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

/// A key pair to store, made by EC2 (CreateKeyPair: its private key is
/// already handed out and gone) or given (ImportKeyPair).
#[derive(Clone, Debug, PartialEq)]
pub struct NewKeyPair {
    pub account: AccountId,
    pub name: String,
    pub key_pair: KeyPairId,
    pub fingerprint: String,
    pub public_key: String,
    pub key_type: String,
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

/// The rules of a group that Authorize/RevokeSecurityGroupIngress/Egress
/// add or take away (the verb says which and in what direction).
#[derive(Clone, Debug, PartialEq)]
pub struct GroupRules {
    pub account: AccountId,
    pub group: GroupRef,
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
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseAddress {
    pub account: AccountId,
    pub address: AddressRef,
    pub at: Timestamp,
}

/// Tags on several of the caller's resources at once.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateTags {
    pub account: AccountId,
    pub resources: Vec<String>,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteTags {
    pub account: AccountId,
    pub resources: Vec<String>,
    /// By key, or key and value; none: every tag of each resource.
    pub removals: Vec<TagRemoval>,
    pub at: Timestamp,
}

/// What a node executor saw happen to an instance placed on it, as the
/// node protocol carries it; [`Command::from`] makes it the command of its
/// outcome.
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

/// A node's report on an instance placed on it: who says it, about which
/// launch attempt. The command says what happened.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceReport {
    pub node: NodeId,
    pub zone: ZoneName,
    pub instance: InstanceId,
    /// See [`NodeReport::attempt`].
    pub attempt: Option<u32>,
    pub at: Timestamp,
}

/// The node could not start the guest, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchFailure {
    pub report: InstanceReport,
    pub detail: String,
}

impl From<NodeReport> for Command {
    fn from(r: NodeReport) -> Command {
        let report =
            InstanceReport { node: r.node, zone: r.zone, instance: r.instance, attempt: r.attempt, at: r.at };
        match r.outcome {
            NodeOutcome::Running => Command::ReportInstanceRunning(report),
            NodeOutcome::Terminated => Command::ReportInstanceTerminated(report),
            NodeOutcome::Stopped => Command::ReportInstanceStopped(report),
            NodeOutcome::PoweredOff => Command::ReportInstancePoweredOff(report),
            NodeOutcome::LaunchFailed(detail) => {
                Command::ReportLaunchFailed(LaunchFailure { report, detail })
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    BootstrapCloud(BootstrapCloud),
    AddCluster(AddCluster),
    ModifyInstanceTypeAttribute(ModifyInstanceTypeAttribute),
    RegisterNode(RegisterNode),
    CreateAccount(CreateAccount),
    CreateUser(CreateUser),
    CreateAccessKey(CreateAccessKey),
    UpdateAccessKey(UpdateAccessKey),
    DeleteAccessKey(DeleteAccessKey),
    DeleteUser(DeleteUser),
    RegisterImage(RegisterImage),
    RunInstances(RunInstances),
    TerminateInstances(InstanceIds),
    StopInstances(StopInstances),
    StartInstances(InstanceIds),
    RebootInstances(InstanceIds),
    ModifyInstanceAttribute(ModifyInstanceAttribute),
    CreateKeyPair(NewKeyPair),
    ImportKeyPair(NewKeyPair),
    DeleteKeyPair(DeleteKeyPair),
    CreateSecurityGroup(CreateSecurityGroup),
    DeleteSecurityGroup(DeleteSecurityGroup),
    AuthorizeSecurityGroupIngress(GroupRules),
    AuthorizeSecurityGroupEgress(GroupRules),
    RevokeSecurityGroupIngress(GroupRules),
    RevokeSecurityGroupEgress(GroupRules),
    AllocateAddress(AllocateAddress),
    AssociateAddress(AssociateAddress),
    DisassociateAddress(DisassociateAddress),
    ReleaseAddress(ReleaseAddress),
    CreateTags(CreateTags),
    DeleteTags(DeleteTags),
    ReportInstanceRunning(InstanceReport),
    ReportInstanceTerminated(InstanceReport),
    ReportInstanceStopped(InstanceReport),
    ReportInstancePoweredOff(InstanceReport),
    ReportLaunchFailed(LaunchFailure),
    SetClusterPolicy(SetClusterPolicy),
    MarkNodeReachable(MarkNodeReachable),
    MarkNodeUnreachable(MarkNodeUnreachable),
}

impl Command {
    /// The EC2-style verb, for logs and audit: the variant's name.
    pub fn name(&self) -> &'static str {
        match self {
            Command::BootstrapCloud(_) => "BootstrapCloud",
            Command::AddCluster(_) => "AddCluster",
            Command::ModifyInstanceTypeAttribute(_) => "ModifyInstanceTypeAttribute",
            Command::RegisterNode(_) => "RegisterNode",
            Command::CreateAccount(_) => "CreateAccount",
            Command::CreateUser(_) => "CreateUser",
            Command::CreateAccessKey(_) => "CreateAccessKey",
            Command::UpdateAccessKey(_) => "UpdateAccessKey",
            Command::DeleteAccessKey(_) => "DeleteAccessKey",
            Command::DeleteUser(_) => "DeleteUser",
            Command::RegisterImage(_) => "RegisterImage",
            Command::RunInstances(_) => "RunInstances",
            Command::TerminateInstances(_) => "TerminateInstances",
            Command::StopInstances(_) => "StopInstances",
            Command::StartInstances(_) => "StartInstances",
            Command::RebootInstances(_) => "RebootInstances",
            Command::ModifyInstanceAttribute(_) => "ModifyInstanceAttribute",
            Command::CreateKeyPair(_) => "CreateKeyPair",
            Command::ImportKeyPair(_) => "ImportKeyPair",
            Command::DeleteKeyPair(_) => "DeleteKeyPair",
            Command::CreateSecurityGroup(_) => "CreateSecurityGroup",
            Command::DeleteSecurityGroup(_) => "DeleteSecurityGroup",
            Command::AuthorizeSecurityGroupIngress(_) => "AuthorizeSecurityGroupIngress",
            Command::AuthorizeSecurityGroupEgress(_) => "AuthorizeSecurityGroupEgress",
            Command::RevokeSecurityGroupIngress(_) => "RevokeSecurityGroupIngress",
            Command::RevokeSecurityGroupEgress(_) => "RevokeSecurityGroupEgress",
            Command::AllocateAddress(_) => "AllocateAddress",
            Command::AssociateAddress(_) => "AssociateAddress",
            Command::DisassociateAddress(_) => "DisassociateAddress",
            Command::ReleaseAddress(_) => "ReleaseAddress",
            Command::CreateTags(_) => "CreateTags",
            Command::DeleteTags(_) => "DeleteTags",
            Command::ReportInstanceRunning(_) => "ReportInstanceRunning",
            Command::ReportInstanceTerminated(_) => "ReportInstanceTerminated",
            Command::ReportInstanceStopped(_) => "ReportInstanceStopped",
            Command::ReportInstancePoweredOff(_) => "ReportInstancePoweredOff",
            Command::ReportLaunchFailed(_) => "ReportLaunchFailed",
            Command::SetClusterPolicy(_) => "SetClusterPolicy",
            Command::MarkNodeReachable(_) => "MarkNodeReachable",
            Command::MarkNodeUnreachable(_) => "MarkNodeUnreachable",
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
            Command::ModifyInstanceTypeAttribute(_) => vec![StreamId::cloud()],
            Command::RegisterNode(c) => vec![StreamId::cluster(&c.zone), StreamId::node(&c.node)],
            Command::CreateAccount(c) => vec![
                StreamId::account(&c.account),
                StreamId::account_name(&c.name),
                StreamId::security_group(&c.default_group),
            ],
            Command::CreateUser(c) => vec![StreamId::account(&c.account)],
            Command::CreateAccessKey(c) => vec![StreamId::account(&c.account)],
            Command::UpdateAccessKey(c) => vec![StreamId::account(&c.account)],
            Command::DeleteAccessKey(c) => vec![StreamId::account(&c.account)],
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
                    StreamId::network(),
                    StreamId::account(&c.account),
                    StreamId::reservation(&c.reservation),
                ];
                s.extend(c.zone.iter().map(StreamId::cluster));
                if let Some(token) = &c.client_token {
                    s.push(StreamId::client_token(&c.account, token));
                }
                s.extend(c.instance_ids.iter().map(StreamId::instance));
                s
            }
            Command::TerminateInstances(c) | Command::StartInstances(c) | Command::RebootInstances(c) => {
                c.instances.iter().map(StreamId::instance).collect()
            }
            Command::StopInstances(c) => c.instances.iter().map(StreamId::instance).collect(),
            Command::ModifyInstanceAttribute(c) => vec![StreamId::instance(&c.instance), StreamId::cloud()],
            Command::CreateKeyPair(c) | Command::ImportKeyPair(c) => vec![StreamId::account(&c.account)],
            Command::DeleteKeyPair(c) => vec![StreamId::account(&c.account)],
            Command::CreateSecurityGroup(c) => {
                vec![StreamId::account(&c.account), StreamId::security_group(&c.group)]
            }
            Command::DeleteSecurityGroup(c) => vec![StreamId::account(&c.account)],
            Command::AuthorizeSecurityGroupIngress(c)
            | Command::AuthorizeSecurityGroupEgress(c)
            | Command::RevokeSecurityGroupIngress(c)
            | Command::RevokeSecurityGroupEgress(c) => vec![StreamId::account(&c.account)],
            Command::AllocateAddress(c) => vec![StreamId::network(), StreamId::elastic_ip(&c.allocation)],
            Command::AssociateAddress(c) => vec![StreamId::network(), StreamId::instance(&c.instance)],
            Command::DisassociateAddress(_) => vec![StreamId::network()],
            Command::ReleaseAddress(_) => vec![StreamId::network()],
            Command::CreateTags(c) => vec![StreamId::account(&c.account)],
            Command::DeleteTags(c) => vec![StreamId::account(&c.account)],
            Command::ReportInstanceRunning(r)
            | Command::ReportInstanceTerminated(r)
            | Command::ReportInstanceStopped(r)
            | Command::ReportInstancePoweredOff(r)
            | Command::ReportLaunchFailed(LaunchFailure { report: r, .. }) => {
                vec![StreamId::instance(&r.instance), StreamId::cluster(&r.zone), StreamId::network()]
            }
            Command::SetClusterPolicy(c) => vec![StreamId::cluster(&c.zone)],
            Command::MarkNodeReachable(c) => vec![StreamId::cluster(&c.zone)],
            Command::MarkNodeUnreachable(c) => vec![StreamId::cluster(&c.zone)],
        }
    }
}
