//! The instance metadata service: `/latest/meta-data/…` and
//! `/latest/user-data`, answered for the instance that asks.
//!
//! An instance is known by the address its request comes from (its private
//! or public address, where the network lets guests reach the controller
//! directly or through 169.254.169.254), or, where the network hides guest
//! addresses (user-mode networking), by a token in the path:
//! `/metadata/<instance-id>.<mac>/latest/…`, the MAC keyed by a key derived
//! from the master key, given to the guest on its kernel command line.

use crate::app::App;
use crate::secrets::MasterKey;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::{InstanceId, InstanceState};
use hmac::Mac;
use projections::{InstanceRow, ReadModels};
use std::net::SocketAddr;
use std::sync::Arc;

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/latest/", get(by_address_root))
        .route("/latest/{*path}", get(by_address))
        .route("/metadata/{token}/latest/", get(by_token_root))
        .route("/metadata/{token}/latest/{*path}", get(by_token))
        .with_state(app)
}

/// Makes and checks the tokens instances name themselves with (see the
/// module doc); the node that starts a guest gets one from here.
#[derive(Clone)]
pub struct MetadataTokens {
    key: [u8; 32],
}

impl MetadataTokens {
    pub fn new(master: &MasterKey) -> Self {
        MetadataTokens { key: master.derive("yukari metadata tokens") }
    }

    fn mac_of(&self, instance: &str) -> String {
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.key).expect("any key length");
        mac.update(instance.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The token of `instance`.
    pub fn token(&self, instance: &InstanceId) -> String {
        format!("{instance}.{}", self.mac_of(instance.as_str()))
    }

    /// The instance a token names, if the token is genuine.
    pub fn instance_of(&self, token: &str) -> Option<InstanceId> {
        let (id, mac) = token.split_once('.')?;
        let id = InstanceId::parse(id).ok()?;
        let expected = self.mac_of(id.as_str());
        let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), mac.as_bytes()).into();
        same.then_some(id)
    }
}

impl App {
    /// The instance a token names, if the token is genuine.
    fn instance_of_token(&self, token: &str) -> Option<InstanceId> {
        MetadataTokens::new(self.credentials.master_key()).instance_of(token)
    }
}

fn text(status: StatusCode, body: impl Into<Vec<u8>>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "Not Found\n")
}

/// The live instance with this address.
fn by_ip<'m>(models: &'m ReadModels, ip: &str) -> Option<&'m InstanceRow> {
    models.instances.rows.values().map(|r| &**r).find(|r| {
        r.state != InstanceState::Terminated
            && (r.private_address.as_deref() == Some(ip) || r.public_address.as_deref() == Some(ip))
    })
}

async fn by_address_root(State(app): State<Arc<App>>, request: axum::extract::Request) -> Response {
    answer_by_address(&app, &request, "")
}

async fn by_address(
    State(app): State<Arc<App>>,
    Path(path): Path<String>,
    request: axum::extract::Request,
) -> Response {
    answer_by_address(&app, &request, &path)
}

fn answer_by_address(app: &App, request: &axum::extract::Request, path: &str) -> Response {
    let Some(peer) = request.extensions().get::<axum::extract::ConnectInfo<SocketAddr>>() else {
        return not_found();
    };
    let ip = peer.0.ip().to_string();
    let id = by_ip(&app.projections.read(), &ip).map(|r| r.id.clone());
    match id {
        Some(id) => answer(app, &id, path),
        None => not_found(),
    }
}

async fn by_token_root(State(app): State<Arc<App>>, Path(token): Path<String>) -> Response {
    match app.instance_of_token(&token) {
        Some(id) => answer(&app, &id, ""),
        None => text(StatusCode::FORBIDDEN, "Forbidden\n"),
    }
}

async fn by_token(State(app): State<Arc<App>>, Path((token, path)): Path<(String, String)>) -> Response {
    match app.instance_of_token(&token) {
        Some(id) => answer(&app, &id, &path),
        None => text(StatusCode::FORBIDDEN, "Forbidden\n"),
    }
}

/// One metadata path for one instance.
fn answer(app: &App, id: &InstanceId, path: &str) -> Response {
    if path == "user-data" || path == "user-data/" {
        return match app.user_data(id) {
            Ok(data) if !data.is_empty() => text(StatusCode::OK, data),
            Ok(_) => not_found(),
            Err(e) => {
                tracing::warn!(error = %e, instance = %id, "cannot read user data");
                text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error\n")
            }
        };
    }
    if path.is_empty() {
        return text(StatusCode::OK, "meta-data/\nuser-data\n");
    }
    let models = app.projections.read();
    let Some(row) = models.instances.get(id.as_str()) else { return not_found() };
    match meta_data(&models, row, path.strip_prefix("meta-data").unwrap_or("\u{0}").trim_start_matches('/')) {
        Some(body) => text(StatusCode::OK, body),
        None => not_found(),
    }
}

/// The `meta-data/…` tree of one instance.
fn meta_data(models: &ReadModels, row: &InstanceRow, path: &str) -> Option<String> {
    let key = row
        .key_name
        .as_ref()
        .and_then(|name| models.security.key_pairs.get(&(row.account.clone(), name.clone())));
    let host = |ip: Option<&str>| ip.map(|a| format!("ip-{}", a.replace('.', "-")));
    let groups: Vec<&str> =
        row.groups.iter().filter_map(|g| models.security.groups.get(g)).map(|g| g.name.as_str()).collect();
    let path = path.trim_end_matches('/');
    Some(match path {
        "" => {
            let mut items = vec![
                "ami-id",
                "ami-launch-index",
                "hostname",
                "instance-id",
                "instance-type",
                "local-hostname",
                "local-ipv4",
                "placement/",
                "reservation-id",
                "security-groups",
            ];
            if row.kernel.is_some() {
                items.push("kernel-id");
            }
            if row.ramdisk.is_some() {
                items.push("ramdisk-id");
            }
            if row.public_address.is_some() {
                items.extend(["public-hostname", "public-ipv4"]);
            }
            if key.is_some() {
                items.push("public-keys/");
            }
            items.sort_unstable();
            items.join("\n")
        }
        "ami-id" => row.image.to_string(),
        "ami-launch-index" => row.launch_index.to_string(),
        "instance-id" => row.id.to_string(),
        "instance-type" => row.vm_type.to_string(),
        "kernel-id" => row.kernel.as_ref()?.to_string(),
        "ramdisk-id" => row.ramdisk.as_ref()?.to_string(),
        "local-ipv4" => row.private_address.as_ref()?.to_string(),
        "public-ipv4" => row.public_address.clone()?,
        "hostname" | "local-hostname" => host(row.private_address.as_deref())?,
        "public-hostname" => host(row.public_address.as_deref())?,
        "placement" => "availability-zone".to_owned(),
        "placement/availability-zone" => row.zone.as_ref()?.to_string(),
        "reservation-id" => row.reservation.to_string(),
        "security-groups" => groups.join("\n"),
        "public-keys" => format!("0={}", row.key_name.as_ref()?),
        "public-keys/0" if key.is_some() => "openssh-key".to_owned(),
        "public-keys/0/openssh-key" => format!("{}\n", key?.public_key),
        _ => return None,
    })
}
