//! What storage controllers and node executors report on volumes and
//! snapshots, and the deadlines of transitional states. A report that no
//! longer matches the state (a retry, or one overtaken by a deadline)
//! decides nothing; one about what is not the reporter's is refused.

use super::events::*;
use super::state::*;
use crate::aggregate::{StateView, need};
use crate::decide::Events;
use crate::error::DecideError;
use crate::ids::*;
use crate::instances::InstanceState;
use crate::model::*;
use crate::stream::StreamId;

/// A storage controller's report on a volume of its zone.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeReport {
    pub zone: ZoneName,
    pub volume: VolumeId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VolumeFailure {
    pub report: VolumeReport,
    pub reason: String,
}

/// A storage controller's report on a snapshot of its zone.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotReport {
    pub zone: ZoneName,
    pub snapshot: SnapshotId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotProgress {
    pub report: SnapshotReport,
    pub percent: u8,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotDone {
    pub report: SnapshotReport,
    pub manifest: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotFailure {
    pub report: SnapshotReport,
    pub reason: String,
}

/// A node's report on a volume attached to an instance placed on it.
#[derive(Clone, Debug, PartialEq)]
pub struct AttachmentReport {
    pub node: NodeId,
    pub instance: InstanceId,
    pub volume: VolumeId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AttachmentFailure {
    pub report: AttachmentReport,
    pub reason: String,
}

/// The controller's monitor: a volume whose transitional state may have
/// outlived its deadline.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpireVolume {
    pub volume: VolumeId,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExpireSnapshot {
    pub snapshot: SnapshotId,
    pub at: Timestamp,
}

impl VolumeReport {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::volume(&self.volume), StreamId::storage(&self.zone)]
    }
}

impl VolumeFailure {
    pub fn streams(&self) -> Vec<StreamId> {
        self.report.streams()
    }
}

impl SnapshotReport {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::snapshot(&self.snapshot)]
    }
}

impl SnapshotProgress {
    pub fn streams(&self) -> Vec<StreamId> {
        self.report.streams()
    }
}

impl SnapshotDone {
    pub fn streams(&self) -> Vec<StreamId> {
        self.report.streams()
    }
}

impl SnapshotFailure {
    pub fn streams(&self) -> Vec<StreamId> {
        self.report.streams()
    }
}

impl AttachmentReport {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::volume(&self.volume), StreamId::instance(&self.instance)]
    }
}

impl AttachmentFailure {
    pub fn streams(&self) -> Vec<StreamId> {
        self.report.streams()
    }
}

impl ExpireVolume {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::volume(&self.volume)]
    }
}

impl ExpireSnapshot {
    pub fn streams(&self) -> Vec<StreamId> {
        vec![StreamId::snapshot(&self.snapshot)]
    }
}

/// The volume a storage controller reports on, if it is in its zone.
fn zone_volume<'v>(view: &'v dyn StateView, r: &VolumeReport) -> Result<&'v Volume, DecideError> {
    let volume = view.volume(&r.volume).ok_or_else(|| DecideError::VolumeNotFound(r.volume.clone()))?;
    if volume.zone != r.zone {
        return Err(DecideError::NotInZone { resource: r.volume.to_string(), zone: r.zone.clone() });
    }
    Ok(volume)
}

pub(crate) fn report_created(r: &VolumeReport, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = zone_volume(view, r)?;
    if volume.state != VolumeState::Creating {
        return Ok(Vec::new());
    }
    let mut events: Events = vec![(StreamId::volume(&r.volume), VolumeCreated { at: r.at }.into())];
    events.extend(super::launch::after_creation(view, volume, None, r.at)?);
    Ok(events)
}

pub(crate) fn report_create_failed(f: &VolumeFailure, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = zone_volume(view, &f.report)?;
    if volume.state != VolumeState::Creating {
        return Ok(Vec::new());
    }
    let mut events: Events = vec![(
        StreamId::volume(&f.report.volume),
        VolumeFailed { reason: f.reason.clone(), at: f.report.at }.into(),
    )];
    events.extend(super::launch::after_creation(view, volume, Some(&f.reason), f.report.at)?);
    Ok(events)
}

pub(crate) fn report_exported(r: &VolumeReport, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = zone_volume(view, r)?;
    match &volume.attachment {
        Some(a) if a.state == AttachmentState::Attaching && !a.exported => {
            Ok(vec![(StreamId::volume(&r.volume), VolumeExported { at: r.at }.into())])
        }
        _ => Ok(Vec::new()),
    }
}

