//! Instance actions: launching, describing, stopping, starting and
//! changing instances, and their console.

use super::{Case, Then, USER_DATA, builds, check_all, device, strs, tags, zone};
use domain::command::{AttributeChange, GroupRef};
use domain::{Command, SecurityGroupId, ShutdownBehavior};

pub(super) const INSTANCES: &[Case] = &[
    Case {
        action: "RunInstances",
        given: "ImageId=$emi&MinCount=1&MaxCount=2&InstanceType=c1.medium\
                &Placement.AvailabilityZone=yukari-1a&KeyName=fixture-key&SecurityGroup.1=default\
                &SecurityGroupId.1=$group&UserData=$user_data&ClientToken=launch-0001\
                &InstanceInitiatedShutdownBehavior=terminate&DisableApiTermination=true\
                &TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name\
                &TagSpecification.1.Tag.1.Value=web-1&TagSpecification.2.ResourceType=volume\
                &TagSpecification.2.Tag.1.Key=tier&TagSpecification.2.Tag.1.Value=data\
                &BlockDeviceMapping.1.DeviceName=/dev/sdg\
                &BlockDeviceMapping.1.Ebs.VolumeSize=2&BlockDeviceMapping.1.Ebs.VolumeType=gp3\
                &BlockDeviceMapping.1.Ebs.DeleteOnTermination=false&BlockDeviceMapping.2.DeviceName=/dev/sdb\
                &BlockDeviceMapping.2.VirtualName=ephemeral0",
        then: builds!(RunInstances, |f, c| {
            let asked = (c.image.as_str(), c.vm_type.as_str(), c.min_count, c.max_count);
            assert_eq!(asked, (f.id("$emi"), "c1.medium", 1, 2));
            assert_eq!(c.instance_ids.len(), 2);
            assert_eq!(c.zone, Some(zone()));
            assert_eq!(c.user_data, USER_DATA);
            assert_eq!(
                (c.client_token.as_deref(), c.key_name.as_deref()),
                (Some("launch-0001"), Some("fixture-key"))
            );
            let group = SecurityGroupId::parse(f.id("$group")).unwrap();
            assert_eq!(c.groups, [GroupRef::Name("default".into()), GroupRef::Id(group)]);
            assert_eq!((c.shutdown_behavior, c.disable_api_termination), (ShutdownBehavior::Terminate, true));
            assert_eq!((c.tags.clone(), c.volume_tags.clone()), (tags("Name=web-1"), tags("tier=data")));
            // The ephemeral mapping makes nothing; the EBS one a volume for
            // each instance.
            assert_eq!(c.block_devices, [device("/dev/sdg", Some(2), None, "gp3", false)]);
            assert_eq!(c.volumes.len(), 2);
        }),
        refused: ("ImageId=ami-12345&MinCount=1&MaxCount=1", "InvalidAMIID.Malformed"),
    },
    Case {
        // euca-run-instances --kernel eki-… --ramdisk eri-…
        action: "RunInstances",
        given: "ImageId=$emi&MinCount=1&MaxCount=1&KernelId=$eki&RamdiskId=eri-0123456789abcdef0",
        then: builds!(RunInstances, |f, c| {
            let (kernel, ramdisk) =
                (c.kernel.as_ref().map(|k| k.as_str()), c.ramdisk.as_ref().map(|r| r.as_str()));
            assert_eq!((kernel, ramdisk), (Some(f.id("$eki")), Some("eri-0123456789abcdef0")));
        }),
        refused: ("ImageId=$emi&MinCount=1&MaxCount=1&KernelId=$emi", "InvalidAMIID.Malformed"),
    },
    Case {
        action: "DescribeInstances",
        given: "InstanceId.1=$instance&Filter.1.Name=instance-type&Filter.1.Value.1=m1.small\
                &Filter.1.Value.2=c1.medium",
        then: Then::Answers {
            carries: &[
                r#"ids: [InstanceId("$instance")]"#,
                r#"Filter { name: "instance-type", values: ["m1.small", "c1.medium"] }"#,
            ],
            root: "DescribeInstancesResponse",
            shows: &["<instanceId>$instance</instanceId>"],
        },
        refused: ("Filter.1.Name=instance-colour&Filter.1.Value.1=red", "InvalidParameterValue"),
    },
    Case {
        action: "TerminateInstances",
        given: "InstanceId.1=$instance&InstanceId.2=$other_instance",
        then: builds!(TerminateInstances, |f, c| {
            assert_eq!(strs(&c.instances), [f.id("$instance"), f.id("$other_instance")])
        }),
        refused: ("", "MissingParameter"),
    },
    Case {
        action: "StopInstances",
        given: "InstanceId.1=$instance&Force=true",
        then: builds!(StopInstances, |f, c| assert_eq!(
            (strs(&c.instances), c.force),
            (vec![f.id("$instance")], true)
        )),
        refused: ("InstanceId.1=$instance&Force=maybe", "InvalidParameterValue"),
    },
    Case {
        action: "StartInstances",
        given: "InstanceId.1=$other_instance&InstanceId.2=$instance",
        then: builds!(StartInstances, |f, c| {
            assert_eq!(strs(&c.instances), [f.id("$other_instance"), f.id("$instance")])
        }),
        refused: ("InstanceId.1=i-12345", "InvalidInstanceID.Malformed"),
    },
    Case {
        action: "RebootInstances",
        given: "InstanceId.1=$instance",
        then: builds!(RebootInstances, |f, c| assert_eq!(strs(&c.instances), [f.id("$instance")])),
        // Ids are lower-case hex.
        refused: ("InstanceId.1=i-0123456789ABCDEF0", "InvalidInstanceID.Malformed"),
    },
    Case {
        action: "DescribeInstanceStatus",
        given: "InstanceId.1=$instance&IncludeAllInstances=true&Filter.1.Name=instance-state-name\
                &Filter.1.Value.1=pending&Filter.1.Value.2=running",
        then: Then::Answers {
            carries: &[
                r#"ids: [InstanceId("$instance")], all: true"#,
                r#"Filter { name: "instance-state-name", values: ["pending", "running"] }"#,
            ],
            root: "DescribeInstanceStatusResponse",
            shows: &["<instanceId>$instance</instanceId>"],
        },
        refused: ("InstanceId.1=$instance&MaxResults=5", "InvalidParameterCombination"),
    },
    Case {
        action: "DescribeInstanceAttribute",
        given: "InstanceId=$instance&Attribute=instanceInitiatedShutdownBehavior",
        then: Then::Answers {
            carries: &[
                r#"instance: InstanceId("$instance"), attribute: "instanceInitiatedShutdownBehavior""#,
            ],
            root: "DescribeInstanceAttributeResponse",
            shows: &["<instanceInitiatedShutdownBehavior><value>stop</value>"],
        },
        refused: ("InstanceId=$instance&Attribute=colour", "InvalidParameterValue"),
    },
    Case {
        // aws ec2 modify-instance-attribute --instance-type c1.medium
        action: "ModifyInstanceAttribute",
        given: "InstanceId=$instance&InstanceType.Value=c1.medium",
        then: builds!(ModifyInstanceAttribute, |f, c| {
            assert_eq!(c.instance.as_str(), f.id("$instance"));
            assert_eq!(c.change, AttributeChange::InstanceType("c1.medium".into()));
        }),
        refused: ("InstanceId=$instance&Kernel.Value=$eki", "UnsupportedOperation"),
    },
    Case {
        // The older shape: Attribute and Value.
        action: "ModifyInstanceAttribute",
        given: "InstanceId=$instance&Attribute=userData&Value=$user_data",
        then: builds!(ModifyInstanceAttribute, |_, c| {
            assert_eq!(c.change, AttributeChange::UserData(USER_DATA.to_vec()))
        }),
        refused: ("InstanceId=$instance&Attribute=userData&Value=!!", "InvalidParameterValue"),
    },
    Case {
        // euca-modify-instance-attribute -t m1.small: an attribute it knows
        // without its value is a missing Value, not an unknown attribute.
        action: "ModifyInstanceAttribute",
        given: "InstanceId=$instance&Attribute=instanceType&Value=m1.small",
        then: builds!(ModifyInstanceAttribute, |_, c| {
            assert_eq!(c.change, AttributeChange::InstanceType("m1.small".into()))
        }),
        refused: ("InstanceId=$instance&Attribute=instanceType", "MissingParameter"),
    },
    Case {
        action: "ModifyInstanceAttribute",
        given: "InstanceId=$instance&BlockDeviceMapping.1.DeviceName=/dev/sdf\
                &BlockDeviceMapping.1.Ebs.DeleteOnTermination=false",
        then: builds!(ModifyInstanceAttribute, |_, c| {
            assert_eq!(c.change, AttributeChange::DeleteOnTermination(vec![("/dev/sdf".into(), false)]))
        }),
        refused: (
            "InstanceId=$instance&BlockDeviceMapping.1.Ebs.DeleteOnTermination=false",
            "MissingParameter",
        ),
    },
    Case {
        // EC2 modifies one attribute per call: a call naming two is
        // refused, not half applied.
        action: "ModifyInstanceAttribute",
        given: "InstanceId=$instance&DisableApiTermination.Value=true",
        then: builds!(ModifyInstanceAttribute, |_, c| {
            assert_eq!(c.change, AttributeChange::DisableApiTermination(true))
        }),
        refused: (
            "InstanceId=$instance&InstanceType.Value=m1.small&DisableApiTermination.Value=true",
            "InvalidParameterCombination",
        ),
    },
    Case {
        action: "GetConsoleOutput",
        given: "InstanceId=$instance",
        then: Then::Answers {
            carries: &[r#"instance: InstanceId("$instance")"#],
            root: "GetConsoleOutputResponse",
            shows: &["<instanceId>$instance</instanceId>"],
        },
        refused: ("", "MissingParameter"),
    },
];

#[tokio::test]
async fn instance_actions() {
    check_all(INSTANCES).await;
}
