//! Volumes (EBS): the account's volumes with their attachments, and
//! CreateVolume, AttachVolume, DetachVolume, DeleteVolume and
//! CreateSnapshot from forms. The rows are a live part (`crate::live`):
//! a volume's `creating` → `available`, an attachment's `attaching` →
//! `attached` reach the page as the read models fold them.

use super::{Chrome, Form, PageQuery, Paging, Signed, done, failed, paged, render};
use crate::Console;
use crate::ec2::{self, Call};
use crate::i18n::Tr;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::volumes::{SnapshotState, VolumeState};
use domain::{AccountId, InstanceState};
use projections::ReadModels;
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/volumes", get(list).post(create))
        .route("/volumes/attach", post(attach))
        .route("/volumes/detach", post(detach))
        .route("/volumes/delete", post(delete))
        .route("/volumes/snapshot", post(snapshot))
}

/// The devices the attach form offers (EC2's advice for EBS volumes).
pub(crate) const DEVICES: &[&str] = &[
    "/dev/sdf", "/dev/sdg", "/dev/sdh", "/dev/sdi", "/dev/sdj", "/dev/sdk", "/dev/sdl", "/dev/sdm",
    "/dev/sdn", "/dev/sdo", "/dev/sdp",
];

/// Most instances offered in the attach form (the first running ones, by id).
const CHOICES: usize = 200;

/// One volume, as shown.
pub(crate) struct Volume {
    pub id: String,
    pub name: String,
    pub size: String,
    pub volume_type: String,
    pub zone: String,
    pub state: &'static str,
    pub state_text: String,
    pub snapshot: String,
    pub created: String,
    /// Instance, device and attachment state (translated), if attached.
    pub attachment: Option<(String, String, &'static str, String)>,
    /// Running instances of the account in the volume's zone (attach
    /// choices, offered while the volume is available).
    pub instances: Vec<String>,
    pub can_delete: bool,
    pub can_snapshot: bool,
}

/// A size in GiB, as the language writes it.
pub(crate) fn size_text(tr: &Tr, gib: u32) -> String {
    tr.msg_args("size-gib", &[("size", &tr.number(u64::from(gib)))])
}

pub(crate) fn name_of(models: &ReadModels, id: &str) -> String {
    models.tags.of(id).find(|(k, _)| k.as_str() == "Name").map(|(_, v)| v.clone()).unwrap_or_default()
}

/// A page of the account's volumes, in id order.
pub(crate) fn volumes_of(
    tr: &Tr,
    models: &ReadModels,
    account: &AccountId,
    page: &PageQuery,
    size: usize,
) -> (Vec<Volume>, Paging) {
    let running: Vec<(String, String)> = models
        .instances
        .of_account(account, None)
        .filter(|r| r.state == InstanceState::Running)
        .take(CHOICES)
        .map(|r| (r.id.to_string(), r.zone.as_ref().map(|z| z.to_string()).unwrap_or_default()))
        .collect();
    let volumes =
        models.volumes.of_account(account).skip_while(|(id, _)| page.before(id.as_str())).map(|(id, v)| {
            let zone = v.zone.to_string();
            Volume {
                id: id.to_string(),
                name: name_of(models, id.as_str()),
                size: size_text(tr, v.size_gib),
                volume_type: v.volume_type.clone(),
                state: v.state.as_str(),
                state_text: tr.msg(&format!("volume-state-{}", v.state.as_str())),
                snapshot: v.snapshot.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                created: tr.date(v.created_at),
                attachment: v.attachment.as_ref().map(|a| {
                    let state = a.state.as_str();
                    let text = tr.msg(&format!("attachment-state-{state}"));
                    (a.instance.to_string(), a.device.clone(), state, text)
                }),
                instances: if v.state == VolumeState::Available {
                    running.iter().filter(|(_, z)| *z == zone).map(|(i, _)| i.clone()).collect()
                } else {
                    Vec::new()
                },
                can_delete: matches!(v.state, VolumeState::Available | VolumeState::Error),
                can_snapshot: matches!(v.state, VolumeState::Available | VolumeState::InUse),
                zone,
            }
        });
    paged(volumes, page, size, |v| &v.id)
}

/// The rows of the list: the part that live updates replace.
#[derive(Template)]
#[template(path = "volume_rows.html")]
pub(crate) struct Rows {
    pub t: Tr,
    pub csrf: String,
    pub volumes: Vec<Volume>,
    pub devices: &'static [&'static str],
}

#[derive(Template)]
#[template(path = "volumes.html")]
struct ListPage {
    chrome: Chrome,
    rows: Rows,
    paging: Paging,
    zones: Vec<String>,
    types: &'static [&'static str],
    snapshots: Vec<(String, String)>,
    live: String,
}

