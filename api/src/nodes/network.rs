//! `GET /node/network?have=V&wait=S` — what guest networking on the
//! calling node must enforce (see docs/adr/0008-remote-guest-networking.md):
//! its own live guests, their addresses, and their groups' rules with
//! group sources resolved to the members' private addresses on any node.
//!
//! The controller computes this from its read models, so a node never
//! sees the records of other nodes' instances (their user data) nor other
//! accounts' names: only the addresses its rules name. The answer is a
//! [`NodeNetwork`] (JSON) as of the read models' position. `have` is the
//! `version` of the view the node enforces: while the view is still that
//! one, the call waits (at most `wait` ≤ 10 s) for the read models to move
//! on and computes it again, so a node long-polls and hears only changes.

use super::authenticate;
use super::wire::{NetGuest, NetRoute, NetRule, NodeNetwork};
use crate::admin::refuse;
use crate::app::App;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use domain::{InstanceState, NodeId, RuleSource, SecurityGroupId, SecurityRule};
use projections::ReadModels;
use serde::Deserialize;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize)]
pub(super) struct NetworkQuery {
    #[serde(default)]
    have: String,
    wait: Option<u64>,
}

pub(super) async fn network(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(q): Query<NetworkQuery>,
) -> Response {
    let (node, _) = match authenticate(&app, &method, &uri, &headers, b"") {
        Ok(who) => who,
        Err(refused) => return refused.into_response(),
    };
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(crate::admin::MAX_WAIT_SECS));
    let deadline = tokio::time::Instant::now() + wait;
    let view = loop {
        let position = app.projections.position();
        let view = view_of(&app.projections.read(), position, &node);
        if view.version != q.have || tokio::time::Instant::now() >= deadline {
            break view;
        }
        // Nothing new for this node yet: wait for the read models to move.
        match tokio::time::timeout_at(deadline, app.projections.wait_for(position + 1)).await {
            Ok(Ok(())) | Err(_) => {}
            Ok(Err(e)) => return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    };
    if view.private_network.is_empty() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "the cloud has no private network yet");
    }
    let mut response = serde_json::to_vec(&view).expect("a view encodes").into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Is an instance in this state meant to have a guest on its node?
fn live(state: InstanceState) -> bool {
    matches!(
        state,
        InstanceState::Pending
            | InstanceState::Running
            | InstanceState::Stopping
            | InstanceState::ShuttingDown
    )
}

/// The network view of `node` (the same resolution as the embedded node's
/// `node_executor::net::NetView::plan`, from the read models instead of
/// the domain's aggregates).
pub fn view_of(models: &ReadModels, position: u64, node: &NodeId) -> NodeNetwork {
    // Members' private addresses by group, over the whole cloud.
    let mut members: HashMap<&SecurityGroupId, BTreeSet<&str>> = HashMap::new();
    for row in models.instances.rows.values() {
        if row.state == InstanceState::Terminated {
            continue;
        }
        let Some(private) = row.private_address.as_deref() else { continue };
        for g in &row.groups {
            members.entry(g).or_default().insert(private);
        }
    }
    let resolve = |rule: &SecurityRule| -> NetRule {
        let (cidr, addresses) = match &rule.source {
            RuleSource::Cidr(cidr) => (Some(cidr.clone()), Vec::new()),
            RuleSource::Group { group, .. } => (
                None,
                members.get(group).map(|m| m.iter().map(|a| (*a).to_owned()).collect()).unwrap_or_default(),
            ),
        };
        NetRule {
            protocol: rule.protocol.clone(),
            from_port: rule.from_port,
            to_port: rule.to_port,
            cidr,
            addresses,
        }
    };
    let mut guests = BTreeMap::new();
    for (id, row) in &models.instances.rows {
        if !live(row.state) || row.node.as_ref() != Some(node) {
            continue;
        }
        let Some(private) = row.private_address.clone() else { continue };
        let (mut ingress, mut egress) = (BTreeSet::new(), BTreeSet::new());
        for g in &row.groups {
            if let Some(group) = models.security.groups.get(g) {
                ingress.extend(group.ingress.iter().map(resolve));
                egress.extend(group.egress.iter().map(resolve));
            }
        }
        guests.insert(
            id.as_str(),
            NetGuest {
                instance: id.to_string(),
                private,
                public: row.public_address.clone(),
                ingress: ingress.into_iter().collect(),
                egress: egress.into_iter().collect(),
            },
        );
    }
    // Live guests of other nodes, through their hosts.
    let own_host = models.cloud.node(node).map(|(_, row)| row.host.as_str());
    let mut routes = BTreeSet::new();
    for row in models.instances.rows.values() {
        let (Some(other), Some(private)) = (row.node.as_ref(), row.private_address.as_ref()) else {
            continue;
        };
        if !live(row.state) || other == node {
            continue;
        }
        let Some((_, host)) = models.cloud.node(other) else { continue };
        if host.host.parse::<std::net::Ipv4Addr>().is_ok() && Some(host.host.as_str()) != own_host {
            routes.insert(NetRoute { address: private.clone(), via: host.host.clone() });
        }
    }
    let mut view = NodeNetwork {
        position,
        version: String::new(),
        private_network: models.network.private_cidr.clone(),
        guests: guests.into_values().collect(),
        routes: routes.into_iter().collect(),
    };
    let content =
        serde_json::to_vec(&(&view.private_network, &view.guests, &view.routes)).expect("a view encodes");
    view.version = hex::encode(&sha2::Sha256::digest(&content)[..12]);
    view
}
