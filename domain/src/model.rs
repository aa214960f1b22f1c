//! Value types shared by commands, events and aggregates.

use crate::ids::{AccessKeyId, AccountId, UserName};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds since the Unix epoch. The domain never reads a clock: every
/// time it sees arrives inside a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn millis(self) -> i64 {
        self.0
    }
}

/// Who asked for a command: an account, a user in it and the access key used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub account: AccountId,
    pub user: UserName,
    pub access_key: Option<AccessKeyId>,
}

impl Principal {
    /// The cloud itself (bootstrap, node executors' reports).
    pub fn system(actor: &str) -> Self {
        Principal {
            account: AccountId::system(),
            user: UserName::parse(actor).unwrap_or_else(|_| UserName::admin()),
            access_key: None,
        }
    }
}

/// A Eucalyptus VM type: the size of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VmType {
    pub name: String,
    pub cpus: u32,
    pub memory_mib: u32,
    pub disk_gib: u32,
}

impl VmType {
    fn new(name: &str, cpus: u32, memory_mib: u32, disk_gib: u32) -> Self {
        VmType { name: name.to_owned(), cpus, memory_mib, disk_gib }
    }

    /// Eucalyptus 4's default VM types (name, CPUs, memory MiB, disk GiB).
    pub fn eucalyptus_defaults() -> Vec<VmType> {
        vec![
            Self::new("t1.micro", 1, 256, 5),
            Self::new("m1.small", 1, 256, 5),
            Self::new("m1.medium", 1, 512, 10),
            Self::new("c1.medium", 2, 512, 10),
            Self::new("m1.large", 2, 512, 10),
            Self::new("m1.xlarge", 2, 1024, 10),
            Self::new("c1.xlarge", 2, 2048, 10),
            Self::new("m2.xlarge", 2, 2048, 10),
            Self::new("m3.xlarge", 4, 2048, 15),
            Self::new("m2.2xlarge", 2, 4096, 30),
            Self::new("m3.2xlarge", 4, 4096, 30),
            Self::new("cc1.4xlarge", 8, 3072, 60),
            Self::new("m2.4xlarge", 8, 4096, 60),
            Self::new("hi1.4xlarge", 8, 6144, 120),
            Self::new("cc2.8xlarge", 16, 6144, 120),
            Self::new("cg1.4xlarge", 16, 12288, 200),
            Self::new("cr1.8xlarge", 16, 16384, 240),
            Self::new("hs1.8xlarge", 48, 119808, 24000),
        ]
    }
}

/// Resources of a node, or an amount taken from it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub cpus: u32,
    pub memory_mib: u64,
    pub disk_gib: u64,
}

impl Resources {
    pub fn of(vm: &VmType) -> Self {
        Resources { cpus: vm.cpus, memory_mib: vm.memory_mib.into(), disk_gib: vm.disk_gib.into() }
    }

    pub fn fits_in(&self, free: &Resources) -> bool {
        self.cpus <= free.cpus && self.memory_mib <= free.memory_mib && self.disk_gib <= free.disk_gib
    }

    pub fn saturating_sub(&self, other: &Resources) -> Resources {
        Resources {
            cpus: self.cpus.saturating_sub(other.cpus),
            memory_mib: self.memory_mib.saturating_sub(other.memory_mib),
            disk_gib: self.disk_gib.saturating_sub(other.disk_gib),
        }
    }

    pub fn add(&self, other: &Resources) -> Resources {
        Resources {
            cpus: self.cpus + other.cpus,
            memory_mib: self.memory_mib + other.memory_mib,
            disk_gib: self.disk_gib + other.disk_gib,
        }
    }
}

/// How a cluster picks a node, as in Eucalyptus's `SCHEDPOLICY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedulingPolicy {
    /// The first node with room.
    Greedy,
    /// The next node with room after the last one used.
    RoundRobin,
    /// The fullest node that still has room.
    PowerSave,
}

impl SchedulingPolicy {
    pub const ALL: [SchedulingPolicy; 3] =
        [SchedulingPolicy::Greedy, SchedulingPolicy::RoundRobin, SchedulingPolicy::PowerSave];

    /// Eucalyptus's name: `GREEDY`, `ROUNDROBIN`, `POWERSAVE`.
    pub fn name(self) -> &'static str {
        match self {
            SchedulingPolicy::Greedy => "GREEDY",
            SchedulingPolicy::RoundRobin => "ROUNDROBIN",
            SchedulingPolicy::PowerSave => "POWERSAVE",
        }
    }

    /// A policy by name, in any case.
    pub fn parse(text: &str) -> Option<SchedulingPolicy> {
        Self::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(text))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ImageKind {
    Machine,
    Kernel,
    Ramdisk,
}

