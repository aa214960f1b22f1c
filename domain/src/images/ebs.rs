//! EBS-backed images: registered from a snapshot of a root device
//! (RegisterImage with `RootDeviceName` and `BlockDeviceMapping.N`), or
//! made from an instance whose root device is a volume (CreateImage, which
//! snapshots its volumes). An instance launched from one boots from a
//! volume made from the root device's snapshot (`volumes::launch`).
//! While an image is registered, the snapshots it maps cannot be deleted.

use super::events::*;
use super::{Image, ImageKind, ImageRegistered};
use crate::aggregate::{StateView, need};
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::instances::InstanceState;
use crate::model::Timestamp;
use crate::stream::StreamId;
use crate::volumes::{
    AttachmentState, BlockDevice, CreateSnapshot, SnapshotImageDeregistered, SnapshotImageRegistered,
    create_snapshot, device_letter, disk_letter, is_root_device, new_volume_size,
};

/// RegisterImage of an EBS-backed image: the root device's name and the
/// block device mapping, which must map the root device to a snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct EbsRegistration {
    pub root_device: String,
    pub devices: Vec<BlockDevice>,
}

/// CreateImage: an image of an EBS-backed instance, running or stopped,
/// made of a snapshot of each of its attached volumes (taken point in time,
/// as CreateSnapshot takes them; the guest is not rebooted).
#[derive(Clone, Debug, PartialEq)]
pub struct CreateImage {
    pub account: AccountId,
    pub instance: InstanceId,
    pub image: ImageId,
    pub name: String,
    pub description: String,
    /// Fresh snapshot ids, one for each volume of the instance (the
    /// instance's guest has at most 26 disks).
    pub snapshots: Vec<SnapshotId>,
    pub at: Timestamp,
}

impl CreateImage {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::image(&self.image), StreamId::instance(&self.instance)]
    }
}

/// The devices of an EBS registration, checked: the root device is one,
/// mapped to a snapshot the owner may restore; each other device is a
/// volume name of its own guest disk; sizes are at least the snapshots'.
pub(crate) fn image_devices(
    view: &dyn StateView,
    owner: &AccountId,
    e: &EbsRegistration,
) -> Result<Vec<ImageBlockDevice>, DecideError> {
    let bad = |why: String| Err(DecideError::InvalidBlockDeviceMapping(why));
    if !is_root_device(&e.root_device) {
        return bad(format!(
            "the root device name {} is not one of /dev/sda1, /dev/sda, /dev/xvda, /dev/vda",
            e.root_device
        ));
    }
    let Some(root) = e.devices.iter().find(|d| d.device == e.root_device) else {
        return bad(format!("the root device {} is not in the block device mapping", e.root_device));
    };
    let Some(root_snapshot) = &root.snapshot else {
        return bad(format!(
            "the root device {} must be restored from a snapshot (Ebs.SnapshotId)",
            e.root_device
        ));
    };
    let zone = match view.snapshot(root_snapshot) {
        Some(s) if s.restorable_by(owner) => s.zone.clone(),
        _ => return Err(DecideError::SnapshotNotFound(root_snapshot.clone())),
    };
    let mut letters = Vec::new();
    let mut devices = Vec::new();
    for d in &e.devices {
        let letter = if d.device == e.root_device { Some('a') } else { device_letter(&d.device) };
        let Some(letter) = letter else {
            return bad(format!(
                "device name {} cannot take a volume: use /dev/sdb to /dev/sdz (or /dev/xvdb…) besides the \
                 root device {}",
                d.device, e.root_device
            ));
        };
        if letters.contains(&letter) {
            return bad(format!("device {} is mapped more than once", d.device));
        }
        letters.push(letter);
        if d.size_gib.is_none() && d.snapshot.is_none() {
            return bad(format!("device {}: a volume size or a snapshot id is required", d.device));
        }
        let size_gib = new_volume_size(view, owner, &zone, d.size_gib, d.snapshot.as_ref(), &d.volume_type)?;
        devices.push(ImageBlockDevice {
            device: d.device.clone(),
            snapshot: d.snapshot.clone(),
            size_gib,
            volume_type: d.volume_type.clone(),
            delete_on_termination: d.delete_on_termination,
        });
    }
    // The root device first: it is the guest's first disk.
    devices.sort_by_key(|d| d.device != e.root_device);
    Ok(devices)
}

/// Each snapshot an image maps is held while the image is registered.
pub(crate) fn hold_snapshots(image: &ImageId, recorded: &ImageBlockDevicesRecorded) -> Events {
    let mut snapshots: Vec<&SnapshotId> =
        recorded.devices.iter().filter_map(|d| d.snapshot.as_ref()).collect();
    snapshots.sort();
    snapshots.dedup();
    snapshots
        .into_iter()
        .map(|s| {
            (StreamId::snapshot(s), SnapshotImageRegistered { image: image.clone(), at: recorded.at }.into())
        })
        .collect()
}

/// DeregisterImage: the snapshots the image held are free again.
pub(crate) fn release_snapshots(
    view: &dyn StateView,
    image: &Image,
    at: Timestamp,
) -> Result<Events, DecideError> {
    let Some(ebs) = &image.ebs else { return Ok(Vec::new()) };
    let mut snapshots: Vec<&SnapshotId> = ebs.devices.iter().filter_map(|d| d.snapshot.as_ref()).collect();
    snapshots.sort();
    snapshots.dedup();
    need(view, snapshots.iter().map(|s| StreamId::snapshot(s)))?;
    Ok(snapshots
        .into_iter()
        .filter(|s| view.snapshot(s).is_some_and(|s| s.images.contains(&image.id)))
        .map(|s| (StreamId::snapshot(s), SnapshotImageDeregistered { image: image.id.clone(), at }.into()))
        .collect())
}

