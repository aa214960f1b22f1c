//! The bucket and object pages: every action is Walrus's S3 operation of
//! the signed-in user (recorded as a console request), uploads and
//! downloads are the object's bytes, refusals show S3's answer, and
//! another account's private bucket is neither shown nor downloadable.

use super::actions::next_update;
use super::*;

/// The flash message of the page `answer` redirects to, and that page.
async fn after(b: &mut Browser, w: &World, answer: &Page) -> (String, Page) {
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let page = b.get(&w.router, answer.location()).await;
    let at = page.body.find("id=\"flash\"").unwrap_or_else(|| panic!("no flash on {}", answer.location()));
    let text = page.body[at..].split_once('>').unwrap().1.split('<').next().unwrap().to_owned();
    (text, page)
}

impl Browser {
    /// An upload as `static/console.js` sends it: the file is the body of
    /// a PUT, the CSRF token in a header.
    async fn upload(
        &mut self,
        router: &Router,
        bucket: &str,
        key: &str,
        csrf: Option<&str>,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Page {
        let mut r =
            self.request("PUT", &format!("/buckets/{bucket}/objects?key={}", crate::pages::q(key)), None);
        r.headers_mut().insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        r.headers_mut().insert(header::CONTENT_LENGTH, bytes.len().into());
        if let Some(csrf) = csrf {
            r.headers_mut().insert("x-csrf-token", csrf.parse().unwrap());
        }
        *r.body_mut() = Body::from(bytes);
        let page = read(router.clone().oneshot(r).await.unwrap()).await;
        self.keep(&page);
        page
    }

    /// A download: its answer and its bytes.
    async fn download(&mut self, router: &Router, bucket: &str, key: &str) -> (Response, Vec<u8>) {
        let path = format!("/buckets/{bucket}/download?key={}", crate::pages::q(key));
        let response = router.clone().oneshot(self.request("GET", &path, None)).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 26).await.unwrap().to_vec();
        (Response::from_parts(parts, Body::empty()), bytes)
    }
}

