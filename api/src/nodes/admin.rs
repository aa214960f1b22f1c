//! The administrator's side of clusters and nodes, signed by the admin
//! account like the rest of `/admin/`:
//!
//! - `GET /admin/clusters` — [`ClusterInfo`] rows (JSON).
//! - `POST /admin/clusters?name=Z&policy=P` — a new cluster (availability zone).
//! - `POST /admin/clusters/policy?name=Z&policy=P` — its scheduling policy.
//! - `GET /admin/nodes` — [`NodeInfo`] rows (JSON), with their heartbeats.
//! - `POST /admin/nodes?zone=Z&host=H&hypervisor=X&cpus=N&memory_mib=N&disk_gib=N[&node=ID]`
//!   — registers a node on another host and answers its credentials
//!   ([`NodeCredentials`]) once; only the sealed secret stays in the log.
//!   A node names the id it chose (and saved before asking): asking again
//!   with the same id and zone answers new credentials for the same node
//!   (the old key stops working), so a node that crashed before saving
//!   its credentials does not become two; the same id in another zone is
//!   refused (409).
//! - `POST /admin/addresses/limit?per_account=N` — how many elastic IPs
//!   each account but the admin's may hold at once (EC2's default is 5).

use super::wire::{ClusterInfo, NodeCredentials, NodeInfo};
use crate::admin::{AdminCaller, Refusal, refuse};
use crate::app::ids::now;
use crate::app::{App, ExecuteError, RequestMeta};
use crate::secrets::new_secret_key;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::command::{AddCluster, NodeKey, RegisterNode, SetClusterPolicy, SetElasticIpLimit};
use domain::{Command, DecideError, NodeId, Principal, Resources, SchedulingPolicy, ZoneName};
use serde::Deserialize;
use std::sync::Arc;

pub(crate) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/admin/clusters", get(list_clusters).post(add_cluster))
        .route("/admin/clusters/policy", post(set_policy))
        .route("/admin/nodes", get(list_nodes).post(register_node))
        .route("/admin/addresses/limit", post(set_address_limit))
}

fn json(value: &impl serde::Serialize) -> Response {
    let mut response = serde_json::to_vec(value).expect("rows encode").into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn admin_meta(app: &App, what: &str) -> RequestMeta {
    let principal = app
        .projections
        .read()
        .accounts
        .account_by_name("admin")
        .map(|(id, _)| Principal { account: id.clone(), user: domain::UserName::admin(), access_key: None })
        .unwrap_or_else(|| Principal::system("admin"));
    RequestMeta {
        principal,
        request_id: app.ids.request_id(),
        correlation_id: what.to_owned(),
        source: "admin-api".to_owned(),
    }
}

/// A refusal for a failed command: 409 for the domain's, 503 otherwise.
fn failed(e: ExecuteError, meta: &RequestMeta) -> Response {
    match e {
        ExecuteError::Refused(DecideError::UnknownZone(zone)) => {
            refuse(StatusCode::NOT_FOUND, format!("no cluster {zone}"))
        }
        ExecuteError::Refused(e) => refuse(StatusCode::CONFLICT, e.to_string()),
        e => {
            tracing::error!(request_id = %meta.request_id, error = %e, "an admin command failed");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the controller failed; request {}", meta.request_id),
            )
        }
    }
}

fn zone_and_policy(
    name: &str,
    policy: Option<&str>,
) -> Result<(ZoneName, Option<SchedulingPolicy>), Refusal> {
    let zone = ZoneName::parse(name).map_err(|_| {
        Refusal(
            StatusCode::BAD_REQUEST,
            format!("{name:?} is not a cluster name: use letters, digits, - and _ (at most 64)"),
        )
    })?;
    let policy = match policy {
        None => None,
        Some(p) => Some(SchedulingPolicy::parse(p).ok_or_else(|| {
            Refusal(
                StatusCode::BAD_REQUEST,
                format!("unknown policy {p:?}: use greedy, roundrobin or powersave"),
            )
        })?),
    };
    Ok((zone, policy))
}

async fn list_clusters(_: AdminCaller, State(app): State<Arc<App>>) -> Response {
    let models = app.projections.read();
    let rows: Vec<ClusterInfo> = models
        .cloud
        .zones
        .iter()
        .map(|(zone, z)| ClusterInfo {
            zone: zone.to_string(),
            policy: z.policy.name().to_owned(),
            nodes: z.nodes.len() as u32,
            reachable_nodes: z.nodes.values().filter(|n| n.reachable).count() as u32,
            instances: z.nodes.values().map(|n| n.instances).sum(),
        })
        .collect();
    json(&rows)
}

#[derive(Deserialize)]
struct ClusterQuery {
    name: String,
    policy: Option<String>,
}

