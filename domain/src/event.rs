//! Events: past-tense facts. Each is a struct of its own in the area whose
//! state it changes, stored under its type name and schema version (see
//! docs/adr/0002-event-encoding.md); [`Event`] gathers them (see
//! `registry.rs`). This module re-exports them under the path other crates
//! have always used, and reads older schema versions ([`upcast`]).
//!
//! A released event struct is never edited. A changed fact gets a new struct
//! (or a new schema version of the same name) and, where old data must read
//! as new, an upcaster here.

pub use crate::accounts::{
    AccessKeyCreated, AccessKeyDeleted, AccessKeyStatusChanged, AccountCreated, AccountNameClaimed,
    LoginProfileCreated, LoginProfileDeleted, LoginProfileUpdated, SigningCertificateDeleted,
    SigningCertificateStatusChanged, SigningCertificateUploaded, UserCreated, UserDeleted,
};
pub use crate::addresses::{
    AddressAllocated, AddressAssociated, AddressDisassociated, AddressHolder, AddressPoolConfigured,
    AddressReleased, ElasticIpLimitSet, PrivateAddressFreed, PrivateAddressTaken, PublicAddressFreed,
    PublicAddressTaken,
};
pub use crate::audit::RequestRefused;
pub use crate::buckets::{
    BucketAclSet, BucketCorsSet, BucketCreated, BucketDeleted, BucketRecreated, BucketTaggingSet,
    BucketVersioningSet, DeleteMarkerPlaced, MultipartPartStored, MultipartUploadEnded,
    MultipartUploadStarted, ObjectAclSet, ObjectStored, ObjectVersionDeleted,
};
pub use crate::cloud::{CloudInitialized, ClusterAdded, VmTypeSet};
pub use crate::clusters::{
    CapacityReleased, CapacityReserved, ClusterPolicySet, ClusterRegistered, NodeClaimed,
    NodeCredentialsIssued, NodeReachable, NodeRegistered, NodeUnreachable,
};
pub use crate::images::{
    ImageBlockDevice, ImageBlockDevicesRecorded, ImageBundleRecorded, ImageDeregistered, ImageDescriptionSet,
    ImageLaunchPermissionsSet, ImagePart, ImageRegistered,
};
pub use crate::instances::{
    InstanceAddressed, InstanceAttributeChanged, InstanceGroupsChanged, InstanceLaunchFailed, InstancePlaced,
    InstancePublicAddressChanged, InstanceRebootRequested, InstanceRequested, InstanceRequestedV1,
    InstanceRunning, InstanceStartFailed, InstanceStartRequested, InstanceStopRequested, InstanceStopped,
    InstanceTerminated, InstanceTerminationRequested,
};
pub use crate::key_pairs::{KeyPairCreated, KeyPairDeleted};
pub use crate::registry::Event;
pub use crate::reservations::{ClientTokenClaimed, ReservationCreated};
pub use crate::security_groups::{
    GroupNameClaimed, GroupNameReleased, SecurityGroupCreated, SecurityGroupDeleted,
    SecurityGroupDereferenced, SecurityGroupMemberAdded, SecurityGroupMemberRemoved, SecurityGroupReferenced,
    SecurityRulesAuthorized, SecurityRulesRevoked,
};
pub use crate::tags::{TagsCreated, TagsDeleted};
pub use crate::volumes::{
    InstanceDeviceClaimed, InstanceDeviceReleased, SnapshotCompleted, SnapshotDeleted, SnapshotFailed,
    SnapshotImageDeregistered, SnapshotImageRegistered, SnapshotPermissionsSet, SnapshotProgressed,
    SnapshotRequested, StorageCapacitySet, StorageConfigured, StorageControllerRegistered, StorageReleased,
    StorageReserved, VolumeAttachFailed, VolumeAttachRequested, VolumeAttached, VolumeAttachmentCancelled,
    VolumeAttachmentPlanned, VolumeCreated, VolumeDeleteOnTerminationSet, VolumeDeleteRequested,
    VolumeDeleted, VolumeDetachForced, VolumeDetachRequested, VolumeExported, VolumeFailed, VolumeReleased,
    VolumeRequested, VolumeRevoked,
};

/// Errors decoding a stored event.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("unknown event type {event_type:?} (schema {schema})")]
    UnknownType { event_type: String, schema: u16 },
    #[error("event {event_type:?} (schema {schema}) does not decode: {source}")]
    Malformed {
        event_type: String,
        schema: u16,
        #[source]
        source: postcard::Error,
    },
}

/// Older schema versions, read as the current one. Every retired
/// (type, schema) pair keeps a line in `fixtures/events.txt`.
pub(crate) fn upcast(event_type: &str, schema: u16, bytes: &[u8]) -> Option<Result<Event, postcard::Error>> {
    match (event_type, schema) {
        ("InstanceRequested", 1) => Some(
            postcard::from_bytes::<InstanceRequestedV1>(bytes).map(|v1| Event::InstanceRequested(v1.into())),
        ),
        _ => None,
    }
}
