//! Signature Version 2 (query or form parameters, HmacSHA256 or HmacSHA1):
//! the string to sign (shared with the signer) and verification, including
//! the `Timestamp`/`Expires` rules.

use std::time::SystemTime;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::clock::{format_iso8601, parse_iso8601, unix_secs};
use super::encoding::canonical_v2_params;
use super::{
    AuthError, AuthMethod, MAX_CLOCK_SKEW_SECS, Params, SecretLookup, SignedRequest, Verified, clip, ct_eq,
};

/// `METHOD\nhost\npath\ncanonicalised-params`.
pub(crate) fn string_to_sign(method: &str, host: &str, path: &str, params: &Params) -> String {
    let path = if path.is_empty() { "/" } else { path };
    format!("{method}\n{host}\n{path}\n{}", canonical_v2_params(params))
}

/// The raw HMAC of a string to sign (callers base64 it).
pub(crate) fn sign(secret: &str, string_to_sign: &str, sha256: bool) -> Vec<u8> {
    let (key, data) = (secret.as_bytes(), string_to_sign.as_bytes());
    if sha256 {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }
}

pub(crate) fn verify(
    req: &SignedRequest<'_>,
    params: &Params,
    now: SystemTime,
    lookup: &dyn SecretLookup,
) -> Result<Verified, AuthError> {
    let param = |name: &str| {
        params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    };
    match param("SignatureVersion") {
        Some("2") => {}
        Some(other) => return Err(AuthError::UnsupportedSignatureVersion(clip(other))),
        None => return Err(AuthError::MissingParameter("SignatureVersion")),
    }
    let access_key_id = param("AWSAccessKeyId").ok_or(AuthError::MissingParameter("AWSAccessKeyId"))?;
    let signature = param("Signature").ok_or(AuthError::MissingParameter("Signature"))?;
    let sha256 = match param("SignatureMethod") {
        Some("HmacSHA256") => true,
        Some("HmacSHA1") => false,
        Some(other) => return Err(AuthError::UnsupportedSignatureMethod(clip(other))),
        None => return Err(AuthError::MissingParameter("SignatureMethod")),
    };
    check_time(param("Timestamp"), param("Expires"), unix_secs(now))?;

    let secret = lookup.secret(access_key_id).ok_or(AuthError::UnknownAccessKey)?;
    let provided = decode_signature(signature);
    for host in host_candidates(req.headers) {
        let expected = sign(&secret, &string_to_sign(req.method, &host, req.path, params), sha256);
        if ct_eq(&expected, &provided) {
            return Ok(Verified {
                access_key_id: access_key_id.to_owned(),
                method: AuthMethod::SigV2 { sha256 },
            });
        }
    }
    Err(AuthError::SignatureDoesNotMatch)
}

/// A `Timestamp` must be within the clock-skew window; an `Expires` must
/// not have passed. One of them is required; if both come, both must hold.
fn check_time(timestamp: Option<&str>, expires: Option<&str>, now: i64) -> Result<(), AuthError> {
    const REASON: &str = "It must be an ISO 8601 date and time such as 2026-11-25T10:10:10Z.";
    if timestamp.is_none() && expires.is_none() {
        return Err(AuthError::MissingParameter("Timestamp"));
    }
    if let Some(raw) = timestamp {
        let when = parse_iso8601(raw).ok_or_else(|| AuthError::InvalidParameterValue {
            name: "Timestamp",
            value: clip(raw),
            reason: REASON,
        })?;
        if now.abs_diff(when) > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
            return Err(AuthError::RequestTimeTooSkewed {
                request_time: format_iso8601(when),
                server_time: format_iso8601(now),
            });
        }
    }
    if let Some(raw) = expires {
        let when = parse_iso8601(raw).ok_or_else(|| AuthError::InvalidParameterValue {
            name: "Expires",
            value: clip(raw),
            reason: REASON,
        })?;
        if now > when {
            return Err(AuthError::Expired {
                expired_at: format_iso8601(when),
                server_time: format_iso8601(now),
            });
        }
    }
    Ok(())
}

/// Base64 signature bytes; a `+` sent unescaped in a query string arrives
/// decoded as a space, so spaces are read back as `+`.
fn decode_signature(signature: &str) -> Vec<u8> {
    STANDARD.decode(signature.trim().replace(' ', "+")).unwrap_or_default()
}

