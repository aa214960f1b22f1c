//! Setting a cloud up: bootstrap, clusters, nodes, accounts, users, keys
//! and images.

use super::keys_and_groups::new_group_events;
use super::{Decision, Reply};
use crate::aggregate::{Aggregate, StateView};
use crate::aggregates::cidr_range;
use crate::command::*;
use crate::error::DecideError;
use crate::event::*;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

type Events = Vec<(StreamId, Event)>;

pub(super) fn bootstrap(c: &BootstrapCloud, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.cloud().is_some() {
        return Err(DecideError::CloudAlreadyInitialized);
    }
    if c.node.zone != c.cluster.zone {
        return Err(DecideError::UnknownZone(c.node.zone.clone()));
    }
    if cidr_range(&c.private_cidr).is_none() {
        return Err(DecideError::InvalidNetwork(c.private_cidr.clone()));
    }
    let mut events: Events = vec![
        (
            StreamId::cloud(),
            CloudInitialized { region: c.region.clone(), vm_types: c.vm_types.clone(), at: c.at }.into(),
        ),
        (StreamId::cloud(), ClusterAdded { zone: c.cluster.zone.clone(), at: c.at }.into()),
        (
            StreamId::cluster(&c.cluster.zone),
            ClusterRegistered { zone: c.cluster.zone.clone(), policy: c.cluster.policy, at: c.at }.into(),
        ),
        (StreamId::cluster(&c.node.zone), node_registered(&c.node).into()),
        (
            StreamId::network(),
            AddressPoolConfigured {
                private_cidr: c.private_cidr.clone(),
                public_addresses: c.public_addresses.clone(),
                at: c.at,
            }
            .into(),
        ),
    ];
    events.extend(create_account(&c.admin, view)?);
    for image in &c.images {
        if view.image(&image.image).is_some() {
            return Err(DecideError::ImageExists(image.image.clone()));
        }
        events.push((StreamId::image(&image.image), image_registered(image).into()));
    }
    Ok(events)
}

pub(super) fn add_cluster(c: &AddCluster, view: &dyn StateView) -> Result<Events, DecideError> {
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    if cloud.has_zone(&c.zone) || view.cluster(&c.zone).is_some() {
        return Err(DecideError::ZoneExists(c.zone.clone()));
    }
    Ok(vec![
        (StreamId::cloud(), ClusterAdded { zone: c.zone.clone(), at: c.at }.into()),
        (
            StreamId::cluster(&c.zone),
            ClusterRegistered { zone: c.zone.clone(), policy: c.policy, at: c.at }.into(),
        ),
    ])
}

/// The new size of the type, from the cloud's current one (or
/// Eucalyptus's default); the reply has both.
pub(super) fn modify_instance_type(
    c: &ModifyInstanceTypeAttribute,
    view: &dyn StateView,
) -> Result<Decision, DecideError> {
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    let previous = cloud.vm_type(&c.name).cloned();
    let base = if c.reset {
        VmType::eucalyptus_defaults().into_iter().find(|t| t.name == c.name)
    } else {
        previous.clone()
    };
    let t = match (base, c.cpus, c.memory_mib, c.disk_gib) {
        (Some(t), cpus, memory_mib, disk_gib) => VmType {
            cpus: cpus.unwrap_or(t.cpus),
            memory_mib: memory_mib.unwrap_or(t.memory_mib),
            disk_gib: disk_gib.unwrap_or(t.disk_gib),
            ..t
        },
        (None, Some(cpus), Some(memory_mib), Some(disk_gib)) => {
            VmType { name: c.name.clone(), cpus, memory_mib, disk_gib }
        }
        (None, ..) => return Err(DecideError::NewVmTypeIncomplete(c.name.clone())),
    };
    let sane =
        !t.name.is_empty() && t.name.len() <= 32 && t.cpus >= 1 && t.memory_mib >= 64 && t.disk_gib >= 1;
    if !sane {
        return Err(DecideError::InvalidVmType(t.name.clone()));
    }
    let events = if previous.as_ref() == Some(&t) {
        Vec::new()
    } else {
        vec![(StreamId::cloud(), VmTypeSet { vm_type: t.clone(), at: c.at }.into())]
    };
    Ok(Decision { events, reply: Reply::VmType { vm_type: t, previous } })
}

