//! Request authentication for the EC2 Query API: verifying AWS Signature
//! Version 4 (Authorization header or presigned query) and Version 2
//! (query or form parameters) the way AWS EC2 and Eucalyptus did, plus the
//! client-side signer our tests and benchmarks use.
//!
//! This module owns signature maths, canonicalisation, clock-skew and
//! expiry rules, and the mapping of each failure to an EC2 error code. It
//! does not know where secrets live (it asks a [`SecretLookup`]), how the
//! API layer parses parameters, or what HTTP status an error becomes.
//!
//! Deliberate leniencies, each a thing a real client does:
//! - SigV4: any region and service name in the credential scope (euca2ools
//!   signs with made-up regions such as `undefined-12345`).
//! - SigV4 canonical URI: the path as sent, encoded once more (botocore and
//!   euca2ools); failing that the path decoded and encoded once (S3-style
//!   signers), then `/` (Eucalyptus accepted it for SDKs that always sign
//!   `/`). For EC2 the path selects nothing, so this gives nothing away.
//! - SigV4 presigned URLs: the payload hash is the body's SHA-256 (what
//!   botocore does for EC2), or `UNSIGNED-PAYLOAD` (what S3-style signers do).
//! - SigV2: the host is tried lowercased (the specification), as sent
//!   (botocore does not lowercase) and without its port (Eucalyptus); a
//!   `Signature` whose `+` arrived unescaped (decoded as a space) still reads.
//!
//! Not handled: HTTP/2 requests carry the host in `:authority`, not in a
//! `Host` header, so the caller must put it into `headers` first; SigV4
//! auth parameters are read from the query string only, not a form body;
//! `X-Amz-Security-Token` is signed like any header but not checked.
//!
//! Comparisons of signatures are constant-time. Error messages never carry
//! a secret or a signature the server computed.

mod clock;
pub(crate) mod encoding;
mod signer;
mod sigv2;
mod sigv4;

#[cfg(test)]
mod tests_botocore;
#[cfg(test)]
mod tests_refusals;
#[cfg(test)]
mod tests_roundtrip;
#[cfg(test)]
mod tests_support;
#[cfg(test)]
mod tests_vectors;

use std::collections::HashMap;
use std::time::SystemTime;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

pub(crate) use signer::presign_v4_with_payload;
pub use signer::{
    V2Target, V4Key, V4Request, boto3_headers, encode_params, euca2ools_headers, presign_v4, sign_v2_query,
    sign_v4_headers,
};

/// How far a request's timestamp may be from the server clock, either way.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;
/// The longest `X-Amz-Expires` a presigned URL may ask for (seven days).
pub const MAX_PRESIGN_EXPIRES_SECS: i64 = 7 * 24 * 60 * 60;
/// The payload hash a signer uses when it does not hash the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The parts of an HTTP request that signatures cover, as received.
pub struct SignedRequest<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The raw request path as received, e.g. `/` or `/services/compute`.
    pub path: &'a str,
    /// The raw query string, without `?`; may be empty.
    pub query: &'a str,
    /// The request headers; `Host` must be among them.
    pub headers: &'a HeaderMap,
    /// The raw body (form-urlencoded for POST).
    pub body: &'a [u8],
}

/// Decoded request parameters (query string and, for form POSTs, the body),
/// in request order, decoded with `application/x-www-form-urlencoded` rules
/// (`+` is a space).
pub type Params = [(String, String)];

/// Where verification finds secret access keys.
pub trait SecretLookup {
    /// The secret access key for an access key id, or None if unknown/inactive.
    fn secret(&self, access_key_id: &str) -> Option<String>;
}

impl SecretLookup for HashMap<String, String> {
    fn secret(&self, access_key_id: &str) -> Option<String> {
        self.get(access_key_id).cloned()
    }
}

/// Which signing scheme a verified request used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// SigV4 in the `Authorization` header.
    SigV4Header,
    /// SigV4 in `X-Amz-*` query parameters (a presigned URL).
    SigV4Query,
    /// SigV2 parameters; `sha256` is false for `HmacSHA1`.
    SigV2 { sha256: bool },
}

