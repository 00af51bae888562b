"""Orphaned buckets (#13, tenant isolation): a bucket's objects must never change hands by a config
change alone.

- A config bucket taken out of the config: an admin credential's CreateBucket of its name is refused
  (409 BucketAlreadyExists), its objects are unreachable for everyone, startup/reload warn about it,
  `GET /admin/orphans` lists it, a purge removes its objects and uploads from the backend (and frees
  the name), a re-bind to a credential restores access.
- The reverse: an API bucket whose name later appears in the config is handed to nobody (not to the
  config's credentials, not to its creator) until an operator re-binds it to the config.

One orchestrator per test in front of a local-directory backend (its files are checked directly),
with `ui` admin credentials and a bearer token configured, sent explicitly on every admin request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

import botocore.exceptions

import harness as h

#: How long a SIGHUP reload (and its orphan report) may take to show in the log.
RELOAD_TIMEOUT_S = 10.0
#: How long the background cleanup queue may take to delete purged copies from the backend.
CLEANUP_TIMEOUT_S = 20.0

UI_KEY, UI_SECRET, UI_TOKEN = "orph-admin", "orph-admin-secret-" + secrets.token_hex(8), secrets.token_hex(16)


def _config(local_root: Path, buckets: list[h.VirtualBucket], admin: h.Credential) -> dict:
    return h.orchestrator_config(
        backends=[h.local_backend_entry("disk", local_root)],
        buckets=buckets,
        replication_factor=1,
        extra={
            "admin_credentials": [{"access_key_id": admin.access_key, "secret_access_key": admin.secret_key}],
            "ui": {"admin_key": UI_KEY, "admin_secret": UI_SECRET, "admin_token": UI_TOKEN},
        },
    )


def _admin(orch: h.Orchestrator, method: str, path: str) -> h.RawResponse:
    headers = {"Authorization": f"Bearer {UI_TOKEN}", "X-Requested-With": "s3-orchestrator"}
    return h.http_request(method, orch.admin + path, headers=headers)


def _orphans(orch: h.Orchestrator) -> dict[str, dict]:
    r = _admin(orch, "GET", "/admin/orphans")
    assert r.status == 200, (r.status, r.body)
    return {o["bucket"]: o for o in json.loads(r.body)["orphans"]}


def _err(fn, *args, **kw) -> tuple[int, str]:
    try:
        fn(*args, **kw)
    except botocore.exceptions.ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    raise AssertionError(f"{fn.__name__} succeeded; expected it to be refused")


def _reports(orch: h.Orchestrator, since: int = 0) -> list[dict]:
    """The orphan warnings (their JSON `fields`) in the log after character `since`."""
    out = []
    for line in orch.log_text()[since:].splitlines():
        if "has no owner" not in line:
            continue
        try:
            out.append(json.loads(line)["fields"])
        except (ValueError, KeyError):
            out.append({"line": line})
    return out


def _reload(orch: h.Orchestrator, cfg: dict) -> int:
    """Rewrites the config (same listeners and catalog), SIGHUPs and waits until the reload is logged;
    returns the log offset before it (for `_wait_report`)."""
    before = len(orch.log_text())
    cfg = {**cfg, "server": orch.config["server"], "catalog": orch.config["catalog"]}
    orch.write_config(cfg)
    orch.reload()
    h.wait_until(lambda: "config reloaded" in orch.log_text()[before:], RELOAD_TIMEOUT_S, "the reload", orch.proc)
    return before


def _wait_report(orch: h.Orchestrator, since: int, buckets: set[str]) -> dict[str, dict]:
    """Waits until the orphan report after log offset `since` names every bucket in `buckets`."""
    h.wait_until(
        lambda: buckets <= {f.get("bucket") for f in _reports(orch, since)},
        RELOAD_TIMEOUT_S,
        f"an orphan report naming {sorted(buckets)}",
        orch.proc,
    )
    return {f.get("bucket"): f for f in _reports(orch, since)}


def _copy_path(orch: h.Orchestrator, root: Path, bucket: str, key: str) -> Path:
    """The local backend's file for `bucket/key` (objects/<sha256(backend key)>), from the admin API."""
    r = _admin(orch, "GET", f"/admin/object?bucket={bucket}&key={key}")
    assert r.status == 200, (r.status, r.body)
    (copy,) = json.loads(r.body)["copies"]
    digest = hashlib.sha256(copy["backend_key"].encode()).hexdigest()
    path = root / "objects" / digest[:2] / digest
    assert path.is_file(), path
    return path


