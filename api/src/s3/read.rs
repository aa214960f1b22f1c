//! The read side of Walrus: buckets and object versions looked up in the
//! read models, with S3's answers for what is missing and the same ACL
//! check the domain applies to writes.

use domain::buckets::{Bucket, Caller, ObjectVersion, Permission};
use projections::ReadModels;
use s3s::access::{S3Access, S3AccessContext};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

/// s3s's access hook lets every request through, signed or not: each
/// operation applies the ACLs of what it touches (anonymous requests get
/// only what `AllUsers` is granted).
pub(crate) struct Anyone;

#[async_trait::async_trait]
impl S3Access for Anyone {
    async fn check(&self, _cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        Ok(())
    }
}

/// A bucket that exists, or NoSuchBucket.
pub(crate) fn bucket<'m>(models: &'m ReadModels, name: &str) -> S3Result<&'m Bucket> {
    models.buckets.bucket(name).ok_or_else(|| no_such_bucket(name))
}

pub(crate) fn no_such_bucket(name: &str) -> S3Error {
    S3Error::with_message(S3ErrorCode::NoSuchBucket, format!("The bucket {name} does not exist."))
}

/// A bucket `caller` may do `permission` on.
pub(crate) fn bucket_for<'m>(
    models: &'m ReadModels,
    name: &str,
    caller: &Caller,
    permission: Permission,
) -> S3Result<&'m Bucket> {
    let b = bucket(models, name)?;
    if b.allows(caller, permission) { Ok(b) } else { Err(denied()) }
}

/// The bucket of its owner's account (bucket configuration is the
/// owner's alone).
pub(crate) fn owned_bucket<'m>(models: &'m ReadModels, name: &str, caller: &Caller) -> S3Result<&'m Bucket> {
    let b = bucket(models, name)?;
    if caller.account() == Some(&b.owner) { Ok(b) } else { Err(denied()) }
}

pub(crate) fn denied() -> S3Error {
    s3_error!(AccessDenied, "Access Denied")
}

/// The version of `key` a request names (`None`: the latest), if
/// `caller` may do `permission` on it.
pub(crate) fn object<'m>(
    bucket: &'m Bucket,
    key: &str,
    version: Option<&str>,
    caller: &Caller,
    permission: Permission,
) -> S3Result<&'m ObjectVersion> {
    let found = match version {
        Some(v) => bucket.version(key, v).ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::NoSuchVersion, "The specified version does not exist.")
        })?,
        None => bucket.latest(key).ok_or_else(|| {
            S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
        })?,
    };
    if found.is_delete_marker() {
        // GET of a delete marker by version id is 405 in S3; without one
        // the key is simply not there.
        return Err(S3Error::with_message(
            S3ErrorCode::MethodNotAllowed,
            "The specified method is not allowed against this resource.",
        ));
    }
    if !found.acl.allows(caller, permission) {
        return Err(denied());
    }
    Ok(found)
}
