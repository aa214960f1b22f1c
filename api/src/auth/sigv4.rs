//! Signature Version 4: the canonical request, string to sign and signing
//! key (shared with the signer), and verification of the `Authorization`
//! header and presigned-query forms.

use std::time::SystemTime;

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::clock::{format_amz_date, parse_amz_date, parse_http_date, unix_secs};
use super::encoding::{canonical_query, canonical_uri_candidates, query_pairs, trim_all};
use super::{
    AuthError, AuthMethod, MAX_CLOCK_SKEW_SECS, MAX_PRESIGN_EXPIRES_SECS, SecretLookup, SignedRequest,
    UNSIGNED_PAYLOAD, Verified, clip, ct_eq,
};

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
const CONTENT_SHA256: &str = "x-amz-content-sha256";

/// If an `Authorization` value is in the SigV4 scheme, the rest after it.
pub(crate) fn strip_algorithm(value: &str) -> Option<&str> {
    let rest = value.trim_start().strip_prefix(ALGORITHM)?;
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then_some(rest)
}

/// `AKID/20150830/us-east-1/service/aws4_request`, split.
struct Credential<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
}

impl<'a> Credential<'a> {
    fn parse(s: &'a str) -> Result<Self, AuthError> {
        let parts: Vec<&str> = s.split('/').collect();
        let [access_key_id, date, region, service, terminator] = parts[..] else {
            return Err(AuthError::MalformedCredential(clip(s)));
        };
        if access_key_id.is_empty() {
            return Err(AuthError::MalformedCredential(clip(s)));
        }
        if terminator != TERMINATOR {
            return Err(AuthError::InvalidCredentialTerminator(clip(terminator)));
        }
        Ok(Self { access_key_id, date, region, service })
    }

    fn scope(&self) -> String {
        format!("{}/{}/{}/{TERMINATOR}", self.date, self.region, self.service)
    }
}

/// Everything a request claims about its SigV4 signature.
struct Claim<'a> {
    credential: Credential<'a>,
    amz_date: String,
    signed_headers: &'a str,
    signature: &'a str,
    canonical_query: String,
    payload_hashes: Vec<String>,
    method: AuthMethod,
}