fn node_registered(c: &RegisterNode) -> NodeRegistered {
    NodeRegistered {
        node: c.node.clone(),
        zone: c.zone.clone(),
        host: c.host.clone(),
        hypervisor: c.hypervisor.clone(),
        capacity: c.capacity,
        at: c.at,
    }
}

/// Registers a node, or — for a node on another host that registers again
/// with the id it chose (it crashed before saving its credentials, or lost
/// them) — issues it a new key, which replaces the old one. A node id
/// belongs to one cluster: its `node/ID` stream holds the claim.
pub(super) fn register_node(c: &RegisterNode, view: &dyn StateView) -> Result<Events, DecideError> {
    let claim = match view.get(&StreamId::node(&c.node)) {
        Some(Aggregate::Node(zone)) => Some(zone),
        _ => None,
    };
    if let Some(zone) = claim
        && zone != &c.zone
    {
        return Err(DecideError::NodeInOtherZone { node: c.node.clone(), zone: zone.clone() });
    }
    let cluster = view.cluster(&c.zone).ok_or_else(|| DecideError::UnknownZone(c.zone.clone()))?;
    let stream = StreamId::cluster(&c.zone);
    let mut events: Events = Vec::new();
    match (cluster.nodes.get(&c.node), &c.key) {
        // Registered with a key before: only the key changes (capacity and
        // host stay as first registered).
        (Some(node), Some(_)) if node.access_key.is_some() => {}
        (Some(_), _) => return Err(DecideError::NodeExists(c.node.clone())),
        (None, _) => events.push((stream.clone(), node_registered(c).into())),
    }
    if claim.is_none() {
        events.push((
            StreamId::node(&c.node),
            NodeClaimed { node: c.node.clone(), zone: c.zone.clone() }.into(),
        ));
    }
    if let Some(key) = &c.key {
        if cluster.nodes.values().any(|n| n.access_key.as_ref() == Some(&key.access_key)) {
            return Err(DecideError::AccessKeyExists(key.access_key.clone()));
        }
        events.push((
            stream,
            NodeCredentialsIssued {
                node: c.node.clone(),
                access_key: key.access_key.clone(),
                secret: key.secret.clone(),
                at: c.at,
            }
            .into(),
        ));
    }
    Ok(events)
}

pub(super) fn set_cluster_policy(c: &SetClusterPolicy, view: &dyn StateView) -> Result<Events, DecideError> {
    let cluster = view.cluster(&c.zone).ok_or_else(|| DecideError::UnknownZone(c.zone.clone()))?;
    if cluster.policy == c.policy {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::cluster(&c.zone),
        ClusterPolicySet { zone: c.zone.clone(), policy: c.policy, at: c.at }.into(),
    )])
}

/// Records a node being heard again; nothing when it is already reachable
/// (heartbeats themselves are never recorded).
pub(super) fn mark_reachable(c: &MarkNodeReachable, view: &dyn StateView) -> Result<Events, DecideError> {
    if node_reachable(view, &c.zone, &c.node)? {
        return Ok(Vec::new());
    }
    Ok(vec![(StreamId::cluster(&c.zone), NodeReachable { node: c.node.clone(), at: c.at }.into())])
}

/// Records a node going silent; nothing when it already is.
pub(super) fn mark_unreachable(c: &MarkNodeUnreachable, view: &dyn StateView) -> Result<Events, DecideError> {
    if !node_reachable(view, &c.zone, &c.node)? {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::cluster(&c.zone),
        NodeUnreachable { node: c.node.clone(), last_heartbeat: c.last_heartbeat, at: c.at }.into(),
    )])
}

fn node_reachable(view: &dyn StateView, zone: &ZoneName, node: &NodeId) -> Result<bool, DecideError> {
    let cluster = view.cluster(zone).ok_or_else(|| DecideError::UnknownZone(zone.clone()))?;
    let node = cluster.nodes.get(node).ok_or_else(|| DecideError::UnknownNode(node.clone()))?;
    Ok(node.reachable)
}

