//! RunInstances: the checks, the zone (asked for, or the one with most
//! room), placement by the cluster, addresses from the network, the
//! reservation, the client token, group memberships, tags and the volumes
//! of block device mappings, in one decision.

use super::events::*;
use super::state::ShutdownBehavior;
use crate::addresses::{AddressHolder, PrivateAddressTaken, PublicAddressTaken};
use crate::aggregate::{StateView, need};
use crate::clusters::{CapacityReserved, Cluster, Resources};
use crate::decide::{Decision, Events, Reply};
use crate::error::DecideError;
use crate::ids::*;
use crate::images::{ImageKind, launch_block_devices};
use crate::model::*;
use crate::reservations::{ClientTokenClaimed, ReservationCreated};
use crate::security_groups::{GroupRef, SecurityGroupMemberAdded, resolve_group};
use crate::stream::StreamId;
use crate::tags::{Tag, TagsCreated};
use crate::volumes::{BlockDevice, LaunchImage, LaunchVolume, check_block_devices, launch_volumes};

#[derive(Clone, Debug, PartialEq)]
pub struct RunInstances {
    pub account: AccountId,
    pub requester: UserName,
    pub reservation: ReservationId,
    /// Fresh ids, at least `max_count` of them; the first `n` launched use them.
    pub instance_ids: Vec<InstanceId>,
    pub image: ImageId,
    pub vm_type: String,
    pub min_count: u32,
    pub max_count: u32,
    /// None: the zone with the most free CPUs, as the domain decides.
    pub zone: Option<ZoneName>,
    pub user_data: Vec<u8>,
    pub client_token: Option<String>,
    pub key_name: Option<String>,
    /// Empty: the account's `default` group.
    pub groups: Vec<GroupRef>,
    pub shutdown_behavior: ShutdownBehavior,
    pub disable_api_termination: bool,
    pub tags: Vec<Tag>,
    /// A kernel and a ramdisk instead of the image's (euca-run-instances
    /// --kernel/--ramdisk, EC2's KernelId/RamdiskId).
    pub kernel: Option<ImageId>,
    pub ramdisk: Option<ImageId>,
    /// TagSpecification's tags for the volumes the launch makes.
    pub volume_tags: Vec<Tag>,
    /// `BlockDeviceMapping.N` with an EBS volume: one new volume per
    /// mapping for each instance launched.
    pub block_devices: Vec<BlockDevice>,
    /// Fresh volume ids and sealed grants, at least `max_count` ×
    /// `block_devices.len()`: instance `i`'s mapping `j` uses
    /// `volumes[i * block_devices.len() + j]`.
    pub volumes: Vec<LaunchVolume>,
    pub at: Timestamp,
}

impl RunInstances {
    pub fn streams(&self) -> Vec<StreamId> {
        let mut s = vec![
            StreamId::cloud(),
            StreamId::image(&self.image),
            StreamId::network(),
            StreamId::account(&self.account),
            StreamId::reservation(&self.reservation),
        ];
        s.extend(self.kernel.iter().chain(&self.ramdisk).map(StreamId::image));
        s.extend(self.zone.iter().map(StreamId::cluster));
        if let Some(token) = &self.client_token {
            s.push(StreamId::client_token(&self.account, token));
        }
        s.extend(self.instance_ids.iter().map(StreamId::instance));
        if !self.volumes.is_empty() {
            s.extend(self.zone.iter().map(StreamId::storage));
            s.extend(self.block_devices.iter().filter_map(|d| d.snapshot.as_ref()).map(StreamId::snapshot));
            s.extend(self.volumes.iter().map(|v| StreamId::volume(&v.volume)));
        }
        s
    }

    /// One instance of `vm_type` from `image`, asked for by the account's
    /// admin, with nothing optional: no user data, token, key, tags, the
    /// default group, stop on shutdown (for tools, tests and benchmarks).
    #[allow(clippy::too_many_arguments)]
    pub fn one(
        account: AccountId,
        reservation: ReservationId,
        instance: InstanceId,
        image: ImageId,
        vm_type: &str,
        zone: ZoneName,
        at: Timestamp,
    ) -> RunInstances {
        RunInstances {
            account,
            requester: UserName::admin(),
            reservation,
            instance_ids: vec![instance],
            image,
            vm_type: vm_type.to_owned(),
            min_count: 1,
            max_count: 1,
            zone: Some(zone),
            user_data: Vec::new(),
            client_token: None,
            key_name: None,
            groups: Vec::new(),
            shutdown_behavior: ShutdownBehavior::Stop,
            disable_api_termination: false,
            tags: Vec::new(),
            kernel: None,
            ramdisk: None,
            volume_tags: Vec::new(),
            block_devices: Vec::new(),
            volumes: Vec::new(),
            at,
        }
    }
}

