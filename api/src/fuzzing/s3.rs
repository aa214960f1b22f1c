//! The S3 request path as a fuzz target: an arbitrary request (method,
//! path, query, headers, body), signed with the cloud admin's key half
//! the time, sent in process to Walrus's own port (s3s parses and
//! authenticates it, then Walrus handles it against a real event log and
//! object store). Whatever the request, the answer comes without a panic,
//! is never a 500, its error body is well-formed XML, and no answer shows
//! the secret key.
//!
//! Each thread keeps one cloud (a temporary directory with its log and
//! blobs, a bucket and an object in it) for [`RENEW_AFTER`] inputs, then
//! makes a new one, so that a long run's disk stays bounded.

use super::input::Input;
use super::well_formed;
use crate::app::bootstrap::BootstrapSpec;
use crate::auth::{V4Key, V4Request, sign_v4_headers};
use axum::body::Body;
use axum::http::Request;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::path::PathBuf;
use std::time::SystemTime;
use tower::ServiceExt;

/// Inputs served by one cloud before a new one is made.
const RENEW_AFTER: usize = 5_000;

/// The bucket and object every cloud starts with.
const BUCKET: &str = "fuzz-bucket";
const KEY: &str = "some/key.txt";

struct Cloud {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    access_key: String,
    secret: String,
    dir: PathBuf,
    served: usize,
    _following: tokio::sync::watch::Sender<bool>,
}

impl Drop for Cloud {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

thread_local! {
    static CLOUD: RefCell<Option<Cloud>> = const { RefCell::new(None) };
}

fn new_cloud() -> Cloud {
    static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("yukari-fuzz-s3-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let (router, admin, following) = runtime.block_on(async {
        let capacity = domain::Resources { cpus: 1, memory_mib: 1024, disk_gib: 10 };
        let spec = BootstrapSpec::simulated(capacity);
        let (app, admin, following) =
            crate::app::bootstrap::in_process(&dir, eventlog::LogOptions::default(), spec)
                .await
                .expect("a bootstrapped cloud");
        let blobs = objectstore::BlobStore::open(dir.join("blobs")).expect("a blob store");
        let config =
            crate::s3::WalrusConfig { region: "yukari".into(), virtual_hosts: vec!["s3.yukari".into()] };
        let router = crate::s3::own_port_router(crate::s3::Walrus::new(app, blobs, config));
        (router, admin, following)
    });
    let mut cloud = Cloud {
        runtime,
        router,
        access_key: admin.access_key.to_string(),
        secret: admin.secret,
        dir,
        served: 0,
        _following: following,
    };
    for (method, path, body) in
        [("PUT", format!("/{BUCKET}"), &b""[..]), ("PUT", format!("/{BUCKET}/{KEY}"), &b"hello"[..])]
    {
        let length = vec![("content-length".to_owned(), body.len().to_string())];
        let (status, _, answer) = cloud.send(method, &path, "", length, body.to_vec(), true);
        let answer = String::from_utf8_lossy(&answer);
        assert_eq!(status, 200, "{method} {path} while setting up the S3 fuzz target: {answer}");
    }
    cloud
}

impl Cloud {
    /// Sends a request; returns the status, the headers as text and the body.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        query: &str,
        mut headers: Vec<(String, String)>,
        body: Vec<u8>,
        signed: bool,
    ) -> (u16, String, Vec<u8>) {
        self.served += 1;
        if signed {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256")) {
                headers.push(("x-amz-content-sha256".into(), hex::encode(Sha256::digest(&body))));
            }
            let request = V4Request { method, host: "localhost", path, query, body: &body };
            let key = V4Key {
                access_key_id: &self.access_key,
                secret_access_key: &self.secret,
                region: "yukari",
                service: "s3",
            };
            sign_v4_headers(&request, &mut headers, &key, SystemTime::now());
        }
        let uri = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in &headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        // What no client could send (a bad method, URI or header) never
        // reaches the server.
        let Ok(request) = builder.body(Body::from(body)) else { return (0, String::new(), Vec::new()) };
        let router = self.router.clone();
        self.runtime.block_on(async move {
            let response = router.oneshot(request).await.expect("the router answers");
            let status = response.status().as_u16();
            let shown = format!("{:?}", response.headers());
            let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.expect("the body is read");
            (status, shown, bytes.to_vec())
        })
    }
}

const METHODS: [&str; 6] = ["GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"];

/// Query strings S3 clients send, to go past the parser.
const QUERIES: [&str; 16] = [
    "",
    "acl",
    "uploads",
    "versioning",
    "cors",
    "tagging",
    "location",
    "delete",
    "versions",
    "list-type=2&prefix=some/&delimiter=/&max-keys=2",
    "uploadId=x&partNumber=1",
    "uploadId=x",
    "marker=a&max-keys=1000",
    "versionId=null",
    "policy",
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a/b/c/s3/aws4_request&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
];

/// Headers S3 clients send, with a value from the input.
const HEADERS: [&str; 12] = [
    "content-md5",
    "x-amz-acl",
    "range",
    "if-match",
    "if-none-match",
    "x-amz-copy-source",
    "content-type",
    "x-amz-meta-a",
    "x-amz-grant-read",
    "origin",
    "access-control-request-method",
    "x-amz-tagging",
];

