//! Image actions: registering (EBS-backed and bundled), creating from an
//! instance, describing, deregistering and their attributes.

use super::{Case, Then, builds, check_all, device, strs};
use domain::images::EbsRegistration;
use domain::{Command, ImageKind};
use std::collections::BTreeSet;

pub(super) const IMAGES: &[Case] = &[
    Case {
        action: "DescribeImages",
        given: "ImageId.1=$image&Owner.1=self&ExecutableBy.1=self&Filter.1.Name=root-device-type\
                &Filter.1.Value.1=ebs",
        then: Then::Answers {
            carries: &[
                r#"ids: [ImageId("$image")], owners: ["self"], executable_by: ["self"]"#,
                r#"Filter { name: "root-device-type", values: ["ebs"] }"#,
            ],
            root: "DescribeImagesResponse",
            shows: &["<imageId>$image</imageId>"],
        },
        refused: ("ImageId.1=emi-xyz", "InvalidAMIID.Malformed"),
    },
    Case {
        // aws ec2 register-image --root-device-name /dev/sda1
        // --block-device-mappings … of an EBS-backed image.
        action: "RegisterImage",
        given: "Name=web-image-v2&Description=web tier, v2&Architecture=x86_64&RootDeviceName=/dev/sda1\
                &BlockDeviceMapping.1.DeviceName=/dev/sda1&BlockDeviceMapping.1.Ebs.SnapshotId=$snapshot\
                &BlockDeviceMapping.2.DeviceName=/dev/sdb&BlockDeviceMapping.2.Ebs.VolumeSize=5\
                &BlockDeviceMapping.2.Ebs.DeleteOnTermination=false",
        then: builds!(RegisterImage, |f, c| {
            let named = (c.kind, c.name.as_str(), c.description.as_str(), c.architecture.as_str());
            assert_eq!(named, (ImageKind::Machine, "web-image-v2", "web tier, v2", "x86_64"));
            assert_eq!(c.location, format!("{}/web-image-v2", f.id("$account")));
            assert_eq!((c.public, c.bundle.is_none(), c.kernel.is_none()), (false, true, true));
            let devices = vec![
                device("/dev/sda1", None, Some(f.id("$snapshot")), "gp2", true),
                device("/dev/sdb", Some(5), None, "gp2", false),
            ];
            assert_eq!(c.ebs, Some(EbsRegistration { root_device: "/dev/sda1".into(), devices }));
        }),
        // An EBS-backed image needs a name.
        refused: ("RootDeviceName=/dev/sda1", "MissingParameter"),
    },
    Case {
        // euca-register bucket/prefix.manifest.xml. Registering a bundle
        // reads its manifest and parts from the object store and checks
        // them against the account's signing certificates: this harness
        // has neither (`App::images` is unset), so the bundle's request is
        // checked as parsed (the EBS case above checks the command).
        action: "RegisterImage",
        given: "ImageLocation=fixture-bundles/web/web.img.manifest.xml&Name=web-bundle&Architecture=i386\
                &KernelId=$eki",
        then: Then::Parses {
            carries: &[
                r#"Bundle { bucket: BucketName(fixture-bundles), key: "web/web.img.manifest.xml" }"#,
                r#"name: Some("web-bundle")"#,
                r#"architecture: Some("i386"), kernel: Some(ImageId("$eki"))"#,
            ],
        },
        refused: (
            "ImageLocation=fixture-bundles/web/web.img.manifest.xml&BlockDeviceMapping.1.DeviceName=/dev/sdb\
             &BlockDeviceMapping.1.Ebs.VolumeSize=1",
            "InvalidParameterCombination",
        ),
    },
    Case {
        action: "DeregisterImage",
        given: "ImageId=$image",
        then: builds!(DeregisterImage, |f, c| assert_eq!(c.image.as_str(), f.id("$image"))),
        refused: ("", "MissingParameter"),
    },
    Case {
        action: "CreateImage",
        given: "InstanceId=$instance&Name=web server (v2)&Description=from the running web tier\
                &NoReboot=true",
        then: builds!(CreateImage, |f, c| {
            assert_eq!(c.instance.as_str(), f.id("$instance"));
            assert_eq!(
                (c.name.as_str(), c.description.as_str()),
                ("web server (v2)", "from the running web tier")
            );
            // A fresh snapshot id for each disk the guest may have.
            assert_eq!(c.snapshots.iter().collect::<BTreeSet<_>>().len(), 26);
        }),
        refused: ("InstanceId=$instance&Name=ab", "InvalidAMIName.Malformed"),
    },
    Case {
        action: "DescribeImageAttribute",
        given: "ImageId=$image&Attribute=description",
        then: Then::Answers {
            carries: &[r#"Describe { image: ImageId("$image"), attribute: "description" }"#],
            root: "DescribeImageAttributeResponse",
            shows: &["<description><value>fixture root image</value></description>"],
        },
        refused: ("ImageId=$image&Attribute=colour", "InvalidParameterValue"),
    },
    Case {
        // aws ec2 modify-image-attribute --launch-permission
        // "Add=[{UserId=…},{Group=all}],Remove=[{UserId=…}]"
        action: "ModifyImageAttribute",
        given: "ImageId=$image&LaunchPermission.Add.1.UserId=$alice&LaunchPermission.Add.2.Group=all\
                &LaunchPermission.Remove.1.UserId=$bob",
        then: builds!(ModifyImageAttribute, |f, c| {
            assert_eq!(c.image.as_str(), f.id("$image"));
            assert_eq!(
                (strs(&c.add), strs(&c.remove), c.public),
                (vec![f.id("$alice")], vec![f.id("$bob")], Some(true))
            );
            assert_eq!(c.description, None);
        }),
        refused: ("ImageId=$image&LaunchPermission.Add.1.Group=everyone", "InvalidParameterValue"),
    },
    Case {
        // euca-modify-image-attribute -l -r 111122223333 -r all
        action: "ModifyImageAttribute",
        given: "ImageId=$image&Attribute=launchPermission&OperationType=remove&UserId.1=$alice\
                &UserGroup.1=all",
        then: builds!(ModifyImageAttribute, |f, c| {
            assert_eq!((strs(&c.add), strs(&c.remove), c.public), (vec![], vec![f.id("$alice")], Some(false)))
        }),
        refused: ("ImageId=$image&Attribute=launchPermission&UserId.1=$alice", "MissingParameter"),
    },
    Case {
        // aws ec2 modify-image-attribute --description …
        action: "ModifyImageAttribute",
        given: "ImageId=$image&Description.Value=web tier, v3",
        then: builds!(ModifyImageAttribute, |_, c| {
            assert_eq!((c.description.as_deref(), c.public, c.add.len()), (Some("web tier, v3"), None, 0))
        }),
        refused: ("ImageId=$image&Attribute=kernel&Value=$eki", "InvalidParameterValue"),
    },
    Case {
        action: "ResetImageAttribute",
        given: "ImageId=$image&Attribute=launchPermission",
        then: builds!(ResetImageAttribute, |f, c| assert_eq!(c.image.as_str(), f.id("$image"))),
        refused: ("ImageId=$image&Attribute=description", "InvalidParameterValue"),
    },
];

#[tokio::test]
async fn image_actions() {
    check_all(IMAGES).await;
}
