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
