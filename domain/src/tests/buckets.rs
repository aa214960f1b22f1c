//! Buckets and objects: names, ownership and ACLs, versions and delete
//! markers, copies and multipart uploads.

use super::samples::*;
use super::*;
use crate::buckets::*;
use crate::command::*;

fn me() -> Caller {
    Caller::Account { account: admin(), cloud_admin: true }
}

fn them() -> Caller {
    Caller::Account { account: other_account(), cloud_admin: false }
}

fn name(s: &str) -> BucketName {
    BucketName::parse(s).unwrap()
}

fn create(caller: Caller, bucket: &str, acl: AclRequest) -> Command {
    Command::CreateBucket(CreateBucket {
        caller,
        bucket: name(bucket),
        location: String::new(),
        acl,
        at: t(1),
    })
}

fn content(etag: &str, size: u64) -> ObjectContent {
    ObjectContent {
        parts: vec![BlobRef { blob: etag.repeat(2), size }],
        size,
        etag: etag.into(),
        headers: ObjectHeaders::default(),
        metadata: vec![],
    }
}

fn put(caller: Caller, bucket: &str, key: &str, version: &str, etag: &str) -> Command {
    Command::PutObject(PutObject {
        caller,
        bucket: name(bucket),
        key: key.into(),
        version: version.into(),
        content: content(etag, 3),
        acl: AclRequest::default(),
        if_none_match: false,
        if_match: None,
        at: t(2),
    })
}

fn delete(caller: Caller, bucket: &str, key: &str, version: Option<&str>, marker: &str) -> Command {
    Command::DeleteObject(DeleteObject {
        caller,
        bucket: name(bucket),
        key: key.into(),
        version: version.map(str::to_owned),
        marker: marker.into(),
        at: t(3),
    })
}

