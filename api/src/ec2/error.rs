//! The one place internal errors become EC2 error codes and HTTP statuses.
//! Internal details (paths, storage errors, panics) never reach a client:
//! they are logged with the request id the client sees.

use crate::app::ExecuteError;
use crate::auth::AuthError;
use crate::ec2::xml::Xml;
use axum::http::StatusCode;
use domain::DecideError;
use eventlog::{AppendError, ReadError, Unavailable};

/// Declares [`Code`]: each EC2 error code this endpoint answers, its wire
/// name and its HTTP status, in one line.
macro_rules! codes {
    ($($variant:ident = $wire:literal, $status:ident;)+) => {
        /// An EC2 error code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant),+
        }

        impl Code {
            /// Every code, in the table's order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The code as EC2 spells it on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $wire),+
                }
            }

            /// The HTTP status EC2 answers the code with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status),+
                }
            }
        }
    };
}

codes! {
    AddressLimitExceeded = "AddressLimitExceeded", BAD_REQUEST;
    AuthFailure = "AuthFailure", UNAUTHORIZED;
    CannotDelete = "CannotDelete", BAD_REQUEST;
    DependencyViolation = "DependencyViolation", BAD_REQUEST;
    DryRunOperation = "DryRunOperation", PRECONDITION_FAILED;
    FilterLimitExceeded = "FilterLimitExceeded", BAD_REQUEST;
    IdempotentInstanceTerminated = "IdempotentInstanceTerminated", BAD_REQUEST;
    IdempotentParameterMismatch = "IdempotentParameterMismatch", BAD_REQUEST;
    IncompleteSignature = "IncompleteSignature", BAD_REQUEST;
    IncorrectInstanceState = "IncorrectInstanceState", BAD_REQUEST;
    IncorrectState = "IncorrectState", BAD_REQUEST;
    InsufficientFreeAddressesInSubnet = "InsufficientFreeAddressesInSubnet", BAD_REQUEST;
    InsufficientInstanceCapacity = "InsufficientInstanceCapacity", SERVICE_UNAVAILABLE;
    InsufficientVolumeCapacity = "InsufficientVolumeCapacity", BAD_REQUEST;
    InternalError = "InternalError", INTERNAL_SERVER_ERROR;
    InvalidAction = "InvalidAction", BAD_REQUEST;
    InvalidAddressMalformed = "InvalidAddress.Malformed", BAD_REQUEST;
    InvalidAddressNotFound = "InvalidAddress.NotFound", BAD_REQUEST;
    InvalidAllocationIdNotFound = "InvalidAllocationID.NotFound", BAD_REQUEST;
    InvalidAmiIdMalformed = "InvalidAMIID.Malformed", BAD_REQUEST;
    InvalidAmiIdNotFound = "InvalidAMIID.NotFound", BAD_REQUEST;
    InvalidAmiNameMalformed = "InvalidAMIName.Malformed", BAD_REQUEST;
    InvalidAssociationIdNotFound = "InvalidAssociationID.NotFound", BAD_REQUEST;
    InvalidBlockDeviceMapping = "InvalidBlockDeviceMapping", BAD_REQUEST;
    InvalidDeviceInUse = "InvalidDevice.InUse", BAD_REQUEST;
    InvalidGroupDuplicate = "InvalidGroup.Duplicate", BAD_REQUEST;
    InvalidGroupNotFound = "InvalidGroup.NotFound", BAD_REQUEST;
    InvalidGroupIdMalformed = "InvalidGroupId.Malformed", BAD_REQUEST;
    InvalidId = "InvalidID", BAD_REQUEST;
    InvalidInstanceAttributeValue = "InvalidInstanceAttributeValue", BAD_REQUEST;
    InvalidInstanceIdMalformed = "InvalidInstanceID.Malformed", BAD_REQUEST;
    InvalidInstanceIdNotFound = "InvalidInstanceID.NotFound", BAD_REQUEST;
    InvalidInstanceType = "InvalidInstanceType", BAD_REQUEST;
    InvalidKeyFormat = "InvalidKey.Format", BAD_REQUEST;
    InvalidKeyPairDuplicate = "InvalidKeyPair.Duplicate", BAD_REQUEST;
    InvalidKeyPairNotFound = "InvalidKeyPair.NotFound", BAD_REQUEST;
    InvalidManifest = "InvalidManifest", BAD_REQUEST;
    InvalidPaginationToken = "InvalidPaginationToken", BAD_REQUEST;
    InvalidParameterCombination = "InvalidParameterCombination", BAD_REQUEST;
    InvalidParameterValue = "InvalidParameterValue", BAD_REQUEST;
    InvalidPermissionDuplicate = "InvalidPermission.Duplicate", BAD_REQUEST;
    InvalidPermissionMalformed = "InvalidPermission.Malformed", BAD_REQUEST;
    InvalidPermissionNotFound = "InvalidPermission.NotFound", BAD_REQUEST;
    InvalidSnapshotInUse = "InvalidSnapshot.InUse", BAD_REQUEST;
    InvalidSnapshotNotFound = "InvalidSnapshot.NotFound", BAD_REQUEST;
    InvalidSnapshotIdMalformed = "InvalidSnapshotID.Malformed", BAD_REQUEST;
    InvalidVolumeNotFound = "InvalidVolume.NotFound", BAD_REQUEST;
    InvalidVolumeZoneMismatch = "InvalidVolume.ZoneMismatch", BAD_REQUEST;
    InvalidVolumeIdMalformed = "InvalidVolumeID.Malformed", BAD_REQUEST;
    MissingAction = "MissingAction", BAD_REQUEST;
    MissingParameter = "MissingParameter", BAD_REQUEST;
    NoSuchVersion = "NoSuchVersion", BAD_REQUEST;
    OperationNotPermitted = "OperationNotPermitted", BAD_REQUEST;
    OptInRequired = "OptInRequired", FORBIDDEN;
    RequestExpired = "RequestExpired", BAD_REQUEST;
    RequestTimeout = "RequestTimeout", BAD_REQUEST;
    ResourceAlreadyAssociated = "Resource.AlreadyAssociated", BAD_REQUEST;
    ServiceUnavailable = "ServiceUnavailable", SERVICE_UNAVAILABLE;
    SignatureDoesNotMatch = "SignatureDoesNotMatch", FORBIDDEN;
    TagLimitExceeded = "TagLimitExceeded", BAD_REQUEST;
    UnauthorizedOperation = "UnauthorizedOperation", FORBIDDEN;
    Unavailable = "Unavailable", SERVICE_UNAVAILABLE;
    Unsupported = "Unsupported", BAD_REQUEST;
    UnsupportedOperation = "UnsupportedOperation", BAD_REQUEST;
    VolumeInUse = "VolumeInUse", BAD_REQUEST;
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.as_str()
    }
}

