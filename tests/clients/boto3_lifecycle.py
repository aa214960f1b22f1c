"""boto3 against a running Yukari: launch, wait, page, terminate, errors.

Run by tests/boto3.rs with the cloud's eucarc in the environment
(AWS_ENDPOINT_URL, keys, AWS_DEFAULT_REGION). Exits non-zero on the first
failed check.
"""
import sys

import boto3
from botocore.exceptions import ClientError

IMAGE = "emi-0000059554b415249"


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} {kwargs} did not fail")


def main():
    ec2 = boto3.client("ec2")
    first = ec2.run_instances(ImageId=IMAGE, MinCount=2, MaxCount=2, InstanceType="m1.small",
                              UserData="#!/bin/sh\necho hello", ClientToken="boto3-token-1")
    ids = sorted(i["InstanceId"] for i in first["Instances"])
    assert len(ids) == 2, first
    assert all(i["State"]["Name"] == "pending" for i in first["Instances"])

    # The same client token answers with the same reservation, launching nothing.
    again = ec2.run_instances(ImageId=IMAGE, MinCount=2, MaxCount=2, InstanceType="m1.small",
                              UserData="#!/bin/sh\necho hello", ClientToken="boto3-token-1")
    assert again["ReservationId"] == first["ReservationId"], again
    assert sorted(i["InstanceId"] for i in again["Instances"]) == ids
    assert error_code(ec2.run_instances, ImageId=IMAGE, MinCount=1, MaxCount=1,
                      ClientToken="boto3-token-1") == "IdempotentParameterMismatch"

    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    described = ec2.describe_instances(InstanceIds=ids)
    states = {i["InstanceId"]: i["State"]["Name"] for r in described["Reservations"] for i in r["Instances"]}
    assert states == {ids[0]: "running", ids[1]: "running"}, states
    assert len(ec2.describe_instances()["Reservations"]) == 1

    more = ec2.run_instances(ImageId=IMAGE, MinCount=6, MaxCount=6)
    everyone = set(ids) | {i["InstanceId"] for i in more["Instances"]}
    pages = list(ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) == 2, [len(p["Reservations"]) for p in pages]
    paged = {i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]}
    assert paged == everyone, (paged, everyone)

    done = ec2.terminate_instances(InstanceIds=ids)
    assert {c["CurrentState"]["Name"] for c in done["TerminatingInstances"]} == {"shutting-down"}
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    assert error_code(ec2.describe_instances, InstanceIds=["i-0123456789abcdef0"]) == "InvalidInstanceID.NotFound"
    assert error_code(ec2.describe_instances, InstanceIds=["i-nope"]) == "InvalidInstanceID.Malformed"
    assert error_code(ec2.run_instances, ImageId="emi-00000000000000bad", MinCount=1, MaxCount=1) == "InvalidAMIID.NotFound"
    assert error_code(ec2.describe_instances, MaxResults=2) == "InvalidParameterValue"

    # The resource API, as scripts use it.
    resource = boto3.resource("ec2")
    instance = resource.create_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, InstanceType="c1.medium")[0]
    instance.wait_until_running(WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    instance.reload()
    assert instance.state["Name"] == "running" and instance.instance_type == "c1.medium"
    instance.terminate()
    instance.wait_until_terminated(WaiterConfig={"Delay": 1, "MaxAttempts": 60})

    images = ec2.describe_images(ImageIds=[IMAGE])["Images"]
    assert images[0]["ImageType"] == "machine" and images[0]["State"] == "available", images
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["yukari-1a"], zones
    print("boto3: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"check failed: {e}", file=sys.stderr)
        raise
