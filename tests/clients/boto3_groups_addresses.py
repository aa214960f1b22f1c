"""boto3 against a running Yukari: security groups and rules, elastic IPs
and tags, with the client API, paginators and waiters.

Run by tests/compute_groups_addresses_tags.rs with the cloud's eucarc in the
environment. Exits non-zero on the first failed check.
"""
import boto3
from botocore.exceptions import ClientError

IMAGE = "emi-0000059554b415249"


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} {kwargs} did not fail")


def permissions(group):
    """(protocol, from, to, cidrs, group ids) of each ingress item."""
    return [
        (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"),
         sorted(r["CidrIp"] for r in p["IpRanges"]),
         sorted(g["GroupId"] for g in p["UserIdGroupPairs"]))
        for p in group["IpPermissions"]
    ]


def groups_and_rules(ec2):
    web = ec2.create_security_group(GroupName="b3-web", Description="boto3 web",
                                    TagSpecifications=[{"ResourceType": "security-group",
                                                        "Tags": [{"Key": "tier", "Value": "front"}]}])
    web_id = web["GroupId"]
    db_id = ec2.create_security_group(GroupName="b3-db", Description="boto3 db")["GroupId"]
    assert web_id.startswith("sg-") and db_id != web_id
    assert error_code(ec2.create_security_group, GroupName="b3-web", Description="x") == "InvalidGroup.Duplicate"

    ec2.authorize_security_group_ingress(GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "203.0.113.0/24"}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": 0, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
    ])
    # The flat form, and a group source by id.
    ec2.authorize_security_group_ingress(GroupName="b3-db", IpProtocol="tcp", FromPort=5432, ToPort=5432,
                                         CidrIp="10.1.0.0/16")
    ec2.authorize_security_group_ingress(GroupId=db_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": web_id}]}])

    described = ec2.describe_security_groups(GroupIds=[web_id, db_id])["SecurityGroups"]
    by_id = {g["GroupId"]: g for g in described}
    assert permissions(by_id[web_id]) == [
        ("icmp", 8, 0, ["10.0.0.0/8"], []),
        ("tcp", 443, 443, ["0.0.0.0/0", "203.0.113.0/24"], []),
    ], permissions(by_id[web_id])
    assert permissions(by_id[db_id]) == [("tcp", 5432, 5432, ["10.1.0.0/16"], [web_id])], permissions(by_id[db_id])
    assert by_id[web_id]["Tags"] == [{"Key": "tier", "Value": "front"}]
    assert by_id[db_id]["IpPermissionsEgress"][0]["IpProtocol"] == "-1"

    assert error_code(ec2.authorize_security_group_ingress, GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ]) == "InvalidPermission.Duplicate"
    assert error_code(ec2.authorize_security_group_ingress, GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "300.0.0.0/8"}]}
    ]) == "InvalidParameterValue"
    assert error_code(ec2.authorize_security_group_ingress, GroupId=web_id, IpPermissions=[
        {"IpProtocol": "icmp", "FromPort": 300, "ToPort": 0, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    ]) == "InvalidParameterValue"
    assert error_code(ec2.authorize_security_group_ingress, GroupId=web_id, DryRun=True, IpPermissions=[
        {"IpProtocol": "udp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
    ]) == "DryRunOperation"

    ec2.revoke_security_group_ingress(GroupId=web_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}])
    web_now = ec2.describe_security_groups(GroupNames=["b3-web"])["SecurityGroups"][0]
    assert permissions(web_now) == [
        ("icmp", 8, 0, ["10.0.0.0/8"], []),
        ("tcp", 443, 443, ["0.0.0.0/0"], []),
    ], permissions(web_now)

    found = ec2.describe_security_groups(Filters=[{"Name": "tag:tier", "Values": ["front"]}])["SecurityGroups"]
    assert [g["GroupId"] for g in found] == [web_id]
    found = ec2.describe_security_groups(Filters=[{"Name": "ip-permission.group-id", "Values": [web_id]}])
    assert [g["GroupId"] for g in found["SecurityGroups"]] == [db_id]
    pages = list(ec2.get_paginator("describe_security_groups").paginate(PaginationConfig={"PageSize": 5}))
    assert sorted(g["GroupName"] for p in pages for g in p["SecurityGroups"]) == ["b3-db", "b3-web", "default"]
    assert error_code(ec2.describe_security_groups, GroupNames=["nope"]) == "InvalidGroup.NotFound"
    return web_id, db_id


