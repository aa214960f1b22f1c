//! The client side, for tests and benchmarks: signs EC2 Query requests as
//! boto3/botocore (SigV4 header, presigned URL), euca2ools 3 (SigV4 with
//! its own header set) and boto 2 / `euca-install-image` (SigV2) do.
//!
//! The canonicalisation is shared with the verifier, so a round trip alone
//! proves little; the published vectors in `sigv4.rs`/`sigv2.rs` and the
//! botocore fixtures pin both sides to what real clients produce.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::clock::{format_amz_date, format_iso8601, unix_secs};
use super::encoding::{canonical_query, canonical_uri_candidates, encode_pairs, trim_all};
use super::{sigv2, sigv4};

/// A request as a client is about to send it.
pub struct V4Request<'a> {
    pub method: &'a str,
    /// The `Host` header to send, with `:port` if not the default.
    pub host: &'a str,
    /// The path as it goes on the wire, e.g. `/services/compute`.
    pub path: &'a str,
    /// The query string as it goes on the wire (without `?`), may be empty.
    pub query: &'a str,
    pub body: &'a [u8],
}

/// Credentials and credential scope for SigV4.
pub struct V4Key<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    /// Any region name; euca2ools uses made-up ones like `undefined-4242`.
    pub region: &'a str,
    /// `ec2` for botocore; anything else is accepted too.
    pub service: &'a str,
}

/// Where a SigV2 request goes.
pub struct V2Target<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
}

/// Headers botocore never signs (its `SIGNED_HEADERS_BLACKLIST`).
const NEVER_SIGNED: [&str; 11] = [
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// The headers boto3 sends on an EC2 form POST before signing (it signs
/// `content-type;host;x-amz-date`; `User-Agent` is never signed).
pub fn boto3_headers() -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), "application/x-www-form-urlencoded; charset=utf-8".into()),
        ("User-Agent".into(), "Boto3/1.43.11 Botocore/1.43.11 (yukari test)".into()),
    ]
}

/// The headers euca2ools 3.4 (requestbuilder) sends on a form POST before
/// signing. It signs every header but `User-Agent`, which gives
/// `accept;accept-encoding;content-length;content-type;host;x-amz-content-sha256;x-amz-date`;
/// its content type has no charset.
pub fn euca2ools_headers(body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("Accept".into(), "*/*".into()),
        ("Accept-Encoding".into(), "gzip, deflate".into()),
        ("Content-Length".into(), body.len().to_string()),
        ("Content-Type".into(), "application/x-www-form-urlencoded".into()),
        ("User-Agent".into(), "euca2ools/3.4.1 (yukari test)".into()),
        ("X-Amz-Content-SHA256".into(), sigv4::sha256_hex(body)),
    ]
}

/// Signs a request with SigV4 in the `Authorization` header.
///
/// `headers` holds what the client will send; this adds `Host` (if
/// absent), `X-Amz-Date` and `Authorization`, replacing earlier ones. Every
/// header in the list is signed except those botocore never signs (such as
/// `User-Agent`), so the list chooses the signed set. The payload hash is
/// the `X-Amz-Content-SHA256` header if the list has one, else the body's.
pub fn sign_v4_headers(
    req: &V4Request<'_>,
    headers: &mut Vec<(String, String)>,
    key: &V4Key<'_>,
    now: SystemTime,
) {
    headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization") && !n.eq_ignore_ascii_case("x-amz-date"));
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        headers.insert(0, ("Host".into(), req.host.into()));
    }
    let amz_date = format_amz_date(unix_secs(now));
    headers.push(("X-Amz-Date".into(), amz_date.clone()));

    let mut names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .filter(|n| !NEVER_SIGNED.contains(&n.as_str()))
        .collect();
    names.sort();
    names.dedup();
    let mut canonical_headers = String::new();
    for name in &names {
        let values: Vec<String> =
            headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| trim_all(v)).collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let signed_headers = names.join(";");
    let payload = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"))
        .map_or_else(|| sigv4::sha256_hex(req.body), |(_, v)| v.trim().to_owned());

    let (scope, signature) = sign_v4(
        req,
        key,
        &amz_date,
        &canonical_query(req.query, None),
        &canonical_headers,
        &signed_headers,
        &payload,
    );
    headers.push((
        "Authorization".into(),
        format!(
            "{} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            sigv4::ALGORITHM,
            key.access_key_id
        ),
    ));
}

/// Presigns a request the way botocore's `SigV4QueryAuth` does for EC2:
/// signs only `host`, hashes the body (empty for a GET) and returns the
/// whole query string to send: `req.query` followed by the `X-Amz-*`
/// parameters, `X-Amz-Signature` last.
pub fn presign_v4(req: &V4Request<'_>, key: &V4Key<'_>, now: SystemTime, expires_secs: u64) -> String {
    presign_v4_with_payload(req, key, now, expires_secs, &sigv4::sha256_hex(req.body))
}

