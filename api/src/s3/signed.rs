//! What a request must have signed before Walrus acts on it, beyond the
//! signature s3s has checked: s3s proves that the headers a SigV4
//! signature names are the ones sent, not that every header that changes
//! what a request does was named. S3 refuses
//!
//! - an `x-amz-*` header that SigV4 did not sign (AccessDenied, "There
//!   were headers present in the request which were not signed"), so
//!   that whoever holds a presigned PutObject URL cannot add
//!   `x-amz-copy-source` (and read what the signer may read) or
//!   `x-amz-acl: public-read`; `x-amz-content-sha256` alone may go
//!   unsigned, as in S3;
//! - a presigned URL valid for more than seven days
//!   (AuthorizationQueryParametersError);
//! - `response-*` overrides of a GET's headers without a signature
//!   (InvalidRequest), so that nobody can make a public object render as
//!   HTML on this origin.
//!
//! SigV2 signs every `x-amz-*` header by definition (its canonical
//! `x-amz` headers), so only SigV4 is looked at here.

use crate::auth::MAX_PRESIGN_EXPIRES_SECS;
use axum::http::{HeaderMap, Uri};
use s3s::{S3Error, S3ErrorCode, S3Result};

/// Refuses what S3 refuses of a request's signing (see the module).
/// `signed`: whether the request carries a verified signature, in any
/// form (s3s's credentials, or a key Walrus verified itself).
pub(crate) fn check(uri: &Uri, headers: &HeaderMap, signed: bool) -> S3Result<()> {
    let query: Vec<(String, String)> =
        uri.query().map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
    let param =
        |name: &str| query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    if !signed && query.iter().any(|(k, _)| k.starts_with("response-")) {
        return Err(S3Error::with_message(
            S3ErrorCode::InvalidRequest,
            "Request specific response headers cannot be used for anonymous GET requests.",
        ));
    }
    let names = if param("X-Amz-Algorithm") == Some("AWS4-HMAC-SHA256") {
        let expires = param("X-Amz-Expires").unwrap_or_default();
        if expires.parse::<i64>().map_or(true, |secs| !(0..=MAX_PRESIGN_EXPIRES_SECS).contains(&secs)) {
            return Err(S3Error::with_message(
                S3ErrorCode::AuthorizationQueryParametersError,
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ));
        }
        param("X-Amz-SignedHeaders").unwrap_or_default().to_owned()
    } else {
        match headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some(auth) if auth.starts_with("AWS4-HMAC-SHA256") => signed_headers_of(auth).to_owned(),
            _ => return Ok(()),
        }
    };
    let signed: Vec<&str> = names.split(';').map(str::trim).collect();
    let mut unsigned: Vec<&str> = headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| name.starts_with("x-amz-") && *name != "x-amz-content-sha256")
        .filter(|name| !signed.iter().any(|s| s.eq_ignore_ascii_case(name)))
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    unsigned.sort_unstable();
    unsigned.dedup();
    Err(S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!("There were headers present in the request which were not signed: {}", unsigned.join(", ")),
    ))
}

/// The `SignedHeaders=` list of a SigV4 `Authorization` header.
fn signed_headers_of(authorization: &str) -> &str {
    authorization
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(name, _)| name.trim().ends_with("SignedHeaders"))
        .map_or("", |(_, value)| value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKID/20261207/yukari/s3/aws4_request, \
                        SignedHeaders=host;x-amz-acl;x-amz-date, Signature=abc";

    #[test]
    fn every_x_amz_header_of_a_sigv4_request_must_be_signed() {
        let uri: Uri = "/b/k".parse().unwrap();
        let signed = headers(&[("authorization", AUTH), ("x-amz-date", "x"), ("x-amz-acl", "private")]);
        assert!(check(&uri, &signed, true).is_ok());
        // x-amz-content-sha256 may go unsigned; other headers are not S3's concern.
        let tolerated = headers(&[
            ("authorization", AUTH),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("x-amzn-trace-id", "t"),
        ]);
        assert!(check(&uri, &tolerated, true).is_ok());
        let added = headers(&[
            ("authorization", AUTH),
            ("x-amz-date", "x"),
            ("x-amz-copy-source", "other/secret"),
            ("x-amz-meta-a", "1"),
        ]);
        let e = check(&uri, &added, true).unwrap_err();
        assert_eq!(*e.code(), S3ErrorCode::AccessDenied);
        assert!(e.message().unwrap().ends_with("not signed: x-amz-copy-source, x-amz-meta-a"), "{e:?}");
    }

    #[test]
    fn a_presigned_url_names_its_headers_and_lasts_a_week_at_most() {
        let url = |expires: &str, signed: &str| -> Uri {
            format!(
                "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires={expires}&X-Amz-SignedHeaders={signed}&X-Amz-Signature=s"
            )
            .parse()
            .unwrap()
        };
        let acl = headers(&[("x-amz-acl", "public-read")]);
        assert!(check(&url("604800", "host%3Bx-amz-acl"), &acl, true).is_ok());
        let e = check(&url("3600", "host"), &acl, true).unwrap_err();
        assert_eq!(*e.code(), S3ErrorCode::AccessDenied);
        for expires in ["604801", "4294967295", "-1", ""] {
            let e = check(&url(expires, "host"), &HeaderMap::new(), true).unwrap_err();
            assert_eq!(*e.code(), S3ErrorCode::AuthorizationQueryParametersError, "{expires}");
        }
    }

    #[test]
    fn only_a_signed_get_overrides_the_answers_headers() {
        let uri: Uri = "/b/k?response-content-type=text/html".parse().unwrap();
        let e = check(&uri, &HeaderMap::new(), false).unwrap_err();
        assert_eq!(*e.code(), S3ErrorCode::InvalidRequest);
        assert!(check(&uri, &headers(&[("authorization", AUTH)]), true).is_ok());
        // SigV2 signs every x-amz header itself.
        let v2 = headers(&[("authorization", "AWS AKID:sig"), ("x-amz-acl", "public-read")]);
        assert!(check(&"/b/k".parse().unwrap(), &v2, true).is_ok());
        assert!(check(&"/b/k".parse().unwrap(), &HeaderMap::new(), false).is_ok());
    }
}
