//! `decide(command, state) -> events`: every rule of the domain is applied
//! here or in the aggregate that owns it.

use crate::aggregate::StateView;
use crate::command::*;
use crate::error::DecideError;
use crate::event::*;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;

/// What a command decided: the events to append (each with its stream) and
/// what to tell the caller.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub events: Vec<(StreamId, Event)>,
    pub reply: Reply,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Done,
    /// RunInstances: the reservation; `replayed` when a client token matched
    /// an earlier call and nothing new was launched.
    Launched {
        reservation: ReservationId,
        instances: Vec<InstanceId>,
        replayed: bool,
    },
    /// TerminateInstances (and later Stop/Start): previous and current state.
    StateChanges(Vec<StateChange>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StateChange {
    pub instance: InstanceId,
    pub previous: InstanceState,
    pub current: InstanceState,
}

impl Decision {
    fn done(events: Vec<(StreamId, Event)>) -> Self {
        Decision { events, reply: Reply::Done }
    }
}

pub fn decide(command: &Command, view: &dyn StateView) -> Result<Decision, DecideError> {
    match command {
        Command::BootstrapCloud(c) => bootstrap(c, view),
        Command::AddCluster(c) => add_cluster(c, view).map(Decision::done),
        Command::RegisterNode(c) => register_node(c, view).map(Decision::done),
        Command::CreateAccount(c) => create_account(c, view).map(Decision::done),
        Command::CreateAccessKey(c) => create_access_key(c, view).map(Decision::done),
        Command::RegisterImage(c) => register_image(c, view).map(Decision::done),
        Command::RunInstances(c) => run_instances(c, view),
        Command::TerminateInstances(c) => terminate_instances(c, view),
        Command::ReportInstance(r) => report_instance(r, view).map(Decision::done),
    }
}

fn bootstrap(c: &BootstrapCloud, view: &dyn StateView) -> Result<Decision, DecideError> {
    if view.cloud().is_some() {
        return Err(DecideError::CloudAlreadyInitialized);
    }
    let mut events = vec![(
        StreamId::cloud(),
        CloudInitialized { region: c.region.clone(), vm_types: c.vm_types.clone(), at: c.at }.into(),
    )];
    // The streams below are empty in a cloud that was never initialized,
    // so each step's own checks pass; they are reused for their events.
    events.push((StreamId::cloud(), ClusterAdded { zone: c.cluster.zone.clone(), at: c.at }.into()));
    events.push((
        StreamId::cluster(&c.cluster.zone),
        ClusterRegistered { zone: c.cluster.zone.clone(), policy: c.cluster.policy, at: c.at }.into(),
    ));
    if c.node.zone != c.cluster.zone {
        return Err(DecideError::UnknownZone(c.node.zone.clone()));
    }
    events.push((StreamId::cluster(&c.node.zone), node_registered(&c.node).into()));
    events.extend(create_account(&c.admin, view)?);
    if c.admin_key.account != c.admin.account {
        return Err(DecideError::AccountNotFound(c.admin_key.account.clone()));
    }
    events.push((StreamId::account(&c.admin.account), access_key_created(&c.admin_key).into()));
    for image in &c.images {
        if view.image(&image.image).is_some() {
            return Err(DecideError::ImageExists(image.image.clone()));
        }
        events.push((StreamId::image(&image.image), image_registered(image).into()));
    }
    Ok(Decision::done(events))
}

fn add_cluster(c: &AddCluster, view: &dyn StateView) -> Result<Vec<(StreamId, Event)>, DecideError> {
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

fn register_node(c: &RegisterNode, view: &dyn StateView) -> Result<Vec<(StreamId, Event)>, DecideError> {
    let cluster = view.cluster(&c.zone).ok_or_else(|| DecideError::UnknownZone(c.zone.clone()))?;
    if cluster.nodes.contains_key(&c.node) {
        return Err(DecideError::NodeExists(c.node.clone()));
    }
    Ok(vec![(StreamId::cluster(&c.zone), node_registered(c).into())])
}

fn create_account(c: &CreateAccount, view: &dyn StateView) -> Result<Vec<(StreamId, Event)>, DecideError> {
    if view.account(&c.account).is_some() {
        return Err(DecideError::AccountExists(c.account.clone()));
    }
    Ok(vec![(
        StreamId::account(&c.account),
        AccountCreated { account: c.account.clone(), name: c.name.clone(), at: c.at }.into(),
    )])
}

fn access_key_created(c: &CreateAccessKey) -> AccessKeyCreated {
    AccessKeyCreated {
        account: c.account.clone(),
        user: c.user.clone(),
        access_key: c.access_key.clone(),
        secret: c.secret.clone(),
        at: c.at,
    }
}

fn create_access_key(
    c: &CreateAccessKey,
    view: &dyn StateView,
) -> Result<Vec<(StreamId, Event)>, DecideError> {
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if account.access_keys.contains_key(&c.access_key) {
        return Err(DecideError::AccessKeyExists(c.access_key.clone()));
    }
    Ok(vec![(StreamId::account(&c.account), access_key_created(c).into())])
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

fn register_image(c: &RegisterImage, view: &dyn StateView) -> Result<Vec<(StreamId, Event)>, DecideError> {
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

fn run_instances(c: &RunInstances, view: &dyn StateView) -> Result<Decision, DecideError> {
    if let Some(token) = &c.client_token
        && let Some(claimed) = view.client_token(&c.account, token)
    {
        if claimed.fingerprint != c.fingerprint() {
            return Err(DecideError::IdempotentParameterMismatch { token: token.clone() });
        }
        return Ok(Decision {
            events: Vec::new(),
            reply: Reply::Launched {
                reservation: claimed.reservation.clone(),
                instances: Vec::new(),
                replayed: true,
            },
        });
    }
    if c.min_count < 1 || c.min_count > c.max_count || c.instance_ids.len() < c.max_count as usize {
        return Err(DecideError::InvalidCount { min: c.min_count, max: c.max_count });
    }
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    let vm_type =
        cloud.vm_type(&c.vm_type).ok_or_else(|| DecideError::UnknownInstanceType(c.vm_type.clone()))?;
    let image = match view.image(&c.image) {
        Some(img) if img.visible_to(&c.account) => img,
        _ => return Err(DecideError::ImageNotFound(c.image.clone())),
    };
    if image.kind != ImageKind::Machine {
        return Err(DecideError::NotAMachineImage(c.image.clone()));
    }
    let cluster = view.cluster(&c.zone).ok_or_else(|| DecideError::UnknownZone(c.zone.clone()))?;
    let amount = Resources::of(vm_type);
    let nodes = cluster.place(&amount, c.max_count as usize);
    if nodes.len() < c.min_count as usize {
        return Err(DecideError::InsufficientCapacity {
            zone: c.zone.clone(),
            vm_type: vm_type.name.clone(),
            requested: c.min_count,
            available: nodes.len() as u32,
        });
    }
    let launched: Vec<InstanceId> = c.instance_ids[..nodes.len()].to_vec();
    for id in &launched {
        if view.instance(id).is_some() {
            // Ids come fresh from the caller; a clash is a caller bug.
            return Err(DecideError::IdInUse(id.to_string()));
        }
    }
    let mut events = Vec::with_capacity(2 + launched.len() * 3);
    if let Some(token) = &c.client_token {
        events.push((
            StreamId::client_token(&c.account, token),
            ClientTokenClaimed {
                account: c.account.clone(),
                token: token.clone(),
                reservation: c.reservation.clone(),
                fingerprint: c.fingerprint(),
            }
            .into(),
        ));
    }
    events.push((
        StreamId::reservation(&c.reservation),
        ReservationCreated {
            reservation: c.reservation.clone(),
            account: c.account.clone(),
            requester: c.requester.clone(),
            instances: launched.clone(),
            at: c.at,
        }
        .into(),
    ));
    for (index, (id, node)) in launched.iter().zip(nodes).enumerate() {
        let stream = StreamId::instance(id);
        events.push((
            stream.clone(),
            InstanceRequested {
                instance: id.clone(),
                reservation: c.reservation.clone(),
                account: c.account.clone(),
                image: c.image.clone(),
                kernel: image.kernel.clone(),
                ramdisk: image.ramdisk.clone(),
                vm_type: vm_type.clone(),
                launch_index: index as u32,
                user_data: c.user_data.clone(),
                client_token: c.client_token.clone(),
                at: c.at,
            }
            .into(),
        ));
        events.push((stream, InstancePlaced { node: node.clone(), zone: c.zone.clone(), at: c.at }.into()));
        events.push((
            StreamId::cluster(&c.zone),
            CapacityReserved { node, instance: id.clone(), amount }.into(),
        ));
    }
    Ok(Decision {
        events,
        reply: Reply::Launched { reservation: c.reservation.clone(), instances: launched, replayed: false },
    })
}

fn terminate_instances(c: &TerminateInstances, view: &dyn StateView) -> Result<Decision, DecideError> {
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for id in &c.instances {
        match view.instance(id) {
            Some(i) if i.account == c.account => found.push(i),
            _ => missing.push(id.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(DecideError::InstanceNotFound(missing));
    }
    let mut events = Vec::new();
    let mut changes = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for instance in found {
        if !seen.insert(&instance.id) {
            continue;
        }
        let current = match instance.request_termination(c.at) {
            Some(event) => {
                events.push((StreamId::instance(&instance.id), event));
                InstanceState::ShuttingDown
            }
            None => instance.state,
        };
        changes.push(StateChange { instance: instance.id.clone(), previous: instance.state, current });
    }
    Ok(Decision { events, reply: Reply::StateChanges(changes) })
}

fn report_instance(r: &NodeReport, view: &dyn StateView) -> Result<Vec<(StreamId, Event)>, DecideError> {
    let instance =
        view.instance(&r.instance).ok_or_else(|| DecideError::InstanceNotFound(vec![r.instance.clone()]))?;
    let event = match &r.outcome {
        NodeOutcome::Running => instance.report_running(&r.node, r.at)?,
        NodeOutcome::Terminated => instance.report_terminated(&r.node, r.at)?,
        NodeOutcome::LaunchFailed(detail) => instance.report_launch_failed(&r.node, detail, r.at)?,
    };
    let Some(event) = event else {
        return Ok(Vec::new());
    };
    let ends = matches!(event, Event::InstanceTerminated(_) | Event::InstanceLaunchFailed(_));
    let mut events = vec![(StreamId::instance(&r.instance), event)];
    if ends {
        if instance.zone.as_ref() != Some(&r.zone) || view.cluster(&r.zone).is_none() {
            return Err(DecideError::UnknownZone(r.zone.clone()));
        }
        events.push((
            StreamId::cluster(&r.zone),
            CapacityReleased { node: r.node.clone(), instance: r.instance.clone() }.into(),
        ));
    }
    Ok(events)
}
