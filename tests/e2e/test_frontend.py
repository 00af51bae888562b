"""The orchestrator's S3 front end: authentication, authorization per virtual bucket, error rendering.

One orchestrator per module with two local-directory backends and two virtual buckets, each with its own
credential (alice owns app-alpha, bob owns app-beta); a second instance serves HTTPS with a test CA.
Written against the S3 spec and the project's config format; nothing here needs object data on backends.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from dataclasses import dataclass
from typing import Callable

import botocore.exceptions
import pytest

import harness as h

ALPHA = "app-alpha"
BETA = "app-beta"
MISSING = "app-no-such-bucket"
#: A presigned URL's signing time has 1 s granularity: wait this long past its expiry so no rounding
#: on either side can still see it as valid.
PRESIGN_EXPIRY_MARGIN_S = 1.0
#: Upper bound for waiting out a 1-second presigned URL (plus margin): anything longer is a harness bug.
PRESIGN_WAIT_DEADLINE_S = 10.0


@dataclass
class Front:
    orch: h.Orchestrator
    alice: h.Credential
    bob: h.Credential

    def client(self, cred: h.Credential, **kw):
        return self.orch.client(cred, **kw)


def _start(make_orchestrator, tmp_path_factory, name: str, tls: h.TlsFiles | None = None) -> Front:
    d = tmp_path_factory.mktemp(f"{name}-disks")
    alice = h.Credential.random("ALICE")
    bob = h.Credential.random("BOB")
    cfg = h.orchestrator_config(
        backends=[h.local_backend_entry("disk1", d / "disk1"), h.local_backend_entry("disk2", d / "disk2")],
        buckets=[h.VirtualBucket(ALPHA, [alice]), h.VirtualBucket(BETA, [bob])],
        routing_strategy="spread",
        replication_factor=1,
        tls=tls,
    )
    orch = make_orchestrator(cfg, name=name, ca_file=tls.ca_file if tls else None)
    return Front(orch, alice, bob)


@pytest.fixture(scope="module")
def front(make_orchestrator, tmp_path_factory):
    f = _start(make_orchestrator, tmp_path_factory, "front")
    yield f
    f.orch.stop()


@pytest.fixture(scope="module")
def front_tls(make_orchestrator, tmp_path_factory, tls_files):
    f = _start(make_orchestrator, tmp_path_factory, "front-tls", tls=tls_files)
    yield f
    f.orch.stop()


def _err(exc: botocore.exceptions.ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response.get("Error", {}).get("Code", "")


def _bucket_names(resp) -> list[str]:
    return sorted(b["Name"] for b in resp["Buckets"])


# --------------------------------------------------------------------------------------------------------
# ListBuckets / HeadBucket and authorization
# --------------------------------------------------------------------------------------------------------


def test_list_buckets_shows_only_the_callers_buckets(front: Front) -> None:
    assert _bucket_names(front.client(front.alice).list_buckets()) == [ALPHA]
    assert _bucket_names(front.client(front.bob).list_buckets()) == [BETA]


def test_head_own_bucket_is_200(front: Front) -> None:
    resp = front.client(front.alice).head_bucket(Bucket=ALPHA)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    resp = front.client(front.bob).head_bucket(Bucket=BETA)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_head_other_callers_bucket_is_403(front: Front) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        front.client(front.alice).head_bucket(Bucket=BETA)
    assert _err(ei.value)[0] == 403  # HEAD carries no body, so the status is all there is


def test_other_callers_bucket_gives_access_denied_xml(front: Front) -> None:
    """The same denial on a GET, whose body names the code."""
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        front.client(front.bob).list_objects_v2(Bucket=ALPHA)
    assert _err(ei.value) == (403, "AccessDenied")


def test_head_missing_bucket_is_403_or_404(front: Front) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        front.client(front.alice).head_bucket(Bucket=MISSING)
    assert _err(ei.value)[0] in (403, 404)


# --------------------------------------------------------------------------------------------------------
# Authentication failures
# --------------------------------------------------------------------------------------------------------


def test_wrong_secret_is_signature_does_not_match(front: Front) -> None:
    bad = front.alice.with_secret("x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        front.client(bad).list_buckets()
    assert _err(ei.value) == (403, "SignatureDoesNotMatch")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        front.client(bad).head_bucket(Bucket=ALPHA)
    assert _err(ei.value)[0] == 403


def test_unknown_access_key_is_invalid_access_key_id(front: Front) -> None:
    stranger = h.Credential.random("NOBODY")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        front.client(stranger).list_buckets()
    assert _err(ei.value) == (403, "InvalidAccessKeyId")


def test_expired_presigned_url_is_access_denied(front: Front) -> None:
    url = front.client(front.alice).generate_presigned_url(
        "get_object", Params={"Bucket": ALPHA, "Key": "presign/expired.txt"}, ExpiresIn=1
    )
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert q["X-Amz-Expires"] == ["1"]
    signed_at = dt.datetime.strptime(q["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    expired_after = signed_at.timestamp() + 1 + PRESIGN_EXPIRY_MARGIN_S
    h.wait_until(lambda: time.time() > expired_after, PRESIGN_WAIT_DEADLINE_S, "the presigned URL to expire")

    resp = h.http_request("GET", url)
    assert resp.status == 403, resp.body
    assert resp.error_code() == "AccessDenied", resp.body
    assert resp.headers.get("x-amz-request-id")


def test_valid_presigned_get_of_missing_key_is_no_such_key(front: Front) -> None:
    url = front.client(front.alice).generate_presigned_url(
        "get_object", Params={"Bucket": ALPHA, "Key": "presign/never-written.txt"}, ExpiresIn=300
    )
    resp = h.http_request("GET", url)
    assert resp.status == 404, resp.body
    assert resp.error_code() == "NoSuchKey", resp.body
    assert resp.headers.get("x-amz-request-id")


# --------------------------------------------------------------------------------------------------------
# The aws CLI v1
# --------------------------------------------------------------------------------------------------------


def test_aws_cli_s3_ls(front: Front) -> None:
    out = front.orch.aws(front.alice).run("s3", "ls").stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert names == [ALPHA], out


def test_aws_cli_list_buckets_and_head_bucket(front: Front) -> None:
    aws = front.orch.aws(front.bob)
    assert _bucket_names(aws.json("s3api", "list-buckets")) == [BETA]
    assert aws.run("s3api", "head-bucket", "--bucket", BETA).returncode == 0
    res = aws.run("s3api", "head-bucket", "--bucket", ALPHA, check=False)
    assert res.returncode != 0 and "403" in res.stderr, res.stderr


# --------------------------------------------------------------------------------------------------------
# Response headers and unimplemented operations
# --------------------------------------------------------------------------------------------------------


def _headers_of(call: Callable[[], dict]) -> dict:
    try:
        return call()["ResponseMetadata"]["HTTPHeaders"]
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPHeaders"]


REQUEST_ID_CASES: dict[str, Callable[[Front], dict]] = {
    "list-buckets-ok": lambda f: _headers_of(lambda: f.client(f.alice).list_buckets()),
    "head-bucket-ok": lambda f: _headers_of(lambda: f.client(f.alice).head_bucket(Bucket=ALPHA)),
    "head-bucket-denied": lambda f: _headers_of(lambda: f.client(f.alice).head_bucket(Bucket=BETA)),
    "head-bucket-missing": lambda f: _headers_of(lambda: f.client(f.alice).head_bucket(Bucket=MISSING)),
    "bad-signature": lambda f: _headers_of(lambda: f.client(f.alice.with_secret("y" * 40)).list_buckets()),
    "unknown-key": lambda f: _headers_of(lambda: f.client(h.Credential.random("NOBODY")).list_buckets()),
    "get-missing-key": lambda f: _headers_of(lambda: f.client(f.alice).get_object(Bucket=ALPHA, Key="nope")),
    "unsigned": lambda f: h.http_request("GET", f.orch.endpoint + "/").headers,
    "not-implemented": lambda f: f.orch.signed(f.alice, "GET", f"/{ALPHA}/obj", query="torrent").headers,
}


@pytest.mark.parametrize("case", sorted(REQUEST_ID_CASES))
def test_every_response_has_a_request_id(front: Front, case: str) -> None:
    headers = {k.lower(): v for k, v in REQUEST_ID_CASES[case](front).items()}
    assert headers.get("x-amz-request-id"), headers


RESTORE_BODY = b"<RestoreRequest><Days>1</Days></RestoreRequest>"


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("GET", f"/{ALPHA}", "torrent", b""),
        ("GET", f"/{ALPHA}/some/key", "torrent", b""),  # GetObjectTorrent
        ("POST", f"/{ALPHA}/some/key", "restore", RESTORE_BODY),  # RestoreObject
    ],
    ids=["bucket-torrent", "object-torrent", "object-restore"],
)
def test_unknown_operation_is_not_implemented(front: Front, method: str, path: str, query: str, body: bytes) -> None:
    resp = front.orch.signed(front.alice, method, path, query=query, body=body)
    assert resp.status == 501, (resp.status, resp.body)
    assert resp.error_code() == "NotImplemented", resp.body
    assert resp.headers.get("x-amz-request-id")


# --------------------------------------------------------------------------------------------------------
# The same over HTTPS
# --------------------------------------------------------------------------------------------------------


def test_tls_list_and_head_buckets(front_tls: Front) -> None:
    assert front_tls.orch.endpoint.startswith("https://")
    alice = front_tls.client(front_tls.alice)
    assert _bucket_names(alice.list_buckets()) == [ALPHA]
    assert alice.head_bucket(Bucket=ALPHA)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        alice.head_bucket(Bucket=BETA)
    assert _err(ei.value)[0] == 403
    assert _bucket_names(front_tls.client(front_tls.bob).list_buckets()) == [BETA]


def test_tls_wrong_secret_is_signature_does_not_match(front_tls: Front) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        front_tls.client(front_tls.alice.with_secret("z" * 40)).list_buckets()
    assert _err(ei.value) == (403, "SignatureDoesNotMatch")


def test_tls_aws_cli_with_ca_bundle(front_tls: Front) -> None:
    aws = front_tls.orch.aws(front_tls.bob)
    assert "--ca-bundle" in aws.argv()
    assert _bucket_names(aws.json("s3api", "list-buckets")) == [BETA]


def test_tls_certificate_is_really_checked(front_tls: Front) -> None:
    """A client that does not trust the test CA must fail the handshake (so TLS is really served)."""
    with pytest.raises(botocore.exceptions.SSLError):
        h.s3_client(front_tls.orch.endpoint, front_tls.alice, ca_file=None).list_buckets()
