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
    Ok(vec![(StreamId::snapshot(&c.snapshot), SnapshotDeleted { at: c.at }.into())])
}
