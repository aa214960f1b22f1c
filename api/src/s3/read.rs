//! The read side of Walrus: buckets and object versions looked up in the
//! read models, with S3's answers for what is missing and the same ACL
//! check the domain applies to writes.

use domain::buckets::{Bucket, Caller, ObjectVersion, Permission};
use projections::ReadModels;
use s3s::access::{S3Access, S3AccessContext};
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

/// s3s's access hook lets every request through, signed or not, once
/// what it must have signed is signed ([`super::signed`]): each
/// operation applies the ACLs of what it touches (anonymous requests get
/// only what `AllUsers` is granted).
pub(crate) struct Anyone;

#[async_trait::async_trait]
impl S3Access for Anyone {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let signed = cx.credentials().is_some()
            || cx.extensions_mut().get::<super::prefixed::Verified>().is_some()
            || cx.extensions_mut().get::<super::InProcess>().is_some();
        super::signed::check(cx.uri(), cx.headers(), signed)
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
        None => bucket.latest(key).ok_or_else(|| no_such_key(bucket, key))?,
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

/// NoSuchKey, saying (as S3 does, in `x-amz-delete-marker`) whether the
/// key's current version is a delete marker, and naming the marker.
fn no_such_key(bucket: &Bucket, key: &str) -> S3Error {
    let mut error = S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist.");
    let marker = bucket.current(key).filter(|v| v.is_delete_marker());
    let mut headers = axum::http::HeaderMap::new();
    let flag = if marker.is_some() { "true" } else { "false" };
    headers.insert("x-amz-delete-marker", axum::http::HeaderValue::from_static(flag));
    if let Some(version) = marker.and_then(|m| bucket.version_shown(&m.version))
        && let Ok(value) = axum::http::HeaderValue::from_str(&version)
    {
        headers.insert("x-amz-version-id", value);
    }
    error.set_headers(headers);
    error
}