/// `size` bytes that are not all alike.
fn contents(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn a_bucket_is_created_filled_listed_downloaded_emptied_and_deleted_through_s3() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let page = b.get(&w.router, "/buckets").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No buckets."), "{}", page.body);
    assert!(page.body.contains("href=\"/buckets\" id=\"nav-buckets\" class=\"active\""), "{}", page.body);
    let csrf = page.csrf();
    // A name S3 refuses, with S3's reason.
    let answer = b.post(&w.router, "/buckets", &[("csrf", &csrf), ("name", "Not_Valid")]).await;
    let (text, _) = after(&mut b, &w, &answer).await;
    assert!(text.contains("may hold only lowercase letters"), "{text}");
    // Create.
    let answer = b.post(&w.router, "/buckets", &[("csrf", &csrf), ("name", "photos")]).await;
    let (text, page) = after(&mut b, &w, &answer).await;
    assert_eq!(text, "Bucket photos was created.");
    assert!(page.body.contains("<a href=\"/buckets/photos\">photos</a>"), "{}", page.body);
    // Upload: a file at the top, two in a folder; a large one streams
    // through (5 MiB, more than a form body may be).
    let big = contents(5 << 20);
    let answer =
        b.upload(&w.router, "photos", "big.bin", Some(&csrf), "application/x-test", big.clone()).await;
    let (text, _) = after(&mut b, &w, &answer).await;
    assert_eq!(text, "big.bin was uploaded.");
    assert_eq!(answer.location(), "/buckets/photos?prefix=");
    for key in ["2026/a.txt", "2026/b c.txt"] {
        let answer =
            b.upload(&w.router, "photos", key, Some(&csrf), "text/plain", key.as_bytes().to_vec()).await;
        assert_eq!(answer.location(), "/buckets/photos?prefix=2026/", "{}", answer.body);
        assert_eq!(after(&mut b, &w, &answer).await.0, format!("{key} was uploaded."));
    }
    // The root: a folder and the big file, its size and ETag (the MD5).
    let page = b.get(&w.router, "/buckets/photos").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<a href=\"/buckets/photos?prefix=2026/\">2026/</a>"), "{}", page.body);
    assert!(page.body.contains("data-key=\"big.bin\"") && page.body.contains("5,120 KiB"), "{}", page.body);
    let md5 = {
        let models = w.app.projections.read();
        models.buckets.bucket("photos").unwrap().latest("big.bin").unwrap().content.clone().unwrap().etag
    };
    assert!(page.body.contains(&md5), "the ETag: {}", page.body);
    assert!(!page.body.contains("a.txt"), "objects in folders are not listed at the root");
    // The folder.
    let page = b.get(&w.router, "/buckets/photos?prefix=2026/").await;
    assert!(
        page.body.contains("data-key=\"2026/a.txt\"") && page.body.contains(">b c.txt</a>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("big.bin"), "{}", page.body);
    // The bucket list counts the current objects and their bytes.
    let page = b.get(&w.router, "/buckets").await;
    let row = &page.body[page.body.find("<tr data-name=\"photos\"").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("<td>3</td>"), "{row}");
    // Download: the same bytes, as an attachment, with the stored type.
    let (response, bytes) = b.download(&w.router, "photos", "big.bin").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(bytes == big, "the downloaded bytes are the uploaded ones");
    let h = response.headers();
    assert_eq!(h[header::CONTENT_TYPE], "application/x-test");
    assert_eq!(h[header::CONTENT_LENGTH], (5u64 << 20).to_string().as_str());
    assert_eq!(
        h[header::CONTENT_DISPOSITION],
        "attachment; filename=\"big.bin\"; filename*=UTF-8''big%2Ebin"
    );
    assert_eq!(h[header::ETAG], format!("\"{md5}\"").as_str());
    let (response, bytes) = b.download(&w.router, "photos", "2026/b c.txt").await;
    assert_eq!((response.status(), bytes.as_slice()), (StatusCode::OK, b"2026/b c.txt".as_slice()));
    // A bucket with objects is not deleted: S3's refusal is shown.
    let answer = b.post(&w.router, "/buckets/photos/delete", &[("csrf", &csrf)]).await;
    let (text, _) = after(&mut b, &w, &answer).await;
    assert_eq!(text, "The bucket photos is not empty: delete every object version in it first.");
    // Delete the objects, then the bucket.
    for key in ["big.bin", "2026/a.txt", "2026/b c.txt"] {
        let answer =
            b.post(&w.router, "/buckets/photos/delete-object", &[("csrf", &csrf), ("key", key)]).await;
        assert_eq!(after(&mut b, &w, &answer).await.0, format!("{key} was deleted."));
    }
    let (response, _) = b.download(&w.router, "photos", "big.bin").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "a deleted object is not downloaded");
    let page = b.get(&w.router, "/buckets/photos").await;
    assert!(page.body.contains("This folder is empty."), "{}", page.body);
    let answer = b.post(&w.router, "/buckets/photos/delete", &[("csrf", &csrf)]).await;
    let (text, page) = after(&mut b, &w, &answer).await;
    assert_eq!(text, "Bucket photos was deleted.");
    assert!(page.body.contains("No buckets."), "{}", page.body);
    // Every change is S3's command in the bucket's stream, by the
    // console's user; the refused deletion is recorded as a refusal.
    let records: Vec<(String, String, String)> = w
        .app
        .log
        .read_stream("bucket/photos", 0)
        .unwrap()
        .into_iter()
        .map(|r| (r.metadata.action, r.metadata.user, r.metadata.source))
        .collect();
    for action in ["CreateBucket", "PutObject", "DeleteObject", "DeleteBucket"] {
        let r =
            records.iter().find(|(a, _, _)| a == action).unwrap_or_else(|| panic!("{action} in {records:?}"));
        assert_eq!(r.1, "admin");
        assert!(r.2.starts_with("console"), "{r:?}");
    }
    let refused = w.app.log.read_stream("refused", 0).unwrap();
    assert!(refused.iter().any(|r| r.metadata.action == "DeleteBucket"), "the refused deletion is recorded");
}

