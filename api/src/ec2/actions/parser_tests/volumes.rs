//! Volume actions: creating (empty or of a snapshot), attaching,
//! detaching, deleting, their status and attributes.

use super::{Case, Then, builds, check_all, tags, zone};
use domain::Command;

pub(super) const VOLUMES: &[Case] = &[
    Case {
        action: "CreateVolume",
        given: "Size=8&AvailabilityZone=yukari-1a&VolumeType=gp3&ClientToken=data-volume-0001\
                &TagSpecification.1.ResourceType=volume&TagSpecification.1.Tag.1.Key=Name\
                &TagSpecification.1.Tag.1.Value=data",
        then: builds!(CreateVolume, |_, c| {
            let asked = (&c.zone, c.size_gib, &c.snapshot, c.volume_type.as_str());
            assert_eq!(asked, (&zone(), Some(8), &None, "gp3"));
            assert_eq!(c.tags, tags("Name=data"));
        }),
        refused: ("Size=0&AvailabilityZone=yukari-1a", "InvalidParameterValue"),
    },
    Case {
        // A volume of a snapshot, its size the snapshot's.
        action: "CreateVolume",
        given: "SnapshotId=$snapshot&AvailabilityZone=yukari-1a",
        then: builds!(CreateVolume, |f, c| {
            let snapshot = c.snapshot.as_ref().map(|s| s.as_str());
            assert_eq!(
                (c.size_gib, snapshot, c.volume_type.as_str()),
                (None, Some(f.id("$snapshot")), "gp2")
            );
        }),
        refused: ("AvailabilityZone=yukari-1a", "MissingParameter"),
    },
    Case {
        // Provisioned IOPS: within gp3's range; not for gp2 (nor standard).
        action: "CreateVolume",
        given: "Size=8&AvailabilityZone=yukari-1a&VolumeType=gp3&Iops=5000",
        then: builds!(CreateVolume, |_, c| assert_eq!(c.volume_type, "gp3")),
        refused: (
            "Size=8&AvailabilityZone=yukari-1a&VolumeType=gp2&Iops=5000",
            "InvalidParameterCombination",
        ),
    },
    Case {
        action: "CreateVolume",
        given: "Size=8&AvailabilityZone=yukari-1a&VolumeType=standard",
        then: builds!(CreateVolume, |_, c| assert_eq!(c.volume_type, "standard")),
        refused: ("Size=8&AvailabilityZone=yukari-1a&VolumeType=gp3&Iops=20000", "InvalidParameterValue"),
    },
    Case {
        action: "CreateVolume",
        given: "Size=8&AvailabilityZone=yukari-1a&VolumeType=gp3&Iops=3000",
        then: builds!(CreateVolume, |_, c| assert_eq!(c.size_gib, Some(8))),
        refused: ("Size=8&AvailabilityZone=yukari-1a&Iops=3000", "InvalidParameterCombination"),
    },
    Case {
        action: "DescribeVolumes",
        given: "VolumeId.1=$volume&Filter.1.Name=status&Filter.1.Value.1=available",
        then: Then::Answers {
            carries: &[
                r#"ids: [VolumeId("$volume")]"#,
                r#"Filter { name: "status", values: ["available"] }"#,
            ],
            root: "DescribeVolumesResponse",
            shows: &["<volumeId>$volume</volumeId>"],
        },
        refused: ("VolumeId.1=$volume&MaxResults=5", "InvalidParameterCombination"),
    },
    Case {
        action: "DeleteVolume",
        given: "VolumeId=$volume",
        then: builds!(DeleteVolume, |f, c| assert_eq!(c.volume.as_str(), f.id("$volume"))),
        refused: ("VolumeId=vol-xyz", "InvalidVolumeID.Malformed"),
    },
    Case {
        action: "AttachVolume",
        given: "VolumeId=$volume&InstanceId=$instance&Device=/dev/sdh",
        then: builds!(AttachVolume, |f, c| {
            let asked = (c.volume.as_str(), c.instance.as_str(), c.device.as_str());
            assert_eq!(asked, (f.id("$volume"), f.id("$instance"), "/dev/sdh"));
        }),
        // The root device is not for volumes attached later.
        refused: ("VolumeId=$volume&InstanceId=$instance&Device=/dev/sda1", "InvalidParameterValue"),
    },
    Case {
        action: "DetachVolume",
        given: "VolumeId=$attached&InstanceId=$instance&Device=/dev/sdf&Force=true",
        then: builds!(DetachVolume, |f, c| {
            let asked =
                (c.volume.as_str(), c.instance.as_ref().map(|i| i.as_str()), c.device.as_deref(), c.force);
            assert_eq!(asked, (f.id("$attached"), Some(f.id("$instance")), Some("/dev/sdf"), true));
        }),
        refused: ("InstanceId=$instance", "MissingParameter"),
    },
    Case {
        action: "DescribeVolumeStatus",
        given: "VolumeId.1=$volume&Filter.1.Name=volume-status.status&Filter.1.Value.1=ok",
        then: Then::Answers {
            carries: &[
                r#"ids: [VolumeId("$volume")]"#,
                r#"Filter { name: "volume-status.status", values: ["ok"] }"#,
            ],
            root: "DescribeVolumeStatusResponse",
            shows: &["<volumeId>$volume</volumeId>", "<name>io-enabled</name><status>passed</status>"],
        },
        refused: ("VolumeId.1=snap-0123456789abcdef0", "InvalidVolumeID.Malformed"),
    },
    Case {
        action: "DescribeVolumeAttribute",
        given: "VolumeId=$volume&Attribute=autoEnableIO",
        then: Then::Answers {
            carries: &[r#"Describe { volume: VolumeId("$volume"), attribute: "autoEnableIO" }"#],
            root: "DescribeVolumeAttributeResponse",
            shows: &["<autoEnableIO><value>true</value></autoEnableIO>"],
        },
        refused: ("VolumeId=$volume&Attribute=size", "InvalidParameterValue"),
    },
    Case {
        // Builds no command: a volume's I/O is never turned off in
        // Yukari, so autoEnableIO true is accepted and changes nothing.
        action: "ModifyVolumeAttribute",
        given: "VolumeId=$volume&AutoEnableIO.Value=true",
        then: Then::Answers {
            carries: &[r#"Modify { volume: VolumeId("$volume") }"#],
            root: "ModifyVolumeAttributeResponse",
            shows: &["<return>true</return>"],
        },
        refused: ("VolumeId=$volume&AutoEnableIO.Value=false", "UnsupportedOperation"),
    },
];

#[tokio::test]
async fn volume_actions() {
    check_all(VOLUMES).await;
}
