//! RunInstances' block device mappings: the volumes made with each instance
//! it launches (capacity reserved and the device names claimed in the same
//! decision, so a refused launch changes nothing), attached once both the
//! volume is created and the instance runs, and what becomes of them when
//! the instance ends first. Also DeleteOnTermination changed on an
//! instance's volumes (ModifyInstanceAttribute).

use super::commands::{device_letter, is_root_device, new_volume_size};
use super::events::*;
use super::state::*;
use crate::aggregate::{StateView, need};
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::instances::{Instance, InstanceState};
use crate::model::*;
use crate::stream::StreamId;

/// One `BlockDeviceMapping.N` of RunInstances with an `Ebs` volume.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockDevice {
    pub device: String,
    /// GiB; `None`: the snapshot's size.
    pub size_gib: Option<u32>,
    pub snapshot: Option<SnapshotId>,
    pub volume_type: String,
    pub delete_on_termination: bool,
}

/// The fresh id of a volume made at launch and its attachment's grant (a
/// random initiator name, sealed by the caller).
#[derive(Clone, Debug, PartialEq)]
pub struct LaunchVolume {
    pub volume: VolumeId,
    pub grant: SealedSecret,
}

/// The image a launch is from, as its block devices see it: its root
/// device, and its owner, who may restore the snapshots it maps (a user
/// the image is shared with launches it without a permission on its
/// snapshots, as on EC2).
pub(crate) struct LaunchImage<'a> {
    pub root_device: Option<&'a str>,
    pub owner: &'a AccountId,
    pub snapshots: Vec<&'a SnapshotId>,
}

/// Checks the mappings of a launch of `count` instances in `zone`: device
/// names (one per guest disk letter), each volume as CreateVolume would,
/// and the zone's storage for all of them. Returns each mapping's size.
pub(crate) fn check_block_devices(
    view: &dyn StateView,
    account: &AccountId,
    zone: &ZoneName,
    devices: &[BlockDevice],
    image: &LaunchImage<'_>,
    count: usize,
) -> Result<Vec<u32>, DecideError> {
    let root_device = image.root_device;
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    need(view, [StreamId::storage(zone)])?;
    let mut letters = Vec::new();
    let mut sizes = Vec::new();
    for d in devices {
        let root = (root_device == Some(d.device.as_str())).then_some('a');
        let letter = root.or_else(|| device_letter(&d.device)).ok_or_else(|| {
            DecideError::InvalidBlockDeviceMapping(format!(
                "device name {} cannot take a volume: use /dev/sdb to /dev/sdz (or /dev/xvdb…); the root \
                 device is the image's",
                d.device
            ))
        })?;
        if letters.contains(&letter) {
            return Err(DecideError::InvalidBlockDeviceMapping(format!(
                "device {} is mapped more than once",
                d.device
            )));
        }
        letters.push(letter);
        if d.size_gib.is_none() && d.snapshot.is_none() {
            return Err(DecideError::InvalidBlockDeviceMapping(format!(
                "device {}: a volume size or a snapshot id is required",
                d.device
            )));
        }
        let restorer = match &d.snapshot {
            Some(snapshot) if image.snapshots.contains(&snapshot) => image.owner,
            _ => account,
        };
        sizes.push(new_volume_size(view, restorer, zone, d.size_gib, d.snapshot.as_ref(), &d.volume_type)?);
    }
    let total = sizes.iter().map(|s| u64::from(*s)).sum::<u64>() * count as u64;
    let free = view.storage(zone).map_or(0, Storage::free_gib);
    if free < total {
        return Err(DecideError::InsufficientVolumeCapacity {
            zone: zone.clone(),
            requested: u32::try_from(total).unwrap_or(u32::MAX),
            free,
        });
    }
    Ok(sizes)
}

