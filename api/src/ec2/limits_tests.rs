//! Limits on bad input (reliability issue, part 6), through the EC2
//! router with signed requests: each limit answers EC2's error just
//! beyond it, and a request at the limit is not refused for its size.
//! README's "Limits on input" lists them.

use crate::app::testing::{TestApp, test_app};
use crate::auth::{V4Key, V4Request, sign_v4_headers};
use axum::body::Body;
use axum::http::Request;
use std::time::{Instant, SystemTime};
use tower::ServiceExt;

pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) body: String,
}

impl Answer {
    pub(super) fn code(&self) -> &str {
        let start = self.body.find("<Code>").map_or(0, |s| s + "<Code>".len());
        let end = self.body[start..].find("</Code>").map_or(start, |e| e + start);
        &self.body[start..end]
    }

    /// Refused with `code`, in a well-formed answer.
    pub(super) fn refused(&self, code: &str, what: &str) {
        roxmltree::Document::parse(&self.body).unwrap_or_else(|e| panic!("{what}: {e}: {}", self.body));
        assert_eq!(self.code(), code, "{what}: {}", self.body);
        assert_eq!(self.status, 400, "{what}: {}", self.body);
    }

    /// Not refused for its size (answered, or refused for something else).
    fn not_for_size(&self, limit_code: &str, what: &str) {
        assert!(
            self.status == 200 || (self.code() != limit_code && !self.body.contains("at most")),
            "{what}: {}",
            self.body
        );
    }
}

pub(super) async fn send(t: &TestApp, method: &str, params: &[(String, String)]) -> Answer {
    let (key, secret) = &t.admin;
    let mut all = params.to_vec();
    all.push(("Version".into(), "2016-11-15".into()));
    let encoded =
        form_urlencoded::Serializer::new(String::new()).extend_pairs(&all).finish().replace('+', "%20");
    let (query, body) = if method == "GET" { (encoded, String::new()) } else { (String::new(), encoded) };
    let mut headers = vec![("Host".to_owned(), "localhost".to_owned())];
    if method == "POST" {
        headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
    }
    let request = V4Request { method, host: "localhost", path: "/", query: &query, body: body.as_bytes() };
    let signer = V4Key { access_key_id: key, secret_access_key: secret, region: "yukari", service: "ec2" };
    sign_v4_headers(&request, &mut headers, &signer, SystemTime::now());
    let mut builder = Request::builder().method(method).uri(format!("/?{query}"));
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let response = crate::app(t.app.clone()).oneshot(builder.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    Answer { status, body: String::from_utf8(bytes.to_vec()).unwrap() }
}

pub(super) fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn numbered(prefix: &str, n: usize, value: impl Fn(usize) -> String) -> Vec<(String, String)> {
    (1..=n).map(|i| (format!("{prefix}.{i}"), value(i))).collect()
}

fn with(mut base: Vec<(String, String)>, more: Vec<(String, String)>) -> Vec<(String, String)> {
    base.extend(more);
    base
}

pub(super) fn emi() -> String {
    crate::app::bootstrap::default_images().0.to_string()
}

#[tokio::test]
async fn a_body_beyond_one_mebibyte_is_refused_before_anything_else() {
    let t = test_app().await;
    let big = "x".repeat((1 << 20) + 1);
    let request = Request::builder()
        .method("POST")
        .uri("/")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("Action=DescribeInstances&Pad={big}")))
        .unwrap();
    let response = crate::app(t.app.clone()).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = String::from_utf8(axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap().to_vec())
        .unwrap();
    Answer { status, body }.refused("InvalidParameterValue", "a 1 MiB + 1 body");
}

