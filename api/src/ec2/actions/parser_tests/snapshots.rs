//! Snapshot actions: of a volume or of an instance's volumes, copying,
//! describing, deleting and their attributes.

use super::{Case, Then, builds, check_all, strs, tags};
use domain::Command;

pub(super) const SNAPSHOTS: &[Case] = &[
    Case {
        action: "CreateSnapshot",
        given: "VolumeId=$volume&Description=nightly backup&TagSpecification.1.ResourceType=snapshot\
                &TagSpecification.1.Tag.1.Key=backup&TagSpecification.1.Tag.1.Value=nightly",
        then: builds!(CreateSnapshot, |f, c| {
            assert_eq!((c.volume.as_str(), c.description.as_str()), (f.id("$volume"), "nightly backup"));
            assert_eq!(c.tags, tags("backup=nightly"));
        }),
        refused: ("VolumeId=$volume&TagSpecification.1.ResourceType=volume", "InvalidParameterValue"),
    },
    Case {
        // aws ec2 create-snapshots --instance-specification InstanceId=…
        // --copy-tags-from-source volume: a snapshot of each attached
        // volume (the first one stops the capture), with the volume's tags.
        action: "CreateSnapshots",
        given: "InstanceSpecification.InstanceId=$instance&Description=before upgrade\
                &CopyTagsFromSource=volume&TagSpecification.1.ResourceType=snapshot\
                &TagSpecification.1.Tag.1.Key=backup&TagSpecification.1.Tag.1.Value=pre-upgrade",
        then: builds!(CreateSnapshot, |f, c| {
            assert_eq!((c.volume.as_str(), c.description.as_str()), (f.id("$attached"), "before upgrade"));
            assert_eq!(c.tags, tags("backup=pre-upgrade&Name=fixture-web-1"));
        }),
        refused: ("Description=before upgrade", "MissingParameter"),
    },
    Case {
        // CopyTagsFromSource takes `volume` only: another value is refused,
        // not taken as "no".
        action: "CreateSnapshots",
        given: "InstanceSpecification.InstanceId=$instance",
        then: builds!(CreateSnapshot, |f, c| {
            assert_eq!(c.volume.as_str(), f.id("$attached"));
            assert!(c.tags.is_empty(), "{:?}", c.tags);
        }),
        refused: (
            "InstanceSpecification.InstanceId=$instance&CopyTagsFromSource=instance",
            "InvalidParameterValue",
        ),
    },
    Case {
        action: "DescribeSnapshots",
        given: "SnapshotId.1=$snapshot&Owner.1=self&Filter.1.Name=status&Filter.1.Value.1=completed",
        then: Then::Answers {
            carries: &[
                r#"ids: [SnapshotId("$snapshot")], owners: ["self"], restorable_by: []"#,
                r#"Filter { name: "status", values: ["completed"] }"#,
            ],
            root: "DescribeSnapshotsResponse",
            shows: &["<snapshotId>$snapshot</snapshotId>"],
        },
        refused: ("Filter.1.Name=size&Filter.1.Value.1=1", "InvalidParameterValue"),
    },
    Case {
        action: "DeleteSnapshot",
        given: "SnapshotId=$snapshot",
        then: builds!(DeleteSnapshot, |f, c| assert_eq!(c.snapshot.as_str(), f.id("$snapshot"))),
        refused: ("SnapshotId=$volume", "InvalidSnapshotID.Malformed"),
    },
    Case {
        action: "CopySnapshot",
        given: "SourceSnapshotId=$snapshot&SourceRegion=yukari&Description=copy of the fixture backup\
                &TagSpecification.1.ResourceType=snapshot&TagSpecification.1.Tag.1.Key=copy\
                &TagSpecification.1.Tag.1.Value=yes",
        then: builds!(CopySnapshot, |f, c| {
            let asked = (c.source.as_str(), c.description.as_str());
            assert_eq!(asked, (f.id("$snapshot"), "copy of the fixture backup"));
            assert_eq!(c.tags, tags("copy=yes"));
        }),
        refused: ("SourceSnapshotId=$snapshot&SourceRegion=yukari&Encrypted=true", "UnsupportedOperation"),
    },
    Case {
        action: "DescribeSnapshotAttribute",
        given: "SnapshotId=$snapshot&Attribute=createVolumePermission",
        then: Then::Answers {
            carries: &[
                r#"Describe { snapshot: SnapshotId("$snapshot"), attribute: "createVolumePermission" }"#,
            ],
            root: "DescribeSnapshotAttributeResponse",
            shows: &["<snapshotId>$snapshot</snapshotId>", "createVolumePermission"],
        },
        refused: ("SnapshotId=$snapshot", "MissingParameter"),
    },
    Case {
        // aws ec2 modify-snapshot-attribute --create-volume-permission
        // "Add=[{UserId=…}],Remove=[{Group=all}]"
        action: "ModifySnapshotAttribute",
        given: "SnapshotId=$snapshot&CreateVolumePermission.Add.1.UserId=$alice\
                &CreateVolumePermission.Remove.1.Group=all",
        then: builds!(ModifySnapshotAttribute, |f, c| {
            assert_eq!(c.snapshot.as_str(), f.id("$snapshot"));
            assert_eq!(
                (strs(&c.add), strs(&c.remove), c.public),
                (vec![f.id("$alice")], vec![], Some(false))
            );
        }),
        refused: ("SnapshotId=$snapshot&Attribute=productCodes", "InvalidParameterValue"),
    },
    Case {
        // euca-modify-snapshot-attribute -c -a 444455556666 -a all (the flat shape)
        action: "ModifySnapshotAttribute",
        given: "SnapshotId=$snapshot&Attribute=createVolumePermission&OperationType=add&UserId.1=$bob\
                &UserGroup.1=all",
        then: builds!(ModifySnapshotAttribute, |f, c| {
            assert_eq!((strs(&c.add), strs(&c.remove), c.public), (vec![f.id("$bob")], vec![], Some(true)))
        }),
        refused: ("SnapshotId=$snapshot&OperationType=share&UserId.1=$bob", "InvalidParameterValue"),
    },
    Case {
        action: "ResetSnapshotAttribute",
        given: "SnapshotId=$snapshot&Attribute=createVolumePermission",
        then: builds!(ResetSnapshotAttribute, |f, c| assert_eq!(c.snapshot.as_str(), f.id("$snapshot"))),
        refused: ("SnapshotId=$snapshot&Attribute=productCodes", "InvalidParameterValue"),
    },
];

#[tokio::test]
async fn snapshot_actions() {
    check_all(SNAPSHOTS).await;
}
