//! The admin API: the event log for operators' tools (`yukari replay …
//! --controller URL`), which must not open the running controller's log
//! file (redb allows one process per file).
//!
//! - `GET /admin/log?from=N&limit=M` — stored records from position `N`
//!   (at most `M`, up to the head when the request came), as raw stored
//!   bytes in [`wire`] frames; `&wait=S` waits up to `S` seconds (at most
//!   10) for records after the head, for following the log. The head at
//!   the time of the request is in the `x-yukari-head` header.
//! - `GET /admin/stream?id=STREAM` — one stream's records, through the
//!   stream index, in the same frames.
//! - `GET /admin/models` — the controller's live read models, encoded as a
//!   projections snapshot, with their position in `x-yukari-position`
//!   (for `verify`: rebuilt from the log, they must be the same bytes).
//! - `GET /admin/writer` — what the log's writer did since the controller
//!   started and where its time went, as JSON: batches, jobs, records,
//!   durable commits, syncs and writes of the file, and microseconds
//!   waiting for work, running jobs, committing and syncing
//!   ([`eventlog::WriterStats`]). Two calls a while apart tell how busy
//!   the writer was between them.
//!
//! Every call is signed with AWS Signature Version 4 (or 2) by an access
//! key of the cloud's admin account (the account named `admin`); anything
//! else is refused (401 unauthenticated, 403 not the admin).

pub mod client;
pub mod wire;

use crate::app::App;
use crate::auth::{SignedRequest, verify};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Records per response of `/admin/log` at most, and per frame batch.
pub const MAX_LIMIT: usize = 100_000;
const BATCH: usize = 4096;
/// Longest `wait` a caller may ask for (a waiting call delays a graceful
/// shutdown of the controller by as much).
pub const MAX_WAIT_SECS: u64 = 10;

/// The admin routes, to merge into the controller's router.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/admin/log", get(log))
        .route("/admin/stream", get(stream))
        .route("/admin/models", get(models))
        .route("/admin/writer", get(writer))
        .with_state(app)
}

pub(crate) fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.into()).into_response()
}

/// Why a call is refused: its status and a plain-text message.
#[derive(Debug)]
pub struct Refusal(pub StatusCode, pub String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        refuse(self.0, self.1)
    }
}

/// Checks the signature, and that the signer is the admin account.
pub(crate) fn authorize(app: &App, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<(), Refusal> {
    authorize_signed(app, method, uri, headers, b"")
}

/// [`authorize`] for a request whose body the signature covers.
pub(crate) fn authorize_signed(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    let query = uri.query().unwrap_or("");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let signed = SignedRequest { method: method.as_str(), path: uri.path(), query, headers, body };
    let verified = verify(&signed, &pairs, SystemTime::now(), &app.credentials)
        .map_err(|e| Refusal(StatusCode::UNAUTHORIZED, format!("{}: {e}", e.ec2_code())))?;
    let (account, _) = app
        .credentials
        .owner(&verified.access_key_id)
        .ok_or_else(|| Refusal(StatusCode::UNAUTHORIZED, "AuthFailure: unknown access key".into()))?;
    let models = app.projections.read();
    match models.accounts.account_by_name("admin") {
        Some((admin, _)) if *admin == account => Ok(()),
        _ => Err(Refusal(StatusCode::FORBIDDEN, "only the cloud's admin account may read the log".into())),
    }
}

/// The caller is the cloud's admin ([`authorize`]): the first argument of
/// every admin handler, so that nothing of a request is acted on before it
/// is authorized.
pub(crate) struct AdminCaller;

impl FromRequestParts<Arc<App>> for AdminCaller {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refusal> {
        authorize(app, &parts.method, &parts.uri, &parts.headers).map(|()| AdminCaller)
    }
}

fn frames_response(head: u64, body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert("x-yukari-head", HeaderValue::from(head));
    response
}

#[derive(Deserialize)]
struct LogQuery {
    from: u64,
    limit: Option<usize>,
    wait: Option<u64>,
}

async fn log(_: AdminCaller, State(app): State<Arc<App>>, Query(q): Query<LogQuery>) -> Response {
    let from = q.from.max(1);
    let limit = q.limit.unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT);
    let head = app.log.head();
    if from > head && q.wait.unwrap_or(0) > 0 {
        // Follow: the first records committed after `from`, or nothing.
        let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS));
        let mut subscription = app.log.subscribe(from).with_batch(limit.min(BATCH));
        let mut body = Vec::new();
        if let Ok(Ok(batch)) = tokio::time::timeout(wait, subscription.next_batch()).await {
            for (position, record) in batch.raw() {
                wire::encode(&mut body, position, record);
            }
        }
        return frames_response(app.log.head(), body);
    }
    // Catch up: stream the stored records up to the head, a batch at a time.
    let last = head.min(from.saturating_add(limit as u64 - 1));
    let log = app.log.clone();
    let batches = futures::stream::unfold(from, move |next| {
        let log = log.clone();
        async move {
            if next > last {
                return None;
            }
            let max = ((last - next + 1) as usize).min(BATCH);
            let read = tokio::task::spawn_blocking(move || log.raw_records(next, max)).await;
            let records = match read {
                Ok(Ok(r)) if !r.is_empty() => r,
                Ok(Ok(_)) => return None,
                Ok(Err(e)) => return Some((Err(std::io::Error::other(e.to_string())), u64::MAX)),
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), u64::MAX)),
            };
            let mut body = Vec::new();
            let mut after = next;
            for (position, record) in &records {
                wire::encode(&mut body, *position, record);
                after = position + 1;
            }
            Some((Ok::<_, std::io::Error>(body), after))
        }
    });
    let mut response = Body::from_stream(batches).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert("x-yukari-head", HeaderValue::from(head));
    response
}

