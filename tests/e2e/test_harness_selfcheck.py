"""Proof that the harness itself works, without the orchestrator.

Real backends (SeaweedFS, rclone serve s3, also over TLS) are driven with every client the harness wraps
(boto3, aws CLI v1, rclone, s3cmd), content checked by SHA-256 through a second client. The orchestrator
machinery (config file, start, /health wait, restart, kill -9, SIGHUP, log capture, early-exit and missing
binary errors) is exercised against a small stand-in server written below.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
from pathlib import Path

import botocore.exceptions
import pytest
import yaml

import harness as h

#: Object size for round trips: above s3cmd's and rclone's single-request paths' trivial cases, small enough
#: to keep the suite fast.
OBJECT_BYTES = 300 * 1024


@pytest.fixture(params=["seaweedfs", "rclone"])
def backend(request) -> h.S3Backend:
    return request.getfixturevalue("seaweed_backend" if request.param == "seaweedfs" else "rclone_backend")


def _payload(tag: str) -> bytes:
    return (tag.encode() + b"|") + os.urandom(OBJECT_BYTES)


def _get_sha(backend: h.S3Backend, key: str) -> str:
    body = backend.client().get_object(Bucket=backend.buckets[0], Key=key)["Body"].read()
    return h.sha256_hex(body)


def test_boto3_put_get(backend: h.S3Backend) -> None:
    c = backend.client()
    bucket = backend.buckets[0]
    data = _payload("boto3")
    key = f"selfcheck/boto3-{backend.kind}.bin"
    c.put_object(Bucket=bucket, Key=key, Body=data)
    got = c.get_object(Bucket=bucket, Key=key)
    assert got["ContentLength"] == len(data)
    assert h.sha256_hex(got["Body"].read()) == h.sha256_hex(data)
    # A ranged read too: this is where rclone serve s3 needs lenient checksum validation.
    part = c.get_object(Bucket=bucket, Key=key, Range="bytes=10-19")["Body"].read()
    assert part == data[10:20]
    assert got["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id")


def test_aws_cli_put_get(backend: h.S3Backend, workdir: Path) -> None:
    src = workdir / "src.bin"
    data = _payload("awscli")
    src.write_bytes(data)
    aws = h.AwsCli(backend.endpoint, backend.cred, workdir, lenient_checksums=backend.lenient_checksums)
    bucket = backend.buckets[0]
    key = f"selfcheck/awscli-{backend.kind}.bin"
    aws.run("s3", "cp", str(src), f"s3://{bucket}/{key}")
    head = aws.json("s3api", "head-object", "--bucket", bucket, "--key", key)
    assert head["ContentLength"] == len(data)
    out = workdir / "out.bin"
    aws.run("s3", "cp", f"s3://{bucket}/{key}", str(out))
    assert h.sha256_file(out) == h.sha256_hex(data)
    assert _get_sha(backend, key) == h.sha256_hex(data)
    listing = aws.run("s3", "ls", f"s3://{bucket}/selfcheck/").stdout
    assert f"awscli-{backend.kind}.bin" in listing


def test_rclone_put_get(backend: h.S3Backend, workdir: Path) -> None:
    src = workdir / "src.bin"
    data = _payload("rclone")
    src.write_bytes(data)
    rc = h.RcloneCli(backend.endpoint, backend.cred, workdir)
    bucket = backend.buckets[0]
    key = f"selfcheck/rclone-{backend.kind}.bin"
    rc.run("copyto", str(src), rc.path(bucket, key))
    out = workdir / "out.bin"
    rc.run("copyto", rc.path(bucket, key), str(out))
    assert h.sha256_file(out) == h.sha256_hex(data)
    assert _get_sha(backend, key) == h.sha256_hex(data)
    assert rc.run("sha1sum", rc.path(bucket, key), "--download").returncode == 0


def test_s3cmd_put_get(backend: h.S3Backend, workdir: Path) -> None:
    src = workdir / "src.bin"
    data = _payload("s3cmd")
    src.write_bytes(data)
    s3cmd = h.S3cmdCli(backend.endpoint, backend.cred, workdir)
    bucket = backend.buckets[0]
    key = f"selfcheck/s3cmd-{backend.kind}.bin"
    s3cmd.run("put", str(src), f"s3://{bucket}/{key}")
    out = workdir / "out.bin"
    s3cmd.run("get", "--force", f"s3://{bucket}/{key}", str(out))
    assert h.sha256_file(out) == h.sha256_hex(data)
    assert _get_sha(backend, key) == h.sha256_hex(data)
    assert key in s3cmd.run("ls", f"s3://{bucket}/selfcheck/").stdout


def test_tls_plumbing_with_every_client(backends, tls_files: h.TlsFiles, workdir: Path) -> None:
    """The generated CA/certificate work with boto3 (verify=), aws --ca-bundle, rclone --ca-cert and s3cmd."""
    be = backends.rclone("rclone-tls", buckets=("s3o-tls",), tls=tls_files)
    assert be.endpoint.startswith("https://")
    bucket = "s3o-tls"
    data = _payload("tls")
    src = workdir / "src.bin"
    src.write_bytes(data)
    sha = h.sha256_hex(data)

    be.client().put_object(Bucket=bucket, Key="boto3.bin", Body=data)
    assert _get_sha(be, "boto3.bin") == sha

    aws = h.AwsCli(be.endpoint, be.cred, workdir, ca_file=tls_files.ca_file, lenient_checksums=True)
    aws.run("s3", "cp", str(src), f"s3://{bucket}/aws.bin")
    rc = h.RcloneCli(be.endpoint, be.cred, workdir, ca_file=tls_files.ca_file)
    rc.run("copyto", str(src), rc.path(bucket, "rclone.bin"))
    s3cmd = h.S3cmdCli(be.endpoint, be.cred, workdir, ca_file=tls_files.ca_file)
    s3cmd.run("put", str(src), f"s3://{bucket}/s3cmd.bin")
    for key in ("aws.bin", "rclone.bin", "s3cmd.bin"):
        assert _get_sha(be, key) == sha, key

    # Without our CA the certificate must be refused: proves TLS is really in use and verified.
    with pytest.raises(botocore.exceptions.SSLError):
        h.s3_client(be.endpoint, be.cred, ca_file=None).list_buckets()
    assert aws.run("s3api", "list-buckets", check=False).returncode == 0
    bad = h.AwsCli(be.endpoint, be.cred, workdir / "noca")
    res = bad.run("s3api", "list-buckets", check=False)
    assert res.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in res.stderr
    be.stop()


def test_processes_are_cleaned_up(tmp_path: Path) -> None:
    reg = h.ProcessRegistry()
    a = h.start_rclone_serve(reg, tmp_path / "a", name="rclone-a", buckets=("s3o-a",))
    b = h.start_rclone_serve(reg, tmp_path / "b", name="rclone-b", buckets=("s3o-b",))
    pa, pb = a.proc.pid, b.proc.pid
    port_a, port_b = a.ports["s3"], b.ports["s3"]
    assert a.proc.alive and b.proc.alive and h.port_accepts(port_a)

    assert a.kill9() == -signal.SIGKILL
    assert not h.port_accepts(port_a)
    assert reg.stop_all() == []
    assert b.proc.returncode is not None and not h.port_accepts(port_b)
    for pid in (pa, pb):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped: no such process any more
    assert "Starting s3 server" in b.proc.log_text()


def test_seaweedfs_listens_only_where_told(seaweed_backend: h.S3Backend) -> None:
    """weed mini listens on exactly the ports the harness chose (plus admin gRPC at admin + 10000), all on
    127.0.0.1: none of its well-known defaults (8333, 9333, 8888, ...) and nothing on 0.0.0.0."""
    expected = set(seaweed_backend.ports.values()) | {seaweed_backend.ports["admin.port"] + h.WEED_GRPC_OFFSET}
    actual = h.listening_sockets(seaweed_backend.proc.pid)
    assert {addr for addr, _ in actual} == {"127.0.0.1"}, actual
    assert {port for _, port in actual} == expected, actual


def test_rclone_listens_only_on_loopback(rclone_backend: h.S3Backend) -> None:
    assert h.listening_sockets(rclone_backend.proc.pid) == {("127.0.0.1", rclone_backend.ports["s3"])}


def test_wait_until_reports_what_and_log_tail(registry: h.ProcessRegistry, tmp_path: Path) -> None:
    p = registry.start(
        h.ManagedProcess(
            "sleeper",
            [sys.executable, "-u", "-c", "print('marker-7731'); import time; time.sleep(60)"],
            tmp_path / "sleeper.log",
        )
    )
    h.wait_until(lambda: "marker-7731" in p.log_text(), 10, "sleeper output", p)
    with pytest.raises(h.HarnessError) as ei:
        h.wait_until(lambda: False, 0.3, "something that never happens", p)
    msg = str(ei.value)
    assert "something that never happens" in msg and "marker-7731" in msg and "timed out" in msg
    p.stop()
    assert not p.alive


def test_wait_until_fails_fast_when_process_dies(tmp_path: Path) -> None:
    reg = h.ProcessRegistry()
    p = reg.start(
        h.ManagedProcess(
            "quitter", [sys.executable, "-u", "-c", "print('goodbye-5521'); raise SystemExit(3)"], tmp_path / "q.log"
        )
    )
    with pytest.raises(h.HarnessError) as ei:
        h.wait_until(lambda: False, 30, "a port that never opens", p)
    msg = str(ei.value)
    assert "exited with code 3" in msg and "goodbye-5521" in msg


def test_wait_until_returns_value_and_keeps_last_error() -> None:
    calls = iter([ValueError("not yet"), 0, "ready"])

    def pred():
        v = next(calls)
        if isinstance(v, Exception):
            raise v
        return v

    assert h.wait_until(pred, 5, "three tries") == "ready"
    with pytest.raises(h.HarnessError, match="ZeroDivisionError"):
        h.wait_until(lambda: 1 / 0, 0.2, "division")


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = [h.free_port() for _ in range(20)]
    assert len(set(ports)) == 20
    p = h.free_port(offset_free=h.WEED_GRPC_OFFSET)
    assert p + h.WEED_GRPC_OFFSET <= 65535


# --------------------------------------------------------------------------------------------------------
# Orchestrator machinery, against a stand-in binary
# --------------------------------------------------------------------------------------------------------

STUB = textwrap.dedent(
    """\
    #!{python}
    # Stand-in for s3-orchestrator: reads --config, serves /health on admin_addr, answers every request on
    # listen_addr (over TLS when server.tls is set) with 200 and an x-amz-request-id.
    import argparse, http.server, signal, ssl, sys, threading, uuid, yaml
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    cfg = yaml.safe_load(open(ap.parse_args().config))
    srv = cfg["server"]

    class H(http.server.BaseHTTPRequestHandler):
        def _reply(self):
            body = b"ok" if self.path == "/health" else b"<ListAllMyBucketsResult/>"
            self.send_response(200)
            self.send_header("x-amz-request-id", uuid.uuid4().hex)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        do_GET = do_HEAD = do_PUT = do_POST = _reply
        def log_message(self, fmt, *args):
            print("stub request", self.command, self.path, flush=True)

    def serve(addr, tls):
        host, port = addr.rsplit(":", 1)
        s = http.server.ThreadingHTTPServer((host, int(port)), H)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls["cert_file"], tls["key_file"])
            s.socket = ctx.wrap_socket(s.socket, server_side=True)
        threading.Thread(target=s.serve_forever, daemon=True).start()

    serve(srv["admin_addr"], None)
    serve(srv["listen_addr"], srv.get("tls"))
    print("stub up backends=%d buckets=%d" % (len(cfg["backends"]), len(cfg["buckets"])), flush=True)
    signal.signal(signal.SIGHUP, lambda *a: print("stub reload", flush=True))
    signal.signal(signal.SIGTERM, lambda *a: (print("stub stopping", flush=True), sys.exit(0)))
    while True:
        signal.pause()
    """
)


@pytest.fixture
def stub_bin(tmp_path: Path) -> Path:
    p = tmp_path / "stub-orchestrator"
    p.write_text(STUB.replace("{python}", sys.executable))
    p.chmod(0o755)
    return p


def _two_disk_config(tmp_path: Path, **kw) -> dict:
    alice = h.Credential("AKIDALICE00000000000", "alice-secret-0000000000000000000000000000")
    return h.orchestrator_config(
        backends=[
            h.local_backend_entry("disk1", tmp_path / "disk1", quota_bytes=10_000_000),
            h.local_backend_entry("disk2", tmp_path / "disk2"),
        ],
        buckets=[h.VirtualBucket("app-alpha", [alice])],
        replication_factor=2,
        **kw,
    )


def test_orchestrator_config_shape(tmp_path: Path, tls_files: h.TlsFiles) -> None:
    cfg = _two_disk_config(tmp_path, tls=tls_files, routing_strategy="pack", extra={"server": {"shards": 2}})
    o = h.Orchestrator(h.ProcessRegistry(), tmp_path / "o", cfg, binary=Path("/nonexistent"), ca_file=tls_files.ca_file)
    written = yaml.safe_load(o.config_path.read_text())
    assert written["routing_strategy"] == "pack"
    assert written["replication"] == {"factor": 2}
    assert written["backends"][0] == {"name": "disk1", "path": str(tmp_path / "disk1"), "quota_bytes": 10_000_000}
    assert (tmp_path / "disk2").is_dir()
    assert written["buckets"][0]["credentials"][0]["access_key_id"] == "AKIDALICE00000000000"
    assert written["server"]["shards"] == 2
    assert written["server"]["tls"] == {"cert_file": tls_files.cert_file, "key_file": tls_files.key_file}
    assert written["server"]["listen_addr"].startswith("127.0.0.1:")
    assert written["server"]["admin_addr"] != written["server"]["listen_addr"]
    assert written["catalog"]["path"].startswith(str(tmp_path))
    assert o.endpoint == "https://" + written["server"]["listen_addr"]


def test_orchestrator_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    o = h.Orchestrator(h.ProcessRegistry(), tmp_path, _two_disk_config(tmp_path), binary=tmp_path / "nope")
    with pytest.raises(h.HarnessError, match="binary not found.*cargo build --release"):
        o.start()


def test_orchestrator_lifecycle_with_stub(make_orchestrator, stub_bin: Path, tmp_path: Path) -> None:
    o = make_orchestrator(_two_disk_config(tmp_path), name="stub", binary=stub_bin)
    assert o.alive
    assert h.http_request("GET", f"{o.admin}/health").status == 200
    resp = h.http_request("GET", o.endpoint + "/")
    assert resp.status == 200 and resp.headers["x-amz-request-id"]
    assert "stub up backends=2 buckets=1" in o.log_text()

    o.reload()
    h.wait_until(lambda: "stub reload" in o.log_text(), 10, "stub to log the reload", o.proc)

    first_pid = o.pid
    o.restart()
    assert o.pid != first_pid and o.alive
    assert "stub stopping" in o.log_text()  # graceful: SIGTERM reached the handler
    assert h.http_request("GET", f"{o.admin}/health").status == 200

    assert o.kill9() == -signal.SIGKILL
    assert not h.port_accepts(o.admin_port)
    o.start()  # comes back on the same ports after a crash
    assert h.http_request("GET", o.endpoint + "/").status == 200
    assert o.log_text().count("=== start #") == 3
    assert o.stop() == 0
    assert "stub stopping" in o.log_tail(5)


def test_orchestrator_tls_with_stub(make_orchestrator, stub_bin: Path, tmp_path: Path, tls_files: h.TlsFiles) -> None:
    o = make_orchestrator(_two_disk_config(tmp_path, tls=tls_files), name="stub-tls", binary=stub_bin, ca_file=tls_files.ca_file)
    assert o.endpoint.startswith("https://")
    assert h.http_request("GET", o.endpoint + "/", ca_file=tls_files.ca_file).status == 200
    resp = o.signed(h.Credential.random(), "GET", "/")
    assert resp.status == 200
    o.stop()


def test_orchestrator_early_exit_shows_log(make_orchestrator, tmp_path: Path) -> None:
    crasher = tmp_path / "crasher"
    crasher.write_text(f"#!{sys.executable}\nimport sys\nprint('config rejected: backends[0].bucket', flush=True)\nsys.exit(2)\n")
    crasher.chmod(0o755)
    with pytest.raises(h.HarnessError) as ei:
        make_orchestrator(_two_disk_config(tmp_path), name="crasher", binary=crasher)
    msg = str(ei.value)
    assert "exited with code 2" in msg and "config rejected: backends[0].bucket" in msg
