"""Authentication forms still in use, and the codes S3 gives when a request is refused.

* SigV2 (`Authorization: AWS AKID:signature` and `AWSAccessKeyId`/`Expires`/`Signature` presigned
  URLs) through boto3 with `signature_version="s3"`.
* Expiry, skew and malformed-request statuses: 403 for time problems, `InvalidDigest`,
  `411 MissingContentLength`, `IncompleteBody` for a body that ends early (never a stored object).
* `curl --aws-sigv4` from Debian 12, which sends no `x-amz-content-sha256` on bodyless requests.

One orchestrator for the module, in front of SeaweedFS, `rclone serve s3` and a local directory
(`spread`, factor 1), so objects land on every kind of backend.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import http.client
import shutil
import socket
import subprocess
import time
import unittest.mock
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import harness as h

BUCKET = "auth-forms"
#: A presigned URL's expiry has 1 s granularity: wait this long past it so no rounding on either side
#: can still see it as valid.
EXPIRY_MARGIN_S = 1.0
#: Upper bound for waiting out a 1-second presigned URL: anything longer is a harness bug.
EXPIRY_WAIT_DEADLINE_S = 10.0
#: Further from now than the orchestrator's skew window (15 minutes, as S3).
SKEWED_BY = dt.timedelta(hours=1)
#: Socket timeout for the raw requests below.
RAW_TIMEOUT_S = 10.0
#: `server.domain`: a Host of `<bucket>.DOMAIN` is virtual-hosted style; 127.0.0.1 stays path style.
DOMAIN = "s3.test"
#: Bodies for the SigV2 round trip: one per backend at least under `spread`.
V2_KEYS = [f"v2/obj-{i}.txt" for i in range(6)]


@dataclass
class Env:
    orch: h.Orchestrator
    cred: h.Credential
    s3_backends: list[h.S3Backend]
    local_root: Path

    def v4(self, cred: h.Credential | None = None):
        return self.orch.client(cred or self.cred)

    def v2(self, cred: h.Credential | None = None):
        return v2_client(self.orch.endpoint, cred or self.cred)

    def stored_anywhere(self, key: str) -> bool:
        """Whether any backend holds a copy of `BUCKET/key`, asked of the backends themselves."""
        for b in self.s3_backends:
            try:
                b.client().head_object(Bucket=b.buckets[0], Key=h.backend_name(BUCKET, key))
                return True
            except botocore.exceptions.ClientError as e:
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
        return h.local_object_path(self.local_root, BUCKET, key).is_file()


def v2_client(endpoint: str, cred: h.Credential):
    """A boto3 client signing with Signature Version 2 (botocore's `s3` signer)."""
    cfg = Config(
        signature_version="s3",
        region_name=h.REGION,
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=h.CONNECT_TIMEOUT_S,
        read_timeout=h.READ_TIMEOUT_S,
    )
    session = boto3.session.Session(
        aws_access_key_id=cred.access_key, aws_secret_access_key=cred.secret_key, region_name=h.REGION
    )
    return session.client("s3", endpoint_url=endpoint, config=cfg)


@pytest.fixture(scope="module")
def env(make_orchestrator, tmp_path_factory, seaweed_backend, rclone_backend):
    local_root = tmp_path_factory.mktemp("auth-forms-local") / "disk"
    cred = h.Credential.random("FORMS")
    s3_backends = [seaweed_backend, rclone_backend]
    cfg = h.orchestrator_config(
        backends=[b.config_entry() for b in s3_backends] + [h.local_backend_entry("local", local_root)],
        buckets=[h.VirtualBucket(BUCKET, [cred])],
        routing_strategy="spread",
        replication_factor=1,
        domain=DOMAIN,
    )
    orch = make_orchestrator(cfg, name="auth-forms")
    yield Env(orch, cred, s3_backends, local_root)
    orch.stop()


def _err(exc: botocore.exceptions.ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response.get("Error", {}).get("Code", "")


def _wait_past(unix_ts: float) -> None:
    h.wait_until(lambda: time.time() > unix_ts + EXPIRY_MARGIN_S, EXPIRY_WAIT_DEADLINE_S, "the URL to expire")


def _v2_sign(secret: str, string_to_sign: str) -> str:
    mac = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


# --------------------------------------------------------------------------------------------------------
# SigV2
# --------------------------------------------------------------------------------------------------------


def test_sigv2_put_get_list_delete(env: Env) -> None:
    c = env.v2()
    bodies = {k: f"sigv2 body of {k}\n".encode() * (i + 1) for i, k in enumerate(V2_KEYS)}
    for k, body in bodies.items():
        c.put_object(Bucket=BUCKET, Key=k, Body=body, ContentType="text/plain", Metadata={"form": "v2"})
    for k, body in bodies.items():
        got = c.get_object(Bucket=BUCKET, Key=k)
        assert got["Body"].read() == body
        assert got["Metadata"] == {"form": "v2"}
        assert env.stored_anywhere(k)
    listed = [o["Key"] for o in c.list_objects(Bucket=BUCKET, Prefix="v2/").get("Contents", [])]
    assert listed == sorted(V2_KEYS)
    listed2 = [o["Key"] for o in c.list_objects_v2(Bucket=BUCKET, Prefix="v2/").get("Contents", [])]
    assert listed2 == sorted(V2_KEYS)
    assert c.head_object(Bucket=BUCKET, Key=V2_KEYS[0])["ContentLength"] == len(bodies[V2_KEYS[0]])
    c.delete_object(Bucket=BUCKET, Key=V2_KEYS[0])
    c.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in V2_KEYS[1:]]})
    assert c.list_objects_v2(Bucket=BUCKET, Prefix="v2/").get("KeyCount") == 0
    assert not any(env.stored_anywhere(k) for k in V2_KEYS)


