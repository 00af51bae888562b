"""Quota reserved by uploads that have not finished (issue #13, "Quota reservations from stalled uploads
starve every tenant").

- An upload reserves its declared size before any body byte arrives. One access key's uploads in flight
  may hold at most `server.max_in_flight_bytes_per_key`; past it they are refused with 503 SlowDown, so a
  tenant holding stalled uploads open cannot make every other tenant's writes 507.
- The parts of a multipart upload in progress occupy their backend until the upload completes or is
  aborted. The catalog records them, so after a crash (kill -9) and restart they still count against
  the backend's quota.

Everything runs on one local-directory backend with a small quota: no shared S3 servers, a few seconds.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import time
import urllib.parse
from typing import Optional

import harness as h

#: Size of one stalled upload and of one object: small enough to be quick, large enough to count.
OBJ_BYTES = 256 * 1024
#: The backend's quota: room for two objects' reservations, not three.
QUOTA_BYTES = 2 * OBJ_BYTES + OBJ_BYTES // 2
#: The per-key cap: one object in flight, not two.
CAP_BYTES = OBJ_BYTES + OBJ_BYTES // 2
#: Longest wait for the orchestrator to reserve, refuse or release (it does so at once; this only
#: absorbs scheduling on a loaded machine, and stays well below the 30 s body stall timeout).
REACT_TIMEOUT_S = 10.0
#: One multipart part in the restart test; two fit the quota below, three do not.
PART_BYTES = 384 * 1024
MP_QUOTA_BYTES = 1024 * 1024


def _status_backend(orch: h.Orchestrator, name: str) -> dict:
    resp = orch.admin_request("GET", "/admin/status")
    assert resp.status == 200, (resp.status, resp.body[:200])
    backends = {b["name"]: b for b in json.loads(resp.body)["backends"]}
    return backends[name]


def _reserved(orch: h.Orchestrator, name: str = "only") -> int:
    return int(_status_backend(orch, name)["reserved_bytes"])


def _presigned_put(orch: h.Orchestrator, cred: h.Credential, bucket: str, key: str) -> str:
    return orch.client(cred).generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=300)


def _stall_put(url: str, content_length: int) -> socket.socket:
    """Sends a PUT's head announcing `content_length` bytes and then nothing: the socket stays open, the
    upload in flight, until the caller closes it."""
    u = urllib.parse.urlsplit(url)
    sock = socket.create_connection((u.hostname, u.port), timeout=REACT_TIMEOUT_S)
    head = (
        f"PUT {u.path}?{u.query} HTTP/1.1\r\n"
        f"Host: {u.netloc}\r\n"
        f"Content-Length: {content_length}\r\n"
        "\r\n"
    )
    sock.sendall(head.encode())
    return sock


def _answered(sock: socket.socket) -> bool:
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _read_answer(sock: socket.socket) -> h.RawResponse:
    """The response the orchestrator sent on a stalled upload's socket."""
    sock.settimeout(REACT_TIMEOUT_S)
    resp = http.client.HTTPResponse(sock)
    resp.begin()
    body = resp.read()
    return h.RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)


def _wait_reserved(orch: h.Orchestrator, want: int, what: str) -> None:
    h.wait_until(lambda: _reserved(orch) == want, REACT_TIMEOUT_S, f"{what} (reserved {want} bytes)")


def test_stalled_uploads_of_one_key_cannot_starve_another_tenant(make_orchestrator, tmp_path_factory):
    root = tmp_path_factory.mktemp("inflight-local")
    a, b = h.Credential.random("TENANTA"), h.Credential.random("TENANTB")
    cfg = h.orchestrator_config(
        backends=[h.local_backend_entry("only", root, quota_bytes=QUOTA_BYTES)],
        buckets=[h.VirtualBucket("qa-a", [a]), h.VirtualBucket("qa-b", [b])],
        extra={"server": {"max_in_flight_bytes_per_key": CAP_BYTES}},
    )
    orch = make_orchestrator(cfg, name="inflight")
    held: list[socket.socket] = []
    try:
        # Tenant A: one stalled upload holds its reservation.
        held.append(_stall_put(_presigned_put(orch, a, "qa-a", "stall-1"), OBJ_BYTES))
        _wait_reserved(orch, OBJ_BYTES, "the first stalled upload's reservation")

        # A second one would take A past its cap: refused before it reserves anything (without the
        # cap it reserves too, and the backend's room is gone).
        second = _stall_put(_presigned_put(orch, a, "qa-a", "stall-2"), OBJ_BYTES)
        held.append(second)
        h.wait_until(
            lambda: _answered(second) or _reserved(orch) == 2 * OBJ_BYTES,
            REACT_TIMEOUT_S,
            "the second stalled upload to be refused or to reserve",
        )

        # Tenant B's write to its own bucket still finds room.
        body = os.urandom(OBJ_BYTES)
        resp = h.http_request("PUT", _presigned_put(orch, b, "qa-b", "fits"), body=body)
        assert resp.status == 200, (resp.status, resp.error_code(), resp.body[:300])
        got = orch.client(b).get_object(Bucket="qa-b", Key="fits")["Body"].read()
        assert got == body

        refused = _read_answer(second)
        assert refused.status == 503, (refused.status, refused.body[:300])
        assert refused.error_code() == "SlowDown", refused.body
        assert b"in flight" in refused.body, refused.body
        held.remove(second)
        second.close()

        # A's stalled upload gives its room back when the client goes away, and A may upload again.
        held.pop().close()
        _wait_reserved(orch, 0, "the stalled upload's reservation to be released")
        resp = h.http_request("PUT", _presigned_put(orch, a, "qa-a", "after"), body=os.urandom(OBJ_BYTES))
        assert resp.status == 200, (resp.status, resp.error_code())
    finally:
        for s in held:
            s.close()
    orch.stop()