/// The export is gone: the volume is available again (or, if it was to go
/// with its terminated instance, deleted), and the instance's device free.
pub(crate) fn report_revoked(r: &VolumeReport, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = zone_volume(view, r)?;
    let Some(a) = &volume.attachment else { return Ok(Vec::new()) };
    if a.state != AttachmentState::Detaching || !(a.released || a.forced) {
        return Ok(Vec::new());
    }
    need(view, [StreamId::instance(&a.instance)])?;
    let mut events: Events = vec![(StreamId::volume(&r.volume), VolumeRevoked { at: r.at }.into())];
    let instance = view.instance(&a.instance);
    if instance.is_some_and(|i| i.volumes.get(&a.device) == Some(&r.volume)) {
        events.push((
            StreamId::instance(&a.instance),
            InstanceDeviceReleased { device: a.device.clone(), volume: r.volume.clone(), at: r.at }.into(),
        ));
    }
    let gone = instance.is_none_or(|i| i.state == InstanceState::Terminated);
    if a.delete_on_termination && gone {
        events.push((StreamId::volume(&r.volume), VolumeDeleteRequested { at: r.at }.into()));
    }
    Ok(events)
}

pub(crate) fn report_deleted(r: &VolumeReport, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = zone_volume(view, r)?;
    if volume.state != VolumeState::Deleting {
        return Ok(Vec::new());
    }
    let mut events: Events = vec![(StreamId::volume(&r.volume), VolumeDeleted { at: r.at }.into())];
    if view.storage(&r.zone).is_some_and(|s| s.reserved.contains_key(&r.volume)) {
        events.push((StreamId::storage(&r.zone), StorageReleased { volume: r.volume.clone() }.into()));
    }
    Ok(events)
}

/// The pending snapshot a storage controller reports on, if it is in its
/// zone (`None`: no longer pending).
fn pending_snapshot<'v>(
    view: &'v dyn StateView,
    r: &SnapshotReport,
) -> Result<Option<&'v Snapshot>, DecideError> {
    let snapshot =
        view.snapshot(&r.snapshot).ok_or_else(|| DecideError::SnapshotNotFound(r.snapshot.clone()))?;
    if snapshot.zone != r.zone {
        return Err(DecideError::NotInZone { resource: r.snapshot.to_string(), zone: r.zone.clone() });
    }
    Ok((snapshot.state == SnapshotState::Pending && !snapshot.deleted).then_some(snapshot))
}

pub(crate) fn report_snapshot_progress(
    p: &SnapshotProgress,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    match pending_snapshot(view, &p.report)? {
        Some(s) if p.percent > s.progress && p.percent < 100 => Ok(vec![(
            StreamId::snapshot(&p.report.snapshot),
            SnapshotProgressed { percent: p.percent, at: p.report.at }.into(),
        )]),
        _ => Ok(Vec::new()),
    }
}

pub(crate) fn report_snapshot_completed(
    d: &SnapshotDone,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    if pending_snapshot(view, &d.report)?.is_none() {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::snapshot(&d.report.snapshot),
        SnapshotCompleted { manifest: d.manifest.clone(), at: d.report.at }.into(),
    )])
}

pub(crate) fn report_snapshot_failed(
    f: &SnapshotFailure,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    if pending_snapshot(view, &f.report)?.is_none() {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::snapshot(&f.report.snapshot),
        SnapshotFailed { reason: f.reason.clone(), at: f.report.at }.into(),
    )])
}

/// The volume's attachment to the reporting node's instance.
fn node_attachment<'v>(
    view: &'v dyn StateView,
    r: &AttachmentReport,
) -> Result<Option<&'v Attachment>, DecideError> {
    let placed = view.instance(&r.instance).is_some_and(|i| i.node.as_ref() == Some(&r.node));
    if !placed {
        return Err(DecideError::NotPlacedOnNode { instance: r.instance.clone(), node: r.node.clone() });
    }
    let volume = view.volume(&r.volume).ok_or_else(|| DecideError::VolumeNotFound(r.volume.clone()))?;
    Ok(volume.attachment.as_ref().filter(|a| a.instance == r.instance))
}

pub(crate) fn report_attached(r: &AttachmentReport, view: &dyn StateView) -> Result<Events, DecideError> {
    match node_attachment(view, r)? {
        Some(a) if a.state == AttachmentState::Attaching && a.exported => {
            Ok(vec![(StreamId::volume(&r.volume), VolumeAttached { at: r.at }.into())])
        }
        _ => Ok(Vec::new()),
    }
}

