//! Setting a cloud up: bootstrap, clusters, nodes, accounts, users, keys
//! and images.

use super::keys_and_groups::new_group_events;
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

pub(super) fn set_vm_type(c: &SetVmType, view: &dyn StateView) -> Result<Events, DecideError> {
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    let t = &c.vm_type;
    let sane =
        !t.name.is_empty() && t.name.len() <= 32 && t.cpus >= 1 && t.memory_mib >= 64 && t.disk_gib >= 1;
    if !sane {
        return Err(DecideError::InvalidVmType(t.name.clone()));
    }
    if cloud.vm_type(&t.name) == Some(t) {
        return Ok(Vec::new());
    }
    Ok(vec![(StreamId::cloud(), VmTypeSet { vm_type: t.clone(), at: c.at }.into())])
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

/// Records a node going silent or being heard again; nothing when it is
/// already in that state (heartbeats themselves are never recorded).
pub(super) fn mark_node(c: &MarkNode, view: &dyn StateView) -> Result<Events, DecideError> {
    let cluster = view.cluster(&c.zone).ok_or_else(|| DecideError::UnknownZone(c.zone.clone()))?;
    let node = cluster.nodes.get(&c.node).ok_or_else(|| DecideError::UnknownNode(c.node.clone()))?;
    if node.reachable == c.reachable {
        return Ok(Vec::new());
    }
    let stream = StreamId::cluster(&c.zone);
    Ok(vec![if c.reachable {
        (stream, NodeReachable { node: c.node.clone(), at: c.at }.into())
    } else {
        (stream, NodeUnreachable { node: c.node.clone(), last_heartbeat: c.last_heartbeat, at: c.at }.into())
    }])
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

pub(super) fn change_access_key(c: &ChangeAccessKey, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.access_keys.get(&c.access_key) != Some(&c.user) {
        return Err(DecideError::AccessKeyNotFound(c.access_key.clone()));
    }
    let stream = StreamId::account(&c.account);
    Ok(match c.active {
        None => vec![(stream, AccessKeyDeleted { access_key: c.access_key.clone(), at: c.at }.into())],
        Some(active) if active != account.inactive_keys.contains(&c.access_key) => Vec::new(),
        Some(active) => {
            vec![(
                stream,
                AccessKeyStatusChanged { access_key: c.access_key.clone(), active, at: c.at }.into(),
            )]
        }
    })
}

pub(super) fn delete_user(c: &DeleteUser, view: &dyn StateView) -> Result<Events, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if !account.users.contains(&c.user) {
        return Err(DecideError::UserNotFound(c.user.clone()));
    }
    if c.user == UserName::admin() {
        return Err(DecideError::UserInUse(c.user.clone()));
    }
    // Like IAM: its keys and its login profile go first.
    if account.access_keys.values().any(|u| u == &c.user) || account.login_profiles.has(&c.user) {
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
