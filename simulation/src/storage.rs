//! The simulated storage controller: what it reports about the volumes
//! and snapshots of its zone, one report at a time, in an order drawn from
//! the seed, and none while it is cut off from the controller. It answers
//! from the read models, as the simulated node does: the storage
//! controller's own code (files, tgt, chunks) is the real-process tests'.
//! It exports a volume to an attachment's grant and revokes the export
//! once the attachment is undone.

use domain::volumes::{
    AttachmentState, SnapshotDone, SnapshotProgress, SnapshotReport, SnapshotState, VolumeFailure,
    VolumeReport, VolumeState,
};
use domain::{Command, Principal, SnapshotId, VolumeId, ZoneName};
use projections::ReadModels;
use rand::Rng;
use rand::rngs::StdRng;

/// A step of the storage controller's: a volume to make or delete, or a
/// snapshot to take.
#[derive(Clone, Debug)]
enum Due {
    Volume(VolumeId, VolumeState),
    Snapshot(SnapshotId, u8),
    /// Export the volume to its attachment's grant.
    Export(VolumeId),
    /// Revoke the export of an attachment being undone.
    Revoke(VolumeId),
}

fn due(models: &ReadModels, zone: &ZoneName) -> Vec<Due> {
    let volumes = models.volumes.volumes.iter().filter(|(_, v)| &v.zone == zone);
    let snapshots = models.volumes.snapshots.iter().filter(|(_, s)| &s.zone == zone);
    let attachments = volumes.clone().filter_map(|(id, v)| {
        let a = v.attachment.as_ref()?;
        match a.state {
            AttachmentState::Attaching if !a.exported => Some(Due::Export(id.clone())),
            AttachmentState::Detaching if a.released || a.forced => Some(Due::Revoke(id.clone())),
            _ => None,
        }
    });
    volumes
        .filter(|(_, v)| matches!(v.state, VolumeState::Creating | VolumeState::Deleting))
        .map(|(id, v)| Due::Volume(id.clone(), v.state))
        .chain(attachments)
        .chain(
            snapshots
                .filter(|(_, s)| s.state == SnapshotState::Pending)
                .map(|(id, s)| Due::Snapshot(id.clone(), s.progress)),
        )
        .collect()
}

/// The report of one step, chosen at random among those due; a volume's
/// making fails now and then.
pub fn next_report(
    models: &ReadModels,
    zone: &ZoneName,
    rng: &mut StdRng,
    at: domain::Timestamp,
) -> Option<Command> {
    let due = due(models, zone);
    if due.is_empty() {
        return None;
    }
    Some(match due[rng.gen_range(0..due.len())].clone() {
        Due::Volume(volume, VolumeState::Creating) if rng.gen_ratio(1, 20) => {
            let report = VolumeReport { zone: zone.clone(), volume, at };
            Command::ReportVolumeCreateFailed(VolumeFailure {
                report,
                reason: "the simulated storage refused the volume".into(),
            })
        }
        Due::Volume(volume, VolumeState::Creating) => {
            Command::ReportVolumeCreated(VolumeReport { zone: zone.clone(), volume, at })
        }
        Due::Volume(volume, _) => {
            Command::ReportVolumeDeleted(VolumeReport { zone: zone.clone(), volume, at })
        }
        Due::Export(volume) => Command::ReportVolumeExported(VolumeReport { zone: zone.clone(), volume, at }),
        Due::Revoke(volume) => Command::ReportVolumeRevoked(VolumeReport { zone: zone.clone(), volume, at }),
        Due::Snapshot(snapshot, progress) if progress < 50 && rng.gen_ratio(1, 2) => {
            let report = SnapshotReport { zone: zone.clone(), snapshot, at };
            Command::ReportSnapshotProgress(SnapshotProgress { report, percent: 50 })
        }
        Due::Snapshot(snapshot, _) => {
            let manifest = format!("sim/{snapshot}");
            let report = SnapshotReport { zone: zone.clone(), snapshot, at };
            Command::ReportSnapshotCompleted(SnapshotDone { report, manifest })
        }
    })
}

/// Is anything of the zone's storage still between two states?
pub fn settled(models: &ReadModels, zone: &ZoneName) -> bool {
    due(models, zone).is_empty()
}

/// Who reports.
pub fn principal() -> Principal {
    Principal::system("storage-controller")
}
