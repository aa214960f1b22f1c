//! The object store's garbage collection against the read models: a blob
//! goes once no object version or upload names it and no upload holds it.

use super::{Walrus, WalrusConfig};
use crate::app::ids::now;
use crate::app::testing::test_app;
use domain::Command;
use domain::buckets::*;
use std::time::Duration;

use crate::app::testing::system_meta as meta;

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
            if_match: None,
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

/// Snapshots of `yukari up`'s storage controller live in the blob store:
/// their manifests and chunks are kept while the snapshot lives, nothing
/// goes while one is being taken, and they go once it is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_collection_keeps_the_chunks_of_live_snapshots() {
    use crate::app::volumes::StorageDone;
    use domain::volumes::{CreateSnapshot, CreateVolume, DeleteSnapshot};
    let t = test_app().await;
    let dir = tempfile::tempdir().unwrap();
    let blobs = objectstore::BlobStore::open(dir.path().join("objects")).unwrap();
    let walrus = Walrus::new(
        t.app.clone(),
        blobs.clone(),
        WalrusConfig { region: "yukari".into(), virtual_hosts: vec![] },
    );
    let (_, zone) = t.app.first_node().unwrap();
    t.app.configure_storage(&zone, 10).await.unwrap();
    let account = t.app.credentials.owner(&t.admin.0).unwrap().0;
    let (volume, snapshot) = (t.app.ids.volume(), t.app.ids.snapshot());
    let create = CreateVolume {
        account: account.clone(),
        volume: volume.clone(),
        zone: zone.clone(),
        size_gib: Some(1),
        snapshot: None,
        volume_type: "gp2".into(),
        tags: vec![],
        at: now(),
    };
    t.app.execute(Command::CreateVolume(create), &meta()).await.unwrap();
    t.app.record_storage(&zone, StorageDone::Created { volume: volume.clone() }).await.unwrap();
    let take = CreateSnapshot {
        account: account.clone(),
        snapshot: snapshot.clone(),
        volume,
        description: String::new(),
        tags: vec![],
        at: now(),
    };
    t.app.execute(Command::CreateSnapshot(take), &meta()).await.unwrap();

    // The storage controller cuts the volume into chunks in the blob store.
    let file = dir.path().join("vol");
    std::fs::write(&file, [b"chunk one".as_slice(), &vec![7u8; 5 << 20]].concat()).unwrap();
    let chunks = storage::BlobChunks::new(blobs.clone(), tokio::runtime::Handle::current());
    let taken = tokio::task::spawn_blocking(move || storage::snapshot::take(&chunks, &file, &mut |_, _| {}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(blobs.list().unwrap().len(), 3, "two chunks and the manifest");
    let stray = blob(&walrus, b"no one's").await;
    let stray_id = stray.id;
    drop(stray.pin);
    let report = walrus.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(report.removed, 0, "nothing goes while a snapshot is being taken");
    assert!(blobs.contains(&stray_id));

    let done =
        StorageDone::SnapshotCompleted { snapshot: snapshot.clone(), manifest: taken.manifest.to_string() };
    t.app.record_storage(&zone, done).await.unwrap();
    let report = walrus.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!((report.removed, report.kept_live), (1, 3), "{report:?}");
    assert!(!blobs.contains(&stray_id));

    let delete = DeleteSnapshot { account, snapshot, at: now() };
    t.app.execute(Command::DeleteSnapshot(delete), &meta()).await.unwrap();
    let report = walrus.collect_garbage(Duration::ZERO).await.unwrap();
    assert_eq!(report.removed, 3, "{report:?}");
    assert!(blobs.list().unwrap().is_empty());
}
