//! Published SigV4 vectors: the AWS SigV4 test suite (`AKIDEXAMPLE`,
//! 20150830T123600Z, us-east-1, service `service`) and the IAM ListUsers
//! example from the AWS General Reference. Each checks the canonical
//! request, the string to sign and the signature against the published
//! values, then verifies the request through [`super::verify`].

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use super::encoding::{canonical_query, canonical_uri_candidates};
use super::sigv4::{
    canonical_headers, canonical_request, hmac_sha256, sha256_hex, signing_key, string_to_sign,
};
use super::{AuthError, AuthMethod, SignedRequest, Verified, verify};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SCOPE: &str = "20150830/us-east-1/service/aws4_request";

struct Vector {
    method: &'static str,
    query: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    signed_headers: &'static str,
    signature: &'static str,
    scope: &'static str,
}

impl Vector {
    fn header_map(&self, with_authorization: bool) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (n, v) in self.headers {
            map.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_static(v));
        }
        if with_authorization {
            let auth = format!(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/{}, SignedHeaders={}, Signature={}",
                self.scope, self.signed_headers, self.signature
            );
            map.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        }
        map
    }

    fn canonical_request(&self) -> String {
        let headers = canonical_headers(&self.header_map(false), self.signed_headers).unwrap();
        let uri = &canonical_uri_candidates("/")[0];
        let query = canonical_query(self.query, None);
        let payload = sha256_hex(self.body.as_bytes());
        canonical_request(self.method, uri, &query, &headers, self.signed_headers, &payload)
    }

    fn verify(&self) -> Result<Verified, AuthError> {
        let headers = self.header_map(true);
        let req = SignedRequest {
            method: self.method,
            path: "/",
            query: self.query,
            headers: &headers,
            body: self.body.as_bytes(),
        };
        let now = UNIX_EPOCH + Duration::from_secs(1_440_938_160 + 60); // 20150830T123700Z
        let keys = HashMap::from([("AKIDEXAMPLE".to_owned(), SECRET.to_owned())]);
        verify(&req, &[], now, &keys)
    }
}

fn simple(method: &'static str, query: &'static str, signature: &'static str) -> Vector {
    Vector {
        method,
        query,
        headers: &[("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
        body: "",
        signed_headers: "host;x-amz-date",
        signature,
        scope: SCOPE,
    }
}

fn assert_vector(v: &Vector, creq: &str, sts_hash: &str) {
    assert_eq!(v.canonical_request(), creq);
    let sts = string_to_sign("20150830T123600Z", v.scope, creq);
    assert_eq!(sts, format!("AWS4-HMAC-SHA256\n20150830T123600Z\n{}\n{sts_hash}", v.scope));
    let key = signing_key(SECRET, "20150830", "us-east-1", v.scope.split('/').nth(2).unwrap());
    assert_eq!(hex::encode(hmac_sha256(&key, sts.as_bytes())), v.signature);
    assert_eq!(v.verify().map(|ok| ok.method), Ok(AuthMethod::SigV4Header));
}

#[test]
fn get_vanilla_query() {
    let v = simple("GET", "", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    let creq = format!(
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n{EMPTY_SHA256}"
    );
    assert_vector(&v, &creq, "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

#[test]
fn get_vanilla_query_order_key_case() {
    let v = simple(
        "GET",
        "Param2=value2&Param1=value1",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    );
    let creq = format!(
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n{EMPTY_SHA256}"
    );
    assert_vector(&v, &creq, "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0");
}

#[test]
fn get_vanilla_utf8_query() {
    let v = simple("GET", "ሴ=bar", "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04");
    let creq = format!(
        "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n{EMPTY_SHA256}"
    );
    assert_vector(&v, &creq, "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073");
}

#[test]
fn get_header_value_trim_and_key_duplicate() {
    let trim = Vector {
        headers: &[
            ("Host", "example.amazonaws.com"),
            ("My-Header1", " value1"),
            ("My-Header2", " \"a   b   c\""),
            ("X-Amz-Date", "20150830T123600Z"),
        ],
        signed_headers: "host;my-header1;my-header2;x-amz-date",
        ..simple("GET", "", "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736")
    };
    let creq = format!(
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n{EMPTY_SHA256}"
    );
    assert_vector(&trim, &creq, "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7");

    let duplicate = Vector {
        headers: &[
            ("Host", "example.amazonaws.com"),
            ("My-Header1", "value2"),
            ("My-Header1", "value2"),
            ("My-Header1", "value1"),
            ("X-Amz-Date", "20150830T123600Z"),
        ],
        signed_headers: "host;my-header1;x-amz-date",
        ..simple("GET", "", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea")
    };
    let creq = format!(
        "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n{EMPTY_SHA256}"
    );
    assert_vector(&duplicate, &creq, "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c");
}

/// The suite's `.creq` file for this case also lists content-length,
/// but its `.sts` hash and `.authz` signature are those of the canonical
/// request below (content-type;host;x-amz-date), checked independently.
#[test]
fn post_x_www_form_urlencoded() {
    let v = Vector {
        method: "POST",
        headers: &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Content-Length", "13"),
        ],
        body: "Param1=value1",
        signed_headers: "content-type;host;x-amz-date",
        ..simple("POST", "", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    };
    let creq = "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e";
    assert_vector(&v, creq, "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
}

#[test]
fn iam_list_users_example() {
    let v = Vector {
        method: "GET",
        query: "Action=ListUsers&Version=2010-05-08",
        headers: &[
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("Host", "iam.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ],
        body: "",
        signed_headers: "content-type;host;x-amz-date",
        signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        scope: "20150830/us-east-1/iam/aws4_request",
    };
    let creq = format!(
        "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n{EMPTY_SHA256}"
    );
    assert_vector(&v, &creq, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
}

#[test]
fn a_published_vector_fails_once_any_signed_part_changes() {
    let mut v = simple(
        "GET",
        "Param2=value2&Param1=value1",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    );
    v.query = "Param2=value2&Param1=value0";
    assert_eq!(v.verify(), Err(AuthError::SignatureDoesNotMatch));
}
