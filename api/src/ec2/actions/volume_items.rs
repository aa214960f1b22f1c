//! What the volume and snapshot actions share: parsing their ids, and
//! the `<item>`s of a volume, its attachment and a snapshot, in EC2's shapes.

use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use crate::ec2::render::iso_time;
use crate::ec2::tagging::tag_set;
use crate::ec2::xml::Xml;
use domain::{SnapshotId, VolumeId};
use projections::{AttachmentRow, SnapshotRow, TagsView, VolumeRow};

pub(crate) fn volume_id(text: &str) -> Result<VolumeId, Ec2Error> {
    VolumeId::parse(text).map_err(|_| {
        Ec2Error::new(
            Code::InvalidVolumeIdMalformed,
            format!("Invalid id: \"{text}\" (expecting \"vol-...\")"),
        )
    })
}

pub(crate) fn snapshot_id(text: &str) -> Result<SnapshotId, Ec2Error> {
    SnapshotId::parse(text).map_err(|_| {
        Ec2Error::new(
            Code::InvalidSnapshotIdMalformed,
            format!("Invalid id: \"{text}\" (expecting \"snap-...\")"),
        )
    })
}

/// `prefix.N` volume ids.
pub(crate) fn volume_ids(params: &Params, prefix: &str) -> Result<Vec<VolumeId>, Ec2Error> {
    params.list(prefix).into_iter().map(volume_id).collect()
}

/// `prefix.N` snapshot ids.
pub(crate) fn snapshot_ids(params: &Params, prefix: &str) -> Result<Vec<SnapshotId>, Ec2Error> {
    params.list(prefix).into_iter().map(snapshot_id).collect()
}

/// The elements of an attachment (AttachVolume's and DetachVolume's answer,
/// an `attachmentSet` item). `status` overrides the attachment's own.
pub(crate) fn attachment_fields(x: &mut Xml, volume: &VolumeId, a: &AttachmentRow, status: Option<&str>) {
    x.text("volumeId", volume.as_str());
    x.text("instanceId", a.instance.as_str());
    x.text("device", &a.device);
    x.text("status", status.unwrap_or(a.state.as_str()));
    x.text("attachTime", &iso_time(a.attach_time));
    x.display("deleteOnTermination", a.delete_on_termination);
}

/// A volume's fields (DescribeVolumes' `item`, CreateVolume's answer).
pub(crate) fn volume_fields(x: &mut Xml, id: &VolumeId, row: &VolumeRow, tags: &TagsView) {
    x.text("volumeId", id.as_str());
    x.display("size", row.size_gib);
    x.text("snapshotId", row.snapshot.as_ref().map_or("", |s| s.as_str()));
    x.text("availabilityZone", row.zone.as_str());
    x.text("status", row.state.as_str());
    x.text("createTime", &iso_time(row.created_at));
    x.open("attachmentSet");
    if let Some(a) = &row.attachment {
        x.open("item");
        attachment_fields(x, id, a, None);
        x.close();
    }
    x.close();
    tag_set(x, tags, id.as_str());
    x.text("volumeType", &row.volume_type);
    x.display("encrypted", false);
    x.display("multiAttachEnabled", false);
    if row.volume_type == "gp3" {
        x.display("iops", 3000);
        x.display("throughput", 125);
    } else if row.volume_type == "gp2" {
        x.display("iops", (row.size_gib.saturating_mul(3)).clamp(100, 16_000));
    }
}

/// The `progress` EC2 shows: `NN%`.
pub(crate) fn progress(row: &SnapshotRow) -> String {
    format!("{}%", row.progress)
}

/// A snapshot's fields (DescribeSnapshots' `item`, CreateSnapshot's answer).
pub(crate) fn snapshot_fields(x: &mut Xml, id: &SnapshotId, row: &SnapshotRow, tags: &TagsView) {
    x.text("snapshotId", id.as_str());
    x.text("volumeId", row.volume.as_str());
    x.text("status", row.state.as_str());
    x.opt("statusMessage", row.error.as_deref());
    x.text("startTime", &iso_time(row.started_at));
    x.text("progress", &progress(row));
    x.text("ownerId", row.account.as_str());
    x.display("volumeSize", row.size_gib);
    x.text("description", &row.description);
    x.display("encrypted", false);
    x.text("storageTier", "standard");
    tag_set(x, tags, id.as_str());
}

/// What needs the zone's storage controller is refused while it is
/// unreachable (it would stay `creating` or `attaching` until its deadline).
pub(crate) fn storage_reachable(app: &crate::app::App, zone: &domain::ZoneName) -> Result<(), Ec2Error> {
    match app.storage_targets.silent(zone) {
        None => Ok(()),
        Some(silent) => Err(Ec2Error::new(
            Code::Unavailable,
            format!(
                "The storage controller of {zone} has not been heard from for {} s; try again when it is back.",
                silent.as_secs()
            ),
        )),
    }
}

/// [`storage_reachable`] for the zone of a volume (none to check for a
/// volume the caller does not have: the action refuses that itself).
pub(crate) fn volume_storage_reachable(
    app: &crate::app::App,
    ctx: &crate::ec2::Ctx,
    volume: &VolumeId,
) -> Result<(), Ec2Error> {
    let zone = ctx.models(app).volumes.volumes.get(volume).map(|row| row.zone.clone());
    match zone {
        Some(zone) => storage_reachable(app, &zone),
        None => Ok(()),
    }
}