#[tokio::test]
async fn parameters_names_and_lists_have_limits() {
    let t = test_app().await;
    let describe = p(&[("Action", "DescribeInstances")]);
    // Parameters: 2,000 with Action and Version, then one more.
    let pad = |n| {
        numbered("Pad", n, |i| i.to_string()).into_iter().map(|(k, v)| (k.replace('.', "x"), v)).collect()
    };
    send(&t, "POST", &with(describe.clone(), pad(1_997)))
        .await
        .not_for_size("InvalidParameterValue", "2,000");
    send(&t, "POST", &with(describe.clone(), pad(1_999)))
        .await
        .refused("InvalidParameterValue", "2,001 parameters");
    // A name of 257 bytes.
    let long = p(&[("Action", "DescribeInstances"), (&"N".repeat(257), "v")]);
    send(&t, "GET", &long).await.refused("InvalidParameterValue", "a 257-byte name");
    // Ids per call: 1,000 instance ids are looked up, 1,001 refused.
    let id = |i: usize| format!("i-{i:017x}");
    let at = send(&t, "POST", &with(describe.clone(), numbered("InstanceId", 1_000, id))).await;
    assert_eq!(at.code(), "InvalidInstanceID.NotFound", "{}", at.body);
    let over = with(describe.clone(), numbered("InstanceId", 1_001, id));
    send(&t, "POST", &over).await.refused("InvalidParameterValue", "1,001 instance ids");
    let terminate = with(p(&[("Action", "TerminateInstances")]), numbered("InstanceId", 1_001, id));
    send(&t, "POST", &terminate).await.refused("InvalidParameterValue", "terminating 1,001 ids");
    // Filters: 50, and 200 values each.
    let filters = |n: usize, values: usize| {
        let mut out = describe.clone();
        for f in 1..=n {
            out.push((format!("Filter.{f}.Name"), "instance-type".into()));
            out.extend(numbered(&format!("Filter.{f}.Value"), values, |v| format!("t{v}")));
        }
        out
    };
    send(&t, "POST", &filters(50, 1)).await.not_for_size("FilterLimitExceeded", "50 filters");
    send(&t, "POST", &filters(51, 1)).await.refused("FilterLimitExceeded", "51 filters");
    send(&t, "POST", &filters(1, 200)).await.not_for_size("FilterLimitExceeded", "200 values");
    send(&t, "POST", &filters(1, 201)).await.refused("FilterLimitExceeded", "201 values");
}