impl ImageKind {
    /// EC2's `imageType`.
    pub fn ec2_name(self) -> &'static str {
        match self {
            ImageKind::Machine => "machine",
            ImageKind::Kernel => "kernel",
            ImageKind::Ramdisk => "ramdisk",
        }
    }
}

/// The EC2 instance state machine; the codes are EC2's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InstanceState {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl InstanceState {
    pub const ALL: [InstanceState; 6] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::ShuttingDown,
        InstanceState::Terminated,
        InstanceState::Stopping,
        InstanceState::Stopped,
    ];

    pub fn code(self) -> u16 {
        match self {
            InstanceState::Pending => 0,
            InstanceState::Running => 16,
            InstanceState::ShuttingDown => 32,
            InstanceState::Terminated => 48,
            InstanceState::Stopping => 64,
            InstanceState::Stopped => 80,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
        }
    }

    /// Does the instance hold capacity on its node in this state?
    pub fn holds_capacity(self) -> bool {
        !matches!(self, InstanceState::Terminated | InstanceState::Stopped)
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an instance is in the state it is in (EC2's `stateReason`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReason {
    pub code: String,
    pub message: String,
}

impl StateReason {
    pub fn user_terminated() -> Self {
        StateReason {
            code: "Client.UserInitiatedShutdown".to_owned(),
            message: "Client.UserInitiatedShutdown: User initiated shutdown".to_owned(),
        }
    }

    pub fn user_stopped() -> Self {
        StateReason::user_terminated()
    }

    pub fn guest_stopped() -> Self {
        StateReason {
            code: "Client.InstanceInitiatedShutdown".to_owned(),
            message: "Client.InstanceInitiatedShutdown: Instance initiated shutdown".to_owned(),
        }
    }

    pub fn guest_terminated() -> Self {
        StateReason::guest_stopped()
    }

    pub fn launch_failed(detail: &str) -> Self {
        StateReason {
            code: "Server.InternalError".to_owned(),
            message: format!("Server.InternalError: {detail}"),
        }
    }

    /// A stopped instance that was started again and could not be: EC2
    /// leaves it stopped with `Server.InternalError`.
    pub fn start_failed(detail: &str) -> Self {
        StateReason {
            code: "Server.InternalError".to_owned(),
            message: format!("Server.InternalError: the instance could not be started: {detail}"),
        }
    }
}

/// A secret encrypted with the cloud's master key, which is kept outside the
/// log. The domain only carries it; sealing and opening happen in the API.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret({} bytes)", self.ciphertext.len())
    }
}

/// What happens when the guest powers itself off
/// (`InstanceInitiatedShutdownBehavior`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ShutdownBehavior {
    #[default]
    Stop,
    Terminate,
}

impl ShutdownBehavior {
    pub fn ec2_name(self) -> &'static str {
        match self {
            ShutdownBehavior::Stop => "stop",
            ShutdownBehavior::Terminate => "terminate",
        }
    }
}

/// Which traffic a security group rule is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    Ingress,
    Egress,
}

/// Where traffic of a rule comes from (ingress) or goes to (egress).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RuleSource {
    /// An IPv4 CIDR block, e.g. `0.0.0.0/0`.
    Cidr(String),
    /// The members of a security group (of this or another account).
    Group { account: crate::ids::AccountId, group: crate::ids::SecurityGroupId },
    /// The members of another account's group named `name`, if it has
    /// one: a reference by name (euca2ools' `-o NAME -u ACCOUNT`) kept as
    /// given, since looking it up would tell the caller whether that
    /// account and group exist.
    NamedGroup { account: crate::ids::AccountId, name: String },
}

/// One security group rule: a protocol and port range for one source.
/// `protocol` is `tcp`, `udp`, `icmp` or `-1` (all); for icmp the ports are
/// type and code, `-1` meaning all.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecurityRule {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: RuleSource,
}

/// A tag on a resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// A tag to remove: by key, or by key and value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TagRemoval {
    pub key: String,
    pub value: Option<String>,
}

/// An instance attribute that ModifyInstanceAttribute may change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceAttribute {
    InstanceType(VmType),
    UserData(Vec<u8>),
    DisableApiTermination(bool),
    ShutdownBehavior(ShutdownBehavior),
}
