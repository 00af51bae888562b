"""Buckets and permissions through real clients: CreateBucket/DeleteBucket with the aws CLI (`s3 mb`/`rb`),
rclone (`mkdir`/`rmdir`) and boto3, admin credentials, a read-only credential, the bucket sub-resources
clients probe (ACLs, policy, lifecycle, encryption, CORS) and ListObjectVersions as backup tools use it.

One orchestrator per module (`routing_strategy: spread`, `replication.factor: 1`) in front of an
`rclone serve s3` backend and a local directory, with one configured bucket (a read-write and a
read-only credential) and two admin credentials; a second orchestrator of its own for kill -9 and reload.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import botocore.config
import botocore.exceptions
import pytest

import harness as h

CFG = "bk-config"
#: How long a SIGHUP reload may take to show in the log.
RELOAD_TIMEOUT_S = 10.0


@dataclass
class Bk:
    orch: h.Orchestrator
    rw: h.Credential
    ro: h.Credential
    admin: h.Credential
    admin2: h.Credential
    #: An admin credential used by the "Done when" test alone: a fresh user.
    fresh: h.Credential


def _config(backends, rw, ro, admins) -> dict:
    cfg = h.orchestrator_config(
        backends=backends,
        buckets=[h.VirtualBucket(CFG, [rw, ro])],
        routing_strategy="spread",
        replication_factor=1,
        extra={
            "admin_credentials": [
                {"access_key_id": a.access_key, "secret_access_key": a.secret_key} for a in admins
            ]
        },
    )
    cfg["buckets"][0]["credentials"][1]["permissions"] = ["read", "list"]
    return cfg


@pytest.fixture(scope="module")
def bk(make_orchestrator, tmp_path_factory, rclone_backend):
    rw, ro = h.Credential.random("BKRW"), h.Credential.random("BKRO")
    admin, admin2, fresh = (h.Credential.random(p) for p in ("BKADM", "BKADMB", "BKNEW"))
    local_root = tmp_path_factory.mktemp("bk-local") / "disk"
    cfg = _config(
        [rclone_backend.config_entry(), h.local_backend_entry("local", local_root)], rw, ro, [admin, admin2, fresh]
    )
    orch = make_orchestrator(cfg, name="buckets")
    yield Bk(orch, rw, ro, admin, admin2, fresh)
    orch.stop()


def _err(exc: botocore.exceptions.ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]


def _client_error(fn, *args, **kw) -> tuple[int, str]:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        fn(*args, **kw)
    return _err(ei.value)


def _bucket_names(client) -> list[str]:
    return [b["Name"] for b in client.list_buckets()["Buckets"]]


def _unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def test_aws_s3_mb_and_rb(bk: Bk, workdir: Path) -> None:
    aws = bk.orch.aws(bk.admin)
    name = _unique("aws-mb")
    out = aws.run("s3", "mb", f"s3://{name}").stdout
    assert f"make_bucket: {name}" in out, out
    assert name in aws.run("s3", "ls").stdout.split()
    f = workdir / "one.txt"
    f.write_bytes(b"one object")
    aws.run("s3", "cp", str(f), f"s3://{name}/dir/one.txt")
    aws.run("s3", "cp", str(f), f"s3://{name}/two.txt")

    # Not empty: rb refuses with BucketNotEmpty and the bucket stays.
    res = aws.run("s3", "rb", f"s3://{name}", check=False)
    assert res.returncode != 0 and "BucketNotEmpty" in res.stderr, (res.returncode, res.stderr)
    assert name in aws.run("s3", "ls").stdout.split()

    out = aws.run("s3", "rm", "--recursive", f"s3://{name}").stdout
    assert out.count("delete:") == 2, out
    out = aws.run("s3", "rb", f"s3://{name}").stdout
    assert f"remove_bucket: {name}" in out, out
    assert name not in aws.run("s3", "ls").stdout.split()
    assert _client_error(bk.orch.client(bk.admin).head_bucket, Bucket=name) == (404, "404")

    # A second mb of an existing bucket fails.
    aws.run("s3", "mb", f"s3://{name}")
    res = aws.run("s3", "mb", f"s3://{name}", check=False)
    assert res.returncode != 0 and "BucketAlreadyOwnedByYou" in res.stderr, res.stderr
    aws.run("s3", "rb", f"s3://{name}")


def test_done_when_fresh_admin_user_round_trip(bk: Bk, workdir: Path) -> None:
    """The issue's "Done when": mb, upload, list, rm --recursive, rb; aws CLI only, no config edit."""
    aws = bk.orch.aws(bk.fresh)
    assert aws.run("s3", "ls").stdout.strip() == ""  # a fresh user owns nothing yet
    aws.run("s3", "mb", "s3://new-bucket")
    src = workdir / "upload"
    (src / "sub").mkdir(parents=True)
    files = {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256)) * 40, "sub/c.txt": b""}
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    aws.run("s3", "cp", "--recursive", str(src), "s3://new-bucket/up/")
    listing = aws.run("s3", "ls", "--recursive", "s3://new-bucket/").stdout
    listed = sorted(line.split()[-1] for line in listing.splitlines() if line.strip())
    assert listed == sorted(f"up/{k}" for k in files), listing
    sizes = {line.split()[-1]: int(line.split()[2]) for line in listing.splitlines() if line.strip()}
    assert sizes == {f"up/{k}": len(v) for k, v in files.items()}
    down = workdir / "down"
    aws.run("s3", "cp", "--recursive", "s3://new-bucket/up/", str(down))
    for rel, data in files.items():
        assert (down / rel).read_bytes() == data, rel
    aws.run("s3", "rm", "--recursive", "s3://new-bucket/")
    assert aws.run("s3", "ls", "--recursive", "s3://new-bucket/", check=False).stdout.strip() == ""
    aws.run("s3", "rb", "s3://new-bucket")
    assert "new-bucket" not in aws.run("s3", "ls").stdout


