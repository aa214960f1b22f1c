//! Objects: PUT (bytes to the object store first, then the command that
//! names them), GET and HEAD (ranges, conditions, the stored headers),
//! DELETE (one or many), COPY, ACLs, and the bucket listings.

use super::acl;
use super::checksum::Claimed;
use super::listing::{self, MAX_KEYS};
use super::read;
use super::{Walrus, Who, s3_time};
use domain::buckets::{
    BlobRef, CopyObject, DeleteObject, MAX_PUT_BYTES, ObjectContent, ObjectHeaders, ObjectRef, ObjectVersion,
    Permission, PutObject, PutObjectAcl, check_key,
};
use domain::{Command, Reply};
use futures::TryStreamExt as _;
use objectstore::{BlobId, WriteError};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

/// A fresh version (or upload) id: 32 random hex digits.
pub(crate) fn fresh_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(crate) fn bucket_name(name: &str) -> S3Result<domain::buckets::BucketName> {
    domain::buckets::BucketName::parse(name)
        .map_err(|why| S3Error::with_message(S3ErrorCode::InvalidBucketName, why))
}

pub(crate) fn key_ok(key: &str) -> S3Result<()> {
    check_key(key).map_err(|why| S3Error::with_message(S3ErrorCode::KeyTooLongError, why))
}

/// The standard headers a PUT (or copy, or upload) stores.
pub(crate) fn headers(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    content_disposition: Option<&str>,
    content_language: Option<&str>,
    cache_control: Option<&str>,
    expires: Option<&Timestamp>,
) -> ObjectHeaders {
    let expires = expires.and_then(|t| {
        let mut buf = Vec::new();
        t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
        String::from_utf8(buf).ok()
    });
    ObjectHeaders {
        content_type: content_type.map(str::to_owned),
        content_encoding: content_encoding.and_then(stored_encoding),
        content_disposition: content_disposition.map(str::to_owned),
        content_language: content_language.map(str::to_owned),
        cache_control: cache_control.map(str::to_owned),
        expires,
    }
}

/// The parts of a multipart upload's object (its ETag ends in `-N`, one
/// blob per part); `None` for any other object.
fn parts_count(content: &ObjectContent) -> Option<i32> {
    let (_, n) = content.etag.rsplit_once('-')?;
    let n: usize = n.parse().ok()?;
    (n == content.parts.len()).then_some(n as i32)
}

/// `partNumber` of GET and HEAD: the bytes of that part (`None`: the whole
/// object, part 1 of an object not uploaded in parts), and the parts count.
struct PartAsked {
    bytes: Option<std::ops::Range<u64>>,
    count: Option<i32>,
}

/// The part a GET or HEAD asks for, refusing a part and a range together
/// (S3 answers either, never both).
fn part_or_range(
    content: &ObjectContent,
    number: Option<i32>,
    range: Option<&Range>,
) -> S3Result<Option<PartAsked>> {
    if number.is_some() && range.is_some() {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter.",
        ));
    }
    part_of(content, number)
}

fn part_of(content: &ObjectContent, number: Option<i32>) -> S3Result<Option<PartAsked>> {
    let Some(number) = number else { return Ok(None) };
    let count = parts_count(content);
    let refused = || s3_error!(InvalidPart, "The requested partnumber is not satisfiable.");
    let index = usize::try_from(number).ok().and_then(|n| n.checked_sub(1)).ok_or_else(refused)?;
    match count {
        None if index == 0 => Ok(Some(PartAsked { bytes: None, count: None })),
        None => Err(refused()),
        Some(_) => {
            let part = content.parts.get(index).ok_or_else(refused)?;
            let start: u64 = content.parts[..index].iter().map(|p| p.size).sum();
            Ok(Some(PartAsked { bytes: Some(start..start + part.size), count }))
        }
    }
}

