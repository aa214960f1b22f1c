//! Clusters and nodes: each zone's nodes (reachable or not since when,
//! last heartbeat, room used of their capacity, instances) and its
//! capacity per VM type (free, used, most that fit), counted as
//! DescribeAvailabilityZones verbose counts them (`ZoneRow::capacity`).

use super::{Admin, Tabs, chrome};
use crate::Console;
use crate::pages::{Chrome, render};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use domain::SchedulingPolicy;
use std::sync::Arc;

pub(crate) struct Node {
    pub id: String,
    pub host: String,
    pub hypervisor: String,
    pub reachable: bool,
    pub state: String,
    pub heartbeat: String,
    pub cpus: String,
    pub memory: String,
    pub disk: String,
    pub instances: String,
}

pub(crate) struct TypeRoom {
    pub name: String,
    pub shape: String,
    pub free: String,
    pub used: String,
    pub max: String,
}

pub(crate) struct Zone {
    pub name: String,
    /// The zone's name and its scheduling policy.
    pub title: String,
    pub nodes: Vec<Node>,
    pub types: Vec<TypeRoom>,
}

#[derive(Template)]
#[template(path = "admin/clusters.html")]
struct Page {
    chrome: Chrome,
    tabs: Tabs,
    region: String,
    zones: Vec<Zone>,
}

pub(crate) async fn page(State(console): State<Arc<Console>>, Admin(signed): Admin) -> Response {
    let tr = signed.tr;
    let n = |v: u64| tr.number(v);
    let (region, zones) = {
        let models = console.app.projections.read();
        let zones = models
            .cloud
            .zones
            .iter()
            .map(|(zone, row)| {
                let nodes = row
                    .nodes
                    .iter()
                    .map(|(id, node)| {
                        let heard = console.app.liveness.last_heartbeat(id);
                        let heartbeat = match (heard, node.unreachable_since) {
                            (Some(at), _) => tr.date(at),
                            (None, Some((_, last))) => tr.date(last),
                            (None, None) => tr.msg("admin-node-not-heard"),
                        };
                        let state = match node.unreachable_since {
                            Some((since, _)) if !node.reachable => {
                                tr.msg_args("admin-node-unreachable", &[("since", &tr.date(since))])
                            }
                            _ => tr.msg("admin-node-reachable"),
                        };
                        let of = |used: u64, total: u64| {
                            tr.msg_args("admin-used-of", &[("used", &n(used)), ("total", &n(total))])
                        };
                        Node {
                            id: id.to_string(),
                            host: node.host.clone(),
                            hypervisor: node.hypervisor.clone(),
                            reachable: node.reachable,
                            state,
                            heartbeat,
                            cpus: of(node.used.cpus.into(), node.capacity.cpus.into()),
                            memory: of(node.used.memory_mib, node.capacity.memory_mib),
                            disk: of(node.used.disk_gib, node.capacity.disk_gib),
                            instances: n(node.instances.into()),
                        }
                    })
                    .collect();
                let types = models
                    .cloud
                    .vm_types
                    .iter()
                    .map(|vm| {
                        let (free, max) = row.capacity(vm);
                        let reachable_max: u64 = row
                            .nodes
                            .values()
                            .filter(|node| node.reachable)
                            .map(|node| projections::fits(&node.capacity, vm))
                            .sum();
                        TypeRoom {
                            name: vm.name.to_string(),
                            shape: tr.msg_args(
                                "admin-type-shape",
                                &[
                                    ("cpus", &vm.cpus.to_string()),
                                    ("memory", &n(vm.memory_mib.into())),
                                    ("disk", &vm.disk_gib.to_string()),
                                ],
                            ),
                            free: n(free),
                            used: n(reachable_max.saturating_sub(free)),
                            max: n(max),
                        }
                    })
                    .collect();
                let policy = match row.policy {
                    SchedulingPolicy::Greedy => "admin-policy-greedy",
                    SchedulingPolicy::RoundRobin => "admin-policy-round-robin",
                    SchedulingPolicy::PowerSave => "admin-policy-power-save",
                };
                let title =
                    tr.msg_args("admin-zone", &[("zone", zone.as_str()), ("policy", &tr.msg(policy))]);
                Zone { name: zone.to_string(), title, nodes, types }
            })
            .collect();
        (tr.msg_args("admin-region", &[("region", &models.cloud.region)]), zones)
    };
    let chrome = chrome(&console, &signed, "admin-clusters-title");
    render(&Page { chrome, tabs: Tabs::new(&tr, "clusters"), region, zones })
}
