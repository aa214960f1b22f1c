//! The storage controllers' protocol, for `yukari storage` on another
//! host (docs/adr/0013-block-storage.md). Signed, like `/admin/`, by the
//! cloud's admin account (a storage controller runs with the admin's
//! eucarc; it is the operator's own service, as `yukari node` is before
//! it registers):
//!
//! - `GET /storage/exports?zone=Z&portal=HOST:PORT&iqn_prefix=IQN&capacity_gib=N&have=P&wait=S`
//!   — what zone `Z`'s storage controller must hold ([`StorageView`],
//!   JSON), as of the read models; waits up to `S` s (at most 10) for them
//!   to pass position `P`. It also says where the zone's targets are
//!   (`portal`, for the nodes' views) and what it offers (`capacity_gib`,
//!   recorded when it changes).
//! - `POST /storage/report?zone=Z` — a JSON list of [`StorageDone`],
//!   recorded in order as the matching commands (403 for another zone's
//!   volume, 503 while the log cannot take it).

use crate::admin::{MAX_WAIT_SECS, Refusal, authorize, authorize_signed, refuse};
use crate::app::App;
use crate::app::volumes::{ReportRefused, StorageDone, StorageTarget, StorageView};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::ZoneName;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/storage/exports", get(exports))
        .route("/storage/report", post(report))
        .with_state(app)
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
    if let Err(refusal) = authorize(&app, &parts.method, &parts.uri, &parts.headers) {
        return refusal.into_response();
    }
    let Ok(Query(q)) = Query::<ExportsQuery>::try_from_uri(&parts.uri) else {
        return refuse(StatusCode::BAD_REQUEST, "zone, portal, iqn_prefix and capacity_gib are required");
    };
    let zone = match zone_of(&app, &q.zone) {
        Ok(z) => z,
        Err(r) => return r.into_response(),
    };
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

async fn report(State(app): State<Arc<App>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "at most 1 MiB of reports");
    };
    let body: Bytes = body;
    if let Err(refusal) = authorize_signed(&app, &parts.method, &parts.uri, &parts.headers, &body) {
        return refusal.into_response();
    }
    let Ok(Query(q)) = Query::<ReportQuery>::try_from_uri(&parts.uri) else {
        return refuse(StatusCode::BAD_REQUEST, "zone is required");
    };
    let zone = match zone_of(&app, &q.zone) {
        Ok(z) => z,
        Err(r) => return r.into_response(),
    };
    let reports: Vec<StorageDone> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a list of reports: {e}")),
    };
    for done in reports {
        match app.record_storage(&zone, done).await {
            Ok(()) => {}
            Err(ReportRefused::NotYours(e)) => return refuse(StatusCode::FORBIDDEN, e),
            Err(ReportRefused::Unavailable(e)) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e),
        }
    }
    StatusCode::NO_CONTENT.into_response()
}
