//! `yukari replay diff`: what changed between two states, resource by
//! resource. It compares the JSON of the read models, so a read model
//! added later is diffed without a change here. An object key with a digit
//! in it is taken for a resource id (`i-…`, `123456789012`, `yukari-1a`,
//! `nc-…`): changes below it are reported as changes of that resource.

use domain::InstanceId;
use projections::{InstancesView, ReadModels};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// Keys that are indexes derived from other read models, or bookkeeping.
const SKIPPED: [&str; 3] = ["by_account", "ended", "position"];

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldChange {
    /// Dotted path inside the resource (empty: the value itself).
    pub field: String,
    pub before: Value,
    pub after: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// Path of the resource in the read models, e.g. `instances/rows/i-…`.
    pub resource: String,
    pub kind: ChangeKind,
    /// For an added resource: its value; removed: the value it had.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub value: Value,
    /// For a changed resource: the fields that changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

fn is_resource_key(key: &str) -> bool {
    key.bytes().any(|b| b.is_ascii_digit())
}

/// The changes from `before` to `after`, in key order.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(&mut out, "", "", "", before, after);
    out
}

fn join(a: &str, sep: char, b: &str) -> String {
    if a.is_empty() { b.to_owned() } else { format!("{a}{sep}{b}") }
}

fn walk(out: &mut Vec<Change>, path: &str, resource: &str, field: &str, a: &Value, b: &Value) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                if SKIPPED.contains(&key.as_str()) {
                    continue;
                }
                let child_path = join(path, '/', key);
                let (va, vb) = (x.get(key.as_str()), y.get(key.as_str()));
                if is_resource_key(key) {
                    match (va, vb) {
                        (None, Some(v)) => out.push(Change {
                            resource: child_path,
                            kind: ChangeKind::Added,
                            value: v.clone(),
                            fields: Vec::new(),
                        }),
                        (Some(v), None) => out.push(Change {
                            resource: child_path,
                            kind: ChangeKind::Removed,
                            value: v.clone(),
                            fields: Vec::new(),
                        }),
                        (Some(va), Some(vb)) => walk(out, &child_path, &child_path, "", va, vb),
                        (None, None) => {}
                    }
                } else {
                    let null = Value::Null;
                    let child_field = join(field, '.', key);
                    walk(out, &child_path, resource, &child_field, va.unwrap_or(&null), vb.unwrap_or(&null));
                }
            }
        }
        _ => {
            let change = FieldChange { field: field.to_owned(), before: a.clone(), after: b.clone() };
            let resource = if resource.is_empty() { path } else { resource };
            match out.last_mut() {
                Some(last) if last.resource == resource && last.kind == ChangeKind::Changed => {
                    last.fields.push(change)
                }
                _ => out.push(Change {
                    resource: resource.to_owned(),
                    kind: ChangeKind::Changed,
                    value: Value::Null,
                    fields: vec![change],
                }),
            }
        }
    }
}

/// The changes from `before` to `after`, as [`diff`] of their JSON
/// ([`crate::state::to_json`]) finds them, in the same order, serializing
/// only the read models that differ (a diff over a few records touches a
/// few of them; the instances of a large cloud are not serialized unless
/// one changed).
pub fn diff_models(before: &ReadModels, after: &ReadModels) -> Vec<Change> {
    // Every read model, so that one added to ReadModels is not forgotten
    // here (`position` is bookkeeping, skipped as `diff` skips it).
    let ReadModels {
        position: _,
        cloud,
        accounts,
        images,
        instances,
        security,
        network,
        tags,
        login_profiles,
        volumes,
        buckets,
    } = before;
    let mut out = Vec::new();
    // In the order of their JSON keys, as `diff` walks them.
    part(&mut out, "accounts", accounts, &after.accounts);
    part(&mut out, "buckets", buckets, &after.buckets);
    part(&mut out, "cloud", cloud, &after.cloud);
    part(&mut out, "images", images, &after.images);
    instances_part(&mut out, instances, &after.instances);
    part(&mut out, "login_profiles", login_profiles, &after.login_profiles);
    part(&mut out, "network", network, &after.network);
    part(&mut out, "security", security, &after.security);
    part(&mut out, "tags", tags, &after.tags);
    part(&mut out, "volumes", volumes, &after.volumes);
    out
}

/// The instances, row by row: of a large cloud's rows only those that
/// changed are serialized (`by_account` is an index `diff` skips).
fn instances_part(out: &mut Vec<Change>, before: &InstancesView, after: &InstancesView) {
    if before == after {
        return;
    }
    let ids: BTreeSet<&InstanceId> = before.rows.keys().chain(after.rows.keys()).collect();
    let changed: Vec<&InstanceId> =
        ids.into_iter().filter(|id| before.rows.get(*id) != after.rows.get(*id)).collect();
    let reservations = before.reservations != after.reservations;
    let json = |view: &InstancesView| {
        let mut rows = serde_json::Map::new();
        for id in &changed {
            if let Some(row) = view.rows.get(*id) {
                let key = match serde_json::to_value(id) {
                    Ok(Value::String(s)) => s,
                    _ => id.to_string(),
                };
                rows.insert(key, serde_json::to_value(row).unwrap_or(Value::Null));
            }
        }
        let mut instances = serde_json::Map::new();
        instances.insert("rows".to_owned(), Value::Object(rows));
        if reservations {
            instances.insert(
                "reservations".to_owned(),
                serde_json::to_value(&view.reservations).unwrap_or(Value::Null),
            );
        }
        let mut map = serde_json::Map::new();
        map.insert("instances".to_owned(), Value::Object(instances));
        let mut value = Value::Object(map);
        crate::state::strip_secrets(&mut value);
        value
    };
    walk(out, "", "", "", &json(before), &json(after));
}

