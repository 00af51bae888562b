"""Multipart uploads as retrying clients drive them, through boto3 against each backend kind
(SeaweedFS, `rclone serve s3`, a local directory), one orchestrator per backend so every upload
lands on the backend under test.

- CompleteMultipartUpload is idempotent: a client whose first Complete succeeded but whose answer was
  lost retries it and gets `200` with the same ETag and location (also after a restart), not
  `NoSuchUpload`.
- A part uploaded twice: the upload that finished last wins. ListParts lists the part once, with the
  later ETag, and Complete with that ETag succeeds.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import threading
from dataclasses import dataclass

import botocore.exceptions
import pytest

import harness as h

MiB = 1024 * 1024
#: S3's smallest non-final part.
MIN_PART_BYTES = 5 * MiB
#: Uploads of the same part started together, per round of the race test.
RACERS = 4


#: `rclone serve s3` itself cannot replace a part it has already written into the object (it answers
#: 501 NotImplemented "part N has already been streamed to the backend and cannot be replaced"), so the
#: part-replacement tests run against the backends that can.
REPLACES_PARTS = {"seaweedfs", "local"}


@dataclass
class Mp:
    orch: h.Orchestrator
    cred: h.Credential
    bucket: str
    kind: str

    def needs_part_replacement(self) -> None:
        if self.kind not in REPLACES_PARTS:
            pytest.skip(f"{self.kind} cannot replace a stored part")

    def client(self):
        return self.orch.client(self.cred)


@pytest.fixture(scope="module", params=["seaweedfs", "rclone", "local"])
def mp(request, make_orchestrator, tmp_path_factory, seaweed_backend, rclone_backend):
    kind = request.param
    if kind == "local":
        entry = h.local_backend_entry("local", tmp_path_factory.mktemp("mpr-local") / "disk")
    else:
        entry = {"seaweedfs": seaweed_backend, "rclone": rclone_backend}[kind].config_entry()
    cred = h.Credential.random("MPR")
    bucket = f"mpr-{kind}"
    cfg = h.orchestrator_config(backends=[entry], buckets=[h.VirtualBucket(bucket, [cred])])
    orch = make_orchestrator(cfg, name=f"mpr-{kind}")
    yield Mp(orch, cred, bucket, kind)
    orch.stop()


def _err(exc: botocore.exceptions.ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response.get("Error", {}).get("Code", "")


def _md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def test_complete_retried_after_success_answers_the_same(mp: Mp) -> None:
    c = mp.client()
    key = "retry/complete.bin"
    parts = [os.urandom(MIN_PART_BYTES), os.urandom(1234)]
    uid = c.create_multipart_upload(Bucket=mp.bucket, Key=key)["UploadId"]
    done_parts = [
        {"PartNumber": n, "ETag": c.upload_part(Bucket=mp.bucket, Key=key, UploadId=uid, PartNumber=n, Body=d)["ETag"]}
        for n, d in enumerate(parts, start=1)
    ]
    first = c.complete_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": done_parts})
    # The answer was "lost": the client sends the same request again.
    again = c.complete_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": done_parts})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (again["ETag"], again["Location"], again["Bucket"], again["Key"]) == (
        first["ETag"], first["Location"], first["Bucket"], first["Key"]
    )  # fmt: skip
    assert c.get_object(Bucket=mp.bucket, Key=key)["Body"].read() == b"".join(parts)

    # The answer is kept in the catalog: a retry after a restart gets it too.
    mp.orch.restart()
    c = mp.client()
    after = c.complete_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": done_parts})
    assert (after["ETag"], after["Location"]) == (first["ETag"], first["Location"])

    # Only for the upload's own bucket and key, and never for an id that was not completed.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.complete_multipart_upload(Bucket=mp.bucket, Key="retry/other.bin", UploadId=uid,
                                    MultipartUpload={"Parts": done_parts})  # fmt: skip
    assert _err(ei.value) == (404, "NoSuchUpload")
    aborted = c.create_multipart_upload(Bucket=mp.bucket, Key=key)["UploadId"]
    c.abort_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=aborted)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.complete_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=aborted, MultipartUpload={"Parts": done_parts})
    assert _err(ei.value) == (404, "NoSuchUpload")


def test_complete_sent_twice_at_once_both_succeed(mp: Mp) -> None:
    """A retry that arrives while the first Complete is still running waits for it, then gets its answer."""
    c = mp.client()
    key = "retry/concurrent-complete.bin"
    data = os.urandom(MIN_PART_BYTES + 77)
    uid = c.create_multipart_upload(Bucket=mp.bucket, Key=key)["UploadId"]
    etag = c.upload_part(Bucket=mp.bucket, Key=key, UploadId=uid, PartNumber=1, Body=data)["ETag"]
    start = threading.Barrier(2)

    def complete():
        client = mp.client()
        start.wait()
        return client.complete_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=uid,
                                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})  # fmt: skip

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = [f.result() for f in [pool.submit(complete) for _ in range(2)]]
    assert answers[0]["ETag"] == answers[1]["ETag"]
    assert c.get_object(Bucket=mp.bucket, Key=key)["Body"].read() == data

def test_part_uploaded_again_replaces_the_earlier_one(mp: Mp) -> None:
    mp.needs_part_replacement()
    c = mp.client()
    key = "retry/part-twice.bin"
    first, second, last = os.urandom(MIN_PART_BYTES), os.urandom(MIN_PART_BYTES), os.urandom(999)
    uid = c.create_multipart_upload(Bucket=mp.bucket, Key=key)["UploadId"]
    e0 = c.upload_part(Bucket=mp.bucket, Key=key, UploadId=uid, PartNumber=1, Body=first)["ETag"]
    e1 = c.upload_part(Bucket=mp.bucket, Key=key, UploadId=uid, PartNumber=1, Body=second)["ETag"]
    e2 = c.upload_part(Bucket=mp.bucket, Key=key, UploadId=uid, PartNumber=2, Body=last)["ETag"]
    assert e1 == _md5(second)
    listed = c.list_parts(Bucket=mp.bucket, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [(1, e1, len(second)), (2, e2, len(last))]
    # The replaced upload's ETag is no longer a part of this upload.
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.complete_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=uid,
                                    MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e0}, {"PartNumber": 2, "ETag": e2}]})  # fmt: skip
    assert _err(ei.value) == (400, "InvalidPart")
    c.complete_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=uid,
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})  # fmt: skip
    assert c.get_object(Bucket=mp.bucket, Key=key)["Body"].read() == second + last


@pytest.mark.parametrize("round_", range(3))
def test_part_uploaded_concurrently_the_last_to_finish_wins(mp: Mp, round_: int) -> None:
    """Several uploads of one part number at once: ListParts lists the part once, Complete with the ETag
    it lists succeeds, and the object holds that upload's bytes."""
    mp.needs_part_replacement()
    c = mp.client()
    key = f"retry/part-race-{round_}.bin"
    bodies = [os.urandom(MIN_PART_BYTES) for _ in range(RACERS)]
    by_etag = {_md5(b): b for b in bodies}
    uid = c.create_multipart_upload(Bucket=mp.bucket, Key=key)["UploadId"]
    start = threading.Barrier(RACERS)

    def upload(body: bytes) -> str:
        client = mp.client()
        start.wait()
        return client.upload_part(Bucket=mp.bucket, Key=key, UploadId=uid, PartNumber=1, Body=body)["ETag"]

    with concurrent.futures.ThreadPoolExecutor(RACERS) as pool:
        etags = [f.result() for f in [pool.submit(upload, b) for b in bodies]]
    assert sorted(etags) == sorted(by_etag)
    listed = c.list_parts(Bucket=mp.bucket, Key=key, UploadId=uid)["Parts"]
    assert len(listed) == 1 and listed[0]["PartNumber"] == 1, listed
    winner = listed[0]["ETag"]
    assert winner in by_etag and listed[0]["Size"] == MIN_PART_BYTES
    c.complete_multipart_upload(Bucket=mp.bucket, Key=key, UploadId=uid,
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": winner}]})  # fmt: skip
    assert c.get_object(Bucket=mp.bucket, Key=key)["Body"].read() == by_etag[winner]