/// A `Content-Encoding` as stored: without `aws-chunked`, the upload's
/// own framing (S3 keeps `gzip` of `gzip, aws-chunked`, and nothing of
/// `aws-chunked` alone).
fn stored_encoding(value: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// [`headers`] of an s3s input that has the standard header fields.
macro_rules! headers_of {
    ($i:expr) => {
        $crate::s3::objects::headers(
            $i.content_type.as_deref(),
            $i.content_encoding.as_deref(),
            $i.content_disposition.as_deref(),
            $i.content_language.as_deref(),
            $i.cache_control.as_deref(),
            $i.expires.as_ref(),
        )
    };
}
pub(crate) use headers_of;

/// Refuses what an upload asks for that Walrus does not do, rather than
/// storing the object without it (a client asking for encryption, a
/// lock, tags or another storage class must not believe it has them):
/// server-side encryption (SSE-S3, SSE-KMS, SSE-C), object lock, object
/// tags, website redirects, and any storage class but STANDARD.
macro_rules! unsupported {
    ($i:expr) => {
        $crate::s3::objects::refuse_unsupported(
            $i.server_side_encryption.is_some()
                || $i.ssekms_key_id.is_some()
                || $i.sse_customer_algorithm.is_some()
                || $i.sse_customer_key.is_some(),
            $i.object_lock_mode.is_some()
                || $i.object_lock_retain_until_date.is_some()
                || $i.object_lock_legal_hold_status.is_some(),
            $i.tagging.is_some(),
            $i.website_redirect_location.is_some(),
            $i.storage_class.as_ref().map(|c| c.as_str()),
        )
    };
}
pub(crate) use unsupported;

pub(crate) fn refuse_unsupported(
    encryption: bool,
    lock: bool,
    tagging: bool,
    redirect: bool,
    storage_class: Option<&str>,
) -> S3Result<()> {
    if encryption {
        return Err(not_implemented("Server-side encryption"));
    }
    if lock {
        return Err(not_implemented("Object lock"));
    }
    if tagging {
        return Err(not_implemented("Object tagging"));
    }
    if redirect {
        return Err(not_implemented("Website redirects"));
    }
    match storage_class {
        None | Some("STANDARD") => Ok(()),
        Some(_) => Err(S3Error::with_message(
            S3ErrorCode::InvalidStorageClass,
            "The storage class you specified is not valid: this cloud stores objects as STANDARD only.",
        )),
    }
}

pub(crate) fn not_implemented(what: &str) -> S3Error {
    S3Error::with_message(
        S3ErrorCode::NotImplemented,
        format!("{what} is not implemented by this cloud's object storage."),
    )
}

/// `x-amz-meta-*`, names lowercase, sorted (so a stored object's metadata
/// does not depend on a hash map's order).
pub(crate) fn metadata(m: Option<&Metadata>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> =
        m.into_iter().flatten().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
    v.sort();
    v
}

fn to_metadata(m: &[(String, String)]) -> Option<Metadata> {
    (!m.is_empty()).then(|| m.iter().cloned().collect())
}

pub(crate) fn etag(value: &str) -> ETag {
    ETag::Strong(value.to_owned())
}

impl Walrus {
    /// Streams `body` into the object store: the blob, its MD5 (hex), a
    /// pin that keeps it from garbage collection until the command that
    /// names it is stored, and the checksum the client claimed, computed.
    /// Checks Content-Length, Content-MD5 and the claimed checksum.
    pub(crate) async fn store_body(
        &self,
        body: Option<StreamingBlob>,
        content_length: Option<i64>,
        content_md5: Option<&str>,
        claimed: Option<&Claimed>,
    ) -> S3Result<(BlobRef, String, objectstore::Pin, Option<Checksum>)> {
        if let Some(length) = content_length
            && u64::try_from(length).is_ok_and(|l| l > MAX_PUT_BYTES)
        {
            return Err(too_large());
        }
        let hasher = claimed.map(Claimed::hasher);
        let written = match body {
            Some(body) => {
                let fed = hasher.clone();
                let body = body.inspect_ok(move |bytes| {
                    if let Some(h) = &fed {
                        h.update(bytes);
                    }
                });
                self.blobs.put(body, MAX_PUT_BYTES).await
            }
            None => {
                self.blobs
                    .put(futures::stream::empty::<Result<bytes::Bytes, std::io::Error>>(), MAX_PUT_BYTES)
                    .await
            }
        };
        let written = written.map_err(|e| match e {
            WriteError::TooLarge { .. } => too_large(),
            // s3s checks a streamed body against its declared SHA-256.
            WriteError::Body(e) if e.to_string().contains("Sha256Mismatch") => {
                let mut error = S3Error::with_message(
                    S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                );
                error.set_status_code(axum::http::StatusCode::BAD_REQUEST);
                error
            }
            WriteError::Body(e) => S3Error::with_message(
                S3ErrorCode::IncompleteBody,
                format!("The request body could not be read: {e}"),
            ),
            WriteError::Io(e) => {
                tracing::error!(error = %e, "the object store could not store a body");
                S3Error::with_message(
                    S3ErrorCode::ServiceUnavailable,
                    "The object store cannot store data now.",
                )
            }
        })?;
        if let Some(length) = content_length
            && u64::try_from(length).ok() != Some(written.size)
        {
            return Err(S3Error::with_message(
                S3ErrorCode::IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ));
        }
        if let Some(expected) = content_md5 {
            use base64::Engine as _;
            let ok = base64::engine::general_purpose::STANDARD
                .decode(expected.trim())
                .is_ok_and(|d| d == written.md5);
            if !ok {
                return Err(S3Error::with_message(
                    S3ErrorCode::BadDigest,
                    "The Content-MD5 you specified did not match what we received.",
                ));
            }
        }
        let checksum = match (claimed, &hasher) {
            (Some(claim), Some(hasher)) => Some(claim.verify(hasher)?),
            _ => None,
        };
        let part = BlobRef { blob: written.id.to_string(), size: written.size };
        Ok((part, hex::encode(written.md5), written.pin, checksum))
    }

    /// The bytes `range` of an object made of `parts`, streamed from the
    /// object store.
    pub(crate) fn body(&self, parts: &[BlobRef], range: std::ops::Range<u64>) -> S3Result<StreamingBlob> {
        let mut pieces = Vec::new();
        let mut offset = 0u64;
        for p in parts {
            let (start, end) = (offset, offset + p.size);
            if end > range.start && start < range.end {
                let id: BlobId = p.blob.parse().map_err(|_| {
                    S3Error::with_message(
                        S3ErrorCode::InternalError,
                        "An object names a blob that is not one.",
                    )
                })?;
                pieces.push((id, Some(range.start.max(start) - start..range.end.min(end) - start)));
            }
            offset = end;
        }
        let stream = self.blobs.concat(pieces);
        Ok(StreamingBlob::wrap(sync_wrapper::SyncStream::new(stream)))
    }
}

fn too_large() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::EntityTooLarge,
        "Your proposed upload exceeds the maximum allowed object size (5 GiB).",
    )
}