/// The volumes of one launched instance: each reserved, requested and
/// planned to attach to it, its device claimed by the instance (after the
/// instance's stream is made). `volumes` holds one fresh id per mapping.
#[allow(clippy::too_many_arguments)]
pub(crate) fn launch_volumes(
    view: &dyn StateView,
    account: &AccountId,
    zone: &ZoneName,
    instance: &InstanceId,
    devices: &[BlockDevice],
    sizes: &[u32],
    volumes: &[LaunchVolume],
    tags: &[crate::tags::Tag],
    at: Timestamp,
) -> Result<Events, DecideError> {
    let mut events = Events::new();
    for ((d, size), v) in devices.iter().zip(sizes).zip(volumes) {
        if view.volume(&v.volume).is_some() {
            return Err(DecideError::IdInUse(v.volume.to_string()));
        }
        let stream = StreamId::volume(&v.volume);
        events
            .push((StreamId::storage(zone), StorageReserved { volume: v.volume.clone(), gib: *size }.into()));
        events.push((
            stream.clone(),
            VolumeRequested {
                volume: v.volume.clone(),
                account: account.clone(),
                zone: zone.clone(),
                size_gib: *size,
                volume_type: d.volume_type.clone(),
                snapshot: d.snapshot.clone(),
                at,
            }
            .into(),
        ));
        if !tags.is_empty() {
            let tagged = crate::tags::Tags::default().create(v.volume.as_str(), tags, at)?;
            events.push((stream.clone(), tagged));
        }
        events.push((
            stream,
            VolumeAttachmentPlanned {
                instance: instance.clone(),
                device: d.device.clone(),
                grant: v.grant.clone(),
                delete_on_termination: d.delete_on_termination,
                at,
            }
            .into(),
        ));
        events.push((
            StreamId::instance(instance),
            InstanceDeviceClaimed { device: d.device.clone(), volume: v.volume.clone(), at }.into(),
        ));
    }
    Ok(events)
}

/// The attachment planned for `volume`, made now.
fn attach_planned_one(volume: &VolumeId, p: &PlannedAttachment, at: Timestamp) -> (StreamId, crate::Event) {
    (
        StreamId::volume(volume),
        VolumeAttachRequested {
            instance: p.instance.clone(),
            device: p.device.clone(),
            grant: p.grant.clone(),
            delete_on_termination: p.delete_on_termination,
            at,
        }
        .into(),
    )
}

/// The instance runs: each of its planned volumes already created is
/// attached. Needs the volumes' streams.
pub(crate) fn attach_planned(
    view: &dyn StateView,
    instance: &Instance,
    at: Timestamp,
) -> Result<Events, DecideError> {
    need(view, instance.volumes.values().map(StreamId::volume))?;
    let mut events = Events::new();
    for id in instance.volumes.values() {
        let Some(volume) = view.volume(id) else { continue };
        if let Some(p) = volume.planned.as_ref().filter(|p| p.instance == instance.id)
            && volume.state == VolumeState::Available
            && volume.attachment.is_none()
        {
            events.push(attach_planned_one(id, p, at));
        }
    }
    Ok(events)
}

/// The planned attachment is given up, its instance having ended: the
/// device is free, and the volume is deleted if it was to go with the
/// instance, else it is the account's to use.
fn end_plan(volume: &VolumeId, p: &PlannedAttachment, instance: Option<&Instance>, at: Timestamp) -> Events {
    let mut events: Events = Vec::new();
    if instance.is_some_and(|i| i.volumes.get(&p.device) == Some(volume)) {
        events.push((
            StreamId::instance(&p.instance),
            InstanceDeviceReleased { device: p.device.clone(), volume: volume.clone(), at }.into(),
        ));
    }
    events.push((StreamId::volume(volume), VolumeAttachmentCancelled { at }.into()));
    if p.delete_on_termination {
        events.push((StreamId::volume(volume), VolumeDeleteRequested { at }.into()));
    }
    events
}

/// The instance ends (`release_all`): each planned volume already made
/// (available, or failed) goes as [`end_plan`] says. One still being made
/// waits for the storage controller's report, which finds the instance
/// ended ([`after_creation`]).
pub(crate) fn end_planned(view: &dyn StateView, instance: &Instance, at: Timestamp) -> Events {
    let mut events = Events::new();
    for id in instance.volumes.values() {
        let Some(volume) = view.volume(id) else { continue };
        if let Some(p) = volume.planned.as_ref().filter(|p| p.instance == instance.id)
            && volume.attachment.is_none()
            && volume.state != VolumeState::Creating
        {
            events.extend(end_plan(id, p, Some(instance), at));
        }
    }
    events
}

