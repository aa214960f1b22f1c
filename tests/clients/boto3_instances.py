"""boto3 against a running Yukari: key pairs, stop/start/reboot, attributes,
status, console output, DryRun. Exits non-zero on the first failed check."""
import base64
import sys
import time

import boto3
from botocore.exceptions import ClientError

IMAGE = "emi-0000059554b415249"


def code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} {kwargs} did not fail")


def main():
    ec2 = boto3.client("ec2")
    key = ec2.create_key_pair(KeyName="boto", KeyType="ed25519")
    assert key["KeyMaterial"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----"), key
    assert key["KeyPairId"].startswith("key-")
    assert code(ec2.create_key_pair, KeyName="boto") == "InvalidKeyPair.Duplicate"
    pairs = ec2.describe_key_pairs(KeyNames=["boto"], IncludePublicKey=True)["KeyPairs"]
    assert pairs[0]["KeyType"] == "ed25519" and pairs[0]["PublicKey"].startswith("ssh-ed25519 "), pairs

    run = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, KeyName="boto", UserData="hello",
                            InstanceInitiatedShutdownBehavior="terminate",
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "b1"}]}])
    iid = run["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ec2.get_waiter("instance_status_ok").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    behavior = ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceInitiatedShutdownBehavior")
    assert behavior["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate", behavior
    data = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(data) == b"hello"
    out = ec2.get_console_output(InstanceId=iid)
    assert f"{iid} is up" in out["Output"], out  # boto3 decodes the base64

    assert code(ec2.stop_instances, InstanceIds=[iid], DryRun=True) == "DryRunOperation"
    ec2.stop_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "m1.large"})
    ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"again"})
    data = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(data) == b"again"
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert inst["InstanceType"] == "m1.large" and inst["KeyName"] == "boto", inst
    assert {"Key": "Name", "Value": "b1"} in inst["Tags"], inst
    ec2.reboot_instances(InstanceIds=[iid])
    assert code(ec2.modify_instance_attribute, InstanceId=iid, InstanceType={"Value": "m1.small"}) == "IncorrectInstanceState"
    types = {t["InstanceType"]: t for t in ec2.describe_instance_types()["InstanceTypes"]}
    assert types["m1.small"]["VCpuInfo"]["DefaultVCpus"] == 1 and types["m1.small"]["MemoryInfo"]["SizeInMiB"] == 256, types["m1.small"]
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ec2.delete_key_pair(KeyName="boto")
    assert ec2.describe_key_pairs()["KeyPairs"] == []
    print("boto3 instances: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"check failed: {e}", file=sys.stderr)
        raise
