//! Events of a bucket's stream (`bucket/NAME`).

use super::acl::Acl;
use super::names::BucketName;
use crate::ids::AccountId;
use crate::model::Timestamp;
use serde::{Deserialize, Serialize};

/// CreateBucket: the stream's first bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketCreated {
    pub bucket: BucketName,
    pub account: AccountId,
    /// The LocationConstraint asked for (the region's name, or empty).
    pub location: String,
    pub acl: Acl,
    pub at: Timestamp,
}

/// CreateBucket of a name whose earlier bucket was deleted: a new bucket
/// in the same stream, which starts empty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketRecreated {
    pub account: AccountId,
    pub location: String,
    pub acl: Acl,
    pub at: Timestamp,
}

/// DeleteBucket: the bucket (empty) is gone, and its uploads with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketDeleted {
    pub at: Timestamp,
}

/// PutBucketAcl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketAclSet {
    pub acl: Acl,
    pub at: Timestamp,
}

/// Whether a bucket keeps every version of its objects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Versioning {
    /// Never enabled: one version per key, `null`.
    #[default]
    Unversioned,
    Enabled,
    /// Enabled once, then suspended: new versions are `null` again, older
    /// ones are kept.
    Suspended,
}

/// PutBucketVersioning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketVersioningSet {
    pub versioning: Versioning,
    pub at: Timestamp,
}

/// One CORS rule of a bucket, as S3's CORSConfiguration holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    pub id: Option<String>,
    pub allowed_origins: Vec<String>,
    pub allowed_methods: Vec<String>,
    pub allowed_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_seconds: Option<i32>,
}

/// PutBucketCors (DeleteBucketCors: no rules).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketCorsSet {
    pub rules: Vec<CorsRule>,
    pub at: Timestamp,
}

/// PutBucketTagging (DeleteBucketTagging: no tags).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BucketTaggingSet {
    pub tags: Vec<(String, String)>,
    pub at: Timestamp,
}

/// A piece of an object's bytes: a blob of the object store (its SHA-256,
/// hex) and its length.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    pub blob: String,
    pub size: u64,
}

/// The standard headers S3 keeps with an object and gives back on GET.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<String>,
}

/// What PUT (or a copy, or a completed multipart upload) stores under a
/// key, apart from who and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectContent {
    /// The bytes, in order (one blob, or a multipart upload's parts).
    pub parts: Vec<BlobRef>,
    pub size: u64,
    /// As S3 computes it: the MD5 of the bytes in hex, or for a multipart
    /// upload the MD5 of its parts' MD5s, `-` and the part count.
    pub etag: String,
    pub headers: ObjectHeaders,
    /// `x-amz-meta-*`, names lowercase, in order.
    pub metadata: Vec<(String, String)>,
}

/// PutObject, CopyObject or CompleteMultipartUpload: a new version of
/// `key`. `version` is `null` unless the bucket's versioning is enabled;
/// a `null` version replaces the key's earlier `null` version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectStored {
    pub key: String,
    pub version: String,
    pub content: ObjectContent,
    pub acl: Acl,
    pub at: Timestamp,
}

/// DeleteObject without a version on a versioned (or suspended) bucket:
/// the key's latest version becomes a delete marker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeleteMarkerPlaced {
    pub key: String,
    pub version: String,
    pub account: AccountId,
    pub at: Timestamp,
}

/// DeleteObject of one version (or, on an unversioned bucket, of the key):
/// that version is gone for good.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectVersionDeleted {
    pub key: String,
    pub version: String,
    pub at: Timestamp,
}

/// PutObjectAcl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectAclSet {
    pub key: String,
    pub version: String,
    pub acl: Acl,
    pub at: Timestamp,
}

/// CreateMultipartUpload: what the object will be, but its bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultipartUploadStarted {
    pub upload: String,
    pub key: String,
    pub account: AccountId,
    pub headers: ObjectHeaders,
    pub metadata: Vec<(String, String)>,
    pub acl: Acl,
    pub at: Timestamp,
}

/// UploadPart (or UploadPartCopy): part `number`, replacing an earlier one
/// of the same number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultipartPartStored {
    pub upload: String,
    pub number: u32,
    pub part: BlobRef,
    /// The part's MD5, hex.
    pub etag: String,
    pub at: Timestamp,
}

/// CompleteMultipartUpload (with the [`ObjectStored`] it makes) or
/// AbortMultipartUpload: the upload is over.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultipartUploadEnded {
    pub upload: String,
    /// Completed (else aborted).
    pub completed: bool,
    pub at: Timestamp,
}
