//! The storage controllers' protocol, for `yukari storage` on another
//! host (docs/adr/0013-block-storage.md):
//!
//! - `POST /admin/storage-controllers?zone=Z&host=H` — signed by the
//!   cloud's admin account: registers zone `Z`'s storage controller and
//!   answers its own credentials ([`StorageCredentials`]) once; only the
//!   sealed secret stays in the log. Registering again replaces them.
//! - `GET /storage/exports?zone=Z&portal=HOST:PORT&iqn_prefix=IQN&capacity_gib=N&have=P&wait=S`
//!   — signed by the zone's storage controller: what it must hold
//!   ([`StorageView`], JSON), as of the read models; waits up to `S` s
//!   (at most 10) for them to pass position `P`. It also says where the
//!   zone's targets are (`portal`, for the nodes' views) and what it
//!   offers (`capacity_gib`, recorded when it changes); each call is its
//!   heartbeat.
//! - `POST /storage/report?zone=Z` — a JSON list of [`StorageDone`],
//!   recorded in order as the matching commands (403 for another zone's
//!   volume, 503 while the log cannot take it).
//! - `PUT /storage/chunks/ID?zone=Z` — a snapshot chunk (or manifest),
//!   whose SHA-256 must be `ID`, stored in Walrus's blob store, where the
//!   controller's own snapshots are (400 if the bytes are not `ID`'s, 503
//!   without an object store); `GET` answers its bytes, `HEAD` whether it
//!   is there (404 if not). Signed by a storage controller.

use crate::admin::{MAX_WAIT_SECS, Refusal, authorize, refuse};
use crate::app::App;
use crate::app::RequestMeta;
use crate::app::volumes::{ReportRefused, StorageDone, StorageTarget, StorageView};
use crate::auth::{SecretLookup, SignedRequest, verify};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::ZoneName;
use domain::volumes::RegisterStorageController;
use domain::{Command, Principal};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/storage/exports", get(exports))
        .route("/storage/report", post(report))
        .route("/storage/chunks/{id}", get(chunk).head(chunk).put(chunk))
        .route("/admin/storage-controllers", post(register))
        .with_state(app)
}

/// Storage controllers' secrets: sealed in the log, opened with the master key.
struct ControllerSecrets<'a>(&'a App);

impl SecretLookup for ControllerSecrets<'_> {
    fn secret(&self, access_key_id: &str) -> Option<String> {
        let sealed = {
            let models = self.0.projections.read();
            models
                .volumes
                .storage
                .values()
                .filter_map(|row| row.controller.as_ref())
                .find(|c| c.access_key.as_str() == access_key_id)?
                .secret
                .clone()
        };
        self.0.credentials.master_key().open(&sealed, access_key_id)
    }
}

/// The zone of the storage controller that signed the request (with the
/// body, when it has one), which must be the zone it names.
fn controller(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    zone: &ZoneName,
) -> Result<(), Refusal> {
    let query = uri.query().unwrap_or("");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let signed = SignedRequest { method: method.as_str(), path: uri.path(), query, headers, body };
    let verified = verify(&signed, &pairs, std::time::SystemTime::now(), &ControllerSecrets(app))
        .map_err(|e| Refusal(StatusCode::UNAUTHORIZED, format!("{}: {e}", e.ec2_code())))?;
    let models = app.projections.read();
    let theirs = models.volumes.storage.iter().find(|(_, row)| {
        row.controller.as_ref().is_some_and(|c| c.access_key.as_str() == verified.access_key_id)
    });
    match theirs {
        Some((z, _)) if z == zone => Ok(()),
        Some((z, _)) => {
            Err(Refusal(StatusCode::FORBIDDEN, format!("this is the storage controller of {z}, not {zone}")))
        }
        None => Err(Refusal(StatusCode::UNAUTHORIZED, "AuthFailure: not a storage controller's key".into())),
    }
}