async fn add_cluster(_: AdminCaller, State(app): State<Arc<App>>, Query(q): Query<ClusterQuery>) -> Response {
    let (zone, policy) = match zone_and_policy(&q.name, q.policy.as_deref()) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    let policy = policy.unwrap_or(SchedulingPolicy::Greedy);
    let meta = admin_meta(&app, "AddCluster");
    match app.execute(Command::AddCluster(AddCluster { zone, policy, at: now() }), &meta).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(e, &meta),
    }
}

async fn set_policy(_: AdminCaller, State(app): State<Arc<App>>, Query(q): Query<ClusterQuery>) -> Response {
    let (zone, Some(policy)) = (match zone_and_policy(&q.name, q.policy.as_deref()) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    }) else {
        return refuse(StatusCode::BAD_REQUEST, "a policy is needed: greedy, roundrobin or powersave");
    };
    let meta = admin_meta(&app, "SetClusterPolicy");
    match app.execute(Command::SetClusterPolicy(SetClusterPolicy { zone, policy, at: now() }), &meta).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(e, &meta),
    }
}

#[derive(Deserialize)]
struct LimitQuery {
    per_account: Option<String>,
}

async fn set_address_limit(
    _: AdminCaller,
    State(app): State<Arc<App>>,
    Query(q): Query<LimitQuery>,
) -> Response {
    let Some(per_account) = q.per_account.as_deref().and_then(|n| n.parse::<u32>().ok()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "per_account must be a whole number of addresses (0 or more)",
        );
    };
    let meta = admin_meta(&app, "SetElasticIpLimit");
    match app.execute(Command::SetElasticIpLimit(SetElasticIpLimit { per_account, at: now() }), &meta).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => failed(e, &meta),
    }
}

async fn list_nodes(_: AdminCaller, State(app): State<Arc<App>>) -> Response {
    let models = app.projections.read();
    let rows: Vec<NodeInfo> = models
        .cloud
        .zones
        .iter()
        .flat_map(|(zone, z)| z.nodes.iter().map(move |(id, row)| (zone, id, row)))
        .map(|(zone, id, row)| NodeInfo {
            node: id.to_string(),
            zone: zone.to_string(),
            host: row.host.clone(),
            hypervisor: row.hypervisor.clone(),
            reachable: row.reachable,
            embedded: row.access_key.is_none(),
            last_heartbeat: app.liveness.last_heartbeat(id).map(|t| t.0),
            cpus: row.capacity.cpus,
            cpus_used: row.used.cpus,
            memory_mib: row.capacity.memory_mib,
            memory_mib_used: row.used.memory_mib,
            disk_gib: row.capacity.disk_gib,
            disk_gib_used: row.used.disk_gib,
            instances: row.instances,
        })
        .collect();
    json(&rows)
}

#[derive(Deserialize)]
struct RegisterQuery {
    zone: String,
    host: String,
    hypervisor: String,
    cpus: u32,
    memory_mib: u64,
    disk_gib: u64,
    /// The id the node chose; a new one when absent.
    node: Option<String>,
}

async fn register_node(
    _: AdminCaller,
    State(app): State<Arc<App>>,
    Query(q): Query<RegisterQuery>,
) -> Response {
    let (zone, _) = match zone_and_policy(&q.zone, None) {
        Ok(p) => p,
        Err(refused) => return refused.into_response(),
    };
    if q.cpus == 0 || q.memory_mib == 0 || q.disk_gib == 0 || q.host.is_empty() || q.host.len() > 255 {
        return refuse(StatusCode::BAD_REQUEST, "a node needs a host and some CPUs, memory and disk");
    }
    let node = match q.node.as_deref().map(NodeId::parse) {
        None => app.ids.node(),
        Some(Ok(node)) => node,
        Some(Err(_)) => {
            return refuse(StatusCode::BAD_REQUEST, "node: not a node id (nc- and 17 hex digits)");
        }
    };
    let access_key = app.ids.access_key();
    let secret = new_secret_key();
    let sealed = app.credentials.master_key().seal(&secret, access_key.as_str());
    let command = Command::RegisterNode(RegisterNode {
        node: node.clone(),
        zone: zone.clone(),
        host: q.host,
        hypervisor: q.hypervisor,
        capacity: Resources { cpus: q.cpus, memory_mib: q.memory_mib, disk_gib: q.disk_gib },
        key: Some(NodeKey { access_key: access_key.clone(), secret: sealed }),
        at: now(),
    });
    let meta = admin_meta(&app, "RegisterNode");
    match app.execute(command, &meta).await {
        Ok(_) => {
            // Not heard from yet: the timeout runs from now.
            app.liveness.heard(&node);
            json(&NodeCredentials {
                node: node.to_string(),
                zone: zone.to_string(),
                access_key: access_key.to_string(),
                secret,
            })
        }
        Err(e) => failed(e, &meta),
    }
}
