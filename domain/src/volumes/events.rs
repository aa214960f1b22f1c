//! Events of volume, snapshot and storage streams, and the devices an
//! instance's stream gives its volumes.

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};

/// CreateVolume: the volume is `creating`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeRequested {
    pub volume: VolumeId,
    pub account: AccountId,
    pub zone: ZoneName,
    pub size_gib: u32,
    /// `standard`, `gp2` or `gp3`: recorded, all served alike.
    pub volume_type: String,
    /// The snapshot it is restored from.
    pub snapshot: Option<SnapshotId>,
    pub at: Timestamp,
}

/// The storage controller made the volume: `available`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeCreated {
    pub at: Timestamp,
}

/// Creating or deleting the volume failed (or did not finish in time):
/// `error`, with why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeFailed {
    pub reason: String,
    pub at: Timestamp,
}

/// AttachVolume: `in-use`, attachment `attaching`. `grant` is the
/// attachment's iSCSI initiator name, sealed: the only initiator the
/// volume's target lets in while it lasts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeAttachRequested {
    pub instance: InstanceId,
    pub device: String,
    pub grant: SealedSecret,
    pub delete_on_termination: bool,
    pub at: Timestamp,
}

/// The storage controller exports the volume to the attachment's
/// initiator (and to it only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeExported {
    pub at: Timestamp,
}

/// The node plugged the volume into the guest: attachment `attached`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeAttached {
    pub at: Timestamp,
}

/// The attachment could not be made (or not in time): it is undone like
/// a detach (`detaching`, the node holds nothing) until the export is
/// revoked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeAttachFailed {
    pub reason: String,
    pub at: Timestamp,
}

/// DetachVolume (or the instance's termination): attachment `detaching`.
/// `force`: the export is revoked without waiting for the node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeDetachRequested {
    pub force: bool,
    pub at: Timestamp,
}

/// The node did not unplug the volume in time: the export is revoked
/// without waiting for it any more.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeDetachForced {
    pub reason: String,
    pub at: Timestamp,
}

/// The node unplugged the volume from the guest (or the guest is gone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeReleased {
    pub at: Timestamp,
}

/// The storage controller revoked the attachment's export and dropped its
/// sessions: the volume is `available` again, and nothing can write it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeRevoked {
    pub at: Timestamp,
}

/// DeleteVolume: `deleting`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeDeleteRequested {
    pub at: Timestamp,
}

/// The storage controller removed the volume: `deleted`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeDeleted {
    pub at: Timestamp,
}

/// CreateSnapshot: `pending`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRequested {
    pub snapshot: SnapshotId,
    pub account: AccountId,
    pub volume: VolumeId,
    pub zone: ZoneName,
    pub size_gib: u32,
    pub description: String,
    pub at: Timestamp,
}

/// How much of the snapshot is taken, in percent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotProgressed {
    pub percent: u8,
    pub at: Timestamp,
}

/// The snapshot is whole: `completed`. `manifest` names its chunk list in
/// the zone's chunk store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotCompleted {
    pub manifest: String,
    pub at: Timestamp,
}

/// Taking the snapshot failed (or did not finish in time): `error`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFailed {
    pub reason: String,
    pub at: Timestamp,
}

/// DeleteSnapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotDeleted {
    pub at: Timestamp,
}

/// ModifySnapshotAttribute / ResetSnapshotAttribute (createVolumePermission):
/// who besides its owner may make volumes of the snapshot, as it is now:
/// these accounts, and everyone when `public`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPermissionsSet {
    pub accounts: Vec<AccountId>,
    pub public: bool,
    pub at: Timestamp,
}

/// A zone's block storage: what its storage controller offers, in GiB.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageConfigured {
    pub zone: ZoneName,
    pub capacity_gib: u64,
    pub at: Timestamp,
}

/// The zone's storage capacity changed (`--storage-gib`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageCapacitySet {
    pub capacity_gib: u64,
    pub at: Timestamp,
}

/// A volume's size is taken from the zone's storage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageReserved {
    pub volume: VolumeId,
    pub gib: u32,
}

/// A deleted volume's size is given back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageReleased {
    pub volume: VolumeId,
}

/// AttachVolume: the instance gives a device name to a volume.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceDeviceClaimed {
    pub device: String,
    pub volume: VolumeId,
    pub at: Timestamp,
}

/// The volume on the device was detached: the name is free again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceDeviceReleased {
    pub device: String,
    pub volume: VolumeId,
    pub at: Timestamp,
}

/// RunInstances' block device mapping: the volume, made with the instance,
/// is to be attached to it as `device` once both are ready (the volume
/// created, the instance running). `grant` is the attachment's initiator
/// name, sealed, as in [`VolumeAttachRequested`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeAttachmentPlanned {
    pub instance: InstanceId,
    pub device: String,
    pub grant: SealedSecret,
    pub delete_on_termination: bool,
    pub at: Timestamp,
}

/// The instance a planned attachment was for ended before the attachment
/// was made: the volume is its own (deleted instead, if it was to be
/// deleted on termination).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeAttachmentCancelled {
    pub at: Timestamp,
}

/// ModifyInstanceAttribute's `BlockDeviceMapping.N.Ebs.DeleteOnTermination`:
/// whether the volume goes with its instance's termination (for its
/// attachment, or its planned one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeDeleteOnTerminationSet {
    pub delete_on_termination: bool,
    pub at: Timestamp,
}

/// A storage controller on a host of its own joined the zone (`yukari
/// storage`), with an access key of its own; the secret is sealed. A new
/// registration replaces the key (the old one stops working).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageControllerRegistered {
    pub host: String,
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
    pub at: Timestamp,
}

/// RegisterImage or CreateImage made an image whose block device mapping
/// restores this snapshot: it may not be deleted while the image is
/// registered (EC2's InvalidSnapshot.InUse).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotImageRegistered {
    pub image: ImageId,
    pub at: Timestamp,
}

/// DeregisterImage: the image no longer holds the snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotImageDeregistered {
    pub image: ImageId,
    pub at: Timestamp,
}