/// After a planned volume's creation ended (made, or failed with
/// `failure`): attached if it was made and its instance runs (or, for the
/// root device, whatever the instance's state: its guest cannot start
/// without it), given up if the instance has ended, else nothing yet. A
/// root volume that could not be made fails its instance's launch. Needs
/// the instance's stream.
pub(crate) fn after_creation(
    view: &dyn StateView,
    volume: &Volume,
    failure: Option<&str>,
    at: Timestamp,
) -> Result<Events, DecideError> {
    let Some(p) = &volume.planned else { return Ok(Vec::new()) };
    need(view, [StreamId::instance(&p.instance)])?;
    let instance = view.instance(&p.instance);
    let root = is_root_device(&p.device);
    match (instance, failure) {
        (None, _) => Ok(end_plan(&volume.id, p, None, at)),
        (Some(i), _) if i.state == InstanceState::Terminated => Ok(end_plan(&volume.id, p, instance, at)),
        (Some(i), None) if i.state == InstanceState::Running || root => {
            Ok(vec![attach_planned_one(&volume.id, p, at)])
        }
        (Some(i), Some(why)) if root && i.state == InstanceState::Pending => {
            let mut events =
                launch_without_root(view, i, &format!("could not be made: {why}"), &volume.id, at)?;
            if !events.is_empty() {
                events.extend(end_plan(&volume.id, p, instance, at));
            }
            Ok(events)
        }
        (Some(_), _) => Ok(Vec::new()),
    }
}

/// A pending instance whose root volume `volume` cannot be had (`what`
/// happened to it) fails its launch: its guest cannot start without it.
/// Nothing for an instance not pending or not placed.
fn launch_without_root(
    view: &dyn StateView,
    instance: &Instance,
    what: &str,
    volume: &VolumeId,
    at: Timestamp,
) -> Result<Events, DecideError> {
    let Some(node) = instance.node.as_ref().filter(|_| instance.state == InstanceState::Pending) else {
        return Ok(Vec::new());
    };
    let detail = format!("the root volume {volume} {what}");
    let mut events: Events = instance
        .report_launch_failed(node, &detail, at)?
        .into_iter()
        .map(|e| (StreamId::instance(&instance.id), e))
        .collect();
    events.extend(crate::instances::release_all(view, instance, at)?);
    Ok(events)
}

/// A root volume's attachment failed (past its deadline): a pending
/// instance waiting for it fails its launch. Needs the instance's stream.
pub(crate) fn after_root_attach_failed(
    view: &dyn StateView,
    volume: &Volume,
    why: &str,
    at: Timestamp,
) -> Result<Events, DecideError> {
    let Some(a) = volume.attachment.as_ref().filter(|a| is_root_device(&a.device)) else {
        return Ok(Vec::new());
    };
    need(view, [StreamId::instance(&a.instance)])?;
    match view.instance(&a.instance) {
        Some(i) => launch_without_root(view, i, &format!("could not be attached: {why}"), &volume.id, at),
        None => Ok(Vec::new()),
    }
}

/// ModifyInstanceAttribute `BlockDeviceMapping.N`: DeleteOnTermination of
/// the volume on each device (attached, or planned at launch). A device
/// is named as attached, or by any name of the same guest disk
/// (`/dev/xvdf` for `/dev/sdf`).
pub(crate) fn set_delete_on_termination(
    view: &dyn StateView,
    instance: &Instance,
    changes: &[(String, bool)],
    at: Timestamp,
) -> Result<Events, DecideError> {
    if instance.state == InstanceState::Terminated {
        return Err(DecideError::IncorrectInstanceState {
            instance: instance.id.clone(),
            state: instance.state,
            action: "be modified",
        });
    }
    let not_mapped = |device: &str| DecideError::DeviceNotMapped {
        instance: instance.id.clone(),
        device: device.to_owned(),
    };
    let mut targets = Vec::new();
    for (device, flag) in changes {
        let volume = instance.volumes.get(device).or_else(|| {
            let letter = device_letter(device)?;
            instance.volumes.iter().find(|(d, _)| device_letter(d) == Some(letter)).map(|(_, v)| v)
        });
        targets.push((volume.ok_or_else(|| not_mapped(device))?, device, *flag));
    }
    need(view, targets.iter().map(|(v, _, _)| StreamId::volume(v)))?;
    let mut events = Events::new();
    for (id, device, flag) in targets {
        let volume = view.volume(id).ok_or_else(|| not_mapped(device))?;
        let current = match (&volume.attachment, &volume.planned) {
            (Some(a), _) if a.instance == instance.id => a.delete_on_termination,
            (None, Some(p)) if p.instance == instance.id => p.delete_on_termination,
            _ => return Err(not_mapped(device)),
        };
        let already = events.iter().any(|(s, _)| s == &StreamId::volume(id));
        if current != flag && !already {
            events.push((
                StreamId::volume(id),
                VolumeDeleteOnTerminationSet { delete_on_termination: flag, at }.into(),
            ));
        }
    }
    Ok(events)
}
