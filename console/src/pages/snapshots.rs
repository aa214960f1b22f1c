//! Snapshots (EBS): the account's snapshots with their progress (a live
//! part, `crate::live`), a new volume from one (CreateVolume with its
//! `SnapshotId`), and DeleteSnapshot. A snapshot is started from the
//! volumes page (`/volumes/snapshot`).

use super::volumes::{act, create_call, size_text};
use super::{Chrome, PageQuery, Paging, Signed, paged, render};
use crate::Console;
use crate::ec2::Call;
use crate::i18n::Tr;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use domain::AccountId;
use domain::volumes::SnapshotState;
use projections::ReadModels;
use std::ops::Bound;
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

/// A page of the account's snapshots, in id order.
pub(crate) fn snapshots_of(
    tr: &Tr,
    models: &ReadModels,
    account: &AccountId,
    page: &PageQuery,
    size: usize,
) -> (Vec<Snapshot>, Paging) {
    let after = match page.after.as_str() {
        "" => Bound::Unbounded,
        after => Bound::Excluded(after),
    };
    let snapshots = models
        .volumes
        .snapshots
        .range::<str, _>((after, Bound::Unbounded))
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
        });
    paged(snapshots, page, size, |s| &s.id)
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

/// The rows of a page for `account` from the read models, and the paging.
pub(crate) fn rows(
    tr: Tr,
    csrf: String,
    models: &ReadModels,
    account: &AccountId,
    page: &PageQuery,
    size: usize,
) -> (Rows, Paging) {
    let (snapshots, paging) = snapshots_of(&tr, models, account, page, size);
    let zones = models.cloud.zones.keys().map(|z| z.to_string()).collect();
    (Rows { t: tr, csrf, snapshots, zones, types: api::ec2::actions::VOLUME_TYPES }, paging)
}

#[derive(Template)]
#[template(path = "snapshots.html")]
struct ListPage {
    chrome: Chrome,
    rows: Rows,
    paging: Paging,
    live: String,
}

async fn list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(page): Query<PageQuery>,
) -> Response {
    let tr = signed.tr;
    let size = console.config.page_size;
    let ((rows, paging), position) = {
        let models = console.app.projections.read();
        (
            rows(tr, signed.session.csrf.clone(), &models, &signed.session.account, &page, size),
            models.position,
        )
    };
    let chrome = Chrome::new(&console, &signed, "snapshots", tr.msg("snapshots-title"));
    let live = format!("/live/snapshots?{}since={position}", page.live_query());
    render(&ListPage { chrome, rows, paging, live })
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
