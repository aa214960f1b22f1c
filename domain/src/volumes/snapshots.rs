//! CreateSnapshot and DeleteSnapshot, decided by the snapshot's stream
//! with the volume it is taken of.

use super::commands::own_volume;
use super::events::*;
use super::state::*;
use crate::aggregate::StateView;
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::model::*;
use crate::stream::StreamId;
use crate::tags::{Tag, Tags};
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq)]
pub struct CreateSnapshot {
    pub account: AccountId,
    pub snapshot: SnapshotId,
    pub volume: VolumeId,
    pub description: String,
    /// TagSpecification's tags, made with the snapshot.
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DeleteSnapshot {
    pub account: AccountId,
    pub snapshot: SnapshotId,
    pub at: Timestamp,
}

/// CopySnapshot within the cloud: a new snapshot of the caller's with
/// the source's content (its manifest: the chunks are shared, not copied).
#[derive(Clone, Debug, PartialEq)]
pub struct CopySnapshot {
    pub account: AccountId,
    pub snapshot: SnapshotId,
    pub source: SnapshotId,
    pub description: String,
    pub tags: Vec<Tag>,
    pub at: Timestamp,
}

/// Who may make volumes of a snapshot: accounts (and everyone, `all`)
/// added or removed.
#[derive(Clone, Debug, PartialEq)]
pub struct ModifySnapshotAttribute {
    pub account: AccountId,
    pub snapshot: SnapshotId,
    pub add: Vec<AccountId>,
    pub remove: Vec<AccountId>,
    /// `Some(true)`: add `all`; `Some(false)`: remove it.
    pub public: Option<bool>,
    pub at: Timestamp,
}

/// createVolumePermission back to the owner alone.
#[derive(Clone, Debug, PartialEq)]
pub struct ResetSnapshotAttribute {
    pub account: AccountId,
    pub snapshot: SnapshotId,
    pub at: Timestamp,
}

impl CopySnapshot {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::snapshot(&self.snapshot), StreamId::snapshot(&self.source)]
    }
}

impl ModifySnapshotAttribute {
    pub fn streams(&self) -> Vec<StreamId> {
        let mut streams = vec![StreamId::snapshot(&self.snapshot)];
        streams.extend(self.add.iter().map(StreamId::account));
        streams
    }
}

impl ResetSnapshotAttribute {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::snapshot(&self.snapshot)]
    }
}

impl CreateSnapshot {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::snapshot(&self.snapshot), StreamId::volume(&self.volume)]
    }
}

impl DeleteSnapshot {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::snapshot(&self.snapshot)]
    }
}

/// A snapshot of a volume that exists (available or in use: taken
/// point-in-time while the guest writes).
pub(crate) fn create_snapshot(c: &CreateSnapshot, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.snapshot(&c.snapshot).is_some() {
        return Err(DecideError::IdInUse(c.snapshot.to_string()));
    }
    let volume = own_volume(view, &c.account, &c.volume)?;
    if !matches!(volume.state, VolumeState::Available | VolumeState::InUse) {
        return Err(DecideError::IncorrectVolumeState {
            volume: c.volume.clone(),
            state: volume.state.as_str().to_owned(),
            action: "snapshot it",
        });
    }
    let mut events = vec![(
        StreamId::snapshot(&c.snapshot),
        SnapshotRequested {
            snapshot: c.snapshot.clone(),
            account: c.account.clone(),
            volume: c.volume.clone(),
            zone: volume.zone.clone(),
            size_gib: volume.size_gib,
            description: c.description.clone(),
            at: c.at,
        }
        .into(),
    )];
    if !c.tags.is_empty() {
        let tags = Tags::default().create(c.snapshot.as_str(), &c.tags, c.at)?;
        events.push((StreamId::snapshot(&c.snapshot), tags));
    }
    Ok(events)
}

