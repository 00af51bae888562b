"""The data path through real clients: objects stored, listed, fetched, copied and deleted through the
orchestrator with the aws CLI (s3 and s3api), boto3 (managed transfers and direct calls), rclone and s3cmd.

One orchestrator per module (`routing_strategy: spread`, `replication.factor: 1`) in front of four
backends: SeaweedFS, two `rclone serve s3` instances and a local directory. Two virtual buckets share
one credential so copies across virtual buckets can be tested. Every body is checked by SHA-256, and
every written object is looked up on the backends themselves (`<virtual bucket>/<key>` in the backend's
bucket; for the local directory, its hashed file).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions
import pytest
from boto3.s3.transfer import TransferConfig

import harness as h

MAIN = "dp-main"
OTHER = "dp-other"
MiB = 1024 * 1024
#: Above the aws CLI's 8 MiB multipart threshold, so `aws s3 cp` uploads it in parts (8 MiB each).
CLI_MULTIPART_BYTES = 20 * MiB + 12345
#: S3's smallest non-final part.
MIN_PART_BYTES = 5 * MiB
#: boto3 managed transfer forced into threaded multipart: 5 MiB parts, four threads.
FORCED_MULTIPART = TransferConfig(
    multipart_threshold=MIN_PART_BYTES, multipart_chunksize=MIN_PART_BYTES, max_concurrency=4, use_threads=True
)


@dataclass
class Dp:
    orch: h.Orchestrator
    cred: h.Credential
    s3_backends: list[h.S3Backend]
    local_root: Path

    def client(self, **kw):
        return self.orch.client(self.cred, **kw)

    def aws(self) -> h.AwsCli:
        return self.orch.aws(self.cred)

    def placements(self, vbucket: str, key: str) -> list[str]:
        """Names of the backends that hold `vbucket/key`, asked of each backend directly."""
        found = []
        for b in self.s3_backends:
            try:
                b.client().head_object(Bucket=b.buckets[0], Key=h.backend_name(vbucket, key))
                found.append(b.name)
            except botocore.exceptions.ClientError as e:
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
        if h.local_object_path(self.local_root, vbucket, key).is_file():
            found.append("local")
        return found

    def backend_sha(self, vbucket: str, key: str) -> str:
        """SHA-256 of the one stored copy, read from its backend without the orchestrator."""
        where = self.placements(vbucket, key)
        assert len(where) == 1, f"{vbucket}/{key} is on {where}, expected exactly one backend (factor 1)"
        if where[0] == "local":
            return h.sha256_file(h.local_object_path(self.local_root, vbucket, key))
        b = next(b for b in self.s3_backends if b.name == where[0])
        return h.sha256_hex(b.client().get_object(Bucket=b.buckets[0], Key=h.backend_name(vbucket, key))["Body"].read())


@pytest.fixture(scope="module")
def dp(make_orchestrator, tmp_path_factory, seaweed_backend, rclone_backend, rclone2_backend):
    local_root = tmp_path_factory.mktemp("dp-local") / "disk"
    cred = h.Credential.random("DATA")
    s3_backends = [seaweed_backend, rclone_backend, rclone2_backend]
    cfg = h.orchestrator_config(
        backends=[b.config_entry() for b in s3_backends] + [h.local_backend_entry("local", local_root)],
        buckets=[h.VirtualBucket(MAIN, [cred]), h.VirtualBucket(OTHER, [cred])],
        routing_strategy="spread",
        replication_factor=1,
    )
    orch = make_orchestrator(cfg, name="dp")
    yield Dp(orch, cred, s3_backends, local_root)
    orch.stop()


def _err(exc: botocore.exceptions.ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response.get("Error", {}).get("Code", "")


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return h.sha256_hex(data)


def _get_sha(dp: Dp, bucket: str, key: str) -> str:
    return h.sha256_hex(dp.client().get_object(Bucket=bucket, Key=key)["Body"].read())


def _list_keys(dp: Dp, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in dp.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


# --------------------------------------------------------------------------------------------------------
# aws s3 (high level)
# --------------------------------------------------------------------------------------------------------


def test_aws_s3_cp_small_and_multipart(dp: Dp, workdir: Path) -> None:
    aws = dp.aws()
    small = workdir / "small.bin"
    big = workdir / "big.bin"
    small_sha = _write(small, os.urandom(100 * 1024))
    big_sha = _write(big, os.urandom(CLI_MULTIPART_BYTES))
    aws.run("s3", "cp", str(small), f"s3://{MAIN}/cli/small.bin")
    aws.run("s3", "cp", str(big), f"s3://{MAIN}/cli/big.bin")

    head = aws.json("s3api", "head-object", "--bucket", MAIN, "--key", "cli/big.bin")
    assert head["ContentLength"] == CLI_MULTIPART_BYTES
    assert head["ETag"].strip('"').endswith("-3"), head  # 8 + 8 + 4 MiB: the backend's own multipart ETag
    assert aws.json("s3api", "head-object", "--bucket", MAIN, "--key", "cli/small.bin")["ContentLength"] == 100 * 1024

    for name, sha in (("small.bin", small_sha), ("big.bin", big_sha)):
        out = workdir / f"out-{name}"
        aws.run("s3", "cp", f"s3://{MAIN}/cli/{name}", str(out))
        assert h.sha256_file(out) == sha, name
        assert dp.backend_sha(MAIN, f"cli/{name}") == sha, name


def test_aws_s3_sync_ls_and_rm_recursive(dp: Dp, workdir: Path) -> None:
    aws = dp.aws()
    src = workdir / "tree"
    shas = {}
    for rel in ("a.txt", "b/c.bin", "b/d/e.bin", "f g.txt", "h/i/j/k.txt", "l+m.txt"):
        shas[rel] = _write(src / rel, os.urandom(1000 + len(rel) * 777))
    aws.run("s3", "sync", str(src), f"s3://{MAIN}/sync/")
    assert sorted(_list_keys(dp, MAIN, "sync/")) == sorted(f"sync/{r}" for r in shas)

    listing = aws.run("s3", "ls", "--recursive", f"s3://{MAIN}/sync/").stdout
    listed = sorted(line.split(None, 3)[3] for line in listing.splitlines() if line.strip())
    assert listed == sorted(f"sync/{r}" for r in shas), listing
    top = aws.run("s3", "ls", f"s3://{MAIN}/sync/").stdout
    assert sorted(line.split()[-1] for line in top.splitlines() if "PRE" in line) == ["b/", "h/"], top

    # A second sync uploads nothing; a changed file and a new one are uploaded.
    again = aws.run("s3", "sync", str(src), f"s3://{MAIN}/sync/").stdout
    assert "upload:" not in again, again
    shas["a.txt"] = _write(src / "a.txt", os.urandom(4321))
    shas["new.txt"] = _write(src / "new.txt", b"new")
    again = aws.run("s3", "sync", str(src), f"s3://{MAIN}/sync/").stdout
    assert again.count("upload:") == 2, again

    dst = workdir / "down"
    aws.run("s3", "sync", f"s3://{MAIN}/sync/", str(dst))
    for rel, sha in shas.items():
        assert h.sha256_file(dst / rel) == sha, rel
        assert dp.backend_sha(MAIN, f"sync/{rel}") == sha, rel

    aws.run("s3", "rm", "--recursive", f"s3://{MAIN}/sync/")
    assert _list_keys(dp, MAIN, "sync/") == []
    assert aws.run("s3", "ls", f"s3://{MAIN}/sync/", check=False).stdout.strip() == ""
    for rel in shas:
        h.wait_until(lambda: not dp.placements(MAIN, f"sync/{rel}"), 30, f"sync/{rel} removed from its backend")


# --------------------------------------------------------------------------------------------------------
# aws s3api (low level)
# --------------------------------------------------------------------------------------------------------


def test_aws_s3api_put_head_get_range(dp: Dp, workdir: Path) -> None:
    aws = dp.aws()
    src = workdir / "obj.bin"
    data = os.urandom(50_000)
    _write(src, data)
    put = aws.json(
        "s3api", "put-object", "--bucket", MAIN, "--key", "api/obj.bin", "--body", str(src),
        "--content-type", "application/x-test", "--metadata", "color=blue,Owner=Alice",
        "--cache-control", "max-age=60", "--content-disposition", "attachment; filename=obj.bin",
    )  # fmt: skip
    assert put["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    head = aws.json("s3api", "head-object", "--bucket", MAIN, "--key", "api/obj.bin")
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "application/x-test"
    assert head["Metadata"] == {"color": "blue", "owner": "Alice"}
    assert head["CacheControl"] == "max-age=60"
    assert head["ContentDisposition"] == "attachment; filename=obj.bin"
    assert head["ETag"] == put["ETag"]

    out = workdir / "range.bin"
    got = aws.json("s3api", "get-object", "--bucket", MAIN, "--key", "api/obj.bin", "--range", "bytes=1000-1999", str(out))
    assert got["ContentLength"] == 1000
    assert got["ContentRange"] == f"bytes 1000-1999/{len(data)}"
    assert out.read_bytes() == data[1000:2000]
    assert dp.backend_sha(MAIN, "api/obj.bin") == h.sha256_hex(data)


def test_aws_s3api_list_objects_v2_pagination(dp: Dp) -> None:
    c = dp.client()
    keys = [f"page/{d}/{i:02d}" for d in ("x", "y") for i in range(5)] + ["page/top1", "page/top2"]
    for k in keys:
        c.put_object(Bucket=MAIN, Key=k, Body=k.encode())
    aws = dp.aws()
    # max-keys 3 over 12 keys: the CLI follows the continuation token itself with --page-size.
    out = aws.json("s3api", "list-objects-v2", "--bucket", MAIN, "--prefix", "page/", "--page-size", "3")
    assert [o["Key"] for o in out["Contents"]] == sorted(keys)
    # One page by hand: 3 keys, truncated, with a token that leads on.
    first = aws.json("s3api", "list-objects-v2", "--bucket", MAIN, "--prefix", "page/", "--max-keys", "3", "--no-paginate")
    assert first["IsTruncated"] is True and first["KeyCount"] == 3
    assert [o["Key"] for o in first["Contents"]] == sorted(keys)[:3]
    second = aws.json(
        "s3api", "list-objects-v2", "--bucket", MAIN, "--prefix", "page/", "--max-keys", "3", "--no-paginate",
        "--continuation-token", first["NextContinuationToken"],
    )  # fmt: skip
    assert [o["Key"] for o in second["Contents"]] == sorted(keys)[3:6]
    delim = aws.json("s3api", "list-objects-v2", "--bucket", MAIN, "--prefix", "page/", "--delimiter", "/")
    assert [p["Prefix"] for p in delim["CommonPrefixes"]] == ["page/x/", "page/y/"]
    assert [o["Key"] for o in delim["Contents"]] == ["page/top1", "page/top2"]


def test_aws_s3api_copy_object_within_and_across_buckets(dp: Dp, workdir: Path) -> None:
    c = dp.client()
    data = os.urandom(300_000)
    c.put_object(Bucket=MAIN, Key="copy/src.bin", Body=data, Metadata={"k": "v"}, ContentType="text/x-src")
    aws = dp.aws()
    for bucket, key in ((MAIN, "copy/dst-same.bin"), (OTHER, "copy/dst-other.bin")):
        res = aws.json("s3api", "copy-object", "--bucket", bucket, "--key", key, "--copy-source", f"{MAIN}/copy/src.bin")
        assert res["CopyObjectResult"]["ETag"].strip('"') == hashlib.md5(data).hexdigest()
        head = aws.json("s3api", "head-object", "--bucket", bucket, "--key", key)
        assert head["Metadata"] == {"k": "v"} and head["ContentType"] == "text/x-src"
        assert _get_sha(dp, bucket, key) == h.sha256_hex(data)
        assert dp.backend_sha(bucket, key) == h.sha256_hex(data)
    # The source is untouched.
    assert _get_sha(dp, MAIN, "copy/src.bin") == h.sha256_hex(data)


def test_aws_s3api_delete_objects(dp: Dp, workdir: Path) -> None:
    c = dp.client()
    keys = [f"del/{i}" for i in range(6)]
    for k in keys:
        c.put_object(Bucket=MAIN, Key=k, Body=k.encode())
    spec = workdir / "delete.json"
    spec.write_text(json.dumps({"Objects": [{"Key": k} for k in keys[:4] + ["del/never-existed"]], "Quiet": False}))
    res = dp.aws().json("s3api", "delete-objects", "--bucket", MAIN, "--delete", f"file://{spec}")
    assert sorted(d["Key"] for d in res["Deleted"]) == sorted(keys[:4] + ["del/never-existed"])
    assert not res.get("Errors")
    assert _list_keys(dp, MAIN, "del/") == keys[4:]
    # Quiet mode: nothing is reported for successes.
    spec.write_text(json.dumps({"Objects": [{"Key": k} for k in keys[4:]], "Quiet": True}))
    out = dp.aws().run("s3api", "delete-objects", "--bucket", MAIN, "--delete", f"file://{spec}", "--output", "json").stdout
    res = json.loads(out) if out.strip() else {}  # the CLI prints nothing for an empty result
    assert not res.get("Deleted") and not res.get("Errors"), res
    assert _list_keys(dp, MAIN, "del/") == []


def test_aws_s3api_multipart_lifecycle(dp: Dp, workdir: Path) -> None:
    aws = dp.aws()
    key = "mpu/assembled.bin"
    parts_data = [os.urandom(MIN_PART_BYTES), os.urandom(MIN_PART_BYTES), os.urandom(123_457)]
    upload = aws.json("s3api", "create-multipart-upload", "--bucket", MAIN, "--key", key, "--content-type", "x/mpu")
    uid = upload["UploadId"]
    aborted = aws.json("s3api", "create-multipart-upload", "--bucket", MAIN, "--key", "mpu/aborted.bin")["UploadId"]

    listed = aws.json("s3api", "list-multipart-uploads", "--bucket", MAIN, "--prefix", "mpu/")
    assert sorted((u["Key"], u["UploadId"]) for u in listed["Uploads"]) == sorted(
        [(key, uid), ("mpu/aborted.bin", aborted)]
    )

    etags = []
    for n, part in enumerate(parts_data, start=1):
        f = workdir / f"part{n}"
        f.write_bytes(part)
        res = aws.json("s3api", "upload-part", "--bucket", MAIN, "--key", key, "--upload-id", uid,
                       "--part-number", str(n), "--body", str(f))  # fmt: skip
        assert res["ETag"].strip('"') == hashlib.md5(part).hexdigest()
        etags.append(res["ETag"])
    lp = aws.json("s3api", "list-parts", "--bucket", MAIN, "--key", key, "--upload-id", uid)
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in lp["Parts"]] == [
        (n, e, len(d)) for n, (e, d) in enumerate(zip(etags, parts_data), start=1)
    ]

    spec = workdir / "complete.json"
    spec.write_text(json.dumps({"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]}))
    done = aws.json("s3api", "complete-multipart-upload", "--bucket", MAIN, "--key", key, "--upload-id", uid,
                    "--multipart-upload", f"file://{spec}")  # fmt: skip
    md5s = b"".join(hashlib.md5(d).digest() for d in parts_data)
    assert done["ETag"].strip('"') == f"{hashlib.md5(md5s).hexdigest()}-3"

    aws.run("s3api", "abort-multipart-upload", "--bucket", MAIN, "--key", "mpu/aborted.bin", "--upload-id", aborted)
    listed = aws.json("s3api", "list-multipart-uploads", "--bucket", MAIN, "--prefix", "mpu/")
    assert not listed.get("Uploads"), listed
    res = aws.run("s3api", "list-parts", "--bucket", MAIN, "--key", "mpu/aborted.bin", "--upload-id", aborted, check=False)
    assert res.returncode != 0 and "NoSuchUpload" in res.stderr, res.stderr

    whole = b"".join(parts_data)
    head = aws.json("s3api", "head-object", "--bucket", MAIN, "--key", key)
    assert head["ContentLength"] == len(whole) and head["ContentType"] == "x/mpu"
    assert _get_sha(dp, MAIN, key) == h.sha256_hex(whole)
    assert dp.backend_sha(MAIN, key) == h.sha256_hex(whole)
    assert dp.placements(MAIN, "mpu/aborted.bin") == []


# --------------------------------------------------------------------------------------------------------
# boto3
# --------------------------------------------------------------------------------------------------------


def test_boto3_managed_transfer_threaded_multipart(dp: Dp, workdir: Path) -> None:
    src = workdir / "managed.bin"
    sha = _write(src, os.urandom(4 * MIN_PART_BYTES + 999))
    c = dp.client()
    c.upload_file(str(src), MAIN, "boto/managed.bin", Config=FORCED_MULTIPART)
    assert c.head_object(Bucket=MAIN, Key="boto/managed.bin")["ETag"].strip('"').endswith("-5")
    out = workdir / "managed.out"
    c.download_file(MAIN, "boto/managed.bin", str(out), Config=FORCED_MULTIPART)  # ranged GETs in threads
    assert h.sha256_file(out) == sha
    assert dp.backend_sha(MAIN, "boto/managed.bin") == sha


def test_boto3_conditional_requests(dp: Dp) -> None:
    c = dp.client()
    put = c.put_object(Bucket=MAIN, Key="boto/cond.txt", Body=b"conditional body")
    etag = put["ETag"]
    assert c.get_object(Bucket=MAIN, Key="boto/cond.txt", IfMatch=etag)["Body"].read() == b"conditional body"
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.get_object(Bucket=MAIN, Key="boto/cond.txt", IfNoneMatch=etag)
    assert _err(ei.value)[0] == 304
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.get_object(Bucket=MAIN, Key="boto/cond.txt", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert _err(ei.value) == (412, "PreconditionFailed")
    last_modified = c.head_object(Bucket=MAIN, Key="boto/cond.txt")["LastModified"]
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.get_object(Bucket=MAIN, Key="boto/cond.txt", IfModifiedSince=last_modified)
    assert _err(ei.value)[0] == 304
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.get_object(Bucket=MAIN, Key="boto/cond.txt", IfUnmodifiedSince=last_modified.replace(year=2000))
    assert _err(ei.value) == (412, "PreconditionFailed")


def test_boto3_ranges_and_response_overrides(dp: Dp) -> None:
    c = dp.client()
    data = os.urandom(10_000)
    c.put_object(Bucket=MAIN, Key="boto/range.bin", Body=data, ContentType="application/octet-stream")
    n = len(data)
    cases = {"bytes=-100": (n - 100, n - 1), "bytes=9000-": (9000, n - 1), "bytes=0-0": (0, 0), "bytes=5-9999999": (5, n - 1)}
    for rng, (first, last) in cases.items():
        got = c.get_object(Bucket=MAIN, Key="boto/range.bin", Range=rng)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206, rng
        assert got["Body"].read() == data[first : last + 1], rng
        assert got["ContentRange"] == f"bytes {first}-{last}/{n}", rng
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.get_object(Bucket=MAIN, Key="boto/range.bin", Range="bytes=20000-")
    assert _err(ei.value) == (416, "InvalidRange")

    got = c.get_object(
        Bucket=MAIN,
        Key="boto/range.bin",
        ResponseContentType="image/x-override",
        ResponseContentDisposition="inline",
        ResponseCacheControl="no-store",
    )
    assert got["ContentType"] == "image/x-override"
    assert got["ContentDisposition"] == "inline"
    assert got["CacheControl"] == "no-store"
    assert got["Body"].read() == data


def test_boto3_metadata_and_copy_replace(dp: Dp) -> None:
    c = dp.client()
    meta = {"alpha": "1", "beta-two": "zwei", "gamma": "with spaces"}
    c.put_object(Bucket=MAIN, Key="boto/meta.txt", Body=b"meta", Metadata=meta, ContentType="text/plain",
                 ContentEncoding="identity", ContentDisposition="inline")  # fmt: skip
    head = c.head_object(Bucket=MAIN, Key="boto/meta.txt")
    assert head["Metadata"] == meta
    assert (head["ContentType"], head["ContentEncoding"], head["ContentDisposition"]) == ("text/plain", "identity", "inline")
    got = c.get_object(Bucket=MAIN, Key="boto/meta.txt")
    assert got["Metadata"] == meta and got["Body"].read() == b"meta"

    c.copy_object(Bucket=OTHER, Key="boto/meta-replaced.txt", CopySource={"Bucket": MAIN, "Key": "boto/meta.txt"},
                  MetadataDirective="REPLACE", Metadata={"new": "yes"}, ContentType="text/x-new")  # fmt: skip
    head = c.head_object(Bucket=OTHER, Key="boto/meta-replaced.txt")
    assert head["Metadata"] == {"new": "yes"} and head["ContentType"] == "text/x-new"
    c.copy_object(Bucket=MAIN, Key="boto/meta-copied.txt", CopySource={"Bucket": MAIN, "Key": "boto/meta.txt"})
    head = c.head_object(Bucket=MAIN, Key="boto/meta-copied.txt")
    assert head["Metadata"] == meta and head["ContentType"] == "text/plain"
    assert _get_sha(dp, OTHER, "boto/meta-replaced.txt") == h.sha256_hex(b"meta")


def test_boto3_overwrite_and_delete(dp: Dp) -> None:
    c = dp.client()
    for i in range(3):
        c.put_object(Bucket=MAIN, Key="boto/over.txt", Body=f"version {i}".encode())
        assert c.get_object(Bucket=MAIN, Key="boto/over.txt")["Body"].read() == f"version {i}".encode()
    h.wait_until(lambda: len(dp.placements(MAIN, "boto/over.txt")) == 1, 30, "old copies of boto/over.txt removed")
    assert dp.backend_sha(MAIN, "boto/over.txt") == h.sha256_hex(b"version 2")
    c.delete_object(Bucket=MAIN, Key="boto/over.txt")
    c.delete_object(Bucket=MAIN, Key="boto/over.txt")  # idempotent
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        c.head_object(Bucket=MAIN, Key="boto/over.txt")
    assert _err(ei.value)[0] == 404
    h.wait_until(lambda: not dp.placements(MAIN, "boto/over.txt"), 30, "boto/over.txt removed from its backend")


# --------------------------------------------------------------------------------------------------------
# rclone and s3cmd
# --------------------------------------------------------------------------------------------------------


def test_rclone_copy_sync_check(dp: Dp, workdir: Path) -> None:
    rc = dp.orch.rclone(dp.cred)
    src = workdir / "rc"
    shas = {rel: _write(src / rel, os.urandom(2000 + 991 * i)) for i, rel in enumerate(["a", "b/c", "b/d e", "f/g/h"])}
    remote = rc.path(MAIN, "rclone")
    rc.run("copy", str(src), remote)
    check = rc.run("check", str(src), remote)
    assert "0 differences found" in check.stderr, check.stderr
    for rel, sha in shas.items():
        assert _get_sha(dp, MAIN, f"rclone/{rel}") == sha
        assert dp.backend_sha(MAIN, f"rclone/{rel}") == sha

    # Change one file, delete one, add one: sync makes the remote match, check agrees.
    (src / "a").write_bytes(b"changed")
    (src / "b/c").unlink()
    (src / "new").write_bytes(b"brand new")
    rc.run("sync", str(src), remote)
    check = rc.run("check", str(src), remote)
    assert "0 differences found" in check.stderr, check.stderr
    assert sorted(_list_keys(dp, MAIN, "rclone/")) == sorted(["rclone/a", "rclone/b/d e", "rclone/f/g/h", "rclone/new"])
    assert _get_sha(dp, MAIN, "rclone/a") == h.sha256_hex(b"changed")
    # And a difference is noticed: check can fail.
    (src / "a").write_bytes(b"changed locally only")
    assert rc.run("check", str(src), remote, check=False).returncode != 0


def test_s3cmd_put_get_ls_del(dp: Dp, workdir: Path) -> None:
    s3cmd = dp.orch.s3cmd(dp.cred)
    small = workdir / "s.bin"
    big = workdir / "b.bin"
    small_sha = _write(small, os.urandom(70_000))
    big_sha = _write(big, os.urandom(16 * MiB + 1))  # above s3cmd's 15 MiB multipart chunk
    s3cmd.run("put", str(small), f"s3://{MAIN}/s3cmd/s.bin")
    s3cmd.run("put", str(big), f"s3://{MAIN}/s3cmd/b.bin")
    ls = s3cmd.run("ls", f"s3://{MAIN}/s3cmd/").stdout
    assert f"s3://{MAIN}/s3cmd/s.bin" in ls and f"s3://{MAIN}/s3cmd/b.bin" in ls, ls
    for name, sha in (("s.bin", small_sha), ("b.bin", big_sha)):
        out = workdir / f"out-{name}"
        s3cmd.run("get", "--force", f"s3://{MAIN}/s3cmd/{name}", str(out))
        assert h.sha256_file(out) == sha
        assert dp.backend_sha(MAIN, f"s3cmd/{name}") == sha
    s3cmd.run("del", f"s3://{MAIN}/s3cmd/s.bin", f"s3://{MAIN}/s3cmd/b.bin")
    assert s3cmd.run("ls", f"s3://{MAIN}/s3cmd/").stdout.strip() == ""
    assert _list_keys(dp, MAIN, "s3cmd/") == []


# --------------------------------------------------------------------------------------------------------
# Listing edge cases
# --------------------------------------------------------------------------------------------------------

ODD_KEYS = [
    "odd/plain.txt",
    "odd/with space.txt",
    "odd/  leading spaces",
    "odd/plus+sign+.txt",
    "odd/percent%20not-a-space",
    "odd/percent%%",
    "odd/ünïcødé/ファイル.txt",
    "odd/emoji-🙂",
    "odd//double-slash",
    "odd/a//b",
    "odd/dir/",
    "odd/dir/file",
    "odd/dir/sub/file",
    "odd/question?mark&amp=1",
    "odd/tilde~star*",
]


@pytest.fixture(scope="module")
def odd(make_orchestrator, tmp_path_factory, seaweed_backend) -> Dp:
    """An orchestrator over SeaweedFS and a local directory holding ODD_KEYS. rclone serve s3 is left out:
    it refuses keys with `//` ("Object name contains unsupported characters"), a limit of that server."""
    local_root = tmp_path_factory.mktemp("odd-local") / "disk"
    cred = h.Credential.random("ODD")
    cfg = h.orchestrator_config(
        backends=[seaweed_backend.config_entry(), h.local_backend_entry("local", local_root)],
        buckets=[h.VirtualBucket(MAIN, [cred])],
        routing_strategy="spread",
        replication_factor=1,
    )
    orch = make_orchestrator(cfg, name="odd")
    d = Dp(orch, cred, [seaweed_backend], local_root)
    c = d.client()
    for k in ODD_KEYS:
        c.put_object(Bucket=MAIN, Key=k, Body=_odd_body(k))
    yield d
    orch.stop()


def _odd_body(key: str) -> bytes:
    """A key's own bytes, except for a "directory marker" (trailing /): empty, as SeaweedFS stores a key
    ending in / as a directory and drops its body."""
    return b"" if key.endswith("/") else key.encode()


def _listing_via_boto3(dp: Dp, max_keys: int, **kw) -> list[tuple[str, str]]:
    c = dp.client()
    entries: list[tuple[str, str]] = []
    token = None
    for _ in range(len(ODD_KEYS) * 2 + 2):  # bounded: one entry per page at worst, plus the last page
        args = dict(Bucket=MAIN, MaxKeys=max_keys, **kw)
        if token:
            args["ContinuationToken"] = token
        page = c.list_objects_v2(**args)
        got = [("key", o["Key"]) for o in page.get("Contents", [])] + [
            ("prefix", p["Prefix"]) for p in page.get("CommonPrefixes", [])
        ]
        assert len(got) <= max_keys and page["KeyCount"] == len(got), page
        entries += sorted(got, key=lambda e: e[1].encode())
        if not page["IsTruncated"]:
            return entries
        token = page["NextContinuationToken"]
    raise AssertionError("listing did not end")


@pytest.mark.parametrize("max_keys", [1, 2, 3, 1000])
@pytest.mark.parametrize(
    ("prefix", "delimiter"),
    [("odd/", ""), ("odd/", "/"), ("odd/dir/", "/"), ("odd/d", "/"), ("odd//", "/"), ("odd/", "%"), ("", "/")],
)
def test_listing_matches_what_was_written(odd: Dp, prefix: str, delimiter: str, max_keys: int) -> None:
    kw = {"Prefix": prefix}
    if delimiter:
        kw["Delimiter"] = delimiter
    got = _listing_via_boto3(odd, max_keys, **kw)
    # Only the odd/ keys live under "" with this delimiter's roll-up; other tests' keys roll up elsewhere.
    if prefix == "":
        assert ("prefix", "odd/") in got
        return
    assert got == h.expected_listing(ODD_KEYS, prefix, delimiter)


def test_listing_start_after_and_v1(odd: Dp) -> None:
    c = odd.client()
    odd_keys = ODD_KEYS
    after = "odd/dir/"
    got = [o["Key"] for o in c.list_objects_v2(Bucket=MAIN, Prefix="odd/", StartAfter=after)["Contents"]]
    assert got == [name for _, name in h.expected_listing(odd_keys, "odd/", "", after)]
    # ListObjects V1 with a marker, paged by hand.
    keys, marker = [], ""
    for _ in range(len(odd_keys) + 1):
        page = c.list_objects(Bucket=MAIN, Prefix="odd/", MaxKeys=4, Marker=marker)
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        marker = page.get("NextMarker") or page["Contents"][-1]["Key"]
    assert keys == [name for _, name in h.expected_listing(odd_keys, "odd/")]


def test_odd_keys_read_back_and_raw_xml_listing(odd: Dp) -> None:
    c = odd.client()
    odd_keys = ODD_KEYS
    for k in odd_keys:
        assert c.get_object(Bucket=MAIN, Key=k)["Body"].read() == _odd_body(k), k
        assert c.head_object(Bucket=MAIN, Key=k)["ContentLength"] == len(_odd_body(k)), k
        assert odd.backend_sha(MAIN, k) == h.sha256_hex(_odd_body(k)), k
    # Without encoding-type the XML carries the keys verbatim; with encoding-type=url they come encoded.
    for enc in ("", "&encoding-type=url"):
        q = "list-type=2&prefix=odd%2F" + enc
        resp = odd.orch.signed(odd.cred, "GET", f"/{MAIN}", query=q)
        assert resp.status == 200, resp.body
        root = ET.fromstring(resp.body)
        names = [el.text or "" for el in root.iter() if el.tag.endswith("}Key") or el.tag == "Key"]
        if enc:
            names = [urllib.parse.unquote(n) for n in names]
        assert names == [name for _, name in h.expected_listing(odd_keys, "odd/")], resp.body[:2000]


def test_many_parallel_small_objects(dp: Dp) -> None:
    """Concurrent PUTs from many threads: every one acknowledged, listed and readable with its content."""
    c = dp.client(max_pool_connections=16)
    bodies = {f"par/{i:03d}": os.urandom(1000 + i) for i in range(60)}
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda kv: c.put_object(Bucket=MAIN, Key=kv[0], Body=kv[1]), bodies.items()))
        shas = dict(zip(bodies, pool.map(lambda k: _get_sha(dp, MAIN, k), bodies)))
    assert shas == {k: h.sha256_hex(v) for k, v in bodies.items()}
    assert _list_keys(dp, MAIN, "par/") == sorted(bodies)