def test_rclone_mkdir_and_rmdir(bk: Bk, workdir: Path) -> None:
    rc = bk.orch.rclone(bk.admin)
    name = _unique("rc-mkdir")
    rc.run("mkdir", rc.path(name))
    lsd = rc.run("lsd", f"{rc.remote}:").stdout
    assert name in lsd.split(), lsd
    f = workdir / "r.txt"
    f.write_bytes(b"through rclone")
    rc.run("copyto", str(f), rc.path(name, "k/r.txt"))
    assert rc.run("cat", rc.path(name, "k/r.txt")).stdout == "through rclone"
    # rmdir refuses a non-empty bucket (the orchestrator or rclone itself; either way it stays).
    assert rc.run("rmdir", rc.path(name), check=False).returncode != 0
    assert name in rc.run("lsd", f"{rc.remote}:").stdout.split()
    rc.run("deletefile", rc.path(name, "k/r.txt"))
    rc.run("rmdir", rc.path(name))
    assert name not in rc.run("lsd", f"{rc.remote}:").stdout.split()
    assert _client_error(bk.orch.client(bk.admin).head_bucket, Bucket=name) == (404, "404")


def test_boto3_create_and_delete_bucket(bk: Bk) -> None:
    c, c2 = bk.orch.client(bk.admin), bk.orch.client(bk.admin2)
    name = _unique("boto-mk")
    resp = c.create_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp.get("Location") == f"/{name}", resp
    assert name in _bucket_names(c)
    assert name not in _bucket_names(c2)
    c.head_bucket(Bucket=name)
    assert c.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    # A LocationConstraint document is accepted too.
    other = _unique("boto-loc")
    c.create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    c.delete_bucket(Bucket=other)

    assert _client_error(c.create_bucket, Bucket=name) == (409, "BucketAlreadyOwnedByYou")
    assert _client_error(c2.create_bucket, Bucket=name) == (409, "BucketAlreadyExists")
    # Another admin can neither use nor delete it.
    assert _client_error(c2.put_object, Bucket=name, Key="k", Body=b"x") == (403, "AccessDenied")
    assert _client_error(c2.delete_bucket, Bucket=name) == (403, "AccessDenied")
    # A bucket credential may not create buckets; a configured bucket exists already.
    rw = bk.orch.client(bk.rw)
    assert _client_error(rw.create_bucket, Bucket=_unique("by-rw")) == (403, "AccessDenied")
    assert _client_error(rw.create_bucket, Bucket=CFG) == (409, "BucketAlreadyOwnedByYou")
    assert _client_error(c.create_bucket, Bucket=CFG) == (409, "BucketAlreadyExists")
    assert _client_error(c.delete_bucket, Bucket=CFG) == (403, "AccessDenied")

    c.put_object(Bucket=name, Key="k", Body=b"x")
    assert _client_error(c.delete_bucket, Bucket=name) == (409, "BucketNotEmpty")
    c.delete_object(Bucket=name, Key="k")
    resp = c.delete_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _client_error(c.head_bucket, Bucket=name) == (404, "404")
    assert _client_error(c.delete_bucket, Bucket=name) == (404, "NoSuchBucket")
    assert name not in _bucket_names(c)


