//! The chunk endpoints of the storage controllers' protocol: only a
//! storage controller stores and reads chunks, and only chunks whose bytes
//! are their name.

use super::*;
use crate::app::testing::test_app;
use crate::auth::{V4Key, V4Request, sign_v4_headers};
use axum::body::Body;
use tower::ServiceExt;

async fn call(
    app: &Arc<App>,
    signer: Option<(&str, &str)>,
    method: &str,
    path: &str,
    query: &str,
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let mut headers = vec![("Host".to_owned(), "localhost".to_owned())];
    if let Some((key, secret)) = signer {
        let request = V4Request { method, host: "localhost", path, query, body: &body };
        let key = V4Key { access_key_id: key, secret_access_key: secret, region: "yukari", service: "admin" };
        sign_v4_headers(&request, &mut headers, &key, std::time::SystemTime::now());
    }
    let mut builder = axum::http::Request::builder().method(method).uri(format!("{path}?{query}"));
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let response = router(app.clone()).oneshot(builder.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    (status, axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec())
}

/// Registers a storage controller for the first node's zone: its zone
/// and credentials.
async fn register(t: &crate::app::testing::TestApp) -> (ZoneName, StorageCredentials) {
    let (_, zone) = t.app.first_node().unwrap();
    let admin = (t.admin.0.as_str(), t.admin.1.as_str());
    let query = format!("zone={zone}&host=10.0.0.21");
    let (status, body) =
        call(&t.app, Some(admin), "POST", "/admin/storage-controllers", &query, vec![]).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    (zone, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn only_a_storage_controller_stores_and_reads_chunks_named_by_their_bytes() {
    let t = test_app().await;
    let app = t.app.clone();
    let dir = tempfile::tempdir().unwrap();
    let blobs = objectstore::BlobStore::open(dir.path().join("objects")).unwrap();
    let cloud = Arc::new(bundle::CloudIdentity::load_or_create(dir.path()).unwrap());
    let _ = app.images.set(crate::app::images::ImageSupport { cloud, blobs: blobs.clone() });
    let (zone, creds) = register(&t).await;
    let admin = (t.admin.0.as_str(), t.admin.1.as_str());
    let sc = (creds.access_key.as_str(), creds.secret.as_str());

    let bytes = b"a chunk of a volume".to_vec();
    let id = objectstore::BlobId::of(&bytes);
    let path = format!("/storage/chunks/{id}");
    let zone_query = format!("zone={zone}");
    // Not a storage controller: refused, nothing stored.
    for signer in [None, Some(admin)] {
        let (status, _) = call(&app, signer, "PUT", &path, &zone_query, bytes.clone()).await;
        assert_eq!(status, 401);
    }
    // Bytes that are not the chunk's.
    let (status, body) = call(&app, Some(sc), "PUT", &path, &zone_query, b"other bytes".to_vec()).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(blobs.list().unwrap().is_empty());
    assert_eq!(call(&app, Some(sc), "HEAD", &path, &zone_query, vec![]).await.0, 404);
    // Stored, there, read back.
    assert_eq!(call(&app, Some(sc), "PUT", &path, &zone_query, bytes.clone()).await.0, 204);
    assert!(blobs.contains(&id));
    assert_eq!(call(&app, Some(sc), "HEAD", &path, &zone_query, vec![]).await.0, 200);
    assert_eq!(call(&app, Some(sc), "GET", &path, &zone_query, vec![]).await, (200, bytes));
    assert_eq!(call(&app, None, "GET", &path, &zone_query, vec![]).await.0, 401);
    let (status, _) = call(&app, Some(sc), "GET", "/storage/chunks/not-an-id", &zone_query, vec![]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_empty_report_of_the_storage_controller_is_it_alive() {
    let t = test_app().await;
    let app = t.app.clone();
    let (zone, creds) = register(&t).await;
    let admin = (t.admin.0.as_str(), t.admin.1.as_str());
    let sc = (creds.access_key.as_str(), creds.secret.as_str());
    let zone_query = format!("zone={zone}");
    let registered = app.storage_targets.heard_at(&zone).expect("heard from at its registration");

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for signer in [None, Some(admin)] {
        let (status, _) = call(&app, signer, "POST", "/storage/report", &zone_query, b"[]".to_vec()).await;
        assert_eq!(status, 401);
        assert_eq!(app.storage_targets.heard_at(&zone), Some(registered), "not by anybody else's call");
    }
    let (status, body) = call(&app, Some(sc), "POST", "/storage/report", &zone_query, b"[]".to_vec()).await;
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    assert!(app.storage_targets.heard_at(&zone).unwrap() > registered);
}