/// The host strings a SigV2 client may have signed, best first: the `Host`
/// header lowercased (the specification), as sent (botocore does not
/// lowercase), and lowercased without its port (Eucalyptus accepted this).
fn host_candidates(headers: &HeaderMap) -> Vec<String> {
    let sent = headers
        .get(axum::http::header::HOST)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        .unwrap_or_default();
    let lower = sent.to_ascii_lowercase();
    let without_port = match lower.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host.to_owned(),
        _ => lower.clone(),
    };
    let mut out = vec![lower];
    for candidate in [sent, without_port] {
        if !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, UNIX_EPOCH};

    use axum::http::HeaderValue;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    /// The worked example of the AWS General Reference's "Signature
    /// Version 2 signing process" page (Elastic MapReduce DescribeJobFlows).
    #[test]
    fn aws_documentation_example() {
        let mut params = pairs(&[
            ("Action", "DescribeJobFlows"),
            ("Version", "2009-03-31"),
            ("AWSAccessKeyId", "AKIAIOSFODNN7EXAMPLE"),
            ("SignatureVersion", "2"),
            ("SignatureMethod", "HmacSHA256"),
            ("Timestamp", "2011-10-03T15:19:30"),
        ]);
        let sts = string_to_sign("GET", "elasticmapreduce.amazonaws.com", "/", &params);
        assert_eq!(
            sts,
            "GET\nelasticmapreduce.amazonaws.com\n/\nAWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Action=DescribeJobFlows&SignatureMethod=HmacSHA256&SignatureVersion=2&Timestamp=2011-10-03T15%3A19%3A30&Version=2009-03-31"
        );
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let signature = STANDARD.encode(sign(secret, &sts, true));
        assert_eq!(signature, "i91nKc4PWAt0JJIdXwz9HxZCJDdiy6cf/Mj6vPxyYIs=");

        params.push(("Signature".to_owned(), signature));
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("elasticmapreduce.amazonaws.com"));
        let req = SignedRequest { method: "GET", path: "/", query: "", headers: &headers, body: b"" };
        let keys = HashMap::from([("AKIAIOSFODNN7EXAMPLE".to_owned(), secret.to_owned())]);
        let now = UNIX_EPOCH + Duration::from_secs(1_317_655_170 + 120); // 2011-10-03T15:21:30Z
        assert_eq!(
            verify(&req, &params, now, &keys),
            Ok(Verified {
                access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                method: AuthMethod::SigV2 { sha256: true },
            })
        );
    }

    #[test]
    fn host_candidates_cover_case_and_port() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("Cloud.Example:8773"));
        assert_eq!(host_candidates(&headers), ["cloud.example:8773", "Cloud.Example:8773", "cloud.example"]);
        headers.insert("host", HeaderValue::from_static("[::1]:8773"));
        assert_eq!(host_candidates(&headers), ["[::1]:8773", "[::1]"]);
        headers.insert("host", HeaderValue::from_static("[::1]"));
        assert_eq!(host_candidates(&headers), ["[::1]"]);
    }

    #[test]
    fn an_unescaped_plus_in_the_signature_still_decodes() {
        assert_eq!(decode_signature("a+b/"), decode_signature("a b/"));
        assert!(!decode_signature("a+b/").is_empty());
        assert!(decode_signature("not base64!").is_empty());
    }

    #[test]
    fn timestamp_and_expires_rules() {
        let t = 1_795_601_410; // 2026-11-25T10:10:10Z
        assert_eq!(check_time(Some("2026-11-25T10:10:10Z"), None, t + 899), Ok(()));
        assert!(matches!(
            check_time(Some("2026-11-25T10:10:10Z"), None, t + 901),
            Err(AuthError::RequestTimeTooSkewed { .. })
        ));
        assert!(matches!(
            check_time(Some("2026-11-25T10:10:10.000Z"), None, t - 901),
            Err(AuthError::RequestTimeTooSkewed { .. })
        ));
        assert_eq!(check_time(None, Some("2026-11-25T12:00:00Z"), t + 3600), Ok(()));
        assert!(matches!(
            check_time(None, Some("2026-11-25T10:10:10Z"), t + 1),
            Err(AuthError::Expired { .. })
        ));
        assert_eq!(check_time(None, None, t), Err(AuthError::MissingParameter("Timestamp")));
        assert_eq!(
            check_time(Some("yesterday"), None, t).map_err(|e| e.ec2_code().as_str()),
            Err("InvalidParameterValue")
        );
    }
}
