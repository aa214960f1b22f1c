#!/usr/bin/env python3
"""An independent implementation of the euca2ools 3 bundle format, to check
yukari-bundle against. Written from the format's description (tar stream ->
SHA1 -> gzip -> AES-128-CBC -> 10 MiB parts; manifest 2007-10-10 signed
RSA-SHA1 over <machine_configuration> + <image> as serialized), using only
the standard library and the `cryptography` package.

  euca_bundle.py bundle IMAGE DEST PREFIX USER_CERT USER_KEY CLOUD_CERT ACCOUNT
  euca_bundle.py unbundle MANIFEST PARTS_DIR CLOUD_KEY SIGNER_CERT OUT
"""

import gzip
import hashlib
import io
import os
import re
import sys
import tarfile
from xml.etree import ElementTree

from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PART_SIZE = 10 * 1024 * 1024


def esc(text):
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join(c if ord(c) < 128 else "&#%d;" % ord(c) for c in out)


def el(name, text, attrs=""):
    return "<%s%s>%s</%s>" % (name, attrs, esc(text), name) if text else "<%s%s/>" % (name, attrs)


def seal(cert, value_hex):
    return cert.public_key().encrypt(value_hex.encode(), rsa_padding.PKCS1v15()).hex()


def bundle(image, dest, prefix, user_cert_file, user_key_file, cloud_cert_file, account):
    user_cert = x509.load_pem_x509_certificate(open(user_cert_file, "rb").read())
    cloud_cert = x509.load_pem_x509_certificate(open(cloud_cert_file, "rb").read())
    user_key = serialization.load_pem_private_key(open(user_key_file, "rb").read(), None)
    key, iv = os.urandom(16), os.urandom(16)
    size = os.path.getsize(image)

    # tar (GNU format, as Python 2's tarfile in euca2ools wrote it), in memory:
    # this script is for test-sized images only.
    tar_bytes = io.BytesIO()
    info = tarfile.TarInfo(prefix)
    info.size = size
    with tarfile.open(mode="w|", fileobj=tar_bytes, format=tarfile.GNU_FORMAT) as tar, open(image, "rb") as f:
        tar.addfile(info, f)
    tar_stream = tar_bytes.getvalue()
    digest = hashlib.sha1(tar_stream).hexdigest()
    padder = padding.PKCS7(128).padder()
    plain = padder.update(gzip.compress(tar_stream)) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(plain) + encryptor.finalize()

    parts = []
    index = 0
    while True:
        chunk = sealed[index * PART_SIZE:(index + 1) * PART_SIZE]
        name = "%s.part.%02d" % (prefix, index)
        with open(os.path.join(dest, name), "wb") as f:
            f.write(chunk)
        parts.append((name, hashlib.sha1(chunk).hexdigest()))
        index += 1
        if len(chunk) < PART_SIZE:
            break

    mc = "<machine_configuration>" + el("architecture", "x86_64") + "</machine_configuration>"
    aes = ' algorithm="AES-128-CBC"'
    img = ("<image>" + el("name", prefix) + el("user", account) + el("type", "machine")
           + el("digest", digest, ' algorithm="SHA1"') + el("size", str(size))
           + el("bundled_size", str(len(sealed)))
           + el("ec2_encrypted_key", seal(cloud_cert, key.hex()), aes)
           + el("user_encrypted_key", seal(user_cert, key.hex()), aes)
           + el("ec2_encrypted_iv", seal(cloud_cert, iv.hex()))
           + el("user_encrypted_iv", seal(user_cert, iv.hex()))
           + '<parts count="%d">' % len(parts)
           + "".join('<part index="%d">%s%s</part>' % (i, el("filename", n), el("digest", d, ' algorithm="SHA1"'))
                     for i, (n, d) in enumerate(parts))
           + "</parts></image>")
    signature = user_key.sign((mc + img).encode("ascii"), rsa_padding.PKCS1v15(), hashes.SHA1()).hex()
    manifest = ("<?xml version='1.0' encoding='ASCII'?>\n<manifest>" + el("version", "2007-10-10")
                + "<bundler>" + el("name", "euca_bundle.py") + el("version", "0") + el("release", "0")
                + "</bundler>" + mc + img + el("signature", signature) + "</manifest>")
    with open(os.path.join(dest, prefix + ".manifest.xml"), "w") as f:
        f.write(manifest)


def unbundle(manifest_file, parts_dir, cloud_key_file, signer_cert_file, out):
    text = open(manifest_file, "rb").read()
    # The signed bytes, cut from the file as received.
    signed = (re.search(rb"<machine_configuration>.*?</machine_configuration>", text, re.S).group(0)
              + re.search(rb"<image>.*?</image>", text, re.S).group(0))
    root = ElementTree.fromstring(text)
    signer = x509.load_pem_x509_certificate(open(signer_cert_file, "rb").read())
    signer.public_key().verify(bytes.fromhex(root.findtext("signature")), signed,
                               rsa_padding.PKCS1v15(), hashes.SHA1())
    cloud_key = serialization.load_pem_private_key(open(cloud_key_file, "rb").read(), None)
    image = root.find("image")

    def opened(tag):
        return bytes.fromhex(cloud_key.decrypt(bytes.fromhex(image.findtext(tag).strip()),
                                               rsa_padding.PKCS1v15()).decode())

    key, iv = opened("ec2_encrypted_key"), opened("ec2_encrypted_iv")
    sealed = b""
    parts = sorted(image.find("parts"), key=lambda p: int(p.get("index")))
    assert len(parts) == int(image.find("parts").get("count"))
    for part in parts:
        data = open(os.path.join(parts_dir, part.findtext("filename")), "rb").read()
        if hashlib.sha1(data).hexdigest() != part.findtext("digest").strip():
            raise SystemExit("part %s: SHA1 mismatch" % part.findtext("filename"))
        sealed += data
    assert len(sealed) == int(image.findtext("bundled_size"))
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    plain = unpadder.update(decryptor.update(sealed) + decryptor.finalize()) + unpadder.finalize()
    tar_stream = gzip.decompress(plain)
    if hashlib.sha1(tar_stream).hexdigest() != image.findtext("digest").strip():
        raise SystemExit("image digest mismatch")
    with tarfile.open(mode="r|", fileobj=io.BytesIO(tar_stream)) as tar:
        member = tar.next()
        assert member.name == image.findtext("name"), member.name
        with open(out, "wb") as f:
            f.write(tar.extractfile(member).read())


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"bundle": bundle, "unbundle": unbundle}[command](*args)
