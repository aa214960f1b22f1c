//! Buckets and objects (Walrus, S3): the account's buckets with their
//! object counts and sizes (a live part, `crate::live`), CreateBucket and
//! DeleteBucket from forms; a bucket's objects a page at a time by prefix,
//! with "folders" (delimiter `/`), PutObject from the browser (the file is
//! the body of a `PUT` that `static/console.js` sends, streamed into the
//! object store), GetObject as a download, and DeleteObject.
//!
//! Every action, listings included, is Walrus's S3 operation run for the
//! signed-in user (`crate::s3`), so S3 validates names and keys, applies
//! ACLs and records refusals exactly as for a signed request.

use super::{Chrome, Form, Signed, done, failed_s3, q, render};
use crate::Console;
use crate::i18n::Tr;
use crate::s3::{bytes_text, request, time_of};
use crate::sessions::tokens_match;
use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::AccountId;
use futures::TryStreamExt;
use projections::ReadModels;
use s3s::S3;
use s3s::dto::{
    CreateBucketInput, DeleteBucketInput, DeleteObjectInput, GetObjectInput, ListObjectsInput,
    PutObjectInput, StreamingBlob,
};
use std::sync::Arc;

/// Objects on one page of a bucket.
pub(crate) const PAGE: i32 = 100;

/// The header that carries the CSRF token of an upload (a `PUT` whose
/// body is the file, so there is no form field for it).
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/buckets", get(list).post(create))
        .route("/buckets/{bucket}", get(objects))
        .route("/buckets/{bucket}/delete", post(delete_bucket))
        .route("/buckets/{bucket}/objects", axum::routing::put(upload))
        .route("/buckets/{bucket}/download", get(download))
        .route("/buckets/{bucket}/delete-object", post(delete_object))
}

/// One bucket, as listed.
pub(crate) struct BucketRow {
    pub name: String,
    pub link: String,
    pub created: String,
    pub objects: String,
    pub size: String,
}

