//! Commands: imperative requests, each carrying every id and time the
//! decision needs (the domain makes none up).

use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

/// Sets up a new cloud in one atomic decision: region and VM types, the
/// first cluster and node, the admin account with its access key, and the
/// built-in images.
#[derive(Clone, Debug, PartialEq)]
pub struct BootstrapCloud {
    pub region: String,
    pub vm_types: Vec<VmType>,
    pub cluster: AddCluster,
    pub node: RegisterNode,
    pub admin: CreateAccount,
    pub admin_key: CreateAccessKey,
    pub images: Vec<RegisterImage>,
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
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateAccount {
    pub account: AccountId,
    pub name: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateAccessKey {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
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
    pub at: Timestamp,
}

impl RunInstances {
    /// What a retry with the same client token must ask for again.
    pub fn fingerprint(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.image,
            self.vm_type,
            self.min_count,
            self.max_count,
            self.zone,
            self.user_data.len()
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TerminateInstances {
    pub account: AccountId,
    pub instances: Vec<InstanceId>,
    pub at: Timestamp,
}

/// What a node executor saw happen to an instance placed on it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeReport {
    pub node: NodeId,
    pub zone: ZoneName,
    pub instance: InstanceId,
    pub outcome: NodeOutcome,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeOutcome {
    Running,
    Terminated,
    LaunchFailed(String),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    BootstrapCloud(BootstrapCloud),
    AddCluster(AddCluster),
    RegisterNode(RegisterNode),
    CreateAccount(CreateAccount),
    CreateAccessKey(CreateAccessKey),
    RegisterImage(RegisterImage),
    RunInstances(RunInstances),
    TerminateInstances(TerminateInstances),
    ReportInstance(NodeReport),
}

impl Command {
    /// The EC2-style verb, for logs and audit.
    pub fn name(&self) -> &'static str {
        match self {
            Command::BootstrapCloud(_) => "BootstrapCloud",
            Command::AddCluster(_) => "AddCluster",
            Command::RegisterNode(_) => "RegisterNode",
            Command::CreateAccount(_) => "CreateAccount",
            Command::CreateAccessKey(_) => "CreateAccessKey",
            Command::RegisterImage(_) => "RegisterImage",
            Command::RunInstances(_) => "RunInstances",
            Command::TerminateInstances(_) => "TerminateInstances",
            Command::ReportInstance(r) => match r.outcome {
                NodeOutcome::Running => "ReportInstanceRunning",
                NodeOutcome::Terminated => "ReportInstanceTerminated",
                NodeOutcome::LaunchFailed(_) => "ReportLaunchFailed",
            },
        }
    }

    /// Every stream the decision reads; the events it makes go only to
    /// these streams, appended with the versions that were read.
    pub fn streams(&self) -> Vec<StreamId> {
        match self {
            Command::BootstrapCloud(c) => {
                let mut s = vec![
                    StreamId::cloud(),
                    StreamId::cluster(&c.cluster.zone),
                    StreamId::account(&c.admin.account),
                ];
                s.extend(c.images.iter().map(|i| StreamId::image(&i.image)));
                s
            }
            Command::AddCluster(c) => vec![StreamId::cloud(), StreamId::cluster(&c.zone)],
            Command::RegisterNode(c) => vec![StreamId::cluster(&c.zone)],
            Command::CreateAccount(c) => vec![StreamId::account(&c.account)],
            Command::CreateAccessKey(c) => vec![StreamId::account(&c.account)],
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
                    StreamId::reservation(&c.reservation),
                ];
                if let Some(token) = &c.client_token {
                    s.push(StreamId::client_token(&c.account, token));
                }
                s.extend(c.instance_ids.iter().map(StreamId::instance));
                s
            }
            Command::TerminateInstances(c) => c.instances.iter().map(StreamId::instance).collect(),
            Command::ReportInstance(r) => {
                vec![StreamId::instance(&r.instance), StreamId::cluster(&r.zone)]
            }
        }
    }
}
