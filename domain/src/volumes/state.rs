//! The state of a volume (with its attachment), of a snapshot and of a
//! zone's block storage, folded from their streams.

use super::deadlines;
use super::events::*;
use crate::aggregate::{Aggregate, Evolve, State, StateView};
use crate::ids::*;
use crate::model::*;
use crate::registry::{SnapshotEvent, StorageEvent, VolumeEvent};
use crate::stream::StreamId;
use crate::tags::Tags;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// EC2's volume states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VolumeState {
    Creating,
    Available,
    InUse,
    Deleting,
    Deleted,
    Error,
}

impl VolumeState {
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeState::Creating => "creating",
            VolumeState::Available => "available",
            VolumeState::InUse => "in-use",
            VolumeState::Deleting => "deleting",
            VolumeState::Deleted => "deleted",
            VolumeState::Error => "error",
        }
    }
}

impl fmt::Display for VolumeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// EC2's attachment states (`detached` is no attachment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachmentState {
    Attaching,
    Attached,
    Detaching,
}

impl AttachmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentState::Attaching => "attaching",
            AttachmentState::Attached => "attached",
            AttachmentState::Detaching => "detaching",
        }
    }
}

/// A volume's one attachment to an instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Attachment {
    pub instance: InstanceId,
    pub device: String,
    pub state: AttachmentState,
    /// The attachment's initiator name, sealed.
    pub grant: SealedSecret,
    pub delete_on_termination: bool,
    pub requested_at: Timestamp,
    /// The storage controller exports the volume to the grant.
    pub exported: bool,
    /// The node holds no disk of it any more (detaching only).
    pub released: bool,
    /// Revoke without waiting for the node (detaching only).
    pub forced: bool,
    /// Why the attachment is being undone, if it failed.
    pub failure: Option<String>,
}

/// An attachment RunInstances planned for the volume it made: made once
/// the volume is created and the instance runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedAttachment {
    pub instance: InstanceId,
    pub device: String,
    pub grant: SealedSecret,
    pub delete_on_termination: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    pub id: VolumeId,
    pub account: AccountId,
    pub zone: ZoneName,
    pub size_gib: u32,
    pub volume_type: String,
    pub snapshot: Option<SnapshotId>,
    pub created_at: Timestamp,
    pub state: VolumeState,
    /// When the volume (or its attachment) entered its present state.
    pub since: Timestamp,
    pub attachment: Option<Attachment>,
    /// The attachment RunInstances planned, not made yet.
    pub planned: Option<PlannedAttachment>,
    /// Why the volume is in `error`.
    pub error: Option<String>,
    pub tags: Tags,
}

impl Volume {
    /// The moment its present transitional state must be over, if it is in
    /// one: creating, deleting, or an attachment attaching or detaching
    /// (a forced detach waits only for the storage controller, which has
    /// the same time again).
    pub fn deadline(&self) -> Option<Timestamp> {
        volume_deadline(self.state, self.attachment.as_ref().map(|a| a.state), self.since)
    }

    pub fn is_deleted(&self) -> bool {
        self.state == VolumeState::Deleted
    }
}

impl State for Volume {
    type Created = VolumeRequested;

    fn created(e: &VolumeRequested) -> Self {
        Volume {
            id: e.volume.clone(),
            account: e.account.clone(),
            zone: e.zone.clone(),
            size_gib: e.size_gib,
            volume_type: e.volume_type.clone(),
            snapshot: e.snapshot.clone(),
            created_at: e.at,
            state: VolumeState::Creating,
            since: e.at,
            attachment: None,
            planned: None,
            error: None,
            tags: Tags::default(),
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        Some(&mut self.tags)
    }
}

impl Evolve for Volume {
    type Event<'a> = VolumeEvent<'a>;

