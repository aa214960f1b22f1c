//! `BlockDeviceMapping.N.*` as RunInstances and ModifyInstanceAttribute
//! take them.
//!
//! RunInstances: `.Ebs.*` makes a new volume (`VolumeSize`, `SnapshotId`,
//! `VolumeType`, `DeleteOnTermination`, true unless given, as on EC2);
//! `.NoDevice` is accepted and attaches nothing (Yukari's images map no
//! devices to suppress); `.VirtualName` `ephemeralN` is accepted and
//! attaches nothing, as EC2 does for an instance type without instance
//! store (Yukari's types have none besides the root disk). Device names
//! are checked by the domain.

use super::create_volume::VOLUME_TYPES;
use super::volume_items::snapshot_id;
use crate::ec2::error::{Code, Ec2Error};
use crate::ec2::params::Params;
use domain::volumes::{BlockDevice, MAX_VOLUME_GIB};
use std::collections::BTreeMap;

const PREFIX: &str = "BlockDeviceMapping.";

/// Each `BlockDeviceMapping.N`'s fields (`DeviceName`, `Ebs.VolumeSize`
/// …), in numeric order of N.
fn mappings(params: &Params) -> BTreeMap<u64, BTreeMap<String, String>> {
    let mut out: BTreeMap<u64, BTreeMap<String, String>> = BTreeMap::new();
    for (name, value) in params.pairs() {
        let Some(rest) = name.strip_prefix(PREFIX) else { continue };
        let Some((n, field)) = rest.split_once('.') else { continue };
        let Ok(n) = n.parse::<u64>() else { continue };
        out.entry(n).or_default().insert(field.to_owned(), value.to_owned());
    }
    out
}

fn invalid(n: u64, why: impl std::fmt::Display) -> Ec2Error {
    Ec2Error::new(Code::InvalidBlockDeviceMapping, format!("{PREFIX}{n}: {why}"))
}

fn boolean(n: u64, field: &str, value: &str) -> Result<bool, Ec2Error> {
    crate::ec2::params::boolean(value).ok_or_else(|| {
        Ec2Error::invalid(format!(
            "Value ({value}) for parameter {PREFIX}{n}.{field} is invalid. Expected a boolean."
        ))
    })
}

/// RunInstances' mappings: the EBS volumes to make, one per mapping with
/// `Ebs`; `NoDevice` and `ephemeralN` mappings make nothing.
pub(crate) fn for_launch(params: &Params) -> Result<Vec<BlockDevice>, Ec2Error> {
    let mut devices = Vec::new();
    for (n, fields) in mappings(params) {
        let get = |f: &str| fields.get(f).map(String::as_str);
        let device = match get("DeviceName") {
            Some(d) if !d.is_empty() => d.to_owned(),
            _ => return Err(Ec2Error::missing(&format!("{PREFIX}{n}.DeviceName"))),
        };
        let ebs = fields.keys().any(|k| k.starts_with("Ebs."));
        let kinds = [ebs, get("NoDevice").is_some(), get("VirtualName").is_some()];
        match kinds.iter().filter(|k| **k).count() {
            0 => return Err(invalid(n, format!("{device} needs Ebs, VirtualName or NoDevice"))),
            1 => {}
            _ => return Err(invalid(n, format!("{device}: give only one of Ebs, VirtualName and NoDevice"))),
        }
        if let Some(name) = get("VirtualName") {
            let ephemeral = name
                .strip_prefix("ephemeral")
                .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
            if !ephemeral {
                return Err(invalid(n, format!("virtual name {name} is not ephemeral0, ephemeral1 …")));
            }
            continue;
        }
        if !ebs {
            continue;
        }
        let size_gib = match get("Ebs.VolumeSize").filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match s.trim().parse::<i64>() {
                Ok(g) if (1..=i64::from(MAX_VOLUME_GIB)).contains(&g) => Some(g as u32),
                _ => {
                    return Err(Ec2Error::invalid(format!(
                        "Value ({s}) for parameter {PREFIX}{n}.Ebs.VolumeSize is invalid: a volume is 1 to \
                         {MAX_VOLUME_GIB} GiB."
                    )));
                }
            },
        };
        let snapshot = get("Ebs.SnapshotId").filter(|s| !s.is_empty()).map(snapshot_id).transpose()?;
        // Neither size nor snapshot changes only DeleteOnTermination of a
        // device the image maps (the domain refuses it for any other).
        let volume_type = get("Ebs.VolumeType").filter(|t| !t.is_empty()).unwrap_or("gp2");
        if !VOLUME_TYPES.contains(&volume_type) {
            return Err(Ec2Error::invalid(format!(
                "Value ({volume_type}) for parameter {PREFIX}{n}.Ebs.VolumeType is invalid. Expected: \
                 standard, gp2, gp3."
            )));
        }
        if let Some(e) = get("Ebs.Encrypted")
            && boolean(n, "Ebs.Encrypted", e)?
        {
            return Err(Ec2Error::new(Code::UnsupportedOperation, "Encrypted volumes are not supported."));
        }
        let delete_on_termination = match get("Ebs.DeleteOnTermination").filter(|v| !v.is_empty()) {
            Some(v) => boolean(n, "Ebs.DeleteOnTermination", v)?,
            None => true,
        };
        devices.push(BlockDevice {
            device,
            size_gib,
            snapshot,
            volume_type: volume_type.to_owned(),
            delete_on_termination,
        });
    }
    Ok(devices)
}