/// The changes of one read model, named as at the top of the JSON.
fn part<T: Serialize + PartialEq>(out: &mut Vec<Change>, name: &str, before: &T, after: &T) {
    if before == after {
        return;
    }
    let json = |value: &T| {
        let mut map = serde_json::Map::new();
        map.insert(name.to_owned(), serde_json::to_value(value).unwrap_or(Value::Null));
        let mut value = Value::Object(map);
        crate::state::strip_secrets(&mut value);
        value
    };
    walk(out, "", "", "", &json(before), &json(after));
}

/// One line per change: `+` added, `-` removed, `~` changed.
pub fn render(changes: &[Change]) -> String {
    let mut out = String::new();
    for c in changes {
        match c.kind {
            ChangeKind::Added => out.push_str(&format!("+ {}  {}\n", c.resource, clip(&c.value.to_string()))),
            ChangeKind::Removed => {
                out.push_str(&format!("- {}  {}\n", c.resource, clip(&c.value.to_string())))
            }
            ChangeKind::Changed => {
                let fields: Vec<String> = c
                    .fields
                    .iter()
                    .map(|f| {
                        let name = if f.field.is_empty() { String::new() } else { format!("{}: ", f.field) };
                        format!("{name}{} → {}", clip(&f.before.to_string()), clip(&f.after.to_string()))
                    })
                    .collect();
                out.push_str(&format!("~ {}  {}\n", c.resource, fields.join("; ")));
            }
        }
    }
    out
}

/// `s` cut to 240 bytes (at a character boundary), with `…` when cut.
pub fn clip(s: &str) -> String {
    const MAX: usize = 240;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Read model by read model, the diff is the whole JSON's, change for
    /// change, at many pairs of positions of a synthetic log.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_diff_of_the_changed_read_models_is_the_diff_of_the_whole_json() {
        use crate::source::Records;
        use crate::state::{advance, to_json};
        let (_dir, offline, _summary) = crate::testing::synthetic_log(3_000, 10).await;
        let head = offline.head().unwrap();
        let mut models = ReadModels::default();
        let mut compared = 0;
        let mut from = 0;
        for step in [1, 7, 50, 400, 1, 900, 3, 2_000] {
            let to = (from + step).min(head);
            let before = models.clone();
            advance(&mut models, &offline, to, &crate::Progress::hidden()).unwrap();
            let whole = diff(&to_json(&before), &to_json(&models));
            assert_eq!(diff_models(&before, &models), whole, "{from}..{to}");
            compared += whole.len();
            from = to;
        }
        assert!(compared > 100, "the positions changed things: {compared}");
    }

    #[test]
    fn changes_are_grouped_by_resource() {
        let before = json!({
            "position": 5,
            "instances": {"rows": {"i-01": {"state": "pending", "node": null, "n": {"cpus": 1}}},
                          "by_account": {"123456789012": ["i-01"]}},
            "cloud": {"region": "yukari"}
        });
        let after = json!({
            "position": 9,
            "instances": {"rows": {"i-01": {"state": "running", "node": "nc-1", "n": {"cpus": 2}},
                                   "i-02": {"state": "pending"}},
                          "by_account": {"123456789012": ["i-01", "i-02"]}},
            "cloud": {"region": "yukari2"}
        });
        let changes = diff(&before, &after);
        assert_eq!(changes.len(), 3, "{changes:#?}");
        assert_eq!(changes[0].resource, "cloud/region");
        assert_eq!(changes[1].resource, "instances/rows/i-01");
        assert_eq!(changes[1].kind, ChangeKind::Changed);
        let fields: Vec<&str> = changes[1].fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["n.cpus", "node", "state"]);
        assert_eq!(changes[1].fields[2].before, json!("pending"));
        assert_eq!(changes[1].fields[2].after, json!("running"));
        assert_eq!(changes[2].resource, "instances/rows/i-02");
        assert_eq!(changes[2].kind, ChangeKind::Added);
        let text = render(&changes);
        assert!(text.contains("~ instances/rows/i-01  n.cpus: 1 → 2; node: null → \"nc-1\"; state: \"pending\" → \"running\""), "{text}");
        assert!(diff(&after, &after).is_empty());
        let back = diff(&after, &before);
        assert_eq!(back[2].kind, ChangeKind::Removed);
    }
}
