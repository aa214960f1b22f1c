//! The node's side of EBS over the node protocol:
//!
//! - `GET /node/volumes?have=P&wait=S` — what the calling node's guests
//!   must have plugged in ([`NodeVolumes`], JSON, each attachment's
//!   initiator name unsealed for it), waiting up to `S` s (at most 10)
//!   for the read models to pass position `P`.
//! - `POST /node/volume-report` — a JSON list of [`NodeDone`] on its own
//!   guests (403 for a guest placed on another node).

use super::{Caller, Signed};
use crate::admin::{MAX_WAIT_SECS, refuse};
use crate::app::App;
use crate::app::volumes::{NodeDone, ReportRefused};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize)]
pub(super) struct VolumesQuery {
    #[serde(default)]
    have: u64,
    wait: Option<u64>,
}

pub(super) async fn volumes(
    Caller { node, .. }: Caller,
    State(app): State<Arc<App>>,
    Query(q): Query<VolumesQuery>,
) -> Response {
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS));
    if app.projections.read().position <= q.have {
        let _ = tokio::time::timeout(wait, app.projections.wait_for(q.have + 1)).await;
    }
    crate::storage::json(&app.node_volumes(&node))
}

pub(super) async fn report(State(app): State<Arc<App>>, request: Signed) -> Response {
    let node = request.caller.node;
    let reports: Vec<NodeDone> = match serde_json::from_slice(&request.body) {
        Ok(r) => r,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a list of reports: {e}")),
    };
    for done in reports {
        match app.record_node_volume(&node, done).await {
            Ok(()) => {}
            Err(ReportRefused::NotYours(e)) => return refuse(StatusCode::FORBIDDEN, e),
            Err(ReportRefused::Unavailable(e)) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e),
        }
    }
    StatusCode::NO_CONTENT.into_response()
}
