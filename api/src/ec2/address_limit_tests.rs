//! The limit of elastic IPs per account, through the controller's router
//! with signed requests: an account at the limit is refused with EC2's
//! AddressLimitExceeded and nothing stored, other accounts and the cloud
//! administrator's are not affected, a release makes room, and the admin
//! API changes the limit (as `yukari address set-limit` does).

use crate::app::App;
use crate::app::bootstrap::{BootstrapSpec, in_process};
use crate::app::testing::meta;
use crate::auth::{V4Key, V4Request, sign_v4_headers};
use axum::body::Body;
use axum::http::Request;
use domain::Resources;
use std::sync::Arc;
use std::time::SystemTime;
use tower::ServiceExt;

type Key = (String, String);

/// A signed call to the controller's router: status and body.
async fn call(app: &Arc<App>, key: &Key, method: &str, path: &str, query: &str) -> (u16, String) {
    let mut headers = vec![("Host".to_owned(), "localhost".to_owned())];
    let request = V4Request { method, host: "localhost", path, query, body: b"" };
    let signer = V4Key { access_key_id: &key.0, secret_access_key: &key.1, region: "yukari", service: "ec2" };
    sign_v4_headers(&request, &mut headers, &signer, SystemTime::now());
    let mut builder = Request::builder().method(method).uri(format!("{path}?{query}"));
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let response = crate::app(app.clone()).oneshot(builder.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn ec2(app: &Arc<App>, key: &Key, params: &[(&str, &str)]) -> (u16, String) {
    let mut all = params.to_vec();
    all.push(("Version", "2016-11-15"));
    let query =
        form_urlencoded::Serializer::new(String::new()).extend_pairs(&all).finish().replace('+', "%20");
    call(app, key, "GET", "/", &query).await
}

fn text<'b>(body: &'b str, element: &str) -> &'b str {
    let open = format!("<{element}>");
    let start = body.find(&open).map(|s| s + open.len()).unwrap_or_else(|| panic!("no {element}: {body}"));
    &body[start..start + body[start..].find('<').unwrap()]
}

async fn allocate(app: &Arc<App>, key: &Key) -> String {
    let (status, body) = ec2(app, key, &[("Action", "AllocateAddress")]).await;
    assert_eq!(status, 200, "{body}");
    text(&body, "allocationId").to_owned()
}

/// The addresses DescribeAddresses shows the caller.
async fn held(app: &Arc<App>, key: &Key) -> usize {
    let (status, body) = ec2(app, key, &[("Action", "DescribeAddresses")]).await;
    assert_eq!(status, 200, "{body}");
    body.matches("<allocationId>").count()
}

async fn refused(app: &Arc<App>, key: &Key) {
    let (before, taken) = (held(app, key).await, app.projections.read().network.public_taken.len());
    let (status, body) = ec2(app, key, &[("Action", "AllocateAddress")]).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(text(&body, "Code"), "AddressLimitExceeded");
    assert_eq!(text(&body, "Message"), "The maximum number of addresses has been reached.");
    // Nothing changed but the audit record of the refusal.
    assert_eq!(held(app, key).await, before);
    assert_eq!(app.projections.read().network.public_taken.len(), taken);
}

async fn max_elastic_ips(app: &Arc<App>, key: &Key) -> String {
    let params = [("Action", "DescribeAccountAttributes"), ("AttributeName.1", "max-elastic-ips")];
    let (status, body) = ec2(app, key, &params).await;
    assert_eq!(status, 200, "{body}");
    text(&body, "attributeValue").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_holds_at_most_its_limit_of_elastic_ips() {
    let dir = tempfile::tempdir().unwrap();
    let spec = BootstrapSpec {
        public_addresses: (10..30).map(|i| format!("198.51.100.{i}")).collect(),
        ..BootstrapSpec::simulated(Resources { cpus: 8, memory_mib: 8192, disk_gib: 100 })
    };
    let (app, admin, _following) =
        in_process(dir.path(), eventlog::LogOptions::default(), spec).await.unwrap();
    let admin_meta = meta(&admin.account, "admin");
    let key = |k: crate::app::bootstrap::AdminKey| (k.access_key.to_string(), k.secret);
    let carol = key(app.create_account("carol", &admin_meta).await.unwrap());
    let dave = key(app.create_account("dave", &admin_meta).await.unwrap());
    let admin = key(admin);

    assert_eq!(max_elastic_ips(&app, &carol).await, "5");
    assert_eq!(max_elastic_ips(&app, &admin).await, "20", "the administrator's: the pool");
    let mut carols = Vec::new();
    for _ in 0..5 {
        carols.push(allocate(&app, &carol).await);
    }
    refused(&app, &carol).await;
    // Dave is not affected, and neither is the cloud administrator.
    allocate(&app, &dave).await;
    for _ in 0..6 {
        allocate(&app, &admin).await;
    }
    // A release makes room for one.
    let release = [("Action", "ReleaseAddress"), ("AllocationId", carols[0].as_str())];
    assert_eq!(ec2(&app, &carol, &release).await.0, 200);
    allocate(&app, &carol).await;
    refused(&app, &carol).await;

    // The administrator raises the limit; nobody else may, nor set nonsense.
    let set = |n: &str| format!("per_account={n}");
    assert_eq!(call(&app, &carol, "POST", "/admin/addresses/limit", &set("9")).await.0, 403);
    assert_eq!(call(&app, &admin, "POST", "/admin/addresses/limit", &set("-1")).await.0, 400);
    assert_eq!(call(&app, &admin, "POST", "/admin/addresses/limit", "").await.0, 400);
    let (status, body) = call(&app, &admin, "POST", "/admin/addresses/limit", &set("7")).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(max_elastic_ips(&app, &carol).await, "7");
    allocate(&app, &carol).await;
    allocate(&app, &carol).await;
    refused(&app, &carol).await;
}
