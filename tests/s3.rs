//! Walrus (S3) end to end: the AWS CLI, curl and hand-signed requests
//! against `yukari up`, with two accounts.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

/// `aws s3api ARGS` (or `aws s3 ARGS`) as the account whose eucarc is `env`.
fn aws(cloud: &Cloud, env: &HashMap<String, String>, service: &str, args: &[&str]) -> Output {
    cloud.client("aws").envs(env).args([service]).args(args).args(["--output", "json"]).output().unwrap()
}

fn ok(out: Output) -> Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The error code in the AWS CLI's message, e.g. `NoSuchKey` or `304`.
fn refused(out: Output) -> String {
    assert!(!out.status.success(), "expected a refusal, got {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    err.split("An error occurred (").nth(1).and_then(|s| s.split(')').next()).unwrap_or(&err).to_owned()
}

fn admin(cloud: &Cloud) -> HashMap<String, String> {
    cloud.env.clone()
}

fn account(cloud: &Cloud, name: &str) -> HashMap<String, String> {
    let out = yukari().args(["account", "create", name, "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    parse_eucarc(&std::fs::read_to_string(cloud.dir.join("accounts").join(name).join("eucarc")).unwrap())
}

fn write(path: &Path, bytes: &[u8]) -> String {
    std::fs::write(path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn curl(args: &[&str]) -> (u16, Vec<u8>) {
    let out =
        Command::new("curl").args(["-s", "-o", "-", "-w", "\n%{http_code}"]).args(args).output().unwrap();
    let body = out.stdout;
    let cut = body.iter().rposition(|b| *b == b'\n').unwrap();
    let code = String::from_utf8_lossy(&body[cut + 1..]).trim().parse().unwrap();
    (code, body[..cut].to_vec())
}

fn keys(listing: &Value) -> Vec<String> {
    listing["Contents"].as_array().map(|c| c.iter().map(|o| text(&o["Key"])).collect()).unwrap_or_default()
}

#[test]
fn buckets_and_objects_through_the_aws_cli() {
    let cloud = Cloud::start();
    let env = admin(&cloud);
    let api = |args: &[&str]| aws(&cloud, &env, "s3api", args);
    let temp = tempfile::tempdir().unwrap();

    // eucarc names Walrus's own port for the AWS CLI and euca2ools.
    assert_eq!(env["AWS_ENDPOINT_URL_S3"], format!("http://127.0.0.1:{}/", cloud.s3_port));
    assert_eq!(env["S3_URL"], env["AWS_ENDPOINT_URL_S3"]);

    ok(aws(&cloud, &env, "s3", &["mb", "s3://photos"]));
    assert_eq!(refused(api(&["create-bucket", "--bucket", "photos"])), "BucketAlreadyOwnedByYou");
    assert_eq!(refused(api(&["create-bucket", "--bucket", "Bad_Name"])), "InvalidBucketName");
    let buckets = ok(api(&["list-buckets"]));
    assert_eq!(text(&buckets["Buckets"][0]["Name"]), "photos");
    assert_eq!(buckets["Buckets"].as_array().unwrap().len(), 1);

    // PUT with standard headers and metadata; HEAD and GET give them back.
    let file = write(&temp.path().join("cat.jpg"), b"meow meow");
    let put = ok(api(&[
        "put-object",
        "--bucket",
        "photos",
        "--key",
        "2026/cat.jpg",
        "--body",
        &file,
        "--content-type",
        "image/jpeg",
        "--cache-control",
        "max-age=60",
        "--content-disposition",
        "attachment; filename=cat.jpg",
        "--metadata",
        "camera=nikon,owner=alice",
    ]));
    assert_eq!(
        text(&put["ETag"]),
        "\"1c96f5f9ba0b1b1c3ba0d3a9d1e6d8b4\""
            .replace("1c96f5f9ba0b1b1c3ba0d3a9d1e6d8b4", &md5_hex(b"meow meow"))
    );
    let head = ok(api(&["head-object", "--bucket", "photos", "--key", "2026/cat.jpg"]));
    assert_eq!(head["ContentLength"], 9);
    assert_eq!(text(&head["ContentType"]), "image/jpeg");
    assert_eq!(text(&head["CacheControl"]), "max-age=60");
    assert_eq!(text(&head["ContentDisposition"]), "attachment; filename=cat.jpg");
    assert_eq!(head["Metadata"], serde_json::json!({"camera": "nikon", "owner": "alice"}));
    let out = temp.path().join("out");
    let got = ok(api(&["get-object", "--bucket", "photos", "--key", "2026/cat.jpg", out.to_str().unwrap()]));
    assert_eq!(std::fs::read(&out).unwrap(), b"meow meow");
    assert_eq!(got["ETag"], put["ETag"]);

    // Ranges and conditions.
    ok(api(&[
        "put-object",
        "--bucket",
        "photos",
        "--key",
        "2026/pub.jpg",
        "--body",
        &file,
        "--acl",
        "public-read",
    ]));
    let ranged = ok(api(&[
        "get-object",
        "--bucket",
        "photos",
        "--key",
        "2026/cat.jpg",
        "--range",
        "bytes=5-",
        out.to_str().unwrap(),
    ]));
    assert_eq!(std::fs::read(&out).unwrap(), b"meow");
    assert_eq!(text(&ranged["ContentRange"]), "bytes 5-8/9");
    let etag = text(&put["ETag"]);
    let get_if = |flag: &str, value: &str| {
        api(&[
            "get-object",
            "--bucket",
            "photos",
            "--key",
            "2026/cat.jpg",
            flag,
            value,
            out.to_str().unwrap(),
        ])
    };
    assert_eq!(refused(get_if("--if-none-match", &etag)), "304");
    let (code, headers) = {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-D", "-", "-H", &format!("If-None-Match: {etag}")])
            .arg(format!("http://127.0.0.1:{}/photos/2026/pub.jpg", cloud.s3_port))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
        (text.lines().next().unwrap_or("").to_owned(), text)
    };
    assert!(code.contains("304"), "{headers}");
    assert!(
        headers.contains(&format!("etag: {}", etag.to_ascii_lowercase())),
        "a 304 names its ETag: {headers}"
    );
    ok(api(&["delete-object", "--bucket", "photos", "--key", "2026/pub.jpg"]));
    assert_eq!(refused(get_if("--if-match", "\"0000\"")), "PreconditionFailed");
    ok(get_if("--if-match", &etag));
    assert_eq!(refused(get_if("--if-modified-since", "2099-01-01T00:00:00Z")), "304");
    assert_eq!(refused(get_if("--if-unmodified-since", "2000-01-01T00:00:00Z")), "PreconditionFailed");
    assert_eq!(
        refused(api(&[
            "get-object",
            "--bucket",
            "photos",
            "--key",
            "2026/cat.jpg",
            "--range",
            "bytes=100-200",
            out.to_str().unwrap()
        ])),
        "InvalidRange"
    );
    assert_eq!(refused(api(&["head-object", "--bucket", "photos", "--key", "nothing"])), "404");
    assert_eq!(
        refused(api(&["get-object", "--bucket", "photos", "--key", "nothing", out.to_str().unwrap()])),
        "NoSuchKey"
    );
    assert_eq!(
        refused(api(&["get-object", "--bucket", "nope-bucket", "--key", "k", out.to_str().unwrap()])),
        "NoSuchBucket"
    );
    // A body that is not what its Content-MD5 says is refused and stores nothing.
    assert_eq!(
        refused(api(&[
            "put-object",
            "--bucket",
            "photos",
            "--key",
            "bad",
            "--body",
            &file,
            "--content-md5",
            "AAAAAAAAAAAAAAAAAAAAAA=="
        ])),
        "BadDigest"
    );
    assert_eq!(refused(api(&["head-object", "--bucket", "photos", "--key", "bad"])), "404");

    // Listings: prefixes, delimiters, pages.
    for key in ["2026/dog.jpg", "2025/a.jpg", "2025/b.jpg", "readme.txt", "odd key+name&.txt"] {
        ok(api(&["put-object", "--bucket", "photos", "--key", key, "--body", &file]));
    }
    let all = ok(api(&["list-objects-v2", "--bucket", "photos"]));
    assert_eq!(
        keys(&all),
        ["2025/a.jpg", "2025/b.jpg", "2026/cat.jpg", "2026/dog.jpg", "odd key+name&.txt", "readme.txt"]
    );
    let top = ok(api(&["list-objects-v2", "--bucket", "photos", "--delimiter", "/"]));
    assert_eq!(keys(&top), ["odd key+name&.txt", "readme.txt"]);
    let prefixes: Vec<String> =
        top["CommonPrefixes"].as_array().unwrap().iter().map(|p| text(&p["Prefix"])).collect();
    assert_eq!(prefixes, ["2025/", "2026/"]);
    let page = ok(api(&["list-objects-v2", "--bucket", "photos", "--max-keys", "2", "--no-paginate"]));
    assert_eq!(keys(&page), ["2025/a.jpg", "2025/b.jpg"]);
    assert_eq!(page["IsTruncated"], true);
    let token = text(&page["NextContinuationToken"]);
    let next = ok(api(&[
        "list-objects-v2",
        "--bucket",
        "photos",
        "--max-keys",
        "2",
        "--no-paginate",
        "--continuation-token",
        &token,
    ]));
    assert_eq!(keys(&next), ["2026/cat.jpg", "2026/dog.jpg"]);
    let v1 = ok(api(&["list-objects", "--bucket", "photos", "--prefix", "2025/", "--no-paginate"]));
    assert_eq!(keys(&v1), ["2025/a.jpg", "2025/b.jpg"]);
    let after = ok(api(&["list-objects", "--bucket", "photos", "--marker", "2026/dog.jpg", "--no-paginate"]));
    assert_eq!(keys(&after), ["odd key+name&.txt", "readme.txt"]);
    let ls = aws(&cloud, &env, "s3", &["ls", "s3://photos/2026/"]);
    assert!(String::from_utf8_lossy(&ls.stdout).contains("cat.jpg"), "{ls:?}");

    // Copies: metadata kept (COPY) or replaced (REPLACE).
    let copied = ok(api(&[
        "copy-object",
        "--bucket",
        "photos",
        "--key",
        "copy.jpg",
        "--copy-source",
        "photos/2026/cat.jpg",
    ]));
    assert_eq!(copied["CopyObjectResult"]["ETag"], put["ETag"]);
    let head = ok(api(&["head-object", "--bucket", "photos", "--key", "copy.jpg"]));
    assert_eq!(head["Metadata"]["camera"], "nikon");
    ok(api(&[
        "copy-object",
        "--bucket",
        "photos",
        "--key",
        "copy.jpg",
        "--copy-source",
        "photos/2026/cat.jpg",
        "--metadata-directive",
        "REPLACE",
        "--metadata",
        "camera=canon",
        "--content-type",
        "image/png",
    ]));
    let head = ok(api(&["head-object", "--bucket", "photos", "--key", "copy.jpg"]));
    assert_eq!(head["Metadata"], serde_json::json!({"camera": "canon"}));
    assert_eq!(text(&head["ContentType"]), "image/png");
    assert_eq!(
        refused(api(&[
            "copy-object",
            "--bucket",
            "photos",
            "--key",
            "x",
            "--copy-source",
            "photos/2026/cat.jpg",
            "--copy-source-if-match",
            "\"00\""
        ])),
        "PreconditionFailed"
    );

    // Location, a non-empty bucket, DeleteObjects, then the bucket goes.
    // The AWS CLI asks for its region (AWS_DEFAULT_REGION, the cloud's).
    let location = ok(api(&["get-bucket-location", "--bucket", "photos"]));
    assert_eq!(location["LocationConstraint"], "yukari");
    assert_eq!(
        refused(api(&[
            "create-bucket",
            "--bucket",
            "elsewhere",
            "--create-bucket-configuration",
            "LocationConstraint=eu-west-1"
        ])),
        "InvalidLocationConstraint"
    );
    assert_eq!(refused(api(&["delete-bucket", "--bucket", "photos"])), "BucketNotEmpty");
    let listed = ok(api(&["list-objects-v2", "--bucket", "photos"]));
    let objects: Vec<Value> = keys(&listed).iter().map(|k| serde_json::json!({"Key": k})).collect();
    let delete = serde_json::json!({ "Objects": objects }).to_string();
    let deleted = ok(api(&["delete-objects", "--bucket", "photos", "--delete", &delete]));
    assert_eq!(deleted["Deleted"].as_array().unwrap().len(), 7);
    ok(api(&["delete-bucket", "--bucket", "photos"]));
    assert_eq!(refused(api(&["head-bucket", "--bucket", "photos"])), "404");
    assert_eq!(ok(api(&["list-buckets"]))["Buckets"], serde_json::json!([]));
}

fn md5_hex(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(bytes))
}

#[test]
fn versions_and_delete_markers() {
    let cloud = Cloud::start();
    let env = admin(&cloud);
    let api = |args: &[&str]| aws(&cloud, &env, "s3api", args);
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("out");
    let out = out.to_str().unwrap();
    ok(api(&["create-bucket", "--bucket", "kept"]));
    assert_eq!(ok(api(&["get-bucket-versioning", "--bucket", "kept"]))["Status"], Value::Null);
    // Before versioning: one `null` version, replaced.
    let one = write(&temp.path().join("1"), b"one");
    ok(api(&["put-object", "--bucket", "kept", "--key", "k", "--body", &one]));
    ok(api(&["put-bucket-versioning", "--bucket", "kept", "--versioning-configuration", "Status=Enabled"]));
    assert_eq!(ok(api(&["get-bucket-versioning", "--bucket", "kept"]))["Status"], "Enabled");
    let two = write(&temp.path().join("2"), b"two");
    let v2 = text(&ok(api(&["put-object", "--bucket", "kept", "--key", "k", "--body", &two]))["VersionId"]);
    let three = write(&temp.path().join("3"), b"three");
    let v3 = text(&ok(api(&["put-object", "--bucket", "kept", "--key", "k", "--body", &three]))["VersionId"]);
    assert_ne!(v2, v3);
    let got = ok(api(&["get-object", "--bucket", "kept", "--key", "k", out]));
    assert_eq!((text(&got["VersionId"]), std::fs::read(out).unwrap()), (v3.clone(), b"three".to_vec()));
    ok(api(&["get-object", "--bucket", "kept", "--key", "k", "--version-id", &v2, out]));
    assert_eq!(std::fs::read(out).unwrap(), b"two");
    ok(api(&["get-object", "--bucket", "kept", "--key", "k", "--version-id", "null", out]));
    assert_eq!(std::fs::read(out).unwrap(), b"one");

    // A delete without a version places a marker; the versions stay.
    let deleted = ok(api(&["delete-object", "--bucket", "kept", "--key", "k"]));
    assert_eq!(deleted["DeleteMarker"], true);
    let marker = text(&deleted["VersionId"]);
    assert_eq!(refused(api(&["get-object", "--bucket", "kept", "--key", "k", out])), "NoSuchKey");
    assert_eq!(keys(&ok(api(&["list-objects-v2", "--bucket", "kept"]))), Vec::<String>::new());
    let versions = ok(api(&["list-object-versions", "--bucket", "kept"]));
    let ids: Vec<(String, bool)> = versions["Versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (text(&v["VersionId"]), v["IsLatest"].as_bool().unwrap()))
        .collect();
    assert_eq!(ids, [(v3.clone(), false), (v2.clone(), false), ("null".to_owned(), false)]);
    assert_eq!(text(&versions["DeleteMarkers"][0]["VersionId"]), marker);
    assert_eq!(versions["DeleteMarkers"][0]["IsLatest"], true);
    // Removing the marker brings the latest version back; removing a
    // version for good leaves the others.
    ok(api(&["delete-object", "--bucket", "kept", "--key", "k", "--version-id", &marker]));
    ok(api(&["get-object", "--bucket", "kept", "--key", "k", out]));
    assert_eq!(std::fs::read(out).unwrap(), b"three");
    ok(api(&["delete-object", "--bucket", "kept", "--key", "k", "--version-id", &v3]));
    ok(api(&["get-object", "--bucket", "kept", "--key", "k", out]));
    assert_eq!(std::fs::read(out).unwrap(), b"two");
    // Suspended: new writes are `null` again, older versions stay.
    ok(api(&["put-bucket-versioning", "--bucket", "kept", "--versioning-configuration", "Status=Suspended"]));
    let four = write(&temp.path().join("4"), b"four");
    let put = ok(api(&["put-object", "--bucket", "kept", "--key", "k", "--body", &four]));
    // S3 names no version on a suspended bucket's write (ceph/s3-tests'
    // test_versioning_bucket_atomic_upload_return_version_id).
    assert!(put.get("VersionId").is_none(), "{put}");
    let versions = ok(api(&["list-object-versions", "--bucket", "kept"]));
    let ids: Vec<String> =
        versions["Versions"].as_array().unwrap().iter().map(|v| text(&v["VersionId"])).collect();
    assert_eq!(ids, ["null", v2.as_str()], "the new null version replaced the old one");
    // A bucket with versions left is not empty.
    assert_eq!(refused(api(&["delete-bucket", "--bucket", "kept"])), "BucketNotEmpty");
}

#[test]
fn accounts_see_only_what_acls_grant_them() {
    let cloud = Cloud::start();
    let alice = admin(&cloud);
    let bob = account(&cloud, "bob");
    let bob_id = bob["EC2_ACCESS_KEY"].clone();
    assert!(!bob_id.is_empty());
    let bob_account = account_id(&cloud, &bob);
    let alice_account = account_id(&cloud, &alice);
    let as_alice = |args: &[&str]| aws(&cloud, &alice, "s3api", args);
    let as_bob = |args: &[&str]| aws(&cloud, &bob, "s3api", args);
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("out");
    let out = out.to_str().unwrap();
    let file = write(&temp.path().join("f"), b"alice's secret");

    ok(as_alice(&["create-bucket", "--bucket", "alice-data"]));
    ok(as_alice(&["put-object", "--bucket", "alice-data", "--key", "secret.txt", "--body", &file]));
    // Bob sees nothing of it and changes nothing.
    assert_eq!(ok(as_bob(&["list-buckets"]))["Buckets"], serde_json::json!([]));
    assert_eq!(
        refused(as_bob(&["get-object", "--bucket", "alice-data", "--key", "secret.txt", out])),
        "AccessDenied"
    );
    assert_eq!(refused(as_bob(&["list-objects-v2", "--bucket", "alice-data"])), "AccessDenied");
    assert_eq!(
        refused(as_bob(&["put-object", "--bucket", "alice-data", "--key", "x", "--body", &file])),
        "AccessDenied"
    );
    assert_eq!(
        refused(as_bob(&["delete-object", "--bucket", "alice-data", "--key", "secret.txt"])),
        "AccessDenied"
    );
    assert_eq!(refused(as_bob(&["delete-bucket", "--bucket", "alice-data"])), "AccessDenied");
    assert_eq!(refused(as_bob(&["get-bucket-acl", "--bucket", "alice-data"])), "AccessDenied");
    assert_eq!(refused(as_bob(&["head-bucket", "--bucket", "alice-data"])), "403");
    assert_eq!(refused(as_bob(&["create-bucket", "--bucket", "alice-data"])), "BucketAlreadyExists");
    assert_eq!(
        refused(as_bob(&[
            "copy-object",
            "--bucket",
            "alice-data",
            "--key",
            "c",
            "--copy-source",
            "alice-data/secret.txt"
        ])),
        "AccessDenied"
    );
    ok(as_alice(&["head-object", "--bucket", "alice-data", "--key", "secret.txt"]));
    assert_eq!(keys(&ok(as_alice(&["list-objects-v2", "--bucket", "alice-data"]))), ["secret.txt"]);

    // A READ grant on the object lets Bob read it (not its ACL).
    ok(as_alice(&[
        "put-object-acl",
        "--bucket",
        "alice-data",
        "--key",
        "secret.txt",
        "--grant-read",
        &format!("id={bob_account}"),
        "--grant-full-control",
        &format!("id={alice_account}"),
    ]));
    ok(as_bob(&["get-object", "--bucket", "alice-data", "--key", "secret.txt", out]));
    assert_eq!(std::fs::read(out).unwrap(), b"alice's secret");
    assert_eq!(
        refused(as_bob(&["get-object-acl", "--bucket", "alice-data", "--key", "secret.txt"])),
        "AccessDenied"
    );
    let acl = ok(as_alice(&["get-object-acl", "--bucket", "alice-data", "--key", "secret.txt"]));
    let grants: Vec<(String, String)> = acl["Grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (text(&g["Grantee"]["ID"]), text(&g["Permission"])))
        .collect();
    assert!(grants.contains(&(bob_account.clone(), "READ".to_owned())), "{acl}");

    // A WRITE grant on the bucket lets Bob store objects, which are his:
    // Alice reads one only if he grants her (bucket-owner-full-control).
    ok(as_alice(&[
        "put-bucket-acl",
        "--bucket",
        "alice-data",
        "--grant-full-control",
        &format!("id={alice_account}"),
        "--grant-write",
        &format!("id={bob_account}"),
    ]));
    ok(as_bob(&["put-object", "--bucket", "alice-data", "--key", "bobs.txt", "--body", &file]));
    assert_eq!(
        refused(as_alice(&["get-object", "--bucket", "alice-data", "--key", "bobs.txt", out])),
        "AccessDenied"
    );
    ok(as_bob(&[
        "put-object",
        "--bucket",
        "alice-data",
        "--key",
        "shared.txt",
        "--body",
        &file,
        "--acl",
        "bucket-owner-full-control",
    ]));
    ok(as_alice(&["get-object", "--bucket", "alice-data", "--key", "shared.txt", out]));
    assert_eq!(
        refused(as_bob(&["list-objects-v2", "--bucket", "alice-data"])),
        "AccessDenied",
        "WRITE is not READ"
    );
    assert_eq!(
        ok(as_bob(&["list-buckets"]))["Buckets"],
        serde_json::json!([]),
        "a grant does not make it Bob's"
    );

    // Anonymous requests get what AllUsers is granted, path style and
    // virtual-hosted alike.
    ok(as_alice(&[
        "put-object",
        "--bucket",
        "alice-data",
        "--key",
        "pub.txt",
        "--body",
        &file,
        "--acl",
        "public-read",
    ]));
    let base = format!("http://127.0.0.1:{}", cloud.s3_port);
    assert_eq!(curl(&[&format!("{base}/alice-data/pub.txt")]), (200, b"alice's secret".to_vec()));
    assert_eq!(curl(&[&format!("{base}/alice-data/secret.txt")]).0, 403);
    assert_eq!(curl(&[&format!("{base}/alice-data")]).0, 403, "listing needs READ on the bucket");
    assert_eq!(curl(&[&format!("{base}/")]).0, 403, "anonymous users have no buckets to list");
    let host = format!("Host: alice-data.localhost:{}", cloud.s3_port);
    assert_eq!(curl(&["-H", &host, &format!("{base}/pub.txt")]), (200, b"alice's secret".to_vec()));
    assert_eq!(curl(&["-H", &host, &format!("{base}/secret.txt")]).0, 403);
    let (code, body) = curl(&["-X", "PUT", "--data-binary", "x", &format!("{base}/alice-data/anon.txt")]);
    assert_eq!(code, 403, "{}", String::from_utf8_lossy(&body));
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("<Code>AccessDenied</Code>"), "S3's error XML: {text}");
    let request_id = text.split("<RequestId>").nth(1).and_then(|t| t.split("</RequestId>").next());
    assert!(request_id.is_some_and(|id| !id.is_empty()), "the error names its request: {text}");
    // Bob's refusals are in the audit trail, under his account's name:
    // refused changes (those refused before the command too) and denied reads.
    let audit = yukari()
        .args(["replay", "--controller", &cloud.endpoint(), "--data-dir"])
        .arg(&cloud.dir)
        .arg("audit")
        .output()
        .unwrap();
    assert!(audit.status.success(), "{}", String::from_utf8_lossy(&audit.stderr));
    let audit = String::from_utf8_lossy(&audit.stdout);
    let refused_by_bob = |action: &str| {
        audit.lines().any(|l| l.contains(" bob ") && l.contains(action) && l.contains("refused:AccessDenied"))
    };
    for action in ["PutObject", "DeleteObject", "DeleteBucket", "GetObject ", "CopyObject", "ListObjectsV2"] {
        assert!(refused_by_bob(action), "{action} refused: {audit}");
    }
}

/// The account id of an eucarc's keys (what S3 grants name).
fn account_id(cloud: &Cloud, env: &HashMap<String, String>) -> String {
    let out =
        cloud.client("aws").envs(env).args(["s3api", "list-buckets", "--output", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    text(&v["Owner"]["ID"])
}

/// S3's SigV2 (HmacV1) signature of `string_to_sign`, base64.
fn sigv2(secret: &str, string_to_sign: &str) -> String {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn http_date() -> String {
    let out = Command::new("date").args(["-u", "+%a, %d %b %Y %H:%M:%S GMT"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn multipart_uploads_presigned_urls_and_euca2ools_signatures() {
    let cloud = Cloud::start();
    let env = admin(&cloud);
    let api = |args: &[&str]| aws(&cloud, &env, "s3api", args);
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("out");
    let out = out.to_str().unwrap();
    ok(api(&["create-bucket", "--bucket", "big"]));

    // Multipart: parts listed, completed in order, the object their concatenation.
    let upload = text(
        &ok(api(&[
            "create-multipart-upload",
            "--bucket",
            "big",
            "--key",
            "disk.img",
            "--content-type",
            "application/x-raw",
        ]))["UploadId"],
    );
    let first: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let p1 = write(&temp.path().join("p1"), &first);
    let p2 = write(&temp.path().join("p2"), b"the end");
    let e1 = text(
        &ok(api(&[
            "upload-part",
            "--bucket",
            "big",
            "--key",
            "disk.img",
            "--upload-id",
            &upload,
            "--part-number",
            "1",
            "--body",
            &p1,
        ]))["ETag"],
    );
    let e2 = text(
        &ok(api(&[
            "upload-part",
            "--bucket",
            "big",
            "--key",
            "disk.img",
            "--upload-id",
            &upload,
            "--part-number",
            "2",
            "--body",
            &p2,
        ]))["ETag"],
    );
    let uploads = ok(api(&["list-multipart-uploads", "--bucket", "big"]));
    assert_eq!(text(&uploads["Uploads"][0]["UploadId"]), upload);
    let parts = ok(api(&["list-parts", "--bucket", "big", "--key", "disk.img", "--upload-id", &upload]));
    let sizes: Vec<i64> =
        parts["Parts"].as_array().unwrap().iter().map(|p| p["Size"].as_i64().unwrap()).collect();
    assert_eq!(sizes, [5 * 1024 * 1024, 7]);
    let too_few =
        serde_json::json!({"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 3, "ETag": e2}]})
            .to_string();
    assert_eq!(
        refused(api(&[
            "complete-multipart-upload",
            "--bucket",
            "big",
            "--key",
            "disk.img",
            "--upload-id",
            &upload,
            "--multipart-upload",
            &too_few
        ])),
        "InvalidPart"
    );
    let list = serde_json::json!({"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        .to_string();
    let done = ok(api(&[
        "complete-multipart-upload",
        "--bucket",
        "big",
        "--key",
        "disk.img",
        "--upload-id",
        &upload,
        "--multipart-upload",
        &list,
    ]));
    let mut both = md5::Md5::default();
    for e in [&e1, &e2] {
        md5::Digest::update(&mut both, hex::decode(e.trim_matches('"')).unwrap());
    }
    let expected = format!("\"{}-2\"", hex::encode(md5::Digest::finalize(both)));
    assert_eq!(text(&done["ETag"]), expected);
    let got = ok(api(&["get-object", "--bucket", "big", "--key", "disk.img", out]));
    let mut whole = first.clone();
    whole.extend_from_slice(b"the end");
    assert_eq!(std::fs::read(out).unwrap(), whole);
    assert_eq!(text(&got["ContentType"]), "application/x-raw");
    assert_eq!(ok(api(&["list-multipart-uploads", "--bucket", "big"]))["Uploads"], Value::Null);
    // A range across the parts' boundary.
    ok(api(&["get-object", "--bucket", "big", "--key", "disk.img", "--range", "bytes=5242878-5242881", out]));
    assert_eq!(std::fs::read(out).unwrap(), &whole[5242878..5242882]);
    // Part copies, and an aborted upload leaves nothing.
    let second =
        text(&ok(api(&["create-multipart-upload", "--bucket", "big", "--key", "copy.img"]))["UploadId"]);
    ok(api(&[
        "upload-part-copy",
        "--bucket",
        "big",
        "--key",
        "copy.img",
        "--upload-id",
        &second,
        "--part-number",
        "1",
        "--copy-source",
        "big/disk.img",
        "--copy-source-range",
        "bytes=0-5242879",
    ]));
    ok(api(&["abort-multipart-upload", "--bucket", "big", "--key", "copy.img", "--upload-id", &second]));
    assert_eq!(
        refused(api(&["list-parts", "--bucket", "big", "--key", "copy.img", "--upload-id", &second])),
        "NoSuchUpload"
    );
    assert_eq!(refused(api(&["head-object", "--bucket", "big", "--key", "copy.img"])), "404");

    // A presigned GET (SigV4, query) works without credentials, until it
    // expires or is changed.
    let small = write(&temp.path().join("s"), b"presigned hello");
    ok(api(&["put-object", "--bucket", "big", "--key", "note.txt", "--body", &small]));
    let url = String::from_utf8(
        aws(&cloud, &env, "s3", &["presign", "s3://big/note.txt", "--expires-in", "300"]).stdout,
    )
    .unwrap();
    let url = url.trim();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert_eq!(curl(&[url]), (200, b"presigned hello".to_vec()));
    assert_eq!(curl(&[&url.replace("note.txt", "disk.img")]).0, 403, "the signature covers the key");

    // euca2ools' way: SigV2 in the Authorization header, path style under
    // /services/objectstorage of the EC2 port (the signature covers the
    // prefixed path), and a SigV2 presigned URL.
    let (key, secret) = (cloud.access_key().to_owned(), cloud.secret_key().to_owned());
    let base = format!("http://127.0.0.1:{}", cloud.port);
    let date = http_date();
    let path = "/services/objectstorage/big/euca.txt";
    let signature = sigv2(&secret, &format!("PUT\n\ntext/plain\n{date}\nx-amz-acl:aws-exec-read\n{path}"));
    let (code, body) = curl(&[
        "-X",
        "PUT",
        "--data-binary",
        "bundled part",
        "-H",
        "Content-Type: text/plain",
        "-H",
        &format!("Date: {date}"),
        "-H",
        "x-amz-acl: aws-exec-read",
        "-H",
        &format!("Authorization: AWS {key}:{signature}"),
        &format!("{base}{path}"),
    ]);
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let signature = sigv2(&secret, &format!("GET\n\n\n{date}\n{path}"));
    let (code, body) = curl(&[
        "-H",
        &format!("Date: {date}"),
        "-H",
        &format!("Authorization: AWS {key}:{signature}"),
        &format!("{base}{path}"),
    ]);
    assert_eq!((code, body), (200, b"bundled part".to_vec()));
    let bad = sigv2("not the secret", &format!("GET\n\n\n{date}\n{path}"));
    let (code, body) = curl(&[
        "-H",
        &format!("Date: {date}"),
        "-H",
        &format!("Authorization: AWS {key}:{bad}"),
        &format!("{base}{path}"),
    ]);
    assert_eq!(code, 403);
    assert!(
        String::from_utf8_lossy(&body).contains("SignatureDoesNotMatch"),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let expires = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        + 300)
        .to_string();
    let signature = sigv2(&secret, &format!("GET\n\n\n{expires}\n/big/euca.txt"));
    let query: String =
        form_urlencoded(&[("AWSAccessKeyId", &key), ("Expires", &expires), ("Signature", &signature)]);
    let presigned = format!("http://127.0.0.1:{}/big/euca.txt?{query}", cloud.s3_port);
    assert_eq!(curl(&[&presigned]), (200, b"bundled part".to_vec()));
    // The AWS CLI through the prefixed path too.
    let mut prefixed = env.clone();
    prefixed.insert("AWS_ENDPOINT_URL_S3".into(), format!("{base}/services/objectstorage"));
    let listed = ok(aws(&cloud, &prefixed, "s3api", &["list-objects-v2", "--bucket", "big"]));
    assert_eq!(keys(&listed), ["disk.img", "euca.txt", "note.txt"]);
    let acl =
        ok(aws(&cloud, &prefixed, "s3api", &["get-object-acl", "--bucket", "big", "--key", "euca.txt"]));
    assert_eq!(acl["Grants"].as_array().unwrap().len(), 2, "aws-exec-read: the owner and the cloud: {acl}");
}

fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!("{k}={}", percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC))
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn cors_tagging_and_what_survives_kill_9() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let (port, s3_port) = (free_port(), free_port().to_string());
    let mut cloud = Cloud::start_in(&dir, port, &["--s3-port", &s3_port]);
    let env = admin(&cloud);
    let api = |cloud: &Cloud, args: &[&str]| aws(cloud, &env, "s3api", args);
    ok(api(&cloud, &["create-bucket", "--bucket", "site"]));
    assert_eq!(refused(api(&cloud, &["get-bucket-cors", "--bucket", "site"])), "NoSuchCORSConfiguration");
    let cors = r#"{"CORSRules":[{"AllowedOrigins":["https://example.com"],"AllowedMethods":["GET","PUT"],"AllowedHeaders":["*"],"MaxAgeSeconds":3000}]}"#;
    ok(api(&cloud, &["put-bucket-cors", "--bucket", "site", "--cors-configuration", cors]));
    let bad = r#"{"CORSRules":[{"AllowedOrigins":["*"],"AllowedMethods":["PATCH"]}]}"#;
    assert_eq!(
        refused(api(&cloud, &["put-bucket-cors", "--bucket", "site", "--cors-configuration", bad])),
        "InvalidRequest"
    );
    ok(api(
        &cloud,
        &["put-bucket-tagging", "--bucket", "site", "--tagging", "TagSet=[{Key=team,Value=web}]"],
    ));
    // Browsers' preflight requests are answered from the rules, and
    // answers to an allowed origin carry its CORS headers.
    let url = format!("http://127.0.0.1:{s3_port}/site/index.html");
    let preflight = |origin: &str, method: &str| {
        let out = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-D", "-", "-X", "OPTIONS", "-H", &format!("Origin: {origin}")])
            .args(["-H", &format!("Access-Control-Request-Method: {method}"), &url])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_ascii_lowercase()
    };
    let allowed = preflight("https://example.com", "PUT");
    assert!(allowed.starts_with("http/1.1 200"), "{allowed}");
    assert!(allowed.contains("access-control-allow-origin: https://example.com"), "{allowed}");
    assert!(allowed.contains("access-control-max-age: 3000"), "{allowed}");
    assert!(preflight("https://evil.example", "PUT").starts_with("http/1.1 403"));
    assert!(preflight("https://example.com", "DELETE").starts_with("http/1.1 403"));
    let file = write(&temp.path().join("index.html"), b"<h1>hello</h1>");
    for key in ["index.html", "a/b.html"] {
        ok(api(&cloud, &["put-object", "--bucket", "site", "--key", key, "--body", &file]));
    }

    // kill -9: every acknowledged bucket, object and setting is there after.
    cloud.kill9();
    cloud.restart();
    let rules = ok(api(&cloud, &["get-bucket-cors", "--bucket", "site"]));
    assert_eq!(rules["CORSRules"][0]["AllowedOrigins"], serde_json::json!(["https://example.com"]));
    assert_eq!(rules["CORSRules"][0]["MaxAgeSeconds"], 3000);
    let tags = ok(api(&cloud, &["get-bucket-tagging", "--bucket", "site"]));
    assert_eq!(tags["TagSet"], serde_json::json!([{"Key": "team", "Value": "web"}]));
    let out = temp.path().join("out");
    for key in ["index.html", "a/b.html"] {
        ok(api(&cloud, &["get-object", "--bucket", "site", "--key", key, out.to_str().unwrap()]));
        assert_eq!(std::fs::read(&out).unwrap(), b"<h1>hello</h1>");
    }
    ok(api(&cloud, &["delete-bucket-cors", "--bucket", "site"]));
    ok(api(&cloud, &["delete-bucket-tagging", "--bucket", "site"]));
    assert_eq!(refused(api(&cloud, &["get-bucket-tagging", "--bucket", "site"])), "NoSuchTagSet");

    // An upload cut by kill -9 leaves no object and no partial file: the
    // bytes go in first, the event that names them after.
    // (An anonymous upload, so that curl needs no signature.)
    ok(api(&cloud, &["put-bucket-acl", "--bucket", "site", "--acl", "public-read-write"]));
    let big = temp.path().join("big");
    std::fs::write(&big, vec![7u8; 64 << 20]).unwrap();
    let mut upload = cloud
        .client("curl")
        .args(["-s", "--limit-rate", "8M", "-X", "PUT", "-T"])
        .arg(&big)
        .arg(format!("http://127.0.0.1:{s3_port}/site/cut.bin"))
        .spawn()
        .unwrap();
    poll(30, "the upload to be under way", || {
        std::fs::read_dir(dir.join("objects/tmp")).map(|d| d.count() > 0).unwrap_or(false)
    });
    cloud.kill9();
    let _ = upload.kill();
    let _ = upload.wait();
    cloud.restart();
    assert_eq!(refused(api(&cloud, &["head-object", "--bucket", "site", "--key", "cut.bin"])), "404");
    assert_eq!(std::fs::read_dir(dir.join("objects/tmp")).unwrap().count(), 0, "no partial file is left");

    // The log tells who stored what (audit), what it cost (usage: the
    // bucket owner's MiB-seconds) and what the bucket held (state).
    cloud.stop();
    let replay = |args: &[&str]| {
        let out = yukari().args(["replay", "--data-dir"]).arg(&dir).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let audit = replay(&["audit"]);
    assert!(audit.lines().any(|l| l.contains("PutObject") && l.contains("site site/index.html")), "{audit}");
    let usage = replay(&["usage", "--format", "json"]);
    let lines: Vec<Value> = usage.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let storage =
        lines.iter().find(|l| l["resource"] == "object-storage").unwrap_or_else(|| panic!("{usage}"));
    assert_eq!(storage["account_name"], "admin");
    assert_eq!(storage["unit"], "MiB");
    assert!(storage["seconds"].as_u64().unwrap() > 0, "{usage}");
    let state: Value = serde_json::from_str(&replay(&["state", "--at", "now", "--format", "json"])).unwrap();
    let objects = &state["state"]["buckets"]["buckets"]["site"]["objects"];
    assert!(objects.get("index.html").is_some() && objects.get("a/b.html").is_some(), "{state}");
    let verify = yukari().args(["replay", "--data-dir"]).arg(&dir).arg("verify").output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}

#[test]
fn a_large_upload_keeps_the_servers_memory_flat() {
    let cloud = Cloud::start();
    let env = admin(&cloud);
    let temp = tempfile::tempdir().unwrap();
    ok(aws(&cloud, &env, "s3api", &["create-bucket", "--bucket", "large"]));
    let rss = || -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", cloud.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
    };
    let size = 384u64 << 20;
    let file = temp.path().join("big");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let block: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        for _ in 0..(size >> 20) {
            f.write_all(&block).unwrap();
        }
    }
    let before = rss();
    // One streamed PUT (not multipart) and one multipart upload.
    ok(aws(
        &cloud,
        &env,
        "s3api",
        &["put-object", "--bucket", "large", "--key", "one", "--body", file.to_str().unwrap()],
    ));
    ok(aws(&cloud, &env, "s3", &["cp", "--only-show-errors", file.to_str().unwrap(), "s3://large/parts"]));
    let after = rss();
    let grown = after.saturating_sub(before);
    assert!(grown < size / 3, "the server grew by {} MiB for {} MiB uploads", grown >> 20, size >> 20);
    let head = ok(aws(&cloud, &env, "s3api", &["head-object", "--bucket", "large", "--key", "parts"]));
    assert_eq!(head["ContentLength"], size);
    assert!(text(&head["ETag"]).contains('-'), "a multipart ETag");
}

#[test]
fn boto3_virtual_hosts_sigv2_transfers_and_presigned_urls() {
    let cloud = Cloud::start();
    let out = cloud.python("boto3_s3.py", &[]);
    assert!(
        out.status.success(),
        "boto3_s3.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn unsigned_headers_long_presigned_urls_corrupt_bodies_and_unsupported_options_are_refused() {
    let cloud = Cloud::start();
    let out = cloud.python("boto3_s3_integrity.py", &[]);
    assert!(
        out.status.success(),
        "boto3_s3_integrity.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
    // Dozens of refusals, and not one ERROR line for them: a client's
    // mistakes are not the server's errors.
    let log = std::fs::read_to_string(cloud.dir.with_extension("log")).unwrap();
    assert!(log.contains("Walrus (S3)"), "the log is the cloud's");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
