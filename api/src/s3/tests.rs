//! The object store's garbage collection against the read models: a blob
//! goes once no object version or upload names it and no upload holds it.

use super::{Walrus, WalrusConfig};
use crate::app::testing::test_app;
use crate::app::{RequestMeta, ids::now};
use domain::buckets::*;
use domain::{Command, Principal};
use std::time::Duration;

fn meta() -> RequestMeta {
    RequestMeta {
        principal: Principal::system("test"),
        request_id: "r".into(),
        correlation_id: "r".into(),
        source: "test".into(),
    }
}

async fn blob(walrus: &Walrus, bytes: &'static [u8]) -> objectstore::Written {
    let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(bytes))]);
    walrus.blobs.put(body, 1 << 20).await.unwrap()
}

fn content(w: &objectstore::Written) -> ObjectContent {
    ObjectContent {
        parts: vec![BlobRef { blob: w.id.to_string(), size: w.size }],
        size: w.size,
        etag: hex::encode(w.md5),
        headers: ObjectHeaders::default(),
        metadata: vec![],
    }
}

#[tokio::test]
async fn garbage_collection_keeps_what_objects_uploads_and_pins_hold() {
    let t = test_app().await;
    let dir = tempfile::tempdir().unwrap();
    let blobs = objectstore::BlobStore::open(dir.path()).unwrap();
    let walrus =
        Walrus::new(t.app.clone(), blobs, WalrusConfig { region: "yukari".into(), virtual_hosts: vec![] });
    let account = t.app.credentials.owner(&t.admin.0).unwrap().0;
    let caller = Caller::Account { account, cloud_admin: true };
    let bucket = BucketName::parse("gc-test").unwrap();
    let run = |command: Command| {
        let app = t.app.clone();
        async move { app.execute(command, &meta()).await.unwrap() }
    };
    run(Command::CreateBucket(CreateBucket {
        caller: caller.clone(),
        bucket: bucket.clone(),
        location: String::new(),
        acl: AclRequest::default(),
        at: now(),
    }))
    .await;
    let put = |key: &str, w: &objectstore::Written| {
        Command::PutObject(PutObject {
            caller: caller.clone(),
            bucket: bucket.clone(),
            key: key.into(),
            version: "v".into(),
            content: content(w),
            acl: AclRequest::default(),
            if_none_match: false,
            at: now(),
        })
    };
    // Stored and named; stored and still pinned (an upload whose command
    // is not in yet); stored and dropped (a refused upload).
    let named = blob(&walrus, b"named").await;
    run(put("a", &named)).await;
    let named_id = named.id;
    drop(named.pin);
    let in_flight = blob(&walrus, b"in flight").await;
    let refused = blob(&walrus, b"refused").await;
    let refused_id = refused.id;
    drop(refused.pin);

    let report = walrus.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!((report.removed, report.kept_live, report.kept_pinned), (1, 1, 1), "{report:?}");
    assert!(!walrus.blobs.contains(&refused_id));
    assert!(walrus.blobs.contains(&named_id) && walrus.blobs.contains(&in_flight.id));
    // Young blobs are kept whatever names them.
    let young = blob(&walrus, b"young").await;
    let young_id = young.id;
    drop(young.pin);
    walrus.collect_garbage(Duration::from_secs(3600)).await.unwrap();
    assert!(walrus.blobs.contains(&young_id));

    // A copy shares the blob: deleting the source keeps it, deleting both
    // lets it go.
    run(Command::CopyObject(CopyObject {
        caller: caller.clone(),
        bucket: bucket.clone(),
        key: "b".into(),
        version: "v".into(),
        source: ObjectRef { bucket: bucket.clone(), key: "a".into(), version: None },
        replace: None,
        acl: AclRequest::default(),
        at: now(),
    }))
    .await;
    let delete = |key: &str| {
        Command::DeleteObject(DeleteObject {
            caller: caller.clone(),
            bucket: bucket.clone(),
            key: key.into(),
            version: None,
            marker: "m".into(),
            at: now(),
        })
    };
    run(delete("a")).await;
    walrus.collect_garbage(Duration::ZERO).await.unwrap();
    assert!(walrus.blobs.contains(&named_id), "the copy still names it");
    run(delete("b")).await;
    walrus.collect_garbage(Duration::ZERO).await.unwrap();
    assert!(!walrus.blobs.contains(&named_id));
    assert!(walrus.blobs.contains(&in_flight.id), "still pinned");
}
