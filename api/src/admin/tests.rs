use super::*;
use crate::app::RequestMeta;
use crate::app::testing::{TestApp, test_app};
use crate::auth::{V4Key, V4Request, sign_v4_headers};
use axum::http::Request;
use domain::command::{CreateAccount, NewAccessKey};
use domain::{AccessKeyId, AccountId, Command, Principal, Timestamp, UserName};
use tower::ServiceExt;

struct Cloud {
    app: Arc<App>,
    admin: (String, String),
    other: (String, String),
    _base: TestApp,
}

async fn cloud() -> Cloud {
    let base = test_app().await;
    let app = base.app.clone();
    // A customer account with a key of its own.
    let account = AccountId::from_bits(222_222_222_222);
    let key = AccessKeyId::from_bits(42);
    let secret = "customer-secret-key-0123456789abcdefghij".to_owned();
    let sealed = app.credentials.master_key().seal(&secret, key.as_str());
    let meta = RequestMeta {
        principal: Principal::system("test"),
        request_id: "req-customer".into(),
        correlation_id: "req-customer".into(),
        source: "test".into(),
    };
    let at = Timestamp(1);
    let create = CreateAccount {
        account,
        name: "customer".into(),
        default_group: app.ids.security_group(),
        access_key: Some(NewAccessKey { user: UserName::admin(), access_key: key.clone(), secret: sealed }),
        at,
    };
    app.execute(Command::CreateAccount(create), &meta).await.unwrap();
    Cloud { app, admin: base.admin.clone(), other: (key.to_string(), secret), _base: base }
}