def test_sigv2_multipart_upload(env: Env) -> None:
    """uploads, uploadId and partNumber are sub-resources SigV2 signs."""
    c = env.v2()
    key = "v2/multipart.bin"
    part = b"p" * (5 * 1024 * 1024)
    up = c.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    e1 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=1, Body=part)["ETag"]
    e2 = c.upload_part(Bucket=BUCKET, Key=key, UploadId=up, PartNumber=2, Body=b"tail")["ETag"]
    assert [p["PartNumber"] for p in c.list_parts(Bucket=BUCKET, Key=key, UploadId=up)["Parts"]] == [1, 2]
    c.complete_multipart_upload(
        Bucket=BUCKET,
        Key=key,
        UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]},
    )
    assert h.sha256_hex(c.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == h.sha256_hex(part + b"tail")
    c.delete_object(Bucket=BUCKET, Key=key)


def test_sigv2_presigned_get_and_put(env: Env) -> None:
    c = env.v2()
    key = "v2/presigned.txt"
    put_url = c.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(put_url).query)
    assert set(q) >= {"AWSAccessKeyId", "Expires", "Signature"}, put_url
    resp = h.http_request("PUT", put_url, body=b"presigned v2 body")
    assert resp.status == 200, resp.body

    get_url = c.generate_presigned_url(
        "get_object",
        Params={"Bucket": BUCKET, "Key": key, "ResponseContentDisposition": 'attachment; filename="x.txt"'},
        ExpiresIn=300,
    )
    resp = h.http_request("GET", get_url)
    assert resp.status == 200, resp.body
    assert resp.body == b"presigned v2 body"
    assert resp.headers.get("content-disposition") == 'attachment; filename="x.txt"'

    # The response-* override is signed: changing it breaks the signature.
    tampered = get_url.replace("x.txt", "y.txt")
    assert tampered != get_url
    resp = h.http_request("GET", tampered)
    assert (resp.status, resp.error_code()) == (403, "SignatureDoesNotMatch"), resp.body
    c.delete_object(Bucket=BUCKET, Key=key)


def test_sigv2_wrong_signature_is_signature_does_not_match(env: Env) -> None:
    bad = env.cred.with_secret("x" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        env.v2(bad).list_objects(Bucket=BUCKET)
    assert _err(ei.value) == (403, "SignatureDoesNotMatch")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        env.v2(bad).put_object(Bucket=BUCKET, Key="v2/never.txt", Body=b"no")
    assert _err(ei.value) == (403, "SignatureDoesNotMatch")
    assert not env.stored_anywhere("v2/never.txt")
    url = env.v2(bad).generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "v2/x"}, ExpiresIn=300)
    resp = h.http_request("GET", url)
    assert (resp.status, resp.error_code()) == (403, "SignatureDoesNotMatch"), resp.body