/// A storage controller's own credentials, answered once at registration.
#[derive(Clone, Serialize, Deserialize)]
pub struct StorageCredentials {
    pub zone: String,
    pub access_key: String,
    pub secret: String,
}

impl std::fmt::Debug for StorageCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StorageCredentials({}, {})", self.zone, self.access_key)
    }
}

#[derive(Deserialize)]
struct RegisterQuery {
    zone: String,
    host: String,
}

async fn register(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    if let Err(refusal) = authorize(&app, &parts.method, &parts.uri, &parts.headers) {
        return refusal.into_response();
    }
    let Ok(Query(q)) = Query::<RegisterQuery>::try_from_uri(&parts.uri) else {
        return refuse(StatusCode::BAD_REQUEST, "zone and host are required");
    };
    let zone = match zone_of(&app, &q.zone) {
        Ok(z) => z,
        Err(r) => return r.into_response(),
    };
    if q.host.is_empty() || q.host.len() > 255 || q.host.chars().any(char::is_control) {
        return refuse(StatusCode::BAD_REQUEST, "host: a host name or address");
    }
    let access_key = app.ids.access_key();
    let secret = crate::secrets::new_secret_key();
    let sealed = app.credentials.master_key().seal(&secret, access_key.as_str());
    let command = Command::RegisterStorageController(RegisterStorageController {
        zone: zone.clone(),
        host: q.host,
        access_key: access_key.clone(),
        secret: sealed,
        at: crate::app::ids::now(),
    });
    let meta = RequestMeta {
        principal: Principal::system("admin"),
        request_id: app.ids.request_id(),
        correlation_id: String::new(),
        source: "admin-api".into(),
    };
    match app.execute(command, &meta).await {
        Ok(_) => {
            // Not heard from yet: the timeout runs from now.
            app.storage_targets.heard(&zone);
            json(&StorageCredentials { zone: zone.to_string(), access_key: access_key.to_string(), secret })
        }
        Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

#[derive(Deserialize)]
struct ExportsQuery {
    zone: String,
    portal: String,
    iqn_prefix: String,
    capacity_gib: u64,
    #[serde(default)]
    have: u64,
    wait: Option<u64>,
}

fn zone_of(app: &App, text: &str) -> Result<ZoneName, Refusal> {
    let zone = ZoneName::parse(text).map_err(|e| Refusal(StatusCode::BAD_REQUEST, e.to_string()))?;
    if !app.projections.read().cloud.zones.contains_key(&zone) {
        return Err(Refusal(StatusCode::NOT_FOUND, format!("no cluster {zone}")));
    }
    Ok(zone)
}

pub(crate) fn json(value: &impl serde::Serialize) -> Response {
    let mut response = serde_json::to_vec(value).expect("a view encodes").into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

async fn exports(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let Ok(Query(q)) = Query::<ExportsQuery>::try_from_uri(&parts.uri) else {
        return refuse(StatusCode::BAD_REQUEST, "zone, portal, iqn_prefix and capacity_gib are required");
    };
    let zone = match zone_of(&app, &q.zone) {
        Ok(z) => z,
        Err(r) => return r.into_response(),
    };
    if let Err(refusal) = controller(&app, &parts.method, &parts.uri, &parts.headers, b"", &zone) {
        return refusal.into_response();
    }
    app.storage_targets.heard(&zone);
    app.storage_targets
        .set(zone.clone(), StorageTarget { portal: q.portal.clone(), iqn_prefix: q.iqn_prefix.clone() });
    let capacity = app.projections.read().volumes.storage.get(&zone).map(|s| s.capacity_gib);
    if capacity != Some(q.capacity_gib)
        && let Err(e) = app.configure_storage(&zone, q.capacity_gib).await
    {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    }
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    if app.projections.read().position <= q.have {
        let _ = tokio::time::timeout(wait, app.projections.wait_for(q.have + 1)).await;
    }
    let view: StorageView = app.storage_view(&zone);
    json(&view)
}

#[derive(Deserialize)]
struct ReportQuery {
    zone: String,
}

/// A request of `?zone=Z`'s storage controller, its body read (up to
/// `limit` bytes) and its signature checked over it: the request's parts,
/// its body and the zone; else the refusal to answer.
async fn signed_by_controller(
    app: &App,
    request: Request,
    limit: usize,
    too_large: &str,
) -> Result<(axum::http::request::Parts, Bytes, ZoneName), Response> {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, limit).await else {
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, too_large));
    };
    let Ok(Query(q)) = Query::<ReportQuery>::try_from_uri(&parts.uri) else {
        return Err(refuse(StatusCode::BAD_REQUEST, "zone is required"));
    };
    let zone = zone_of(app, &q.zone).map_err(IntoResponse::into_response)?;
    controller(app, &parts.method, &parts.uri, &parts.headers, &body, &zone)
        .map_err(IntoResponse::into_response)?;
    Ok((parts, body, zone))
}