/// If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since of
/// a GET or HEAD, as RFC 9110 orders them.
fn preconditions(
    v: &ObjectVersion,
    content: &ObjectContent,
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
    if_unmodified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let matches = |c: &ETagCondition| match c {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == content.etag,
    };
    let modified = v.modified.millis().div_euclid(1000);
    let secs = |t: &Timestamp| time::OffsetDateTime::from(t.clone()).unix_timestamp();
    if let Some(c) = if_match {
        if !matches(c) {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the preconditions you specified did not hold."
            ));
        }
    } else if let Some(t) = if_unmodified_since
        && modified > secs(t)
    {
        return Err(s3_error!(
            PreconditionFailed,
            "At least one of the preconditions you specified did not hold."
        ));
    }
    let not_modified = || {
        // A 304 still says which version the client has (RFC 9110).
        let mut e = S3Error::new(S3ErrorCode::NotModified);
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!("\"{}\"", content.etag)) {
            headers.insert(axum::http::header::ETAG, v);
        }
        e.set_headers(headers);
        e
    };
    if let Some(c) = if_none_match {
        if matches(c) {
            return Err(not_modified());
        }
    } else if let Some(t) = if_modified_since
        && modified <= secs(t)
    {
        return Err(not_modified());
    }
    Ok(())
}

