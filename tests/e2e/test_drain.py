"""A draining backend gets no new object of any kind, checked on the backends themselves.

Regression: PutObject and the streamed CopyObject path skipped the drain check that multipart and the
same-backend copy made, so with `pack` (the draining backend first in the config) new objects kept
landing on the backend being emptied.

Setup: `pack` over SeaweedFS (first, so it is preferred) and rclone serve s3, factor 1, and a scan
interval far longer than the test, so the background plane does not move the source objects while
the test looks at where new ones land. Every write path is then exercised once the first backend is
draining: PutObject (small and multipart-sized), CopyObject whose source lives only on the draining
backend (the streamed path), CopyObject whose source lives on the other backend (the server-side
path), multipart upload with UploadPart, and UploadPartCopy from a source on the draining backend.
"""

from __future__ import annotations

import os

import harness as h

ADMIN_KEY = "drain-admin"
ADMIN_SECRET = "drain-admin-secret-" + os.urandom(6).hex()
#: Part size of the multipart uploads: S3's minimum for every part but the last.
PART_BYTES = 5 * 1024 * 1024


def _admin(orch, method: str, path: str) -> h.RawResponse:
    return orch.admin_request(method, path)


def test_draining_backend_gets_no_new_object(make_orchestrator, seaweed_backend, rclone_backend):
    vbucket = "drain-writes"
    cred = h.Credential.random("DRAIN")
    cfg = h.orchestrator_config(
        backends=[seaweed_backend.config_entry(), rclone_backend.config_entry()],
        buckets=[h.VirtualBucket(vbucket, [cred])],
        routing_strategy="pack",
        replication_factor=1,
        extra={
            "replication": {"worker_interval": "1h"},
            "ui": {"enabled": True, "admin_key": ADMIN_KEY, "admin_secret": ADMIN_SECRET},
        },
    )
    orch = make_orchestrator(cfg, name="drain")
    c = orch.client(cred)

    # Before the drain, `pack` puts everything on the first backend: the sources of the copies.
    src_body = os.urandom(256 * 1024)
    c.put_object(Bucket=vbucket, Key="src-on-weed", Body=src_body)
    assert "src-on-weed" in h.backend_keys(seaweed_backend, vbucket)

    r = _admin(orch, "POST", f"/admin/drain?backend={seaweed_backend.name}")
    assert r.status == 200, r.body

    # A source that lives on the other backend, for the server-side copy.
    c.put_object(Bucket=vbucket, Key="src-on-rclone", Body=b"on the other backend")

    # PutObject, small and large.
    c.put_object(Bucket=vbucket, Key="put-small", Body=b"small")
    big = os.urandom(PART_BYTES + 1234)
    c.put_object(Bucket=vbucket, Key="put-big", Body=big)

    # CopyObject: source only on the draining backend (streamed), and on the other (server-side).
    c.copy_object(Bucket=vbucket, Key="copy-streamed", CopySource={"Bucket": vbucket, "Key": "src-on-weed"})
    c.copy_object(Bucket=vbucket, Key="copy-local", CopySource={"Bucket": vbucket, "Key": "src-on-rclone"})

    # Multipart with UploadPart, and with UploadPartCopy from the draining backend's object.
    up = c.create_multipart_upload(Bucket=vbucket, Key="mp-parts")["UploadId"]
    p1 = c.upload_part(Bucket=vbucket, Key="mp-parts", UploadId=up, PartNumber=1, Body=big[:PART_BYTES])
    p2 = c.upload_part(Bucket=vbucket, Key="mp-parts", UploadId=up, PartNumber=2, Body=b"tail")
    c.complete_multipart_upload(
        Bucket=vbucket,
        Key="mp-parts",
        UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}, {"PartNumber": 2, "ETag": p2["ETag"]}]},
    )
    up = c.create_multipart_upload(Bucket=vbucket, Key="mp-copy")["UploadId"]
    pc = c.upload_part_copy(
        Bucket=vbucket, Key="mp-copy", UploadId=up, PartNumber=1, CopySource={"Bucket": vbucket, "Key": "src-on-weed"}
    )
    c.complete_multipart_upload(
        Bucket=vbucket,
        Key="mp-copy",
        UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": pc["CopyPartResult"]["ETag"]}]},
    )

    written = {"src-on-rclone", "put-small", "put-big", "copy-streamed", "copy-local", "mp-parts", "mp-copy"}
    on_weed = h.backend_keys(seaweed_backend, vbucket)
    on_rclone = h.backend_keys(rclone_backend, vbucket)
    assert on_weed & written == set(), f"new objects on the draining backend: {sorted(on_weed & written)}"
    assert written <= on_rclone, f"missing on the other backend: {sorted(written - on_rclone)}"
    # The bytes are right, too.
    assert c.get_object(Bucket=vbucket, Key="copy-streamed")["Body"].read() == src_body
    assert c.get_object(Bucket=vbucket, Key="mp-copy")["Body"].read() == src_body
    assert c.get_object(Bucket=vbucket, Key="put-big")["Body"].read() == big

    # With the only other backend draining too, a write has nowhere to go: 507 before the body.
    assert _admin(orch, "POST", f"/admin/drain?backend={rclone_backend.name}").status == 200
    r = orch.signed(cred, "PUT", f"/{vbucket}/nowhere", body=b"x")
    assert (r.status, r.error_code()) == (507, "InsufficientStorage"), r.body
