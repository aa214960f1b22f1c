//! The node protocol: how node executors on other hosts talk to the
//! controller (see docs/adr/0007-node-protocol.md). Every call is signed
//! with SigV4 by the node's own access key, issued at registration; the
//! node and its zone are those the key belongs to, never taken from the
//! request.
//!
//! - `GET /node/feed?from=N&wait=S` — the stored records that concern the
//!   node (every record of the instances placed on it, and the placements
//!   elsewhere of those that were), from position `N`,
//!   in the frames of `/admin/log`; `x-yukari-next` is where to ask next
//!   (records of other nodes are skipped, not sent), `x-yukari-head` the
//!   log's head. `wait` (at most 10 s) waits for new records when caught up.
//!   A node far behind is served from the stream index (see [`feed`]).
//! - `POST /node/report` — a [`wire::ReportBody`]; refused (403) for an
//!   instance not placed on the node, 409 when the domain refuses it.
//! - `POST /node/heartbeat` — the node is alive; answers the controller's
//!   epoch and timeout.
//! - `POST /node/console?instance=ID` — the last console output of a guest
//!   of the node (kept for GetConsoleOutput, see [`consoles`]).
//! - `GET /node/metadata-token?instance=ID` — the token a guest of the node
//!   names the metadata service with (made from the master key).
//! - `GET /node/network?have=V&wait=S` — the node's guest network, computed
//!   by the controller ([`network`]).
//!
//! - `POST /node/image-manifest` — a JSON [`images::ManifestRequest`]: the
//!   download manifest of a bundled image one of the node's guests boots
//!   ([`bundle::DownloadManifest`], JSON), its key sealed to the key the
//!   node sent; 403 for another node's instance or another image.
//!
//! The admin side (register a node, list nodes, clusters) is in [`admin`].

pub mod admin;
pub mod consoles;
pub mod feed;
mod images;
pub use images::ManifestRequest;
pub mod liveness;
pub mod network;
mod volumes;
pub mod wire;

use crate::admin::{Refusal, refuse};
use crate::app::{App, ExecuteError, RequestMeta};
use crate::auth::{SecretLookup, SignedRequest, verify};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::{Command, InstanceId, NodeId, Principal, ZoneName};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/node/feed", get(feed))
        .route("/node/history", get(history))
        .route("/node/report", post(report))
        .route("/node/heartbeat", post(heartbeat))
        .route("/node/console", post(console))
        .route("/node/metadata-token", get(metadata_token))
        .route("/node/network", get(network::network))
        .route("/node/volumes", get(volumes::volumes))
        .route("/node/volume-report", post(volumes::report))
        .route("/node/image-manifest", post(images::manifest))
        .merge(admin::router())
        .with_state(app)
}

/// Node secrets: sealed in the log, opened with the master key.
struct NodeSecrets<'a>(&'a App);

impl SecretLookup for NodeSecrets<'_> {
    fn secret(&self, access_key_id: &str) -> Option<String> {
        let sealed = {
            let models = self.0.projections.read();
            let (_, _, row) = models.cloud.node_by_key(access_key_id)?;
            row.secret.clone()?
        };
        self.0.credentials.master_key().open(&sealed, access_key_id)
    }
}

/// The node that signed the request, and its zone.
fn authenticate(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, Refusal> {
    let query = uri.query().unwrap_or("");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let signed = SignedRequest { method: method.as_str(), path: uri.path(), query, headers, body };
    let verified = verify(&signed, &pairs, SystemTime::now(), &NodeSecrets(app))
        .map_err(|e| Refusal(StatusCode::UNAUTHORIZED, format!("{}: {e}", e.ec2_code())))?;
    let models = app.projections.read();
    let (node, zone, _) = models
        .cloud
        .node_by_key(&verified.access_key_id)
        .ok_or_else(|| Refusal(StatusCode::UNAUTHORIZED, "AuthFailure: not a node's key".into()))?;
    Ok(Caller { node: node.clone(), zone: zone.clone() })
}

/// The node that signed a request without a body, and its zone: the
/// first argument of the `GET /node/*` handlers, so that nothing of the
/// request is acted on before its signature is checked.
pub(crate) struct Caller {
    pub node: NodeId,
    pub zone: ZoneName,
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refusal> {
        authenticate(app, &parts.method, &parts.uri, &parts.headers, b"")
    }
}

/// A node's signed request with a body (the signature covers it): the
/// node, its zone and the body. Being a body, it is the handler's last
/// argument.
pub(crate) struct Signed {
    pub caller: Caller,
    pub body: Bytes,
}

impl FromRequest<Arc<App>> for Signed {
    type Rejection = Response;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (method, uri, headers) =
            (request.method().clone(), request.uri().clone(), request.headers().clone());
        let body = Bytes::from_request(request, app).await.map_err(IntoResponse::into_response)?;
        let caller =
            authenticate(app, &method, &uri, &headers, &body).map_err(IntoResponse::into_response)?;
        Ok(Signed { caller, body })
    }
}

/// Is `instance` placed on `node` (as the read models know)?
fn placed_on(app: &App, instance: &InstanceId, node: &NodeId) -> bool {
    app.projections.read().instances.get(instance.as_str()).and_then(|row| row.node.as_ref()) == Some(node)
}

