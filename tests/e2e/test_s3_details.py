"""S3 details that real applications and conformance suites look at closely (issue #14, "Details that
break real applications"): user metadata bytes, Content-Encoding as sent, ListObjects V1's
`encoding-type=url`, and keys that are not UTF-8.

One orchestrator per backend kind (SeaweedFS, rclone serve s3, a local directory), each with that one
backend (`routing_strategy: pack`), so every behaviour is checked on every kind of backend.
"""

from __future__ import annotations

import urllib.parse
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

import harness as h

BUCKET = "details"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclass
class Env:
    orch: h.Orchestrator
    cred: h.Credential
    kind: str

    def client(self, **kw):
        return self.orch.client(self.cred, **kw)

    def signed(self, method: str, path: str, **kw) -> h.RawResponse:
        return h.signed_request(self.orch.endpoint, self.cred, method, path, **kw)


@pytest.fixture(scope="module", params=["seaweedfs", "rclone", "local"])
def env(request, make_orchestrator, tmp_path_factory, seaweed_backend, rclone_backend):
    kind = request.param
    if kind == "seaweedfs":
        entry = seaweed_backend.config_entry()
    elif kind == "rclone":
        entry = rclone_backend.config_entry()
    else:
        entry = h.local_backend_entry("local", tmp_path_factory.mktemp("details-local") / "disk")
    cred = h.Credential.random("DET")
    cfg = h.orchestrator_config(
        backends=[entry], buckets=[h.VirtualBucket(BUCKET, [cred])], routing_strategy="pack"
    )
    orch = make_orchestrator(cfg, name=f"details-{kind}")
    yield Env(orch, cred, kind)
    orch.stop()


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _path(key: str) -> str:
    return f"/{BUCKET}/" + urllib.parse.quote(key, safe="/")


# --------------------------------------------------------------------------------------------------------
# Content-Encoding
# --------------------------------------------------------------------------------------------------------


def test_content_encoding_is_stored_as_sent(env: Env) -> None:
    """`deflate, gzip` comes back exactly so (main joined the items as `deflate,gzip`)."""
    c = env.client()
    key = _unique("ce-list")
    c.put_object(Bucket=BUCKET, Key=key, Body=b"x", ContentEncoding="deflate, gzip")
    assert c.head_object(Bucket=BUCKET, Key=key)["ContentEncoding"] == "deflate, gzip"
    got = c.get_object(Bucket=BUCKET, Key=key)
    assert got["ContentEncoding"] == "deflate, gzip"
    assert got["Body"].read() == b"x"


def test_content_encoding_as_sent_on_multipart_and_copy(env: Env) -> None:
    """CreateMultipartUpload and CopyObject (REPLACE) take the same value as PutObject."""
    c = env.client()
    key = _unique("ce-mpu")
    up = c.create_multipart_upload(Bucket=BUCKET, Key=key, ContentEncoding="br, gzip")
    part = c.upload_part(Bucket=BUCKET, Key=key, UploadId=up["UploadId"], PartNumber=1, Body=b"abc")
    c.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert c.head_object(Bucket=BUCKET, Key=key)["ContentEncoding"] == "br, gzip"
    copy = _unique("ce-copy")
    c.copy_object(
        Bucket=BUCKET,
        Key=copy,
        CopySource={"Bucket": BUCKET, "Key": key},
        MetadataDirective="REPLACE",
        ContentEncoding="compress, deflate",
    )
    assert c.head_object(Bucket=BUCKET, Key=copy)["ContentEncoding"] == "compress, deflate"


@pytest.mark.parametrize(
    "sent, stored",
    [("aws-chunked, gzip", "gzip"), ("deflate, aws-chunked, br", "deflate, br"), ("aws-chunked", None)],
)
def test_content_encoding_drops_aws_chunked(env: Env, sent: str, stored) -> None:
    """`aws-chunked` is framing, not a property of the object: S3 drops the token and keeps the rest."""
    key = _unique("ce-chunked")
    r = env.signed("PUT", _path(key), body=b"abc", headers={"Content-Encoding": sent})
    assert r.status == 200, (r.status, r.body)
    head = env.client().head_object(Bucket=BUCKET, Key=key)
    assert head.get("ContentEncoding") == stored
    assert head["ContentLength"] == 3


# --------------------------------------------------------------------------------------------------------
# ListObjects V1 with encoding-type=url
# --------------------------------------------------------------------------------------------------------


def _put_keys(env: Env, keys: list[str]) -> None:
    c = env.client()
    for k in keys:
        c.put_object(Bucket=BUCKET, Key=k, Body=b"k")