def test_sigv2_unknown_key_is_invalid_access_key_id(env: Env) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        env.v2(h.Credential.random("NOBODY")).list_objects(Bucket=BUCKET)
    assert _err(ei.value) == (403, "InvalidAccessKeyId")


def test_sigv2_expired_presigned_url_is_access_denied(env: Env) -> None:
    env.v4().put_object(Bucket=BUCKET, Key="v2/expiring.txt", Body=b"soon gone")
    url = env.v2().generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "v2/expiring.txt"}, ExpiresIn=1
    )
    expires = int(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["Expires"][0])
    _wait_past(expires)
    resp = h.http_request("GET", url)
    assert (resp.status, resp.error_code()) == (403, "AccessDenied"), resp.body


def test_sigv2_skewed_date_is_request_time_too_skewed(env: Env) -> None:
    date = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc) - SKEWED_BY, usegmt=True)
    path = f"/{BUCKET}/"
    sig = _v2_sign(env.cred.secret_key, f"GET\n\n\n{date}\n{path}")
    resp = h.http_request(
        "GET",
        env.orch.endpoint + path,
        headers={"Date": date, "Authorization": f"AWS {env.cred.access_key}:{sig}"},
    )
    assert (resp.status, resp.error_code()) == (403, "RequestTimeTooSkewed"), resp.body
    # The same request dated now is accepted: the refusal above is the date's.
    date = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc), usegmt=True)
    sig = _v2_sign(env.cred.secret_key, f"GET\n\n\n{date}\n{path}")
    resp = h.http_request(
        "GET",
        env.orch.endpoint + path,
        headers={"Date": date, "Authorization": f"AWS {env.cred.access_key}:{sig}"},
    )
    assert resp.status == 200, resp.body


def test_sigv2_x_amz_date_takes_the_date_line(env: Env) -> None:
    """With x-amz-date, the Date line of the string to sign is empty and x-amz-date is signed as an
    x-amz-* header (AWS's SigV2 rules; s3cmd and older SDKs sign this way)."""
    amz_date = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc), usegmt=True)
    path = f"/{BUCKET}/"
    sig = _v2_sign(env.cred.secret_key, f"GET\n\n\n\nx-amz-date:{amz_date}\n{path}")
    resp = h.http_request(
        "GET",
        env.orch.endpoint + path,
        headers={"x-amz-date": amz_date, "Authorization": f"AWS {env.cred.access_key}:{sig}"},
    )
    assert resp.status == 200, resp.body


def test_sigv2_virtual_hosted(env: Env) -> None:
    """Virtual-hosted style: the Host names the bucket and SigV2's resource starts with /bucket."""
    host = f"{BUCKET}.{DOMAIN}:{env.orch.listen_port}"

    def send(method: str, path: str, resource: str, body: bytes = b"", content_type: str = "") -> h.RawResponse:
        date = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc), usegmt=True)
        sig = _v2_sign(env.cred.secret_key, f"{method}\n\n{content_type}\n{date}\n{resource}")
        headers = {"Host": host, "Date": date, "Authorization": f"AWS {env.cred.access_key}:{sig}"}
        if content_type:
            headers["Content-Type"] = content_type
        return h.http_request(method, env.orch.endpoint + path, headers=headers, body=body)

    key = "v2/virtual-hosted.txt"
    resp = send("PUT", f"/{key}", f"/{BUCKET}/{key}", b"virtual v2", "text/plain")
    assert resp.status == 200, resp.body
    resp = send("GET", f"/{key}", f"/{BUCKET}/{key}")
    assert (resp.status, resp.body) == (200, b"virtual v2")
    resp = send("GET", "/?prefix=v2/virtual", f"/{BUCKET}/")
    assert resp.status == 200 and f"<Key>{key}</Key>".encode() in resp.body, resp.body
    # Signed as if path style (no /bucket in the resource): not this request's signature.
    resp = send("GET", f"/{key}", f"/{key}")
    assert (resp.status, resp.error_code()) == (403, "SignatureDoesNotMatch"), resp.body
    resp = send("DELETE", f"/{key}", f"/{BUCKET}/{key}")
    assert resp.status == 204, resp.body
    assert not env.stored_anywhere(key)


