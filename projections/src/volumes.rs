//! Volumes, their attachments, snapshots and each zone's block storage
//! (DescribeVolumes, DescribeSnapshots, the storage controller's and the
//! nodes' views).

use domain::event::*;
use domain::volumes::{AttachmentState, SnapshotState, VolumeState};
use domain::{
    AccessKeyId, AccountId, InstanceId, ParsedStream, SealedSecret, SnapshotId, Timestamp, VolumeId, ZoneName,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumesView {
    /// Every volume not deleted.
    pub volumes: BTreeMap<VolumeId, VolumeRow>,
    /// Every snapshot not deleted.
    pub snapshots: BTreeMap<SnapshotId, SnapshotRow>,
    /// Each zone's block storage.
    pub storage: BTreeMap<ZoneName, StorageRow>,
    /// Volumes by account, for DescribeVolumes.
    pub by_account: BTreeMap<AccountId, BTreeSet<VolumeId>>,
    /// Volumes by instance (device → volume), for DescribeInstances and
    /// the nodes. An instance that had a volume stays here (its devices
    /// maybe none) until it leaves the read models.
    pub by_instance: BTreeMap<InstanceId, BTreeMap<String, VolumeId>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeRow {
    pub account: AccountId,
    pub zone: ZoneName,
    pub size_gib: u32,
    pub volume_type: String,
    pub snapshot: Option<SnapshotId>,
    pub created_at: Timestamp,
    pub state: VolumeState,
    /// When it (or its attachment) entered its present state.
    pub since: Timestamp,
    pub attachment: Option<AttachmentRow>,
    /// The attachment RunInstances planned for it, not made yet.
    pub planned: Option<PlannedRow>,
    pub error: Option<String>,
}

/// A block device mapping's attachment, made once the volume is created
/// and its instance runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlannedRow {
    pub instance: InstanceId,
    pub device: String,
    pub delete_on_termination: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttachmentRow {
    pub instance: InstanceId,
    pub device: String,
    pub state: AttachmentState,
    /// The attachment's initiator name, sealed (the controller unseals it
    /// for the storage controller and the node).
    pub grant: SealedSecret,
    pub delete_on_termination: bool,
    pub attach_time: Timestamp,
    pub exported: bool,
    pub released: bool,
    pub forced: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRow {
    pub account: AccountId,
    pub volume: VolumeId,
    pub zone: ZoneName,
    pub size_gib: u32,
    pub description: String,
    pub started_at: Timestamp,
    pub state: SnapshotState,
    pub progress: u8,
    pub manifest: Option<String>,
    pub error: Option<String>,
    /// Accounts besides the owner that may make volumes of it.
    pub shared_with: BTreeSet<AccountId>,
    /// Everyone may make volumes of it.
    pub public: bool,
}

impl SnapshotRow {
    /// Whether `account` may make volumes of (or copy) the snapshot.
    pub fn restorable_by(&self, account: &AccountId) -> bool {
        &self.account == account || self.public || self.shared_with.contains(account)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageRow {
    pub capacity_gib: u64,
    pub reserved: BTreeMap<VolumeId, u32>,
    /// The zone's storage controller on a host of its own, if one joined.
    pub controller: Option<StorageControllerRow>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StorageControllerRow {
    pub host: String,
    pub access_key: AccessKeyId,
    /// Its secret key, sealed.
    pub secret: SealedSecret,
    pub registered_at: Timestamp,
}

impl StorageRow {
    pub fn used_gib(&self) -> u64 {
        self.reserved.values().map(|g| u64::from(*g)).sum()
    }
}

impl VolumesView {
    /// Folds an event of a volume, snapshot, storage or (its devices)
    /// instance stream; returns the id of a resource that is gone, whose
    /// tags go with it.
    pub(crate) fn apply(&mut self, stream: &str, event: Event) -> Option<String> {
        match ParsedStream::of(stream) {
            ParsedStream::Volume(id) => self.volume_event(id, event),
            ParsedStream::Snapshot(id) => self.snapshot_event(id, event),
            ParsedStream::Storage(zone) => {
                self.storage_event(zone, event);
                None
            }
            ParsedStream::Instance(id) => {
                self.instance_event(id, event);
                None
            }
            _ => None,
        }
    }

    fn volume_event(&mut self, id: VolumeId, event: Event) -> Option<String> {
        if let Event::VolumeRequested(e) = event {
            self.by_account.entry(e.account.clone()).or_default().insert(id.clone());
            self.volumes.insert(
                id,
                VolumeRow {
                    account: e.account,
                    zone: e.zone,
                    size_gib: e.size_gib,
                    volume_type: e.volume_type,
                    snapshot: e.snapshot,
                    created_at: e.at,
                    state: VolumeState::Creating,
                    since: e.at,
                    attachment: None,
                    planned: None,
                    error: None,
                },
            );
            return None;
        }
        let row = self.volumes.get_mut(&id)?;
        match event {
            Event::VolumeCreated(e) => {
                row.state = VolumeState::Available;
                row.since = e.at;
            }
            Event::VolumeFailed(e) => {
                row.state = VolumeState::Error;
                row.error = Some(e.reason);
                row.since = e.at;
            }
            Event::VolumeAttachRequested(e) => {
                row.planned = None;
                row.state = VolumeState::InUse;
                row.since = e.at;
                row.attachment = Some(AttachmentRow {
                    instance: e.instance,
                    device: e.device,
                    state: AttachmentState::Attaching,
                    grant: e.grant,
                    delete_on_termination: e.delete_on_termination,
                    attach_time: e.at,
                    exported: false,
                    released: false,
                    forced: false,
                });
            }
            Event::VolumeExported(_) => row.attachment.iter_mut().for_each(|a| a.exported = true),
            Event::VolumeAttached(e) => {
                if let Some(a) = &mut row.attachment {
                    a.state = AttachmentState::Attached;
                    row.since = e.at;
                }
            }
            Event::VolumeAttachFailed(e) => {
                if let Some(a) = &mut row.attachment {
                    a.state = AttachmentState::Detaching;
                    a.released = true;
                    row.since = e.at;
                }
            }
            Event::VolumeDetachRequested(e) => {
                if let Some(a) = &mut row.attachment {
                    a.state = AttachmentState::Detaching;
                    a.forced |= e.force;
                    row.since = e.at;
                }
            }
            Event::VolumeDetachForced(e) => {
                if let Some(a) = &mut row.attachment {
                    a.forced = true;
                    row.since = e.at;
                }
            }
            Event::VolumeReleased(_) => row.attachment.iter_mut().for_each(|a| a.released = true),
            Event::VolumeRevoked(e) => {
                row.attachment = None;
                row.state = VolumeState::Available;
                row.since = e.at;
            }
            Event::VolumeDeleteRequested(e) => {
                row.state = VolumeState::Deleting;
                row.since = e.at;
            }
            Event::VolumeAttachmentPlanned(e) => {
                row.planned = Some(PlannedRow {
                    instance: e.instance,
                    device: e.device,
                    delete_on_termination: e.delete_on_termination,
                    at: e.at,
                });
            }
            Event::VolumeAttachmentCancelled(_) => row.planned = None,
            Event::VolumeDeleteOnTerminationSet(e) => {
                if let Some(a) = &mut row.attachment {
                    a.delete_on_termination = e.delete_on_termination;
                }
                if let Some(p) = &mut row.planned {
                    p.delete_on_termination = e.delete_on_termination;
                }
            }
            Event::VolumeDeleted(_) => {
                let row = self.volumes.remove(&id)?;
                if let Some(set) = self.by_account.get_mut(&row.account) {
                    set.remove(&id);
                }
                return Some(id.to_string());
            }
            _ => {}
        }
        None
    }

    fn snapshot_event(&mut self, id: SnapshotId, event: Event) -> Option<String> {
        if let Event::SnapshotRequested(e) = event {
            self.snapshots.insert(
                id,
                SnapshotRow {
                    account: e.account,
                    volume: e.volume,
                    zone: e.zone,
                    size_gib: e.size_gib,
                    description: e.description,
                    started_at: e.at,
                    state: SnapshotState::Pending,
                    progress: 0,
                    manifest: None,
                    error: None,
                    shared_with: BTreeSet::new(),
                    public: false,
                },
            );
            return None;
        }
        let row = self.snapshots.get_mut(&id)?;
        match event {
            Event::SnapshotProgressed(e) => row.progress = e.percent.min(100),
            Event::SnapshotCompleted(e) => {
                row.state = SnapshotState::Completed;
                row.progress = 100;
                row.manifest = Some(e.manifest);
            }
            Event::SnapshotFailed(e) => {
                row.state = SnapshotState::Error;
                row.error = Some(e.reason);
            }
            Event::SnapshotPermissionsSet(e) => {
                row.shared_with = e.accounts.into_iter().collect();
                row.public = e.public;
            }
            Event::SnapshotDeleted(_) => {
                self.snapshots.remove(&id);
                return Some(id.to_string());
            }
            _ => {}
        }
        None
    }

    fn storage_event(&mut self, zone: ZoneName, event: Event) {
        let row = self.storage.entry(zone).or_default();
        match event {
            Event::StorageConfigured(e) => row.capacity_gib = e.capacity_gib,
            Event::StorageCapacitySet(e) => row.capacity_gib = e.capacity_gib,
            Event::StorageReserved(e) => {
                row.reserved.insert(e.volume, e.gib);
            }
            Event::StorageReleased(e) => {
                row.reserved.remove(&e.volume);
            }
            Event::StorageControllerRegistered(e) => {
                row.controller = Some(StorageControllerRow {
                    host: e.host,
                    access_key: e.access_key,
                    secret: e.secret,
                    registered_at: e.at,
                });
            }
            _ => {}
        }
    }

    fn instance_event(&mut self, id: InstanceId, event: Event) {
        match event {
            Event::InstanceDeviceClaimed(e) => {
                self.by_instance.entry(id).or_default().insert(e.device, e.volume);
            }
            Event::InstanceDeviceReleased(e) => {
                // An instance that had volumes stays listed, without
                // devices, until it leaves the read models: its node keeps
                // looking at its guest's disks, so that one a forced
                // detach left plugged in is unplugged (seed 1023).
                if let Some(devices) = self.by_instance.get_mut(&id)
                    && devices.get(&e.device) == Some(&e.volume)
                {
                    devices.remove(&e.device);
                }
            }
            _ => {}
        }
    }

    /// An account's volumes, in id order.
    pub fn of_account<'a>(
        &'a self,
        account: &AccountId,
    ) -> impl Iterator<Item = (&'a VolumeId, &'a VolumeRow)> + 'a {
        self.by_account
            .get(account)
            .into_iter()
            .flatten()
            .filter_map(|id| self.volumes.get(id).map(|row| (id, row)))
    }
}
