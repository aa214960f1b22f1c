//! CreateVolume, DeleteVolume, AttachVolume and DetachVolume, decided by the
//! volume's stream (with the zone's storage, the snapshot restored from and
//! the instance it is attached to); and the zone's storage capacity.

use super::MAX_VOLUME_GIB;
use super::events::*;
use super::state::*;
use crate::aggregate::StateView;
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::instances::InstanceState;
use crate::model::*;
use crate::stream::StreamId;
use crate::tags::{Tag, Tags};

/// The zone's block storage offers `capacity_gib` (made at the first, set
/// again when it changes; nothing when it is as asked).
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigureStorage {
    pub zone: ZoneName,
    pub capacity_gib: u64,
    pub at: Timestamp,
}

/// `yukari storage` joins the zone with a key of its own (sealed by the
/// caller).
#[derive(Clone, Debug, PartialEq)]
pub struct RegisterStorageController {
    pub zone: ZoneName,
    pub host: String,
    pub access_key: AccessKeyId,
    pub secret: SealedSecret,
    pub at: Timestamp,
}

impl RegisterStorageController {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::storage(&self.zone), StreamId::cloud()]
    }
}

pub(crate) fn register_storage_controller(
    c: &RegisterStorageController,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    if !cloud.has_zone(&c.zone) {
        return Err(DecideError::UnknownZone(c.zone.clone()));
    }
    let stream = StreamId::storage(&c.zone);
    let mut events = Vec::new();
    if view.storage(&c.zone).is_none() {
        // No block storage yet: none offered until the controller says.
        events.push((
            stream.clone(),
            StorageConfigured { zone: c.zone.clone(), capacity_gib: 0, at: c.at }.into(),
        ));
    }
    events.push((
        stream,
        StorageControllerRegistered {
            host: c.host.clone(),
            access_key: c.access_key.clone(),
            secret: c.secret.clone(),
            at: c.at,
        }
        .into(),
    ));
    Ok(events)
}

#[derive(Clone, Debug, PartialEq)]
pub struct CreateVolume {
    pub account: AccountId,
    pub volume: VolumeId,
    pub zone: ZoneName,
    /// GiB; `None`: the snapshot's size.
    pub size_gib: Option<u32>,
    pub snapshot: Option<SnapshotId>,
    pub volume_type: String,
    /// TagSpecification's tags, made with the volume.
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteVolume {
    pub account: AccountId,
    pub volume: VolumeId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttachVolume {
    pub account: AccountId,
    pub volume: VolumeId,
    pub instance: InstanceId,
    pub device: String,
    /// The attachment's iSCSI initiator name, made and sealed by the
    /// caller (random, so no other attachment can guess it).
    pub grant: SealedSecret,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DetachVolume {
    pub account: AccountId,
    pub volume: VolumeId,
    /// When given, the volume must be attached to it (and on `device`).
    pub instance: Option<InstanceId>,
    pub device: Option<String>,
    pub force: bool,
    pub at: Timestamp,
}

impl ConfigureStorage {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::storage(&self.zone), StreamId::cloud()]
    }
}

impl CreateVolume {
    pub fn streams(&self) -> Vec<StreamId> {
        let mut streams =
            vec![StreamId::volume(&self.volume), StreamId::storage(&self.zone), StreamId::cloud()];
        streams.extend(self.snapshot.iter().map(StreamId::snapshot));
        streams
    }
}

impl DeleteVolume {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::volume(&self.volume)]
    }
}

impl AttachVolume {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::volume(&self.volume), StreamId::instance(&self.instance)]
    }
}

impl DetachVolume {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::volume(&self.volume)]
    }
}

pub(crate) fn configure_storage(c: &ConfigureStorage, view: &dyn StateView) -> Result<Events, DecideError> {
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    if !cloud.has_zone(&c.zone) {
        return Err(DecideError::UnknownZone(c.zone.clone()));
    }
    let stream = StreamId::storage(&c.zone);
    Ok(match view.storage(&c.zone) {
        None => vec![(
            stream,
            StorageConfigured { zone: c.zone.clone(), capacity_gib: c.capacity_gib, at: c.at }.into(),
        )],
        Some(s) if s.capacity_gib == c.capacity_gib => Vec::new(),
        Some(_) => vec![(stream, StorageCapacitySet { capacity_gib: c.capacity_gib, at: c.at }.into())],
    })
}

/// The caller's volume, not deleted.
pub(crate) fn own_volume<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    volume: &VolumeId,
) -> Result<&'v Volume, DecideError> {
    match view.volume(volume) {
        Some(v) if &v.account == account && !v.is_deleted() => Ok(v),
        _ => Err(DecideError::VolumeNotFound(volume.clone())),
    }
}

