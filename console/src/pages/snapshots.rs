//! Snapshots (EBS): the account's snapshots with their progress (a live
//! part, `crate::live`), a new volume from one (CreateVolume with its
//! `SnapshotId`), and DeleteSnapshot. A snapshot is started from the
//! volumes page (`/volumes/snapshot`).

use super::volumes::{act, create_call, size_text};
use super::{Chrome, Signed, render};
use crate::Console;
use crate::ec2::Call;
use crate::i18n::Tr;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use domain::AccountId;
use domain::volumes::SnapshotState;
use projections::ReadModels;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/snapshots", get(list))
        .route("/snapshots/volume", post(create_volume))
        .route("/snapshots/delete", post(delete))
}

/// One snapshot, as shown.
pub(crate) struct Snapshot {
    pub id: String,
    pub volume: String,
    /// The volume is still the account's (its row links there).
    pub volume_listed: bool,
    pub zone: String,
    pub size: String,
    pub state: &'static str,
    pub state_text: String,
    pub progress: u8,
    pub progress_text: String,
    pub started: String,
    pub description: String,
    /// A volume may be made from it.
    pub completed: bool,
    /// DeleteSnapshot may be asked (not while it is being taken).
    pub deletable: bool,
}

/// The account's snapshots, in id order.
pub(crate) fn snapshots_of(tr: &Tr, models: &ReadModels, account: &AccountId) -> Vec<Snapshot> {
    models
        .volumes
        .snapshots
        .iter()
        .filter(|(_, s)| &s.account == account)
        .map(|(id, s)| Snapshot {
            id: id.to_string(),
            volume: s.volume.to_string(),
            volume_listed: models.volumes.volumes.contains_key(&s.volume),
            zone: s.zone.to_string(),
            size: size_text(tr, s.size_gib),
            state: s.state.as_str(),
            state_text: tr.msg(&format!("snapshot-state-{}", s.state.as_str())),
            progress: s.progress,
            progress_text: tr.msg_args("percent", &[("value", &s.progress.to_string())]),
            started: tr.date(s.started_at),
            description: s.description.clone(),
            completed: s.state == SnapshotState::Completed,
            deletable: s.state != SnapshotState::Pending,
        })
        .collect()
}

/// The rows of the list: the part that live updates replace.
#[derive(Template)]
#[template(path = "snapshot_rows.html")]
pub(crate) struct Rows {
    pub t: Tr,
    pub csrf: String,
    pub snapshots: Vec<Snapshot>,
    pub zones: Vec<String>,
    pub types: &'static [&'static str],
}

/// The rows for `account` from the read models.
pub(crate) fn rows(tr: Tr, csrf: String, models: &ReadModels, account: &AccountId) -> Rows {
    Rows {
        t: tr,
        csrf,
        snapshots: snapshots_of(&tr, models, account),
        zones: models.cloud.zones.keys().map(|z| z.to_string()).collect(),
        types: api::ec2::actions::VOLUME_TYPES,
    }
}

#[derive(Template)]
#[template(path = "snapshots.html")]
struct ListPage {
    chrome: Chrome,
    rows: Rows,
    live: String,
}

async fn list(State(console): State<Arc<Console>>, signed: Signed) -> Response {
    let tr = signed.tr;
    let (rows, position) = {
        let models = console.app.projections.read();
        (rows(tr, signed.session.csrf.clone(), &models, &signed.session.account), models.position)
    };
    let chrome = Chrome::new(&console, &signed, "snapshots", tr.msg("snapshots-title"));
    let live = format!("/live/snapshots?since={position}");
    render(&ListPage { chrome, rows, live })
}

async fn create_volume(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, "/volumes", |f| (create_call(f), "volume-created")).await
}

async fn delete(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, "/snapshots", |f| {
        (Call::new("DeleteSnapshot").param("SnapshotId", f.get("snapshot")), "snapshot-deleted")
    })
    .await
}