/// A request whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub access_key_id: String,
    pub method: AuthMethod,
}

/// Why a request was not authenticated. [`AuthError::ec2_code`] names the
/// EC2 error code; `Display` is the message for the client.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error(
        "AWS was not able to validate the provided access credentials: the request carries no \
         Authorization header, X-Amz-Algorithm or Signature parameter"
    )]
    MissingAuthentication,
    #[error("AWS was not able to validate the provided access credentials")]
    UnknownAccessKey,
    #[error("Unsupported AWS 'algorithm': '{0}'")]
    UnsupportedAlgorithm(String),
    #[error("Signature version '{0}' is not supported; use SignatureVersion 2 or Signature Version 4")]
    UnsupportedSignatureVersion(String),
    #[error("Signature method '{0}' is not supported; use HmacSHA256 or HmacSHA1")]
    UnsupportedSignatureMethod(String),

    #[error(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
    )]
    SignatureDoesNotMatch,
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '{scope_date}' != '{request_date}', from '{timestamp}'."
    )]
    CredentialScopeDateMismatch { scope_date: String, request_date: String, timestamp: String },
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,
    #[error("The request signature covers header '{0}', which the request does not have.")]
    SignedHeaderMissing(String),

    #[error(
        "Request has expired. The request time {request_time} is more than 15 minutes away from \
         the server time {server_time}."
    )]
    RequestTimeTooSkewed { request_time: String, server_time: String },
    #[error("Request has expired. It expired at {expired_at}; the server time is {server_time}.")]
    Expired { expired_at: String, server_time: String },

    #[error(
        "Authorization header is malformed: expected 'AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...'."
    )]
    MalformedAuthorization,
    #[error("{}", missing_message("Authorization header requires", .0, "."))]
    AuthorizationMissingComponents(Vec<&'static str>),
    #[error("{}", missing_message("AWS query-string parameters must include", .0, ". Re-examine the query-string parameters."))]
    QueryMissingComponents(Vec<&'static str>),
    #[error(
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got '{0}'"
    )]
    MalformedCredential(String),
    #[error("Credential should be scoped with a valid terminator: 'aws4_request', not '{0}'.")]
    InvalidCredentialTerminator(String),
    #[error("'Host' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    #[error("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")]
    MissingDate,
    #[error("Invalid request date '{0}': use ISO 8601 basic format, e.g. 20150830T123600Z.")]
    MalformedDate(String),

    #[error("The request must contain the parameter {0}")]
    MissingParameter(&'static str),
    #[error("Value ({value}) for parameter {name} is invalid. {reason}")]
    InvalidParameterValue { name: &'static str, value: String, reason: &'static str },
}