async fn report(State(app): State<Arc<App>>, request: Request) -> Response {
    let (_, body, zone) = match signed_by_controller(&app, request, 1 << 20, "at most 1 MiB of reports").await
    {
        Ok(signed) => signed,
        Err(refused) => return refused,
    };
    let reports: Vec<StorageDone> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a list of reports: {e}")),
    };
    // A signed report, even an empty one, is the controller alive (it
    // sends one while a long snapshot or restore keeps it from asking
    // for its view).
    app.storage_targets.heard(&zone);
    for done in reports {
        match app.record_storage(&zone, done).await {
            Ok(()) => {}
            Err(ReportRefused::NotYours(e)) => return refuse(StatusCode::FORBIDDEN, e),
            Err(ReportRefused::Unavailable(e)) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e),
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The largest chunk a storage controller sends (chunks are 4 MiB; a
/// manifest of the largest volume is under 1 MiB).
const CHUNK_LIMIT: usize = 64 << 20;

/// A snapshot chunk in Walrus's blob store, for a storage controller on
/// another host: PUT stores it (checked against its id), GET reads it
/// back (checked by the blob store), HEAD says whether it is there.
async fn chunk(
    State(app): State<Arc<App>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    request: Request,
) -> Response {
    let (parts, body, _) =
        match signed_by_controller(&app, request, CHUNK_LIMIT, "a chunk is at most 64 MiB").await {
            Ok(signed) => signed,
            Err(refused) => return refused,
        };
    let Ok(blob) = id.parse::<objectstore::BlobId>() else {
        return refuse(StatusCode::BAD_REQUEST, "a chunk id is the SHA-256 of its bytes, in hex");
    };
    let Some(blobs) = app.images.get().map(|s| s.blobs.clone()) else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "this controller has no object store");
    };
    match parts.method {
        Method::PUT => {
            if objectstore::BlobId::of(&body) != blob {
                return refuse(StatusCode::BAD_REQUEST, format!("the bytes sent are not chunk {blob}"));
            }
            let stream = futures::stream::iter([Ok::<_, std::io::Error>(body)]);
            match blobs.put(stream, CHUNK_LIMIT as u64).await {
                Ok(_) => StatusCode::NO_CONTENT.into_response(),
                Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, format!("cannot store chunk {blob}: {e}")),
            }
        }
        Method::HEAD if blobs.contains(&blob) => StatusCode::OK.into_response(),
        Method::HEAD => StatusCode::NOT_FOUND.into_response(),
        _ => match blobs.get(&blob, None).await {
            Ok(stream) => {
                let mut response = axum::body::Body::from_stream(stream).into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
                response
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                refuse(StatusCode::NOT_FOUND, format!("no chunk {blob}"))
            }
            Err(e) => refuse(StatusCode::SERVICE_UNAVAILABLE, format!("cannot read chunk {blob}: {e}")),
        },
    }
}

#[cfg(test)]
mod tests;
