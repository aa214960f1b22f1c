//! The S3 verbs that change buckets and objects, each decided by the
//! bucket's stream (CopyObject also reads the source's bucket). The ids
//! (version ids, upload ids) and times come with the command; the bytes
//! are already in the object store, named by [`BlobRef`]s.

use super::acl::*;
use super::events::*;
use super::names::BucketName;
use super::state::{Bucket, ObjectVersion};
use super::{MAX_PART_NUMBER, MIN_PART_BYTES, NULL_VERSION};
use crate::aggregate::StateView;
use crate::decide::{Decision, Events, Reply};
use crate::error::DecideError;
use crate::model::Timestamp;
use crate::stream::StreamId;

#[derive(Clone, Debug, PartialEq)]
pub struct CreateBucket {
    pub caller: Caller,
    pub bucket: BucketName,
    pub location: String,
    pub acl: AclRequest,
    pub at: Timestamp,
}

/// DeleteBucket, PutBucketVersioning, PutBucketCors and PutBucketTagging:
/// the bucket owner's alone.
#[derive(Clone, Debug, PartialEq)]
pub struct DeleteBucket {
    pub caller: Caller,
    pub bucket: BucketName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PutBucketAcl {
    pub caller: Caller,
    pub bucket: BucketName,
    pub acl: AclRequest,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PutBucketVersioning {
    pub caller: Caller,
    pub bucket: BucketName,
    /// Enabled or Suspended (a bucket never goes back to unversioned).
    pub versioning: Versioning,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PutBucketCors {
    pub caller: Caller,
    pub bucket: BucketName,
    /// None: DeleteBucketCors.
    pub rules: Vec<CorsRule>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PutBucketTagging {
    pub caller: Caller,
    pub bucket: BucketName,
    /// None: DeleteBucketTagging.
    pub tags: Vec<(String, String)>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PutObject {
    pub caller: Caller,
    pub bucket: BucketName,
    pub key: String,
    /// The version id it gets if the bucket's versioning is enabled.
    pub version: String,
    pub content: ObjectContent,
    pub acl: AclRequest,
    /// `If-None-Match: *`: only if the key has no current object.
    pub if_none_match: bool,
    /// `If-Match: ETAG` (`*`: any): only over a current object with that
    /// ETag (the hex digest, without quotes), so that a read-modify-write
    /// does not overwrite a change made in between.
    pub if_match: Option<String>,
    pub at: Timestamp,
}

/// An object version named by a request (`versionId` absent: the latest).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectRef {
    pub bucket: BucketName,
    pub key: String,
    pub version: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CopyObject {
    pub caller: Caller,
    pub bucket: BucketName,
    pub key: String,
    pub version: String,
    pub source: ObjectRef,
    /// `x-amz-metadata-directive: REPLACE`: these headers and metadata
    /// instead of the source's.
    pub replace: Option<(ObjectHeaders, Vec<(String, String)>)>,
    pub acl: AclRequest,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteObject {
    pub caller: Caller,
    pub bucket: BucketName,
    pub key: String,
    /// Delete this version for good (else: the key's delete, S3's way).
    pub version: Option<String>,
    /// The delete marker's version id, if one is placed.
    pub marker: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PutObjectAcl {
    pub caller: Caller,
    pub bucket: BucketName,
    pub key: String,
    pub version: Option<String>,
    pub acl: AclRequest,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateMultipartUpload {
    pub caller: Caller,
    pub bucket: BucketName,
    pub key: String,
    pub upload: String,
    pub headers: ObjectHeaders,
    pub metadata: Vec<(String, String)>,
    pub acl: AclRequest,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct UploadPart {
    pub caller: Caller,
    pub bucket: BucketName,
    pub key: String,
    pub upload: String,
    pub number: u32,
    pub part: BlobRef,
    /// The part's MD5, hex.
    pub etag: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CompleteMultipartUpload {
    pub caller: Caller,
    pub bucket: BucketName,
    pub key: String,
    pub upload: String,
    /// The parts the client lists, each with the ETag it was given.
    pub parts: Vec<(u32, String)>,
    /// The object's ETag, computed by the caller from the listed ETags
    /// (the decision checks them against the stored parts).
    pub etag: String,
    pub version: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AbortMultipartUpload {
    pub caller: Caller,
    pub bucket: BucketName,
    pub key: String,
    pub upload: String,
    pub at: Timestamp,
}

macro_rules! one_bucket {
    ($($command:ty),+) => {
        $(impl $command {
            pub fn streams(&self) -> Vec<StreamId> {
                vec![StreamId::bucket(&self.bucket)]
            }
        })+
    };
}

one_bucket!(
    CreateBucket,
    DeleteBucket,
    PutBucketAcl,
    PutBucketVersioning,
    PutBucketCors,
    PutBucketTagging,
    PutObject,
    DeleteObject,
    PutObjectAcl,
    CreateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload
);

impl CopyObject {
    pub fn streams(&self) -> Vec<StreamId> {
        let mut streams = vec![StreamId::bucket(&self.bucket)];
        if self.source.bucket != self.bucket {
            streams.push(StreamId::bucket(&self.source.bucket));
        }
        streams
    }
}

/// The bucket, if it exists (else NoSuchBucket).
fn live<'v>(view: &'v dyn StateView, name: &BucketName) -> Result<&'v Bucket, DecideError> {
    match view.bucket(name) {
        Some(b) if !b.deleted => Ok(b),
        _ => Err(DecideError::NoSuchBucket(name.clone())),
    }
}

/// The bucket, if `caller` may do what `permission` covers on it.
fn permitted<'v>(
    view: &'v dyn StateView,
    name: &BucketName,
    caller: &Caller,
    permission: Permission,
) -> Result<&'v Bucket, DecideError> {
    let bucket = live(view, name)?;
    if bucket.allows(caller, permission) {
        Ok(bucket)
    } else {
        Err(DecideError::AccessDenied(name.to_string()))
    }
}

/// The bucket, if `caller` is of its owner's account.
fn owned<'v>(view: &'v dyn StateView, name: &BucketName, caller: &Caller) -> Result<&'v Bucket, DecideError> {
    let bucket = live(view, name)?;
    if caller.account() == Some(&bucket.owner) {
        Ok(bucket)
    } else {
        Err(DecideError::AccessDenied(name.to_string()))
    }
}

/// Who owns what `caller` stores in `bucket`: the caller's account, or
/// the bucket owner's for an anonymous write to a public-read-write one.
fn writer(bucket: &Bucket, caller: &Caller) -> crate::ids::AccountId {
    caller.account().cloned().unwrap_or_else(|| bucket.owner.clone())
}

/// The version id a new object (or marker) gets in `bucket`.
fn next_version(bucket: &Bucket, fresh: &str) -> String {
    match bucket.versioning {
        Versioning::Enabled => fresh.to_owned(),
        Versioning::Unversioned | Versioning::Suspended => NULL_VERSION.to_owned(),
    }
}

pub(crate) fn create_bucket(c: &CreateBucket, view: &dyn StateView) -> Result<Events, DecideError> {
    let Some(account) = c.caller.account() else {
        return Err(DecideError::AccessDenied(c.bucket.to_string()));
    };
    let acl = Acl::new(&c.acl, account, account);
    let stream = StreamId::bucket(&c.bucket);
    let event = match view.bucket(&c.bucket) {
        None => BucketCreated {
            bucket: c.bucket.clone(),
            account: account.clone(),
            location: c.location.clone(),
            acl,
            at: c.at,
        }
        .into(),
        Some(b) if b.deleted => {
            BucketRecreated { account: account.clone(), location: c.location.clone(), acl, at: c.at }.into()
        }
        Some(b) if &b.owner == account => return Err(DecideError::BucketAlreadyOwnedByYou(c.bucket.clone())),
        Some(_) => return Err(DecideError::BucketAlreadyExists(c.bucket.clone())),
    };
    Ok(vec![(stream, event)])
}

pub(crate) fn delete_bucket(c: &DeleteBucket, view: &dyn StateView) -> Result<Events, DecideError> {
    let bucket = owned(view, &c.bucket, &c.caller)?;
    if !bucket.is_empty() {
        return Err(DecideError::BucketNotEmpty(c.bucket.clone()));
    }
    Ok(vec![(StreamId::bucket(&c.bucket), BucketDeleted { at: c.at }.into())])
}

pub(crate) fn put_bucket_acl(c: &PutBucketAcl, view: &dyn StateView) -> Result<Events, DecideError> {
    let bucket = permitted(view, &c.bucket, &c.caller, Permission::WriteAcp)?;
    let acl = Acl::new(&c.acl, &bucket.owner, &bucket.owner);
    Ok(vec![(StreamId::bucket(&c.bucket), BucketAclSet { acl, at: c.at }.into())])
}

pub(crate) fn put_bucket_versioning(
    c: &PutBucketVersioning,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let bucket = owned(view, &c.bucket, &c.caller)?;
    if c.versioning == Versioning::Unversioned {
        return Err(DecideError::InvalidBucketRequest(
            "versioning can be Enabled or Suspended, never turned off".to_owned(),
        ));
    }
    if bucket.versioning == c.versioning {
        return Ok(vec![]);
    }
    let event = BucketVersioningSet { versioning: c.versioning, at: c.at };
    Ok(vec![(StreamId::bucket(&c.bucket), event.into())])
}

pub(crate) fn put_bucket_cors(c: &PutBucketCors, view: &dyn StateView) -> Result<Events, DecideError> {
    owned(view, &c.bucket, &c.caller)?;
    let event = BucketCorsSet { rules: c.rules.clone(), at: c.at };
    Ok(vec![(StreamId::bucket(&c.bucket), event.into())])
}

pub(crate) fn put_bucket_tagging(c: &PutBucketTagging, view: &dyn StateView) -> Result<Events, DecideError> {
    owned(view, &c.bucket, &c.caller)?;
    let event = BucketTaggingSet { tags: c.tags.clone(), at: c.at };
    Ok(vec![(StreamId::bucket(&c.bucket), event.into())])
}

/// What S3 answers a write with: the new version's id only on a bucket
/// whose versioning is enabled (a suspended one stores `null` and says
/// nothing, as S3 does).
fn stored_reply(bucket: &Bucket, version: &str, etag: &str) -> Reply {
    Reply::Object {
        version: (bucket.versioning == Versioning::Enabled).then(|| version.to_owned()),
        delete_marker: false,
        etag: Some(etag.to_owned()),
    }
}

pub(crate) fn put_object(c: &PutObject, view: &dyn StateView) -> Result<Decision, DecideError> {
    let bucket = permitted(view, &c.bucket, &c.caller, Permission::Write)?;
    if c.if_none_match && bucket.latest(&c.key).is_some() {
        return Err(DecideError::PreconditionFailed(format!("{} exists", c.key)));
    }
    if let Some(expected) = &c.if_match {
        let current = bucket
            .latest(&c.key)
            .ok_or_else(|| DecideError::NoSuchKey { bucket: c.bucket.clone(), key: c.key.clone() })?;
        let etag = current.content.as_ref().map(|content| content.etag.as_str());
        if expected != "*" && etag != Some(expected.as_str()) {
            return Err(DecideError::PreconditionFailed(format!("{} has another ETag", c.key)));
        }
    }
    let owner = writer(bucket, &c.caller);
    let version = next_version(bucket, &c.version);
    let event = ObjectStored {
        key: c.key.clone(),
        version: version.clone(),
        content: c.content.clone(),
        acl: Acl::new(&c.acl, &owner, &bucket.owner),
        at: c.at,
    };
    let reply = stored_reply(bucket, &version, &c.content.etag);
    Ok(Decision { events: vec![(StreamId::bucket(&c.bucket), event.into())], reply })
}

/// The version `source` names, if `caller` may read it.
fn readable<'v>(
    view: &'v dyn StateView,
    source: &ObjectRef,
    caller: &Caller,
) -> Result<&'v ObjectVersion, DecideError> {
    let bucket = live(view, &source.bucket)?;
    let found = match &source.version {
        Some(v) => bucket.version(&source.key, v),
        None => bucket.latest(&source.key),
    };
    let Some(object) = found else {
        return Err(match &source.version {
            Some(v) => DecideError::NoSuchVersion { key: source.key.clone(), version: v.clone() },
            None => DecideError::NoSuchKey { bucket: source.bucket.clone(), key: source.key.clone() },
        });
    };
    if object.is_delete_marker() {
        return Err(DecideError::InvalidObjectRequest(format!("{} is a delete marker", source.key)));
    }
    if !object.acl.allows(caller, Permission::Read) {
        return Err(DecideError::AccessDenied(format!("{}/{}", source.bucket, source.key)));
    }
    Ok(object)
}

pub(crate) fn copy_object(c: &CopyObject, view: &dyn StateView) -> Result<Decision, DecideError> {
    crate::aggregate::need(view, c.streams())?;
    let source = readable(view, &c.source, &c.caller)?;
    let Some(mut content) = source.content.clone() else {
        return Err(DecideError::InvalidObjectRequest(format!("{} is a delete marker", c.source.key)));
    };
    let same = c.source.bucket == c.bucket && c.source.key == c.key && c.source.version.is_none();
    if same && c.replace.is_none() {
        return Err(DecideError::InvalidObjectRequest(
            "this copy request is illegal because it is trying to copy an object to itself without changing \
             the object's metadata"
                .to_owned(),
        ));
    }
    if let Some((headers, metadata)) = &c.replace {
        content.headers = headers.clone();
        content.metadata = metadata.clone();
    }
    let bucket = permitted(view, &c.bucket, &c.caller, Permission::Write)?;
    let owner = writer(bucket, &c.caller);
    let version = next_version(bucket, &c.version);
    let reply = stored_reply(bucket, &version, &content.etag);
    let event = ObjectStored {
        key: c.key.clone(),
        version,
        content,
        acl: Acl::new(&c.acl, &owner, &bucket.owner),
        at: c.at,
    };
    Ok(Decision { events: vec![(StreamId::bucket(&c.bucket), event.into())], reply })
}

pub(crate) fn delete_object(c: &DeleteObject, view: &dyn StateView) -> Result<Decision, DecideError> {
    let bucket = permitted(view, &c.bucket, &c.caller, Permission::Write)?;
    let stream = StreamId::bucket(&c.bucket);
    if let Some(version) = &c.version {
        let Some(found) = bucket.version(&c.key, version) else {
            if version != NULL_VERSION && bucket.versioning == Versioning::Unversioned {
                return Err(DecideError::NoSuchVersion { key: c.key.clone(), version: version.clone() });
            }
            // S3 answers a delete of a version that is not there as done.
            let reply = Reply::Object { version: Some(version.clone()), delete_marker: false, etag: None };
            return Ok(Decision { events: vec![], reply });
        };
        let reply = Reply::Object {
            version: Some(version.clone()),
            delete_marker: found.is_delete_marker(),
            etag: None,
        };
        let event = ObjectVersionDeleted { key: c.key.clone(), version: version.clone(), at: c.at };
        return Ok(Decision { events: vec![(stream, event.into())], reply });
    }
    if bucket.versioning == Versioning::Unversioned {
        let reply = Reply::Object { version: None, delete_marker: false, etag: None };
        if bucket.current(&c.key).is_none() {
            return Ok(Decision { events: vec![], reply });
        }
        let event = ObjectVersionDeleted { key: c.key.clone(), version: NULL_VERSION.to_owned(), at: c.at };
        return Ok(Decision { events: vec![(stream, event.into())], reply });
    }
    let version = next_version(bucket, &c.marker);
    let event = DeleteMarkerPlaced {
        key: c.key.clone(),
        version: version.clone(),
        account: writer(bucket, &c.caller),
        at: c.at,
    };
    let reply = Reply::Object { version: Some(version), delete_marker: true, etag: None };
    Ok(Decision { events: vec![(stream, event.into())], reply })
}

pub(crate) fn put_object_acl(c: &PutObjectAcl, view: &dyn StateView) -> Result<Events, DecideError> {
    let bucket = live(view, &c.bucket)?;
    let found = match &c.version {
        Some(v) => bucket.version(&c.key, v),
        None => bucket.latest(&c.key),
    };
    let Some(object) = found else {
        return Err(match &c.version {
            Some(v) => DecideError::NoSuchVersion { key: c.key.clone(), version: v.clone() },
            None => DecideError::NoSuchKey { bucket: c.bucket.clone(), key: c.key.clone() },
        });
    };
    if !object.acl.allows(&c.caller, Permission::WriteAcp) {
        return Err(DecideError::AccessDenied(format!("{}/{}", c.bucket, c.key)));
    }
    let acl = Acl::new(&c.acl, &object.owner, &bucket.owner);
    let event = ObjectAclSet { key: c.key.clone(), version: object.version.clone(), acl, at: c.at };
    Ok(vec![(StreamId::bucket(&c.bucket), event.into())])
}

pub(crate) fn create_multipart_upload(
    c: &CreateMultipartUpload,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let bucket = permitted(view, &c.bucket, &c.caller, Permission::Write)?;
    let owner = writer(bucket, &c.caller);
    let event = MultipartUploadStarted {
        upload: c.upload.clone(),
        key: c.key.clone(),
        account: owner.clone(),
        headers: c.headers.clone(),
        metadata: c.metadata.clone(),
        acl: Acl::new(&c.acl, &owner, &bucket.owner),
        at: c.at,
    };
    Ok(vec![(StreamId::bucket(&c.bucket), event.into())])
}

/// The upload `upload` of `key`, if `caller` may write to its bucket.
fn upload_of<'v>(
    view: &'v dyn StateView,
    name: &BucketName,
    caller: &Caller,
    key: &str,
    upload: &str,
) -> Result<(&'v Bucket, &'v super::state::Upload), DecideError> {
    let bucket = permitted(view, name, caller, Permission::Write)?;
    match bucket.uploads.get(upload) {
        Some(u) if u.key == key => Ok((bucket, u)),
        _ => Err(DecideError::NoSuchUpload(upload.to_owned())),
    }
}

pub(crate) fn upload_part(c: &UploadPart, view: &dyn StateView) -> Result<Events, DecideError> {
    upload_of(view, &c.bucket, &c.caller, &c.key, &c.upload)?;
    if !(1..=MAX_PART_NUMBER).contains(&c.number) {
        return Err(DecideError::InvalidObjectRequest(format!(
            "part number must be an integer between 1 and {MAX_PART_NUMBER}, not {}",
            c.number
        )));
    }
    let event = MultipartPartStored {
        upload: c.upload.clone(),
        number: c.number,
        part: c.part.clone(),
        etag: c.etag.clone(),
        at: c.at,
    };
    Ok(vec![(StreamId::bucket(&c.bucket), event.into())])
}

/// An ETag as a client sends it back: quotes optional.
fn bare(etag: &str) -> &str {
    etag.trim().trim_matches('"')
}

pub(crate) fn complete_multipart_upload(
    c: &CompleteMultipartUpload,
    view: &dyn StateView,
) -> Result<Decision, DecideError> {
    let (bucket, upload) = upload_of(view, &c.bucket, &c.caller, &c.key, &c.upload)?;
    if c.parts.is_empty() {
        return Err(DecideError::InvalidObjectRequest(
            "a multipart upload needs at least one part".to_owned(),
        ));
    }
    if c.parts.windows(2).any(|w| w[1].0 <= w[0].0) {
        return Err(DecideError::InvalidPartOrder);
    }
    let mut stored = Vec::with_capacity(c.parts.len());
    for (number, etag) in &c.parts {
        match upload.parts.get(number) {
            Some(part) if bare(etag) == part.etag => stored.push((*number, part)),
            _ => return Err(DecideError::InvalidPart { number: *number }),
        }
    }
    if let Some((number, _)) = stored.iter().rev().skip(1).find(|(_, p)| p.part.size < MIN_PART_BYTES) {
        return Err(DecideError::EntityTooSmall { number: *number });
    }
    let size = stored.iter().map(|(_, p)| p.part.size).sum();
    let parts = stored.into_iter().map(|(_, p)| p.part.clone()).collect();
    let version = next_version(bucket, &c.version);
    let stream = StreamId::bucket(&c.bucket);
    let stored = ObjectStored {
        key: c.key.clone(),
        version: version.clone(),
        content: ObjectContent {
            parts,
            size,
            etag: c.etag.clone(),
            headers: upload.headers.clone(),
            metadata: upload.metadata.clone(),
        },
        acl: upload.acl.clone(),
        at: c.at,
    };
    let ended = MultipartUploadEnded { upload: c.upload.clone(), completed: true, at: c.at };
    let reply = stored_reply(bucket, &version, &c.etag);
    Ok(Decision { events: vec![(stream.clone(), ended.into()), (stream, stored.into())], reply })
}

pub(crate) fn abort_multipart_upload(
    c: &AbortMultipartUpload,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    upload_of(view, &c.bucket, &c.caller, &c.key, &c.upload)?;
    let event = MultipartUploadEnded { upload: c.upload.clone(), completed: false, at: c.at };
    Ok(vec![(StreamId::bucket(&c.bucket), event.into())])
}