/// The S3 request path: see the module's documentation.
pub fn s3(data: &[u8]) {
    let mut input = Input::new(data);
    let method = METHODS[usize::from(input.byte()) % METHODS.len()];
    let path = {
        let bucket = match input.byte() % 4 {
            0 => BUCKET.to_owned(),
            1 => String::new(),
            _ => input.text(),
        };
        let key = match input.byte() % 3 {
            0 => String::new(),
            1 => KEY.to_owned(),
            _ => input.text(),
        };
        let mut path = format!("/{}", urlencoding(&bucket));
        if !key.is_empty() {
            path.push('/');
            path.push_str(&key.split('/').map(urlencoding).collect::<Vec<_>>().join("/"));
        }
        path
    };
    let query = match input.byte() % 3 {
        0 => input.text(),
        _ => QUERIES[usize::from(input.byte()) % QUERIES.len()].to_owned(),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for _ in 0..input.byte() % 4 {
        let name = HEADERS[usize::from(input.byte()) % HEADERS.len()];
        headers.push((name.to_owned(), input.text()));
    }
    for _ in 0..input.byte() % 3 {
        headers.push((input.text(), input.text()));
    }
    let signed = input.byte().is_multiple_of(2);
    if signed && input.byte().is_multiple_of(5) {
        // A signed request whose body is not the one it declares.
        headers.push(("x-amz-content-sha256".into(), hex::encode(Sha256::digest(input.bytes()))));
    }
    let body = input.bytes();
    // Clients send the body's length (hyper makes the body that long: a
    // length that lies never reaches the service), or no length and then
    // no body.
    if input.byte() % 4 != 3 {
        headers.push(("content-length".into(), body.len().to_string()));
    }
    CLOUD.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|c| c.served >= RENEW_AFTER) {
            *slot = None; // the old cloud's directory goes first
            *slot = Some(new_cloud());
        }
        let cloud = slot.as_mut().expect("a cloud");
        let secret = cloud.secret.clone();
        let sent = format!(
            "{method} {path}?{query} {headers:?} {:?} (input {})",
            String::from_utf8_lossy(&body),
            hex::encode(data)
        );
        let (status, shown_headers, body) = cloud.send(method, &path, &query, headers, body, signed);
        if status == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&body);
        assert_ne!(status, 500, "{sent} answered 500: {text}");
        assert!(
            !text.contains(&secret) && !shown_headers.contains(&secret),
            "an answer shows the secret key"
        );
        if status >= 400 && !text.trim().is_empty() {
            well_formed("an S3 error", &text);
            assert!(
                shown_headers.contains("\"content-type\": \"application/xml\""),
                "{sent}: an S3 error without its Content-Type: {shown_headers}"
            );
        }
    });
}

/// Percent-encodes what a path segment cannot carry as is.
fn urlencoding(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by this target: a signed request whose body does not match its
    /// `x-amz-content-sha256` was answered 500 InternalError by s3s.
    #[test]
    fn a_body_that_is_not_the_one_declared_is_refused_as_s3_refuses_it() {
        let mut cloud = new_cloud();
        let wrong = ("x-amz-content-sha256".to_owned(), hex::encode(Sha256::digest(b"another body")));
        let delete = format!("<Delete><Object><Key>{KEY}</Key></Object></Delete>");
        for (method, path, query, body) in [
            ("POST", format!("/{BUCKET}"), "delete", delete.as_bytes()),
            ("PUT", format!("/{BUCKET}/{KEY}"), "", &b"short"[..]),
            ("PUT", format!("/{BUCKET}"), "cors", &b"<CORSConfiguration/>"[..]),
        ] {
            let length = ("content-length".to_owned(), body.len().to_string());
            let (status, _, answer) =
                cloud.send(method, &path, query, vec![wrong.clone(), length], body.to_vec(), true);
            let answer = String::from_utf8_lossy(&answer);
            assert_eq!(status, 400, "{method} {path}?{query}: {answer}");
            assert!(answer.contains("<Code>XAmzContentSHA256Mismatch</Code>"), "{answer}");
            well_formed("the refusal", &answer);
        }
        // A body too large to be read before s3s: streamed, checked as it
        // is stored, refused the same way.
        let large = vec![7u8; 2 << 20];
        let length = ("content-length".to_owned(), large.len().to_string());
        let (status, _, answer) =
            cloud.send("PUT", &format!("/{BUCKET}/{KEY}"), "", vec![wrong.clone(), length], large, true);
        let answer = String::from_utf8_lossy(&answer);
        assert_eq!(status, 400, "a streamed body: {answer}");
        assert!(answer.contains("<Code>XAmzContentSHA256Mismatch</Code>"), "{answer}");
        // No body at all, but a declared one.
        let (status, _, answer) =
            cloud.send("PUT", &format!("/{BUCKET}/{KEY}"), "", vec![wrong], Vec::new(), true);
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(&answer));
        // The object is still the one made at the start.
        let (status, _, answer) =
            cloud.send("GET", &format!("/{BUCKET}/{KEY}"), "", Vec::new(), Vec::new(), true);
        assert_eq!((status, answer.as_slice()), (200, &b"hello"[..]));
    }
}