/// [`presign_v4`] with a chosen payload hash (S3-style signers use
/// `UNSIGNED-PAYLOAD`).
pub(crate) fn presign_v4_with_payload(
    req: &V4Request<'_>,
    key: &V4Key<'_>,
    now: SystemTime,
    expires_secs: u64,
    payload_hash: &str,
) -> String {
    let amz_date = format_amz_date(unix_secs(now));
    let day = amz_date.get(..8).unwrap_or_default();
    let credential = format!("{}/{day}/{}/{}/aws4_request", key.access_key_id, key.region, key.service);
    let auth: Vec<(String, String)> = [
        ("X-Amz-Algorithm", sigv4::ALGORITHM.to_owned()),
        ("X-Amz-Credential", credential),
        ("X-Amz-Date", amz_date.clone()),
        ("X-Amz-Expires", expires_secs.to_string()),
        ("X-Amz-SignedHeaders", "host".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut query = req.query.to_owned();
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&encode_pairs(&auth));
    let canonical_headers = format!("host:{}\n", trim_all(req.host));
    let (_, signature) = sign_v4(
        req,
        key,
        &amz_date,
        &canonical_query(&query, None),
        &canonical_headers,
        "host",
        payload_hash,
    );
    format!("{query}&X-Amz-Signature={signature}")
}

/// The credential scope and hex signature of a canonical request.
fn sign_v4(
    req: &V4Request<'_>,
    key: &V4Key<'_>,
    amz_date: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> (String, String) {
    let day = amz_date.get(..8).unwrap_or_default();
    let scope = format!("{day}/{}/{}/aws4_request", key.region, key.service);
    let uri = canonical_uri_candidates(req.path).swap_remove(0);
    let creq = sigv4::canonical_request(
        req.method,
        &uri,
        canonical_query,
        canonical_headers,
        signed_headers,
        payload_hash,
    );
    let signing_key = sigv4::signing_key(key.secret_access_key, day, key.region, key.service);
    let sts = sigv4::string_to_sign(amz_date, &scope, &creq);
    (scope, hex::encode(sigv4::hmac_sha256(&signing_key, sts.as_bytes())))
}

/// Signs parameters with SigV2, as boto 2 and `euca-install-image` do:
/// replaces any `AWSAccessKeyId`, `SignatureVersion`, `SignatureMethod`,
/// `Timestamp` and `Signature` in `params` with fresh ones. Send the result
/// with [`encode_params`] as the query string (GET) or form body (POST).
pub fn sign_v2_query(
    target: &V2Target<'_>,
    params: &mut Vec<(String, String)>,
    access_key_id: &str,
    secret_access_key: &str,
    sha256: bool,
    now: SystemTime,
) {
    const AUTH_PARAMS: [&str; 5] =
        ["AWSAccessKeyId", "SignatureVersion", "SignatureMethod", "Timestamp", "Signature"];
    params.retain(|(k, _)| !AUTH_PARAMS.contains(&k.as_str()));
    let method = if sha256 { "HmacSHA256" } else { "HmacSHA1" };
    params.push(("AWSAccessKeyId".into(), access_key_id.into()));
    params.push(("SignatureVersion".into(), "2".into()));
    params.push(("SignatureMethod".into(), method.into()));
    params.push(("Timestamp".into(), format_iso8601(unix_secs(now))));
    let host = target.host.to_ascii_lowercase();
    let sts = sigv2::string_to_sign(target.method, &host, target.path, params);
    let signature = STANDARD.encode(sigv2::sign(secret_access_key, &sts, sha256));
    params.push(("Signature".into(), signature));
}

/// RFC 3986-encodes parameters, in order, for a query string or form body.
pub fn encode_params(params: &[(String, String)]) -> String {
    encode_pairs(params)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// Rebuilds the published IAM ListUsers example through the signer.
    #[test]
    fn signer_reproduces_the_iam_list_users_example() {
        let req = V4Request {
            method: "GET",
            host: "iam.amazonaws.com",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            body: b"",
        };
        let key = V4Key {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "iam",
        };
        let mut headers =
            vec![("Content-Type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned())];
        sign_v4_headers(&req, &mut headers, &key, UNIX_EPOCH + Duration::from_secs(1_440_938_160));
        let authorization = &headers.last().unwrap().1;
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn euca2ools_headers_give_euca2ools_signed_header_list() {
        let body = b"Action=DescribeImages&Version=2015-10-01";
        let mut headers = euca2ools_headers(body);
        let req = V4Request { method: "POST", host: "h:8773", path: "/", query: "", body };
        let key =
            V4Key { access_key_id: "A", secret_access_key: "S", region: "undefined-4242", service: "ec2" };
        sign_v4_headers(&req, &mut headers, &key, UNIX_EPOCH);
        let authorization = &headers.last().unwrap().1;
        assert!(authorization.contains(
            "SignedHeaders=accept;accept-encoding;content-length;content-type;host;x-amz-content-sha256;x-amz-date,"
        ));
        assert!(authorization.contains("Credential=A/19700101/undefined-4242/ec2/aws4_request,"));
    }

    #[test]
    fn signing_twice_replaces_the_auth_parameters() {
        let target = V2Target { method: "GET", host: "h", path: "/" };
        let mut params = vec![("Action".to_owned(), "DescribeRegions".to_owned())];
        sign_v2_query(&target, &mut params, "A", "S", true, UNIX_EPOCH);
        sign_v2_query(&target, &mut params, "A", "S", false, UNIX_EPOCH);
        assert_eq!(params.len(), 6);
        assert!(params.contains(&("SignatureMethod".to_owned(), "HmacSHA1".to_owned())));
        assert!(params.contains(&("Timestamp".to_owned(), "1970-01-01T00:00:00Z".to_owned())));
    }
}