pub(crate) fn verify_header(
    req: &SignedRequest<'_>,
    after_algorithm: &str,
    now: SystemTime,
    lookup: &dyn SecretLookup,
) -> Result<Verified, AuthError> {
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for component in after_algorithm.split(',') {
        match component.trim().split_once('=') {
            Some(("Credential", v)) if !v.is_empty() => credential = Some(v),
            Some(("SignedHeaders", v)) if !v.is_empty() => signed_headers = Some(v),
            Some(("Signature", v)) if !v.is_empty() => signature = Some(v),
            _ => {}
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) = (credential, signed_headers, signature)
    else {
        let missing =
            [("Credential", credential), ("Signature", signature), ("SignedHeaders", signed_headers)]
                .into_iter()
                .filter_map(|(name, v)| v.is_none().then_some(name))
                .collect();
        return Err(AuthError::AuthorizationMissingComponents(missing));
    };
    let credential = Credential::parse(credential)?;
    require_host(signed_headers)?;

    let (raw_date, when) = if let Some(v) = req.headers.get("x-amz-date") {
        let raw = v.to_str().unwrap_or_default();
        (raw, parse_amz_date(raw.trim()))
    } else if let Some(v) = req.headers.get("date") {
        let raw = v.to_str().unwrap_or_default();
        (raw, parse_http_date(raw))
    } else {
        return Err(AuthError::MissingDate);
    };
    let when = when.ok_or_else(|| AuthError::MalformedDate(clip(raw_date)))?;
    let amz_date = check_scope_date(&credential, when, raw_date)?;
    let now = unix_secs(now);
    if now.abs_diff(when) > MAX_CLOCK_SKEW_SECS.unsigned_abs() {
        return Err(too_skewed(when, now));
    }

    let payload_hashes = match content_sha256(req)? {
        Some(declared) => vec![declared],
        None => vec![sha256_hex(req.body)],
    };
    let claim = Claim {
        credential,
        amz_date,
        signed_headers,
        signature,
        canonical_query: canonical_query(req.query, None),
        payload_hashes,
        method: AuthMethod::SigV4Header,
    };
    check_signature(req, &claim, lookup)
}

pub(crate) fn verify_presigned(
    req: &SignedRequest<'_>,
    now: SystemTime,
    lookup: &dyn SecretLookup,
) -> Result<Verified, AuthError> {
    let pairs = query_pairs(req.query);
    let param = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let algorithm = param("X-Amz-Algorithm").unwrap_or_default();
    if algorithm != ALGORITHM {
        return Err(AuthError::UnsupportedAlgorithm(clip(algorithm)));
    }
    let required = ["X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"];
    let values = required.map(|name| param(name).filter(|v| !v.is_empty()));
    let [Some(credential), Some(raw_date), Some(signed_headers), Some(signature)] = values else {
        let missing = required.iter().zip(values).filter(|(_, v)| v.is_none()).map(|(n, _)| *n);
        return Err(AuthError::QueryMissingComponents(missing.collect()));
    };
    let credential = Credential::parse(credential)?;
    require_host(signed_headers)?;
    let when = parse_amz_date(raw_date).ok_or_else(|| AuthError::MalformedDate(clip(raw_date)))?;
    let amz_date = check_scope_date(&credential, when, raw_date)?;

    let now = unix_secs(now);
    if when.saturating_sub(now) > MAX_CLOCK_SKEW_SECS {
        return Err(too_skewed(when, now));
    }
    match param("X-Amz-Expires") {
        Some(raw) => {
            let invalid =
                |reason| AuthError::InvalidParameterValue { name: "X-Amz-Expires", value: clip(raw), reason };
            let expires: i64 = raw.parse().map_err(|_| invalid("It must be a whole number of seconds."))?;
            if !(0..=MAX_PRESIGN_EXPIRES_SECS).contains(&expires) {
                return Err(invalid("It must be between 0 and 604800 seconds (seven days)."));
            }
            if now > when.saturating_add(expires) {
                return Err(AuthError::Expired {
                    expired_at: format_amz_date(when.saturating_add(expires)),
                    server_time: format_amz_date(now),
                });
            }
        }
        None if now.saturating_sub(when) > MAX_CLOCK_SKEW_SECS => {
            return Err(too_skewed(when, now));
        }
        None => {}
    }

    let payload_hashes = match content_sha256(req)? {
        Some(declared) => vec![declared],
        None => vec![sha256_hex(req.body), UNSIGNED_PAYLOAD.to_owned()],
    };
    let claim = Claim {
        credential,
        amz_date,
        signed_headers,
        signature,
        canonical_query: canonical_query(req.query, Some("X-Amz-Signature")),
        payload_hashes,
        method: AuthMethod::SigV4Query,
    };
    check_signature(req, &claim, lookup)
}

fn require_host(signed_headers: &str) -> Result<(), AuthError> {
    if signed_headers.split(';').any(|h| h.eq_ignore_ascii_case("host")) {
        Ok(())
    } else {
        Err(AuthError::HostNotSigned)
    }
}

/// The request time in basic format, if its day is the credential's day.
fn check_scope_date(credential: &Credential<'_>, when: i64, raw: &str) -> Result<String, AuthError> {
    let amz_date = format_amz_date(when);
    let day = amz_date.get(..8).unwrap_or_default();
    if credential.date != day {
        return Err(AuthError::CredentialScopeDateMismatch {
            scope_date: clip(credential.date),
            request_date: day.to_owned(),
            timestamp: clip(raw),
        });
    }
    Ok(amz_date)
}

fn too_skewed(when: i64, now: i64) -> AuthError {
    AuthError::RequestTimeTooSkewed { request_time: format_amz_date(when), server_time: format_amz_date(now) }
}

/// The declared `x-amz-content-sha256`, after checking it against the body
/// unless it is `UNSIGNED-PAYLOAD`.
fn content_sha256(req: &SignedRequest<'_>) -> Result<Option<String>, AuthError> {
    let Some(value) = req.headers.get(CONTENT_SHA256) else {
        return Ok(None);
    };
    let declared = value.to_str().map_err(|_| AuthError::ContentSha256Mismatch)?.trim();
    if declared != UNSIGNED_PAYLOAD && !declared.eq_ignore_ascii_case(&sha256_hex(req.body)) {
        return Err(AuthError::ContentSha256Mismatch);
    }
    Ok(Some(declared.to_owned()))
}

fn check_signature(
    req: &SignedRequest<'_>,
    claim: &Claim<'_>,
    lookup: &dyn SecretLookup,
) -> Result<Verified, AuthError> {
    let headers = canonical_headers(req.headers, claim.signed_headers)?;
    let c = &claim.credential;
    let secret = lookup.secret(c.access_key_id).ok_or(AuthError::UnknownAccessKey)?;
    let key = signing_key(&secret, c.date, c.region, c.service);
    let provided = hex::decode(claim.signature.trim()).unwrap_or_default();
    let scope = c.scope();
    for uri in canonical_uri_candidates(req.path) {
        for payload in &claim.payload_hashes {
            let creq = canonical_request(
                req.method,
                &uri,
                &claim.canonical_query,
                &headers,
                claim.signed_headers,
                payload,
            );
            let expected = hmac_sha256(&key, string_to_sign(&claim.amz_date, &scope, &creq).as_bytes());
            if ct_eq(&expected, &provided) {
                return Ok(Verified {
                    access_key_id: c.access_key_id.to_owned(),
                    method: claim.method.clone(),
                });
            }
        }
    }
    Err(AuthError::SignatureDoesNotMatch)
}

/// `name:value\n` for each signed header, in `SignedHeaders` order; a
/// header sent several times has its values joined with `,`.
pub(super) fn canonical_headers(headers: &HeaderMap, signed_headers: &str) -> Result<String, AuthError> {
    let mut out = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<String> =
            headers.get_all(name).iter().map(|v| trim_all(&String::from_utf8_lossy(v.as_bytes()))).collect();
        if values.is_empty() {
            return Err(AuthError::SignedHeaderMissing(clip(name)));
        }
        out.push_str(&name.to_ascii_lowercase());
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// The canonical request; `canonical_headers` ends each line with `\n`.
pub(crate) fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
    )
}

pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()))
}

pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}
