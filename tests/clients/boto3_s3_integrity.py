"""boto3 against a running Yukari's Walrus: what a request must have
signed, and that what was stored is what the client sent.

- An `x-amz-*` header that SigV4 did not sign is refused (a presigned
  PutObject URL must not become a CopyObject of a private object, nor
  make its upload public), on the S3 port and under /services/objectstorage.
- A presigned URL lasts a week at most.
- An anonymous GET cannot override the answer's headers (`response-*`).
- A checksum a client claims (header or aws-chunked trailer, as boto3
  sends by default) is checked: a corrupted body is BadDigest, not stored.
- Encryption, object lock, object tags, other storage classes: refused,
  not silently ignored. `partNumber` with `Range`: refused.
- A PUT with If-Match overwrites only the ETag it names.

Run by tests/s3.rs with the cloud's eucarc in the environment. Prints
"ok" at the end; exits non-zero on the first failed check.
"""
import base64
import hashlib
import io
import os
import urllib.error
import urllib.request
from urllib.parse import urlparse

import boto3
import botocore.httpchecksum
from botocore.config import Config
from botocore.exceptions import ClientError


def error_code(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError(f"{call.__name__} {kwargs} did not fail")


def fetch(url, method="GET", data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, r.read(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read(), {k.lower(): v for k, v in e.headers.items()}


def missing(client, bucket, key):
    return error_code(client.head_object, Bucket=bucket, Key=key) in ("404", "NoSuchKey")


def unsigned_headers(s3, endpoint):
    s3.put_object(Bucket="sealed", Key="secret.txt", Body=b"the signer's secret")
    prefixed = os.environ["AWS_ENDPOINT_URL"].rstrip("/") + "/services/objectstorage"
    for base in (endpoint, prefixed):
        client = boto3.client("s3", endpoint_url=base, config=Config(s3={"addressing_style": "path"}))
        url = client.generate_presigned_url(
            "put_object", Params={"Bucket": "uploads", "Key": "slot"}, ExpiresIn=300
        )
        status, body, _ = fetch(
            url, "PUT", b"", {"x-amz-copy-source": "sealed/secret.txt", "x-amz-acl": "public-read"}
        )
        assert status == 403 and b"AccessDenied" in body and b"not signed" in body, (base, status, body)
        status, body, _ = fetch(url, "PUT", b"mine", {"x-amz-acl": "public-read"})
        assert status == 403 and b"not signed" in body, (base, status, body)
        assert missing(s3, "uploads", "slot"), base
        # Signed as the URL says, it works.
        assert fetch(url, "PUT", b"mine")[0] == 200, base
        assert s3.get_object(Bucket="uploads", Key="slot")["Body"].read() == b"mine"
        s3.delete_object(Bucket="uploads", Key="slot")

    # A header signature, and an x-amz-acl added after signing.
    def add_acl(request, **_):
        request.headers["x-amz-acl"] = "public-read"

    late = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
    late.meta.events.register("before-send.s3.PutObject", add_acl)
    assert error_code(late.put_object, Bucket="uploads", Key="late", Body=b"x") == "AccessDenied"
    assert missing(s3, "uploads", "late")
    # Signed, the same header is taken.
    s3.put_object(Bucket="uploads", Key="signed-acl", Body=b"x", ACL="public-read")
    assert fetch(f"{endpoint.rstrip('/')}/uploads/signed-acl")[0] == 200


def presigned_expiry(s3):
    week = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "sealed", "Key": "secret.txt"}, ExpiresIn=604800
    )
    assert fetch(week)[0] == 200
    for expires in (604801, 4294967295):
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": "sealed", "Key": "secret.txt"}, ExpiresIn=expires
        )
        status, body, _ = fetch(url)
        assert status == 400 and b"AuthorizationQueryParametersError" in body, (expires, status, body)


def response_overrides(s3, endpoint):
    s3.put_object(Bucket="uploads", Key="page", Body=b"<script>1</script>", ACL="public-read")
    anonymous = f"{endpoint.rstrip('/')}/uploads/page?response-content-type=text/html"
    status, body, _ = fetch(anonymous)
    assert status == 400 and b"InvalidRequest" in body, (status, body)
    status, _, headers = fetch(f"{endpoint.rstrip('/')}/uploads/page")
    assert status == 200 and headers["content-type"] == "binary/octet-stream", headers
    signed = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "uploads", "Key": "page", "ResponseContentType": "text/plain"}
    )
    status, _, headers = fetch(signed)
    assert status == 200 and headers["content-type"] == "text/plain", (status, headers)


