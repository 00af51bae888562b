"""Acknowledged objects survive a graceful restart and kill -9; a 1 GiB object round-trips through
multipart (aws s3 cp) and through one single PUT (boto3, a body generated on the fly).

Backends: SeaweedFS, rclone serve s3 and a local directory, `replication.factor: 1`.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
from pathlib import Path

import pytest

import harness as h

VB = "dur"
#: Parallel uploads before the crash: enough to keep several group commits in flight.
CRASH_OBJECTS = 48
CRASH_THREADS = 12
GiB = 1 << 30
#: Read size when hashing a streamed GET.
STREAM_READ_BYTES = 1 << 20


@pytest.fixture(scope="module")
def dur(make_orchestrator, tmp_path_factory, seaweed_backend, rclone_backend):
    cred = h.Credential.random("DUR")
    local_root = tmp_path_factory.mktemp("dur-local") / "disk"
    cfg = h.orchestrator_config(
        backends=[seaweed_backend.config_entry(), rclone_backend.config_entry(), h.local_backend_entry("local", local_root)],
        buckets=[h.VirtualBucket(VB, [cred])],
        routing_strategy="spread",
        replication_factor=1,
    )
    orch = make_orchestrator(cfg, name="dur")
    yield orch, cred
    orch.stop()


def _read_all_sha(client, key: str) -> str:
    body = client.get_object(Bucket=VB, Key=key)["Body"]
    hasher = hashlib.sha256()
    for chunk in iter(lambda: body.read(STREAM_READ_BYTES), b""):
        hasher.update(chunk)
    return hasher.hexdigest()


def test_kill9_and_restart_keep_every_acknowledged_object(dur) -> None:
    orch, cred = dur
    c = orch.client(cred, max_pool_connections=CRASH_THREADS)
    bodies = {f"crash/{i:03d}": os.urandom(4096 + i * 1531) for i in range(CRASH_OBJECTS)}
    acked: dict[str, str] = {}

    def put(item):
        k, v = item
        c.put_object(Bucket=VB, Key=k, Body=v)
        return k

    with concurrent.futures.ThreadPoolExecutor(max_workers=CRASH_THREADS) as pool:
        for k in pool.map(put, bodies.items()):
            acked[k] = h.sha256_hex(bodies[k])
    orch.kill9()  # right after the last acknowledgement
    orch.start()

    c = orch.client(cred, max_pool_connections=CRASH_THREADS)
    with concurrent.futures.ThreadPoolExecutor(max_workers=CRASH_THREADS) as pool:
        got = dict(zip(acked, pool.map(lambda k: _read_all_sha(c, k), acked)))
    assert got == acked
    listed = [o["Key"] for p in c.get_paginator("list_objects_v2").paginate(Bucket=VB, Prefix="crash/") for o in p.get("Contents", [])]
    assert listed == sorted(acked)

    # A graceful restart keeps them too, and objects written after the crash.
    c.put_object(Bucket=VB, Key="crash/after", Body=b"after the crash")
    orch.restart()
    c = orch.client(cred)
    assert c.get_object(Bucket=VB, Key="crash/after")["Body"].read() == b"after the crash"
    for k in list(acked)[:: max(1, CRASH_OBJECTS // 8)]:
        assert _read_all_sha(c, k) == acked[k], k


def test_one_gib_multipart_with_aws_cli(dur, workdir: Path) -> None:
    orch, cred = dur
    src = workdir / "gib.bin"
    stream = h.DeterministicStream(GiB, seed=1)
    with open(src, "wb") as f:
        for chunk in iter(lambda: stream.read(8 * STREAM_READ_BYTES), b""):
            f.write(chunk)
    sha = stream.hasher.hexdigest()
    aws = orch.aws(cred)
    aws.run("s3", "cp", str(src), f"s3://{VB}/big/gib-multipart.bin", timeout=120)
    src.unlink()  # keep the disk use at one copy
    head = aws.json("s3api", "head-object", "--bucket", VB, "--key", "big/gib-multipart.bin")
    assert head["ContentLength"] == GiB and head["ETag"].strip('"').endswith("-128"), head  # 8 MiB parts
    assert _read_all_sha(orch.client(cred), "big/gib-multipart.bin") == sha
    orch.client(cred).delete_object(Bucket=VB, Key="big/gib-multipart.bin")


def test_one_gib_single_put_streamed(dur) -> None:
    orch, cred = dur
    # Over plain HTTP boto3 signs the payload (one pass to hash, one to send); no extra checksum pass.
    c = orch.client(cred, request_checksum_calculation="when_required", read_timeout=120)
    body = h.DeterministicStream(GiB, seed=2)
    c.put_object(Bucket=VB, Key="big/gib-single.bin", Body=body, ContentLength=GiB)
    sent_sha = body.hasher.hexdigest()
    head = c.head_object(Bucket=VB, Key="big/gib-single.bin")
    assert head["ContentLength"] == GiB and "-" not in head["ETag"], head
    assert _read_all_sha(c, "big/gib-single.bin") == sent_sha
    c.delete_object(Bucket=VB, Key="big/gib-single.bin")