/// The byte range a Range header asks of `size` bytes.
fn range_of(range: Option<&Range>, size: u64) -> S3Result<Option<std::ops::Range<u64>>> {
    match range {
        None => Ok(None),
        Some(r) => r.check(size).map(Some).map_err(|_| {
            S3Error::with_message(S3ErrorCode::InvalidRange, "The requested range is not satisfiable")
        }),
    }
}

/// S3's encoding of keys in listings asked with `encoding-type=url`.
fn encoder(encoding: Option<&EncodingType>) -> impl Fn(&str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
    let url = encoding.is_some_and(|e| e.as_str() == EncodingType::URL);
    move |s: &str| if url { percent_encoding::utf8_percent_encode(s, KEEP).to_string() } else { s.to_owned() }
}

fn listed(models: &projections::ReadModels, key: String, v: &ObjectVersion, with_owner: bool) -> Object {
    let content = v.content.as_ref();
    Object {
        e_tag: content.map(|c| etag(&c.etag)),
        key: Some(key),
        last_modified: Some(s3_time(v.modified)),
        owner: with_owner.then(|| acl::owner(models, &v.owner)),
        size: content.map(|c| c.size as i64),
        storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
        ..Default::default()
    }
}

fn max_keys(asked: Option<i32>) -> S3Result<usize> {
    match asked {
        None => Ok(MAX_KEYS),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative")),
        Some(n) => Ok((n as usize).min(MAX_KEYS)),
    }
}

fn delimiter_of(d: Option<&str>) -> Option<&str> {
    d.filter(|d| !d.is_empty())
}

fn prefixes(list: Vec<String>, encode: &impl Fn(&str) -> String) -> Option<CommonPrefixList> {
    (!list.is_empty()).then(|| list.iter().map(|p| CommonPrefix { prefix: Some(encode(p)) }).collect())
}

