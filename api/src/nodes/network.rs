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

use super::Caller;
use super::wire::{NetGuest, NetRoute, NetRule, NodeNetwork};
use crate::admin::refuse;
use crate::app::App;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::{AccountId, InstanceState, NodeId, RuleSource, SecurityGroupId, SecurityRule};
use projections::ReadModels;
use serde::Deserialize;
use sha2::Digest;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Deserialize)]
pub(super) struct NetworkQuery {
    #[serde(default)]
    have: String,
    wait: Option<u64>,
}

pub(super) async fn network(
    Caller { node, .. }: Caller,
    State(app): State<Arc<App>>,
    Query(q): Query<NetworkQuery>,
) -> Response {
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(crate::admin::MAX_WAIT_SECS));
    let deadline = tokio::time::Instant::now() + wait;
    let view = loop {
        let view = app.network_views.view_of(&app.projections.read(), &node);
        if view.version != q.have || tokio::time::Instant::now() >= deadline {
            break view;
        }
        // Nothing new for this node yet: wait for the read models to move.
        match tokio::time::timeout_at(deadline, app.projections.wait_for(view.position + 1)).await {
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

/// Can other hosts route to a node through this host address? An IPv4
/// address that is not loopback (the embedded node of a `yukari up` bound
/// to 127.0.0.1 registers that) nor unspecified; a name is not resolved.
fn routable(host: &str) -> bool {
    host.parse::<std::net::Ipv4Addr>().is_ok_and(|a| !a.is_loopback() && !a.is_unspecified())
}

/// The network view of `node`, computed from scratch (see
/// [`NetworkViews::view_of`] for the shared one).
pub fn view_of(models: &ReadModels, node: &NodeId) -> NodeNetwork {
    CloudNetwork::of(models).view(node)
}

/// The network views of every node at one read-model position: computed
/// once per position (group members, each group's rules resolved, live
/// guests by node, the routes list), then each node's view is a lookup
/// of its guests, their groups' resolved rules, and a filter of the routes.
#[derive(Debug)]
pub struct CloudNetwork {
    position: u64,
    private_network: String,
    /// Live guests by node.
    guests: HashMap<NodeId, Vec<LiveGuest>>,
    /// Each group's ingress and egress rules, group sources resolved.
    rules: HashMap<SecurityGroupId, (Vec<NetRule>, Vec<NetRule>)>,
    /// Every live guest of a node with a routable host, sorted by
    /// address, with its node.
    routes: Vec<(NetRoute, NodeId)>,
    /// Registered hosts by node.
    hosts: HashMap<NodeId, String>,
}

/// A live guest, its rules still by group (resolved once per group, not
/// once per guest).
#[derive(Debug)]
struct LiveGuest {
    instance: String,
    private: String,
    public: Option<String>,
    groups: Vec<SecurityGroupId>,
}

impl CloudNetwork {
    pub fn of(models: &ReadModels) -> CloudNetwork {
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
        // Groups by owner and name, for rules that name another
        // account's group by name.
        let by_name: HashMap<(&AccountId, &str), &SecurityGroupId> =
            models.security.groups.iter().map(|(id, g)| ((&g.account, g.name.as_str()), id)).collect();
        let addresses_of = |group: Option<&SecurityGroupId>| -> Vec<String> {
            group
                .and_then(|g| members.get(g))
                .map(|m| m.iter().map(|a| (*a).to_owned()).collect())
                .unwrap_or_default()
        };
        let resolve = |rule: &SecurityRule| -> NetRule {
            let (cidr, addresses) = match &rule.source {
                RuleSource::Cidr(cidr) => (Some(cidr.clone()), Vec::new()),
                // The group named, if it is the named account's (a rule
                // may name another account's group that does not exist).
                RuleSource::Group { account, group } => {
                    let owned = models.security.groups.get(group).is_some_and(|g| &g.account == account);
                    (None, addresses_of(owned.then_some(group)))
                }
                RuleSource::NamedGroup { account, name } => {
                    (None, addresses_of(by_name.get(&(account, name.as_str())).copied()))
                }
            };
            NetRule {
                protocol: rule.protocol.clone(),
                from_port: rule.from_port,
                to_port: rule.to_port,
                cidr,
                addresses,
            }
        };
        let hosts: HashMap<NodeId, String> = models
            .cloud
            .zones
            .values()
            .flat_map(|z| z.nodes.iter().map(|(id, row)| (id.clone(), row.host.clone())))
            .collect();
        let mut guests: HashMap<NodeId, Vec<LiveGuest>> = HashMap::new();
        let mut rules = HashMap::new();
        let mut routes = Vec::new();
        for (id, row) in &models.instances.rows {
            let (Some(node), Some(private)) = (row.node.as_ref(), row.private_address.as_ref()) else {
                continue;
            };
            if !live(row.state) {
                continue;
            }
            if let Some(host) = hosts.get(node).filter(|h| routable(h)) {
                routes.push((NetRoute { address: private.to_string(), via: host.clone() }, node.clone()));
            }
            for g in &row.groups {
                if rules.contains_key(g) {
                    continue;
                }
                if let Some(group) = models.security.groups.get(g) {
                    let resolved = (
                        group.ingress.iter().map(resolve).collect(),
                        group.egress.iter().map(resolve).collect(),
                    );
                    rules.insert(g.clone(), resolved);
                }
            }
            guests.entry(node.clone()).or_default().push(LiveGuest {
                instance: id.to_string(),
                private: private.to_string(),
                public: row.public_address.clone(),
                groups: row.groups.clone(),
            });
        }
        for list in guests.values_mut() {
            list.sort_by(|a, b| a.instance.cmp(&b.instance));
        }
        routes.sort();
        CloudNetwork {
            position: models.position,
            private_network: models.network.private_cidr.clone(),
            guests,
            rules,
            routes,
            hosts,
        }
    }

    /// The view of `node`: its own live guests with their groups' rules,
    /// and routes to the others' through their hosts (none to guests
    /// behind this node's own host).
    pub fn view(&self, node: &NodeId) -> NodeNetwork {
        let own_host = self.hosts.get(node);
        let mut routes: Vec<NetRoute> = self
            .routes
            .iter()
            .filter(|(route, other)| other != node && Some(&route.via) != own_host)
            .map(|(route, _)| route.clone())
            .collect();
        routes.dedup();
        let guests = self
            .guests
            .get(node)
            .map(|list| {
                list.iter()
                    .map(|g| {
                        let (mut ingress, mut egress) = (BTreeSet::new(), BTreeSet::new());
                        for (i, e) in g.groups.iter().filter_map(|group| self.rules.get(group)) {
                            ingress.extend(i.iter().cloned());
                            egress.extend(e.iter().cloned());
                        }
                        NetGuest {
                            instance: g.instance.clone(),
                            private: g.private.clone(),
                            public: g.public.clone(),
                            ingress: ingress.into_iter().collect(),
                            egress: egress.into_iter().collect(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut view = NodeNetwork {
            position: self.position,
            version: String::new(),
            private_network: self.private_network.clone(),
            guests,
            routes,
        };
        let content =
            serde_json::to_vec(&(&view.private_network, &view.guests, &view.routes)).expect("a view encodes");
        view.version = hex::encode(&sha2::Sha256::digest(&content)[..12]);
        view
    }
}

/// The last [`CloudNetwork`] computed, shared by every node asking at the
/// same read-model position (remote nodes' long polls and the embedded
/// node alike), so a change costs one pass over the instances, not one
/// per node.
#[derive(Debug, Default)]
pub struct NetworkViews {
    last: Mutex<Option<Arc<CloudNetwork>>>,
}

impl NetworkViews {
    /// The view of `node` as of `models` (computed at most once per
    /// position for all nodes).
    pub fn view_of(&self, models: &ReadModels, node: &NodeId) -> NodeNetwork {
        self.at(models).view(node)
    }

    /// The cloud's network as of `models`.
    pub fn at(&self, models: &ReadModels) -> Arc<CloudNetwork> {
        let mut last = self.last.lock().expect("network views lock");
        match &*last {
            Some(cloud) if cloud.position == models.position => cloud.clone(),
            _ => {
                let cloud = Arc::new(CloudNetwork::of(models));
                *last = Some(cloud.clone());
                cloud
            }
        }
    }
}

#[cfg(test)]
#[path = "network_tests.rs"]
mod tests;