pub(crate) fn create_volume(c: &CreateVolume, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.volume(&c.volume).is_some() {
        return Err(DecideError::IdInUse(c.volume.to_string()));
    }
    let cloud = view.cloud().ok_or(DecideError::CloudNotInitialized)?;
    if !cloud.has_zone(&c.zone) {
        return Err(DecideError::UnknownZone(c.zone.clone()));
    }
    let size = new_volume_size(view, &c.account, &c.zone, c.size_gib, c.snapshot.as_ref(), &c.volume_type)?;
    let Some(storage) = view.storage(&c.zone) else {
        return Err(DecideError::InsufficientVolumeCapacity {
            zone: c.zone.clone(),
            requested: size,
            free: 0,
        });
    };
    if storage.free_gib() < u64::from(size) {
        return Err(DecideError::InsufficientVolumeCapacity {
            zone: c.zone.clone(),
            requested: size,
            free: storage.free_gib(),
        });
    }
    let mut events = vec![
        (StreamId::storage(&c.zone), StorageReserved { volume: c.volume.clone(), gib: size }.into()),
        (
            StreamId::volume(&c.volume),
            VolumeRequested {
                volume: c.volume.clone(),
                account: c.account.clone(),
                zone: c.zone.clone(),
                size_gib: size,
                volume_type: c.volume_type.clone(),
                snapshot: c.snapshot.clone(),
                at: c.at,
            }
            .into(),
        ),
    ];
    if !c.tags.is_empty() {
        let tags = Tags::default().create(c.volume.as_str(), &c.tags, c.at)?;
        events.push((StreamId::volume(&c.volume), tags));
    }
    Ok(events)
}

/// The size of a new volume of `zone`, after the checks CreateVolume and
/// RunInstances' block device mappings share: its type, the snapshot it is
/// restored from (the account's, completed, in the zone), and its size (at
/// least the snapshot's, 1 GiB to [`MAX_VOLUME_GIB`]).
pub(crate) fn new_volume_size(
    view: &dyn StateView,
    account: &AccountId,
    _zone: &ZoneName,
    size_gib: Option<u32>,
    snapshot: Option<&SnapshotId>,
    volume_type: &str,
) -> Result<u32, DecideError> {
    if !matches!(volume_type, "standard" | "gp2" | "gp3") {
        return Err(DecideError::InvalidVolumeSize(format!(
            "volume type {} is not one of standard, gp2, gp3",
            volume_type
        )));
    }
    let source = match snapshot {
        None => None,
        Some(id) => {
            let snapshot = match view.snapshot(id) {
                Some(s) if s.restorable_by(account) => s,
                _ => return Err(DecideError::SnapshotNotFound(id.clone())),
            };
            if snapshot.state != SnapshotState::Completed {
                return Err(DecideError::IncorrectSnapshotState {
                    snapshot: id.clone(),
                    state: snapshot.state.as_str().to_owned(),
                    action: "restore a volume from it",
                });
            }
            // Snapshots are kept in Walrus, which every zone's storage
            // controller reads: a volume is restored in any zone.
            Some(snapshot)
        }
    };
    let size = match (size_gib, source) {
        (None, None) => {
            return Err(DecideError::InvalidVolumeSize("a size or a snapshot is required".into()));
        }
        (None, Some(s)) => s.size_gib,
        (Some(size), Some(s)) if size < s.size_gib => {
            return Err(DecideError::InvalidVolumeSize(format!(
                "{size} GiB is smaller than snapshot {} ({} GiB)",
                s.id, s.size_gib
            )));
        }
        (Some(size), _) => size,
    };
    if size == 0 || size > MAX_VOLUME_GIB {
        return Err(DecideError::InvalidVolumeSize(format!(
            "{size} GiB is not between 1 and {MAX_VOLUME_GIB}"
        )));
    }
    Ok(size)
}

pub(crate) fn delete_volume(c: &DeleteVolume, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = own_volume(view, &c.account, &c.volume)?;
    if let Some(p) = &volume.planned {
        return Err(DecideError::VolumeInUse { volume: c.volume.clone(), instance: p.instance.clone() });
    }
    match (volume.state, &volume.attachment) {
        (_, Some(a)) => {
            Err(DecideError::VolumeInUse { volume: c.volume.clone(), instance: a.instance.clone() })
        }
        (VolumeState::Available | VolumeState::Error, None) => {
            Ok(vec![(StreamId::volume(&c.volume), VolumeDeleteRequested { at: c.at }.into())])
        }
        (state, None) => Err(DecideError::IncorrectVolumeState {
            volume: c.volume.clone(),
            state: state.as_str().to_owned(),
            action: "delete it",
        }),
    }
}