# --------------------------------------------------------------------------------------------------------
# Codes and statuses
# --------------------------------------------------------------------------------------------------------


def _signing_clock(when: dt.datetime):
    """botocore's signers read the time through `botocore.auth.get_current_datetime` (naive UTC)."""
    return unittest.mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None))


def test_sigv4_expired_presigned_url_is_access_denied(env: Env) -> None:
    url = env.v4().generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "v4/x"}, ExpiresIn=1)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    signed_at = dt.datetime.strptime(q["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    _wait_past(signed_at.timestamp() + 1)
    resp = h.http_request("GET", url)
    assert (resp.status, resp.error_code()) == (403, "AccessDenied"), resp.body


def test_x_amz_expires_out_of_range_is_access_denied(env: Env) -> None:
    c = env.v4()
    for expires in (604_801, 10 * 604_800):
        url = c.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "v4/x"}, ExpiresIn=expires)
        resp = h.http_request("GET", url)
        assert (resp.status, resp.error_code()) == (403, "AccessDenied"), (expires, resp.body)


def test_sigv4_request_outside_skew_window_is_request_time_too_skewed(env: Env) -> None:
    when = dt.datetime.now(dt.timezone.utc) - SKEWED_BY
    url = f"{env.orch.endpoint}/{BUCKET}/"
    req = AWSRequest(method="GET", url=url, headers={})
    signer = S3SigV4Auth(Credentials(env.cred.access_key, env.cred.secret_key), "s3", h.REGION)
    with _signing_clock(when):
        signer.add_auth(req)
    resp = h.http_request("GET", url, headers=dict(req.headers.items()))
    assert (resp.status, resp.error_code()) == (403, "RequestTimeTooSkewed"), resp.body


def test_presigned_url_dated_in_the_future_is_access_denied(env: Env) -> None:
    when = dt.datetime.now(dt.timezone.utc) + SKEWED_BY
    url = f"{env.orch.endpoint}/{BUCKET}/v4/x"
    req = AWSRequest(method="GET", url=url, params={}, headers={})
    signer = S3SigV4QueryAuth(Credentials(env.cred.access_key, env.cred.secret_key), "s3", h.REGION, expires=300)
    with _signing_clock(when):
        signer.add_auth(req)
    resp = h.http_request("GET", req.url)
    assert (resp.status, resp.error_code()) == (403, "AccessDenied"), resp.body


def test_malformed_content_md5_is_invalid_digest(env: Env) -> None:
    key = "codes/bad-md5.txt"
    for bad in ("not-base64!!", base64.b64encode(b"short").decode()):
        resp = env.orch.signed(
            env.cred, "PUT", f"/{BUCKET}/{key}", body=b"hello", headers={"Content-MD5": bad}
        )
        assert (resp.status, resp.error_code()) == (400, "InvalidDigest"), (bad, resp.body)
    assert not env.stored_anywhere(key)


def _signed_head(env: Env, method: str, path: str, body: bytes, extra: dict[str, str]) -> dict[str, str]:
    """SigV4 headers for a request whose framing the caller writes itself."""
    req = AWSRequest(method=method, url=env.orch.endpoint + path, data=body, headers=dict(extra))
    S3SigV4Auth(Credentials(env.cred.access_key, env.cred.secret_key), "s3", h.REGION).add_auth(req)
    return {k: v for k, v in req.headers.items() if k.lower() != "content-length"}


def _raw_exchange(env: Env, head: bytes, body: bytes) -> tuple[int, bytes]:
    """Writes `head` and `body` on a fresh connection, half-closes it and reads the one answer."""
    with socket.create_connection((h.HOST, env.orch.listen_port), timeout=RAW_TIMEOUT_S) as s:
        s.sendall(head + body)
        s.shutdown(socket.SHUT_WR)
        resp = http.client.HTTPResponse(s)
        resp.begin()
        return resp.status, resp.read()


