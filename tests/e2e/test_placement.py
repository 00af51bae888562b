"""Routing and quotas, verified on the backends themselves (not through the orchestrator's word).

`spread` keeps usage balanced; `pack` fills backends in config order; a full backend overflows to the
next; with no room anywhere a PUT gets 507 InsufficientStorage (S3 XML) before its body is read.
Each test has its own orchestrator and virtual bucket over the shared SeaweedFS and rclone backends
plus a local directory, with `replication.factor: 1`.
"""

from __future__ import annotations

import collections
import http.client
import os
import urllib.parse
from pathlib import Path

import pytest

import harness as h

#: Equal object size for the counting tests: small enough to be quick, large enough that quotas bite.
OBJ_BYTES = 64 * 1024
#: Objects uploaded for the balance check: several rounds over four backends.
SPREAD_OBJECTS = 14
#: How long an orchestrator may take to answer a PUT whose body it should never read.
EARLY_ANSWER_TIMEOUT_S = 10.0


def _start(make_orchestrator, tmp_path_factory, name, vbucket, entries, strategy):
    cred = h.Credential.random("PLACE")
    cfg = h.orchestrator_config(
        backends=entries, buckets=[h.VirtualBucket(vbucket, [cred])], routing_strategy=strategy, replication_factor=1
    )
    return make_orchestrator(cfg, name=name), cred


def _where(s3_backends, local_root: Path, vbucket: str, keys) -> dict[str, str]:
    """key -> name of the one backend holding it, asked of the backends (each key on exactly one)."""
    found = collections.defaultdict(list)
    for b in s3_backends:
        for k in h.backend_keys(b, vbucket):
            found[k].append(b.name)
    for k in keys:
        if h.local_object_path(local_root, vbucket, k).is_file():
            found[k].append("local")
    assert {k: v for k, v in found.items() if len(v) != 1} == {}, "keys on several backends"
    assert sorted(found) == sorted(keys), "stored keys differ from written keys"
    return {k: v[0] for k, v in found.items()}


def test_spread_keeps_usage_balanced(make_orchestrator, tmp_path_factory, seaweed_backend, rclone_backend, rclone2_backend):
    s3b = [seaweed_backend, rclone_backend, rclone2_backend]
    local_root = tmp_path_factory.mktemp("spread-local")
    entries = [b.config_entry() for b in s3b] + [h.local_backend_entry("local", local_root)]
    orch, cred = _start(make_orchestrator, tmp_path_factory, "spread", "pl-spread", entries, "spread")
    c = orch.client(cred)
    keys = [f"obj-{i:02d}" for i in range(SPREAD_OBJECTS)]
    for k in keys:
        c.put_object(Bucket="pl-spread", Key=k, Body=os.urandom(OBJ_BYTES))
    counts = collections.Counter(_where(s3b, local_root, "pl-spread", keys).values())
    assert set(counts) == {"seaweedfs", "rclone", "rclone2", "local"}, counts
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    orch.stop()


def _presigned_put(orch: h.Orchestrator, cred: h.Credential, bucket: str, key: str) -> str:
    return orch.client(cred).generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)


def _put_head_only(url: str, content_length: int) -> h.RawResponse:
    """Sends a PUT's head announcing `content_length` bytes, sends no body, and reads the answer: only a
    server that answers before reading the body replies (anything else times out)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=EARLY_ANSWER_TIMEOUT_S)
    try:
        conn.putrequest("PUT", f"{u.path}?{u.query}", skip_accept_encoding=True)
        conn.putheader("Content-Length", str(content_length))
        conn.endheaders()
        resp = conn.getresponse()
        return h.RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def test_pack_fills_in_order_overflows_and_then_507(
    make_orchestrator, tmp_path_factory, seaweed_backend, rclone2_backend
):
    s3b = [rclone2_backend, seaweed_backend]
    local_root = tmp_path_factory.mktemp("pack-local")
    entries = [
        rclone2_backend.config_entry(quota_bytes=3 * OBJ_BYTES),
        seaweed_backend.config_entry(quota_bytes=3 * OBJ_BYTES + OBJ_BYTES // 2),  # room for 3, not 4
        h.local_backend_entry("local", local_root, quota_bytes=2 * OBJ_BYTES),
    ]
    vb = "pl-pack"
    orch, cred = _start(make_orchestrator, tmp_path_factory, "pack", vb, entries, "pack")
    c = orch.client(cred)
    keys = [f"obj-{i}" for i in range(8)]
    for k in keys:
        c.put_object(Bucket=vb, Key=k, Body=os.urandom(OBJ_BYTES))
    where = _where(s3b, local_root, vb, keys)
    assert [where[k] for k in keys] == ["rclone2"] * 3 + ["seaweedfs"] * 3 + ["local"] * 2, where

    # Everything is full: 507 with an S3 XML body, answered without the body (head only, 1 GiB announced).
    resp = _put_head_only(_presigned_put(orch, cred, vb, "too-much"), 1 << 30)
    assert resp.status == 507, (resp.status, resp.body)
    assert resp.error_code() == "InsufficientStorage", resp.body
    assert resp.headers.get("x-amz-request-id")
    # A small object that would still not fit anywhere: the same, through a real client.
    c.put_object(Bucket=vb, Key="empty", Body=b"")  # an empty object needs no room
    with pytest.raises(Exception) as ei:
        c.put_object(Bucket=vb, Key="one-more", Body=os.urandom(OBJ_BYTES // 4 * 3))
    assert "InsufficientStorage" in str(ei.value), ei.value
    for k in ("too-much", "one-more"):
        with pytest.raises(Exception):
            c.head_object(Bucket=vb, Key=k)

    # Deleting frees room on that backend: the next object lands there.
    c.delete_object(Bucket=vb, Key="obj-4")
    h.wait_until(
        lambda: c.put_object(Bucket=vb, Key="after-delete", Body=os.urandom(OBJ_BYTES)), 30, "room after a delete"
    )
    assert "after-delete" in h.backend_keys(seaweed_backend, vb)
    orch.stop()