/// ModifyInstanceAttribute's mappings: (device, DeleteOnTermination) for
/// each; `None` when none is given.
pub(crate) fn delete_on_termination(params: &Params) -> Result<Option<Vec<(String, bool)>>, Ec2Error> {
    let mut changes = Vec::new();
    for (n, fields) in mappings(params) {
        let get = |f: &str| fields.get(f).map(String::as_str);
        let device = match get("DeviceName") {
            Some(d) if !d.is_empty() => d.to_owned(),
            _ => return Err(Ec2Error::missing(&format!("{PREFIX}{n}.DeviceName"))),
        };
        if get("NoDevice").is_some() || get("VirtualName").is_some() {
            return Err(Ec2Error::new(
                Code::UnsupportedOperation,
                "Only Ebs.DeleteOnTermination of a mapped volume can be modified (detach a volume with \
                 DetachVolume).",
            ));
        }
        let Some(flag) = get("Ebs.DeleteOnTermination").filter(|v| !v.is_empty()) else {
            return Err(Ec2Error::missing(&format!("{PREFIX}{n}.Ebs.DeleteOnTermination")));
        };
        changes.push((device, boolean(n, "Ebs.DeleteOnTermination", flag)?));
    }
    Ok((!changes.is_empty()).then_some(changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    #[test]
    fn ebs_mappings_become_volumes_and_the_others_nothing() {
        let devices = for_launch(&p(&[
            ("BlockDeviceMapping.2.DeviceName", "/dev/sdg"),
            ("BlockDeviceMapping.2.Ebs.SnapshotId", "snap-0123456789abcdef0"),
            ("BlockDeviceMapping.2.Ebs.DeleteOnTermination", "false"),
            ("BlockDeviceMapping.2.Ebs.VolumeType", "standard"),
            ("BlockDeviceMapping.1.DeviceName", "/dev/sdf"),
            ("BlockDeviceMapping.1.Ebs.VolumeSize", "3"),
            ("BlockDeviceMapping.3.DeviceName", "/dev/sdb"),
            ("BlockDeviceMapping.3.VirtualName", "ephemeral0"),
            ("BlockDeviceMapping.10.DeviceName", "/dev/sdh"),
            ("BlockDeviceMapping.10.NoDevice", ""),
        ]))
        .unwrap();
        assert_eq!(devices.len(), 2);
        assert_eq!(
            (devices[0].device.as_str(), devices[0].size_gib, devices[0].delete_on_termination),
            ("/dev/sdf", Some(3), true)
        );
        assert_eq!(devices[0].volume_type, "gp2");
        assert_eq!(devices[1].snapshot.as_ref().map(|s| s.as_str()), Some("snap-0123456789abcdef0"));
        assert_eq!((devices[1].size_gib, devices[1].delete_on_termination), (None, false));
        assert_eq!(devices[1].volume_type, "standard");
        assert!(for_launch(&p(&[])).unwrap().is_empty());
    }

    #[test]
    fn bad_mappings_are_refused_with_ec2s_codes() {
        let code = |pairs: &[(&str, &str)]| for_launch(&p(pairs)).unwrap_err().code;
        assert_eq!(code(&[("BlockDeviceMapping.1.Ebs.VolumeSize", "1")]), "MissingParameter");
        assert_eq!(code(&[("BlockDeviceMapping.1.DeviceName", "/dev/sdf")]), "InvalidBlockDeviceMapping");
        let dev = ("BlockDeviceMapping.1.DeviceName", "/dev/sdf");
        // Neither size nor snapshot: only for a device the image maps, which
        // the domain checks.
        let only_flag =
            for_launch(&p(&[dev, ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "false")])).unwrap();
        assert_eq!((only_flag[0].size_gib, only_flag[0].delete_on_termination), (None, false));
        assert_eq!(code(&[dev, ("BlockDeviceMapping.1.VirtualName", "swap")]), "InvalidBlockDeviceMapping");
        assert_eq!(
            code(&[
                dev,
                ("BlockDeviceMapping.1.VirtualName", "ephemeral0"),
                ("BlockDeviceMapping.1.Ebs.VolumeSize", "1")
            ]),
            "InvalidBlockDeviceMapping"
        );
        assert_eq!(code(&[dev, ("BlockDeviceMapping.1.Ebs.VolumeSize", "0")]), "InvalidParameterValue");
        assert_eq!(code(&[dev, ("BlockDeviceMapping.1.Ebs.VolumeSize", "x")]), "InvalidParameterValue");
        assert_eq!(
            code(&[
                dev,
                ("BlockDeviceMapping.1.Ebs.VolumeSize", "1"),
                ("BlockDeviceMapping.1.Ebs.VolumeType", "io1")
            ]),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(&[dev, ("BlockDeviceMapping.1.Ebs.SnapshotId", "snap-1")]),
            "InvalidSnapshotID.Malformed"
        );
        assert_eq!(
            code(&[
                dev,
                ("BlockDeviceMapping.1.Ebs.VolumeSize", "1"),
                ("BlockDeviceMapping.1.Ebs.Encrypted", "true")
            ]),
            "UnsupportedOperation"
        );
    }

    #[test]
    fn modify_takes_delete_on_termination_per_device() {
        let changes = delete_on_termination(&p(&[
            ("BlockDeviceMapping.1.DeviceName", "/dev/sdf"),
            ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true"),
            ("BlockDeviceMapping.2.DeviceName", "/dev/sdg"),
            ("BlockDeviceMapping.2.Ebs.DeleteOnTermination", "False"),
        ]))
        .unwrap();
        assert_eq!(changes, Some(vec![("/dev/sdf".into(), true), ("/dev/sdg".into(), false)]));
        assert_eq!(delete_on_termination(&p(&[])).unwrap(), None);
        let missing = delete_on_termination(&p(&[("BlockDeviceMapping.1.DeviceName", "/dev/sdf")]));
        assert_eq!(missing.unwrap_err().code, "MissingParameter");
    }
}