    fn apply(&mut self, event: VolumeEvent<'_>) {
        match event {
            VolumeEvent::VolumeCreated(e) => {
                self.state = VolumeState::Available;
                self.since = e.at;
            }
            VolumeEvent::VolumeFailed(e) => {
                self.state = VolumeState::Error;
                self.error = Some(e.reason.clone());
                self.since = e.at;
            }
            VolumeEvent::VolumeAttachRequested(e) => {
                self.planned = None;
                self.state = VolumeState::InUse;
                self.since = e.at;
                self.attachment = Some(Attachment {
                    instance: e.instance.clone(),
                    device: e.device.clone(),
                    state: AttachmentState::Attaching,
                    grant: e.grant.clone(),
                    delete_on_termination: e.delete_on_termination,
                    requested_at: e.at,
                    exported: false,
                    released: false,
                    forced: false,
                    failure: None,
                });
            }
            VolumeEvent::VolumeExported(_) => {
                if let Some(a) = &mut self.attachment {
                    a.exported = true;
                }
            }
            VolumeEvent::VolumeAttached(e) => {
                if let Some(a) = &mut self.attachment {
                    a.state = AttachmentState::Attached;
                    self.since = e.at;
                }
            }
            VolumeEvent::VolumeAttachFailed(e) => {
                if let Some(a) = &mut self.attachment {
                    a.state = AttachmentState::Detaching;
                    a.released = true;
                    a.failure = Some(e.reason.clone());
                    self.since = e.at;
                }
            }
            VolumeEvent::VolumeDetachRequested(e) => {
                if let Some(a) = &mut self.attachment {
                    a.state = AttachmentState::Detaching;
                    a.forced |= e.force;
                    self.since = e.at;
                }
            }
            VolumeEvent::VolumeDetachForced(e) => {
                if let Some(a) = &mut self.attachment {
                    a.forced = true;
                    a.failure = Some(e.reason.clone());
                    self.since = e.at;
                }
            }
            VolumeEvent::VolumeReleased(_) => {
                if let Some(a) = &mut self.attachment {
                    a.released = true;
                }
            }
            VolumeEvent::VolumeRevoked(e) => {
                self.attachment = None;
                self.state = VolumeState::Available;
                self.since = e.at;
            }
            VolumeEvent::VolumeDeleteRequested(e) => {
                self.state = VolumeState::Deleting;
                self.since = e.at;
            }
            VolumeEvent::VolumeDeleted(e) => {
                self.state = VolumeState::Deleted;
                self.since = e.at;
            }
            VolumeEvent::VolumeAttachmentPlanned(e) => {
                self.planned = Some(PlannedAttachment {
                    instance: e.instance.clone(),
                    device: e.device.clone(),
                    grant: e.grant.clone(),
                    delete_on_termination: e.delete_on_termination,
                });
            }
            VolumeEvent::VolumeAttachmentCancelled(_) => self.planned = None,
            VolumeEvent::VolumeDeleteOnTerminationSet(e) => {
                if let Some(a) = &mut self.attachment {
                    a.delete_on_termination = e.delete_on_termination;
                }
                if let Some(p) = &mut self.planned {
                    p.delete_on_termination = e.delete_on_termination;
                }
            }
        }
    }
}

/// EC2's snapshot states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotState {
    Pending,
    Completed,
    Error,
}

impl SnapshotState {
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotState::Pending => "pending",
            SnapshotState::Completed => "completed",
            SnapshotState::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub id: SnapshotId,
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
    pub deleted: bool,
    pub tags: Tags,
    /// Accounts besides the owner that may make volumes of it.
    pub shared_with: BTreeSet<AccountId>,
    /// Everyone may make volumes of it.
    pub public: bool,
    /// Registered images whose block device mappings restore it.
    pub images: BTreeSet<ImageId>,
}

/// The moment a volume in `state` (its attachment in `attachment`) since
/// `since` must have left it, if the state is transitional (the read
/// models ask the same as the aggregate).
pub fn volume_deadline(
    state: VolumeState,
    attachment: Option<AttachmentState>,
    since: Timestamp,
) -> Option<Timestamp> {
    let span = match (state, attachment) {
        (VolumeState::Creating, _) => deadlines::CREATING,
        (VolumeState::Deleting, _) => deadlines::DELETING,
        (_, Some(AttachmentState::Attaching)) => deadlines::ATTACHING,
        (_, Some(AttachmentState::Detaching)) => deadlines::DETACHING,
        _ => return None,
    };
    Some(Timestamp(since.0.saturating_add(span)))
}

impl Snapshot {
    /// The moment a pending snapshot must be whole.
    pub fn deadline(&self) -> Option<Timestamp> {
        (self.state == SnapshotState::Pending && !self.deleted)
            .then(|| Timestamp(self.started_at.0.saturating_add(deadlines::SNAPSHOT)))
    }
}

impl State for Snapshot {
    type Created = SnapshotRequested;