/// The kernel (or ramdisk) a launch boots: the one asked for, which must be
/// an image of that kind the account may use, or else the image's own.
fn boot_image(
    view: &dyn StateView,
    account: &AccountId,
    asked: Option<&ImageId>,
    kind: ImageKind,
    image_default: &Option<ImageId>,
) -> Result<Option<ImageId>, DecideError> {
    let Some(id) = asked else { return Ok(image_default.clone()) };
    match view.image(id) {
        Some(found) if found.visible_to(account) && found.kind == kind => Ok(Some(id.clone())),
        Some(found) if found.visible_to(account) => Err(DecideError::WrongImageKind {
            image: id.clone(),
            expected: if kind == ImageKind::Kernel { "kernel" } else { "ramdisk" },
        }),
        _ => Err(DecideError::ImageNotFound(id.clone())),
    }
}

/// The zone asked for, or else the zone of the snapshots its volumes are
/// restored from (snapshots are restored in their own zone), or else the
/// one whose reachable nodes have the most free CPUs (ties: the first by
/// name), as the clusters' own streams say.
fn launch_zone(
    c: &RunInstances,
    view: &dyn StateView,
    devices: &[BlockDevice],
) -> Result<ZoneName, DecideError> {
    if let Some(zone) = &c.zone {
        return Ok(zone.clone());
    }
    need(view, devices.iter().filter_map(|d| d.snapshot.as_ref()).map(StreamId::snapshot))?;
    let snapshot_zone = devices
        .iter()
        .filter_map(|d| d.snapshot.as_ref())
        .find_map(|id| view.snapshot(id).filter(|s| s.account == c.account).map(|s| s.zone.clone()));
    if let Some(zone) = snapshot_zone {
        need(view, [StreamId::cluster(&zone)])?;
        return Ok(zone);
    }
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    need(view, cloud.zones.iter().map(StreamId::cluster))?;
    let free_cpus = |cluster: &Cluster| -> u64 {
        cluster.nodes.values().filter(|n| n.reachable).map(|n| u64::from(n.free().cpus)).sum()
    };
    cloud
        .zones
        .iter()
        .filter_map(|zone| view.cluster(zone))
        .max_by_key(|cluster| (free_cpus(cluster), std::cmp::Reverse(&cluster.zone)))
        .map(|cluster| cluster.zone.clone())
        .ok_or(DecideError::NoZoneAvailable)
}

