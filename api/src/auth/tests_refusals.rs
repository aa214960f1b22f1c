//! The refusals: what `verify` must reject, and with which EC2 code.

use std::collections::HashMap;

use axum::http::HeaderValue;

use super::tests_support::*;
use super::*;

#[test]
fn wrong_secret_is_signature_does_not_match_and_the_message_leaks_nothing() {
    let wire = boto3_post();
    let other_secret = "another/Secret0123456789EXAMPLE";
    let lookup = HashMap::from([(AKID.to_owned(), other_secret.to_owned())]);
    let err = wire.verify_at(at(5), &lookup).unwrap_err();
    assert_eq!(err, AuthError::SignatureDoesNotMatch);
    assert_eq!(err.ec2_code(), "SignatureDoesNotMatch");

    // The signature the server computed, with the secret it holds:
    let body = String::from_utf8(wire.body.clone()).unwrap();
    let req = V4Request { method: "POST", host: HOST, path: PATH, query: "", body: body.as_bytes() };
    let mut headers = boto3_headers();
    let other = V4Key { secret_access_key: other_secret, ..key("us-east-1") };
    sign_v4_headers(&req, &mut headers, &other, at(0));
    let expected = headers.last().unwrap().1.rsplit("Signature=").next().unwrap().to_owned();
    let message = err.to_string();
    assert!(!message.contains(&expected) && !message.contains(other_secret) && !message.contains(SECRET));
}

#[test]
fn body_tampered_after_signing_is_refused() {
    let mut wire = boto3_post();
    wire.body = b"Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-1".to_vec();
    assert_eq!(wire.verify(), Err(AuthError::SignatureDoesNotMatch));

    // euca2ools also sends the body hash, which now disagrees with the body.
    let mut wire = euca2ools_post();
    wire.body.extend_from_slice(b"&DryRun=true");
    assert_eq!(wire.verify(), Err(AuthError::ContentSha256Mismatch));
    assert_eq!(wire.verify().unwrap_err().ec2_code(), "SignatureDoesNotMatch");
}

#[test]
fn a_content_sha256_header_that_does_not_match_the_body_is_refused_even_if_signed() {
    let body = "Action=DescribeImages&Version=2015-10-01";
    let mut headers = euca2ools_headers(b"something else");
    headers.retain(|(n, _)| n != "Content-Length");
    let wire = v4_post(headers, body, "undefined-4242", at(0));
    assert_eq!(wire.verify(), Err(AuthError::ContentSha256Mismatch));
}

#[test]
fn requests_outside_the_fifteen_minute_window_have_expired() {
    let old = v4_post(boto3_headers(), "Action=DescribeRegions", "us-east-1", at(-20 * 60));
    let err = old.verify().unwrap_err();
    assert!(matches!(err, AuthError::RequestTimeTooSkewed { .. }), "{err:?}");
    assert_eq!(err.ec2_code(), "RequestExpired");
    let future = v4_post(boto3_headers(), "Action=DescribeRegions", "us-east-1", at(20 * 60));
    assert_eq!(future.verify().unwrap_err().ec2_code(), "RequestExpired");
    let fourteen = v4_post(boto3_headers(), "Action=DescribeRegions", "us-east-1", at(-14 * 60));
    assert_eq!(fourteen.verify(), ok(AuthMethod::SigV4Header));

    let v2 = sigv2("GET", true, at(-20 * 60));
    assert_eq!(v2.verify().unwrap_err().ec2_code(), "RequestExpired");
}

#[test]
fn credential_scope_date_must_be_the_request_date() {
    let mut wire = boto3_post();
    let auth = wire.header("authorization").replace("/20261125/", "/20261124/");
    wire.set("authorization", &auth);
    let err = wire.verify().unwrap_err();
    assert!(matches!(err, AuthError::CredentialScopeDateMismatch { .. }), "{err:?}");
    assert_eq!(err.ec2_code(), "SignatureDoesNotMatch");
}

#[test]
fn unknown_access_key_and_missing_credentials_are_auth_failures() {
    let empty: HashMap<String, String> = HashMap::new();
    assert_eq!(boto3_post().verify_at(at(5), &empty), Err(AuthError::UnknownAccessKey));
    assert_eq!(sigv2("POST", true, at(0)).verify_at(at(5), &empty), Err(AuthError::UnknownAccessKey));

    let unsigned =
        Wire::new("POST", String::new(), &[("Host".into(), HOST.into())], b"Action=DescribeRegions".to_vec());
    let err = unsigned.verify().unwrap_err();
    assert_eq!((err.clone(), err.ec2_code().as_str()), (AuthError::MissingAuthentication, "AuthFailure"));
}

#[test]
fn malformed_authorization_headers_are_incomplete_signatures() {
    let good = boto3_post().header("authorization");
    let cases = [
        "AWS4-HMAC-SHA256".to_owned(),
        "AWS4-HMAC-SHA256 Credential=AKIDROUNDTRIP/20261125/us-east-1/ec2/aws4_request".to_owned(),
        "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=00".to_owned(),
        good.replace("/us-east-1/ec2/", "/ec2/"),
        good.replace("aws4_request", "aws5_request"),
        good.replace("SignedHeaders=content-type;host;x-amz-date", "SignedHeaders=content-type;x-amz-date"),
        "Basic dXNlcjpwYXNz".to_owned(),
    ];
    for case in cases {
        let mut wire = boto3_post();
        wire.set("authorization", &case);
        let err = wire.verify().unwrap_err();
        assert_eq!(err.ec2_code(), "IncompleteSignature", "{case}: {err:?}");
    }

    let mut wire = boto3_post();
    wire.headers.remove("x-amz-date");
    assert_eq!(wire.verify(), Err(AuthError::MissingDate));
    wire.set("x-amz-date", "2026-11-25T10:10:10Z");
    assert!(matches!(wire.verify(), Err(AuthError::MalformedDate(_))));
}

