//! Security groups and rules, elastic IPs, tags, account attributes and
//! instance types against the real binary: with the AWS CLI, with requests
//! shaped as euca2ools 3.4 sends them, and across two accounts.

mod common;
use common::wire::Signer;
use common::*;
use serde_json::Value;
use std::collections::HashMap;
use std::process::Output;

/// The EC2 error code the AWS CLI printed for a failed call.
fn code_of(out: &Output) -> String {
    assert!(!out.status.success(), "the call succeeded: {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let start = stderr.find("An error occurred (").map(|i| i + "An error occurred (".len());
    let code = start.and_then(|s| stderr[s..].split(')').next());
    code.unwrap_or_else(|| panic!("no EC2 error in: {stderr}")).to_owned()
}

fn fails(cloud: &Cloud, args: &[&str]) -> String {
    code_of(&cloud.aws_raw(args))
}

/// An `IpPermissions` item: protocol, ports, CIDRs, `user/group-id/name`s.
type Permission = (String, Option<i64>, Option<i64>, Vec<String>, Vec<String>);

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

fn names(groups: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        groups["SecurityGroups"].as_array().unwrap().iter().map(|g| s(&g["GroupName"])).collect();
    out.sort();
    out
}

fn instance_ids(describe: &Value) -> Vec<String> {
    let mut ids: Vec<String> = instance_states(describe).into_iter().map(|(id, _)| id).collect();
    ids.sort();
    ids
}

fn launch(cloud: &Cloud, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["run-instances", "--image-id", DEFAULT_IMAGE];
    args.extend_from_slice(extra);
    let run = cloud.aws(&args);
    run["Instances"].as_array().unwrap().iter().map(|i| s(&i["InstanceId"])).collect()
}

fn wait_state(cloud: &Cloud, ids: &[String], state: &str) {
    cloud.eventually(60, &format!("{ids:?} {state}"), || {
        let mut args = vec!["describe-instances", "--instance-ids"];
        args.extend(ids.iter().map(String::as_str));
        instance_states(&cloud.aws(&args)).iter().all(|(_, st)| st == state)
    });
}

fn instance(cloud: &Cloud, id: &str) -> Value {
    let d = cloud.aws(&["describe-instances", "--instance-ids", id]);
    d["Reservations"][0]["Instances"][0].clone()
}

#[test]
fn security_groups_and_rules_with_the_aws_cli() {
    let cloud = Cloud::start();
    let default = cloud.aws(&["describe-security-groups", "--group-names", "default"]);
    let default_id = s(&default["SecurityGroups"][0]["GroupId"]);
    let owner = s(&default["SecurityGroups"][0]["OwnerId"]);

    let created = cloud.aws(&[
        "create-security-group",
        "--group-name",
        "web",
        "--description",
        "web servers",
        "--tag-specifications",
        "ResourceType=security-group,Tags=[{Key=env,Value=prod}]",
    ]);
    let web = s(&created["GroupId"]);
    assert!(web.starts_with("sg-") && web.len() == 20, "{web}");
    assert_eq!(
        fails(&cloud, &["create-security-group", "--group-name", "web", "--description", "again"]),
        "InvalidGroup.Duplicate"
    );
    assert_eq!(
        fails(&cloud, &["create-security-group", "--group-name", "sg-x", "--description", "d"]),
        "InvalidParameterValue"
    );

    // Flat parameters (--protocol/--port/--cidr) and --ip-permissions.
    cloud.aws(&[
        "authorize-security-group-ingress",
        "--group-name",
        "web",
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "10.0.0.0/8",
    ]);
    cloud.aws(&[
        "authorize-security-group-ingress",
        "--group-id",
        &web,
        "--ip-permissions",
        &format!(
            "IpProtocol=tcp,FromPort=80,ToPort=80,IpRanges=[{{CidrIp=0.0.0.0/0}},{{CidrIp=192.0.2.0/24}}],\
             UserIdGroupPairs=[{{GroupId={default_id}}}]"
        ),
        "IpProtocol=icmp,FromPort=-1,ToPort=-1,IpRanges=[{CidrIp=10.0.0.0/8}]",
    ]);
    let described = cloud.aws(&["describe-security-groups", "--group-names", "web"]);
    let group = &described["SecurityGroups"][0];
    assert_eq!(s(&group["GroupId"]), web);
    assert_eq!(s(&group["Description"]), "web servers");
    assert_eq!(s(&group["OwnerId"]), owner);
    assert_eq!(group["Tags"], serde_json::json!([{"Key": "env", "Value": "prod"}]));
    // One item per protocol and port range, with all its sources.
    let ingress = group["IpPermissions"].as_array().unwrap();
    let shape: Vec<Permission> = ingress
        .iter()
        .map(|p| {
            (
                s(&p["IpProtocol"]),
                p["FromPort"].as_i64(),
                p["ToPort"].as_i64(),
                p["IpRanges"].as_array().unwrap().iter().map(|r| s(&r["CidrIp"])).collect(),
                p["UserIdGroupPairs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|g| format!("{}/{}/{}", s(&g["UserId"]), s(&g["GroupId"]), s(&g["GroupName"])))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            ("icmp".into(), Some(-1), Some(-1), vec!["10.0.0.0/8".into()], vec![]),
            ("tcp".into(), Some(22), Some(22), vec!["10.0.0.0/8".into()], vec![]),
            (
                "tcp".into(),
                Some(80),
                Some(80),
                vec!["0.0.0.0/0".into(), "192.0.2.0/24".into()],
                vec![format!("{owner}/{default_id}/default")]
            ),
        ]
    );
    // A new group lets everything out and nothing in but what was asked.
    let egress = group["IpPermissionsEgress"].as_array().unwrap();
    assert_eq!(egress.len(), 1);
    assert_eq!(s(&egress[0]["IpProtocol"]), "-1");
    assert!(egress[0].get("FromPort").is_none());
    assert_eq!(s(&egress[0]["IpRanges"][0]["CidrIp"]), "0.0.0.0/0");

    // Refusals.
    let again = [
        "authorize-security-group-ingress",
        "--group-name",
        "web",
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "10.0.0.0/8",
    ];
    assert_eq!(fails(&cloud, &again), "InvalidPermission.Duplicate");
    let bad_cidr = [
        "authorize-security-group-ingress",
        "--group-name",
        "web",
        "--protocol",
        "tcp",
        "--port",
        "23",
        "--cidr",
        "10.0.0.0/33",
    ];
    assert_eq!(fails(&cloud, &bad_cidr), "InvalidParameterValue");
    let bad_port = [
        "authorize-security-group-ingress",
        "--group-name",
        "web",
        "--protocol",
        "udp",
        "--port",
        "70000",
        "--cidr",
        "10.0.0.0/8",
    ];
    assert_eq!(fails(&cloud, &bad_port), "InvalidParameterValue");
    let backwards = [
        "authorize-security-group-ingress",
        "--group-name",
        "web",
        "--ip-permissions",
        "IpProtocol=tcp,FromPort=90,ToPort=80,IpRanges=[{CidrIp=10.0.0.0/8}]",
    ];
    assert_eq!(fails(&cloud, &backwards), "InvalidParameterValue");
    // The AWS CLI checks --protocol names itself; numbers it passes on.
    let gre = [
        "authorize-security-group-ingress",
        "--group-name",
        "web",
        "--protocol",
        "47",
        "--cidr",
        "10.0.0.0/8",
    ];
    assert_eq!(fails(&cloud, &gre), "InvalidPermission.Malformed");
    let nowhere = [
        "authorize-security-group-ingress",
        "--group-name",
        "nowhere",
        "--protocol",
        "tcp",
        "--port",
        "1",
        "--cidr",
        "10.0.0.0/8",
    ];
    assert_eq!(fails(&cloud, &nowhere), "InvalidGroup.NotFound");

    // Revoke; revoking what is not there is refused.
    let revoke_ssh = [
        "revoke-security-group-ingress",
        "--group-name",
        "web",
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "10.0.0.0/8",
    ];
    cloud.aws(&revoke_ssh);
    assert_eq!(fails(&cloud, &revoke_ssh), "InvalidPermission.NotFound");
    let after = cloud.aws(&["describe-security-groups", "--group-ids", &web]);
    let ports: Vec<Option<i64>> = after["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["FromPort"].as_i64())
        .collect();
    assert_eq!(ports, vec![Some(-1), Some(80)]);

    // Egress rules.
    cloud.aws(&[
        "authorize-security-group-egress",
        "--group-id",
        &web,
        "--ip-permissions",
        "IpProtocol=udp,FromPort=53,ToPort=53,IpRanges=[{CidrIp=192.0.2.53/32}]",
    ]);
    let after = cloud.aws(&["describe-security-groups", "--group-ids", &web]);
    let egress: Vec<String> = after["SecurityGroups"][0]["IpPermissionsEgress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}:{}", s(&p["IpProtocol"]), p["FromPort"]))
        .collect();
    assert_eq!(egress, vec!["-1:null", "udp:53"]);
    cloud.aws(&[
        "revoke-security-group-egress",
        "--group-id",
        &web,
        "--ip-permissions",
        "IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]",
    ]);
    let after = cloud.aws(&["describe-security-groups", "--group-ids", &web]);
    assert_eq!(after["SecurityGroups"][0]["IpPermissionsEgress"].as_array().unwrap().len(), 1);

    // Filters.
    let by = |filter: &str| names(&cloud.aws(&["describe-security-groups", "--filters", filter]));
    assert_eq!(by("Name=tag:env,Values=prod"), vec!["web"]);
    assert_eq!(by("Name=tag:env,Values=dev"), Vec::<String>::new());
    assert_eq!(by("Name=tag-key,Values=env"), vec!["web"]);
    assert_eq!(by("Name=group-name,Values=def*"), vec!["default"]);
    assert_eq!(by("Name=description,Values=web servers"), vec!["web"]);
    assert_eq!(by("Name=ip-permission.from-port,Values=80"), vec!["web"]);
    // The default group lets its own members in.
    assert_eq!(by(&format!("Name=ip-permission.group-id,Values={default_id}")), vec!["default", "web"]);
    assert_eq!(by("Name=ip-permission.group-name,Values=default"), vec!["default", "web"]);
    assert_eq!(by("Name=ip-permission.cidr,Values=192.0.2.*"), vec!["web"]);
    assert_eq!(by("Name=ip-permission.protocol,Values=-1"), vec!["default"]);
    assert_eq!(by("Name=egress.ip-permission.protocol,Values=udp"), vec!["web"]);
    assert_eq!(by(&format!("Name=owner-id,Values={owner}")), vec!["default", "web"]);
    assert_eq!(
        fails(&cloud, &["describe-security-groups", "--filters", "Name=colour,Values=red"]),
        "InvalidParameterValue"
    );
    assert_eq!(
        fails(&cloud, &["describe-security-groups", "--group-names", "nope"]),
        "InvalidGroup.NotFound"
    );
    assert_eq!(
        fails(&cloud, &["describe-security-groups", "--group-ids", "sg-00000000000000000"]),
        "InvalidGroup.NotFound"
    );
    assert_eq!(
        fails(&cloud, &["describe-security-groups", "--group-ids", "sg-nope"]),
        "InvalidGroupId.Malformed"
    );

    // Pages of at most five, in id order.
    for n in 0..6 {
        cloud.aws(&["create-security-group", "--group-name", &format!("g{n}"), "--description", "more"]);
    }
    let page = cloud.aws(&["describe-security-groups", "--max-results", "5", "--no-paginate"]);
    assert_eq!(page["SecurityGroups"].as_array().unwrap().len(), 5);
    let token = s(&page["NextToken"]);
    let rest = cloud.aws(&[
        "describe-security-groups",
        "--max-results",
        "5",
        "--next-token",
        &token,
        "--no-paginate",
    ]);
    assert_eq!(rest["SecurityGroups"].as_array().unwrap().len(), 3);
    assert!(rest.get("NextToken").is_none());
    let mut paged = names(&page);
    paged.extend(names(&rest));
    paged.sort();
    assert_eq!(paged, names(&cloud.aws(&["describe-security-groups"])));
    assert_eq!(paged.len(), 8);

    // DryRun: allowed, nothing made.
    assert_eq!(
        fails(&cloud, &["create-security-group", "--group-name", "dry", "--description", "d", "--dry-run"]),
        "DryRunOperation"
    );
    assert_eq!(fails(&cloud, &["describe-security-groups", "--group-names", "dry"]), "InvalidGroup.NotFound");
    assert_eq!(
        fails(&cloud, &["delete-security-group", "--group-name", "g0", "--dry-run"]),
        "DryRunOperation"
    );
    cloud.aws(&["describe-security-groups", "--group-names", "g0"]);

    // A group in use cannot go; once its instance is gone, it can.
    let ids = launch(&cloud, &["--security-groups", "web"]);
    let inst = instance(&cloud, &ids[0]);
    assert_eq!(s(&inst["SecurityGroups"][0]["GroupId"]), web);
    assert_eq!(fails(&cloud, &["delete-security-group", "--group-id", &web]), "DependencyViolation");
    assert_eq!(fails(&cloud, &["delete-security-group", "--group-name", "default"]), "CannotDelete");
    cloud.aws(&["terminate-instances", "--instance-ids", &ids[0]]);
    wait_state(&cloud, &ids, "terminated");
    let deleted = cloud.aws(&["delete-security-group", "--group-id", &web]);
    assert_eq!(deleted["Return"], true);
    assert_eq!(fails(&cloud, &["describe-security-groups", "--group-ids", &web]), "InvalidGroup.NotFound");
    cloud.aws(&["delete-security-group", "--group-name", "g0"]);
    assert_eq!(fails(&cloud, &["delete-security-group", "--group-name", "g0"]), "InvalidGroup.NotFound");
    // Its name is free again.
    cloud.aws(&["create-security-group", "--group-name", "web", "--description", "second web"]);
}

#[test]
fn elastic_ips_with_the_aws_cli() {
    let cloud = Cloud::start();
    let ids = launch(&cloud, &["--count", "2"]);
    wait_state(&cloud, &ids, "running");
    let (first, second) = (&ids[0], &ids[1]);
    let auto = s(&instance(&cloud, first)["PublicIpAddress"]);

    let a = cloud.aws(&[
        "allocate-address",
        "--tag-specifications",
        "ResourceType=elastic-ip,Tags=[{Key=Name,Value=front}]",
    ]);
    let (alloc, ip) = (s(&a["AllocationId"]), s(&a["PublicIp"]));
    assert!(alloc.starts_with("eipalloc-"), "{alloc}");
    assert!(ip.starts_with("198.51.100."), "{ip}");
    assert_eq!(s(&a["Domain"]), "standard");
    let b = cloud.aws(&["allocate-address", "--domain", "vpc"]);
    assert_eq!(s(&b["Domain"]), "vpc");
    let (alloc_b, ip_b) = (s(&b["AllocationId"]), s(&b["PublicIp"]));
    assert_ne!(ip, ip_b);
    assert_ne!(ip, auto);

    let listed = cloud.aws(&["describe-addresses"]);
    let mut all: Vec<String> =
        listed["Addresses"].as_array().unwrap().iter().map(|a| s(&a["PublicIp"])).collect();
    all.sort();
    let mut expected = vec![ip.clone(), ip_b.clone()];
    expected.sort();
    assert_eq!(all, expected);

    // Associate by allocation id: the instance shows the address.
    let assoc = cloud.aws(&["associate-address", "--allocation-id", &alloc, "--instance-id", first]);
    let association = s(&assoc["AssociationId"]);
    assert!(association.starts_with("eipassoc-"), "{association}");
    let inst = instance(&cloud, first);
    assert_eq!(s(&inst["PublicIpAddress"]), ip);
    let one = cloud.aws(&["describe-addresses", "--allocation-ids", &alloc]);
    let row = &one["Addresses"][0];
    assert_eq!(s(&row["InstanceId"]), *first);
    assert_eq!(s(&row["AssociationId"]), association);
    assert_eq!(s(&row["PrivateIpAddress"]), s(&inst["PrivateIpAddress"]));
    assert_eq!(row["Tags"], serde_json::json!([{"Key": "Name", "Value": "front"}]));

    // Filters.
    let by = |filter: &str| -> Vec<String> {
        let d = cloud.aws(&["describe-addresses", "--filters", filter]);
        d["Addresses"].as_array().unwrap().iter().map(|a| s(&a["AllocationId"])).collect()
    };
    assert_eq!(by(&format!("Name=instance-id,Values={first}")), vec![alloc.clone()]);
    assert_eq!(by(&format!("Name=association-id,Values={association}")), vec![alloc.clone()]);
    assert_eq!(by("Name=tag:Name,Values=fr*"), vec![alloc.clone()]);
    assert_eq!(by(&format!("Name=public-ip,Values={ip_b}")), vec![alloc_b.clone()]);
    assert_eq!(by("Name=domain,Values=standard").len(), 2);
    let private = s(&inst["PrivateIpAddress"]);
    assert_eq!(by(&format!("Name=private-ip-address,Values={private}")), vec![alloc.clone()]);

    // Moving it by allocation id needs AllowReassociation.
    let take = ["associate-address", "--allocation-id", &alloc, "--instance-id", second];
    assert_eq!(fails(&cloud, &take), "Resource.AlreadyAssociated");
    let mut moved = take.to_vec();
    moved.push("--allow-reassociation");
    let moved = cloud.aws(&moved);
    let association = s(&moved["AssociationId"]);
    assert_eq!(s(&instance(&cloud, second)["PublicIpAddress"]), ip);
    // The first instance gets an address from the pool again.
    let back = instance(&cloud, first);
    let fresh = s(&back["PublicIpAddress"]);
    assert!(fresh != ip && fresh.starts_with("198.51.100."), "{fresh}");

    // Disassociate by association id.
    assert_eq!(
        fails(&cloud, &["disassociate-address", "--association-id", "eipassoc-00000000000000000"]),
        "InvalidAssociationID.NotFound"
    );
    cloud.aws(&["disassociate-address", "--association-id", &association]);
    let row = cloud.aws(&["describe-addresses", "--allocation-ids", &alloc]);
    assert!(row["Addresses"][0].get("InstanceId").is_none(), "{row}");
    assert_ne!(s(&instance(&cloud, second)["PublicIpAddress"]), ip);

    // Unknown addresses.
    assert_eq!(
        fails(&cloud, &["describe-addresses", "--allocation-ids", "eipalloc-00000000000000000"]),
        "InvalidAllocationID.NotFound"
    );
    assert_eq!(
        fails(&cloud, &["describe-addresses", "--public-ips", "203.0.113.9"]),
        "InvalidAddress.NotFound"
    );
    assert_eq!(
        fails(
            &cloud,
            &["associate-address", "--allocation-id", "eipalloc-00000000000000000", "--instance-id", first]
        ),
        "InvalidAllocationID.NotFound"
    );
    assert_eq!(
        fails(
            &cloud,
            &["associate-address", "--allocation-id", &alloc, "--instance-id", "i-00000000000000000"]
        ),
        "InvalidInstanceID.NotFound"
    );
    assert_eq!(
        fails(&cloud, &["release-address", "--allocation-id", "eipalloc-00000000000000000"]),
        "InvalidAllocationID.NotFound"
    );

    // DryRun changes nothing.
    assert_eq!(fails(&cloud, &["allocate-address", "--dry-run"]), "DryRunOperation");
    assert_eq!(
        fails(&cloud, &["associate-address", "--allocation-id", &alloc, "--instance-id", first, "--dry-run"]),
        "DryRunOperation"
    );
    assert_eq!(
        fails(&cloud, &["release-address", "--allocation-id", &alloc, "--dry-run"]),
        "DryRunOperation"
    );
    let still = cloud.aws(&["describe-addresses"]);
    assert_eq!(still["Addresses"].as_array().unwrap().len(), 2);
    assert!(still["Addresses"].as_array().unwrap().iter().all(|a| a.get("InstanceId").is_none()));

    // Release: by allocation id, and (associated) by address.
    cloud.aws(&["release-address", "--allocation-id", &alloc]);
    assert_eq!(
        fails(&cloud, &["describe-addresses", "--allocation-ids", &alloc]),
        "InvalidAllocationID.NotFound"
    );
    cloud.aws(&["associate-address", "--public-ip", &ip_b, "--instance-id", first]);
    assert_eq!(s(&instance(&cloud, first)["PublicIpAddress"]), ip_b);
    cloud.aws(&["release-address", "--public-ip", &ip_b]);
    assert_eq!(cloud.aws(&["describe-addresses"])["Addresses"], serde_json::json!([]));
    let after = s(&instance(&cloud, first)["PublicIpAddress"]);
    assert_ne!(after, ip_b);
    // Released tags are gone with the address.
    let tags = cloud.aws(&["describe-tags"]);
    assert_eq!(tags["Tags"], serde_json::json!([]));
}

#[test]
fn tags_with_the_aws_cli() {
    let cloud = Cloud::start();
    let ids = launch(&cloud, &["--count", "2"]);
    let (web, db) = (&ids[0], &ids[1]);
    let group =
        s(&cloud.aws(&["create-security-group", "--group-name", "app", "--description", "d"])["GroupId"]);

    cloud.aws(&[
        "create-tags",
        "--resources",
        web,
        &group,
        "--tags",
        "Key=Name,Value=web",
        "Key=env,Value=prod",
    ]);
    cloud.aws(&["create-tags", "--resources", db, "--tags", "Key=Name,Value=db", "Key=empty"]);

    // Tag filters on DescribeInstances.
    let by = |filter: &str| instance_ids(&cloud.aws(&["describe-instances", "--filters", filter]));
    assert_eq!(by("Name=tag:Name,Values=web"), vec![web.clone()]);
    assert_eq!(by("Name=tag:Name,Values=w?b,db"), {
        let mut both = vec![web.clone(), db.clone()];
        both.sort();
        both
    });
    assert_eq!(by("Name=tag-key,Values=env"), vec![web.clone()]);
    assert_eq!(by("Name=tag:env,Values=dev"), Vec::<String>::new());
    assert_eq!(by("Name=tag-value,Values=d*"), vec![db.clone()]);

    // DescribeTags with filters, in resource and key order.
    let tags = |filters: &[&str]| -> Vec<(String, String, String, String)> {
        let mut args = vec!["describe-tags"];
        if !filters.is_empty() {
            args.push("--filters");
            args.extend_from_slice(filters);
        }
        let d = cloud.aws(&args);
        d["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (s(&t["ResourceId"]), s(&t["ResourceType"]), s(&t["Key"]), s(&t["Value"])))
            .collect()
    };
    let all = tags(&[]);
    assert_eq!(all.len(), 6, "{all:?}");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    assert_eq!(
        tags(&[&format!("Name=resource-id,Values={web}")]),
        vec![
            (web.clone(), "instance".into(), "Name".into(), "web".into()),
            (web.clone(), "instance".into(), "env".into(), "prod".into()),
        ]
    );
    assert_eq!(tags(&["Name=resource-type,Values=security-group"]).len(), 2);
    assert_eq!(
        tags(&["Name=key,Values=Name", "Name=value,Values=d*"]),
        vec![(db.clone(), "instance".into(), "Name".into(), "db".into())]
    );
    assert_eq!(tags(&["Name=key,Values=empty"])[0].3, "");
    // Pages of five with a token.
    let page = cloud.aws(&["describe-tags", "--max-results", "5", "--no-paginate"]);
    assert_eq!(page["Tags"].as_array().unwrap().len(), 5);
    let rest = cloud.aws(&[
        "describe-tags",
        "--max-results",
        "5",
        "--no-paginate",
        "--next-token",
        &s(&page["NextToken"]),
    ]);
    assert_eq!(rest["Tags"].as_array().unwrap().len(), 1);
    assert_eq!(s(&rest["Tags"][0]["Key"]), all[5].2);

    // Tag filters on DescribeSecurityGroups.
    let groups = cloud.aws(&["describe-security-groups", "--filters", "Name=tag:Name,Values=web"]);
    assert_eq!(names(&groups), vec!["app"]);

    // DeleteTags by key, by key and value, and all.
    cloud.aws(&["delete-tags", "--resources", web, "--tags", "Key=env"]);
    cloud.aws(&["delete-tags", "--resources", web, "--tags", "Key=Name,Value=not-web"]);
    let left: Vec<String> =
        tags(&[&format!("Name=resource-id,Values={web}")]).into_iter().map(|t| t.2).collect();
    assert_eq!(left, vec!["Name"]);
    cloud.aws(&["delete-tags", "--resources", web, db, &group]);
    assert_eq!(tags(&[]), vec![]);

    // Refusals and DryRun.
    assert_eq!(
        fails(&cloud, &["create-tags", "--resources", "i-00000000000000000", "--tags", "Key=a,Value=b"]),
        "InvalidInstanceID.NotFound"
    );
    assert_eq!(
        fails(&cloud, &["create-tags", "--resources", "vol-1", "--tags", "Key=a,Value=b"]),
        "InvalidID"
    );
    assert_eq!(
        fails(&cloud, &["create-tags", "--resources", "vol-00000000000000001", "--tags", "Key=a,Value=b"]),
        "InvalidVolume.NotFound"
    );
    assert_eq!(
        fails(&cloud, &["create-tags", "--resources", web, "--tags", "Key=aws:x,Value=b"]),
        "InvalidParameterValue"
    );
    assert_eq!(
        fails(&cloud, &["create-tags", "--resources", web, "--tags", "Key=a,Value=b", "--dry-run"]),
        "DryRunOperation"
    );
    assert_eq!(
        fails(&cloud, &["describe-tags", "--filters", "Name=colour,Values=red"]),
        "InvalidParameterValue"
    );
    assert_eq!(tags(&[]), vec![]);
    let too_many: Vec<String> = (0..51).map(|n| format!("Key=k{n},Value=v")).collect();
    let mut args = vec!["create-tags", "--resources", web.as_str(), "--tags"];
    args.extend(too_many.iter().map(String::as_str));
    assert_eq!(fails(&cloud, &args), "TagLimitExceeded");
    // Answered from the tag index, a page at a time: the same instances.
    let mut batch = launch(
        &cloud,
        &["--count", "6", "--tag-specifications", "ResourceType=instance,Tags=[{Key=batch,Value=b}]"],
    );
    batch.sort();
    let paged =
        cloud.aws(&["describe-instances", "--filters", "Name=tag:batch,Values=b", "--page-size", "5"]);
    assert_eq!(instance_ids(&paged), batch);
    // (The CLI pages with MaxResults=5 and NextToken: two calls for six.)
    let wild =
        cloud.aws(&["describe-instances", "--filters", "Name=tag-key,Values=bat*", "--page-size", "5"]);
    assert_eq!(instance_ids(&wild), batch);
}

#[test]
fn account_attributes_and_instance_types() {
    let cloud = Cloud::start();
    let attrs = cloud.aws(&["describe-account-attributes"]);
    let value = |name: &str| -> Vec<String> {
        let a = attrs["AccountAttributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["AttributeName"] == name)
            .unwrap();
        a["AttributeValues"].as_array().unwrap().iter().map(|v| s(&v["AttributeValue"])).collect()
    };
    assert_eq!(value("supported-platforms"), vec!["EC2"]);
    assert_eq!(value("default-vpc"), vec!["none"]);
    // The default node (64 CPUs, 64 GiB, 2 TiB) holds 64 m1.small; the
    // default pool is 198.51.100.0/24 without its network and broadcast.
    assert_eq!(value("max-instances"), vec!["64"]);
    assert_eq!(value("max-elastic-ips"), vec!["254"]);
    assert_eq!(value("vpc-max-security-groups-per-interface"), vec!["5"]);
    let one = cloud.aws(&["describe-account-attributes", "--attribute-names", "default-vpc"]);
    assert_eq!(one["AccountAttributes"].as_array().unwrap().len(), 1);
    assert_eq!(
        fails(&cloud, &["describe-account-attributes", "--attribute-names", "colour"]),
        "InvalidParameterValue"
    );

    let types = cloud.aws(&["describe-instance-types", "--instance-types", "c1.medium"]);
    let t = &types["InstanceTypes"][0];
    assert_eq!(s(&t["InstanceType"]), "c1.medium");
    assert_eq!(t["CurrentGeneration"], false);
    assert_eq!(t["VCpuInfo"]["DefaultVCpus"], 2);
    assert_eq!(t["VCpuInfo"]["DefaultCores"], 2);
    assert_eq!(t["MemoryInfo"]["SizeInMiB"], 512);
    assert_eq!(t["InstanceStorageSupported"], true);
    assert_eq!(t["InstanceStorageInfo"]["TotalSizeInGB"], 10);
    assert_eq!(
        t["InstanceStorageInfo"]["Disks"],
        serde_json::json!([{"SizeInGB": 10, "Count": 1, "Type": "hdd"}])
    );
    assert_eq!(t["SupportedRootDeviceTypes"], serde_json::json!(["instance-store"]));
    assert_eq!(t["SupportedVirtualizationTypes"], serde_json::json!(["paravirtual"]));
    assert_eq!(s(&t["Hypervisor"]), "xen");
    let all = cloud.aws(&["describe-instance-types", "--page-size", "5"]);
    let all_names: Vec<String> =
        all["InstanceTypes"].as_array().unwrap().iter().map(|t| s(&t["InstanceType"])).collect();
    assert_eq!(all_names.len(), 18, "{all_names:?}");
    assert_eq!(&all_names[..3], ["t1.micro", "m1.small", "m1.medium"]);
    let two_cpus = cloud.aws(&[
        "describe-instance-types",
        "--filters",
        "Name=vcpu-info.default-vcpus,Values=2",
        "Name=memory-info.size-in-mib,Values=512",
    ]);
    let mut two: Vec<String> =
        two_cpus["InstanceTypes"].as_array().unwrap().iter().map(|t| s(&t["InstanceType"])).collect();
    two.sort();
    assert_eq!(two, vec!["c1.medium", "m1.large"]);
    let by_name = cloud.aws(&["describe-instance-types", "--filters", "Name=instance-type,Values=m1.*"]);
    assert_eq!(by_name["InstanceTypes"].as_array().unwrap().len(), 4);
    assert_eq!(
        fails(&cloud, &["describe-instance-types", "--instance-types", "x9.huge"]),
        "InvalidInstanceType"
    );
}

/// Requests byte for byte as euca2ools 3.4 sends them (SigV4 with its own
/// headers and a made-up region, Version=2015-10-01 last).
#[test]
fn euca2ools_shaped_groups_and_addresses() {
    let cloud = Cloud::start();
    let euca = Signer::Euca2ools { region: "undefined-4242" };
    let client = cloud.wire("/services/compute");
    let send = |params: &[(&str, &str)]| {
        let answer = client.send(params, euca);
        assert_eq!(answer.status, 200, "{params:?}: {}", answer.body);
        assert!(answer.body.contains("http://ec2.amazonaws.com/doc/2015-10-01/"), "{}", answer.body);
        answer
    };
    const V: (&str, &str) = ("Version", "2015-10-01");

    let created = send(&[
        ("Action", "CreateSecurityGroup"),
        ("GroupName", "euca"),
        ("GroupDescription", "from euca2ools"),
        V,
    ]);
    let group = created.element("groupId").unwrap().to_owned();
    // The flat EC2-Classic parameters.
    let ok = send(&[
        ("Action", "AuthorizeSecurityGroupIngress"),
        ("GroupName", "euca"),
        ("IpProtocol", "tcp"),
        ("FromPort", "22"),
        ("ToPort", "22"),
        ("CidrIp", "0.0.0.0/0"),
        V,
    ]);
    assert_eq!(ok.element("return"), Some("true"));
    // What euca-authorize 3.4 sends: IpPermissions.1, and a 17-digit group
    // id as GroupName (it only takes 8-digit ones for ids).
    send(&[
        ("Action", "AuthorizeSecurityGroupIngress"),
        ("GroupName", &group),
        ("IpPermissions.1.IpProtocol", "udp"),
        ("IpPermissions.1.FromPort", "5000"),
        ("IpPermissions.1.ToPort", "5010"),
        ("IpPermissions.1.IpRanges.1.CidrIp", "192.0.2.0/24"),
        V,
    ]);
    let described = send(&[("Action", "DescribeSecurityGroups"), ("GroupName.1", "euca"), V]);
    assert_eq!(described.element("groupId"), Some(group.as_str()));
    assert_eq!(described.all("fromPort"), vec!["22", "5000"]);
    assert_eq!(described.all("cidrIp"), vec!["0.0.0.0/0", "192.0.2.0/24", "0.0.0.0/0"]);
    let duplicate = client.send(
        &[
            ("Action", "AuthorizeSecurityGroupIngress"),
            ("GroupName", "euca"),
            ("IpProtocol", "tcp"),
            ("FromPort", "22"),
            ("ToPort", "22"),
            ("CidrIp", "0.0.0.0/0"),
            V,
        ],
        euca,
    );
    assert_eq!((duplicate.status, duplicate.code()), (400, Some("InvalidPermission.Duplicate")));

    let small_page = client.send(&[("Action", "DescribeSecurityGroups"), ("MaxResults", "4"), V], euca);
    assert_eq!(small_page.code(), Some("InvalidParameterValue"));

    // An instance in the group, an address by its IP, as EC2-Classic did.
    let run = send(&[
        ("Action", "RunInstances"),
        ("ImageId", DEFAULT_IMAGE),
        ("MinCount", "1"),
        ("MaxCount", "1"),
        ("SecurityGroup.1", "euca"),
        V,
    ]);
    let id = run.element("instanceId").unwrap().to_owned();
    cloud.eventually(60, "the instance running", || {
        send(&[("Action", "DescribeInstances"), ("InstanceId.1", &id), V])
            .body
            .contains("<name>running</name>")
    });
    let allocated = send(&[("Action", "AllocateAddress"), V]);
    let ip = allocated.element("publicIp").unwrap().to_owned();
    assert_eq!(allocated.element("domain"), Some("standard"));
    let associated = send(&[("Action", "AssociateAddress"), ("PublicIp", &ip), ("InstanceId", &id), V]);
    assert_eq!(associated.element("return"), Some("true"));
    let described = send(&[("Action", "DescribeAddresses"), ("PublicIp.1", &ip), V]);
    assert_eq!(described.element("instanceId"), Some(id.as_str()));
    let instance = send(&[("Action", "DescribeInstances"), ("InstanceId.1", &id), V]);
    assert_eq!(instance.element("ipAddress"), Some(ip.as_str()));
    send(&[("Action", "DisassociateAddress"), ("PublicIp", &ip), V]);
    let instance = send(&[("Action", "DescribeInstances"), ("InstanceId.1", &id), V]);
    assert_ne!(instance.element("ipAddress"), Some(ip.as_str()));
    send(&[("Action", "ReleaseAddress"), ("PublicIp", &ip), V]);
    let gone = client.send(&[("Action", "DescribeAddresses"), ("PublicIp.1", &ip), V], euca);
    assert_eq!(gone.code(), Some("InvalidAddress.NotFound"));
}

/// An account holds at most 5 elastic IPs (EC2's default) unless the cloud
/// administrator sets another limit with `yukari address set-limit`; the
/// admin account has none.
#[test]
fn elastic_ips_per_account_are_limited_and_the_limit_is_set_with_yukari() {
    let cloud = Cloud::start();
    let out = yukari().args(["account", "create", "erin", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let erin_env: HashMap<String, String> =
        parse_eucarc(&std::fs::read_to_string(cloud.dir.join("accounts/erin/eucarc")).unwrap());
    let erin = |args: &[&str]| -> Output {
        cloud.client("aws").envs(&erin_env).arg("ec2").args(args).args(["--output", "json"]).output().unwrap()
    };
    let allocate = || -> String {
        let out = erin(&["allocate-address"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        s(&serde_json::from_slice::<Value>(&out.stdout).unwrap()["AllocationId"])
    };
    let held = || {
        let out = erin(&["describe-addresses"]);
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["Addresses"].as_array().unwrap().len()
    };
    let first: Vec<String> = (0..5).map(|_| allocate()).collect();
    assert_eq!(code_of(&erin(&["allocate-address"])), "AddressLimitExceeded");
    let stderr = String::from_utf8_lossy(&erin(&["allocate-address"]).stderr).to_string();
    assert!(stderr.contains("The maximum number of addresses has been reached."), "{stderr}");
    assert_eq!(held(), 5);
    // The admin account is not limited.
    for _ in 0..6 {
        cloud.aws(&["allocate-address"]);
    }
    // A release makes room for one.
    assert!(erin(&["release-address", "--allocation-id", &first[0]]).status.success());
    allocate();
    assert_eq!(code_of(&erin(&["allocate-address"])), "AddressLimitExceeded");
    // The operator raises the limit.
    let out = yukari().args(["address", "set-limit", "6", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    allocate();
    assert_eq!(code_of(&erin(&["allocate-address"])), "AddressLimitExceeded");
    assert_eq!(held(), 6);
}

/// A second account sees none of the first one's groups, addresses or
/// tags, and cannot change them, even by naming them.
#[test]
fn another_account_neither_sees_nor_changes_them() {
    let cloud = Cloud::start();
    let out = yukari().args(["account", "create", "bob", "--data-dir"]).arg(&cloud.dir).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bob_env: HashMap<String, String> =
        parse_eucarc(&std::fs::read_to_string(cloud.dir.join("accounts/bob/eucarc")).unwrap());
    let bob = |args: &[&str]| -> Output {
        cloud.client("aws").envs(&bob_env).arg("ec2").args(args).args(["--output", "json"]).output().unwrap()
    };
    let bob_ok = |args: &[&str]| -> Value {
        let out = bob(args);
        assert!(out.status.success(), "bob: {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    };

    let group =
        s(&cloud.aws(&["create-security-group", "--group-name", "web", "--description", "d"])["GroupId"]);
    let address = cloud.aws(&["allocate-address"]);
    let (alloc, ip) = (s(&address["AllocationId"]), s(&address["PublicIp"]));
    let ids = launch(&cloud, &[]);
    cloud.aws(&["create-tags", "--resources", &group, &alloc, &ids[0], "--tags", "Key=owner,Value=admin"]);

    // Bob has his own default group and nothing else.
    assert_eq!(names(&bob_ok(&["describe-security-groups"])), vec!["default"]);
    assert_eq!(bob_ok(&["describe-addresses"])["Addresses"], serde_json::json!([]));
    assert_eq!(bob_ok(&["describe-tags"])["Tags"], serde_json::json!([]));
    assert_eq!(
        names(&bob_ok(&["describe-security-groups", "--filters", "Name=tag:owner,Values=admin"])),
        Vec::<String>::new()
    );
    // Named explicitly: not found, as if they did not exist.
    assert_eq!(code_of(&bob(&["describe-security-groups", "--group-ids", &group])), "InvalidGroup.NotFound");
    assert_eq!(
        code_of(&bob(&["describe-addresses", "--allocation-ids", &alloc])),
        "InvalidAllocationID.NotFound"
    );
    assert_eq!(code_of(&bob(&["describe-addresses", "--public-ips", &ip])), "InvalidAddress.NotFound");
    assert_eq!(code_of(&bob(&["delete-security-group", "--group-id", &group])), "InvalidGroup.NotFound");
    let rule = [
        "authorize-security-group-ingress",
        "--group-id",
        &group,
        "--protocol",
        "tcp",
        "--port",
        "22",
        "--cidr",
        "0.0.0.0/0",
    ];
    assert_eq!(code_of(&bob(&rule)), "InvalidGroup.NotFound");
    assert_eq!(
        code_of(&bob(&["release-address", "--allocation-id", &alloc])),
        "InvalidAllocationID.NotFound"
    );
    assert_eq!(code_of(&bob(&["release-address", "--public-ip", &ip])), "InvalidAddress.NotFound");
    assert_eq!(
        code_of(&bob(&["create-tags", "--resources", &group, "--tags", "Key=owner,Value=bob"])),
        "InvalidGroup.NotFound"
    );
    assert_eq!(code_of(&bob(&["delete-tags", "--resources", &alloc])), "InvalidAllocationID.NotFound");
    // Bob's own address cannot go on the admin's instance.
    let bobs = s(&bob_ok(&["allocate-address"])["AllocationId"]);
    assert_eq!(
        code_of(&bob(&["associate-address", "--allocation-id", &bobs, "--instance-id", &ids[0]])),
        "InvalidInstanceID.NotFound"
    );
    assert_eq!(
        code_of(&bob(&["associate-address", "--allocation-id", &alloc, "--instance-id", &ids[0]])),
        "InvalidAllocationID.NotFound"
    );

    // Bob may name the admin's group as a source in his own rule, by id
    // and owner: the answer is the same as for a group or an account that
    // does not exist, and what he sees is the id and owner he gave, never
    // the group's name.
    let admin_account =
        s(&cloud.aws(&["describe-security-groups", "--group-ids", &group])["SecurityGroups"][0]["OwnerId"]);
    let from = |group_id: &str, owner: &str| {
        let permissions = format!(
            "IpProtocol=tcp,FromPort=80,ToPort=80,UserIdGroupPairs=[{{GroupId={group_id},UserId={owner}}}]"
        );
        bob(&[
            "authorize-security-group-ingress",
            "--group-name",
            "default",
            "--ip-permissions",
            &permissions,
        ])
    };
    let missing_group = "sg-0123456789abcdef0";
    let outcomes: Vec<(bool, String)> =
        [from(&group, &admin_account), from(missing_group, &admin_account), from(&group, "999999999999")]
            .iter()
            .map(|out| {
                let stdout = String::from_utf8_lossy(&out.stdout)
                    .replace(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], "");
                (out.status.success(), format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
            })
            .collect();
    assert!(outcomes.iter().all(|o| o == &outcomes[0]), "{outcomes:?}");
    assert!(outcomes[0].0, "{outcomes:?}");
    let bobs_default = bob_ok(&["describe-security-groups", "--group-names", "default"]);
    let web_port = bobs_default["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["FromPort"] == 80)
        .unwrap_or_else(|| panic!("no rule for port 80: {bobs_default}"));
    let pairs = &web_port["UserIdGroupPairs"];
    assert_eq!(pairs.as_array().unwrap().len(), 3, "{bobs_default}");
    for pair in pairs.as_array().unwrap() {
        assert!(pair.get("GroupName").is_none(), "the name of another account's group leaked: {pair}");
    }
    assert!(!bobs_default.to_string().contains("\"web\""), "{bobs_default}");

    // Nothing of the admin's changed.
    let tags = cloud.aws(&["describe-tags", "--filters", "Name=key,Values=owner"]);
    assert!(tags["Tags"].as_array().unwrap().iter().all(|t| t["Value"] == "admin"));
    assert_eq!(tags["Tags"].as_array().unwrap().len(), 3);
    let web = cloud.aws(&["describe-security-groups", "--group-ids", &group]);
    assert_eq!(web["SecurityGroups"][0]["IpPermissions"], serde_json::json!([]));
    let mine = cloud.aws(&["describe-addresses"]);
    assert_eq!(mine["Addresses"].as_array().unwrap().len(), 1);
    assert_eq!(s(&mine["Addresses"][0]["AllocationId"]), alloc);
}

/// boto3's client API; the checks live in
/// tests/clients/boto3_groups_addresses.py.
#[test]
fn boto3_groups_addresses_and_tags() {
    let cloud = Cloud::start();
    let out = cloud.python("boto3_groups_addresses.py", &[]);
    assert!(
        out.status.success(),
        "boto3 checks failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("all checks passed"));
}
