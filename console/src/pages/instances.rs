//! Instances: the list (a state filter, a search on id and Name, pages
//! in id order), one instance's details with its actions, the launch form
//! and the console output. The list's rows and the details' status are
//! fragments of their own, which `crate::live` renders again when the
//! read models change.

use super::{Chrome, Form, Paging, Signed, done, failed, q, render};
use crate::Console;
use crate::ec2::{self, Call};
use crate::i18n::Tr;
use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use domain::{AccountId, InstanceState};
use projections::{InstanceRow, ReadModels};
use std::sync::Arc;

pub(crate) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/instances", get(list).post(launch))
        .route("/instances/new", get(launch_form))
        .route("/instances/{id}", get(details))
        .route("/instances/{id}/action", post(act))
        .route("/instances/{id}/console", get(console_output))
}

/// The filters of the list, as its query string has them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub q: String,
    /// The id after which this page starts.
    #[serde(default)]
    pub after: String,
}

impl ListQuery {
    fn state(&self) -> Option<InstanceState> {
        InstanceState::ALL.into_iter().find(|s| s.name() == self.state)
    }

    /// The query string of these filters (without the page).
    pub fn filters(&self) -> String {
        format!("state={}&q={}", q(&self.state), q(&self.q))
    }
}

/// One row of the list, as shown.
pub(crate) struct Row {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub state_text: String,
    pub vm_type: String,
    pub zone: String,
    pub private_address: String,
    pub public_address: String,
    pub launched: String,
}

fn name_of(models: &ReadModels, id: &str) -> String {
    models.tags.of(id).find(|(k, _)| k.as_str() == "Name").map(|(_, v)| v.clone()).unwrap_or_default()
}

pub(crate) fn state_text(tr: &Tr, state: InstanceState) -> String {
    tr.msg(&format!("state-{}", state.name()))
}

fn row(tr: &Tr, models: &ReadModels, r: &InstanceRow) -> Row {
    Row {
        id: r.id.to_string(),
        name: name_of(models, r.id.as_str()),
        state: r.state.name(),
        state_text: state_text(tr, r.state),
        vm_type: r.vm_type.to_string(),
        zone: r.zone.as_ref().map(|z| z.to_string()).unwrap_or_default(),
        private_address: r.private_address.as_deref().unwrap_or_default().to_owned(),
        public_address: r.public_address.clone().unwrap_or_default(),
        launched: tr.date(r.launched_at),
    }
}

/// A page of the account's instances that pass the filters, and where
/// the next page starts.
pub(crate) fn page_of(
    tr: &Tr,
    models: &ReadModels,
    account: &AccountId,
    query: &ListQuery,
    size: usize,
) -> (Vec<Row>, Paging) {
    let state = query.state();
    let needle = query.q.trim().to_lowercase();
    let after = (!query.after.is_empty()).then_some(query.after.as_str());
    let mut rows = Vec::with_capacity(size);
    let mut more = false;
    for r in models.instances.of_account(account, after) {
        if state.is_some_and(|s| r.state != s) {
            continue;
        }
        if !needle.is_empty()
            && !r.id.as_str().contains(&needle)
            && !name_of(models, r.id.as_str()).to_lowercase().contains(&needle)
        {
            continue;
        }
        if rows.len() == size {
            more = true;
            break;
        }
        rows.push(row(tr, models, r));
    }
    let next = if more { rows.last().map(|r| r.id.clone()) } else { None };
    (rows, Paging { next, later: after.is_some() })
}

/// The rows of the list: the part that live updates replace.
#[derive(Template)]
#[template(path = "instance_rows.html")]
pub(crate) struct Rows {
    pub t: Tr,
    pub rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "instances.html")]
