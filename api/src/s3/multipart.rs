//! Multipart uploads: each part a blob of its own (streamed in, or copied
//! from another object's range), the object made of the listed parts in
//! order without copying them, its ETag the MD5 of their MD5s and `-N`.

use super::acl;
use super::checksum::Claimed;
use super::listing;
use super::objects::{bucket_name, etag, fresh_id, headers_of, key_ok, metadata, unsupported};
use super::read;
use super::{Walrus, s3_time};
use domain::Command;
use domain::buckets::{
    AbortMultipartUpload, CompleteMultipartUpload, CreateMultipartUpload, MAX_PART_NUMBER, MAX_PUT_BYTES,
    Permission, UploadPart,
};
use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

fn part_number(n: i32) -> S3Result<u32> {
    u32::try_from(n).ok().filter(|n| (1..=MAX_PART_NUMBER).contains(n)).ok_or_else(|| {
        s3_error!(InvalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
    })
}

/// The ETag of an object made of parts with these ETags (hex MD5s).
fn multipart_etag(etags: &[String]) -> S3Result<String> {
    let mut md5 = Md5::new();
    for e in etags {
        let raw = hex::decode(e.trim().trim_matches('"')).map_err(|_| {
            S3Error::with_message(S3ErrorCode::InvalidPart, format!("{e} is not an ETag of a part."))
        })?;
        md5.update(raw);
    }
    Ok(format!("{}-{}", hex::encode(md5.finalize()), etags.len()))
}

impl Walrus {
    pub(crate) async fn create_multipart_upload_impl(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        key_ok(&i.key)?;
        unsupported!(i)?;
        let acl = acl::requested_by!(i)?;
        let upload = fresh_id();
        let command = Command::CreateMultipartUpload(CreateMultipartUpload {
            caller: who.caller.clone(),
            bucket: bucket_name(&i.bucket)?,
            key: i.key.clone(),
            upload: upload.clone(),
            headers: headers_of!(i),
            metadata: metadata(i.metadata.as_ref()),
            acl,
            at: crate::app::ids::now(),
        });
        self.execute(&who, command).await?;
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(upload),
            ..Default::default()
        }))
    }

    /// Refuses a part for an upload that is not there before its bytes
    /// are read.
    fn upload_exists(&self, who: &super::Who, bucket: &str, key: &str, upload: &str) -> S3Result<()> {
        let models = self.app.projections.read();
        let b = read::bucket_for(&models, bucket, &who.caller, Permission::Write)?;
        match b.uploads.get(upload) {
            Some(u) if u.key == key => Ok(()),
            _ => Err(no_such_upload()),
        }
    }

    pub(crate) async fn upload_part_impl(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let claimed = Claimed::of_request(&req)?;
        let i = req.input;
        let number = part_number(i.part_number)?;
        self.upload_exists(&who, &i.bucket, &i.key, &i.upload_id)?;
        let (part, md5, _pin, checksum) =
            self.store_body(i.body, i.content_length, i.content_md5.as_deref(), claimed.as_ref()).await?;
        self.record_part(&who, &i.bucket, &i.key, &i.upload_id, number, part, md5.clone()).await?;
        let checksum = checksum.unwrap_or_default();
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(etag(&md5)),
            checksum_crc32: checksum.checksum_crc32,
            checksum_crc32c: checksum.checksum_crc32c,
            checksum_crc64nvme: checksum.checksum_crc64nvme,
            checksum_sha1: checksum.checksum_sha1,
            checksum_sha256: checksum.checksum_sha256,
            ..Default::default()
        }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_part(
        &self,
        who: &super::Who,
        bucket: &str,
        key: &str,
        upload: &str,
        number: u32,
        part: domain::buckets::BlobRef,
        md5: String,
    ) -> S3Result<()> {
        let command = Command::UploadPart(UploadPart {
            caller: who.caller.clone(),
            bucket: bucket_name(bucket)?,
            key: key.to_owned(),
            upload: upload.to_owned(),
            number,
            part,
            etag: md5,
            at: crate::app::ids::now(),
        });
        self.execute(who, command).await.map(|_| ())
    }

    pub(crate) async fn upload_part_copy_impl(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let number = part_number(i.part_number)?;
        self.upload_exists(&who, &i.bucket, &i.key, &i.upload_id)?;
        let CopySource::Bucket { bucket: source_bucket, key: source_key, version_id } = &i.copy_source else {
            return Err(s3_error!(NotImplemented, "Access point copy sources are not supported."));
        };
        let content = {
            let models = self.app.projections.read();
            let b = read::bucket(&models, source_bucket)?;
            let v = read::object(b, source_key, version_id.as_deref(), &who.caller, Permission::Read)?;
            v.content.clone().ok_or_else(|| S3Error::new(S3ErrorCode::NoSuchKey))?
        };
        let range = match i.copy_source_range.as_deref() {
            None => 0..content.size,
            Some(r) => copy_range(r, content.size)?,
        };
        if range.end - range.start > MAX_PUT_BYTES {
            return Err(s3_error!(EntityTooLarge, "A part is at most 5 GiB."));
        }
        let body = self.body(&content.parts, range.clone())?;
        let (part, md5, _pin, _) =
            self.store_body(Some(body), Some((range.end - range.start) as i64), None, None).await?;
        self.record_part(&who, &i.bucket, &i.key, &i.upload_id, number, part, md5.clone()).await?;
        Ok(S3Response::new(UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(etag(&md5)),
                last_modified: Some(s3_time(crate::app::ids::now())),
                ..Default::default()
            }),
            copy_source_version_id: version_id.as_deref().map(str::to_owned),
            ..Default::default()
        }))
    }

    pub(crate) async fn complete_multipart_upload_impl(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let mut parts = Vec::new();
        for p in i.multipart_upload.and_then(|m| m.parts).unwrap_or_default() {
            let number = part_number(p.part_number.unwrap_or(0))?;
            let tag = p.e_tag.map(|e| e.value().to_owned()).unwrap_or_default();
            parts.push((number, tag));
        }
        if parts.is_empty() {
            return Err(s3_error!(MalformedXML, "You must specify at least one part"));
        }
        let etags: Vec<String> = parts.iter().map(|(_, e)| e.clone()).collect();
        let object_etag = multipart_etag(&etags)?;
        let command = Command::CompleteMultipartUpload(CompleteMultipartUpload {
            caller: who.caller.clone(),
            bucket: bucket_name(&i.bucket)?,
            key: i.key.clone(),
            upload: i.upload_id.clone(),
            parts,
            etag: object_etag.clone(),
            version: fresh_id(),
            at: crate::app::ids::now(),
        });
        let executed = self.execute(&who, command).await?;
        let version = match executed.decision.reply {
            domain::Reply::Object { version, .. } => version,
            _ => None,
        };
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(i.bucket.clone()),
            e_tag: Some(etag(&object_etag)),
            key: Some(i.key.clone()),
            location: Some(format!("/{}/{}", i.bucket, i.key)),
            version_id: version,
            ..Default::default()
        }))
    }

    pub(crate) async fn abort_multipart_upload_impl(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let who = self.who(&req)?;
        who.changing()?;
        let i = req.input;
        let command = Command::AbortMultipartUpload(AbortMultipartUpload {
            caller: who.caller.clone(),
            bucket: bucket_name(&i.bucket)?,
            key: i.key.clone(),
            upload: i.upload_id.clone(),
            at: crate::app::ids::now(),
        });
        self.execute(&who, command).await?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }

    pub(crate) async fn list_parts_impl(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let who = self.who(&req)?;
        let i = req.input;
        let models = self.app.projections.read();
        let b = read::bucket_for(&models, &i.bucket, &who.caller, Permission::Write)?;
        let upload = b.uploads.get(&i.upload_id).filter(|u| u.key == i.key).ok_or_else(no_such_upload)?;
        let max = i.max_parts.map_or(1000, |m| m.clamp(0, 1000) as usize);
        let after = i.part_number_marker.unwrap_or(0).max(0) as u32;
        let mut parts: Vec<Part> = upload
            .parts
            .range(after + 1..)
            .map(|(n, p)| Part {
                e_tag: Some(etag(&p.etag)),
                last_modified: Some(s3_time(p.at)),
                part_number: Some(*n as i32),
                size: Some(p.part.size as i64),
                ..Default::default()
            })
            .take(max + 1)
            .collect();
        let truncated = parts.len() > max;
        parts.truncate(max);
        let next = parts.last().and_then(|p| p.part_number).filter(|_| truncated);
        let owner = acl::owner(&models, &upload.account);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(i.bucket.clone()),
            initiator: Some(Initiator { display_name: owner.display_name.clone(), id: owner.id.clone() }),
            is_truncated: Some(truncated),
            key: Some(i.key.clone()),
            max_parts: Some(max as i32),
            next_part_number_marker: next,
            owner: Some(owner),
            part_number_marker: i.part_number_marker,
            parts: Some(parts),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            upload_id: Some(i.upload_id.clone()),
            ..Default::default()
        }))
    }

    pub(crate) async fn list_multipart_uploads_impl(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let who = self.who(&req)?;
        let i = req.input;
        let models = self.app.projections.read();
        let b = read::bucket_for(&models, &i.bucket, &who.caller, Permission::Read)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let max = i.max_uploads.map_or(1000, |m| m.clamp(0, 1000) as usize);
        let (uploads, truncated) =
            listing::uploads(b, &prefix, i.key_marker.as_deref(), i.upload_id_marker.as_deref(), max);
        let last = uploads.last().map(|(id, u)| (u.key.clone(), (*id).to_owned()));
        let list = uploads
            .iter()
            .map(|(id, u)| {
                let owner = acl::owner(&models, &u.account);
                MultipartUpload {
                    initiated: Some(s3_time(u.initiated)),
                    initiator: Some(Initiator {
                        display_name: owner.display_name.clone(),
                        id: owner.id.clone(),
                    }),
                    key: Some(u.key.clone()),
                    owner: Some(owner),
                    storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
                    upload_id: Some((*id).to_owned()),
                    ..Default::default()
                }
            })
            .collect();
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(i.bucket.clone()),
            delimiter: i.delimiter.clone(),
            is_truncated: Some(truncated),
            key_marker: i.key_marker.clone(),
            max_uploads: Some(max as i32),
            next_key_marker: last.as_ref().filter(|_| truncated).map(|(k, _)| k.clone()),
            next_upload_id_marker: last.filter(|_| truncated).map(|(_, id)| id),
            prefix: i.prefix.clone(),
            upload_id_marker: i.upload_id_marker.clone(),
            uploads: Some(list),
            ..Default::default()
        }))
    }
}