async fn list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(page): Query<PageQuery>,
) -> Response {
    let tr = signed.tr;
    let account = &signed.session.account;
    let (volumes, paging, zones, snapshots, position) = {
        let models = console.app.projections.read();
        let zones = models.cloud.zones.keys().map(|z| z.to_string()).collect();
        let (volumes, paging) = volumes_of(&tr, &models, account, &page, console.config.page_size);
        (volumes, paging, zones, completed_snapshots(&tr, &models, account), models.position)
    };
    let chrome = Chrome::new(&console, &signed, "volumes", tr.msg("volumes-title"));
    let rows = Rows { t: tr, csrf: signed.session.csrf.clone(), volumes, devices: DEVICES };
    let live = format!("/live/volumes?{}since={position}", page.live_query());
    let types = api::ec2::actions::VOLUME_TYPES;
    render(&ListPage { chrome, rows, paging, zones, types, snapshots, live })
}

/// The completed snapshots the account may restore (its own, then those
/// shared with it or public, by id): (id, "id — description (N GiB)").
pub(crate) fn completed_snapshots(
    tr: &Tr,
    models: &ReadModels,
    account: &AccountId,
) -> Vec<(String, String)> {
    let restorable = models
        .volumes
        .snapshots
        .iter()
        .filter(|(_, s)| s.state == SnapshotState::Completed && s.restorable_by(account));
    let (own, others): (Vec<_>, Vec<_>) = restorable.partition(|(_, s)| &s.account == account);
    own.into_iter()
        .chain(others)
        .map(|(id, s)| {
            let mut label = id.to_string();
            if !s.description.is_empty() {
                label = format!("{label} — {}", s.description);
            }
            label = format!("{label} ({})", size_text(tr, s.size_gib));
            if &s.account != account {
                label = format!(
                    "{label} {}",
                    tr.msg_args("snapshot-shared-by", &[("owner", s.account.as_str())])
                );
            }
            (id.to_string(), label)
        })
        .collect()
}

/// Runs the EC2 action the form asks for, then goes back to `back` with
/// the message `key`, whose `id` is the snapshot (keys `snapshot-…`) or
/// else the volume the answer names, or the form's.
pub(crate) async fn act(
    console: &Console,
    signed: &Signed,
    body: &[u8],
    back: &str,
    call: impl FnOnce(&Form) -> (Call, &'static str),
) -> Response {
    let form = match Form::checked(signed, body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let (call, key) = call(&form);
    match ec2::run(console, &signed.session, signed.peer, call).await {
        Ok(answer) => {
            let field = if key.starts_with("snapshot-") { "snapshot" } else { "volume" };
            let id = answer.first(&format!("{field}Id")).unwrap_or_else(|| form.get(field).to_owned());
            done(console, signed, back, key, &[("id", &id)])
        }
        Err(e) => failed(console, signed, back, &e),
    }
}

/// CreateVolume from the form (the snapshot's own form too).
pub(crate) fn create_call(f: &Form) -> Call {
    let mut call = Call::new("CreateVolume")
        .param("AvailabilityZone", f.get("zone"))
        .optional("Size", f.get("size"))
        .optional("VolumeType", f.get("type"))
        .optional("SnapshotId", f.get("snapshot"));
    let name = f.get("name").trim();
    if !name.is_empty() {
        call = call
            .param("TagSpecification.1.ResourceType", "volume")
            .param("TagSpecification.1.Tag.1.Key", "Name")
            .param("TagSpecification.1.Tag.1.Value", name);
    }
    call
}

async fn create(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, "/volumes", |f| (create_call(f), "volume-created")).await
}

async fn attach(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, "/volumes", |f| {
        let call = Call::new("AttachVolume")
            .param("VolumeId", f.get("volume"))
            .param("InstanceId", f.get("instance"))
            .param("Device", f.get("device"));
        (call, "volume-attaching")
    })
    .await
}

async fn detach(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, "/volumes", |f| {
        let mut call = Call::new("DetachVolume").param("VolumeId", f.get("volume"));
        if f.get("force") == "true" {
            call = call.param("Force", "true");
        }
        (call, "volume-detaching")
    })
    .await
}

async fn delete(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, "/volumes", |f| {
        (Call::new("DeleteVolume").param("VolumeId", f.get("volume")), "volume-deleted")
    })
    .await
}

async fn snapshot(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    act(&console, &signed, &body, "/snapshots", |f| {
        let call = Call::new("CreateSnapshot")
            .param("VolumeId", f.get("volume"))
            .optional("Description", f.get("description"));
        (call, "snapshot-started")
    })
    .await
}