    fn created(e: &SnapshotRequested) -> Self {
        Snapshot {
            id: e.snapshot.clone(),
            account: e.account.clone(),
            volume: e.volume.clone(),
            zone: e.zone.clone(),
            size_gib: e.size_gib,
            description: e.description.clone(),
            started_at: e.at,
            state: SnapshotState::Pending,
            progress: 0,
            manifest: None,
            error: None,
            deleted: false,
            tags: Tags::default(),
            shared_with: BTreeSet::new(),
            images: BTreeSet::new(),
            public: false,
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        Some(&mut self.tags)
    }
}

impl Snapshot {
    /// Whether `account` may make volumes of (or copy) this snapshot.
    pub fn restorable_by(&self, account: &AccountId) -> bool {
        !self.deleted && (&self.account == account || self.public || self.shared_with.contains(account))
    }
}

impl Evolve for Snapshot {
    type Event<'a> = SnapshotEvent<'a>;

    fn apply(&mut self, event: SnapshotEvent<'_>) {
        match event {
            SnapshotEvent::SnapshotProgressed(e) => self.progress = e.percent.min(100),
            SnapshotEvent::SnapshotCompleted(e) => {
                self.state = SnapshotState::Completed;
                self.progress = 100;
                self.manifest = Some(e.manifest.clone());
            }
            SnapshotEvent::SnapshotFailed(e) => {
                self.state = SnapshotState::Error;
                self.error = Some(e.reason.clone());
            }
            SnapshotEvent::SnapshotDeleted(_) => self.deleted = true,
            SnapshotEvent::SnapshotPermissionsSet(e) => {
                self.shared_with = e.accounts.iter().cloned().collect();
                self.public = e.public;
            }
            SnapshotEvent::SnapshotImageRegistered(e) => {
                self.images.insert(e.image.clone());
            }
            SnapshotEvent::SnapshotImageDeregistered(e) => {
                self.images.remove(&e.image);
            }
        }
    }
}

/// A zone's block storage: its capacity and the volumes holding part of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Storage {
    pub zone: ZoneName,
    pub capacity_gib: u64,
    pub reserved: BTreeMap<VolumeId, u32>,
    /// A storage controller on a host of its own: its host and key.
    pub controller: Option<(String, AccessKeyId)>,
}

impl Storage {
    pub fn used_gib(&self) -> u64 {
        self.reserved.values().map(|g| u64::from(*g)).sum()
    }

    pub fn free_gib(&self) -> u64 {
        self.capacity_gib.saturating_sub(self.used_gib())
    }
}

impl State for Storage {
    type Created = StorageConfigured;

    fn created(e: &StorageConfigured) -> Self {
        Storage {
            zone: e.zone.clone(),
            capacity_gib: e.capacity_gib,
            reserved: BTreeMap::new(),
            controller: None,
        }
    }

    fn tags_mut(&mut self, _resource: &str) -> Option<&mut Tags> {
        None
    }
}

impl Evolve for Storage {
    type Event<'a> = StorageEvent<'a>;

    fn apply(&mut self, event: StorageEvent<'_>) {
        match event {
            StorageEvent::StorageCapacitySet(e) => self.capacity_gib = e.capacity_gib,
            StorageEvent::StorageReserved(e) => {
                self.reserved.insert(e.volume.clone(), e.gib);
            }
            StorageEvent::StorageReleased(e) => {
                self.reserved.remove(&e.volume);
            }
            StorageEvent::StorageControllerRegistered(e) => {
                self.controller = Some((e.host.clone(), e.access_key.clone()));
            }
        }
    }
}

impl dyn StateView + '_ {
    /// A volume, deleted or not.
    pub fn volume(&self, volume: &VolumeId) -> Option<&Volume> {
        match self.get(&StreamId::volume(volume)) {
            Some(Aggregate::Volume(v)) => Some(v),
            _ => None,
        }
    }

    /// A snapshot, deleted or not.
    pub fn snapshot(&self, snapshot: &SnapshotId) -> Option<&Snapshot> {
        match self.get(&StreamId::snapshot(snapshot)) {
            Some(Aggregate::Snapshot(s)) => Some(s),
            _ => None,
        }
    }

    /// A zone's storage, if it has been configured.
    pub fn storage(&self, zone: &ZoneName) -> Option<&Storage> {
        match self.get(&StreamId::storage(zone)) {
            Some(Aggregate::Storage(s)) => Some(s),
            _ => None,
        }
    }
}