/// The account's buckets, by name, with the count and size of their
/// current objects.
pub(crate) fn buckets_of(tr: &Tr, models: &ReadModels, account: &AccountId) -> Vec<BucketRow> {
    let mut rows: Vec<BucketRow> = models
        .buckets
        .owned_by(account)
        .map(|b| {
            // Kept with the versions by the bucket's fold: no walk of its keys.
            let (count, size) = b.listed;
            BucketRow {
                name: b.name.to_string(),
                link: format!("/buckets/{}", q(b.name.as_str())),
                created: tr.date(b.created_at),
                objects: tr.number(count),
                size: bytes_text(tr, size),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// The rows of the bucket list: the part that live updates replace.
#[derive(Template)]
#[template(path = "bucket_rows.html")]
pub(crate) struct Rows {
    pub t: Tr,
    pub csrf: String,
    pub buckets: Vec<BucketRow>,
}

#[derive(Template)]
#[template(path = "buckets.html")]
struct ListPage {
    chrome: Chrome,
    rows: Rows,
    live: String,
}

async fn list(State(console): State<Arc<Console>>, signed: Signed) -> Response {
    let tr = signed.tr;
    let (buckets, position) = {
        let models = console.app.projections.read();
        (buckets_of(&tr, &models, &signed.session.account), models.position)
    };
    let chrome = Chrome::new(&console, &signed, "buckets", tr.msg("buckets-title"));
    let rows = Rows { t: tr, csrf: signed.session.csrf.clone(), buckets };
    render(&ListPage { chrome, rows, live: format!("/live/buckets?since={position}") })
}

async fn create(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let name = form.get("name").trim().to_owned();
    let input = CreateBucketInput { bucket: name.clone(), ..Default::default() };
    let req = request(&console, &signed.session, signed.peer, Method::PUT, input);
    match console.walrus.create_bucket(req).await {
        Ok(_) => done(&console, &signed, "/buckets", "bucket-created", &[("bucket", &name)]),
        Err(e) => failed_s3(&console, &signed, "/buckets", &e),
    }
}

async fn delete_bucket(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(bucket): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(refused) = Form::checked(&signed, &body) {
        return refused.into_response();
    }
    let input = DeleteBucketInput { bucket: bucket.clone(), ..Default::default() };
    let req = request(&console, &signed.session, signed.peer, Method::DELETE, input);
    match console.walrus.delete_bucket(req).await {
        Ok(_) => done(&console, &signed, "/buckets", "bucket-deleted", &[("bucket", &bucket)]),
        Err(e) => failed_s3(&console, &signed, "/buckets", &e),
    }
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct Where {
    #[serde(default)]
    prefix: String,
    /// The last key of the previous page.
    #[serde(default)]
    after: String,
}

/// A "folder": a common prefix under the one shown.
pub(crate) struct Folder {
    pub name: String,
    pub link: String,
}

/// An object, as listed.
pub(crate) struct ObjectRow {
    /// Its key after the prefix shown.
    pub name: String,
    pub key: String,
    /// The key, escaped for a query.
    pub key_q: String,
    pub size: String,
    pub modified: String,
    pub etag: String,
}

#[derive(Template)]
#[template(path = "objects.html")]
struct ObjectsPage {
    chrome: Chrome,
    /// The bucket's path (escaped).
    base: String,
    prefix: String,
    /// The folders above: (name, link), the bucket's root first.
    crumbs: Vec<(String, String)>,
    folders: Vec<Folder>,
    objects: Vec<ObjectRow>,
    /// The link to the next page, if there is one.
    next: Option<String>,
    /// The link to the first page, on a later one.
    first: Option<String>,
}

async fn objects(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(bucket): Path<String>,
    Query(at): Query<Where>,
) -> Response {
    let tr = signed.tr;
    let input = ListObjectsInput {
        bucket: bucket.clone(),
        prefix: Some(at.prefix.clone()),
        delimiter: Some("/".to_owned()),
        marker: (!at.after.is_empty()).then(|| at.after.clone()),
        max_keys: Some(PAGE),
        ..Default::default()
    };
    let req = request(&console, &signed.session, signed.peer, Method::GET, input);
    let listed = match console.walrus.list_objects(req).await {
        Ok(r) => r.output,
        Err(e) => {
            tracing::debug!(code = e.code().as_str(), "a bucket page was refused");
            return super::instances::not_found(&console, &signed);
        }
    };
    let base = format!("/buckets/{}", q(&bucket));
    let folders = listed
        .common_prefixes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.prefix)
        .map(|p| Folder {
            name: p.strip_prefix(&at.prefix).unwrap_or(&p).to_owned(),
            link: format!("{base}?prefix={}", q(&p)),
        })
        .collect();
    let objects = listed
        .contents
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| {
            let key = o.key?;
            Some(ObjectRow {
                name: key.strip_prefix(&at.prefix).unwrap_or(&key).to_owned(),
                key_q: q(&key),
                size: bytes_text(&tr, u64::try_from(o.size.unwrap_or(0)).unwrap_or(0)),
                modified: o.last_modified.as_ref().map(|t| tr.date(time_of(t))).unwrap_or_default(),
                etag: o.e_tag.as_ref().map(|e| e.value().to_owned()).unwrap_or_default(),
                key,
            })
        })
        .collect();
    let next = if listed.is_truncated == Some(true) {
        listed.next_marker.map(|m| format!("{base}?prefix={}&after={}", q(&at.prefix), q(&m)))
    } else {
        None
    };
    let first = (!at.after.is_empty()).then(|| format!("{base}?prefix={}", q(&at.prefix)));
    let mut crumbs = vec![(bucket.clone(), base.clone())];
    let mut walked = String::new();
    for part in at.prefix.split_inclusive('/') {
        walked.push_str(part);
        crumbs.push((part.to_owned(), format!("{base}?prefix={}", q(&walked))));
    }
    let chrome =
        Chrome::new(&console, &signed, "buckets", tr.msg_args("bucket-title", &[("bucket", &bucket)]));
    render(&ObjectsPage { chrome, base, prefix: at.prefix, crumbs, folders, objects, next, first })
}

/// The page of the folder that holds `key`.
fn folder_of(bucket: &str, key: &str) -> String {
    let prefix = key.rfind('/').map_or("", |i| &key[..=i]);
    format!("/buckets/{}?prefix={}", q(bucket), q(prefix))
}

#[derive(serde::Deserialize)]
pub(crate) struct KeyQuery {
    #[serde(default)]
    key: String,
}

/// PutObject: the request's body is the file, streamed into the object
/// store as it arrives; its Content-Type is stored. The CSRF token comes
/// in a header. Answers as a form does: a message and a 303 to the folder.
async fn upload(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(bucket): Path<String>,
    Query(k): Query<KeyQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !tokens_match(token, &signed.session.csrf) {
        tracing::info!(user = %signed.session.user, "an upload without its CSRF token was refused");
        return super::refused_form(&signed.tr);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let content_length =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let input = PutObjectInput {
        bucket: bucket.clone(),
        key: k.key.clone(),
        body: Some(StreamingBlob::wrap(sync_wrapper::SyncStream::new(stream))),
        content_type,
        content_length,
        ..Default::default()
    };
    let req = request(&console, &signed.session, signed.peer, Method::PUT, input);
    let back = folder_of(&bucket, &k.key);
    match console.walrus.put_object(req).await {
        Ok(_) => done(&console, &signed, &back, "object-uploaded", &[("key", &k.key)]),
        Err(e) => failed_s3(&console, &signed, &back, &e),
    }
}

/// GetObject, streamed from the object store as an attachment with the
/// stored Content-Type.
async fn download(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(bucket): Path<String>,
    Query(k): Query<KeyQuery>,
) -> Response {
    let input = GetObjectInput { bucket: bucket.clone(), key: k.key.clone(), ..Default::default() };
    let req = request(&console, &signed.session, signed.peer, Method::GET, input);
    let output = match console.walrus.get_object(req).await {
        Ok(r) => r.output,
        Err(e) => {
            tracing::debug!(code = e.code().as_str(), "a download was refused");
            return super::instances::not_found(&console, &signed);
        }
    };
    let Some(body) = output.body else { return super::instances::not_found(&console, &signed) };
    let mut response = Body::from_stream(body).into_response();
    let h = response.headers_mut();
    let content_type = output.content_type.unwrap_or_else(|| "application/octet-stream".to_owned());
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Some(length) = output.content_length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if let Some(tag) =
        output.e_tag.as_ref().and_then(|e| HeaderValue::from_str(&format!("\"{}\"", e.value())).ok())
    {
        h.insert(header::ETAG, tag);
    }
    if let Ok(v) = HeaderValue::from_str(&attachment(&k.key)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// `Content-Disposition: attachment` named after the key's last part: an
/// ASCII fallback and the exact name (RFC 6266, RFC 5987).
pub(crate) fn attachment(key: &str) -> String {
    let name = key.rsplit('/').next().filter(|n| !n.is_empty()).unwrap_or("download");
    let fallback: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let exact = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}")
}

async fn delete_object(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(bucket): Path<String>,
    body: Bytes,
) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let key = form.get("key").to_owned();
    let input = DeleteObjectInput { bucket: bucket.clone(), key: key.clone(), ..Default::default() };
    let req = request(&console, &signed.session, signed.peer, Method::DELETE, input);
    let back = folder_of(&bucket, &key);
    match console.walrus.delete_object(req).await {
        Ok(_) => done(&console, &signed, &back, "object-deleted", &[("key", &key)]),
        Err(e) => failed_s3(&console, &signed, &back, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_named_after_the_key() {
        assert_eq!(
            attachment("a/b/report 1.txt"),
            "attachment; filename=\"report 1.txt\"; filename*=UTF-8''report%201%2Etxt"
        );
        assert_eq!(
            attachment("写真.jpg"),
            "attachment; filename=\"__.jpg\"; filename*=UTF-8''%E5%86%99%E7%9C%9F%2Ejpg"
        );
        assert_eq!(attachment("dir/"), "attachment; filename=\"download\"; filename*=UTF-8''download");
    }

    #[test]
    fn an_object_goes_back_to_its_folder() {
        assert_eq!(folder_of("b", "top.txt"), "/buckets/b?prefix=");
        assert_eq!(folder_of("b", "a/b c/d.txt"), "/buckets/b?prefix=a/b%20c/");
    }
}
