"""Keys with `.`, `..`, empty and percent-encoded segments (issue #13, tenant isolation) against each real
backend kind: SeaweedFS, rclone serve s3 and a local directory.

Both tenants' objects share one provider bucket, so a key went to a provider as `<vbucket>/<key>`: tenant
`alpha`'s `../beta/secret.txt` named tenant `beta`'s `secret.txt` on a provider that normalises paths, and
rclone and SeaweedFS refused such names (the client got 503). The orchestrator now escapes them
(`backend::naming`): every operation on such a key works, the client sees exactly its key, `beta`'s object
is untouched, and the names on the provider hold no dot segment, `//` or `%`.

Object operations go as raw signed requests with every `.` sent as `%2E`, so no client library resolves a
dot segment before the orchestrator sees it; listings use boto3 (keys come back from XML, not URLs). boto3
itself sends `..` verbatim in the path; one test checks that form too.
One fresh backend and orchestrator per backend kind (each test owns its provider bucket's listing).
"""

from __future__ import annotations

import re
import urllib.parse
import pytest

import harness as h

ALPHA, BETA = "alpha", "beta"
SECRET_KEY, SECRET_BODY = "secret.txt", b"beta's secret, never to be touched"
#: Keys that a normalising provider resolves into another tenant, or collapses, or decodes into one.
ATTACK_KEYS = [
    "../beta/secret.txt",
    "./beta/secret.txt",
    "x/../../beta/secret.txt",
    "//beta/secret.txt",
    "a//b",
    "%2e%2e/beta/secret.txt",
    "%2E%2E%2Fbeta%2Fsecret.txt",
    "dir/./..",
    "../..",
    "./.",
    "~2E~2E/beta/secret.txt",  # the escape's own spelling is a key like any other
]
#: Whole keys that are a dot segment: in a test of their own, because on a provider that keeps objects as
#: files (rclone, SeaweedFS's filer) `..` as a file and `../beta/secret.txt` under it cannot both exist, as
#: with any keys `a` and `a/b`.
DOT_KEYS = ["..", "."]
COPY_DST = "../beta/copied.txt"
MULTIPART_KEY = "../beta/multipart.txt"


def _path(bucket: str, key: str) -> str:
    """The request path for `key`, every byte but `/` and unreserved letters percent-encoded, and `.` too."""
    return f"/{bucket}/" + urllib.parse.quote(key, safe="/").replace(".", "%2E")


class Tenant:
    def __init__(self, orch: h.Orchestrator, bucket: str, cred: h.Credential) -> None:
        self.orch, self.bucket, self.cred = orch, bucket, cred

    def req(self, method: str, key: str, **kw) -> h.RawResponse:
        return self.orch.signed(self.cred, method, _path(self.bucket, key), **kw)

    def put(self, key: str, body: bytes) -> None:
        r = self.req("PUT", key, body=body)
        assert r.status == 200, (key, r.status, r.body[:300])

    def get(self, key: str) -> bytes:
        r = self.req("GET", key)
        assert r.status == 200, (key, r.status, r.body[:300])
        return r.body

    def keys(self) -> list[str]:
        client = self.orch.client(self.cred)
        out: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            out.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(out)

    def multipart(self, key: str, body: bytes) -> None:
        r = self.req("POST", key, query="uploads=")
        assert r.status == 200, (r.status, r.body[:300])
        m = re.search(rb"<UploadId>([^<]+)</UploadId>", r.body)
        assert m, r.body
        upload = urllib.parse.quote(m.group(1).decode(), safe="")
        r = self.req("PUT", key, query=f"partNumber=1&uploadId={upload}", body=body)
        assert r.status == 200, (r.status, r.body[:300])
        etag = r.headers["etag"]
        doc = f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
        r = self.req("POST", key, query=f"uploadId={upload}", body=doc.encode())
        assert r.status == 200 and b"<Error>" not in r.body, (r.status, r.body[:300])


def _backend_names(kind: str, backend) -> list[str]:
    """Every object name on the provider (an S3 backend's bucket listed directly)."""
    if kind == "local":
        return []
    client = backend.client()
    out: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=backend.buckets[0]):
        out.extend(o["Key"] for o in page.get("Contents", []))
    return out


@pytest.fixture(params=["seaweedfs", "rclone", "local"])
def tenants(request, backends, make_orchestrator, tmp_path_factory):
    kind = request.param
    if kind == "seaweedfs":
        backend = backends.seaweedfs("weed-keys", buckets=("s3o-keys",))
        entry = backend.config_entry()
    elif kind == "rclone":
        backend = backends.rclone("rclone-keys", buckets=("s3o-keys",))
        entry = backend.config_entry()
    else:
        backend = None
        entry = h.local_backend_entry("local-keys", tmp_path_factory.mktemp("keys-local") / "disk")
    ca, cb = h.Credential.random("KALPHA"), h.Credential.random("KBETA")
    cfg = h.orchestrator_config(
        backends=[entry],
        buckets=[h.VirtualBucket(ALPHA, [ca]), h.VirtualBucket(BETA, [cb])],
        replication_factor=1,
    )
    orch = make_orchestrator(cfg, name=f"keys-{kind}")
    yield kind, backend, Tenant(orch, ALPHA, ca), Tenant(orch, BETA, cb)
    orch.stop()
    if backend is not None:
        backend.stop()


def _assert_nothing_to_normalise(names: list[str]) -> None:
    """Provider names start with a tenant's bucket and hold no dot segment, `//` or percent sequence."""
    for name in names:
        segments = name.split("/")
        assert segments[0] in (ALPHA, BETA), name
        assert "%" not in name and "." not in segments and ".." not in segments, name
        assert "" not in segments[:-1], name