/// The account, its `default` security group and its first access key.
pub(super) fn create_account(c: &CreateAccount, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.account(&c.account).is_some() {
        return Err(DecideError::AccountExists(c.account.clone()));
    }
    if view.get(&StreamId::account_name(&c.name)).is_some_and(|a| !a.is_empty()) {
        return Err(DecideError::AccountNameTaken(c.name.clone()));
    }
    if view.security_group(&c.default_group).is_some() {
        return Err(DecideError::IdInUse(c.default_group.to_string()));
    }
    let mut events: Events = vec![
        (
            StreamId::account_name(&c.name),
            AccountNameClaimed { name: c.name.clone(), account: c.account.clone() }.into(),
        ),
        (
            StreamId::account(&c.account),
            AccountCreated { account: c.account.clone(), name: c.name.clone(), at: c.at }.into(),
        ),
    ];
    events.extend(new_group_events(&c.account, &c.default_group, "default", "default group", true, c.at));
    if let Some(key) = &c.access_key {
        events.push((StreamId::account(&c.account), access_key_created(&c.account, key, c.at).into()));
    }
    Ok(events)
}

pub(super) fn create_user(c: &CreateUser, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.users.contains(&c.user) {
        return Err(DecideError::UserExists(c.user.clone()));
    }
    Ok(vec![(
        StreamId::account(&c.account),
        UserCreated { account: c.account.clone(), user: c.user.clone(), at: c.at }.into(),
    )])
}

fn access_key_created(account: &AccountId, key: &NewAccessKey, at: Timestamp) -> AccessKeyCreated {
    AccessKeyCreated {
        account: account.clone(),
        user: key.user.clone(),
        access_key: key.access_key.clone(),
        secret: key.secret.clone(),
        at,
    }
}

pub(super) fn create_access_key(c: &CreateAccessKey, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.access_keys.contains_key(&c.key.access_key) {
        return Err(DecideError::AccessKeyExists(c.key.access_key.clone()));
    }
    if !account.users.contains(&c.key.user) {
        return Err(DecideError::UserNotFound(c.key.user.clone()));
    }
    Ok(vec![(StreamId::account(&c.account), access_key_created(&c.account, &c.key, c.at).into())])
}

/// The user's key: it must be theirs.
fn key_of<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    user: &UserName,
    key: &AccessKeyId,
) -> Result<&'v crate::aggregates::Account, DecideError> {
    let account = view.account(account).ok_or_else(|| DecideError::AccountNotFound(account.clone()))?;
    if account.access_keys.get(key) != Some(user) {
        return Err(DecideError::AccessKeyNotFound(key.clone()));
    }
    Ok(account)
}

pub(super) fn update_access_key(c: &UpdateAccessKey, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = key_of(view, &c.account, &c.user, &c.access_key)?;
    if c.active != account.inactive_keys.contains(&c.access_key) {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::account(&c.account),
        AccessKeyStatusChanged { access_key: c.access_key.clone(), active: c.active, at: c.at }.into(),
    )])
}

pub(super) fn delete_access_key(c: &DeleteAccessKey, view: &dyn StateView) -> Result<Events, DecideError> {
    key_of(view, &c.account, &c.user, &c.access_key)?;
    Ok(vec![(
        StreamId::account(&c.account),
        AccessKeyDeleted { access_key: c.access_key.clone(), at: c.at }.into(),
    )])
}

pub(super) fn delete_user(c: &DeleteUser, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if !account.users.contains(&c.user) {
        return Err(DecideError::UserNotFound(c.user.clone()));
    }
    if c.user == UserName::admin() {
        return Err(DecideError::UserInUse(c.user.clone()));
    }
    if account.access_keys.values().any(|u| u == &c.user) {
        return Err(DecideError::UserInUse(c.user.clone()));
    }
    Ok(vec![(StreamId::account(&c.account), UserDeleted { user: c.user.clone(), at: c.at }.into())])
}

fn image_registered(c: &RegisterImage) -> ImageRegistered {
    ImageRegistered {
        image: c.image.clone(),
        owner: c.owner.clone(),
        kind: c.kind,
        name: c.name.clone(),
        description: c.description.clone(),
        architecture: c.architecture.clone(),
        location: c.location.clone(),
        kernel: c.kernel.clone(),
        ramdisk: c.ramdisk.clone(),
        public: c.public,
        at: c.at,
    }
}

pub(super) fn register_image(c: &RegisterImage, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.image(&c.image).is_some() {
        return Err(DecideError::ImageExists(c.image.clone()));
    }
    for (part, kind) in [(&c.kernel, ImageKind::Kernel), (&c.ramdisk, ImageKind::Ramdisk)] {
        if let Some(id) = part {
            match view.image(id) {
                Some(img) if img.kind == kind && img.visible_to(&c.owner) => {}
                _ => return Err(DecideError::ImageNotFound(id.clone())),
            }
        }
    }
    Ok(vec![(StreamId::image(&c.image), image_registered(c).into())])
}
