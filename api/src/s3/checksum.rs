//! S3's additional checksums of an upload's body (CRC32, CRC32C,
//! CRC64NVME, SHA-1, SHA-256): the one a client claims, in an
//! `x-amz-checksum-*` header or in the trailer of an `aws-chunked` body
//! (`x-amz-trailer`, as boto3 and the AWS CLI send every PutObject and
//! UploadPart by default), is computed over the bytes as they are stored
//! and compared once the body is read: a mismatch is S3's `BadDigest`,
//! and the command that would name the blob is never sent, so nothing is
//! stored (the blob, unnamed, is collected as garbage).
//!
//! This is the body's integrity when its payload is not signed
//! (`UNSIGNED-PAYLOAD`, presigned URLs, a TLS proxy in front).

use axum::http::HeaderMap;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum as _, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
use s3s::dto::Checksum;
use s3s::{S3Error, S3ErrorCode, S3Result, TrailingHeaders};
use std::sync::{Arc, Mutex};

/// The algorithms, by the name of their header.
const ALGORITHMS: [(&str, &str); 5] = [
    ("x-amz-checksum-crc32", "CRC32"),
    ("x-amz-checksum-crc32c", "CRC32C"),
    ("x-amz-checksum-crc64nvme", "CRC64NVME"),
    ("x-amz-checksum-sha1", "SHA1"),
    ("x-amz-checksum-sha256", "SHA256"),
];

/// Where the claimed value is.
enum Value {
    Header(String),
    Trailer(Option<TrailingHeaders>),
}

/// The checksum a request claims for its body, if any.
pub(crate) struct Claimed {
    header: &'static str,
    name: &'static str,
    value: Value,
}

impl Claimed {
    /// The claim of a request with `headers` (s3s keeps the values of
    /// `x-amz-checksum-*` headers in the request's headers as sent) and
    /// the handle of its trailer. More than one algorithm is refused, as
    /// S3 does.
    pub(crate) fn of(headers: &HeaderMap, trailer: Option<TrailingHeaders>) -> S3Result<Option<Claimed>> {
        Claimed::declared(headers, headers.get("x-amz-trailer"), trailer)
    }

    /// The claim of a request forwarded from `/services/objectstorage`
    /// (its trailer read before it was forwarded), or of one as sent.
    pub(crate) fn of_request<T>(req: &s3s::S3Request<T>) -> S3Result<Option<Claimed>> {
        match req.extensions.get::<super::prefixed::ForwardedTrailer>() {
            Some(f) => Claimed::declared(&req.headers, Some(&f.name), Some(f.handle.clone())),
            None => Claimed::of(&req.headers, req.trailing_headers.clone()),
        }
    }

    fn declared(
        headers: &HeaderMap,
        trailer_name: Option<&axum::http::HeaderValue>,
        trailer: Option<TrailingHeaders>,
    ) -> S3Result<Option<Claimed>> {
        let trailing = trailer_name.and_then(|v| v.to_str().ok()).map(|v| v.trim().to_ascii_lowercase());
        let mut found = ALGORITHMS.iter().filter_map(|&(header, name)| {
            if let Some(value) = headers.get(header) {
                let value = value.to_str().unwrap_or_default().trim().to_owned();
                return Some(Claimed { header, name, value: Value::Header(value) });
            }
            (trailing.as_deref() == Some(header)).then(|| Claimed {
                header,
                name,
                value: Value::Trailer(None),
            })
        });
        let first = found.next();
        if found.next().is_some() {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
            ));
        }
        Ok(first.map(|mut c| {
            if let Value::Trailer(t) = &mut c.value {
                *t = trailer;
            }
            c
        }))
    }

    /// A hasher of the claimed algorithm, to feed the body through.
    pub(crate) fn hasher(&self) -> Hasher {
        let mut h = ChecksumHasher::default();
        match self.name {
            "CRC32" => h.crc32 = Some(Crc32::new()),
            "CRC32C" => h.crc32c = Some(Crc32c::new()),
            "CRC64NVME" => h.crc64nvme = Some(Crc64Nvme::new()),
            "SHA1" => h.sha1 = Some(Sha1::new()),
            _ => h.sha256 = Some(Sha256::new()),
        }
        Hasher(Arc::new(Mutex::new(Some(h))))
    }

    /// Compares what was computed over the whole body with the claim
    /// (read from the trailer now that the body has been read): the
    /// checksum to answer with, or BadDigest.
    pub(crate) fn verify(&self, hasher: &Hasher) -> S3Result<Checksum> {
        let computed = hasher.finish();
        let value = match &self.value {
            Value::Header(v) => Some(v.clone()),
            Value::Trailer(t) => t
                .as_ref()
                .and_then(|t| t.read(|h| h.get(self.header).cloned()))
                .flatten()
                .map(|v| v.to_str().unwrap_or_default().trim().to_owned()),
        };
        let Some(value) = value else {
            return Err(S3Error::with_message(
                S3ErrorCode::InvalidRequest,
                format!("The request declared the trailer {} but did not send it.", self.header),
            ));
        };
        let mine = [
            &computed.checksum_crc32,
            &computed.checksum_crc32c,
            &computed.checksum_crc64nvme,
            &computed.checksum_sha1,
            &computed.checksum_sha256,
        ]
        .into_iter()
        .flatten()
        .next();
        if mine != Some(&value) {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                format!("The {} you specified did not match the calculated checksum.", self.name),
            ));
        }
        Ok(computed)
    }
}

/// A running checksum, fed from the body stream as it is stored.
#[derive(Clone)]
pub(crate) struct Hasher(Arc<Mutex<Option<ChecksumHasher>>>);

impl Hasher {
    pub(crate) fn update(&self, bytes: &[u8]) {
        if let Some(h) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            h.update(bytes);
        }
    }

    fn finish(&self) -> Checksum {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(ChecksumHasher::finalize)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn check(claim: &Claimed, body: &[u8]) -> S3Result<Checksum> {
        let hasher = claim.hasher();
        for chunk in body.chunks(3) {
            hasher.update(chunk);
        }
        claim.verify(&hasher)
    }

    #[test]
    fn a_claimed_checksum_is_computed_over_the_body_and_compared() {
        // Known values of "hello world" (base64 of the big-endian digest).
        for (header, value) in [
            ("x-amz-checksum-crc32", "DUoRhQ=="),
            ("x-amz-checksum-crc32c", "yZRlqg=="),
            ("x-amz-checksum-sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
            ("x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
        ] {
            let claim = Claimed::of(&headers(&[(header, value)]), None).unwrap().unwrap();
            let computed = check(&claim, b"hello world").unwrap_or_else(|e| panic!("{header}: {e:?}"));
            assert!(format!("{computed:?}").contains(value), "{header}: {computed:?}");
            let e = check(&claim, b"hello worle").unwrap_err();
            assert_eq!(*e.code(), S3ErrorCode::BadDigest, "{header}");
        }
    }

    #[test]
    fn no_claim_two_claims_and_a_missing_trailer() {
        assert!(Claimed::of(&HeaderMap::new(), None).unwrap().is_none());
        let two = headers(&[("x-amz-checksum-crc32", "DUoRhQ=="), ("x-amz-checksum-sha1", "x")]);
        assert_eq!(*Claimed::of(&two, None).err().unwrap().code(), S3ErrorCode::InvalidRequest);
        let trailer = headers(&[("x-amz-trailer", "x-amz-checksum-crc32")]);
        let claim = Claimed::of(&trailer, None).unwrap().unwrap();
        assert_eq!(*check(&claim, b"hello world").unwrap_err().code(), S3ErrorCode::InvalidRequest);
    }
}
