//! Renderings shared by several actions: times, instance items and
//! reservations, in the EC2 response shapes.

use crate::ec2::xml::Xml;
use domain::{InstanceState, SecurityGroupId, Timestamp};
use projections::{InstanceRow, ReadModels};

/// `2026-11-25T10:00:00.000Z`, as EC2 writes times.
pub fn iso_time(t: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.millis()) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// `2026-11-25 10:00:00 GMT`, as EC2 writes transition reasons.
fn gmt_time(t: Timestamp) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] GMT");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.millis()) * 1_000_000)
        .ok()
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_default()
}

pub fn state(x: &mut Xml, element: &'static str, state: InstanceState) {
    x.open(element).display("code", state.code()).text("name", state.name()).close();
}

/// One `<item>` of an `instancesSet`.
pub fn instance_item(x: &mut Xml, row: &InstanceRow, models: &ReadModels) {
    let image = models.images.get(&row.image);
    x.open("item");
    x.text("instanceId", row.id.as_str());
    x.text("imageId", row.image.as_str());
    state(x, "instanceState", row.state);
    // No DNS of its own: names are the addresses, as Eucalyptus gave them
    // without DNS.
    x.text("privateDnsName", row.private_address.as_deref().unwrap_or(""));
    x.text("dnsName", row.public_address.as_deref().unwrap_or(""));
    let reason = match (row.state, row.reason.as_ref().map(|r| r.code.as_str())) {
        (InstanceState::Pending | InstanceState::Running, _) => String::new(),
        (_, Some("Server.InternalError")) => "Server error".to_owned(),
        (_, Some("Client.InstanceInitiatedShutdown")) => "Instance initiated shutdown".to_owned(),
        _ => format!("User initiated ({})", gmt_time(row.state_changed_at)),
    };
    x.text("reason", &reason);
    x.opt("keyName", row.key_name.as_deref());
    x.display("amiLaunchIndex", row.launch_index);
    x.empty("productCodes");
    x.text("instanceType", &row.vm_type);
    x.text("launchTime", &iso_time(row.launched_at));
    x.open("placement");
    x.opt("availabilityZone", row.zone.as_ref().map(|z| z.as_str()));
    x.empty("groupName").text("tenancy", "default");
    x.close();
    x.opt("kernelId", row.kernel.as_ref().map(|k| k.as_str()));
    x.opt("ramdiskId", row.ramdisk.as_ref().map(|r| r.as_str()));
    x.open("monitoring").text("state", "disabled").close();
    x.opt("privateIpAddress", row.private_address.as_deref());
    x.opt("ipAddress", row.public_address.as_deref());
    group_set(x, &row.groups, models);
    if let Some(reason) = &row.reason {
        x.open("stateReason").text("code", &reason.code).text("message", &reason.message).close();
    }
    x.text("architecture", image.map_or("x86_64", |i| i.architecture.as_str()));
    match root_device(&row.id, models) {
        Some(device) => x.text("rootDeviceType", "ebs").text("rootDeviceName", device),
        None => x.text("rootDeviceType", "instance-store").text("rootDeviceName", "/dev/sda1"),
    };
    block_device_mapping(x, &row.id, models);
    x.text("virtualizationType", "paravirtual");
    x.text("clientToken", row.client_token.as_deref().unwrap_or(""));
    crate::ec2::tagging::tag_set(x, &models.tags, row.id.as_str());
    x.text("hypervisor", "xen");
    x.empty("networkInterfaceSet");
    x.display("ebsOptimized", false);
    x.close();
}

/// `<groupSet>` with each group's id and name.
pub fn group_set(x: &mut Xml, groups: &[SecurityGroupId], models: &ReadModels) {
    x.open("groupSet");
    for g in groups {
        x.open("item").text("groupId", g.as_str());
        x.opt("groupName", models.security.groups.get(g).map(|row| row.name.as_str()));
        x.close();
    }
    x.close();
}

/// One `<item>` of a `reservationSet` with the given instances.
pub fn reservation_item(x: &mut Xml, rows: &[&InstanceRow], models: &ReadModels) {
    let Some(first) = rows.first() else { return };
    x.open("item");
    x.text("reservationId", first.reservation.as_str());
    x.text("ownerId", first.account.as_str());
    group_set(x, &first.groups, models);
    x.open("instancesSet");
    for row in rows {
        instance_item(x, row, models);
    }
    x.close();
    x.close();
}

/// `<blockDeviceMapping>` of an image: an EBS-backed image's devices with
/// their snapshots (empty for an instance-store image).
pub fn image_block_device_mapping(x: &mut Xml, row: &projections::ImageRow) {
    let Some(ebs) = &row.ebs else {
        x.empty("blockDeviceMapping");
        return;
    };
    x.open("blockDeviceMapping");
    for d in &ebs.devices {
        x.open("item").text("deviceName", &d.device).open("ebs");
        x.opt("snapshotId", d.snapshot.as_ref().map(|s| s.as_str()));
        x.display("volumeSize", d.size_gib);
        x.display("deleteOnTermination", d.delete_on_termination);
        x.text("volumeType", &d.volume_type);
        x.close().close();
    }
    x.close();
}

/// The root device of an EBS-backed instance (a volume is mapped there).
pub fn root_device<'m>(instance: &domain::InstanceId, models: &'m ReadModels) -> Option<&'m str> {
    let devices = models.volumes.by_instance.get(instance)?;
    devices.keys().map(String::as_str).find(|d| domain::volumes::is_root_device(d))
}

/// `<blockDeviceMapping>`: the EBS volumes attached to an instance, by
/// device name (with the root device's, for an EBS-backed instance). A
/// volume of its block device mappings not attached yet (being made, or
/// the instance not running yet) is `attaching`, as EC2 shows it.
pub fn block_device_mapping(x: &mut Xml, instance: &domain::InstanceId, models: &ReadModels) {
    let attached = models.volumes.by_instance.get(instance);
    if attached.is_none_or(|devices| devices.is_empty()) {
        x.empty("blockDeviceMapping");
        return;
    }
    x.open("blockDeviceMapping");
    for (device, volume) in attached.into_iter().flatten() {
        let Some(row) = models.volumes.volumes.get(volume) else { continue };
        let (status, since, delete_on_termination) = match (&row.attachment, &row.planned) {
            (Some(a), _) if &a.instance == instance => {
                (a.state.as_str(), a.attach_time, a.delete_on_termination)
            }
            (None, Some(p)) if &p.instance == instance => ("attaching", p.at, p.delete_on_termination),
            _ => continue,
        };
        x.open("item");
        x.text("deviceName", device);
        x.open("ebs");
        x.text("volumeId", volume.as_str());
        x.text("status", status);
        x.text("attachTime", &iso_time(since));
        x.display("deleteOnTermination", delete_on_termination);
        x.close();
        x.close();
    }
    x.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_ec2_does() {
        assert_eq!(iso_time(Timestamp(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(Timestamp(1_764_064_800_123)), "2025-11-25T10:00:00.123Z");
        assert_eq!(gmt_time(Timestamp(1_764_064_800_123)), "2025-11-25 10:00:00 GMT");
    }
}