def test_list_objects_v1_control_characters_round_trip_through_boto3(env: Env) -> None:
    """boto3 lists with encoding-type=url and decodes Key, Delimiter, Marker, NextMarker and
    CommonPrefixes/Prefix in a V1 answer, not the top-level Prefix: S3 gives that one back as sent.
    (main encoded it, so boto3 returned `.../a%0A`.)"""
    base = _unique("ctl")
    keys = [f"{base}/a\nb", f"{base}/a\nc", f"{base}/d\n/e", f"{base}/plain"]
    _put_keys(env, keys)
    c = env.client()

    r = c.list_objects(Bucket=BUCKET, Prefix=f"{base}/a\n")
    assert r["Prefix"] == f"{base}/a\n"
    assert [o["Key"] for o in r["Contents"]] == [f"{base}/a\nb", f"{base}/a\nc"]

    r = c.list_objects(Bucket=BUCKET, Prefix=f"{base}/", Delimiter="\n")
    assert r["Prefix"] == f"{base}/"
    assert r["Delimiter"] == "\n"
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == [f"{base}/a\n", f"{base}/d\n"]
    assert [o["Key"] for o in r["Contents"]] == [f"{base}/plain"]

    r = c.list_objects(Bucket=BUCKET, Prefix=f"{base}/", Delimiter="\n", Marker=f"{base}/a\n", MaxKeys=1)
    assert r["Marker"] == f"{base}/a\n"
    assert r["IsTruncated"] is True
    assert [p["Prefix"] for p in r.get("CommonPrefixes", [])] == [f"{base}/d\n"]
    assert r["NextMarker"] == f"{base}/d\n"

    seen = []
    for page in c.get_paginator("list_objects").paginate(Bucket=BUCKET, Prefix=f"{base}/", PaginationConfig={"PageSize": 1}):
        assert page["Prefix"] == f"{base}/"
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert seen == sorted(keys)

    r = c.list_objects_v2(Bucket=BUCKET, Prefix=f"{base}/a\n")
    assert r["Prefix"] == f"{base}/a\n"
    assert [o["Key"] for o in r["Contents"]] == [f"{base}/a\nb", f"{base}/a\nc"]


def test_list_objects_v1_encodes_what_s3_encodes(env: Env) -> None:
    """The raw V1 answer: Key, Delimiter, Marker, NextMarker and CommonPrefixes/Prefix URL-encoded, the
    top-level Prefix as sent."""
    base = _unique("enc")
    _put_keys(env, [f"{base}/x y/1", f"{base}/x y/2", f"{base}/z\u00e9"])
    q = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    prefix, marker = f"{base}/", f"{base}/a b"
    query = f"delimiter=%20&encoding-type=url&marker={q(marker)}&max-keys=1&prefix={q(prefix)}"
    r = env.signed("GET", f"/{BUCKET}", query=query)
    assert r.status == 200, (r.status, r.body)
    root = ET.fromstring(r.body)
    text = lambda name: root.findtext(S3_NS + name)  # noqa: E731
    assert text("EncodingType") == "url"
    assert text("Prefix") == prefix
    assert text("Delimiter") == "%20"
    assert text("Marker") == f"{base}/a%20b"
    assert [p.text for p in root.findall(f"{S3_NS}CommonPrefixes/{S3_NS}Prefix")] == [f"{base}/x%20"]
    assert text("NextMarker") == f"{base}/x%20"
    assert text("IsTruncated") == "true"

    r = env.signed("GET", f"/{BUCKET}", query=f"encoding-type=url&marker={q(marker)}&prefix={q(prefix)}")
    root = ET.fromstring(r.body)
    keys = [k.text for k in root.iter(S3_NS + "Key")]
    assert keys == [f"{base}/x%20y/1", f"{base}/x%20y/2", f"{base}/z%C3%A9"]

    spaced = f"{base}/x y/"
    r = env.signed("GET", f"/{BUCKET}", query=f"encoding-type=url&prefix={q(spaced)}")
    root = ET.fromstring(r.body)
    assert root.findtext(S3_NS + "Prefix") == spaced
    assert [k.text for k in root.iter(S3_NS + "Key")] == [f"{base}/x%20y/1", f"{base}/x%20y/2"]


# --------------------------------------------------------------------------------------------------------
# Keys that are not UTF-8
# --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw_key", ["%FF", "a%C3", "%C3%28x", "dir/%AE%8A-"])
def test_key_that_is_not_utf8_is_invalid_uri(env: Env, raw_key: str) -> None:
    """S3 answers `400 InvalidURI` ("Couldn't parse the specified URI.") for a key that does not
    decode to UTF-8, whatever the operation (main answered `InvalidArgument`)."""
    path = f"/{BUCKET}/{raw_key}"
    for method, body in (("GET", b""), ("PUT", b"x"), ("DELETE", b"")):
        r = env.signed(method, path, body=body)
        assert (r.status, r.error_code()) == (400, "InvalidURI"), (method, r.status, r.body)
    assert env.signed("HEAD", path).status == 400
# --------------------------------------------------------------------------------------------------------
# User metadata bytes
# --------------------------------------------------------------------------------------------------------


def test_non_ascii_metadata_round_trips_byte_for_byte(env: Env) -> None:
    """UTF-8 metadata bytes come back unchanged. boto3 refuses non-ASCII metadata itself, so the value
    is set the way s3-tests does it (a before-call hook): urllib3 sends it as UTF-8. Python's
    http.client decodes every response header as ISO-8859-1, which is why a client sees `Hello WorldÃ©`;
    the bytes on the wire are those sent, as SeaweedFS run directly gives them."""
    value = "Hello World\xe9 \u4e2d\u6587"
    wire = value.encode("utf-8")
    c = env.client()

    def set_metadata(params, **_kw):
        params["headers"]["x-amz-meta-greeting"] = value

    c.meta.events.register("before-call.s3.PutObject", set_metadata)
    key = _unique("meta")
    c.put_object(Bucket=BUCKET, Key=key, Body=b"bar")
    for resp in (c.head_object(Bucket=BUCKET, Key=key), c.get_object(Bucket=BUCKET, Key=key)):
        got = resp["ResponseMetadata"]["HTTPHeaders"]["x-amz-meta-greeting"]
        assert got.encode("iso-8859-1") == wire
