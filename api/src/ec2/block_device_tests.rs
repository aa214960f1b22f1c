//! RunInstances' block device mappings and DeleteOnTermination through the
//! EC2 router with signed requests; the storage controller's and the
//! node's reports are sent as the cloud's own commands.

use super::limits_tests::{Answer, emi, p, send};
use crate::app::RequestMeta;
use crate::app::ids::now;
use crate::app::testing::{TestApp, test_app};
use domain::command::{NodeOutcome, NodeReport};
use domain::volumes::{ConfigureStorage, VolumeReport};
use domain::{Command, InstanceId, Principal, VolumeId, ZoneName};

fn zone() -> ZoneName {
    ZoneName::parse("yukari-1a").unwrap()
}

async fn system(t: &TestApp, command: Command) {
    let meta = RequestMeta {
        principal: Principal::system("test"),
        request_id: "test".into(),
        correlation_id: String::new(),
        source: "test".into(),
    };
    t.app.execute(command, &meta).await.unwrap();
}

pub(super) async fn call(t: &TestApp, pairs: &[(&str, &str)]) -> Answer {
    send(t, "GET", &p(pairs)).await
}

pub(super) async fn ok(t: &TestApp, pairs: &[(&str, &str)]) -> String {
    let answer = call(t, pairs).await;
    assert_eq!(answer.status, 200, "{pairs:?}: {}", answer.body);
    answer.body
}

pub(super) async fn node_report(t: &TestApp, instance: &str, outcome: NodeOutcome) {
    let (node, zone) = t.app.first_node().unwrap();
    let report = NodeReport {
        node,
        zone,
        instance: InstanceId::parse(instance).unwrap(),
        attempt: None,
        outcome,
        at: now(),
    };
    system(t, Command::from(report)).await;
}

async fn storage_report(t: &TestApp, volume: &str, command: fn(VolumeReport) -> Command) {
    let report = VolumeReport { zone: zone(), volume: VolumeId::parse(volume).unwrap(), at: now() };
    system(t, command(report)).await;
}

pub(super) fn texts(body: &str, tag: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(body).unwrap();
    doc.descendants().filter(|n| n.has_tag_name(tag)).map(|n| n.text().unwrap_or("").to_owned()).collect()
}

/// (device, volume, status, deleteOnTermination) of each mapping in an answer.
fn mappings(body: &str) -> Vec<(String, String, String, String)> {
    let doc = roxmltree::Document::parse(body).unwrap();
    let field = |n: roxmltree::Node<'_, '_>, tag: &str| {
        n.descendants().find(|d| d.has_tag_name(tag)).and_then(|d| d.text()).unwrap_or("").to_owned()
    };
    doc.descendants()
        .filter(|n| n.has_tag_name("blockDeviceMapping"))
        .flat_map(|m| m.children().filter(|c| c.has_tag_name("item")).collect::<Vec<_>>())
        .map(|i| {
            (
                field(i, "deviceName"),
                field(i, "volumeId"),
                field(i, "status"),
                field(i, "deleteOnTermination"),
            )
        })
        .collect()
}

async fn volume_status(t: &TestApp, volume: &str) -> Vec<String> {
    texts(&ok(t, &[("Action", "DescribeVolumes"), ("VolumeId.1", volume)]).await, "status")
}

async fn volume_count(t: &TestApp) -> usize {
    texts(&ok(t, &[("Action", "DescribeVolumes")]).await, "volumeId").len()
}

async fn instance_count(t: &TestApp) -> usize {
    texts(&ok(t, &[("Action", "DescribeInstances")]).await, "instanceId").len()
}