#[derive(Deserialize)]
struct StreamQuery {
    id: String,
}

async fn stream(_: AdminCaller, State(app): State<Arc<App>>, Query(q): Query<StreamQuery>) -> Response {
    let log = app.log.clone();
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, eventlog::ReadError> {
        let mut body = Vec::new();
        for recorded in log.read_stream(&q.id, 0)? {
            for (position, record) in log.raw_records(recorded.position, 1)? {
                wire::encode(&mut body, position, &record);
            }
        }
        Ok(body)
    })
    .await;
    match read {
        Ok(Ok(body)) => frames_response(app.log.head(), body),
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn models(_: AdminCaller, State(app): State<Arc<App>>) -> Response {
    // Encoded off the lock and off the async threads (a large cloud takes
    // a while): the read models are shared, not locked, meanwhile.
    let models = app.projections.share();
    let encoded =
        tokio::task::spawn_blocking(move || (models.position, projections::encode_snapshot(&models))).await;
    let (position, body) = match encoded {
        Ok(encoded) => encoded,
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert("x-yukari-position", HeaderValue::from(position));
    response
}

/// The body of `GET /admin/writer`: [`eventlog::WriterStats`] and the
/// durable commits, durations in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct WriterReport {
    pub batches: u64,
    pub jobs: u64,
    pub records: u64,
    pub commits: u64,
    pub syncs: u64,
    pub writes: u64,
    pub waiting_us: u64,
    pub running_us: u64,
    pub committing_us: u64,
    pub syncing_us: u64,
}

impl WriterReport {
    /// What happened between `earlier` and this report.
    pub fn since(&self, earlier: &WriterReport) -> WriterReport {
        let d = |a: u64, b: u64| a.saturating_sub(b);
        WriterReport {
            batches: d(self.batches, earlier.batches),
            jobs: d(self.jobs, earlier.jobs),
            records: d(self.records, earlier.records),
            commits: d(self.commits, earlier.commits),
            syncs: d(self.syncs, earlier.syncs),
            writes: d(self.writes, earlier.writes),
            waiting_us: d(self.waiting_us, earlier.waiting_us),
            running_us: d(self.running_us, earlier.running_us),
            committing_us: d(self.committing_us, earlier.committing_us),
            syncing_us: d(self.syncing_us, earlier.syncing_us),
        }
    }
}

async fn writer(_: AdminCaller, State(app): State<Arc<App>>) -> Response {
    let s = app.log.writer_stats();
    let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    let report = WriterReport {
        batches: s.batches,
        jobs: s.jobs,
        records: s.records,
        commits: app.log.commits(),
        syncs: s.syncs,
        writes: s.writes,
        waiting_us: micros(s.waiting),
        running_us: micros(s.running),
        committing_us: micros(s.committing),
        syncing_us: micros(s.syncing),
    };
    match serde_json::to_string(&report) {
        Ok(body) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests;