/// A snapshot that is not being taken.
pub(crate) fn delete_snapshot(c: &DeleteSnapshot, view: &dyn StateView) -> Result<Events, DecideError> {
    let snapshot = match view.snapshot(&c.snapshot) {
        Some(s) if s.account == c.account && !s.deleted => s,
        _ => return Err(DecideError::SnapshotNotFound(c.snapshot.clone())),
    };
    if snapshot.state == SnapshotState::Pending {
        return Err(DecideError::IncorrectSnapshotState {
            snapshot: c.snapshot.clone(),
            state: snapshot.state.as_str().to_owned(),
            action: "delete it",
        });
    }
    if let Some(image) = snapshot.images.first() {
        return Err(DecideError::SnapshotInUse { snapshot: c.snapshot.clone(), image: image.clone() });
    }
    Ok(vec![(StreamId::snapshot(&c.snapshot), SnapshotDeleted { at: c.at }.into())])
}

/// The caller's own snapshot, not deleted.
fn own_snapshot<'v>(
    view: &'v dyn StateView,
    account: &AccountId,
    snapshot: &SnapshotId,
) -> Result<&'v Snapshot, DecideError> {
    match view.snapshot(snapshot) {
        Some(s) if &s.account == account && !s.deleted => Ok(s),
        _ => Err(DecideError::SnapshotNotFound(snapshot.clone())),
    }
}

pub(crate) fn copy_snapshot(c: &CopySnapshot, view: &dyn StateView) -> Result<Events, DecideError> {
    if view.snapshot(&c.snapshot).is_some() {
        return Err(DecideError::IdInUse(c.snapshot.to_string()));
    }
    let source = match view.snapshot(&c.source) {
        Some(s) if s.restorable_by(&c.account) => s,
        _ => return Err(DecideError::SnapshotNotFound(c.source.clone())),
    };
    let Some(manifest) = source.manifest.clone().filter(|_| source.state == SnapshotState::Completed) else {
        return Err(DecideError::IncorrectSnapshotState {
            snapshot: c.source.clone(),
            state: source.state.as_str().to_owned(),
            action: "copy it",
        });
    };
    let stream = StreamId::snapshot(&c.snapshot);
    let mut events = vec![
        (
            stream.clone(),
            SnapshotRequested {
                snapshot: c.snapshot.clone(),
                account: c.account.clone(),
                volume: source.volume.clone(),
                zone: source.zone.clone(),
                size_gib: source.size_gib,
                description: c.description.clone(),
                at: c.at,
            }
            .into(),
        ),
        (stream.clone(), SnapshotCompleted { manifest, at: c.at }.into()),
    ];
    if !c.tags.is_empty() {
        events.push((stream, Tags::default().create(c.snapshot.as_str(), &c.tags, c.at)?));
    }
    Ok(events)
}

/// The permissions as they become; nothing when they stay as they are.
fn permissions(snapshot: &Snapshot, accounts: BTreeSet<AccountId>, public: bool, at: Timestamp) -> Events {
    if accounts == snapshot.shared_with && public == snapshot.public {
        return Vec::new();
    }
    vec![(
        StreamId::snapshot(&snapshot.id),
        SnapshotPermissionsSet { accounts: accounts.into_iter().collect(), public, at }.into(),
    )]
}

pub(crate) fn modify_snapshot_attribute(
    c: &ModifySnapshotAttribute,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let snapshot = own_snapshot(view, &c.account, &c.snapshot)?;
    for account in &c.add {
        if view.account(account).is_none() {
            return Err(DecideError::AccountNotFound(account.clone()));
        }
    }
    let mut accounts = snapshot.shared_with.clone();
    accounts.extend(c.add.iter().filter(|a| **a != c.account).cloned());
    for account in &c.remove {
        accounts.remove(account);
    }
    Ok(permissions(snapshot, accounts, c.public.unwrap_or(snapshot.public), c.at))
}

pub(crate) fn reset_snapshot_attribute(
    c: &ResetSnapshotAttribute,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    let snapshot = own_snapshot(view, &c.account, &c.snapshot)?;
    Ok(permissions(snapshot, BTreeSet::new(), false, c.at))
}
