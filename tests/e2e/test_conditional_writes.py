"""Conditional writes (S3, 2024) through boto3: PutObject and CompleteMultipartUpload with
`If-None-Match: *` (create only) and `If-Match: <etag>` (replace only that version), against SeaweedFS,
`rclone serve s3` and a local directory (one orchestrator per backend, so each write lands on the backend
under test).

The check and the commit are atomic: writers racing with `If-None-Match: *` produce exactly one winner,
the object holds the winner's bytes, and the losers leave nothing on the backend.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import botocore.exceptions
import pytest

import harness as h

MiB = 1024 * 1024
#: S3's smallest non-final part.
MIN_PART_BYTES = 5 * MiB
#: Writers started together in each round of the race test, and the rounds.
RACERS = 6
ROUNDS = 4
#: Large enough that the racing bodies are on the wire at the same time.
RACE_BODY_BYTES = 512 * 1024


@dataclass
class Cw:
    orch: h.Orchestrator
    cred: h.Credential
    bucket: str
    backend: Optional[h.S3Backend]
    local_root: Optional[Path]

    def client(self):
        return self.orch.client(self.cred)

    def stored_names(self) -> list[str]:
        """Every name the backend holds for this virtual bucket (objects; for a local directory, files)."""
        if self.backend is not None:
            return sorted(h.backend_keys(self.backend, self.bucket))
        assert self.local_root is not None
        return sorted(str(p) for p in self.local_root.rglob("*") if p.is_file())


@pytest.fixture(scope="module", params=["seaweedfs", "rclone", "local"])
def cw(request, make_orchestrator, tmp_path_factory, seaweed_backend, rclone_backend):
    kind = request.param
    backend, local_root = None, None
    if kind == "local":
        local_root = tmp_path_factory.mktemp("cw-local") / "disk"
        entry = h.local_backend_entry("local", local_root)
    else:
        backend = {"seaweedfs": seaweed_backend, "rclone": rclone_backend}[kind]
        entry = backend.config_entry()
    cred = h.Credential.random("COND")
    bucket = f"cw-{kind}"
    cfg = h.orchestrator_config(backends=[entry], buckets=[h.VirtualBucket(bucket, [cred])], shards=2)
    orch = make_orchestrator(cfg, name=f"cw-{kind}")
    yield Cw(orch, cred, bucket, backend, local_root)
    orch.stop()


def _err(exc: botocore.exceptions.ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response.get("Error", {}).get("Code", "")


def _fails(expected: tuple[int, str], call, **kw) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call(**kw)
    assert _err(ei.value) == expected


def test_put_if_none_match_creates_only(cw: Cw) -> None:
    c = cw.client()
    key = "cond/create-only.txt"
    put = c.put_object(Bucket=cw.bucket, Key=key, Body=b"first", IfNoneMatch="*")
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    _fails((412, "PreconditionFailed"), c.put_object, Bucket=cw.bucket, Key=key, Body=b"second", IfNoneMatch="*")
    assert c.get_object(Bucket=cw.bucket, Key=key)["Body"].read() == b"first"
    # S3 takes only `*` in If-None-Match on a write.
    _fails((501, "NotImplemented"), c.put_object, Bucket=cw.bucket, Key=key, Body=b"x", IfNoneMatch=put["ETag"])
    # Once the key is gone, a create-only write succeeds again.
    c.delete_object(Bucket=cw.bucket, Key=key)
    c.put_object(Bucket=cw.bucket, Key=key, Body=b"third", IfNoneMatch="*")
    assert c.get_object(Bucket=cw.bucket, Key=key)["Body"].read() == b"third"


def test_put_if_match_replaces_only_that_version(cw: Cw) -> None:
    c = cw.client()
    key = "cond/if-match.txt"
    _fails((404, "NoSuchKey"), c.put_object, Bucket=cw.bucket, Key=key, Body=b"x", IfMatch='"0123456789abcdef0123456789abcdef"')
    etag = c.put_object(Bucket=cw.bucket, Key=key, Body=b"v1")["ETag"]
    etag2 = c.put_object(Bucket=cw.bucket, Key=key, Body=b"v2", IfMatch=etag)["ETag"]
    # The first ETag is stale now.
    _fails((412, "PreconditionFailed"), c.put_object, Bucket=cw.bucket, Key=key, Body=b"v3", IfMatch=etag)
    got = c.get_object(Bucket=cw.bucket, Key=key)
    assert (got["Body"].read(), got["ETag"]) == (b"v2", etag2)


def test_copy_object_destination_conditions(cw: Cw) -> None:
    c = cw.client()
    src, dst = "cond/copy-src.txt", "cond/copy-dst.txt"
    c.put_object(Bucket=cw.bucket, Key=src, Body=b"source")
    source = {"Bucket": cw.bucket, "Key": src}
    _fails((404, "NoSuchKey"), c.copy_object, Bucket=cw.bucket, Key=dst, CopySource=source,
           IfMatch='"0123456789abcdef0123456789abcdef"')  # fmt: skip
    c.copy_object(Bucket=cw.bucket, Key=dst, CopySource=source, IfNoneMatch="*")
    _fails((412, "PreconditionFailed"), c.copy_object, Bucket=cw.bucket, Key=dst, CopySource=source, IfNoneMatch="*")
    assert c.get_object(Bucket=cw.bucket, Key=dst)["Body"].read() == b"source"


def _multipart(c, bucket: str, key: str, data: bytes) -> tuple[str, list[dict]]:
    uid = c.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = c.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=data)["ETag"]
    return uid, [{"PartNumber": 1, "ETag": etag}]


def test_complete_multipart_upload_with_conditions(cw: Cw) -> None:
    c = cw.client()
    key = "cond/multipart.bin"
    data = os.urandom(MIN_PART_BYTES + 5)
    uid, parts = _multipart(c, cw.bucket, key, data)
    _fails((404, "NoSuchKey"), c.complete_multipart_upload, Bucket=cw.bucket, Key=key, UploadId=uid,
           MultipartUpload={"Parts": parts}, IfMatch='"0123456789abcdef0123456789abcdef"')  # fmt: skip
    done = c.complete_multipart_upload(Bucket=cw.bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts},
                                       IfNoneMatch="*")  # fmt: skip
    assert c.get_object(Bucket=cw.bucket, Key=key)["Body"].read() == data

    # A second upload to the existing key: create-only is refused, and the upload stays open.
    uid2, parts2 = _multipart(c, cw.bucket, key, os.urandom(1000))
    _fails((412, "PreconditionFailed"), c.complete_multipart_upload, Bucket=cw.bucket, Key=key, UploadId=uid2,
           MultipartUpload={"Parts": parts2}, IfNoneMatch="*")  # fmt: skip
    _fails((412, "PreconditionFailed"), c.complete_multipart_upload, Bucket=cw.bucket, Key=key, UploadId=uid2,
           MultipartUpload={"Parts": parts2}, IfMatch='"0123456789abcdef0123456789abcdef"')  # fmt: skip
    assert c.get_object(Bucket=cw.bucket, Key=key)["Body"].read() == data
    assert [u["UploadId"] for u in c.list_multipart_uploads(Bucket=cw.bucket, Prefix=key).get("Uploads", [])] == [uid2]
    # With the current ETag it replaces the object.
    c.complete_multipart_upload(Bucket=cw.bucket, Key=key, UploadId=uid2, MultipartUpload={"Parts": parts2},
                                IfMatch=done["ETag"])  # fmt: skip
    assert len(c.get_object(Bucket=cw.bucket, Key=key)["Body"].read()) == 1000


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_racing_create_only_writers_have_exactly_one_winner(cw: Cw, round_: int) -> None:
    key = f"cond/race-{round_}.bin"
    bodies = [os.urandom(RACE_BODY_BYTES) for _ in range(RACERS)]
    clients = [cw.client() for _ in range(RACERS)]
    start = threading.Barrier(RACERS)
    names_before = cw.stored_names()

    def write(i: int):
        start.wait()
        try:
            clients[i].put_object(Bucket=cw.bucket, Key=key, Body=bodies[i], IfNoneMatch="*")
            return i, 200
        except botocore.exceptions.ClientError as e:
            return i, _err(e)

    with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
        outcomes = [f.result() for f in [pool.submit(write, i) for i in range(RACERS)]]
    winners = [i for i, r in outcomes if r == 200]
    assert len(winners) == 1, outcomes
    assert all(r == (412, "PreconditionFailed") for i, r in outcomes if i != winners[0]), outcomes
    assert cw.client().get_object(Bucket=cw.bucket, Key=key)["Body"].read() == bodies[winners[0]]
    # The losers left nothing behind: exactly one new stored copy.
    assert len(cw.stored_names()) == len(names_before) + 1