fn missing_message(prefix: &str, missing: &[&'static str], suffix: &str) -> String {
    missing.iter().map(|m| format!("{prefix} '{m}' parameter{suffix}")).collect::<Vec<_>>().join(" ")
}

impl AuthError {
    /// The EC2 error code this failure is reported as.
    pub fn ec2_code(&self) -> crate::ec2::error::Code {
        use crate::ec2::error::Code;
        use AuthError::*;
        match self {
            MissingAuthentication
            | UnknownAccessKey
            | UnsupportedAlgorithm(_)
            | UnsupportedSignatureVersion(_)
            | UnsupportedSignatureMethod(_) => Code::AuthFailure,
            SignatureDoesNotMatch
            | CredentialScopeDateMismatch { .. }
            | ContentSha256Mismatch
            | SignedHeaderMissing(_) => Code::SignatureDoesNotMatch,
            RequestTimeTooSkewed { .. } | Expired { .. } => Code::RequestExpired,
            MalformedAuthorization
            | AuthorizationMissingComponents(_)
            | QueryMissingComponents(_)
            | MalformedCredential(_)
            | InvalidCredentialTerminator(_)
            | HostNotSigned
            | MissingDate
            | MalformedDate(_) => Code::IncompleteSignature,
            MissingParameter(_) => Code::MissingParameter,
            InvalidParameterValue { .. } => Code::InvalidParameterValue,
        }
    }
}

/// Checks the request's signature and returns who signed it and how.
///
/// Which scheme applies: an `Authorization: AWS4-HMAC-SHA256 ...` header;
/// else an `X-Amz-Algorithm` query parameter; else `Signature` or
/// `SignatureVersion` among `params`; else any other `Authorization` header
/// is rejected, and a request with none of these is unauthenticated.
pub fn verify(
    req: &SignedRequest<'_>,
    params: &Params,
    now: SystemTime,
    lookup: &dyn SecretLookup,
) -> Result<Verified, AuthError> {
    let authorization = req.headers.get(axum::http::header::AUTHORIZATION);
    if let Some(value) = authorization {
        let value = value.to_str().map_err(|_| AuthError::MalformedAuthorization)?;
        if let Some(rest) = sigv4::strip_algorithm(value) {
            return sigv4::verify_header(req, rest, now, lookup);
        }
    }
    if encoding::query_has_param(req.query, "X-Amz-Algorithm") {
        return sigv4::verify_presigned(req, now, lookup);
    }
    if params.iter().any(|(k, _)| k == "Signature" || k == "SignatureVersion") {
        return sigv2::verify(req, params, now, lookup);
    }
    match authorization {
        Some(value) => Err(unknown_scheme(value.to_str().unwrap_or_default())),
        None => Err(AuthError::MissingAuthentication),
    }
}

/// An `Authorization` header in a scheme other than SigV4: another AWS
/// algorithm is unsupported; anything else is malformed.
fn unknown_scheme(value: &str) -> AuthError {
    let scheme = value.split_whitespace().next().unwrap_or_default();
    if scheme.starts_with("AWS") {
        AuthError::UnsupportedAlgorithm(clip(scheme))
    } else {
        AuthError::MalformedAuthorization
    }
}

/// Constant-time equality of two byte strings (lengths are not secret).
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Shortens client-supplied text echoed in an error message.
fn clip(s: &str) -> String {
    const MAX: usize = 128;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_maps_to_one_of_the_documented_ec2_codes() {
        let all = [
            AuthError::MissingAuthentication,
            AuthError::UnknownAccessKey,
            AuthError::UnsupportedAlgorithm("AWS3".into()),
            AuthError::UnsupportedSignatureVersion("1".into()),
            AuthError::UnsupportedSignatureMethod("HmacMD5".into()),
            AuthError::SignatureDoesNotMatch,
            AuthError::ContentSha256Mismatch,
            AuthError::RequestTimeTooSkewed { request_time: "a".into(), server_time: "b".into() },
            AuthError::MalformedAuthorization,
            AuthError::HostNotSigned,
            AuthError::MissingParameter("Timestamp"),
        ];
        let codes: Vec<_> = all.iter().map(AuthError::ec2_code).collect();
        assert_eq!(
            codes,
            [
                "AuthFailure",
                "AuthFailure",
                "AuthFailure",
                "AuthFailure",
                "AuthFailure",
                "SignatureDoesNotMatch",
                "SignatureDoesNotMatch",
                "RequestExpired",
                "IncompleteSignature",
                "IncompleteSignature",
                "MissingParameter",
            ]
        );
    }

    #[test]
    fn missing_components_are_listed_the_way_aws_words_them() {
        let e = AuthError::AuthorizationMissingComponents(vec!["Credential", "Signature"]);
        assert_eq!(
            e.to_string(),
            "Authorization header requires 'Credential' parameter. \
             Authorization header requires 'Signature' parameter."
        );
    }

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(clip("AWS3"), "AWS3");
        let long = "é".repeat(100);
        let clipped = clip(&long);
        assert!(clipped.len() <= 131 && clipped.ends_with("..."));
    }
}