#[tokio::test]
async fn a_launch_makes_attaches_and_deletes_its_volumes() {
    let t = test_app().await;
    system(&t, Command::ConfigureStorage(ConfigureStorage { zone: zone(), capacity_gib: 10, at: now() }))
        .await;
    let emi = emi();
    let launch = [
        ("Action", "RunInstances"),
        ("ImageId", emi.as_str()),
        ("MinCount", "1"),
        ("MaxCount", "1"),
        ("BlockDeviceMapping.1.DeviceName", "/dev/sdf"),
        ("BlockDeviceMapping.1.Ebs.VolumeSize", "2"),
        ("BlockDeviceMapping.2.DeviceName", "/dev/sdg"),
        ("BlockDeviceMapping.2.Ebs.VolumeSize", "1"),
        ("BlockDeviceMapping.2.Ebs.DeleteOnTermination", "false"),
        ("BlockDeviceMapping.3.DeviceName", "/dev/sdb"),
        ("BlockDeviceMapping.3.VirtualName", "ephemeral0"),
        ("BlockDeviceMapping.4.DeviceName", "/dev/sdh"),
        ("BlockDeviceMapping.4.NoDevice", ""),
    ];
    let ran = ok(&t, &launch).await;
    let instance = texts(&ran, "instanceId").remove(0);
    // Two volumes (the ephemeral and NoDevice mappings make none), shown
    // attaching from the start, DeleteOnTermination true unless asked.
    let shown = mappings(&ran);
    assert_eq!(shown.len(), 2, "{ran}");
    let (sdf, sdg) = (shown[0].1.clone(), shown[1].1.clone());
    assert_eq!(
        (shown[0].0.as_str(), shown[0].2.as_str(), shown[0].3.as_str()),
        ("/dev/sdf", "attaching", "true")
    );
    assert_eq!((shown[1].0.as_str(), shown[1].3.as_str()), ("/dev/sdg", "false"));
    let volumes = ok(&t, &[("Action", "DescribeVolumes")]).await;
    let mut sizes = texts(&volumes, "size");
    sizes.sort();
    assert_eq!(sizes, ["1", "2"], "{volumes}");
    assert_eq!(texts(&volumes, "status").iter().filter(|s| *s == "creating").count(), 2, "{volumes}");

    // Made by the storage controller, attached once the instance runs.
    storage_report(&t, &sdf, Command::ReportVolumeCreated).await;
    storage_report(&t, &sdg, Command::ReportVolumeCreated).await;
    node_report(&t, &instance, NodeOutcome::Running).await;
    let volumes = ok(&t, &[("Action", "DescribeVolumes")]).await;
    assert_eq!(texts(&volumes, "status").iter().filter(|s| *s == "in-use").count(), 2, "{volumes}");
    assert_eq!(texts(&volumes, "instanceId"), [instance.clone(), instance.clone()], "{volumes}");

    // DeleteOnTermination changed per device, and shown.
    let modify = [
        ("Action", "ModifyInstanceAttribute"),
        ("InstanceId", instance.as_str()),
        ("BlockDeviceMapping.1.DeviceName", "/dev/sdf"),
        ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "false"),
        ("BlockDeviceMapping.2.DeviceName", "/dev/sdg"),
        ("BlockDeviceMapping.2.Ebs.DeleteOnTermination", "true"),
    ];
    ok(&t, &modify).await;
    let attribute = ok(
        &t,
        &[
            ("Action", "DescribeInstanceAttribute"),
            ("InstanceId", &instance),
            ("Attribute", "blockDeviceMapping"),
        ],
    )
    .await;
    let shown: Vec<(String, String)> = mappings(&attribute).into_iter().map(|m| (m.0, m.3)).collect();
    assert_eq!(
        shown,
        [("/dev/sdf".into(), "false".into()), ("/dev/sdg".into(), "true".into())],
        "{attribute}"
    );
    let unmapped = [
        ("Action", "ModifyInstanceAttribute"),
        ("InstanceId", instance.as_str()),
        ("BlockDeviceMapping.1.DeviceName", "/dev/sdz"),
        ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true"),
    ];
    call(&t, &unmapped).await.refused("InvalidInstanceAttributeValue", "an unmapped device");

    // Termination: both detached; sdg (now DeleteOnTermination) deleted
    // once revoked, sdf kept and available.
    ok(&t, &[("Action", "TerminateInstances"), ("InstanceId.1", &instance)]).await;
    node_report(&t, &instance, NodeOutcome::Terminated).await;
    storage_report(&t, &sdf, Command::ReportVolumeRevoked).await;
    storage_report(&t, &sdg, Command::ReportVolumeRevoked).await;
    assert_eq!(volume_status(&t, &sdf).await, ["available"]);
    assert_eq!(volume_status(&t, &sdg).await, ["deleting"]);
}

#[tokio::test]
async fn a_refused_launch_says_why_with_ec2s_code_and_changes_nothing() {
    let t = test_app().await;
    system(&t, Command::ConfigureStorage(ConfigureStorage { zone: zone(), capacity_gib: 10, at: now() }))
        .await;
    let emi = emi();
    let launch = |more: &[(&'static str, &'static str)]| {
        let mut all =
            vec![("Action", "RunInstances"), ("ImageId", emi.as_str()), ("MinCount", "1"), ("MaxCount", "1")];
        all.extend_from_slice(more);
        all
    };
    let cases: [(&[(&str, &str)], &str); 6] = [
        (
            &[("BlockDeviceMapping.1.DeviceName", "/dev/sda1"), ("BlockDeviceMapping.1.Ebs.VolumeSize", "1")],
            "InvalidBlockDeviceMapping",
        ),
        (&[("BlockDeviceMapping.1.DeviceName", "/dev/sdf")], "InvalidBlockDeviceMapping"),
        (
            &[("BlockDeviceMapping.1.DeviceName", "/dev/sdf"), ("BlockDeviceMapping.1.VirtualName", "swap")],
            "InvalidBlockDeviceMapping",
        ),
        (
            &[
                ("BlockDeviceMapping.1.DeviceName", "/dev/sdf"),
                ("BlockDeviceMapping.1.Ebs.SnapshotId", "snap-0123456789abcdef0"),
            ],
            "InvalidSnapshot.NotFound",
        ),
        (
            &[("BlockDeviceMapping.1.DeviceName", "/dev/sdf"), ("BlockDeviceMapping.1.Ebs.VolumeSize", "11")],
            "InsufficientVolumeCapacity",
        ),
        (
            &[("BlockDeviceMapping.1.DeviceName", "/dev/sdf"), ("BlockDeviceMapping.1.Ebs.VolumeSize", "0")],
            "InvalidParameterValue",
        ),
    ];
    for (more, code) in cases {
        call(&t, &launch(more)).await.refused(code, &format!("{more:?}"));
    }
    assert_eq!((instance_count(&t).await, volume_count(&t).await), (0, 0));
    // Without storage in the zone a volume cannot be made at all.
    let t = test_app().await;
    let emi = crate::ec2::limits_tests::emi();
    let launch = [
        ("Action", "RunInstances"),
        ("ImageId", emi.as_str()),
        ("MinCount", "1"),
        ("MaxCount", "1"),
        ("BlockDeviceMapping.1.DeviceName", "/dev/sdf"),
        ("BlockDeviceMapping.1.Ebs.VolumeSize", "1"),
    ];
    call(&t, &launch).await.refused("InsufficientVolumeCapacity", "no storage");
    assert_eq!(instance_count(&t).await, 0);
}