def test_removed_config_bucket_cannot_be_claimed(make_orchestrator, tmp_path_factory) -> None:
    a, b, admin = h.Credential.random("ORA"), h.Credential.random("ORB"), h.Credential.random("ORADM")
    root = tmp_path_factory.mktemp("orphans-removed") / "disk"
    buckets = [h.VirtualBucket("alpha", [a]), h.VirtualBucket("beta", [b]), h.VirtualBucket("gamma", [b])]
    orch = make_orchestrator(_config(root, buckets, admin), name="orphans-removed")
    try:
        cb = orch.client(b)
        secret = secrets.token_bytes(3000)
        cb.put_object(Bucket="beta", Key="secret.txt", Body=secret)
        cb.put_object(Bucket="beta", Key="other.txt", Body=b"x")
        for i in range(3):
            cb.put_object(Bucket="gamma", Key=f"g/{i}", Body=secrets.token_bytes(500))
        upload = cb.create_multipart_upload(Bucket="gamma", Key="big")["UploadId"]
        cb.upload_part(Bucket="gamma", Key="big", UploadId=upload, PartNumber=1, Body=b"part-one")
        gamma_files = [_copy_path(orch, root, "gamma", f"g/{i}") for i in range(3)]
        assert any((root / "multipart").iterdir())

        # beta and gamma leave the config: the reload names them as orphans.
        since = _reload(orch, _config(root, buckets[:1], admin))

        ca = orch.client(admin)
        # The claim of #13: on main this CreateBucket succeeds and the GET below returns the secret.
        assert _err(ca.create_bucket, Bucket="beta") == (409, "BucketAlreadyExists")
        assert _err(ca.create_bucket, Bucket="gamma") == (409, "BucketAlreadyExists")
        report = _wait_report(orch, since, {"beta", "gamma"})
        assert (report["beta"]["objects"], report["gamma"]["objects"], report["gamma"]["uploads"]) == (2, 3, 1)
        # Unreachable for everyone, including the credential that wrote it.
        for c in (ca, cb, orch.client(a)):
            assert _err(c.get_object, Bucket="beta", Key="secret.txt")[0] in (403, 404)
            assert _err(c.list_objects_v2, Bucket="beta")[0] in (403, 404)
            assert _err(c.put_object, Bucket="beta", Key="new", Body=b"y")[0] in (403, 404)
        assert "beta" not in [x["Name"] for x in ca.list_buckets()["Buckets"]]

        orphans = _orphans(orch)
        assert set(orphans) == {"beta", "gamma"}, orphans
        assert orphans["beta"]["reason"] == "no_owner"
        assert (orphans["beta"]["objects"], orphans["beta"]["bytes"]) == (2, 3001)
        assert (orphans["gamma"]["objects"], orphans["gamma"]["uploads"]) == (3, 1)

        # Changing requests need the admin credentials, as /admin/reload does.
        assert (
            h.http_request(
                "POST", orch.admin + "/admin/orphans/purge?bucket=gamma", headers=h.ADMIN_CSRF_HEADER
            ).status
            == 401
        )
        assert _admin(orch, "POST", "/admin/orphans/purge?bucket=alpha").status == 404  # not orphaned
        assert _admin(orch, "POST", "/admin/orphans/rebind?bucket=beta&to=config").status == 409

        # Purge gamma: its copies and its upload leave the backend, and the name is free again.
        r = _admin(orch, "POST", "/admin/orphans/purge?bucket=gamma")
        assert r.status == 200, (r.status, r.body)
        purged = json.loads(r.body)
        assert (purged["objects_deleted"], purged["uploads_aborted"], purged["done"]) == (3, 1, True)
        h.wait_until(
            lambda: not any(p.exists() for p in gamma_files),
            CLEANUP_TIMEOUT_S,
            "the purged copies to be deleted from the backend",
            orch.proc,
        )
        assert not any((root / "multipart").iterdir())
        assert set(_orphans(orch)) == {"beta"}
        ca.create_bucket(Bucket="gamma")
        assert ca.list_objects_v2(Bucket="gamma").get("KeyCount", 0) == 0

        # Re-bind beta to the admin credential: its objects are reachable again, by it alone.
        r = _admin(orch, "POST", f"/admin/orphans/rebind?bucket=beta&owner={admin.access_key}")
        assert r.status == 200, (r.status, r.body)
        assert ca.get_object(Bucket="beta", Key="secret.txt")["Body"].read() == secret
        assert _err(cb.get_object, Bucket="beta", Key="secret.txt")[0] in (403, 404)
        assert _orphans(orch) == {}

        # And it stays so across a restart (the decision is in the catalog).
        orch.restart()
        assert orch.client(admin).get_object(Bucket="beta", Key="secret.txt")["Body"].read() == secret
    finally:
        orch.stop()