impl Walrus {
    pub(crate) async fn put_object_impl(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let claimed = Claimed::of_request(&req)?;
        let input = req.input;
        key_ok(&input.key)?;
        unsupported!(input)?;
        if input.write_offset_bytes.is_some() {
            return Err(not_implemented("Appending to an object (x-amz-write-offset-bytes)"));
        }
        let name = bucket_name(&input.bucket)?;
        {
            let models = self.app.projections.read();
            read::bucket_for(&models, &input.bucket, &who.caller, Permission::Write)?;
        }
        let acl = acl::requested_by!(input)?;
        // S3 takes `If-None-Match: *` alone on a PUT.
        let if_none_match = match &input.if_none_match {
            None => false,
            Some(ETagCondition::Any) => true,
            Some(ETagCondition::ETag(_)) => {
                return Err(not_implemented("If-None-Match with an ETag on a PUT (only `*`)"));
            }
        };
        let (part, md5, _pin, checksum) = self
            .store_body(input.body, input.content_length, input.content_md5.as_deref(), claimed.as_ref())
            .await?;
        let content = ObjectContent {
            size: part.size,
            parts: vec![part],
            etag: md5,
            headers: headers_of!(input),
            metadata: metadata(input.metadata.as_ref()),
        };
        let command = Command::PutObject(PutObject {
            caller: who.caller.clone(),
            bucket: name,
            key: input.key.clone(),
            version: fresh_id(),
            content,
            acl,
            if_none_match,
            if_match: input.if_match.as_ref().map(|c| match c {
                ETagCondition::Any => "*".to_owned(),
                ETagCondition::ETag(e) => e.value().to_owned(),
            }),
            at: crate::app::ids::now(),
        });
        let executed = self.execute(&who, command).await?;
        let Reply::Object { version, etag: Some(tag), .. } = executed.decision.reply else {
            return Err(S3Error::new(S3ErrorCode::InternalError));
        };
        let checksum = checksum.unwrap_or_default();
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&tag)),
            version_id: version,
            checksum_crc32: checksum.checksum_crc32,
            checksum_crc32c: checksum.checksum_crc32c,
            checksum_crc64nvme: checksum.checksum_crc64nvme,
            checksum_sha1: checksum.checksum_sha1,
            checksum_sha256: checksum.checksum_sha256,
            ..Default::default()
        }))
    }

    pub(crate) async fn get_object_impl(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let who = self.who(&req)?;
        let i = req.input;
        // One look at the read models: the version, its conditions, and
        // the version id S3 shows for it.
        let (content, version, last_modified) = {
            let models = self.app.projections.read();
            let bucket = read::bucket(&models, &i.bucket)?;
            let v = read::object(bucket, &i.key, i.version_id.as_deref(), &who.caller, Permission::Read)?;
            let content = v.content.clone().ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey))?;
            preconditions(
                v,
                &content,
                i.if_match.as_ref(),
                i.if_none_match.as_ref(),
                i.if_modified_since.as_ref(),
                i.if_unmodified_since.as_ref(),
            )?;
            (content, bucket.version_shown(&v.version), s3_time(v.modified))
        };
        let part = part_or_range(&content, i.part_number, i.range.as_ref())?;
        let range = match &part {
            Some(p) => p.bytes.clone(),
            None => range_of(i.range.as_ref(), content.size)?,
        };
        let bytes = range.clone().unwrap_or(0..content.size);
        let body = self.body(&content.parts, bytes.clone())?;
        let h = &content.headers;
        let output = GetObjectOutput {
            accept_ranges: Some("bytes".to_owned()),
            body: Some(body),
            cache_control: i.response_cache_control.or_else(|| h.cache_control.clone()),
            content_disposition: i.response_content_disposition.or_else(|| h.content_disposition.clone()),
            content_encoding: i.response_content_encoding.or_else(|| h.content_encoding.clone()),
            content_language: i.response_content_language.or_else(|| h.content_language.clone()),
            content_length: Some((bytes.end - bytes.start) as i64),
            content_range: range
                .map(|r| format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), content.size)),
            content_type: i
                .response_content_type
                .or_else(|| h.content_type.clone())
                .or_else(|| Some("binary/octet-stream".to_owned())),
            e_tag: Some(etag(&content.etag)),
            expires: i.response_expires.or_else(|| http_date(h.expires.as_deref())),
            last_modified: Some(last_modified),
            metadata: to_metadata(&content.metadata),
            parts_count: part.and_then(|p| p.count).or_else(|| parts_count(&content)),
            version_id: version,
            ..Default::default()
        };
        let partial = output.content_range.is_some();
        let mut response = S3Response::new(output);
        if partial {
            response.status = Some(axum::http::StatusCode::PARTIAL_CONTENT);
        }
        Ok(response)
    }

    pub(crate) async fn head_object_impl(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let who = self.who(&req)?;
        let i = req.input;
        let models = self.app.projections.read();
        let bucket = read::bucket(&models, &i.bucket)?;
        let v = read::object(bucket, &i.key, i.version_id.as_deref(), &who.caller, Permission::Read)?;
        let content = v.content.as_ref().ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey))?;
        preconditions(
            v,
            content,
            i.if_match.as_ref(),
            i.if_none_match.as_ref(),
            i.if_modified_since.as_ref(),
            i.if_unmodified_since.as_ref(),
        )?;
        let part = part_or_range(content, i.part_number, i.range.as_ref())?;
        let range = match &part {
            Some(p) => p.bytes.clone(),
            None => range_of(i.range.as_ref(), content.size)?,
        };
        let h = &content.headers;
        let length = range.as_ref().map_or(content.size, |r| r.end - r.start);
        Ok(S3Response::new(HeadObjectOutput {
            accept_ranges: Some("bytes".to_owned()),
            cache_control: h.cache_control.clone(),
            content_disposition: h.content_disposition.clone(),
            content_encoding: h.content_encoding.clone(),
            content_language: h.content_language.clone(),
            content_length: Some(length as i64),
            content_range: range
                .map(|r| format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), content.size)),
            content_type: h.content_type.clone().or_else(|| Some("binary/octet-stream".to_owned())),
            e_tag: Some(etag(&content.etag)),
            expires: http_date(h.expires.as_deref()),
            last_modified: Some(s3_time(v.modified)),
            metadata: to_metadata(&content.metadata),
            parts_count: part.and_then(|p| p.count).or_else(|| parts_count(content)),
            version_id: bucket.version_shown(&v.version),
            ..Default::default()
        }))
    }

    pub(crate) async fn delete_object_impl(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let (version, delete_marker) = self.delete_one(&who, &i.bucket, &i.key, i.version_id).await?;
        Ok(S3Response::new(DeleteObjectOutput {
            delete_marker: delete_marker.then_some(true),
            version_id: version,
            ..Default::default()
        }))
    }

    async fn delete_one(
        &self,
        who: &Who,
        bucket: &str,
        key: &str,
        version: Option<String>,
    ) -> S3Result<(Option<String>, bool)> {
        key_ok(key)?;
        let command = Command::DeleteObject(DeleteObject {
            caller: who.caller.clone(),
            bucket: bucket_name(bucket)?,
            key: key.to_owned(),
            version,
            marker: fresh_id(),
            at: crate::app::ids::now(),
        });
        let executed = self.execute(who, command).await?;
        match executed.decision.reply {
            Reply::Object { version, delete_marker, .. } => Ok((version, delete_marker)),
            _ => Err(S3Error::new(S3ErrorCode::InternalError)),
        }
    }

    pub(crate) async fn delete_objects_impl(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        if i.delete.objects.len() > 1000 {
            return Err(s3_error!(MalformedXML, "A DeleteObjects request names at most 1000 keys."));
        }
        let quiet = i.delete.quiet.unwrap_or(false);
        let (mut deleted, mut errors) = (Vec::new(), Vec::new());
        for object in i.delete.objects {
            match self.delete_one(&who, &i.bucket, &object.key, object.version_id.clone()).await {
                Ok((version, marker)) => {
                    if !quiet {
                        deleted.push(DeletedObject {
                            delete_marker: marker.then_some(true),
                            delete_marker_version_id: if marker { version.clone() } else { None },
                            key: Some(object.key),
                            version_id: if marker { None } else { object.version_id.or(version) },
                        });
                    }
                }
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(object.key),
                    message: e.message().map(str::to_owned),
                    version_id: object.version_id,
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!deleted.is_empty()).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    pub(crate) async fn copy_object_impl(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        key_ok(&i.key)?;
        unsupported!(i)?;
        let CopySource::Bucket { bucket: source_bucket, key: source_key, version_id } = &i.copy_source else {
            return Err(s3_error!(NotImplemented, "Access point copy sources are not supported."));
        };
        let source = ObjectRef {
            bucket: bucket_name(source_bucket)?,
            key: source_key.to_string(),
            version: version_id.as_deref().map(str::to_owned),
        };
        {
            let models = self.app.projections.read();
            let bucket = read::bucket(&models, source_bucket)?;
            let v = read::object(bucket, source_key, version_id.as_deref(), &who.caller, Permission::Read)?;
            let content = v.content.as_ref().ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey))?;
            copy_preconditions(v, content, &i)?;
        }
        let replace = i
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE)
            .then(|| (headers_of!(i), metadata(i.metadata.as_ref())));
        let acl = acl::requested_by!(i)?;
        let at = crate::app::ids::now();
        let command = Command::CopyObject(CopyObject {
            caller: who.caller.clone(),
            bucket: bucket_name(&i.bucket)?,
            key: i.key.clone(),
            version: fresh_id(),
            source,
            replace,
            acl,
            at,
        });
        let executed = self.execute(&who, command).await?;
        let Reply::Object { version, etag: tag, .. } = executed.decision.reply else {
            return Err(S3Error::new(S3ErrorCode::InternalError));
        };
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: tag.as_deref().map(etag),
                last_modified: Some(s3_time(at)),
                ..Default::default()
            }),
            copy_source_version_id: version_id.as_deref().map(str::to_owned),
            version_id: version,
            ..Default::default()
        }))
    }

    pub(crate) async fn get_object_acl_impl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let who = self.who(&req)?;
        let i = req.input;
        let models = self.app.projections.read();
        let bucket = read::bucket(&models, &i.bucket)?;
        let v = read::object(bucket, &i.key, i.version_id.as_deref(), &who.caller, Permission::ReadAcp)?;
        Ok(S3Response::new(GetObjectAclOutput {
            grants: Some(acl::grants(&models, &v.acl)),
            owner: Some(acl::owner(&models, &v.owner)),
            ..Default::default()
        }))
    }

    pub(crate) async fn put_object_acl_impl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let acl = acl::requested_by!(i, write, i.access_control_policy.as_ref())?;
        let command = Command::PutObjectAcl(PutObjectAcl {
            caller: who.caller.clone(),
            bucket: bucket_name(&i.bucket)?,
            key: i.key.clone(),
            version: i.version_id,
            acl,
            at: crate::app::ids::now(),
        });
        self.execute(&who, command).await?;
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }

    pub(crate) async fn list_objects_impl(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let who = self.who(&req)?;
        let i = req.input;
        let models = self.app.projections.read();
        let bucket = read::bucket_for(&models, &i.bucket, &who.caller, Permission::Read)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let max = max_keys(i.max_keys)?;
        let page =
            listing::objects(bucket, &prefix, delimiter_of(i.delimiter.as_deref()), i.marker.as_deref(), max);
        let encode = encoder(i.encoding_type.as_ref());
        let truncated = page.truncated();
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(i.bucket.clone()),
            prefix: Some(encode(&prefix)),
            marker: Some(encode(i.marker.as_deref().unwrap_or(""))),
            max_keys: Some(max as i32),
            is_truncated: Some(truncated),
            contents: Some(page.entries.iter().map(|(k, v)| listed(&models, encode(k), v, true)).collect()),
            common_prefixes: prefixes(page.prefixes, &encode),
            delimiter: delimiter_of(i.delimiter.as_deref()).map(&encode),
            next_marker: page.next.as_deref().map(&encode),
            encoding_type: i.encoding_type.clone(),
            ..Default::default()
        }))
    }

    pub(crate) async fn list_objects_v2_impl(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let who = self.who(&req)?;
        let i = req.input;
        let models = self.app.projections.read();
        let bucket = read::bucket_for(&models, &i.bucket, &who.caller, Permission::Read)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let max = max_keys(i.max_keys)?;
        let after = match &i.continuation_token {
            Some(token) => Some(decode_token(token)?),
            None => i.start_after.clone(),
        };
        let page =
            listing::objects(bucket, &prefix, delimiter_of(i.delimiter.as_deref()), after.as_deref(), max);
        let encode = encoder(i.encoding_type.as_ref());
        let with_owner = i.fetch_owner.unwrap_or(false);
        let count = page.entries.len() + page.prefixes.len();
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket.clone()),
            prefix: Some(encode(&prefix)),
            max_keys: Some(max as i32),
            key_count: Some(count as i32),
            continuation_token: i.continuation_token.clone(),
            is_truncated: Some(page.truncated()),
            next_continuation_token: page.next.as_deref().map(encode_token),
            contents: Some(
                page.entries.iter().map(|(k, v)| listed(&models, encode(k), v, with_owner)).collect(),
            ),
            common_prefixes: prefixes(page.prefixes, &encode),
            delimiter: delimiter_of(i.delimiter.as_deref()).map(&encode),
            encoding_type: i.encoding_type.clone(),
            start_after: i.start_after.as_deref().map(&encode),
            ..Default::default()
        }))
    }

    pub(crate) async fn list_object_versions_impl(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let who = self.who(&req)?;
        let i = req.input;
        let models = self.app.projections.read();
        let bucket = read::bucket_for(&models, &i.bucket, &who.caller, Permission::Read)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let max = max_keys(i.max_keys)?;
        let (page, next_version) = listing::versions(
            bucket,
            &prefix,
            delimiter_of(i.delimiter.as_deref()),
            i.key_marker.as_deref(),
            i.version_id_marker.as_deref(),
            max,
        );
        let encode = encoder(i.encoding_type.as_ref());
        let (mut versions, mut markers) = (Vec::new(), Vec::new());
        for (key, v, latest) in &page.entries {
            let owner = Some(acl::owner(&models, &v.owner));
            match &v.content {
                Some(c) => versions.push(s3s::dto::ObjectVersion {
                    e_tag: Some(etag(&c.etag)),
                    is_latest: Some(*latest),
                    key: Some(encode(key)),
                    last_modified: Some(s3_time(v.modified)),
                    owner,
                    size: Some(c.size as i64),
                    storage_class: Some(ObjectVersionStorageClass::from_static(
                        ObjectVersionStorageClass::STANDARD,
                    )),
                    version_id: Some(v.version.clone()),
                    ..Default::default()
                }),
                None => markers.push(DeleteMarkerEntry {
                    is_latest: Some(*latest),
                    key: Some(encode(key)),
                    last_modified: Some(s3_time(v.modified)),
                    owner,
                    version_id: Some(v.version.clone()),
                }),
            }
        }
        let truncated = page.truncated();
        let next_version = if truncated {
            next_version.or_else(|| {
                page.entries
                    .last()
                    .filter(|(k, _, _)| Some(*k) == page.next.as_deref())
                    .map(|(_, v, _)| v.version.clone())
            })
        } else {
            None
        };
        Ok(S3Response::new(ListObjectVersionsOutput {
            common_prefixes: prefixes(page.prefixes, &encode),
            delete_markers: (!markers.is_empty()).then_some(markers),
            delimiter: delimiter_of(i.delimiter.as_deref()).map(&encode),
            encoding_type: i.encoding_type.clone(),
            is_truncated: Some(truncated),
            key_marker: Some(encode(i.key_marker.as_deref().unwrap_or(""))),
            max_keys: Some(max as i32),
            name: Some(i.bucket.clone()),
            next_key_marker: page.next.as_deref().map(&encode),
            next_version_id_marker: next_version,
            prefix: Some(encode(&prefix)),
            version_id_marker: Some(i.version_id_marker.unwrap_or_default()),
            versions: (!versions.is_empty()).then_some(versions),
            ..Default::default()
        }))
    }
}

fn http_date(s: Option<&str>) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, s?).ok()
}

fn copy_preconditions(v: &ObjectVersion, content: &ObjectContent, i: &CopyObjectInput) -> S3Result<()> {
    let failed =
        || s3_error!(PreconditionFailed, "At least one of the preconditions you specified did not hold.");
    let same = |c: &ETagCondition| match c {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value() == content.etag,
    };
    let modified = v.modified.millis().div_euclid(1000);
    let secs = |t: &Timestamp| time::OffsetDateTime::from(t.clone()).unix_timestamp();
    if i.copy_source_if_match.as_ref().is_some_and(|c| !same(c))
        || i.copy_source_if_none_match.as_ref().is_some_and(same)
        || i.copy_source_if_unmodified_since.as_ref().is_some_and(|t| modified > secs(t))
        || i.copy_source_if_modified_since.as_ref().is_some_and(|t| modified <= secs(t))
    {
        return Err(failed());
    }
    Ok(())
}

/// ListObjectsV2's continuation token: the key (or common prefix) the
/// page ended on, opaque to the client.
fn encode_token(after: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(after)
}

fn decode_token(token: &str) -> S3Result<String> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))
}
