//! Cross-check against real clients: requests as boto3/botocore 1.43.11
//! put them on the wire (SigV4 header, Date-header SigV4, presigned URL,
//! SigV2), plus an independent boto 2-style HmacSHA1 request, captured in
//! `fixtures/botocore_requests.txt` by `fixtures/gen_botocore_fixtures.py`
//! with the clock frozen at 2026-11-25T10:10:10Z. Every one must verify a
//! few seconds later, and fail with a wrong secret, a changed parameter or
//! a clock 20 minutes on.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

const FIXTURE: &str = include_str!("fixtures/botocore_requests.txt");
const ACCESS_KEY: &str = "AKIDYUKARIEXAMPLE";
const SECRET: &str = "yukari/Secret+Key/EXAMPLEKEY0123456789abc";
const SIGNED_AT: u64 = 1_795_601_410; // 2026-11-25T10:10:10Z

#[derive(Default)]
struct Case {
    name: String,
    expect: String,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut case = Case::default();
    for line in FIXTURE.lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "case" => case = Case { name: value.to_owned(), ..Case::default() },
            "expect" => case.expect = value.to_owned(),
            "method" => case.method = value.to_owned(),
            "path" => case.path = value.to_owned(),
            "query" => case.query = value.to_owned(),
            "header" => {
                let (n, v) = value.split_once(": ").expect("header NAME: VALUE");
                case.headers.push((n.to_owned(), v.to_owned()));
            }
            "body-hex" => case.body = hex::decode(value).expect("hex body"),
            "end" => out.push(std::mem::take(&mut case)),
            other => panic!("unknown fixture line {other:?}"),
        }
    }
    out
}

impl Case {
    fn verify(&self, query: &str, body: &[u8], now: SystemTime, secret: &str) -> Result<Verified, AuthError> {
        let mut headers = HeaderMap::new();
        for (n, v) in &self.headers {
            headers.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        let mut params: Vec<(String, String)> =
            form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        params.extend(form_urlencoded::parse(body).into_owned());
        let req = SignedRequest { method: &self.method, path: &self.path, query, headers: &headers, body };
        let keys = HashMap::from([(ACCESS_KEY.to_owned(), secret.to_owned())]);
        verify(&req, &params, now, &keys)
    }

    fn expected_method(&self) -> AuthMethod {
        match self.expect.as_str() {
            "sigv4-header" => AuthMethod::SigV4Header,
            "sigv4-query" => AuthMethod::SigV4Query,
            "sigv2-sha256" => AuthMethod::SigV2 { sha256: true },
            "sigv2-sha1" => AuthMethod::SigV2 { sha256: false },
            other => panic!("unknown expectation {other:?}"),
        }
    }
}

fn at(offset_secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(SIGNED_AT + offset_secs)
}

#[test]
fn the_fixture_has_every_client_style() {
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "boto3-sigv4-describe-regions",
            "boto3-sigv4-filters-odd-region",
            "boto3-presigned-describe-instances",
            "botocore-sigv2-describe-images",
            "botocore-sigv4-date-header",
            "botocore-sigv2-get-register-image",
            "boto2-style-sigv2-sha1-get",
        ]
    );
}

#[test]
fn every_botocore_request_verifies() {
    for case in cases() {
        let verified = case.verify(&case.query, &case.body, at(30), SECRET);
        assert_eq!(
            verified,
            Ok(Verified { access_key_id: ACCESS_KEY.into(), method: case.expected_method() }),
            "{}",
            case.name
        );
    }
}

#[test]
fn every_botocore_request_fails_with_another_secret() {
    for case in cases() {
        let result = case.verify(&case.query, &case.body, at(30), "not-the-secret");
        assert_eq!(result, Err(AuthError::SignatureDoesNotMatch), "{}", case.name);
    }
}

#[test]
fn every_botocore_request_fails_when_a_parameter_value_changes() {
    for case in cases() {
        // Each request carries a Version parameter, in the query or the body.
        let (query, body) = (case.query.replace("Version=20", "Version=19"), {
            String::from_utf8(case.body.clone()).unwrap().replace("Version=20", "Version=19").into_bytes()
        });
        assert!(query != case.query || body != case.body, "{} has no Version", case.name);
        let err = case.verify(&query, &body, at(30), SECRET).unwrap_err();
        assert_eq!(err.ec2_code(), "SignatureDoesNotMatch", "{}: {err:?}", case.name);
    }
}

#[test]
fn every_botocore_request_has_expired_twenty_minutes_later() {
    for case in cases() {
        let err = case.verify(&case.query, &case.body, at(20 * 60), SECRET).unwrap_err();
        assert_eq!(err.ec2_code(), "RequestExpired", "{}: {err:?}", case.name);
    }
}