#[tokio::test]
async fn uploads_and_forms_without_their_csrf_token_do_nothing() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let csrf = b.csrf(&w.router).await;
    let page = b.post(&w.router, "/buckets", &[("name", "nope")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = b.post(&w.router, "/buckets", &[("csrf", "wrong"), ("name", "nope")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(w.app.projections.read().buckets.bucket("nope").is_none());
    let answer = b.post(&w.router, "/buckets", &[("csrf", &csrf), ("name", "kept")]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    for token in [None, Some("wrong")] {
        let page = b.upload(&w.router, "kept", "x.txt", token, "text/plain", b"x".to_vec()).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{token:?}");
    }
    let answer = b.upload(&w.router, "kept", "x.txt", Some(&csrf), "text/plain", b"x".to_vec()).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    for (path, fields) in
        [("/buckets/kept/delete-object", vec![("key", "x.txt")]), ("/buckets/kept/delete", vec![])]
    {
        let page = b.post(&w.router, path, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
    }
    let models = w.app.projections.read();
    let bucket = models.buckets.bucket("kept").expect("still there");
    assert_eq!(bucket.objects.len(), 1, "only the upload with its token was stored");
    assert!(bucket.latest("x.txt").is_some());
}

#[tokio::test]
async fn another_accounts_private_bucket_is_neither_shown_nor_downloadable() {
    let w = world().await;
    let mut alice = signed_in(&w, "admin").await;
    let csrf = alice.csrf(&w.router).await;
    let answer = alice.post(&w.router, "/buckets", &[("csrf", &csrf), ("name", "alices-secrets")]).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let answer = alice
        .upload(&w.router, "alices-secrets", "plan.txt", Some(&csrf), "text/plain", b"secret plan".to_vec())
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let (response, bytes) = alice.download(&w.router, "alices-secrets", "plan.txt").await;
    assert_eq!((response.status(), bytes.as_slice()), (StatusCode::OK, b"secret plan".as_slice()));
    // Another account's admin.
    let key = w.app.create_account("team-b", &meta(&w.admin)).await.unwrap();
    w.app
        .change_login_profile(
            &key.account,
            &UserName::admin(),
            LoginProfileKind::Create,
            Some(PASSWORD.into()),
            None,
            &meta(&key.account),
        )
        .await
        .unwrap();
    let mut bob = signed_in(&w, "team-b").await;
    let bob_csrf = bob.csrf(&w.router).await;
    let page = bob.get(&w.router, "/buckets").await;
    assert!(!page.body.contains("alices-secrets") && page.body.contains("No buckets."), "{}", page.body);
    let page = bob.get(&w.router, "/buckets/alices-secrets").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("plan.txt"), "{}", page.body);
    let (response, bytes) = bob.download(&w.router, "alices-secrets", "plan.txt").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(!String::from_utf8_lossy(&bytes).contains("secret plan"));
    // Nor can Bob change it: S3 refuses, and says so.
    let answer = bob
        .post(&w.router, "/buckets/alices-secrets/delete-object", &[("csrf", &bob_csrf), ("key", "plan.txt")])
        .await;
    let (text, _) = after(&mut bob, &w, &answer).await;
    assert!(text.starts_with("Access denied"), "{text}");
    let answer = bob
        .upload(&w.router, "alices-secrets", "plan.txt", Some(&bob_csrf), "text/plain", b"mine".to_vec())
        .await;
    assert!(after(&mut bob, &w, &answer).await.0.starts_with("Access denied"));
    let answer = bob.post(&w.router, "/buckets", &[("csrf", &bob_csrf), ("name", "alices-secrets")]).await;
    let (text, _) = after(&mut bob, &w, &answer).await;
    assert!(text.contains("another account has a bucket of that name"), "{text}");
    let (_, bytes) = alice.download(&w.router, "alices-secrets", "plan.txt").await;
    assert_eq!(bytes, b"secret plan");
    // The refusals are recorded as Bob's.
    let refused = w.app.log.read_stream("refused", 0).unwrap();
    assert!(
        refused
            .iter()
            .any(|r| r.metadata.action == "DeleteObject" && r.metadata.account == key.account.as_str())
    );
}

#[tokio::test]
async fn a_user_who_is_not_the_admin_reads_buckets_but_changes_nothing() {
    let w = world().await;
    let mut admin = signed_in(&w, "admin").await;
    let csrf = admin.csrf(&w.router).await;
    admin.post(&w.router, "/buckets", &[("csrf", &csrf), ("name", "shared-data")]).await;
    admin.upload(&w.router, "shared-data", "r.txt", Some(&csrf), "text/plain", b"read me".to_vec()).await;
    let carol = UserName::parse("carol").unwrap();
    w.app.create_user(&w.admin, &carol, &meta(&w.admin)).await.unwrap();
    w.app
        .change_login_profile(
            &w.admin,
            &carol,
            LoginProfileKind::Create,
            Some(PASSWORD.into()),
            None,
            &meta(&w.admin),
        )
        .await
        .unwrap();
    let mut c = Browser::default();
    let answer = c.sign_in(&w.router, "admin", "carol", PASSWORD).await;
    assert_eq!(answer.location(), "/");
    let c_csrf = c.csrf(&w.router).await;
    let page = c.get(&w.router, "/buckets/shared-data").await;
    assert!(page.body.contains("data-key=\"r.txt\""), "{}", page.body);
    let (_, bytes) = c.download(&w.router, "shared-data", "r.txt").await;
    assert_eq!(bytes, b"read me");
    let answer =
        c.post(&w.router, "/buckets/shared-data/delete-object", &[("csrf", &c_csrf), ("key", "r.txt")]).await;
    assert!(after(&mut c, &w, &answer).await.0.starts_with("Access denied"));
    let answer = c.post(&w.router, "/buckets", &[("csrf", &c_csrf), ("name", "carols")]).await;
    assert!(after(&mut c, &w, &answer).await.0.starts_with("Access denied"));
    assert!(w.app.projections.read().buckets.bucket("shared-data").unwrap().latest("r.txt").is_some());
}

#[tokio::test]
async fn objects_are_listed_a_page_at_a_time() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let csrf = b.csrf(&w.router).await;
    b.post(&w.router, "/buckets", &[("csrf", &csrf), ("name", "many")]).await;
    let total = crate::pages::buckets::PAGE as usize + 5;
    for i in 0..total {
        let key = format!("k{i:04}");
        let answer = b.upload(&w.router, "many", &key, Some(&csrf), "text/plain", vec![b'x'; i]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER);
    }
    let first = b.get(&w.router, "/buckets/many").await;
    assert_eq!(first.body.matches("data-key=\"").count(), crate::pages::buckets::PAGE as usize);
    assert!(first.body.contains("data-key=\"k0099\"") && !first.body.contains("data-key=\"k0100\""));
    let at = first.body.find("id=\"next-page\"").expect("a next page");
    let link = &first.body[..at];
    let link = &link[link.rfind("href=\"").unwrap() + 6..];
    let link = link[..link.find('"').unwrap()].replace("&#38;", "&");
    assert_eq!(link, "/buckets/many?prefix=&after=k0099");
    let second = b.get(&w.router, &link).await;
    assert_eq!(second.body.matches("data-key=\"").count(), 5);
    assert!(second.body.contains("data-key=\"k0100\"") && !second.body.contains("id=\"next-page\""));
    assert!(second.body.contains("id=\"first-page\""));
}

#[tokio::test]
async fn the_bucket_list_is_told_of_new_objects_and_pages_are_translated() {
    let w = world().await;
    let mut b = signed_in(&w, "admin").await;
    let csrf = b.csrf(&w.router).await;
    b.post(&w.router, "/buckets", &[("csrf", &csrf), ("name", "live-one")]).await;
    let page = b.get(&w.router, "/buckets").await;
    let at = page.body.find("data-live=\"").unwrap() + "data-live=\"".len();
    let live = page.body[at..at + page.body[at..].find('"').unwrap()].replace("&amp;", "&");
    assert!(live.starts_with("/live/buckets?since="), "{live}");
    let response = w.router.clone().oneshot(b.request("GET", &live, None)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.into_body().into_data_stream();
    b.upload(&w.router, "live-one", "n.txt", Some(&csrf), "text/plain", b"12345".to_vec()).await;
    let update = next_update(&mut stream).await;
    assert!(update.contains("live-one") && update.contains("5 B"), "{update}");
    // Japanese.
    b.lang = Some("ja");
    let page = b.get(&w.router, "/buckets").await;
    assert!(page.body.contains("バケットの作成") && page.body.contains("オブジェクト数"), "{}", page.body);
    let page = b.get(&w.router, "/buckets/live-one").await;
    assert!(page.body.contains("ファイルのアップロード") && page.body.contains("最終更新"), "{}", page.body);
    let answer = b.post(&w.router, "/buckets/live-one/delete", &[("csrf", &csrf)]).await;
    let (text, _) = after(&mut b, &w, &answer).await;
    assert!(text.contains("バケットが空ではありません"), "{text}");
}
