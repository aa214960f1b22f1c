//! Events of an image's stream after its registration (`ImageRegistered`
//! is in `images.rs`, unchanged since its release).

use crate::ids::{AccountId, SnapshotId};
use crate::model::Timestamp;
use serde::{Deserialize, Serialize};

/// One part of a bundle as RegisterImage found it in Walrus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImagePart {
    /// The object's key in the bundle's bucket.
    pub key: String,
    /// The object version read (`null` in an unversioned bucket).
    pub version: String,
    /// The part's SHA1 (hex), as the signed manifest gives it and as the
    /// bytes were found to hash.
    pub sha1: String,
    pub size: u64,
}

/// RegisterImage of a bundle (right after its `ImageRegistered`): the
/// manifest it was verified against and everything a node needs to fetch,
/// check and decrypt the image (the key and IV stay encrypted to the
/// cloud's certificate, as the manifest has them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageBundleRecorded {
    pub bucket: String,
    pub manifest_key: String,
    pub manifest_version: String,
    /// SHA-256 (hex) of the manifest's bytes.
    pub manifest_sha256: String,
    /// The signing certificate whose key signed the manifest.
    pub signed_by: String,
    /// SHA1 (hex) of the image's tar stream (the manifest's `digest`).
    pub image_digest: String,
    pub image_size: u64,
    pub bundled_size: u64,
    /// `ec2_encrypted_key` and `ec2_encrypted_iv`: sealed to the cloud.
    pub encrypted_key: String,
    pub encrypted_iv: String,
    pub parts: Vec<ImagePart>,
    pub at: Timestamp,
}

/// DeregisterImage: the image can no longer be described or launched
/// (running instances keep running).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageDeregistered {
    pub at: Timestamp,
}

/// ModifyImageAttribute / ResetImageAttribute (launchPermission): who
/// besides its owner may launch the image, as it is now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageLaunchPermissionsSet {
    pub accounts: Vec<AccountId>,
    pub public: bool,
    pub at: Timestamp,
}

/// ModifyImageAttribute (description).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageDescriptionSet {
    pub description: String,
    pub at: Timestamp,
}

/// One device of an EBS-backed image's block device mapping: a volume
/// made from `snapshot` (or empty, of `size_gib`) for each instance
/// launched from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageBlockDevice {
    /// As registered (`/dev/sda1`, `/dev/sdb`…).
    pub device: String,
    pub snapshot: Option<SnapshotId>,
    pub size_gib: u32,
    pub volume_type: String,
    pub delete_on_termination: bool,
}

/// RegisterImage from a snapshot, or CreateImage (right after its
/// `ImageRegistered`): the image is EBS-backed, its instances boot from a
/// volume made from the root device's snapshot.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageBlockDevicesRecorded {
    /// The root device's name (`/dev/sda1`, `/dev/xvda`): one of `devices`.
    pub root_device: String,
    pub devices: Vec<ImageBlockDevice>,
    pub at: Timestamp,
}