def _upload_parts(c, bucket: str, key: str, n: int) -> tuple[str, list[dict]]:
    upload_id = c.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for i in range(1, n + 1):
        r = c.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=i, Body=os.urandom(PART_BYTES))
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
    return upload_id, parts


def _put_status(orch: h.Orchestrator, cred: h.Credential, bucket: str, key: str, size: int) -> tuple[int, Optional[str]]:
    resp = h.http_request("PUT", _presigned_put(orch, cred, bucket, key), body=os.urandom(size))
    return resp.status, resp.error_code()


def _mp_orchestrator(make_orchestrator, tmp_path_factory, name: str):
    root = tmp_path_factory.mktemp(f"{name}-local")
    cred = h.Credential.random("MPQUOTA")
    cfg = h.orchestrator_config(
        backends=[h.local_backend_entry("only", root, quota_bytes=MP_QUOTA_BYTES)],
        buckets=[h.VirtualBucket("mp-q", [cred])],
    )
    return make_orchestrator(cfg, name=name), cred


def test_parts_of_uploads_in_progress_count_after_a_crash(make_orchestrator, tmp_path_factory):
    orch, cred = _mp_orchestrator(make_orchestrator, tmp_path_factory, "mpcrash")
    c = orch.client(cred)
    upload_id, _ = _upload_parts(c, "mp-q", "big", 2)
    assert _reserved(orch) == 2 * PART_BYTES

    orch.kill9()
    orch.start()
    # The stored parts hold their room again...
    assert _reserved(orch) == 2 * PART_BYTES, orch.log_tail()
    # ...so a write that would overfill the backend with them is refused before its body is read.
    assert _put_status(orch, cred, "mp-q", "overflow", PART_BYTES) == (507, "InsufficientStorage")

    # Aborting releases them, as before the restart.
    c = orch.client(cred)
    c.abort_multipart_upload(Bucket="mp-q", Key="big", UploadId=upload_id)
    assert _reserved(orch) == 0
    assert _put_status(orch, cred, "mp-q", "fits-now", PART_BYTES) == (200, None)
    orch.stop()


def test_completing_after_a_restart_turns_the_parts_into_usage(make_orchestrator, tmp_path_factory):
    orch, cred = _mp_orchestrator(make_orchestrator, tmp_path_factory, "mpcomplete")
    c = orch.client(cred)
    upload_id, parts = _upload_parts(c, "mp-q", "big", 1)
    # Part 1 uploaded again replaces the first one: it holds its room once (while it uploads, both do).
    r = c.upload_part(Bucket="mp-q", Key="big", UploadId=upload_id, PartNumber=1, Body=os.urandom(PART_BYTES))
    parts[0]["ETag"] = r["ETag"]
    assert _reserved(orch) == PART_BYTES
    r = c.upload_part(Bucket="mp-q", Key="big", UploadId=upload_id, PartNumber=2, Body=os.urandom(PART_BYTES))
    parts.append({"PartNumber": 2, "ETag": r["ETag"]})
    assert _reserved(orch) == 2 * PART_BYTES

    orch.kill9()
    orch.start()
    assert _reserved(orch) == 2 * PART_BYTES, orch.log_tail()
    c = orch.client(cred)
    c.complete_multipart_upload(Bucket="mp-q", Key="big", UploadId=upload_id, MultipartUpload={"Parts": parts})
    status = _status_backend(orch, "only")
    assert (status["reserved_bytes"], status["used_bytes"]) == (0, 2 * PART_BYTES), status
    assert _put_status(orch, cred, "mp-q", "overflow", PART_BYTES) == (507, "InsufficientStorage")

    # And a restart after completion holds nothing for the finished upload.
    orch.kill9()
    orch.start()
    status = _status_backend(orch, "only")
    assert (status["reserved_bytes"], status["used_bytes"]) == (0, 2 * PART_BYTES), status
    orch.stop()
