"""boto3 with Yukari's admin-only AsOf / AsOfPosition parameters.

boto3 does not know them, so a `before-call` hook adds the parameter to the
serialized query body, which is then signed as usual. Run by
tests/replay.rs with an account's eucarc in the environment.

Usage: boto3_as_of.py PARAM VALUE INSTANCE_ID
Prints one JSON object: the instance's state and the key pair names as of
that moment, or the error code of the refusal.
"""
import json
import sys

import boto3
from botocore.exceptions import ClientError


def main():
    param, value, instance = sys.argv[1:4]
    ec2 = boto3.client("ec2")

    def add_as_of(params, **kwargs):
        params["body"][param] = value

    ec2.meta.events.register("before-call.ec2", add_as_of)
    try:
        described = ec2.describe_instances(InstanceIds=[instance])
        states = [i["State"]["Name"] for r in described["Reservations"] for i in r["Instances"]]
        keys = sorted(k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"])
        print(json.dumps({"states": states, "keys": keys}))
    except ClientError as e:
        print(json.dumps({"error": e.response["Error"]["Code"], "message": e.response["Error"]["Message"]}))


if __name__ == "__main__":
    main()
