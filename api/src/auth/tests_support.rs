//! Shared pieces of the round-trip and refusal tests: fixed credentials
//! and clock, the client styles signed by the signer, and [`Wire`], a
//! request as the server receives it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

pub(super) const AKID: &str = "AKIDROUNDTRIP";
pub(super) const SECRET: &str = "round/trip+Secret0123456789EXAMPLE";
pub(super) const T0: u64 = 1_795_601_410; // 2026-11-25T10:10:10Z
pub(super) const HOST: &str = "127.0.0.1:8773";
pub(super) const PATH: &str = "/services/compute";

pub(super) fn at(offset_secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0.saturating_add_signed(offset_secs))
}

pub(super) fn keys() -> HashMap<String, String> {
    HashMap::from([(AKID.to_owned(), SECRET.to_owned())])
}

pub(super) fn key(region: &'static str) -> V4Key<'static> {
    V4Key { access_key_id: AKID, secret_access_key: SECRET, region, service: "ec2" }
}

pub(super) fn p(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A request as the server receives it.
pub(super) struct Wire {
    pub(super) method: &'static str,
    pub(super) query: String,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
}

impl Wire {
    pub(super) fn new(
        method: &'static str,
        query: String,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Self {
        let mut map = HeaderMap::new();
        for (n, v) in headers {
            map.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        Self { method, query, headers: map, body }
    }

    pub(super) fn verify_at(
        &self,
        now: SystemTime,
        lookup: &dyn SecretLookup,
    ) -> Result<Verified, AuthError> {
        let mut params: Vec<(String, String)> =
            form_urlencoded::parse(self.query.as_bytes()).into_owned().collect();
        params.extend(form_urlencoded::parse(&self.body).into_owned());
        let req = SignedRequest {
            method: self.method,
            path: PATH,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        };
        verify(&req, &params, now, lookup)
    }

    pub(super) fn verify(&self) -> Result<Verified, AuthError> {
        self.verify_at(at(5), &keys())
    }

    pub(super) fn set(&mut self, name: &'static str, value: &str) {
        self.headers.insert(name, HeaderValue::from_str(value).unwrap());
    }

    pub(super) fn header(&self, name: &str) -> String {
        self.headers.get(name).unwrap().to_str().unwrap().to_owned()
    }
}

pub(super) fn v4_post(
    mut headers: Vec<(String, String)>,
    body: &str,
    region: &'static str,
    now: SystemTime,
) -> Wire {
    let req = V4Request { method: "POST", host: HOST, path: PATH, query: "", body: body.as_bytes() };
    sign_v4_headers(&req, &mut headers, &key(region), now);
    Wire::new("POST", String::new(), &headers, body.as_bytes().to_vec())
}

pub(super) fn boto3_post() -> Wire {
    let body = encode_params(&p(&[
        ("Action", "DescribeInstances"),
        ("Version", "2016-11-15"),
        ("Filter.1.Name", "tag:Name"),
        ("Filter.1.Value.1", "web server/1* café"),
    ]));
    v4_post(boto3_headers(), &body, "us-east-1", at(0))
}

pub(super) fn euca2ools_post() -> Wire {
    let body = "Action=DescribeImages&ExecutableBy.1=self&Version=2015-10-01";
    v4_post(euca2ools_headers(body.as_bytes()), body, "undefined-4242", at(0))
}

pub(super) fn sigv2(method: &'static str, sha256: bool, now: SystemTime) -> Wire {
    let mut params = p(&[
        ("Action", "RegisterImage"),
        ("ImageLocation", "my bucket/image.manifest.xml"),
        ("Name", "café ~image*+"),
        ("Version", "2014-06-15"),
    ]);
    sign_v2_query(&V2Target { method, host: HOST, path: PATH }, &mut params, AKID, SECRET, sha256, now);
    let host = vec![("Host".to_owned(), HOST.to_owned())];
    match method {
        "GET" => Wire::new("GET", encode_params(&params), &host, Vec::new()),
        _ => {
            let mut headers = host;
            headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
            Wire::new("POST", String::new(), &headers, encode_params(&params).into_bytes())
        }
    }
}

pub(super) fn presigned(expires: u64) -> Wire {
    let query = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-0123";
    let req = V4Request { method: "GET", host: HOST, path: PATH, query, body: b"" };
    let query = presign_v4(&req, &key("us-east-1"), at(0), expires);
    Wire::new("GET", query, &[("Host".into(), HOST.into())], Vec::new())
}

pub(super) fn ok(method: AuthMethod) -> Result<Verified, AuthError> {
    Ok(Verified { access_key_id: AKID.to_owned(), method })
}