def _beta_untouched(beta: Tenant, others: tuple[str, ...] = ()) -> None:
    assert beta.get(SECRET_KEY) == SECRET_BODY
    assert beta.keys() == sorted([SECRET_KEY, *others])


def test_dot_and_empty_segment_keys_stay_in_their_bucket(tenants):
    kind, backend, alpha, beta = tenants
    beta.put(SECRET_KEY, SECRET_BODY)

    bodies = {key: f"alpha's {key!r} on {kind}".encode() for key in ATTACK_KEYS}
    for key, body in bodies.items():
        alpha.put(key, body)
        _beta_untouched(beta)
    for key, body in bodies.items():
        assert alpha.get(key) == body, key
        head = alpha.req("HEAD", key)
        assert head.status == 200 and int(head.headers["content-length"]) == len(body), key
    assert alpha.keys() == sorted(bodies)

    # CopyObject from an attack key to another, and a multipart upload of one.
    src = urllib.parse.quote(f"{ALPHA}/{ATTACK_KEYS[0]}", safe="/").replace(".", "%2E")
    r = alpha.req("PUT", COPY_DST, headers={"x-amz-copy-source": src})
    assert r.status == 200 and b"<Error>" not in r.body, (r.status, r.body[:300])
    assert alpha.get(COPY_DST) == bodies[ATTACK_KEYS[0]]
    mp_body = b"multipart body " * 1000
    alpha.multipart(MULTIPART_KEY, mp_body)
    assert alpha.get(MULTIPART_KEY) == mp_body
    assert alpha.keys() == sorted([*bodies, COPY_DST, MULTIPART_KEY])
    _beta_untouched(beta)

    # On the provider: only `alpha/` and `beta/` names, none a provider could normalise.
    names = _backend_names(kind, backend)
    if kind != "local":
        expected = [h.backend_name(ALPHA, k) for k in [*bodies, COPY_DST, MULTIPART_KEY]]
        assert sorted(names) == sorted([*expected, f"{BETA}/{SECRET_KEY}"])
        assert h.backend_name(ALPHA, "../beta/secret.txt") == "alpha/~2E~2E/beta/secret.txt"
        _assert_nothing_to_normalise(names)

    # Deleting alpha's keys (one by one and in a batch) leaves beta's object alone.
    for key in ATTACK_KEYS[:5]:
        r = alpha.req("DELETE", key)
        assert r.status == 204, (key, r.status, r.body[:300])
        assert alpha.req("GET", key).status == 404, key
    rest = [*ATTACK_KEYS[5:], COPY_DST, MULTIPART_KEY]
    client = alpha.orch.client(alpha.cred)
    out = client.delete_objects(Bucket=ALPHA, Delete={"Objects": [{"Key": k} for k in rest]})
    assert sorted(d["Key"] for d in out.get("Deleted", [])) == sorted(rest), out
    assert alpha.keys() == []
    _beta_untouched(beta)


def test_keys_that_are_dot_segments(tenants):
    kind, backend, alpha, beta = tenants
    beta.put(SECRET_KEY, SECRET_BODY)
    for key in DOT_KEYS:
        alpha.put(key, key.encode())
    for key in DOT_KEYS:
        assert alpha.get(key) == key.encode(), key
    assert alpha.keys() == sorted(DOT_KEYS)
    _beta_untouched(beta)
    _assert_nothing_to_normalise(_backend_names(kind, backend))
    for key in DOT_KEYS:
        assert alpha.req("DELETE", key).status == 204, key
    assert alpha.keys() == []
    _beta_untouched(beta)


def test_beta_cannot_be_overwritten_or_deleted_through_alpha(tenants):
    """The attack of the issue: alpha overwrites then deletes `../beta/secret.txt`; beta's object stays."""
    _, _, alpha, beta = tenants
    beta.put(SECRET_KEY, SECRET_BODY)
    alpha.put("../beta/secret.txt", b"overwritten by alpha")
    alpha.put("%2e%2e/beta/secret.txt", b"overwritten by alpha, encoded")
    _beta_untouched(beta)
    assert alpha.req("DELETE", "../beta/secret.txt").status == 204
    assert alpha.req("DELETE", "%2e%2e/beta/secret.txt").status == 204
    _beta_untouched(beta)
    assert alpha.keys() == []


def test_boto3_sends_dot_segments_verbatim_and_they_work(tenants):
    """boto3 (1.43) puts `..` and `//` in the URL as they are (no client-side normalisation): the same keys."""
    _, _, alpha, beta = tenants
    beta.put(SECRET_KEY, SECRET_BODY)
    client = alpha.orch.client(alpha.cred)
    for key in ["../beta/secret.txt", "./x", "a//b"]:
        client.put_object(Bucket=ALPHA, Key=key, Body=key.encode())
        assert client.get_object(Bucket=ALPHA, Key=key)["Body"].read() == key.encode()
    assert alpha.keys() == sorted(["../beta/secret.txt", "./x", "a//b"])
    _beta_untouched(beta)
    for key in ["../beta/secret.txt", "./x", "a//b"]:
        client.delete_object(Bucket=ALPHA, Key=key)
    assert alpha.keys() == []
    _beta_untouched(beta)


def test_ordinary_keys_keep_their_names_on_the_provider(tenants):
    kind, backend, alpha, _ = tenants
    # (No `dir/` folder marker: rclone serve s3 keeps objects as files and refuses one with a body.)
    keys = ["dir/file.txt", "a.b/c..d/...", ".hidden", "photos/IMG 0001.jpg"]
    for key in keys:
        alpha.put(key, key.encode())
    assert alpha.keys() == sorted(keys)
    if kind == "local":
        return
    assert sorted(_backend_names(kind, backend)) == sorted(f"{ALPHA}/{k}" for k in keys)