fn bucket_state(g: &Given, bucket: &str) -> Bucket {
    match g.state(&StreamId::bucket(&name(bucket))) {
        Some(Aggregate::Bucket(b)) => (**b).clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bucket_names_are_global_and_reusable_after_delete() {
    let mut g = given(&[]);
    g.then_apply(&create(me(), "shared", AclRequest::default())).unwrap();
    assert_eq!(
        g.when(&create(me(), "shared", AclRequest::default())),
        Err(DecideError::BucketAlreadyOwnedByYou(name("shared")))
    );
    assert_eq!(
        g.when(&create(them(), "shared", AclRequest::default())),
        Err(DecideError::BucketAlreadyExists(name("shared")))
    );
    assert_eq!(
        g.when(&Command::DeleteBucket(DeleteBucket { caller: them(), bucket: name("shared"), at: t(2) })),
        Err(DecideError::AccessDenied("shared".into()))
    );
    g.then_apply(&Command::DeleteBucket(DeleteBucket { caller: me(), bucket: name("shared"), at: t(2) }))
        .unwrap();
    let d = g.then_apply(&create(them(), "shared", AclRequest::default())).unwrap();
    assert_eq!(event_types(&d), ["BucketRecreated"]);
    let b = bucket_state(&g, "shared");
    assert_eq!(b.owner, other_account());
    assert!(!b.deleted);
}

#[test]
fn a_bucket_with_objects_is_not_deleted() {
    let mut g = given(&[]);
    g.then_apply(&create(me(), "full", AclRequest::default())).unwrap();
    g.then_apply(&put(me(), "full", "k", "v1", "aa")).unwrap();
    let delete_bucket = Command::DeleteBucket(DeleteBucket { caller: me(), bucket: name("full"), at: t(4) });
    assert_eq!(g.when(&delete_bucket), Err(DecideError::BucketNotEmpty(name("full"))));
    g.then_apply(&delete(me(), "full", "k", None, "m1")).unwrap();
    g.then_apply(&delete_bucket).unwrap();
    assert_eq!(g.when(&put(me(), "full", "k", "v2", "bb")), Err(DecideError::NoSuchBucket(name("full"))));
}

#[test]
fn private_buckets_refuse_other_accounts_and_anonymous_writes() {
    let mut g = given(&[]);
    g.then_apply(&create(me(), "mine", AclRequest::default())).unwrap();
    assert_eq!(g.when(&put(them(), "mine", "k", "v", "aa")), Err(DecideError::AccessDenied("mine".into())));
    assert_eq!(
        g.when(&put(Caller::Anonymous, "mine", "k", "v", "aa")),
        Err(DecideError::AccessDenied("mine".into()))
    );
    // A grant of WRITE lets the other account in; what it stores is its own.
    let grant = AclRequest::Grants(vec![
        Grant { grantee: Grantee::Account(admin()), permission: Permission::FullControl },
        Grant { grantee: Grantee::Account(other_account()), permission: Permission::Write },
    ]);
    g.then_apply(&Command::PutBucketAcl(PutBucketAcl {
        caller: me(),
        bucket: name("mine"),
        acl: grant,
        at: t(2),
    }))
    .unwrap();
    g.then_apply(&put(them(), "mine", "theirs", "v", "aa")).unwrap();
    let b = bucket_state(&g, "mine");
    let object = b.latest("theirs").unwrap();
    assert_eq!(object.owner, other_account());
    assert!(!object.acl.allows(&me(), Permission::Read), "the bucket owner reads it only if granted");
}

#[test]
fn unversioned_puts_replace_and_deletes_remove() {
    let mut g = given(&[]);
    g.then_apply(&create(me(), "plain", AclRequest::default())).unwrap();
    let d = g.then_apply(&put(me(), "plain", "k", "v1", "aa")).unwrap();
    assert_eq!(d.reply, Reply::Object { version: None, delete_marker: false, etag: Some("aa".into()) });
    g.then_apply(&put(me(), "plain", "k", "v2", "bb")).unwrap();
    let b = bucket_state(&g, "plain");
    assert_eq!(b.objects["k"].len(), 1);
    assert_eq!(b.latest("k").unwrap().content.as_ref().unwrap().etag, "bb");
    assert_eq!(b.latest("k").unwrap().version, NULL_VERSION);
    assert_eq!(bucket_state(&g, "plain").stored, 3, "the replaced version is not counted");
    let d = g.then_apply(&delete(me(), "plain", "k", None, "m")).unwrap();
    assert_eq!(event_types(&d), ["ObjectVersionDeleted"]);
    assert!(bucket_state(&g, "plain").is_empty());
    assert_eq!(bucket_state(&g, "plain").stored, 0);
    // Deleting what is not there is done, and changes nothing.
    let d = g.then_apply(&delete(me(), "plain", "k", None, "m")).unwrap();
    assert!(d.events.is_empty());
}

#[test]
fn versioned_buckets_keep_versions_behind_delete_markers() {
    let mut g = given(&[]);
    g.then_apply(&create(me(), "kept", AclRequest::default())).unwrap();
    let enable = |v| {
        Command::PutBucketVersioning(PutBucketVersioning {
            caller: me(),
            bucket: name("kept"),
            versioning: v,
            at: t(2),
        })
    };
    assert!(matches!(g.when(&enable(Versioning::Unversioned)), Err(DecideError::InvalidBucketRequest(_))));
    g.then_apply(&enable(Versioning::Enabled)).unwrap();
    g.then_apply(&put(me(), "kept", "k", "v1", "aa")).unwrap();
    let d = g.then_apply(&put(me(), "kept", "k", "v2", "bb")).unwrap();
    assert_eq!(
        d.reply,
        Reply::Object { version: Some("v2".into()), delete_marker: false, etag: Some("bb".into()) }
    );
    let d = g.then_apply(&delete(me(), "kept", "k", None, "m1")).unwrap();
    assert_eq!(d.reply, Reply::Object { version: Some("m1".into()), delete_marker: true, etag: None });
    let b = bucket_state(&g, "kept");
    assert!(b.latest("k").is_none(), "the current version is a delete marker");
    assert_eq!(b.version("k", "v1").unwrap().content.as_ref().unwrap().etag, "aa");
    // Deleting the marker brings v2 back.
    g.then_apply(&delete(me(), "kept", "k", Some("m1"), "x")).unwrap();
    assert_eq!(bucket_state(&g, "kept").latest("k").unwrap().version, "v2");
    // Suspended: new versions are null again, the old ones stay.
    g.then_apply(&enable(Versioning::Suspended)).unwrap();
    g.then_apply(&put(me(), "kept", "k", "v3", "cc")).unwrap();
    g.then_apply(&put(me(), "kept", "k", "v4", "dd")).unwrap();
    let versions: Vec<String> =
        bucket_state(&g, "kept").objects["k"].iter().map(|v| v.version.clone()).collect();
    assert_eq!(versions, ["v1", "v2", "null"]);
    let b = bucket_state(&g, "kept");
    assert_eq!((b.stored, b.stored_bytes()), (9, 9), "three versions of 3 bytes, counted as they change");
    assert_eq!(b.listed, b.current_counted());
}

#[test]
fn copies_need_read_on_the_source_and_write_on_the_target() {
    let mut g = given(&[]);
    g.then_apply(&create(me(), "src", AclRequest::default())).unwrap();
    g.then_apply(&create(them(), "dst", AclRequest::default())).unwrap();
    g.then_apply(&put(me(), "src", "k", "v", "aa")).unwrap();
    let copy = |caller: Caller| {
        Command::CopyObject(CopyObject {
            caller,
            bucket: name("dst"),
            key: "copy".into(),
            version: "v".into(),
            source: ObjectRef { bucket: name("src"), key: "k".into(), version: None },
            replace: None,
            acl: AclRequest::default(),
            at: t(5),
        })
    };
    assert_eq!(g.when(&copy(them())), Err(DecideError::AccessDenied("src/k".into())));
    assert_eq!(g.when(&copy(me())), Err(DecideError::AccessDenied("dst".into())));
    g.then_apply(&Command::PutObjectAcl(PutObjectAcl {
        caller: me(),
        bucket: name("src"),
        key: "k".into(),
        version: None,
        acl: AclRequest::Canned(CannedAcl::AuthenticatedRead),
        at: t(4),
    }))
    .unwrap();
    g.then_apply(&copy(them())).unwrap();
    let copied = bucket_state(&g, "dst").latest("copy").unwrap().clone();
    assert_eq!(copied.content.unwrap().parts, content("aa", 3).parts, "a copy shares the source's blobs");
    assert_eq!(copied.owner, other_account());
}

#[test]
fn multipart_uploads_check_their_parts() {
    let mut g = given(&[]);
    g.then_apply(&create(me(), "big", AclRequest::default())).unwrap();
    let start = Command::CreateMultipartUpload(CreateMultipartUpload {
        caller: me(),
        bucket: name("big"),
        key: "iso".into(),
        upload: "u1".into(),
        headers: ObjectHeaders::default(),
        metadata: vec![("a".into(), "b".into())],
        acl: AclRequest::default(),
        at: t(2),
    });
    g.then_apply(&start).unwrap();
    let part = |number, size, etag: &str| {
        Command::UploadPart(UploadPart {
            caller: me(),
            bucket: name("big"),
            key: "iso".into(),
            upload: "u1".into(),
            number,
            part: BlobRef { blob: format!("{etag}{number}"), size },
            etag: etag.into(),
            at: t(3),
        })
    };
    g.then_apply(&part(1, 100, "e1")).unwrap();
    g.then_apply(&part(2, 7, "e2")).unwrap();
    assert!(matches!(g.when(&part(0, 7, "e0")), Err(DecideError::InvalidObjectRequest(_))));
    let complete = |parts: Vec<(u32, &str)>| {
        Command::CompleteMultipartUpload(CompleteMultipartUpload {
            caller: me(),
            bucket: name("big"),
            key: "iso".into(),
            upload: "u1".into(),
            parts: parts.into_iter().map(|(n, e)| (n, e.to_owned())).collect(),
            etag: "final-2".into(),
            version: "v".into(),
            at: t(4),
        })
    };
    assert_eq!(g.when(&complete(vec![(2, "e2"), (1, "e1")])), Err(DecideError::InvalidPartOrder));
    assert_eq!(g.when(&complete(vec![(1, "e1"), (2, "zz")])), Err(DecideError::InvalidPart { number: 2 }));
    assert_eq!(g.when(&complete(vec![(1, "e1"), (3, "e3")])), Err(DecideError::InvalidPart { number: 3 }));
    assert_eq!(
        g.when(&complete(vec![(1, "\"e1\""), (2, "e2")])),
        Err(DecideError::EntityTooSmall { number: 1 })
    );
    // Big enough parts complete, in the client's order, under the upload's metadata.
    g.then_apply(&part(1, MIN_PART_BYTES, "e1")).unwrap();
    let d = g.then_apply(&complete(vec![(1, "\"e1\""), (2, "e2")])).unwrap();
    assert_eq!(event_types(&d), ["MultipartUploadEnded", "ObjectStored"]);
    let b = bucket_state(&g, "big");
    assert!(b.uploads.is_empty());
    let object = b.latest("iso").unwrap().content.clone().unwrap();
    assert_eq!(object.size, MIN_PART_BYTES + 7);
    assert_eq!(object.parts.iter().map(|p| p.blob.as_str()).collect::<Vec<_>>(), ["e11", "e22"]);
    assert_eq!(object.metadata, [("a".to_owned(), "b".to_owned())]);
    assert_eq!(g.when(&complete(vec![(1, "e1")])), Err(DecideError::NoSuchUpload("u1".into())));
}

#[test]
fn the_read_side_folds_buckets_with_the_domains_fold() {
    let mut g = given(&[]);
    let mut slot = None;
    for command in [create(me(), "fold", AclRequest::default()), put(me(), "fold", "k", "v", "aa")] {
        let d = g.then_apply(&command).unwrap();
        for (_, event) in &d.events {
            fold_bucket(&mut slot, event);
        }
    }
    assert_eq!(*slot.unwrap(), bucket_state(&g, "fold"));
}

proptest::proptest! {
    /// Whatever the order of puts, deletes (of keys and of versions) and
    /// versioning changes, the bytes a bucket counts are those of the
    /// versions it holds, and a deleted version is never read again.
    #[test]
    fn stored_bytes_follow_the_versions(steps in proptest::collection::vec((0u8..5, 0u8..3, 1u64..50), 1..60)) {
        let mut g = given(&[]);
        g.then_apply(&create(me(), "count", AclRequest::default())).unwrap();
        let mut n = 0;
        for (op, key, size) in steps {
            n += 1;
            let key = format!("k{key}");
            let command = match op {
                0 | 1 => Command::PutObject(PutObject {
                    caller: me(),
                    bucket: name("count"),
                    key: key.clone(),
                    version: format!("v{n}"),
                    content: content("e", size),
                    acl: AclRequest::default(),
                    if_none_match: false,
                    if_match: None,
                    at: t(n),
                }),
                2 => delete(me(), "count", &key, None, &format!("m{n}")),
                3 => {
                    let b = bucket_state(&g, "count");
                    let version = b.objects.get(&key).and_then(|v| v.first()).map(|v| v.version.clone());
                    delete(me(), "count", &key, Some(version.as_deref().unwrap_or("null")), "x")
                }
                _ => Command::PutBucketVersioning(PutBucketVersioning {
                    caller: me(),
                    bucket: name("count"),
                    versioning: if size % 2 == 0 { Versioning::Enabled } else { Versioning::Suspended },
                    at: t(n),
                }),
            };
            let _ = g.then_apply(&command);
            let b = bucket_state(&g, "count");
            proptest::prop_assert_eq!(b.stored, b.stored_bytes());
            proptest::prop_assert_eq!(b.listed, b.current_counted());
            for versions in b.objects.values() {
                proptest::prop_assert!(!versions.is_empty());
                let nulls = versions.iter().filter(|v| v.version == NULL_VERSION).count();
                proptest::prop_assert!(nulls <= 1, "one null version at most");
            }
        }
    }
}

#[test]
fn a_put_with_if_match_overwrites_only_the_etag_it_names() {
    let mut g = given(&[]);
    g.then_apply(&create(me(), "cas", AclRequest::default())).unwrap();
    let put_if = |etag: &str, expected: &str| match put(me(), "cas", "k", "v", etag) {
        Command::PutObject(mut p) => {
            p.if_match = Some(expected.into());
            Command::PutObject(p)
        }
        _ => unreachable!(),
    };
    // Nothing there yet: S3's NoSuchKey, whatever the ETag.
    for expected in ["aa", "*"] {
        assert_eq!(
            g.when(&put_if("bb", expected)),
            Err(DecideError::NoSuchKey { bucket: name("cas"), key: "k".into() })
        );
    }
    g.then_apply(&put(me(), "cas", "k", "v1", "aa")).unwrap();
    assert_eq!(
        g.when(&put_if("bb", "zz")),
        Err(DecideError::PreconditionFailed("k has another ETag".into()))
    );
    g.then_apply(&put_if("bb", "aa")).unwrap();
    assert_eq!(bucket_state(&g, "cas").latest("k").unwrap().content.as_ref().unwrap().etag, "bb");
    // The ETag read before the change no longer matches.
    assert_eq!(
        g.when(&put_if("cc", "aa")),
        Err(DecideError::PreconditionFailed("k has another ETag".into()))
    );
    g.then_apply(&put_if("cc", "*")).unwrap();
    // A delete marker is no current object.
    g.then_apply(&delete(me(), "cas", "k", None, "m1")).unwrap();
    assert!(matches!(g.when(&put_if("dd", "*")), Err(DecideError::NoSuchKey { .. })));
}