pub(crate) fn run_instances(c: &RunInstances, view: &dyn StateView) -> Result<Decision, DecideError> {
    if let Some(token) = &c.client_token
        && let Some(claimed) = view.client_token(&c.account, token)
    {
        if !c.asks_again(&claimed.fingerprint, || launch_zone(c, view, &c.block_devices))? {
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
    let image = match view.image(&c.image) {
        Some(img) if img.visible_to(&c.account) => img,
        _ => return Err(DecideError::ImageNotFound(c.image.clone())),
    };
    if image.kind != ImageKind::Machine {
        return Err(DecideError::NotAMachineImage(c.image.clone()));
    }
    let kernel = boot_image(view, &c.account, c.kernel.as_ref(), ImageKind::Kernel, &image.kernel)?;
    let ramdisk = boot_image(view, &c.account, c.ramdisk.as_ref(), ImageKind::Ramdisk, &image.ramdisk)?;
    // An EBS-backed image's devices (its root first), with the request's.
    let devices = launch_block_devices(image.ebs.as_ref(), &c.block_devices);
    let root_device = image.ebs.as_ref().map(|e| e.root_device.as_str());
    let per_instance = devices.len();
    if c.volumes.len() < c.max_count as usize * per_instance {
        return Err(DecideError::InvalidBlockDeviceMapping(format!(
            "{} volume ids for {} instances of {per_instance} volumes",
            c.volumes.len(),
            c.max_count
        )));
    }
    let zone = launch_zone(c, view, &devices)?;
    let vm_type =
        cloud.vm_type(&c.vm_type).ok_or_else(|| DecideError::UnknownInstanceType(c.vm_type.clone()))?;
    let account = view.account(&c.account).ok_or_else(|| DecideError::AccountNotFound(c.account.clone()))?;
    if let Some(key) = &c.key_name
        && !account.key_pairs.contains_key(key)
    {
        return Err(DecideError::KeyPairNotFound(key.clone()));
    }
    let default = [GroupRef::Name("default".into())];
    let refs = if c.groups.is_empty() { &default[..] } else { &c.groups[..] };
    let mut groups = Vec::new();
    for g in refs {
        let id = resolve_group(view, &c.account, g)?;
        if !groups.contains(&id) {
            groups.push(id);
        }
    }
    need(view, groups.iter().map(StreamId::security_group))?;
    let cluster = view.cluster(&zone).ok_or_else(|| DecideError::UnknownZone(zone.clone()))?;
    let network = view.network().ok_or(DecideError::CloudNotInitialized)?;
    let amount = Resources::of(vm_type);
    let mut nodes = cluster.place(&amount, c.max_count as usize);
    if nodes.len() < c.min_count as usize {
        return Err(DecideError::InsufficientCapacity {
            zone: zone.clone(),
            vm_type: vm_type.name.to_string(),
            requested: c.min_count,
            available: nodes.len() as u32,
        });
    }
    let private = network.free_private(nodes.len());
    if private.len() < c.min_count as usize {
        return Err(DecideError::PrivateAddressesExhausted);
    }
    nodes.truncate(private.len());
    let public = network.free_public(nodes.len());
    let launched: Vec<InstanceId> = c.instance_ids[..nodes.len()].to_vec();
    need(view, devices.iter().filter_map(|d| d.snapshot.as_ref()).map(StreamId::snapshot))?;
    need(view, c.volumes[..launched.len() * per_instance].iter().map(|v| StreamId::volume(&v.volume)))?;
    let from_image = LaunchImage {
        root_device,
        owner: &image.owner,
        snapshots: image
            .ebs
            .iter()
            .flat_map(|e| e.devices.iter().filter_map(|d| d.snapshot.as_ref()))
            .collect(),
    };
    let sizes = check_block_devices(view, &c.account, &zone, &devices, &from_image, launched.len())?;
    for id in &launched {
        if view.instance(id).is_some() {
            return Err(DecideError::IdInUse(id.to_string()));
        }
    }
    let mut events: Events = Vec::with_capacity(2 + launched.len() * (7 + groups.len()));
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
        let private_address = private[index].clone();
        let public_address = public.get(index).cloned();
        events.push((
            stream.clone(),
            InstanceRequested {
                instance: id.clone(),
                reservation: c.reservation.clone(),
                account: c.account.clone(),
                image: c.image.clone(),
                kernel: kernel.clone(),
                ramdisk: ramdisk.clone(),
                vm_type: vm_type.clone(),
                launch_index: index as u32,
                user_data: c.user_data.clone(),
                client_token: c.client_token.clone(),
                key_name: c.key_name.clone(),
                security_groups: groups.clone(),
                shutdown_behavior: c.shutdown_behavior,
                disable_api_termination: c.disable_api_termination,
                at: c.at,
            }
            .into(),
        ));
        events.push((
            stream.clone(),
            InstancePlaced { node: node.clone(), zone: zone.clone(), at: c.at }.into(),
        ));
        events
            .push((StreamId::cluster(&zone), CapacityReserved { node, instance: id.clone(), amount }.into()));
        events.push((
            StreamId::network(),
            PrivateAddressTaken { address: private_address.clone(), instance: id.clone() }.into(),
        ));
        if let Some(address) = &public_address {
            events.push((
                StreamId::network(),
                PublicAddressTaken { address: address.clone(), holder: AddressHolder::Instance(id.clone()) }
                    .into(),
            ));
        }
        events.push((stream.clone(), InstanceAddressed { private_address, public_address }.into()));
        for g in &groups {
            events.push((
                StreamId::security_group(g),
                SecurityGroupMemberAdded { instance: id.clone() }.into(),
            ));
        }
        if !c.tags.is_empty() {
            events.push((
                stream,
                TagsCreated { resource: id.to_string(), tags: c.tags.clone(), at: c.at }.into(),
            ));
        }
        let volumes = &c.volumes[index * per_instance..(index + 1) * per_instance];
        events.extend(launch_volumes(
            view,
            &c.account,
            &zone,
            id,
            &devices,
            &sizes,
            volumes,
            &c.volume_tags,
            c.at,
        )?);
    }
    Ok(Decision {
        events,
        reply: Reply::Launched { reservation: c.reservation.clone(), instances: launched, replayed: false },
    })
}