def _head_bytes(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_put_without_any_length_is_missing_content_length(env: Env) -> None:
    key = "codes/no-length.txt"
    path = f"/{BUCKET}/{key}"
    headers = _signed_head(env, "PUT", path, b"", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    headers["Host"] = f"{h.HOST}:{env.orch.listen_port}"
    status, body = _raw_exchange(env, _head_bytes("PUT", path, headers), b"")
    assert (status, h.s3_error_code(body)) == (411, "MissingContentLength"), body
    assert not env.stored_anywhere(key)


def test_body_shorter_than_content_length_is_incomplete_body(env: Env) -> None:
    key = "codes/short-body.txt"
    path = f"/{BUCKET}/{key}"
    full = b"x" * 100
    headers = _signed_head(env, "PUT", path, full, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    headers["Host"] = f"{h.HOST}:{env.orch.listen_port}"
    headers["Content-Length"] = str(len(full))
    status, body = _raw_exchange(env, _head_bytes("PUT", path, headers), full[:50])
    assert (status, h.s3_error_code(body)) == (400, "IncompleteBody"), body
    assert not env.stored_anywhere(key)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        env.v4().head_object(Bucket=BUCKET, Key=key)
    assert _err(ei.value)[0] == 404


# --------------------------------------------------------------------------------------------------------
# curl --aws-sigv4: no x-amz-content-sha256 on bodyless requests
# --------------------------------------------------------------------------------------------------------


def _curl(env: Env, *args: str) -> tuple[int, bytes]:
    exe = shutil.which("curl")
    if exe is None:
        pytest.fail("curl is not installed")
    argv = [
        exe, "-s", "-S", "--max-time", str(RAW_TIMEOUT_S), "-o", "-", "-w", "\n%{http_code}",
        "--aws-sigv4", f"aws:amz:{h.REGION}:s3", "--user", f"{env.cred.access_key}:{env.cred.secret_key}",
        *args,
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, check=True, timeout=RAW_TIMEOUT_S * 2).stdout
    body, _, code = out.rpartition(b"\n")
    return int(code), body


def test_curl_aws_sigv4_bodyless_requests(env: Env) -> None:
    key = "curl/object.txt"
    env.v4().put_object(Bucket=BUCKET, Key=key, Body=b"fetched by curl")
    url = f"{env.orch.endpoint}/{BUCKET}/{key}"
    assert _curl(env, url) == (200, b"fetched by curl")
    status, _ = _curl(env, "-I", url)
    assert status == 200
    # curl 7.88 signs the query as it is written (neither sorted nor encoded), so write it canonical.
    status, body = _curl(env, f"{env.orch.endpoint}/{BUCKET}?list-type=2&prefix=curl")
    assert status == 200 and b"<Key>curl/object.txt</Key>" in body, body
    status, _ = _curl(env, "-X", "DELETE", url)
    assert status == 204
    assert not env.stored_anywhere(key)


def test_curl_aws_sigv4_wrong_secret_is_refused(env: Env) -> None:
    url = f"{env.orch.endpoint}/{BUCKET}/"
    exe = shutil.which("curl") or "curl"
    out = subprocess.run(
        [exe, "-s", "-o", "-", "-w", "\n%{http_code}", "--aws-sigv4", f"aws:amz:{h.REGION}:s3",
         "--user", f"{env.cred.access_key}:{'x' * 40}", url],
        capture_output=True, check=True, timeout=RAW_TIMEOUT_S * 2,
    ).stdout  # fmt: skip
    body, _, code = out.rpartition(b"\n")
    assert (int(code), h.s3_error_code(body)) == (403, "SignatureDoesNotMatch"), body


def test_curl_aws_sigv4_put_with_body_still_needs_the_header(env: Env) -> None:
    key = "curl/put-no-header.txt"
    status, body = _curl(env, "-X", "PUT", "--data-binary", "a body", f"{env.orch.endpoint}/{BUCKET}/{key}")
    assert (status, h.s3_error_code(body)) == (400, "InvalidRequest"), body
    assert not env.stored_anywhere(key)
    # With the header, as TESTING.md advises, the same upload goes through.
    status, body = _curl(
        env, "-X", "PUT", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--data-binary", "a body",
        f"{env.orch.endpoint}/{BUCKET}/{key}",
    )  # fmt: skip
    assert status == 200, body
    assert env.v4().get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"a body"
    env.v4().delete_object(Bucket=BUCKET, Key=key)
