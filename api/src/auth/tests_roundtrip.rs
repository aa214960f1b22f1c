//! Round trips of the signer through `verify` for each client style:
//! boto3 and euca2ools SigV4 headers, SigV2 with either hash on GET and
//! POST, and presigned URLs.

use super::signer::presign_v4_with_payload;
use super::tests_support::*;
use super::*;

#[test]
fn boto3_style_headers_round_trip() {
    let wire = boto3_post();
    assert!(wire.header("authorization").contains("SignedHeaders=content-type;host;x-amz-date,"));
    assert_eq!(wire.verify(), ok(AuthMethod::SigV4Header));
}

#[test]
fn boto3_style_get_with_query_round_trips() {
    let query = encode_params(&p(&[
        ("Action", "DescribeRegions"),
        ("RegionName.1", "a b"),
        ("Version", "2016-11-15"),
    ]));
    let req = V4Request { method: "GET", host: HOST, path: PATH, query: &query, body: b"" };
    let mut headers = boto3_headers();
    sign_v4_headers(&req, &mut headers, &key("us-east-1"), at(0));
    assert_eq!(Wire::new("GET", query, &headers, Vec::new()).verify(), ok(AuthMethod::SigV4Header));
}

#[test]
fn euca2ools_style_headers_round_trip() {
    let wire = euca2ools_post();
    assert_eq!(wire.header("content-type"), "application/x-www-form-urlencoded");
    assert!(wire.header("authorization").contains(
        "Credential=AKIDROUNDTRIP/20261125/undefined-4242/ec2/aws4_request, \
         SignedHeaders=accept;accept-encoding;content-length;content-type;host;x-amz-content-sha256;x-amz-date,"
    ));
    assert_eq!(wire.verify(), ok(AuthMethod::SigV4Header));
}

#[test]
fn sigv2_round_trips_for_get_and_post_with_both_hashes() {
    for method in ["GET", "POST"] {
        for sha256 in [true, false] {
            let wire = sigv2(method, sha256, at(0));
            assert_eq!(wire.verify(), ok(AuthMethod::SigV2 { sha256 }), "{method} sha256={sha256}");
        }
    }
}

#[test]
fn presigned_url_round_trips_with_body_hash_or_unsigned_payload() {
    assert_eq!(presigned(300).verify(), ok(AuthMethod::SigV4Query));

    let req = V4Request { method: "GET", host: HOST, path: PATH, query: "Action=DescribeRegions", body: b"" };
    let query = presign_v4_with_payload(&req, &key("r"), at(0), 300, UNSIGNED_PAYLOAD);
    let wire = Wire::new("GET", query, &[("Host".into(), HOST.into())], Vec::new());
    assert_eq!(wire.verify(), ok(AuthMethod::SigV4Query));
}

#[test]
fn an_explicit_unsigned_payload_is_accepted() {
    let body = "Action=DescribeImages&Version=2015-10-01";
    let headers = vec![("X-Amz-Content-SHA256".to_owned(), UNSIGNED_PAYLOAD.to_owned())];
    assert_eq!(v4_post(headers, body, "r", at(0)).verify(), ok(AuthMethod::SigV4Header));
}