#[tokio::test]
async fn counts_tags_user_data_and_names_have_limits() {
    let t = test_app().await;
    let run = |extra: &[(&str, &str)]| {
        let mut params = p(&[("Action", "RunInstances"), ("MinCount", "1")]);
        params.push(("ImageId".into(), emi()));
        params.extend(p(extra));
        params
    };
    // MaxCount: 1 to 1,000.
    send(&t, "GET", &run(&[("MaxCount", "1001")])).await.refused("InvalidParameterValue", "MaxCount 1001");
    send(&t, "GET", &run(&[("MaxCount", "0")])).await.refused("InvalidParameterValue", "MaxCount 0");
    let huge = run(&[("MaxCount", "99999999999999999999999")]);
    send(&t, "GET", &huge).await.refused("InvalidParameterValue", "MaxCount beyond 64 bits");
    // User data: 16 KiB decoded.
    use base64::Engine;
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![b'u'; n]);
    let at = send(&t, "POST", &run(&[("MaxCount", "1"), ("UserData", &b64(16 * 1024))])).await;
    assert_eq!(at.status, 200, "{}", at.body);
    let over = run(&[("MaxCount", "1"), ("UserData", &b64(16 * 1024 + 1))]);
    send(&t, "POST", &over).await.refused("InvalidParameterValue", "user data of 16 KiB + 1");
    let long = run(&[("MaxCount", "1"), ("UserData", &"A".repeat(900_000))]);
    send(&t, "POST", &long).await.refused("InvalidParameterValue", "900 kB of base64");
    // Tags: 50 a call, keys 128 characters, values 256.
    let instance = {
        let start = at.body.find("<instanceId>").unwrap() + "<instanceId>".len();
        at.body[start..start + 19].to_owned()
    };
    let tags = |n: usize, key: &str, value: &str| {
        let mut params = p(&[("Action", "CreateTags"), ("ResourceId.1", &instance)]);
        for i in 1..=n {
            params.push((format!("Tag.{i}.Key"), format!("{key}{i}")));
            params.push((format!("Tag.{i}.Value"), value.to_owned()));
        }
        params
    };
    let key128 = "k".repeat(127);
    assert_eq!(send(&t, "GET", &tags(1, &key128, &"v".repeat(256))).await.status, 200);
    // With that one, 50 on the instance; 51 in one call are refused as asked.
    assert_eq!(send(&t, "GET", &tags(49, "k", "v")).await.status, 200);
    send(&t, "GET", &tags(51, "k", "v")).await.refused("TagLimitExceeded", "51 tags");
    send(&t, "GET", &tags(1, &"k".repeat(128), "v"))
        .await
        .refused("InvalidParameterValue", "a 129-character key");
    send(&t, "GET", &tags(1, "k", &"v".repeat(257)))
        .await
        .refused("InvalidParameterValue", "a 257-character value");
    let spec = run(&[
        ("MaxCount", "1"),
        ("TagSpecification.1.ResourceType", "instance"),
        ("TagSpecification.1.Tag.1.Key", &"k".repeat(129)),
    ]);
    send(&t, "GET", &spec).await.refused("InvalidParameterValue", "a long key at launch");
    // Names: key pairs and groups 255 characters, client tokens 64.
    let name = |n: usize| "n".repeat(n);
    let key = |n| p(&[("Action", "CreateKeyPair"), ("KeyName", &name(n)), ("KeyType", "ed25519")]);
    assert_eq!(send(&t, "GET", &key(255)).await.status, 200);
    send(&t, "GET", &key(256)).await.refused("InvalidParameterValue", "a 256-character key name");
    let group =
        |n| p(&[("Action", "CreateSecurityGroup"), ("GroupName", &name(n)), ("GroupDescription", "d")]);
    assert_eq!(send(&t, "GET", &group(255)).await.status, 200);
    send(&t, "GET", &group(256)).await.refused("InvalidParameterValue", "a 256-character group name");
    let described =
        p(&[("Action", "CreateSecurityGroup"), ("GroupName", "g"), ("GroupDescription", &name(256))]);
    send(&t, "GET", &described).await.refused("InvalidParameterValue", "a 256-character description");
    let token = run(&[("MaxCount", "1"), ("ClientToken", &name(65))]);
    send(&t, "GET", &token).await.refused("InvalidParameterValue", "a 65-character client token");
    let import = p(&[
        ("Action", "ImportKeyPair"),
        ("KeyName", "big"),
        ("PublicKeyMaterial", &"A".repeat(16 * 1024 + 1)),
    ]);
    send(&t, "POST", &import).await.refused("InvalidParameterValue", "16 KiB + 1 of public key");
}

/// The largest request the limits let through is answered quickly: no
/// input within them makes the server work or allocate without bound.
#[tokio::test]
async fn the_largest_requests_within_the_limits_are_answered_quickly() {
    let t = test_app().await;
    let started = Instant::now();
    // 1,000 long ids and 1,000 filter values of 256 bytes each (~1 MiB).
    let mut params = p(&[("Action", "DescribeInstances")]);
    params.extend(numbered("InstanceId", 1_000, |i| format!("i-{i:017x}")));
    for f in 1..=5 {
        params.push((format!("Filter.{f}.Name"), "tag:Name".into()));
        params.extend(numbered(&format!("Filter.{f}.Value"), 198, |v| format!("{v}{}", "v".repeat(250))));
    }
    let answer = send(&t, "POST", &params).await;
    assert_eq!(answer.code(), "InvalidInstanceID.NotFound", "{}", answer.body);
    let mut tags = p(&[("Action", "CreateTags")]);
    tags.extend(numbered("ResourceId", 1_000, |i| format!("i-{i:017x}")));
    for i in 1..=50 {
        tags.push((format!("Tag.{i}.Key"), format!("{i}{}", "k".repeat(120))));
        tags.push((format!("Tag.{i}.Value"), "v".repeat(256)));
    }
    let answer = send(&t, "POST", &tags).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(started.elapsed().as_secs() < 20, "took {:?}", started.elapsed());
}