INVALID_NAMES = [
    "UpperCase",
    "under_score",
    "ab",
    "a" * 64,
    "192.168.1.7",
    ".leading-dot",
    "trailing-dot.",
    "-leading-hyphen",
    "trailing-hyphen-",
    "double..dot",
]


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_bucket_names_are_refused(bk: Bk, name: str) -> None:
    c = bk.orch.client(bk.admin)
    assert _client_error(c.create_bucket, Bucket=name) == (400, "InvalidBucketName")
    assert name not in _bucket_names(c)


def test_valid_edge_names_are_accepted(bk: Bk) -> None:
    c = bk.orch.client(bk.admin)
    for name in ["a" * 63, "abc", "dotted.name-" + secrets.token_hex(2)]:
        c.create_bucket(Bucket=name)
        c.delete_bucket(Bucket=name)


def test_read_only_credential(bk: Bk, workdir: Path) -> None:
    rw, ro = bk.orch.client(bk.rw), bk.orch.client(bk.ro)
    rw.put_object(Bucket=CFG, Key="ro/existing.txt", Body=b"readable")
    # boto3: GET, HEAD and LIST work...
    assert ro.get_object(Bucket=CFG, Key="ro/existing.txt")["Body"].read() == b"readable"
    assert ro.head_object(Bucket=CFG, Key="ro/existing.txt")["ContentLength"] == 8
    keys = [o["Key"] for o in ro.list_objects_v2(Bucket=CFG, Prefix="ro/").get("Contents", [])]
    assert keys == ["ro/existing.txt"]
    assert _bucket_names(ro) == [CFG]
    # ...PUT, DELETE, multipart and copy do not.
    assert _client_error(ro.put_object, Bucket=CFG, Key="ro/new.txt", Body=b"no") == (403, "AccessDenied")
    assert _client_error(ro.put_object, Bucket=CFG, Key="ro/existing.txt", Body=b"no") == (403, "AccessDenied")
    assert _client_error(ro.delete_object, Bucket=CFG, Key="ro/existing.txt") == (403, "AccessDenied")
    assert _client_error(
        ro.delete_objects, Bucket=CFG, Delete={"Objects": [{"Key": "ro/existing.txt"}]}
    ) == (403, "AccessDenied")
    assert _client_error(ro.create_multipart_upload, Bucket=CFG, Key="ro/mpu") == (403, "AccessDenied")
    assert _client_error(
        ro.copy_object, Bucket=CFG, Key="ro/copy", CopySource={"Bucket": CFG, "Key": "ro/existing.txt"}
    ) == (403, "AccessDenied")

    # aws CLI: cp down and ls work; cp up, rm and rm --recursive are refused.
    aws = bk.orch.aws(bk.ro)
    down = workdir / "down.txt"
    aws.run("s3", "cp", f"s3://{CFG}/ro/existing.txt", str(down))
    assert down.read_bytes() == b"readable"
    assert "ro/existing.txt" in aws.run("s3", "ls", "--recursive", f"s3://{CFG}/ro/").stdout
    up = workdir / "up.txt"
    up.write_bytes(b"refused")
    res = aws.run("s3", "cp", str(up), f"s3://{CFG}/ro/up.txt", check=False)
    assert res.returncode != 0 and "AccessDenied" in res.stderr, res.stderr
    res = aws.run("s3", "rm", f"s3://{CFG}/ro/existing.txt", check=False)
    assert res.returncode != 0 and "AccessDenied" in res.stderr, res.stderr
    res = aws.run("s3api", "put-object", "--bucket", CFG, "--key", "ro/api.txt", "--body", str(up), check=False)
    assert res.returncode != 0 and "AccessDenied" in res.stderr, res.stderr

    # Nothing changed.
    assert rw.get_object(Bucket=CFG, Key="ro/existing.txt")["Body"].read() == b"readable"
    keys = [o["Key"] for o in rw.list_objects_v2(Bucket=CFG, Prefix="ro/").get("Contents", [])]
    assert keys == ["ro/existing.txt"]