/// The block devices of a launch from `image`: the image's own (for an
/// EBS-backed image, its root device first), each changed by a request's
/// mapping of the same guest disk (its size and DeleteOnTermination: the
/// snapshot and volume type stay the image's), then the request's other
/// mappings. The API counts them to make fresh volume ids; the decision
/// makes them again from the image it reads.
pub fn launch_block_devices(
    image: Option<&ImageBlockDevicesRecorded>,
    request: &[BlockDevice],
) -> Vec<BlockDevice> {
    let Some(image) = image else { return request.to_vec() };
    let mut used = vec![false; request.len()];
    let mut devices = Vec::with_capacity(image.devices.len() + request.len());
    for d in &image.devices {
        let letter = if d.device == image.root_device { Some('a') } else { disk_letter(&d.device) };
        let over = request.iter().position(|r| letter.is_some() && disk_letter(&r.device) == letter);
        let mut device = BlockDevice {
            device: d.device.clone(),
            size_gib: Some(d.size_gib),
            snapshot: d.snapshot.clone(),
            volume_type: d.volume_type.clone(),
            delete_on_termination: d.delete_on_termination,
        };
        if let Some(i) = over {
            used[i] = true;
            device.size_gib = request[i].size_gib.or(device.size_gib);
            device.delete_on_termination = request[i].delete_on_termination;
        }
        devices.push(device);
    }
    devices.extend(request.iter().zip(used).filter(|(_, used)| !used).map(|(r, _)| r.clone()));
    devices
}

pub(crate) fn create_image(c: &CreateImage, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.image(&c.image).is_some() {
        return Err(DecideError::ImageExists(c.image.clone()));
    }
    let instance = match view.instance(&c.instance) {
        Some(i) if i.account == c.account && i.state != InstanceState::Terminated => i,
        _ => return Err(DecideError::InstanceNotFound(vec![c.instance.clone()])),
    };
    let Some((root_device, _)) = instance.volumes.iter().find(|(d, _)| is_root_device(d)) else {
        return Err(DecideError::NotEbsBacked(format!(
            "The instance '{}' is not EBS-backed: only an instance whose root device is a volume can be made \
             into an image (bundle an instance-store image with `yukari image bundle` instead)",
            c.instance
        )));
    };
    if !matches!(instance.state, InstanceState::Running | InstanceState::Stopped) {
        return Err(DecideError::IncorrectInstanceState {
            instance: c.instance.clone(),
            state: instance.state,
            action: "be made into an image (it must be running or stopped)",
        });
    }
    need(view, instance.volumes.values().map(StreamId::volume).chain([StreamId::image(&instance.image)]))?;
    // The attached volumes, the root device's first.
    let mut volumes: Vec<(&String, &VolumeId)> = instance.volumes.iter().collect();
    volumes.sort_by_key(|(d, _)| !is_root_device(d));
    let mut taken = Vec::new();
    for (device, id) in volumes {
        let Some(volume) = view.volume(id) else { continue };
        let Some(a) = volume.attachment.as_ref().filter(|a| a.instance == c.instance) else { continue };
        if a.state != AttachmentState::Attached {
            if is_root_device(device) {
                return Err(DecideError::IncorrectVolumeState {
                    volume: id.clone(),
                    state: a.state.as_str().to_owned(),
                    action: "be imaged",
                });
            }
            continue;
        }
        taken.push((device.clone(), volume, a.delete_on_termination));
    }
    if taken.len() > c.snapshots.len() {
        return Err(DecideError::InvalidBlockDeviceMapping(format!(
            "{} snapshot ids for {} volumes",
            c.snapshots.len(),
            taken.len()
        )));
    }
    need(view, c.snapshots[..taken.len()].iter().map(StreamId::snapshot))?;
    let source = view.image(&instance.image);
    let mut events = vec![(
        StreamId::image(&c.image),
        ImageRegistered {
            image: c.image.clone(),
            owner: c.account.clone(),
            kind: ImageKind::Machine,
            name: c.name.clone(),
            description: c.description.clone(),
            architecture: "x86_64".into(),
            location: format!("{}/{}", c.account, c.name),
            kernel: source.and_then(|i| i.kernel.clone()),
            ramdisk: source.and_then(|i| i.ramdisk.clone()),
            public: false,
            at: c.at,
        }
        .into(),
    )];
    let mut devices = Vec::new();
    for ((device, volume, delete_on_termination), snapshot) in taken.into_iter().zip(&c.snapshots) {
        events.extend(create_snapshot(
            &CreateSnapshot {
                account: c.account.clone(),
                snapshot: snapshot.clone(),
                volume: volume.id.clone(),
                description: format!(
                    "Created by CreateImage({}) for {} from {}",
                    c.instance, c.image, volume.id
                ),
                tags: Vec::new(),
                at: c.at,
            },
            view,
        )?);
        devices.push(ImageBlockDevice {
            device,
            snapshot: Some(snapshot.clone()),
            size_gib: volume.size_gib,
            volume_type: volume.volume_type.clone(),
            delete_on_termination,
        });
    }
    let recorded = ImageBlockDevicesRecorded { root_device: root_device.clone(), devices, at: c.at };
    events.extend(hold_snapshots(&c.image, &recorded));
    events.push((StreamId::image(&c.image), recorded.into()));
    Ok(events)
}