/// Is `device` a name of an instance's root device, the guest's first disk
/// (`/dev/sda1`, `/dev/sda`, `/dev/xvda`, `/dev/vda`, with or without the
/// partition `1`)? An EBS-backed instance boots from the volume there.
pub fn is_root_device(device: &str) -> bool {
    let Some(name) = device.strip_prefix("/dev/") else { return false };
    ["xvda", "sda", "vda"]
        .iter()
        .any(|p| name.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest == "1"))
}

/// The guest disk letter of any device name an instance may have: `a` for
/// the root device ([`is_root_device`]), else [`device_letter`].
pub fn disk_letter(device: &str) -> Option<char> {
    if is_root_device(device) { Some('a') } else { device_letter(device) }
}

/// The guest disk a device name becomes (`/dev/sdf`, `/dev/xvdf` and
/// `/dev/vdf` are all the guest's `vdf`), if the name is one a volume may
/// take: `b` to `z` (`a` is the root disk's).
pub fn device_letter(device: &str) -> Option<char> {
    let name = device.strip_prefix("/dev/")?;
    let rest = ["xvd", "sd", "vd"].iter().find_map(|p| name.strip_prefix(p))?;
    let mut chars = rest.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ 'b'..='z'), None) => Some(c),
        _ => None,
    }
}

pub(crate) fn attach_volume(c: &AttachVolume, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = own_volume(view, &c.account, &c.volume)?;
    // A terminated instance is still the account's (DescribeInstances
    // shows it): its state, not its absence, refuses the attach, as EC2.
    let instance = match view.instance(&c.instance) {
        Some(i) if i.account == c.account => i,
        _ => return Err(DecideError::InstanceNotFound(vec![c.instance.clone()])),
    };
    let holder = volume.attachment.as_ref().map(|a| &a.instance);
    if let Some(instance) = holder.or(volume.planned.as_ref().map(|p| &p.instance)) {
        return Err(DecideError::VolumeInUse { volume: c.volume.clone(), instance: instance.clone() });
    }
    if volume.state != VolumeState::Available {
        return Err(DecideError::IncorrectVolumeState {
            volume: c.volume.clone(),
            state: volume.state.as_str().to_owned(),
            action: "attach it",
        });
    }
    if instance.state != InstanceState::Running {
        return Err(DecideError::IncorrectInstanceState {
            instance: c.instance.clone(),
            state: instance.state,
            action: "attach a volume",
        });
    }
    let zone = instance.zone.clone().unwrap_or_else(|| volume.zone.clone());
    if zone != volume.zone {
        return Err(DecideError::ZoneMismatch {
            volume: c.volume.clone(),
            volume_zone: volume.zone.clone(),
            instance: c.instance.clone(),
            instance_zone: zone,
        });
    }
    let letter = device_letter(&c.device).ok_or_else(|| DecideError::InvalidDevice(c.device.clone()))?;
    if instance.volumes.keys().any(|d| device_letter(d) == Some(letter)) {
        return Err(DecideError::DeviceInUse { instance: c.instance.clone(), device: c.device.clone() });
    }
    Ok(vec![
        (
            StreamId::instance(&c.instance),
            InstanceDeviceClaimed { device: c.device.clone(), volume: c.volume.clone(), at: c.at }.into(),
        ),
        (
            StreamId::volume(&c.volume),
            VolumeAttachRequested {
                instance: c.instance.clone(),
                device: c.device.clone(),
                grant: c.grant.clone(),
                delete_on_termination: false,
                at: c.at,
            }
            .into(),
        ),
    ])
}

pub(crate) fn detach_volume(c: &DetachVolume, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = own_volume(view, &c.account, &c.volume)?;
    let attachment = match &volume.attachment {
        Some(a)
            if c.instance.as_ref().is_none_or(|i| i == &a.instance)
                && c.device.as_ref().is_none_or(|d| d == &a.device) =>
        {
            a
        }
        _ => {
            return Err(DecideError::IncorrectVolumeState {
                volume: c.volume.clone(),
                state: match &volume.attachment {
                    None => volume.state.as_str().to_owned(),
                    Some(a) => format!("attached to {} as {}", a.instance, a.device),
                },
                action: "detach it from what it is not attached to",
            });
        }
    };
    if is_root_device(&attachment.device) && attachment.state != AttachmentState::Detaching {
        return Err(DecideError::RootVolume {
            volume: c.volume.clone(),
            instance: attachment.instance.clone(),
        });
    }
    match attachment.state {
        AttachmentState::Detaching if !c.force || attachment.forced => Ok(Vec::new()),
        _ => {
            Ok(vec![(StreamId::volume(&c.volume), VolumeDetachRequested { force: c.force, at: c.at }.into())])
        }
    }
}
