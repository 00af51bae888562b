"""Bucket lifecycle as clients and test suites see it (issue #14, "Bucket lifecycle"):

- DeleteBucket of a bucket whose only content is unfinished multipart uploads answers 204 and the
  uploads are gone, at the backend too; objects, not uploads, make a bucket not empty. The cleanup loop
  "delete every object, then DeleteBucket" works through boto3 and `aws s3 rb --force`.
- Uploads older than `cleanup_queue.multipart_stale_timeout` are aborted in the background: gone from
  ListMultipartUploads, their parts gone from the backend, their quota reservation released.
  `buckets[].max_multipart_uploads` refuses CreateMultipartUpload past the limit (503 SlowDown, as the
  Go project answers).
- ListBuckets pages: `max-buckets`, `continuation-token`, `prefix`, and boto3's paginator.

Two orchestrators in front of the shared SeaweedFS, each on a backend bucket of its own, so what the
backend holds (its ListMultipartUploads) belongs to these tests alone.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

import botocore.exceptions
import pytest

import harness as h

#: A configured bucket with `max_multipart_uploads: LIMIT`.
LIMITED = "bl-limited"
LIMIT = 2
#: One part: S3's smallest non-last part, so the uploads are real multipart uploads at the backend.
PART_BYTES = 5 * 1024 * 1024
#: `cleanup_queue.multipart_stale_timeout` of the second orchestrator: tiny, so an upload goes stale
#: while the test watches.
STALE_TIMEOUT_S = 2
#: The part of the stale upload: small, so it is stored well within the timeout.
STALE_PART_BYTES = 64 * 1024
#: Longest wait for the background expiry: the timeout, a sweep interval and the background shard's
#: idle poll, with room for a loaded machine.
EXPIRY_DEADLINE_S = 30.0


@dataclass
class Life:
    orch: h.Orchestrator
    admin: h.Credential
    rw: h.Credential
    #: An admin credential only the ListBuckets test uses, so it owns exactly that test's buckets.
    lister: h.Credential
    backend: h.S3Backend
    backend_bucket: str


def _orchestrator(make_orchestrator, seaweed_backend, name: str, extra: dict) -> Life:
    backend_bucket = f"s3o-{name}-{secrets.token_hex(3)}"
    seaweed_backend.create_bucket(backend_bucket)
    admin, rw, lister = (h.Credential.random(p) for p in ("BLADM", "BLRW", "BLLIST"))
    cfg = h.orchestrator_config(
        backends=[seaweed_backend.config_entry(backend_bucket, name="weed")],
        buckets=[h.VirtualBucket(LIMITED, [rw])],
        extra={
            "admin_credentials": [
                {"access_key_id": a.access_key, "secret_access_key": a.secret_key} for a in (admin, lister)
            ],
            **extra,
        },
    )
    cfg["buckets"][0]["max_multipart_uploads"] = LIMIT
    orch = make_orchestrator(cfg, name=name)
    return Life(orch, admin, rw, lister, seaweed_backend, backend_bucket)


@pytest.fixture(scope="module")
def life(make_orchestrator, seaweed_backend):
    lf = _orchestrator(make_orchestrator, seaweed_backend, "bklife", {})
    yield lf
    lf.orch.stop()


@pytest.fixture(scope="module")
def stale(make_orchestrator, seaweed_backend):
    lf = _orchestrator(
        make_orchestrator,
        seaweed_backend,
        "bkstale",
        {"cleanup_queue": {"multipart_stale_timeout": f"{STALE_TIMEOUT_S}s"}},
    )
    yield lf
    lf.orch.stop()


def _unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _err(fn, *args, **kw) -> tuple[int, str]:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        fn(*args, **kw)
    resp = ei.value.response
    return resp["ResponseMetadata"]["HTTPStatusCode"], resp["Error"]["Code"]


def _backend_uploads(lf: Life, vbucket: str) -> list[str]:
    """Keys of the uploads the backend still has for virtual bucket `vbucket`."""
    listing = lf.backend.client().list_multipart_uploads(Bucket=lf.backend_bucket, Prefix=f"{vbucket}/")
    return [u["Key"] for u in listing.get("Uploads", [])]


def _reserved(orch: h.Orchestrator) -> int:
    resp = orch.admin_request("GET", "/admin/status")
    assert resp.status == 200, (resp.status, resp.body[:200])
    return sum(int(b["reserved_bytes"]) for b in json.loads(resp.body)["backends"])


def _start_upload(client, bucket: str, key: str, size: int = PART_BYTES) -> str:
    """An upload with one part stored: real bytes at the backend."""
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"p" * size)
    return upload_id


# -- DeleteBucket with pending uploads ----------------------------------------------------------------


def test_delete_bucket_aborts_pending_uploads_boto3(life: Life) -> None:
    c = life.orch.client(life.admin)
    name = _unique("bl-del")
    c.create_bucket(Bucket=name)
    before = _reserved(life.orch)
    c.put_object(Bucket=name, Key="obj-1", Body=b"one")
    c.put_object(Bucket=name, Key="dir/obj-2", Body=b"two")
    _start_upload(c, name, "big/a.bin")
    _start_upload(c, name, "big/b.bin")
    assert sorted(_backend_uploads(life, name)) == [f"{name}/big/a.bin", f"{name}/big/b.bin"]

    # Objects make the bucket not empty; the refusal aborts nothing.
    assert _err(c.delete_bucket, Bucket=name) == (409, "BucketNotEmpty")
    assert len(c.list_multipart_uploads(Bucket=name).get("Uploads", [])) == 2

    # The cleanup loop: delete every object, then DeleteBucket.
    for page in c.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            c.delete_object(Bucket=name, Key=obj["Key"])
    resp = c.delete_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _err(c.head_bucket, Bucket=name) == (404, "404")
    assert _err(c.list_multipart_uploads, Bucket=name)[1] == "NoSuchBucket"
    assert _backend_uploads(life, name) == []
    assert _reserved(life.orch) == before
    # The name is free again, with no upload of the old bucket in it.
    c.create_bucket(Bucket=name)
    assert c.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
    c.delete_bucket(Bucket=name)


def test_rb_force_with_leftover_upload_aws_cli(life: Life, workdir) -> None:
    c = life.orch.client(life.admin)
    aws = life.orch.aws(life.admin)
    name = _unique("bl-rb")
    aws.run("s3", "mb", f"s3://{name}")
    (workdir / "f.txt").write_bytes(b"hello\n")
    aws.run("s3", "cp", str(workdir / "f.txt"), f"s3://{name}/f.txt")
    _start_upload(c, name, "left/over.bin")
    res = aws.run("s3", "rb", "--force", f"s3://{name}", check=False)
    assert res.returncode == 0, res.stderr
    assert name not in aws.run("s3", "ls").stdout
    assert _backend_uploads(life, name) == []


# -- ListBuckets pagination ---------------------------------------------------------------------------


def test_list_buckets_max_buckets_prefix_and_paginator(life: Life) -> None:
    # An admin credential of its own: it sees exactly the buckets this test creates.
    owner = life.lister
    c = life.orch.client(owner)
    tag = secrets.token_hex(3)
    names = sorted([f"pg-{tag}-a{i}" for i in range(5)] + [f"pq-{tag}-b{i}" for i in range(2)])
    for n in names:
        c.create_bucket(Bucket=n)
    try:
        first = c.list_buckets(MaxBuckets=2)
        assert [b["Name"] for b in first["Buckets"]] == names[:2]
        assert first.get("ContinuationToken")
        second = c.list_buckets(MaxBuckets=2, ContinuationToken=first["ContinuationToken"])
        assert [b["Name"] for b in second["Buckets"]] == names[2:4]

        pref = c.list_buckets(Prefix=f"pq-{tag}")
        assert [b["Name"] for b in pref["Buckets"]] == [n for n in names if n.startswith(f"pq-{tag}")]
        assert pref["Prefix"] == f"pq-{tag}"
        assert "ContinuationToken" not in pref

        pages = list(c.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 3}))
        assert [len(p["Buckets"]) for p in pages] == [3, 3, 1]
        assert [b["Name"] for p in pages for b in p["Buckets"]] == names
        pages = list(c.get_paginator("list_buckets").paginate(Prefix=f"pg-{tag}", PaginationConfig={"PageSize": 2}))
        assert [b["Name"] for p in pages for b in p["Buckets"]] == [n for n in names if n.startswith(f"pg-{tag}")]

        # boto3 refuses these itself; S3 answers them InvalidArgument.
        for bad in ("0", "10001", "x"):
            resp = life.orch.signed(owner, "GET", "/", query=f"max-buckets={bad}")
            assert (resp.status, resp.error_code()) == (400, "InvalidArgument"), bad
        resp = life.orch.signed(owner, "GET", "/", query="continuation-token=%2A%2A%2A")
        assert (resp.status, resp.error_code()) == (400, "InvalidArgument")
        # The AWS CLI pages the same way.
        listed = life.orch.aws(owner).json("s3api", "list-buckets", "--page-size", "2")
        assert [b["Name"] for b in listed["Buckets"]] == names
    finally:
        for n in names:
            c.delete_bucket(Bucket=n)


# -- Stale uploads expire; max_multipart_uploads --------------------------------------------------------


def test_stale_upload_is_aborted_parts_deleted_quota_released(stale: Life) -> None:
    c = stale.orch.client(stale.admin)
    name = _unique("bl-stale")
    c.create_bucket(Bucket=name)
    before = _reserved(stale.orch)
    started = time.monotonic()
    upload_id = _start_upload(c, name, "old/upload.bin", STALE_PART_BYTES)
    reserved, at_backend = _reserved(stale.orch), _backend_uploads(stale, name)
    if time.monotonic() - started < STALE_TIMEOUT_S:
        # Not stale yet when these were read: the upload held its part's quota and existed at the backend.
        assert reserved == before + STALE_PART_BYTES
        assert at_backend == [f"{name}/old/upload.bin"]

    def expired() -> bool:
        listed = c.list_multipart_uploads(Bucket=name).get("Uploads", [])
        return listed == [] and _backend_uploads(stale, name) == [] and _reserved(stale.orch) == before

    h.wait_until(expired, EXPIRY_DEADLINE_S, "the stale upload to be aborted", stale.orch.proc)
    assert _err(c.list_parts, Bucket=name, Key="old/upload.bin", UploadId=upload_id) == (404, "NoSuchUpload")
    assert "stale multipart upload aborted" in stale.orch.log_text()
    # The bucket is empty again: a plain DeleteBucket works.
    c.delete_bucket(Bucket=name)


def test_max_multipart_uploads_refuses_past_the_limit(life: Life) -> None:
    c = life.orch.client(life.rw)
    ids = [c.create_multipart_upload(Bucket=LIMITED, Key=f"lim/{i}")["UploadId"] for i in range(LIMIT)]
    try:
        assert _err(c.create_multipart_upload, Bucket=LIMITED, Key="lim/over") == (503, "SlowDown")
        # Finishing one frees its place.
        c.abort_multipart_upload(Bucket=LIMITED, Key="lim/0", UploadId=ids.pop(0))
        ids.append(c.create_multipart_upload(Bucket=LIMITED, Key="lim/again")["UploadId"])
        assert _err(c.create_multipart_upload, Bucket=LIMITED, Key="lim/over") == (503, "SlowDown")
    finally:
        for u in c.list_multipart_uploads(Bucket=LIMITED).get("Uploads", []):
            c.abort_multipart_upload(Bucket=LIMITED, Key=u["Key"], UploadId=u["UploadId"])
    # A bucket without the key has no limit.
    a = life.orch.client(life.admin)
    name = _unique("bl-nolimit")
    a.create_bucket(Bucket=name)
    for i in range(LIMIT + 1):
        a.create_multipart_upload(Bucket=name, Key=f"k{i}")
    a.delete_bucket(Bucket=name)
