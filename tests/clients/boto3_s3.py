"""boto3 against a running Yukari's Walrus: virtual-hosted and path-style
addressing, SigV4 and SigV2, managed multipart transfers, presigned URLs,
versions, ACLs, batch deletes, and S3's error codes.

Run by tests/s3.rs with the cloud's eucarc in the environment
(AWS_ENDPOINT_URL_S3, keys, AWS_DEFAULT_REGION). Exits non-zero on the
first failed check.
"""
import io
import os
import socket
import sys
import urllib.error
import urllib.request
from urllib.parse import urlparse

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

# `BUCKET.localhost` is this machine, whatever the resolver says.
_getaddrinfo = socket.getaddrinfo


def _resolve(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} {kwargs} did not fail")


def fetch(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def main():
    endpoint = os.environ["AWS_ENDPOINT_URL_S3"]
    port = urlparse(endpoint).port
    localhost = f"http://localhost:{port}"
    virtual = boto3.client("s3", endpoint_url=localhost, config=Config(s3={"addressing_style": "virtual"}))
    path = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
    sigv2 = boto3.client("s3", config=Config(signature_version="s3", s3={"addressing_style": "path"}))

    virtual.create_bucket(Bucket="boto-bucket")
    # SigV2 on the bucket itself: botocore signs `/bucket/`, sends `/bucket`.
    sigv2.create_bucket(Bucket="boto-v2")
    assert sigv2.list_objects(Bucket="boto-v2").get("Contents") is None
    sigv2.get_bucket_acl(Bucket="boto-v2")
    sigv2.head_bucket(Bucket="boto-v2")
    sigv2.delete_bucket(Bucket="boto-v2")
    assert error_code(path.create_bucket, Bucket="boto-bucket") == "BucketAlreadyOwnedByYou"
    names = [b["Name"] for b in sigv2.list_buckets()["Buckets"]]
    assert names == ["boto-bucket"], names

    # Objects, through each client.
    virtual.put_object(Bucket="boto-bucket", Key="a/one.txt", Body=b"one", Metadata={"k": "v"},
                       ContentType="text/plain")
    path.put_object(Bucket="boto-bucket", Key="a/two.txt", Body=b"two two")
    sigv2.put_object(Bucket="boto-bucket", Key="b/three.txt", Body=b"three")
    got = sigv2.get_object(Bucket="boto-bucket", Key="a/one.txt")
    assert got["Body"].read() == b"one" and got["Metadata"] == {"k": "v"}, got
    assert got["ContentType"] == "text/plain"
    assert virtual.get_object(Bucket="boto-bucket", Key="a/two.txt", Range="bytes=4-")["Body"].read() == b"two"
    listing = virtual.list_objects_v2(Bucket="boto-bucket", Delimiter="/")
    assert [p["Prefix"] for p in listing["CommonPrefixes"]] == ["a/", "b/"], listing
    keys = [o["Key"] for o in path.list_objects(Bucket="boto-bucket", Prefix="a/")["Contents"]]
    assert keys == ["a/one.txt", "a/two.txt"], keys
    assert error_code(virtual.get_object, Bucket="boto-bucket", Key="missing") == "NoSuchKey"
    assert error_code(path.head_bucket, Bucket="no-such-bucket") == "404"

    # A managed transfer: multipart above the threshold, several parts at once.
    data = os.urandom(12 * 1024 * 1024 + 17)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024,
                            max_concurrency=4)
    virtual.upload_fileobj(io.BytesIO(data), "boto-bucket", "big.bin", Config=config)
    head = path.head_object(Bucket="boto-bucket", Key="big.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"'), head
    out = io.BytesIO()
    path.download_fileobj("boto-bucket", "big.bin", out, Config=config)
    assert out.getvalue() == data
    # One part of it at a time (partNumber), and only parts it has.
    part_size = 5 * 1024 * 1024
    for number in (1, 2, 3):
        part = path.get_object(Bucket="boto-bucket", Key="big.bin", PartNumber=number)
        assert part["PartsCount"] == 3 and part["ETag"] == head["ETag"], part
        assert part["Body"].read() == data[(number - 1) * part_size:number * part_size], number
    assert path.head_object(Bucket="boto-bucket", Key="big.bin", PartNumber=3)["ContentLength"] == len(data) - 2 * part_size
    assert error_code(path.get_object, Bucket="boto-bucket", Key="big.bin", PartNumber=4) == "InvalidPart"
    assert path.get_object(Bucket="boto-bucket", Key="a/two.txt", PartNumber=1)["Body"].read() == b"two two"
    assert error_code(path.get_object, Bucket="boto-bucket", Key="a/two.txt", PartNumber=2) == "InvalidPart"

    # Presigned URLs, SigV4 and SigV2.
    for client in (path, sigv2):
        url = client.generate_presigned_url("get_object", Params={"Bucket": "boto-bucket", "Key": "a/one.txt"},
                                            ExpiresIn=300)
        status, body = fetch(url)
        assert (status, body) == (200, b"one"), (url, status, body)
    status, _ = fetch(f"{endpoint.rstrip('/')}/boto-bucket/a/one.txt")
    assert status == 403, status

    # Versions.
    path.put_bucket_versioning(Bucket="boto-bucket", VersioningConfiguration={"Status": "Enabled"})
    first = path.put_object(Bucket="boto-bucket", Key="v.txt", Body=b"1")["VersionId"]
    path.put_object(Bucket="boto-bucket", Key="v.txt", Body=b"2")
    assert path.get_object(Bucket="boto-bucket", Key="v.txt", VersionId=first)["Body"].read() == b"1"
    versions = path.list_object_versions(Bucket="boto-bucket", Prefix="v.txt")["Versions"]
    assert len(versions) == 2 and versions[0]["IsLatest"], versions
    # A deleted key's HEAD says whether a delete marker hides it.
    marker = path.delete_object(Bucket="boto-bucket", Key="v.txt")
    assert marker["DeleteMarker"] is True, marker
    try:
        path.head_object(Bucket="boto-bucket", Key="v.txt")
        raise AssertionError("a delete marker's key answered HEAD")
    except ClientError as e:
        headers = e.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers.get("x-amz-delete-marker") == "true", headers
        assert headers.get("x-amz-version-id") == marker["VersionId"], headers
    # Errors name their request, in the XML and its header alike.
    try:
        path.get_object(Bucket="boto-bucket", Key="never-there")
        raise AssertionError("a missing key was read")
    except ClientError as e:
        request_id = e.response["ResponseMetadata"]["RequestId"]
        headers = e.response["ResponseMetadata"]["HTTPHeaders"]
        assert request_id and headers.get("x-amz-request-id") == request_id, e.response
        assert headers.get("x-amz-delete-marker") == "false", headers
    # x-amz-expected-bucket-owner: the owner's account passes, another is refused.
    owner = path.get_bucket_acl(Bucket="boto-bucket")["Owner"]["ID"]
    path.head_bucket(Bucket="boto-bucket", ExpectedBucketOwner=owner)
    assert path.get_object(Bucket="boto-bucket", Key="a/two.txt", ExpectedBucketOwner=owner)["Body"].read() == b"two two"
    other = "111122223333" if owner != "111122223333" else "444455556666"
    assert error_code(path.get_object, Bucket="boto-bucket", Key="a/two.txt", ExpectedBucketOwner=other) == "AccessDenied"
    assert error_code(path.head_bucket, Bucket="boto-bucket", ExpectedBucketOwner=other) == "403"
    # ListBuckets a page at a time.
    names = sorted(["boto-page-a", "boto-page-b", "boto-page-c"])
    for name in names:
        path.create_bucket(Bucket=name)
    seen, token = [], None
    while True:
        page = path.list_buckets(MaxBuckets=2, Prefix="boto-page-", **({"ContinuationToken": token} if token else {}))
        assert len(page["Buckets"]) <= 2, page
        seen += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if not token:
            break
    assert seen == names, seen
    for name in names:
        path.delete_bucket(Bucket=name)
    # A suspended bucket's writes make `null` versions and name none.
    path.create_bucket(Bucket="boto-suspended")
    path.put_bucket_versioning(Bucket="boto-suspended", VersioningConfiguration={"Status": "Suspended"})
    put = path.put_object(Bucket="boto-suspended", Key="k", Body=b"x", ContentEncoding="gzip, aws-chunked")
    assert "VersionId" not in put, put
    # `aws-chunked` is the upload's framing, not the object's encoding.
    got = path.get_object(Bucket="boto-suspended", Key="k")
    assert got.get("ContentEncoding") == "gzip", got
    path.delete_object(Bucket="boto-suspended", Key="k", VersionId="null")
    path.delete_bucket(Bucket="boto-suspended")

    # ACLs: a canned public-read object is readable by anyone.
    path.put_object_acl(Bucket="boto-bucket", Key="a/two.txt", ACL="public-read")
    grants = path.get_object_acl(Bucket="boto-bucket", Key="a/two.txt")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants), grants
    assert fetch(f"{endpoint.rstrip('/')}/boto-bucket/a/two.txt") == (200, b"two two")

    # Batch delete of everything, every version.
    everything = path.list_object_versions(Bucket="boto-bucket")
    objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
               for v in everything.get("Versions", []) + everything.get("DeleteMarkers", [])]
    deleted = path.delete_objects(Bucket="boto-bucket", Delete={"Objects": objects})
    assert len(deleted["Deleted"]) == len(objects) and "Errors" not in deleted, deleted
    path.delete_bucket(Bucket="boto-bucket")
    assert sigv2.list_buckets()["Buckets"] == []
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