/// An EC2 error: code (with its HTTP status) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ec2Error {
    pub code: Code,
    pub message: String,
}

impl Ec2Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Ec2Error { code, message: message.into() }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn missing(parameter: &str) -> Self {
        Ec2Error::new(Code::MissingParameter, format!("The request must contain the parameter {parameter}"))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Ec2Error::new(Code::InvalidParameterValue, message)
    }

    pub fn dry_run() -> Self {
        Ec2Error::new(Code::DryRunOperation, "Request would have succeeded, but DryRun flag is set.")
    }

    pub fn internal() -> Self {
        Ec2Error::new(Code::InternalError, "An internal error has occurred")
    }

    /// The EC2 error document.
    pub fn to_xml(&self, request_id: &str) -> String {
        let mut x = Xml::bare("Response");
        x.open("Errors")
            .open("Error")
            .text("Code", self.code.as_str())
            .text("Message", &self.message)
            .close()
            .close();
        x.text("RequestID", request_id);
        x.finish()
    }
}

fn quoted_list<T: std::fmt::Display>(ids: &[T]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

impl From<DecideError> for Ec2Error {
    fn from(e: DecideError) -> Self {
        use DecideError::*;
        match e {
            ImageNotFound(id) => {
                Ec2Error::new(Code::InvalidAmiIdNotFound, format!("The image id '[{id}]' does not exist"))
            }
            NotAMachineImage(id) => Ec2Error::invalid(format!("The image '{id}' is not a machine image")),
            WrongImageKind { image, expected } => {
                Ec2Error::invalid(format!("The image '{image}' is not a {expected} image"))
            }
            UnknownInstanceType(t) => Ec2Error::invalid(format!("The instance type '{t}' does not exist")),
            InvalidCount { min, max } => Ec2Error::invalid(format!(
                "Invalid instance count: MinCount ({min}) must be at least 1 and not more than MaxCount ({max})"
            )),
            UnknownZone(z) => Ec2Error::invalid(format!("Invalid availability zone: [{z}]")),
            NoZoneAvailable => Ec2Error::new(Code::Unavailable, "No availability zone is available"),
            NewVmTypeIncomplete(name) => Ec2Error::invalid(format!(
                "The instance type '{name}' does not exist; a new one needs Cpu, Memory and Disk"
            )),
            InsufficientCapacity { zone, vm_type, requested, available } => Ec2Error::new(
                Code::InsufficientInstanceCapacity,
                format!(
                    "There is not enough capacity to fulfill your request for {requested} {vm_type} \
                     instance(s) in {zone} (room for {available})."
                ),
            ),
            InstanceNotFound(ids) if ids.len() == 1 => Ec2Error::new(
                Code::InvalidInstanceIdNotFound,
                format!("The instance ID '{}' does not exist", ids[0]),
            ),
            InstanceNotFound(ids) => Ec2Error::new(
                Code::InvalidInstanceIdNotFound,
                format!("The instance IDs '{}' do not exist", quoted_list(&ids)),
            ),
            IncorrectInstanceState { instance, state, action } => Ec2Error::new(
                Code::IncorrectInstanceState,
                format!("The instance '{instance}' is {state}; it cannot {action}."),
            ),
            IdempotentParameterMismatch { token } => Ec2Error::new(
                Code::IdempotentParameterMismatch,
                format!("The client token '{token}' was already used with different parameters"),
            ),
            // An account named in a request (a user id to share with):
            // a bad parameter, not bad credentials (an authenticated
            // caller's own account always exists).
            AccountNotFound(a) => Ec2Error::invalid(format!("The user ID '{a}' is not a valid account.")),
            TerminationProtected(id) => Ec2Error::new(
                Code::OperationNotPermitted,
                format!(
                    "The instance '{id}' may not be terminated. Modify its 'disableApiTermination' instance \
                     attribute and try again."
                ),
            ),
            KeyPairExists(name) => {
                Ec2Error::new(Code::InvalidKeyPairDuplicate, format!("The keypair '{name}' already exists."))
            }
            KeyPairNotFound(name) => {
                Ec2Error::new(Code::InvalidKeyPairNotFound, format!("The key pair '{name}' does not exist"))
            }
            GroupExists(name) => Ec2Error::new(
                Code::InvalidGroupDuplicate,
                format!("The security group '{name}' already exists"),
            ),
            GroupNotFound(name) => Ec2Error::new(
                Code::InvalidGroupNotFound,
                format!("The security group '{name}' does not exist"),
            ),
            GroupInUse { group, .. } => {
                Ec2Error::new(Code::DependencyViolation, format!("resource {group} has a dependent object"))
            }
            GroupReferenced { group, by } => Ec2Error::new(
                Code::DependencyViolation,
                format!("resource {group} has a dependent object: a rule of {by} names it"),
            ),
            DefaultGroupUndeletable => {
                Ec2Error::new(Code::CannotDelete, "the specified group: \"default\" name cannot be deleted")
            }
            DuplicateRule { rule, .. } => Ec2Error::new(
                Code::InvalidPermissionDuplicate,
                format!("the specified rule \"{}\" already exists", describe_rule(&rule)),
            ),
            RuleNotFound { .. } => Ec2Error::new(
                Code::InvalidPermissionNotFound,
                "The specified rule does not exist in this security group.",
            ),
            AddressNotFound(a) if a.starts_with("eipalloc-") => Ec2Error::new(
                Code::InvalidAllocationIdNotFound,
                format!("The allocation ID '{a}' does not exist"),
            ),
            AddressNotFound(a) => {
                Ec2Error::new(Code::InvalidAddressNotFound, format!("Address '{a}' not found."))
            }
            AssociationNotFound(a) => Ec2Error::new(
                Code::InvalidAssociationIdNotFound,
                format!("The association ID '{a}' does not exist"),
            ),
            AddressInUse { address, instance } => Ec2Error::new(
                Code::ResourceAlreadyAssociated,
                format!("The address {address} is already associated with instance {instance}"),
            ),
            AddressLimitExceeded => {
                Ec2Error::new(Code::AddressLimitExceeded, "The maximum number of addresses has been reached.")
            }
            PrivateAddressesExhausted => Ec2Error::new(
                Code::InsufficientFreeAddressesInSubnet,
                "There are not enough free private addresses to launch the instances",
            ),
            ResourceNotFound(id) => not_found(&id),
            TagLimitExceeded { resource } => Ec2Error::new(
                Code::TagLimitExceeded,
                format!("The maximum number of Tags for a resource has been reached ({resource})."),
            ),
            CloudNotInitialized => Ec2Error::new(Code::Unavailable, "The cloud is not initialized yet"),
            VolumeNotFound(id) => not_found(id.as_str()),
            SnapshotNotFound(id) => not_found(id.as_str()),
            VolumeInUse { volume, instance } => Ec2Error::new(
                Code::VolumeInUse,
                format!("Volume {volume} is currently attached to {instance}"),
            ),
            IncorrectVolumeState { volume, state, action } => Ec2Error::new(
                Code::IncorrectState,
                format!("The volume '{volume}' is {state}; it cannot {action}."),
            ),
            IncorrectSnapshotState { snapshot, state, action } => Ec2Error::new(
                Code::IncorrectState,
                format!("The snapshot '{snapshot}' is {state}; it cannot {action}."),
            ),
            ZoneMismatch { volume, volume_zone, instance, instance_zone } => Ec2Error::new(
                Code::InvalidVolumeZoneMismatch,
                format!(
                    "The volume '{volume}' is not in the same availability zone as instance '{instance}' \
                     ({volume_zone}, {instance_zone})"
                ),
            ),
            DeviceInUse { instance, device } => Ec2Error::new(
                Code::InvalidDeviceInUse,
                format!("The device '{device}' is already in use on instance '{instance}'"),
            ),
            InvalidDevice(device) => Ec2Error::invalid(format!("Invalid device name {device}")),
            InvalidVolumeSize(why) => Ec2Error::invalid(why),
            InsufficientVolumeCapacity { zone, requested, free } => Ec2Error::new(
                Code::InsufficientVolumeCapacity,
                format!("There is not enough block storage in {zone} for {requested} GiB ({free} GiB free)."),
            ),
            InvalidBlockDeviceMapping(why) => {
                Ec2Error::new(Code::InvalidBlockDeviceMapping, format!("Invalid block device mapping: {why}"))
            }
            SnapshotInUse { snapshot, image } => Ec2Error::new(
                Code::InvalidSnapshotInUse,
                format!("The snapshot {snapshot} is currently in use by {image}"),
            ),
            NotEbsBacked(why) => Ec2Error::new(Code::InvalidParameterValue, why),
            RootVolume { volume, instance } => Ec2Error::new(
                Code::OperationNotPermitted,
                format!(
                    "The volume '{volume}' is the root device volume of instance '{instance}' and cannot \
                     be detached or deleted while the instance exists."
                ),
            ),
            DeviceNotMapped { instance, device } => Ec2Error::new(
                Code::InvalidInstanceAttributeValue,
                format!("No device is currently mapped at {device} on instance {instance}"),
            ),
            ManifestNotSigned(why) => Ec2Error::new(
                Code::AuthFailure,
                format!(
                    "The manifest's signature does not verify: {why}. Bundle it with EC2_CERT and EC2_PRIVATE_KEY of your account."
                ),
            ),
            InvalidManifest(why) => Ec2Error::new(Code::InvalidManifest, why),
            NoSuchBucket(b) => {
                Ec2Error::new(Code::InvalidManifest, format!("The bucket {b} of the manifest does not exist"))
            }
            AccessDenied(what) => Ec2Error::new(Code::AuthFailure, format!("Not authorized to read {what}")),
            other => {
                tracing::warn!(error = %other, "refusal without a specific EC2 code");
                Ec2Error::invalid(other.to_string())
            }
        }
    }
}

/// How EC2 words a rule in its errors.
fn describe_rule(rule: &domain::SecurityRule) -> String {
    let peer = match &rule.source {
        domain::RuleSource::Cidr(c) => c.clone(),
        domain::RuleSource::Group { group, .. } => group.to_string(),
        domain::RuleSource::NamedGroup { account, name } => format!("{account}/{name}"),
    };
    let protocol = if rule.protocol == "-1" { "ALL".to_owned() } else { rule.protocol.to_uppercase() };
    format!("peer: {peer}, {protocol}, from port: {}, to port: {}, ALLOW", rule.from_port, rule.to_port)
}

/// The NotFound error of a resource id, by its kind.
pub fn not_found(id: &str) -> Ec2Error {
    let (code, what) = match id.split('-').next().unwrap_or("") {
        "i" => (Code::InvalidInstanceIdNotFound, "instance ID"),
        "sg" => (Code::InvalidGroupNotFound, "security group"),
        "eipalloc" => (Code::InvalidAllocationIdNotFound, "allocation ID"),
        "key" => (Code::InvalidKeyPairNotFound, "key pair"),
        "vol" if domain::VolumeId::parse(id).is_ok() => (Code::InvalidVolumeNotFound, "volume"),
        "snap" if domain::SnapshotId::parse(id).is_ok() => (Code::InvalidSnapshotNotFound, "snapshot"),
        "ami" | "emi" | "eki" | "eri" | "aki" | "ari" => (Code::InvalidAmiIdNotFound, "image id"),
        _ => (Code::InvalidId, "ID"),
    };
    Ec2Error::new(code, format!("The {what} '{id}' does not exist"))
}

impl From<ExecuteError> for Ec2Error {
    fn from(e: ExecuteError) -> Self {
        match e {
            ExecuteError::Refused(d) => d.into(),
            other => match cannot_store(&other) {
                Some(answer) => {
                    tracing::warn!(error = %other, "a change was refused: the cloud cannot store it now");
                    answer
                }
                None => {
                    tracing::error!(error = %other, "command failed");
                    Ec2Error::internal()
                }
            },
        }
    }
}

/// The answer to a change the event log cannot store now (503
/// `ServiceUnavailable`): its disk is full or read-only, it is damaged, or
/// it runs read-only. Reads are still answered meanwhile, and a command
/// refused for its own reason still gets its own error.
fn cannot_store(e: &ExecuteError) -> Option<Ec2Error> {
    let why = unavailable(e)?;
    Some(Ec2Error::new(Code::ServiceUnavailable, format!("The cloud cannot store changes now: {why}")))
}

/// Why the event log cannot store a change now, if that is why `e`
/// happened (EC2's and S3's answers both say it).
pub(crate) fn unavailable(e: &ExecuteError) -> Option<String> {
    const READS: &str = "Reads are still served.";
    let why = match e {
        ExecuteError::Append(AppendError::Unavailable(cause)) => {
            let what = match cause {
                Unavailable::DiskFull => "its disk is full",
                Unavailable::QuotaExceeded => "its disk quota is used up",
                Unavailable::ReadOnlyFileSystem => "its disk is read-only",
                Unavailable::Other(_) => "its storage is unavailable",
            };
            format!("{what}. {READS} Retry later.")
        }
        ExecuteError::Append(AppendError::Damaged(_)) | ExecuteError::Read(ReadError::Corrupt { .. }) => {
            format!("its event log is damaged and must be salvaged by its operator. {READS}")
        }
        ExecuteError::Append(AppendError::ReadOnly) => format!("it runs read-only. {READS}"),
        ExecuteError::Append(AppendError::SyncFailed(_)) => {
            format!(
                "a sync of its event log to disk failed; it stores nothing until its operator restarts it. {READS}"
            )
        }
        ExecuteError::Read(ReadError::Unavailable(_)) => {
            "its storage cannot be read now. Retry later.".to_owned()
        }
        _ => return None,
    };
    Some(why)
}

impl From<AuthError> for Ec2Error {
    fn from(e: AuthError) -> Self {
        Ec2Error::new(e.ec2_code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventlog::Damage;

    #[test]
    fn volume_refusals_have_ec2s_codes() {
        let volume = domain::VolumeId::from_bits(7);
        let instance = domain::InstanceId::from_bits(8);
        let zone = domain::ZoneName::parse("a").unwrap();
        let cases: Vec<(DecideError, &str)> = vec![
            (DecideError::VolumeNotFound(volume.clone()), "InvalidVolume.NotFound"),
            (DecideError::SnapshotNotFound(domain::SnapshotId::from_bits(1)), "InvalidSnapshot.NotFound"),
            (DecideError::VolumeInUse { volume: volume.clone(), instance: instance.clone() }, "VolumeInUse"),
            (
                DecideError::IncorrectVolumeState {
                    volume: volume.clone(),
                    state: "creating".into(),
                    action: "x",
                },
                "IncorrectState",
            ),
            (
                DecideError::ZoneMismatch {
                    volume: volume.clone(),
                    volume_zone: zone.clone(),
                    instance: instance.clone(),
                    instance_zone: zone.clone(),
                },
                "InvalidVolume.ZoneMismatch",
            ),
            (DecideError::DeviceInUse { instance, device: "/dev/sdf".into() }, "InvalidDevice.InUse"),
            (DecideError::InvalidVolumeSize("0".into()), "InvalidParameterValue"),
            (
                DecideError::InsufficientVolumeCapacity { zone, requested: 2, free: 1 },
                "InsufficientVolumeCapacity",
            ),
            (DecideError::InvalidBlockDeviceMapping("/dev/sda1".into()), "InvalidBlockDeviceMapping"),
            // A user id to share a snapshot with: a bad value, not bad credentials.
            (DecideError::AccountNotFound(domain::AccountId::from_bits(0)), "InvalidParameterValue"),
            (
                DecideError::DeviceNotMapped {
                    instance: domain::InstanceId::from_bits(8),
                    device: "/dev/sdz".into(),
                },
                "InvalidInstanceAttributeValue",
            ),
        ];
        for (refusal, code) in cases {
            let e = Ec2Error::from(refusal);
            assert_eq!((e.code.as_str(), e.status()), (code, StatusCode::BAD_REQUEST));
        }
        // An id of the wrong shape is no volume's.
        assert_eq!(not_found("vol-1").code, "InvalidID");
        assert_eq!(not_found("snap-x").code, "InvalidID");
    }

    #[test]
    fn a_log_that_cannot_store_is_a_503_and_a_refusal_keeps_its_code() {
        let full: Ec2Error = ExecuteError::Append(AppendError::Unavailable(Unavailable::DiskFull)).into();
        assert_eq!(
            (full.code.as_str(), full.status()),
            ("ServiceUnavailable", StatusCode::SERVICE_UNAVAILABLE)
        );
        assert!(full.message.contains("disk is full") && full.message.contains("Reads are still served"));
        let read_only: Ec2Error =
            ExecuteError::Append(AppendError::Unavailable(Unavailable::ReadOnlyFileSystem)).into();
        assert!(read_only.message.contains("read-only"), "{}", read_only.message);
        let damage = Damage { position: Some(7), reason: "checksum".into() };
        let damaged: Ec2Error = ExecuteError::Append(AppendError::Damaged(damage)).into();
        assert_eq!(damaged.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(damaged.message.contains("damaged") && !damaged.message.contains("checksum"));
        let corrupt: Ec2Error =
            ExecuteError::Read(ReadError::Corrupt { position: 7, reason: "x".into() }).into();
        assert_eq!(corrupt.code, "ServiceUnavailable");
        // Other storage failures stay internal errors.
        let other: Ec2Error = ExecuteError::Append(AppendError::Storage("boom".into())).into();
        assert_eq!(
            (other.code.as_str(), other.status()),
            ("InternalError", StatusCode::INTERNAL_SERVER_ERROR)
        );
        let refused: Ec2Error = ExecuteError::Refused(DecideError::InstanceNotFound(vec![
            domain::InstanceId::parse("i-0123456789abcdef0").unwrap(),
        ]))
        .into();
        assert_eq!(refused.code, "InvalidInstanceID.NotFound");
    }
}