def checksums(s3):
    data = os.urandom(200_000)
    good = base64.b64encode(hashlib.sha256(data).digest()).decode()
    put = s3.put_object(Bucket="uploads", Key="sha", Body=data, ChecksumSHA256=good)
    assert put["ChecksumSHA256"] == good, put
    bad = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    assert error_code(s3.put_object, Bucket="uploads", Key="sha-bad", Body=data, ChecksumSHA256=bad) == "BadDigest"
    assert missing(s3, "uploads", "sha-bad")

    # boto3's default over TLS: an unsigned aws-chunked body whose CRC32
    # comes in the trailer. Made to believe it speaks TLS, and a byte of
    # the body flipped on the way.
    real = botocore.httpchecksum.urlparse

    class Tls:
        def __init__(self, url):
            self.parsed = real(url)

        def __getattr__(self, name):
            return getattr(self.parsed, name)

        scheme = "https"

    botocore.httpchecksum.urlparse = Tls
    try:
        trailer = boto3.client(
            "s3", config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
        )
        seen = {}

        def look(request, **_):
            seen.update({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})

        trailer.meta.events.register("before-send.s3.PutObject", look)
        trailer.put_object(Bucket="uploads", Key="trailer", Body=io.BytesIO(data))
        assert seen.get("x-amz-trailer") == "x-amz-checksum-crc32", seen
        assert s3.get_object(Bucket="uploads", Key="trailer")["Body"].read() == data

        def flip(request, **_):
            raw = request.body.read()
            i = raw.find(b"\r\n") + 2 + 100
            request.body = raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :]

        # The same under /services/objectstorage of the EC2 port.
        prefixed = boto3.client(
            "s3",
            endpoint_url=os.environ["AWS_ENDPOINT_URL"].rstrip("/") + "/services/objectstorage",
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
        )
        prefixed.put_object(Bucket="uploads", Key="trailer-prefixed", Body=io.BytesIO(data))
        assert s3.get_object(Bucket="uploads", Key="trailer-prefixed")["Body"].read() == data

        trailer.meta.events.register("before-send.s3.PutObject", flip)
        trailer.meta.events.register("before-send.s3.UploadPart", flip)
        prefixed.meta.events.register("before-send.s3.PutObject", flip)
        code = error_code(trailer.put_object, Bucket="uploads", Key="trailer-bad", Body=io.BytesIO(data))
        assert code == "BadDigest", code
        assert missing(s3, "uploads", "trailer-bad")
        code = error_code(prefixed.put_object, Bucket="uploads", Key="prefixed-bad", Body=io.BytesIO(data))
        assert code == "BadDigest", code
        assert missing(s3, "uploads", "prefixed-bad")
        # A part of a multipart upload is checked the same way.
        upload = s3.create_multipart_upload(Bucket="uploads", Key="parts")["UploadId"]
        code = error_code(
            trailer.upload_part, Bucket="uploads", Key="parts", UploadId=upload, PartNumber=1, Body=io.BytesIO(data)
        )
        assert code == "BadDigest", code
        assert s3.list_parts(Bucket="uploads", Key="parts", UploadId=upload).get("Parts", []) == []
        s3.abort_multipart_upload(Bucket="uploads", Key="parts", UploadId=upload)
    finally:
        botocore.httpchecksum.urlparse = real


def refused_not_ignored(s3):
    for extra, code in (
        ({"ServerSideEncryption": "AES256"}, "NotImplemented"),
        ({"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "0123456789abcdef0123456789abcdef"}, "NotImplemented"),
        ({"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": "2030-01-01T00:00:00Z"}, "NotImplemented"),
        ({"Tagging": "a=b"}, "NotImplemented"),
        ({"StorageClass": "GLACIER"}, "InvalidStorageClass"),
    ):
        assert error_code(s3.put_object, Bucket="uploads", Key="extra", Body=b"x", **extra) == code, extra
        assert missing(s3, "uploads", "extra"), extra
    s3.put_object(Bucket="uploads", Key="standard", Body=b"x", StorageClass="STANDARD")
    assert (
        error_code(s3.create_bucket, Bucket="locked-bucket", ObjectLockEnabledForBucket=True) == "NotImplemented"
    )
    assert error_code(s3.head_bucket, Bucket="locked-bucket") in ("404", "NoSuchBucket")

    big = os.urandom(5 * 1024 * 1024)
    upload = s3.create_multipart_upload(Bucket="uploads", Key="two-parts")["UploadId"]
    parts = []
    for n, chunk in enumerate((big, b"tail"), start=1):
        etag = s3.upload_part(Bucket="uploads", Key="two-parts", UploadId=upload, PartNumber=n, Body=chunk)["ETag"]
        parts.append({"ETag": etag, "PartNumber": n})
    s3.complete_multipart_upload(
        Bucket="uploads", Key="two-parts", UploadId=upload, MultipartUpload={"Parts": parts}
    )
    got = s3.get_object(Bucket="uploads", Key="two-parts", PartNumber=2)["Body"].read()
    assert got == b"tail"
    assert (
        error_code(s3.get_object, Bucket="uploads", Key="two-parts", PartNumber=1, Range="bytes=0-1")
        == "InvalidRequest"
    )


def conditional_put(s3):
    first = s3.put_object(Bucket="uploads", Key="cas", Body=b"one")["ETag"]
    code = error_code(s3.put_object, Bucket="uploads", Key="cas", Body=b"lost", IfMatch='"0123"')
    assert code == "PreconditionFailed", code
    assert s3.get_object(Bucket="uploads", Key="cas")["Body"].read() == b"one"
    s3.put_object(Bucket="uploads", Key="cas", Body=b"two", IfMatch=first)
    assert s3.get_object(Bucket="uploads", Key="cas")["Body"].read() == b"two"
    code = error_code(s3.put_object, Bucket="uploads", Key="cas", Body=b"lost", IfMatch=first)
    assert code == "PreconditionFailed", code
    assert error_code(s3.put_object, Bucket="uploads", Key="nothing", Body=b"x", IfMatch=first) == "NoSuchKey"
    assert missing(s3, "uploads", "nothing")
    code = error_code(s3.put_object, Bucket="uploads", Key="cas", Body=b"x", IfNoneMatch=first)
    assert code == "NotImplemented", code
    assert error_code(s3.put_object, Bucket="uploads", Key="cas", Body=b"x", IfNoneMatch="*") == "PreconditionFailed"


def main():
    endpoint = os.environ["AWS_ENDPOINT_URL_S3"]
    assert urlparse(endpoint).hostname == "127.0.0.1"
    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="sealed")
    s3.create_bucket(Bucket="uploads")
    unsigned_headers(s3, endpoint)
    presigned_expiry(s3)
    response_overrides(s3, endpoint)
    checksums(s3)
    refused_not_ignored(s3)
    conditional_put(s3)
    print("ok")


if __name__ == "__main__":
    main()
