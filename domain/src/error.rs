//! Why the domain refused a command. The API maps each to an EC2 error code
//! in one place (api/src/ec2/error.rs).

use crate::buckets::BucketName;
use crate::ids::*;
use crate::instances::InstanceState;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecideError {
    #[error("the cloud is already initialized")]
    CloudAlreadyInitialized,
    #[error("the cloud is not initialized")]
    CloudNotInitialized,
    #[error("no availability zone is available")]
    NoZoneAvailable,
    #[error("unknown availability zone {0}")]
    UnknownZone(ZoneName),
    #[error("availability zone {0} already exists")]
    ZoneExists(ZoneName),
    #[error("node {0} is already registered")]
    NodeExists(NodeId),
    #[error("node {node} already belongs to cluster {zone}")]
    NodeInOtherZone { node: NodeId, zone: ZoneName },
    #[error("node {0} is not registered")]
    UnknownNode(NodeId),
    #[error("account {0} already exists")]
    AccountExists(AccountId),
    #[error("account name {0} is taken")]
    AccountNameTaken(String),
    #[error("account {0} does not exist")]
    AccountNotFound(AccountId),
    #[error("access key {0} already exists")]
    AccessKeyExists(AccessKeyId),
    #[error("image {0} already exists")]
    ImageExists(ImageId),
    #[error("image {0} does not exist")]
    ImageNotFound(ImageId),
    #[error("image {0} is not a machine image")]
    NotAMachineImage(ImageId),
    /// A kernel or ramdisk asked for by a launch is an image of another kind.
    #[error("image {image} is not a {expected} image")]
    WrongImageKind { image: ImageId, expected: &'static str },
    #[error("the VM type {0} needs a name, at least 1 CPU, 64 MiB of memory and 1 GiB of disk")]
    InvalidVmType(String),
    #[error("the instance type {0} does not exist; a new one needs its CPUs, memory and disk")]
    NewVmTypeIncomplete(String),
    #[error("unknown instance type {0}")]
    UnknownInstanceType(String),
    #[error("invalid instance count: min {min}, max {max}")]
    InvalidCount { min: u32, max: u32 },
    #[error("not enough capacity in {zone} for {requested} x {vm_type} (room for {available})")]
    InsufficientCapacity { zone: ZoneName, vm_type: String, requested: u32, available: u32 },
    #[error("instances do not exist: {0:?}")]
    InstanceNotFound(Vec<InstanceId>),
    #[error("instance {instance} is {state}: cannot {action}")]
    IncorrectInstanceState { instance: InstanceId, state: InstanceState, action: &'static str },
    #[error("client token {token:?} was used with other parameters")]
    IdempotentParameterMismatch { token: String },
    #[error("id {0} is already in use")]
    IdInUse(String),
    /// Not a refusal: the decision needs these streams too (the loop loads
    /// them and decides again).
    #[error("the decision needs streams {0:?}")]
    NeedStreams(Vec<crate::StreamId>),
    #[error("instance {0} has termination protection")]
    TerminationProtected(InstanceId),
    #[error("user {0} already exists")]
    UserExists(UserName),
    #[error("user {0} still has access keys, or is the account's admin")]
    UserInUse(UserName),
    #[error("access key {0} does not exist")]
    AccessKeyNotFound(AccessKeyId),
    #[error("user {0} does not exist")]
    UserNotFound(UserName),
    #[error("user {0} already has a login profile")]
    LoginProfileExists(UserName),
    #[error("user {0} has no login profile")]
    LoginProfileNotFound(UserName),
    #[error("key pair {0} already exists")]
    KeyPairExists(String),
    #[error("key pair {0} does not exist")]
    KeyPairNotFound(String),
    #[error("security group {0} already exists")]
    GroupExists(String),
    #[error("security group {0} does not exist")]
    GroupNotFound(String),
    #[error("security group {group} is used by {instances} instance(s)")]
    GroupInUse { group: SecurityGroupId, instances: usize },
    #[error("security group {group} is named by a rule of {by}")]
    GroupReferenced { group: SecurityGroupId, by: SecurityGroupId },
    #[error("the default security group cannot be deleted")]
    DefaultGroupUndeletable,
    #[error("rule already exists in {group}: {rule:?}")]
    DuplicateRule { group: SecurityGroupId, rule: Box<crate::SecurityRule> },
    #[error("no such rule in {group}: {rule:?}")]
    RuleNotFound { group: SecurityGroupId, rule: Box<crate::SecurityRule> },
    #[error("address {0} does not exist")]
    AddressNotFound(String),
    #[error("association {0} does not exist")]
    AssociationNotFound(String),
    #[error("address {address} is already associated with {instance}")]
    AddressInUse { address: String, instance: InstanceId },
    /// EC2's AddressLimitExceeded, for either reason.
    #[error("the account holds all the elastic IPs it may, or no public address is left in the pool")]
    AddressLimitExceeded,
    #[error("no private address is left in the pool")]
    PrivateAddressesExhausted,
    #[error("invalid private network {0}")]
    InvalidNetwork(String),
    #[error("resource {0} does not exist")]
    ResourceNotFound(String),
    #[error("resource {resource} would have more than 50 tags")]
    TagLimitExceeded { resource: String },
    #[error("instance {instance} is not placed on node {node}")]
    NotPlacedOnNode { instance: InstanceId, node: NodeId },
    #[error("instance {instance} has had {current} launch attempt(s): there is no attempt {attempt}")]
    UnknownAttempt { instance: InstanceId, attempt: u32, current: u32 },
    #[error("volume {0} does not exist")]
    VolumeNotFound(VolumeId),
    #[error("snapshot {0} does not exist")]
    SnapshotNotFound(SnapshotId),
    #[error("volume {volume} is attached to {instance}")]
    VolumeInUse { volume: VolumeId, instance: InstanceId },
    #[error("volume {volume} is {state}: cannot {action}")]
    IncorrectVolumeState { volume: VolumeId, state: String, action: &'static str },
    #[error("snapshot {snapshot} is {state}: cannot {action}")]
    IncorrectSnapshotState { snapshot: SnapshotId, state: String, action: &'static str },
    #[error("volume {volume} is in {volume_zone}, instance {instance} in {instance_zone}")]
    ZoneMismatch { volume: VolumeId, volume_zone: ZoneName, instance: InstanceId, instance_zone: ZoneName },
    #[error("device {device} of {instance} is in use")]
    DeviceInUse { instance: InstanceId, device: String },
    #[error("invalid device name {0}: use /dev/sdf to /dev/sdp (or /dev/xvdf…)")]
    InvalidDevice(String),
    #[error("invalid volume size: {0}")]
    InvalidVolumeSize(String),
    #[error("not enough block storage in {zone} for {requested} GiB ({free} GiB free)")]
    InsufficientVolumeCapacity { zone: ZoneName, requested: u32, free: u64 },
    #[error("{resource} is not in zone {zone}")]
    NotInZone { resource: String, zone: ZoneName },
    #[error("invalid block device mapping: {0}")]
    InvalidBlockDeviceMapping(String),
    #[error("snapshot {snapshot} is in use by image {image}")]
    SnapshotInUse { snapshot: SnapshotId, image: ImageId },
    #[error("{0}")]
    NotEbsBacked(String),
    #[error("volume {volume} is the root device of {instance}: it stays with the instance")]
    RootVolume { volume: VolumeId, instance: InstanceId },
    #[error("no volume of {instance} is mapped at {device}")]
    DeviceNotMapped { instance: InstanceId, device: String },
    #[error("the bucket {0} does not exist")]
    NoSuchBucket(BucketName),
    #[error("the bucket name {0} is not available: another account has a bucket of that name")]
    BucketAlreadyExists(BucketName),
    #[error("your previous request to create the bucket {0} succeeded and you already own it")]
    BucketAlreadyOwnedByYou(BucketName),
    #[error("the bucket {0} is not empty: delete every object version in it first")]
    BucketNotEmpty(BucketName),
    #[error("the key {key} does not exist in bucket {bucket}")]
    NoSuchKey { bucket: BucketName, key: String },
    #[error("version {version} of {key} does not exist")]
    NoSuchVersion { key: String, version: String },
    #[error("the multipart upload {0} does not exist: it may have been completed or aborted")]
    NoSuchUpload(String),
    #[error("part {number} was not uploaded, or its ETag does not match the uploaded part's")]
    InvalidPart { number: u32 },
    #[error("the list of parts was not in ascending order")]
    InvalidPartOrder,
    #[error("part {number} is smaller than the minimum part size of 5 MiB")]
    EntityTooSmall { number: u32 },
    #[error("access denied to {0}")]
    AccessDenied(String),
    #[error("at least one of the preconditions did not hold: {0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    InvalidBucketRequest(String),
    #[error("{0}")]
    InvalidObjectRequest(String),
    #[error("the signing certificate {0} already exists")]
    DuplicateCertificate(String),
    #[error("user {0} already has two signing certificates")]
    SigningCertificateLimit(UserName),
    #[error("the signing certificate {0} does not exist")]
    SigningCertificateNotFound(String),
    #[error("the manifest is not signed by an active signing certificate of the account: {0}")]
    ManifestNotSigned(String),
    #[error("the bundle cannot be registered: {0}")]
    InvalidManifest(String),
}