def _full_control_only(acl: dict) -> None:
    owner = acl["Owner"]["ID"]
    assert owner, acl
    grants = acl["Grants"]
    assert len(grants) == 1, grants
    assert grants[0]["Permission"] == "FULL_CONTROL"
    assert grants[0]["Grantee"]["Type"] == "CanonicalUser"
    assert grants[0]["Grantee"]["ID"] == owner


@pytest.mark.parametrize("which", ["config", "api"])
def test_acls_give_the_owner_full_control(bk: Bk, which: str) -> None:
    if which == "config":
        c, bucket = bk.orch.client(bk.rw), CFG
    else:
        c, bucket = bk.orch.client(bk.admin), _unique("acl")
        c.create_bucket(Bucket=bucket)
    c.put_object(Bucket=bucket, Key="acl/obj", Body=b"acl")
    _full_control_only(c.get_bucket_acl(Bucket=bucket))
    _full_control_only(c.get_object_acl(Bucket=bucket, Key="acl/obj"))
    assert _client_error(c.get_object_acl, Bucket=bucket, Key="acl/missing") == (404, "NoSuchKey")
    # The read-only credential may read the ACLs of its bucket too.
    if which == "config":
        _full_control_only(bk.orch.client(bk.ro).get_bucket_acl(Bucket=bucket))
    aws = bk.orch.aws(bk.rw if which == "config" else bk.admin)
    acl = aws.json("s3api", "get-bucket-acl", "--bucket", bucket)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    c.delete_object(Bucket=bucket, Key="acl/obj")
    if which == "api":
        c.delete_bucket(Bucket=bucket)


NOT_CONFIGURED = [
    ("get_bucket_policy", "get-bucket-policy", "NoSuchBucketPolicy"),
    ("get_bucket_lifecycle_configuration", "get-bucket-lifecycle-configuration", "NoSuchLifecycleConfiguration"),
    ("get_bucket_encryption", "get-bucket-encryption", "ServerSideEncryptionConfigurationNotFoundError"),
    ("get_bucket_cors", "get-bucket-cors", "NoSuchCORSConfiguration"),
]


@pytest.mark.parametrize("method,cli,code", NOT_CONFIGURED, ids=[c for _, _, c in NOT_CONFIGURED])
def test_not_configured_subresources_are_404(bk: Bk, method: str, cli: str, code: str) -> None:
    c = bk.orch.client(bk.rw)
    assert _client_error(getattr(c, method), Bucket=CFG) == (404, code)
    res = bk.orch.aws(bk.rw).run("s3api", cli, "--bucket", CFG, check=False)
    assert res.returncode != 0 and code in res.stderr, res.stderr
    # The older lifecycle call (GET ?lifecycle, same answer).
    if method == "get_bucket_lifecycle_configuration":
        assert _client_error(c.get_bucket_lifecycle, Bucket=CFG) == (404, code)
    # Versioning is "never enabled": no Status.
    v = c.get_bucket_versioning(Bucket=CFG)
    assert "Status" not in v and "MFADelete" not in v, v