def test_api_bucket_named_later_in_config_is_nobodys(make_orchestrator, tmp_path_factory) -> None:
    a, admin = h.Credential.random("ORCA"), h.Credential.random("ORCADM")
    root = tmp_path_factory.mktemp("orphans-reverse") / "disk"
    buckets = [h.VirtualBucket("alpha", [a])]
    orch = make_orchestrator(_config(root, buckets, admin), name="orphans-reverse")
    try:
        ca = orch.client(admin)
        ca.create_bucket(Bucket="delta")
        body = secrets.token_bytes(1234)
        ca.put_object(Bucket="delta", Key="private.bin", Body=body)

        # The operator adds a config bucket of the same name for credential `a`.
        since = _reload(orch, _config(root, buckets + [h.VirtualBucket("delta", [a])], admin))
        cc = orch.client(a)
        # On main `a` reads the admin's object here.
        assert _err(cc.get_object, Bucket="delta", Key="private.bin") == (403, "AccessDenied")
        assert _wait_report(orch, since, {"delta"})["delta"]["reason"] == "ApiBucketInConfig"
        assert _err(cc.list_objects_v2, Bucket="delta") == (403, "AccessDenied")
        assert _err(cc.put_object, Bucket="delta", Key="x", Body=b"x") == (403, "AccessDenied")
        assert _err(ca.get_object, Bucket="delta", Key="private.bin")[0] in (403, 404)
        assert "delta" not in [x["Name"] for x in cc.list_buckets()["Buckets"]]
        orphans = _orphans(orch)
        assert orphans["delta"]["reason"] == "api_bucket_in_config", orphans
        assert orphans["delta"]["owner"] == admin.access_key
        assert orphans["delta"]["objects"] == 1

        # The startup report names it too.
        before = len(orch.log_text())
        orch.restart()
        _wait_report(orch, before, {"delta"})
        assert _err(orch.client(a).get_object, Bucket="delta", Key="private.bin") == (403, "AccessDenied")

        # Re-binding to a credential is refused while the config names the bucket; to the config works.
        assert _admin(orch, "POST", f"/admin/orphans/rebind?bucket=delta&owner={admin.access_key}").status == 409
        r = _admin(orch, "POST", "/admin/orphans/rebind?bucket=delta&to=config")
        assert r.status == 200, (r.status, r.body)
        assert orch.client(a).get_object(Bucket="delta", Key="private.bin")["Body"].read() == body
        assert _orphans(orch) == {}
    finally:
        orch.stop()