#[test]
fn other_aws_algorithms_are_unsupported_auth_failures() {
    for scheme in [
        "AWS AKIDROUNDTRIP:c2lnbmF0dXJl",
        "AWS4-ECDSA-P256-SHA256 Credential=x",
        "AWS4-HMAC-SHA256X Credential=x",
    ] {
        let mut wire = boto3_post();
        wire.set("authorization", scheme);
        let err = wire.verify().unwrap_err();
        assert!(matches!(err, AuthError::UnsupportedAlgorithm(_)), "{scheme}: {err:?}");
        assert_eq!(err.ec2_code(), "AuthFailure");
    }
}

#[test]
fn a_signed_header_that_was_dropped_in_transit_is_refused() {
    let mut wire = boto3_post();
    wire.headers.remove("content-type");
    assert_eq!(wire.verify(), Err(AuthError::SignedHeaderMissing("content-type".into())));
}

#[test]
fn sigv2_refusals() {
    fn with(edit: impl Fn(&mut Vec<(String, String)>)) -> Result<Verified, AuthError> {
        let wire = sigv2("GET", true, at(0));
        let mut params: Vec<(String, String)> =
            form_urlencoded::parse(wire.query.as_bytes()).into_owned().collect();
        edit(&mut params);
        Wire::new("GET", encode_params(&params), &[("Host".into(), HOST.into())], Vec::new()).verify()
    }
    let set = |name: &'static str, value: &'static str| {
        move |params: &mut Vec<(String, String)>| {
            params.iter_mut().filter(|(k, _)| k == name).for_each(|(_, v)| *v = value.to_owned());
        }
    };
    assert_eq!(with(set("SignatureVersion", "1")), Err(AuthError::UnsupportedSignatureVersion("1".into())));
    assert_eq!(with(set("SignatureVersion", "0")).unwrap_err().ec2_code(), "AuthFailure");
    assert_eq!(with(set("SignatureMethod", "HmacMD5")).unwrap_err().ec2_code(), "AuthFailure");
    assert_eq!(with(set("Name", "other")), Err(AuthError::SignatureDoesNotMatch));
    assert_eq!(with(set("Signature", "AAAA")), Err(AuthError::SignatureDoesNotMatch));
    assert_eq!(
        with(|params| params.retain(|(k, _)| k != "Timestamp")),
        Err(AuthError::MissingParameter("Timestamp"))
    );
    assert_eq!(
        with(|params| params.retain(|(k, _)| k != "AWSAccessKeyId")),
        Err(AuthError::MissingParameter("AWSAccessKeyId"))
    );
}

#[test]
fn presigned_url_refusals() {
    let expired = presigned(300).verify_at(at(301), &keys()).unwrap_err();
    assert!(matches!(expired, AuthError::Expired { .. }), "{expired:?}");
    assert_eq!(expired.ec2_code(), "RequestExpired");
    assert_eq!(presigned(300).verify_at(at(299), &keys()), ok(AuthMethod::SigV4Query));
    assert_eq!(presigned(300).verify_at(at(-16 * 60), &keys()).unwrap_err().ec2_code(), "RequestExpired");
    assert_eq!(presigned(604_801).verify().unwrap_err().ec2_code(), "InvalidParameterValue");

    let edit = |from: &str, to: &str| {
        let mut wire = presigned(300);
        wire.query = wire.query.replace(from, to);
        wire.verify().unwrap_err()
    };
    assert_eq!(edit("&X-Amz-Signature=", "&X-Amz-Sig=").ec2_code(), "IncompleteSignature");
    assert_eq!(edit("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512").ec2_code(), "AuthFailure");
    assert_eq!(
        edit("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date").ec2_code(),
        "IncompleteSignature"
    );
    assert_eq!(edit("i-0123", "i-9999"), AuthError::SignatureDoesNotMatch);
    assert_eq!(edit("X-Amz-Expires=300", "X-Amz-Expires=3000"), AuthError::SignatureDoesNotMatch);
}

/// Deterministic single-byte mutations of a signed request never panic,
/// and never verify unless the change is only in letter case, spaces or
/// commas (hex signatures may be upper case; components are trimmed and
/// empty ones skipped).
#[test]
fn mutated_requests_never_panic_and_never_verify_when_meaningfully_changed() {
    let original = euca2ools_post();
    let auth = original.header("authorization");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const ALPHABET: &[u8] = b" ,;=/-_.:0aAfFzZ9\t%+\x7f";
    for _ in 0..3000 {
        let mut bytes = auth.clone().into_bytes();
        let at_index = (next() % bytes.len() as u64) as usize;
        match next() % 3 {
            0 => bytes[at_index] = ALPHABET[(next() % ALPHABET.len() as u64) as usize],
            1 => bytes.truncate(at_index),
            _ => bytes.insert(at_index, ALPHABET[(next() % ALPHABET.len() as u64) as usize]),
        }
        let Ok(value) = HeaderValue::from_bytes(&bytes) else {
            continue;
        };
        let mut wire = Wire::new("POST", String::new(), &[], original.body.clone());
        wire.headers = original.headers.clone();
        wire.headers.insert("authorization", value);
        if wire.verify().is_ok() {
            let squash = |b: &[u8]| -> Vec<u8> {
                b.iter()
                    .filter(|c| !c.is_ascii_whitespace() && **c != b',')
                    .map(u8::to_ascii_lowercase)
                    .collect()
            };
            assert_eq!(squash(&bytes), squash(auth.as_bytes()), "{}", String::from_utf8_lossy(&bytes));
        }
    }
}