def test_list_object_versions_and_emptying_like_backup_tools(bk: Bk) -> None:
    c = bk.orch.client(bk.admin)
    bucket = _unique("versions")
    c.create_bucket(Bucket=bucket)
    bodies = {f"v/{i:02d}": bytes([i]) * (i + 1) for i in range(7)}
    bodies["top"] = b"top level"
    etags = {k: c.put_object(Bucket=bucket, Key=k, Body=v)["ETag"] for k, v in bodies.items()}

    resp = c.list_object_versions(Bucket=bucket)
    versions = resp["Versions"]
    assert [v["Key"] for v in versions] == sorted(bodies)
    for v in versions:
        assert v["VersionId"] == "null" and v["IsLatest"] is True, v
        assert v["Size"] == len(bodies[v["Key"]]) and v["ETag"] == etags[v["Key"]], v
    assert "DeleteMarkers" not in resp and resp["IsTruncated"] is False

    # Paginated, with a prefix and a delimiter.
    pages = list(c.get_paginator("list_object_versions").paginate(Bucket=bucket, PaginationConfig={"PageSize": 3}))
    assert len(pages) == 3
    assert [v["Key"] for p in pages for v in p.get("Versions", [])] == sorted(bodies)
    resp = c.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [v["Key"] for v in resp["Versions"]] == ["top"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["v/"]

    # Fetching and deleting "the null version" works as for the object.
    assert c.get_object(Bucket=bucket, Key="top", VersionId="null")["Body"].read() == b"top level"
    c.delete_object(Bucket=bucket, Key="top", VersionId="null")
    assert _client_error(c.head_object, Bucket=bucket, Key="top") == (404, "404")

    # A version id other than null names no version: refused, and the object stays.
    bogus = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    assert _client_error(c.delete_object, Bucket=bucket, Key="v/00", VersionId=bogus) == (400, "InvalidArgument")
    out = c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "v/00", "VersionId": bogus}]})
    assert [e["Code"] for e in out.get("Errors", [])] == ["InvalidArgument"] and not out.get("Deleted"), out
    assert _client_error(c.get_object, Bucket=bucket, Key="v/00", VersionId=bogus) == (400, "InvalidArgument")
    assert c.get_object(Bucket=bucket, Key="v/00")["Body"].read() == bodies["v/00"]

    # A backup tool empties a bucket by listing versions and deleting each with its VersionId.
    for v in c.list_object_versions(Bucket=bucket, Prefix="v/0")["Versions"][:3]:
        c.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
    # boto3's resource API: object_versions.delete() = ListObjectVersions + DeleteObjects with VersionId.
    import boto3  # noqa: PLC0415 (only this test needs the resource API)

    session = boto3.session.Session(
        aws_access_key_id=bk.admin.access_key, aws_secret_access_key=bk.admin.secret_key, region_name=h.REGION
    )
    res = session.resource(
        "s3", endpoint_url=bk.orch.endpoint, config=botocore.config.Config(s3={"addressing_style": "path"})
    )
    out = res.Bucket(bucket).object_versions.delete()
    deleted = [d["Key"] for r in out for d in r.get("Deleted", [])]
    assert sorted(deleted) == sorted(k for k in bodies if k.startswith("v/"))[3:], out
    assert all(not r.get("Errors") for r in out), out
    assert "Versions" not in c.list_object_versions(Bucket=bucket)
    c.delete_bucket(Bucket=bucket)


def test_buckets_survive_kill9_and_reload(make_orchestrator, tmp_path_factory, rclone_backend) -> None:
    rw, ro, admin = h.Credential.random("DRW"), h.Credential.random("DRO"), h.Credential.random("DADM")
    local_root = tmp_path_factory.mktemp("bk-dur-local") / "disk"
    cfg = _config([rclone_backend.config_entry(), h.local_backend_entry("local", local_root)], rw, ro, [admin])
    orch = make_orchestrator(cfg, name="buckets-dur")
    try:
        c = orch.client(admin)
        names = [_unique("dur-a"), _unique("dur-b")]
        bodies = {f"obj/{i}": secrets.token_bytes(100 + i * 997) for i in range(6)}
        for n in names:
            c.create_bucket(Bucket=n)
            for k, v in bodies.items():
                c.put_object(Bucket=n, Key=k, Body=v)
        c.delete_object(Bucket=names[1], Key="obj/0")
        gone = _unique("dur-gone")
        c.create_bucket(Bucket=gone)
        c.delete_bucket(Bucket=gone)

        def check() -> None:
            c = orch.client(admin)
            assert sorted(_bucket_names(c)) == sorted(names)
            for n in names:
                want = {k: v for k, v in bodies.items() if not (n == names[1] and k == "obj/0")}
                listed = [o["Key"] for o in c.list_objects_v2(Bucket=n).get("Contents", [])]
                assert listed == sorted(want), (n, listed)
                for k, v in want.items():
                    assert c.get_object(Bucket=n, Key=k)["Body"].read() == v, (n, k)
            assert _client_error(c.head_bucket, Bucket=gone) == (404, "404")
            assert _client_error(c.create_bucket, Bucket=names[0]) == (409, "BucketAlreadyOwnedByYou")

        orch.kill9()  # right after the last acknowledgement
        orch.start()
        check()

        # SIGHUP with a changed config (one more configured bucket): API buckets stay.
        before = orch.log_text().count("config reloaded")
        cfg2 = dict(orch.config)
        cfg2["buckets"] = orch.config["buckets"] + [
            {"name": "dur-added", "credentials": [{"access_key_id": rw.access_key, "secret_access_key": rw.secret_key}]}
        ]
        orch.write_config(cfg2)
        orch.reload()
        h.wait_until(
            lambda: orch.log_text().count("config reloaded") > before,
            RELOAD_TIMEOUT_S,
            "the reload to be logged",
            orch.proc,
        )
        check()
        assert "dur-added" in _bucket_names(orch.client(rw))
        # And a graceful restart after the reload.
        orch.restart()
        check()
    finally:
        orch.stop()