struct ListPage {
    chrome: Chrome,
    rows: Rows,
    query: ListQuery,
    paging: Paging,
    states: Vec<(&'static str, String)>,
    live: String,
}

async fn list(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(query): Query<ListQuery>,
) -> Response {
    let tr = signed.tr;
    let (rows, paging, position) = {
        let models = console.app.projections.read();
        let (rows, paging) = page_of(&tr, &models, &signed.session.account, &query, console.config.page_size);
        (rows, paging, models.position)
    };
    let states = InstanceState::ALL.iter().map(|s| (s.name(), state_text(&tr, *s))).collect();
    let live = format!("/live/instances?{}&after={}&since={position}", query.filters(), q(&query.after));
    let chrome = Chrome::new(&console, &signed, "instances", tr.msg("instances-title"));
    render(&ListPage { chrome, rows: Rows { t: tr, rows }, query, paging, states, live })
}

/// One instance as the details page shows it.
pub(crate) struct Detail {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub state_text: String,
    pub reason: String,
    pub vm_type: String,
    pub image: String,
    pub zone: String,
    pub key_name: String,
    pub groups: Vec<(String, String)>,
    pub private_address: String,
    pub public_address: String,
    pub launched: String,
    pub changed: String,
    pub tags: Vec<(String, String)>,
    /// Its block device mappings: the volumes attached (or being attached or
    /// detached) by device.
    pub volumes: Vec<Mapping>,
    pub can_stop: bool,
    pub can_start: bool,
    pub can_reboot: bool,
    pub can_terminate: bool,
}

/// A volume an instance holds at a device, as shown.
pub(crate) struct Mapping {
    pub device: String,
    pub volume: String,
    /// The attachment's state (or, before it is attached, the volume's).
    pub state: &'static str,
    pub state_text: String,
    pub delete_on_termination: bool,
}

/// The volumes of instance `id`, by device.
fn mappings(tr: &Tr, models: &ReadModels, id: &domain::InstanceId) -> Vec<Mapping> {
    let Some(devices) = models.volumes.by_instance.get(id) else { return Vec::new() };
    devices
        .iter()
        .filter_map(|(device, volume)| {
            let row = models.volumes.volumes.get(volume)?;
            let (state, state_text, delete_on_termination) = match (&row.attachment, &row.planned) {
                (Some(a), _) if &a.instance == id => {
                    let state = a.state.as_str();
                    (state, tr.msg(&format!("attachment-state-{state}")), a.delete_on_termination)
                }
                (_, planned) => {
                    let state = row.state.as_str();
                    let dot = planned.as_ref().is_some_and(|p| p.delete_on_termination);
                    (state, tr.msg(&format!("volume-state-{state}")), dot)
                }
            };
            Some(Mapping {
                device: device.clone(),
                volume: volume.to_string(),
                state,
                state_text,
                delete_on_termination,
            })
        })
        .collect()
}

/// Why an instance is in its state: translated by its code where the code
/// is one of EC2's known ones, else as the cloud wrote it.
fn reason_text(tr: &Tr, reason: &domain::StateReason) -> String {
    let key = format!("reason-{}", reason.code.replace('.', "-"));
    match tr.maybe(&key) {
        Some(known) if reason.code != "Server.InternalError" => known,
        Some(known) => format!("{known} ({})", reason.message.trim_start_matches("Server.InternalError: ")),
        None => reason.message.to_string(),
    }
}

/// The account's instance `id`, if it has one by that id.
pub(crate) fn detail(tr: &Tr, models: &ReadModels, account: &AccountId, id: &str) -> Option<Detail> {
    let r = models.instances.get(id).filter(|r| &r.account == account)?;
    let groups = r
        .groups
        .iter()
        .map(|g| {
            let name = models.security.groups.get(g).map(|row| row.name.clone()).unwrap_or_default();
            (g.to_string(), name)
        })
        .collect();
    Some(Detail {
        id: r.id.to_string(),
        name: name_of(models, id),
        state: r.state.name(),
        state_text: state_text(tr, r.state),
        reason: r.reason.as_ref().map(|reason| reason_text(tr, reason)).unwrap_or_default(),
        vm_type: r.vm_type.to_string(),
        image: r.image.to_string(),
        zone: r.zone.as_ref().map(|z| z.to_string()).unwrap_or_default(),
        key_name: r.key_name.clone().unwrap_or_default(),
        groups,
        private_address: r.private_address.as_deref().unwrap_or_default().to_owned(),
        public_address: r.public_address.clone().unwrap_or_default(),
        launched: tr.date(r.launched_at),
        changed: tr.date(r.state_changed_at),
        tags: models.tags.of(id).map(|(k, v)| (k.clone(), v.clone())).collect(),
        volumes: mappings(tr, models, &r.id),
        can_stop: r.state == InstanceState::Running || r.state == InstanceState::Pending,
        can_start: r.state == InstanceState::Stopped,
        can_reboot: r.state == InstanceState::Running,
        can_terminate: r.state != InstanceState::Terminated && r.state != InstanceState::ShuttingDown,
    })
}

/// The state and actions of one instance: the part that live updates replace.
#[derive(Template)]
#[template(path = "instance_status.html")]
pub(crate) struct Status {
    pub t: Tr,
    pub csrf: String,
    pub d: Detail,
}

#[derive(Template)]
#[template(path = "instance.html")]
struct DetailPage {
    chrome: Chrome,
    status: Status,
    live: String,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound {
    chrome: Chrome,
}

pub(crate) fn not_found(console: &Console, signed: &Signed) -> Response {
    let chrome = Chrome::new(console, signed, "", signed.tr.msg("not-found-title"));
    let mut response = render(&NotFound { chrome });
    *response.status_mut() = axum::http::StatusCode::NOT_FOUND;
    response
}

async fn details(State(console): State<Arc<Console>>, signed: Signed, Path(id): Path<String>) -> Response {
    let tr = signed.tr;
    let (found, position) = {
        let models = console.app.projections.read();
        (detail(&tr, &models, &signed.session.account, &id), models.position)
    };
    let Some(d) = found else { return not_found(&console, &signed) };
    let chrome = Chrome::new(&console, &signed, "instances", tr.msg_args("instance-title", &[("id", &id)]));
    let live = format!("/live/instances/{}?since={position}", q(&id));
    let status = Status { t: tr, csrf: signed.session.csrf.clone(), d };
    render(&DetailPage { chrome, status, live })
}

/// Stop, start, reboot or terminate: the EC2 action of that name.
async fn act(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let (action, done_key) = match form.get("op") {
        "stop" => ("StopInstances", "instance-stopping"),
        "start" => ("StartInstances", "instance-starting"),
        "reboot" => ("RebootInstances", "instance-rebooting"),
        "terminate" => ("TerminateInstances", "instance-terminating"),
        _ => return super::refused_form(&signed.tr),
    };
    let back = format!("/instances/{}", q(&id));
    let call = Call::new(action).param("InstanceId.1", id.clone());
    match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(_) => done(&console, &signed, &back, done_key, &[("id", &id)]),
        Err(e) => failed(&console, &signed, &back, &e),
    }
}

#[derive(Template)]
#[template(path = "launch.html")]
struct LaunchPage {
    chrome: Chrome,
    images: Vec<(String, String)>,
    chosen_image: String,
    types: Vec<(String, String)>,
    key_pairs: Vec<String>,
    groups: Vec<(String, String, bool)>,
    token: String,
}

#[derive(serde::Deserialize)]
struct LaunchQuery {
    #[serde(default)]
    image: String,
}

async fn launch_form(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Query(query): Query<LaunchQuery>,
) -> Response {
    let tr = signed.tr;
    let account = &signed.session.account;
    let (images, types, key_pairs, groups) = {
        let models = console.app.projections.read();
        let images = models
            .images
            .iter()
            .filter(|(_, i)| i.kind == domain::ImageKind::Machine && (i.public || &i.owner == account))
            .map(|(id, i)| (id.to_string(), format!("{id} — {}", i.name)))
            .collect();
        let types = models
            .cloud
            .vm_types
            .iter()
            .map(|t| {
                let label = tr.msg_args(
                    "launch-type-label",
                    &[
                        ("name", &t.name),
                        ("cpus", &t.cpus.to_string()),
                        ("memory", &tr.number(u64::from(t.memory_mib))),
                        ("disk", &t.disk_gib.to_string()),
                    ],
                );
                (t.name.to_string(), label)
            })
            .collect();
        let key_pairs = models.security.key_pairs_of(account).map(|(n, _)| n.to_owned()).collect();
        let groups = models
            .security
            .groups
            .iter()
            .filter(|(_, g)| &g.account == account)
            .map(|(id, g)| (id.to_string(), g.name.clone(), g.name == "default"))
            .collect();
        (images, types, key_pairs, groups)
    };
    let chrome = Chrome::new(&console, &signed, "instances", tr.msg("launch-title"));
    let token = crate::sessions::random_token();
    render(&LaunchPage { chrome, images, chosen_image: query.image, types, key_pairs, groups, token })
}

/// RunInstances from the launch form; the form's one-time token is the
/// client token, so a form sent twice launches once.
async fn launch(State(console): State<Arc<Console>>, signed: Signed, body: Bytes) -> Response {
    let form = match Form::checked(&signed, &body) {
        Ok(f) => f,
        Err(refused) => return refused.into_response(),
    };
    let count = form.get("count").trim();
    let count = if count.is_empty() { "1" } else { count };
    let mut call = Call::new("RunInstances")
        .param("ImageId", form.get("image"))
        .param("InstanceType", form.get("type"))
        .param("MinCount", count)
        .param("MaxCount", count)
        .optional("KeyName", form.get("key"))
        .optional("ClientToken", form.get("token"));
    for (i, group) in form.all("group").into_iter().enumerate() {
        call = call.param(format!("SecurityGroupId.{}", i + 1), group);
    }
    let user_data = form.get("user_data");
    if !user_data.is_empty() {
        call = call.param("UserData", base64::engine::general_purpose::STANDARD.encode(user_data));
    }
    let name = form.get("name").trim();
    if !name.is_empty() {
        call = call
            .param("TagSpecification.1.ResourceType", "instance")
            .param("TagSpecification.1.Tag.1.Key", "Name")
            .param("TagSpecification.1.Tag.1.Value", name);
    }
    match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(answer) => {
            let ids = answer.all("instanceId");
            let to = match ids.as_slice() {
                [one] => format!("/instances/{}", q(one)),
                _ => "/instances".to_owned(),
            };
            let launched = ids.join(", ");
            done(&console, &signed, &to, "instance-launched", &[("ids", &launched)])
        }
        Err(e) => failed(&console, &signed, "/instances/new", &e),
    }
}

#[derive(Template)]
#[template(path = "console_output.html")]
struct ConsolePage {
    chrome: Chrome,
    id: String,
    output: String,
    at: String,
}

async fn console_output(
    State(console): State<Arc<Console>>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let tr = signed.tr;
    let call = Call::new("GetConsoleOutput").param("InstanceId", id.clone());
    let answer = match ec2::run(&console, &signed.session, signed.peer, call).await {
        Ok(a) => a,
        Err(e) if e.code == "InvalidInstanceID.NotFound" || e.code == "InvalidInstanceID.Malformed" => {
            return not_found(&console, &signed);
        }
        Err(e) => return failed(&console, &signed, &format!("/instances/{}", q(&id)), &e),
    };
    let encoded = answer.first("output").unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).unwrap_or_default();
    let output = String::from_utf8_lossy(&bytes).into_owned();
    let at = answer.first("timestamp").unwrap_or_default();
    let chrome = Chrome::new(&console, &signed, "instances", tr.msg_args("console-title", &[("id", &id)]));
    render(&ConsolePage { chrome, id, output, at })
}