#[derive(Deserialize)]
struct FeedQuery {
    from: u64,
    wait: Option<u64>,
}

async fn feed(
    Caller { node, .. }: Caller,
    State(app): State<Arc<App>>,
    Query(q): Query<FeedQuery>,
) -> Result<Response, Refusal> {
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(crate::admin::MAX_WAIT_SECS));
    let page = feed::page(&app, &node, q.from, wait, feed::FEED_PAGE, feed::Lookup::Auto).await?;
    let mut response = (StatusCode::OK, page.body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert("x-yukari-head", HeaderValue::from(app.log.head()));
    h.insert("x-yukari-next", HeaderValue::from(page.next));
    Ok(response)
}

#[derive(Deserialize)]
struct HistoryQuery {
    stream: String,
    to: u64,
}

/// `GET /node/history?stream=instance/ID&to=N`: every record of an
/// instance's stream up to `N`, for a node the instance is placed on now
/// (one started there after a life on another node, whose earlier records
/// the feed gave that other node).
async fn history(
    Caller { node, .. }: Caller,
    State(app): State<Arc<App>>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, Refusal> {
    let instance = domain::ParsedStream::instance(&q.stream)
        .ok_or_else(|| Refusal(StatusCode::BAD_REQUEST, "stream: not an instance's stream".into()))?;
    if !placed_on(&app, &instance, &node) {
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            format!("instance {instance} is not placed on node {node}"),
        ));
    }
    let head = app.log.head();
    let log = app.log.clone();
    let records = tokio::task::spawn_blocking(move || {
        log.raw_stream_records(&[q.stream], 1, q.to.min(head), usize::MAX)
    })
    .await
    .map_err(|e| Refusal(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
    .map_err(|e| Refusal(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let mut body = Vec::new();
    for (position, record) in &records {
        crate::admin::wire::encode(&mut body, *position, record);
    }
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert("x-yukari-head", HeaderValue::from(head));
    Ok(response)
}

async fn report(State(app): State<Arc<App>>, request: Signed) -> Response {
    let Signed { caller: Caller { node, zone }, body } = request;
    let parsed: wire::ReportBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a report: {e}")),
    };
    let report = match parsed.into_report(node.clone(), zone) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    if !placed_on(&app, &report.instance, &node) {
        tracing::warn!(%node, instance = %report.instance, "refused a report on an instance of another node");
        return refuse(
            StatusCode::FORBIDDEN,
            format!("instance {} is not placed on node {node}", report.instance),
        );
    }
    let meta = RequestMeta {
        principal: Principal::system("node-executor"),
        request_id: app.ids.request_id(),
        correlation_id: report.instance.to_string(),
        source: format!("node:{node}"),
    };
    match app.execute(Command::from(report), &meta).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(ExecuteError::Refused(e)) => refuse(StatusCode::CONFLICT, e.to_string()),
        Err(e) => {
            tracing::error!(request_id = %meta.request_id, error = %e, "a node report failed");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the controller failed; request {}", meta.request_id),
            )
        }
    }
}

async fn heartbeat(State(app): State<Arc<App>>, request: Signed) -> Response {
    let Caller { node, zone } = request.caller;
    app.liveness.heard(&node);
    let was_lost = app.projections.read().cloud.node(&node).is_some_and(|(_, row)| !row.reachable);
    if was_lost {
        liveness::mark(&app, &zone, &node, true, crate::app::ids::now()).await;
    }
    let reply =
        wire::HeartbeatReply { epoch: app.liveness.epoch, timeout_secs: app.liveness.timeout().as_secs() };
    let mut response = serde_json::to_vec(&reply).expect("a reply encodes").into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The instance named by `text`, when it is placed on `node`; a 400 or
/// 403 answer otherwise.
fn own_instance(app: &App, node: &NodeId, text: &str) -> Result<InstanceId, Refusal> {
    let Ok(instance) = InstanceId::parse(text) else {
        return Err(Refusal(StatusCode::BAD_REQUEST, format!("not an instance id: {text:?}")));
    };
    if !placed_on(app, &instance, node) {
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            format!("instance {instance} is not placed on node {node}"),
        ));
    }
    Ok(instance)
}

#[derive(Deserialize)]
struct ConsoleQuery {
    instance: String,
}

async fn console(
    State(app): State<Arc<App>>,
    Query(q): Query<ConsoleQuery>,
    request: Signed,
) -> Result<StatusCode, Refusal> {
    let Signed { caller, body } = request;
    let instance = own_instance(&app, &caller.node, &q.instance)?;
    let keeper = app.clone();
    tokio::task::spawn_blocking(move || keeper.liveness.set_console(instance, body.to_vec()))
        .await
        .map_err(|e| Refusal(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn metadata_token(
    Caller { node, .. }: Caller,
    State(app): State<Arc<App>>,
    Query(q): Query<ConsoleQuery>,
) -> Result<String, Refusal> {
    let instance = own_instance(&app, &node, &q.instance)?;
    Ok(crate::metadata::MetadataTokens::new(app.credentials.master_key()).token(&instance))
}

#[cfg(test)]
mod tests;
