//! The readable form of `yukari replay state`: the cloud as a tree. The
//! read models it knows (zones, nodes and what is placed on them, accounts,
//! images, instances) are laid out by hand; any other read model (added
//! later) is shown generically from its JSON, so nothing is hidden.

use crate::state::to_json;
use crate::time;
use projections::{InstanceRow, ReadModels};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A labelled node of the tree.
#[derive(Debug, Default)]
pub struct Node {
    pub label: String,
    pub children: Vec<Node>,
}

impl Node {
    fn new(label: impl Into<String>) -> Node {
        Node { label: label.into(), children: Vec::new() }
    }

    fn with(mut self, children: Vec<Node>) -> Node {
        self.children = children;
        self
    }

    /// Renders with box-drawing branches.
    pub fn render(&self) -> String {
        let mut out = format!("{}\n", self.label);
        let n = self.children.len();
        for (i, child) in self.children.iter().enumerate() {
            child.render_into(&mut out, "", i + 1 == n);
        }
        out
    }

    fn render_into(&self, out: &mut String, prefix: &str, last: bool) {
        let _ = writeln!(out, "{prefix}{}{}", if last { "└─ " } else { "├─ " }, self.label);
        let inner = format!("{prefix}{}", if last { "   " } else { "│  " });
        let n = self.children.len();
        for (i, child) in self.children.iter().enumerate() {
            child.render_into(out, &inner, i + 1 == n);
        }
    }
}

fn instance_label(row: &InstanceRow, with_place: bool) -> String {
    let mut s = format!("{} {} {}", row.id, row.vm_type, row.state);
    if with_place && let (Some(node), Some(zone)) = (&row.node, &row.zone) {
        let _ = write!(s, " on {node} in {zone}");
    }
    let _ = write!(s, " (since {})", time::format(row.state_changed_at.millis() * 1000));
    s
}

/// The whole cloud as a tree; `at` is the record time of its position.
pub fn tree(models: &ReadModels, at: Option<time::Micros>) -> Node {
    let mut root = Node::new(format!(
        "cloud {} at position {}{}",
        if models.cloud.region.is_empty() { "(not initialized)" } else { &models.cloud.region },
        models.position,
        at.map(|t| format!(" ({})", time::format(t))).unwrap_or_default()
    ));
    let names: BTreeMap<String, String> =
        models.accounts.accounts.iter().map(|(id, row)| (id.to_string(), row.name.clone())).collect();
    let account_label = |id: &str| match names.get(id) {
        Some(name) => format!("{id} ({name})"),
        None => id.to_owned(),
    };

    let mut placed: BTreeMap<String, Vec<&InstanceRow>> = BTreeMap::new();
    for row in models.instances.rows.values().filter(|r| r.state.holds_capacity()) {
        if let Some(node) = &row.node {
            placed.entry(node.to_string()).or_default().push(row);
        }
    }
    let zones = models.cloud.zones.iter().map(|(zone, z)| {
        let nodes = z.nodes.iter().map(|(id, n)| {
            let mut here = placed.remove(id.as_str()).unwrap_or_default();
            here.sort_by(|a, b| a.id.cmp(&b.id));
            let label = format!(
                "node {id} on {} ({}): {}/{} CPUs, {}/{} MiB used",
                n.host, n.hypervisor, n.used.cpus, n.capacity.cpus, n.used.memory_mib, n.capacity.memory_mib
            );
            let children = here
                .into_iter()
                .map(|r| {
                    Node::new(format!(
                        "{} of {}",
                        instance_label(r, false),
                        account_label(r.account.as_str())
                    ))
                })
                .collect();
            Node::new(label).with(children)
        });
        Node::new(format!("zone {zone} ({:?})", z.policy)).with(nodes.collect())
    });
    root.children.push(Node::new("zones").with(zones.collect()));

    let accounts = models.accounts.accounts.iter().map(|(id, row)| {
        let mut children: Vec<Node> = models
            .accounts
            .keys
            .iter()
            .filter(|(_, k)| &k.account == id)
            .map(|(key, k)| Node::new(format!("access key {key} of user {}", k.user)))
            .collect();
        let mut rows: Vec<&InstanceRow> = models.instances.of_account(id, None).collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &rows {
            *counts.entry(r.state.name()).or_default() += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let instances = rows.iter().map(|r| Node::new(instance_label(r, true))).collect();
        children.push(
            Node::new(format!(
                "instances: {}",
                if summary.is_empty() { "none".into() } else { summary.join(", ") }
            ))
            .with(instances),
        );
        let created = time::format(row.created_at.millis() * 1000);
        Node::new(format!("account {id} {} (created {created})", row.name)).with(children)
    });
    root.children.push(Node::new("accounts").with(accounts.collect()));

    let images = models.images.iter().map(|(id, i)| {
        Node::new(format!(
            "{id} {} ({}, {}, owner {})",
            i.name,
            i.kind.ec2_name(),
            if i.public { "public" } else { "private" },
            account_label(i.owner.as_str())
        ))
    });
    root.children.push(Node::new("images").with(images.collect()));

    // Read models this view does not lay out yet, shown as they are.
    if let Value::Object(mut rest) = to_json(models) {
        for known in ["position", "cloud", "accounts", "images", "instances"] {
            rest.remove(known);
        }
        for (key, value) in rest {
            root.children.push(generic(&key, &value));
        }
    }
    root
}

/// Any JSON value as a tree.
pub fn generic(key: &str, value: &Value) -> Node {
    match value {
        Value::Object(map) if !map.is_empty() => {
            Node::new(key).with(map.iter().map(|(k, v)| generic(k, v)).collect())
        }
        Value::Array(items) if items.iter().any(|v| v.is_object() || v.is_array()) => Node::new(key)
            .with(items.iter().enumerate().map(|(i, v)| generic(&format!("[{i}]"), v)).collect()),
        other => Node::new(format!("{key}: {other}")),
    }
}