def addresses(ec2, web_id):
    launched = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, SecurityGroupIds=[web_id])
    instance = launched["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance], WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    allocated = ec2.allocate_address(Domain="vpc")
    allocation, ip = allocated["AllocationId"], allocated["PublicIp"]
    assert allocated["Domain"] == "vpc" and allocation.startswith("eipalloc-"), allocated
    association = ec2.associate_address(AllocationId=allocation, InstanceId=instance)["AssociationId"]
    assert association.startswith("eipassoc-")

    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["PublicIpAddress"] == ip, (described["PublicIpAddress"], ip)
    assert described["SecurityGroups"][0]["GroupId"] == web_id
    row = ec2.describe_addresses(PublicIps=[ip])["Addresses"][0]
    assert (row["InstanceId"], row["AssociationId"], row["AllocationId"]) == (instance, association, allocation)
    assert row["PrivateIpAddress"] == described["PrivateIpAddress"]

    assert error_code(ec2.delete_security_group, GroupId=web_id) == "DependencyViolation"
    assert error_code(ec2.release_address, AllocationId="eipalloc-00000000000000000") == "InvalidAllocationID.NotFound"
    assert error_code(ec2.disassociate_address, AssociationId="eipassoc-00000000000000000") \
        == "InvalidAssociationID.NotFound"

    ec2.disassociate_address(AssociationId=association)
    assert "InstanceId" not in ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]
    again = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert again.get("PublicIpAddress") not in (None, ip), again.get("PublicIpAddress")
    ec2.release_address(AllocationId=allocation)
    assert ec2.describe_addresses()["Addresses"] == []
    return instance


def tags(ec2, instance, web_id):
    ec2.create_tags(Resources=[instance, web_id], Tags=[{"Key": "Name", "Value": "b3"}, {"Key": "team", "Value": "x"}])
    named = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["b3"]}])
    assert [i["InstanceId"] for r in named["Reservations"] for i in r["Instances"]] == [instance]
    keyed = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["team"]}])
    assert [i["InstanceId"] for r in keyed["Reservations"] for i in r["Instances"]] == [instance]

    pages = list(ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 5}))
    every = [(t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for p in pages for t in p["Tags"]]
    assert sorted(every) == sorted([
        (instance, "instance", "Name", "b3"), (instance, "instance", "team", "x"),
        (web_id, "security-group", "Name", "b3"), (web_id, "security-group", "team", "x"),
        (web_id, "security-group", "tier", "front"),
    ]), every
    only = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["instance"]},
                                      {"Name": "key", "Values": ["te*"]}])["Tags"]
    assert [(t["ResourceId"], t["Value"]) for t in only] == [(instance, "x")], only

    ec2.delete_tags(Resources=[instance], Tags=[{"Key": "team"}])
    ec2.delete_tags(Resources=[web_id])
    left = ec2.describe_tags()["Tags"]
    assert [(t["ResourceId"], t["Key"]) for t in left] == [(instance, "Name")], left
    assert error_code(ec2.create_tags, Resources=["i-00000000000000000"], Tags=[{"Key": "a", "Value": "b"}]) \
        == "InvalidInstanceID.NotFound"


def main():
    ec2 = boto3.client("ec2")
    web_id, db_id = groups_and_rules(ec2)
    instance = addresses(ec2, web_id)
    tags(ec2, instance, web_id)

    ec2.terminate_instances(InstanceIds=[instance])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ec2.revoke_security_group_ingress(GroupId=db_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": web_id}]}])
    ec2.delete_security_group(GroupId=web_id)
    ec2.delete_security_group(GroupName="b3-db")
    left = ec2.describe_security_groups()["SecurityGroups"]
    assert [g["GroupName"] for g in left] == ["default"], left
    print("all checks passed")


if __name__ == "__main__":
    main()