pub(crate) fn report_attach_failed(
    f: &AttachmentFailure,
    view: &dyn StateView,
) -> Result<Events, DecideError> {
    match node_attachment(view, &f.report)? {
        Some(a) if a.state == AttachmentState::Attaching => Ok(vec![(
            StreamId::volume(&f.report.volume),
            VolumeAttachFailed { reason: f.reason.clone(), at: f.report.at }.into(),
        )]),
        _ => Ok(Vec::new()),
    }
}

pub(crate) fn report_detached(r: &AttachmentReport, view: &dyn StateView) -> Result<Events, DecideError> {
    match node_attachment(view, r)? {
        Some(a) if a.state == AttachmentState::Detaching && !a.released => {
            Ok(vec![(StreamId::volume(&r.volume), VolumeReleased { at: r.at }.into())])
        }
        _ => Ok(Vec::new()),
    }
}

/// A transitional state past its deadline becomes a recorded failure:
/// creating and deleting → `error`; attaching → undone; detaching → the
/// export revoked without the node.
pub(crate) fn expire_volume(c: &ExpireVolume, view: &dyn StateView) -> Result<Events, DecideError> {
    let volume = view.volume(&c.volume).ok_or_else(|| DecideError::VolumeNotFound(c.volume.clone()))?;
    if volume.deadline().is_none_or(|d| c.at < d) {
        return Ok(Vec::new());
    }
    let stream = StreamId::volume(&c.volume);
    let event = match (volume.state, &volume.attachment) {
        (VolumeState::Creating, _) => {
            VolumeFailed { reason: "the volume was not made in time".into(), at: c.at }.into()
        }
        (VolumeState::Deleting, _) => {
            VolumeFailed { reason: "the volume was not deleted in time".into(), at: c.at }.into()
        }
        (_, Some(a)) if a.state == AttachmentState::Attaching => {
            VolumeAttachFailed { reason: "the volume was not attached in time".into(), at: c.at }.into()
        }
        (_, Some(a)) if a.state == AttachmentState::Detaching && !a.forced => {
            VolumeDetachForced { reason: "the node did not detach the volume in time".into(), at: c.at }
                .into()
        }
        _ => return Ok(Vec::new()),
    };
    let attach_failed = matches!(&event, crate::Event::VolumeAttachFailed(_));
    let mut events: Events = vec![(stream, event)];
    if attach_failed {
        events.extend(super::launch::after_root_attach_failed(
            view,
            volume,
            "it was not attached in time",
            c.at,
        )?);
    }
    if volume.state == VolumeState::Creating {
        events.extend(super::launch::after_creation(view, volume, Some("it was not made in time"), c.at)?);
    }
    Ok(events)
}

pub(crate) fn expire_snapshot(c: &ExpireSnapshot, view: &dyn StateView) -> Result<Events, DecideError> {
    let snapshot =
        view.snapshot(&c.snapshot).ok_or_else(|| DecideError::SnapshotNotFound(c.snapshot.clone()))?;
    if snapshot.deadline().is_none_or(|d| c.at < d) {
        return Ok(Vec::new());
    }
    Ok(vec![(
        StreamId::snapshot(&c.snapshot),
        SnapshotFailed { reason: "the snapshot was not taken in time".into(), at: c.at }.into(),
    )])
}

/// The detaches an instance's end asks for: each of its volumes still
/// attached (or attaching) is detached without waiting for the node, whose
/// guest is gone; each volume made for it at launch and not attached yet
/// is given up (deleted if it was to go with the instance). Needs the
/// volumes' streams.
pub(crate) fn detach_all(
    view: &dyn StateView,
    instance: &crate::instances::Instance,
    at: Timestamp,
) -> Result<Events, DecideError> {
    need(view, instance.volumes.values().map(StreamId::volume))?;
    let mut events = Events::new();
    for volume in instance.volumes.values() {
        let Some(a) = view.volume(volume).and_then(|v| v.attachment.as_ref()) else { continue };
        if a.instance == instance.id && !(a.state == AttachmentState::Detaching && a.forced) {
            events.push((StreamId::volume(volume), VolumeDetachRequested { force: true, at }.into()));
        }
    }
    events.extend(super::launch::end_planned(view, instance, at));
    Ok(events)
}