async fn get(
    app: &Arc<App>,
    signer: Option<&(String, String)>,
    path: &str,
    query: &str,
) -> (u16, HeaderMap, Vec<u8>) {
    let mut headers = vec![("Host".to_owned(), "localhost".to_owned())];
    if let Some((key, secret)) = signer {
        let request = V4Request { method: "GET", host: "localhost", path, query, body: b"" };
        let key = V4Key { access_key_id: key, secret_access_key: secret, region: "yukari", service: "admin" };
        sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
    }
    let mut builder = Request::builder().method("GET").uri(format!("{path}?{query}"));
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let response = router(app.clone()).oneshot(builder.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec();
    (status, headers, body)
}

fn frames(body: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut d = wire::Decoder::default();
    d.push(body);
    let mut out = Vec::new();
    while let Some(f) = d.next_frame().unwrap() {
        out.push(f);
    }
    d.finish().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_reads_the_stored_records_and_nobody_else_does() {
    let c = cloud().await;
    let head = c.app.log.head();
    assert!(head > 5);
    let (status, headers, body) = get(&c.app, Some(&c.admin), "/admin/log", "from=1").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["x-yukari-head"].to_str().unwrap(), head.to_string());
    let records = frames(&body);
    assert_eq!(records.len() as u64, head);
    // The stored bytes, checksum included: they verify here as from the file.
    let stored = c.app.log.raw_records(1, head as usize).unwrap();
    for ((p, bytes), (q, original)) in records.iter().zip(&stored) {
        assert_eq!((p, &bytes[..]), (q, &original[..]));
        assert_eq!(eventlog::decode_record(*p, bytes).unwrap().position, *p);
    }

    let (_, _, page) = get(&c.app, Some(&c.admin), "/admin/log", "from=3&limit=2").await;
    assert_eq!(frames(&page).iter().map(|f| f.0).collect::<Vec<_>>(), [3, 4]);
    // Past the head: nothing, at once (and the head in the header).
    let (status, headers, body) =
        get(&c.app, Some(&c.admin), "/admin/log", &format!("from={}", head + 1)).await;
    assert_eq!((status, body.len()), (200, 0));
    assert_eq!(headers["x-yukari-head"].to_str().unwrap(), head.to_string());

    let (status, _, body) = get(&c.app, None, "/admin/log", "from=1").await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = get(&c.app, Some(&c.other), "/admin/log", "from=1").await;
    assert_eq!(status, 403);
    assert_eq!(String::from_utf8_lossy(&body), "only the cloud's admin account may read the log");
    let wrong = (c.admin.0.clone(), "not-the-secret".to_owned());
    let (status, _, body) = get(&c.app, Some(&wrong), "/admin/models", "").await;
    assert_eq!(status, 401);
    assert!(String::from_utf8_lossy(&body).starts_with("SignatureDoesNotMatch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_live_models_and_following_new_records() {
    let c = cloud().await;
    let (status, _, body) = get(&c.app, Some(&c.admin), "/admin/stream", "id=account/222222222222").await;
    assert_eq!(status, 200);
    let records = frames(&body);
    let types: Vec<String> =
        records.iter().map(|(p, b)| eventlog::decode_record(*p, b).unwrap().event_type.to_owned()).collect();
    assert_eq!(types, ["AccountCreated", "GroupNameClaimed", "AccessKeyCreated"]);

    let (status, headers, body) = get(&c.app, Some(&c.admin), "/admin/models", "").await;
    assert_eq!(status, 200);
    let position: u64 = headers["x-yukari-position"].to_str().unwrap().parse().unwrap();
    assert_eq!(position, c.app.log.head());
    let rebuilt = projections::rebuild(&c.app.log).unwrap();
    assert_eq!(body, projections::encode_snapshot(&rebuilt));

    // Waiting for what comes after the head: it arrives when it is stored.
    let next = c.app.log.head() + 1;
    let app = c.app.clone();
    let admin = c.admin.clone();
    let waiting =
        tokio::spawn(
            async move { get(&app, Some(&admin), "/admin/log", &format!("from={next}&wait=5")).await },
        );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let meta = RequestMeta {
        principal: Principal::system("test"),
        request_id: "req-late".into(),
        correlation_id: "req-late".into(),
        source: "test".into(),
    };
    let late = CreateAccount {
        account: AccountId::from_bits(333_333_333_333),
        name: "late".into(),
        default_group: c.app.ids.security_group(),
        access_key: None,
        at: Timestamp(2),
    };
    c.app.execute(Command::CreateAccount(late), &meta).await.unwrap();
    let (status, _, body) = waiting.await.unwrap();
    assert_eq!(status, 200);
    // The account and its default group: every record of that one command.
    let records = frames(&body);
    assert_eq!(records.len() as u64, c.app.log.head() + 1 - next, "{records:?}");
    assert_eq!(records[0].0, next);
    for (position, bytes) in &records {
        assert_eq!(eventlog::decode_record(*position, bytes).unwrap().request_id, "req-late");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_reads_what_the_writer_did_and_nobody_else_does() {
    let c = cloud().await;
    let read = |body: &[u8]| -> serde_json::Value { serde_json::from_slice(body).unwrap() };
    let (status, headers, body) = get(&c.app, Some(&c.admin), "/admin/writer", "").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let before = read(&body);
    assert_eq!(before["commits"], c.app.log.commits(), "{before}");
    assert!(before["records"].as_u64().unwrap() >= c.app.log.head(), "{before}");
    assert!(before["syncs"].as_u64().unwrap() >= before["commits"].as_u64().unwrap(), "{before}");
    // One append of two records: one more batch, job, commit and sync.
    let meta = eventlog::Metadata { request_id: "req-w".into(), ..Default::default() };
    let events =
        ["1", "2"].map(|p| eventlog::NewEvent { event_type: "Test".into(), schema: 1, payload: p.into() });
    let append = eventlog::StreamAppend {
        stream: "test/writer".into(),
        expected: eventlog::ExpectedVersion::NoStream,
        events: events.to_vec(),
    };
    c.app.log.append(meta, vec![append]).await.unwrap();
    let (_, _, body) = get(&c.app, Some(&c.admin), "/admin/writer", "").await;
    let after = read(&body);
    let grew = |key: &str| after[key].as_u64().unwrap() - before[key].as_u64().unwrap();
    assert_eq!(
        ["batches", "jobs", "records", "commits", "syncs"].map(grew),
        [1, 1, 2, 1, 1],
        "{before} → {after}"
    );
    assert!(grew("writes") >= 2 && grew("committing_us") >= grew("syncing_us"), "{before} → {after}");

    let (status, _, _) = get(&c.app, None, "/admin/writer", "").await;
    assert_eq!(status, 401);
    let (status, _, _) = get(&c.app, Some(&c.other), "/admin/writer", "").await;
    assert_eq!(status, 403);
}