fn no_such_upload() -> S3Error {
    S3Error::with_message(
        S3ErrorCode::NoSuchUpload,
        "The specified multipart upload does not exist. The upload ID might be invalid, or the multipart upload might have been aborted or completed.",
    )
}

/// `bytes=first-last` of a source of `size` bytes.
fn copy_range(r: &str, size: u64) -> S3Result<std::ops::Range<u64>> {
    let bad = || {
        s3_error!(
            InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
        )
    };
    let (first, last) = r.strip_prefix("bytes=").and_then(|s| s.split_once('-')).ok_or_else(bad)?;
    let first: u64 = first.parse().map_err(|_| bad())?;
    let last: u64 = last.parse().map_err(|_| bad())?;
    if first > last || last >= size {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRange,
            "The requested range is not satisfiable",
        ));
    }
    Ok(first..last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_etags_are_the_md5_of_the_parts_md5s() {
        // Two parts whose MD5s are those of "a" and "b".
        let a = hex::encode(Md5::digest(b"a"));
        let b = hex::encode(Md5::digest(b"b"));
        let mut both = Md5::digest(b"a").to_vec();
        both.extend(Md5::digest(b"b"));
        let expected = format!("{}-2", hex::encode(Md5::digest(&both)));
        assert_eq!(multipart_etag(&[format!("\"{a}\""), b]).unwrap(), expected);
        assert!(multipart_etag(&["zz".into()]).is_err());
    }

    #[test]
    fn copy_ranges_are_inclusive_and_inside_the_source() {
        assert_eq!(copy_range("bytes=0-9", 10).unwrap(), 0..10);
        assert_eq!(copy_range("bytes=5-5", 10).unwrap(), 5..6);
        assert!(copy_range("bytes=0-10", 10).is_err());
        assert!(copy_range("bytes=6-5", 10).is_err());
        assert!(copy_range("0-5", 10).is_err());
    }
}
