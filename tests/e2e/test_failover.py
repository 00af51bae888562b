"""Failover and protection against real backends (rclone serve s3 processes on 127.0.0.1).

Objects with two copies: replication is built elsewhere, so the tests make the second copy
themselves. They PUT through the orchestrator (routing `pack`: every object lands on the first
backend), stop it, copy the same bytes to the second backend with boto3 under the same backend key
(`<vbucket>/<key>`), record the copy in the catalog with the test tool `examples/add_copy.rs`
(the catalog's own `add_copy`), and start the orchestrator again. No production endpoint exists for it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

import harness as h

BUCKET = "fo-app"


def add_copy_tool() -> Path:
    p = h.REPO_ROOT / "target" / "release" / "examples" / "add_copy"
    if not p.is_file():
        pytest.skip(f"{p} missing: cargo build --release --example add_copy")
    return p


def metrics(orch: h.Orchestrator) -> dict[str, float]:
    r = h.http_request("GET", f"{orch.admin}/metrics", timeout=5)
    assert r.status == 200, r.body[:200]
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def state(orch: h.Orchestrator, backend: str) -> int:
    return int(metrics(orch)[f's3o_circuit_breaker_state{{name="{backend}"}}'])


def setup(backends, make_orchestrator, *, n_objects=10, size=2048, extra=None, entries=None, copies=2):
    """Two rclone backends, an orchestrator and `n_objects` objects on both (copy order: a, b)."""
    tag = uuid.uuid4().hex[:6]
    a = backends.rclone(f"a{tag}")
    b = backends.rclone(f"b{tag}")
    entries = entries or [{}, {}]
    cred = h.Credential.random("FOAK")
    # The factor must match the copies the test makes, or the replication scan would (rightly)
    # trim the second copy of a factor-1 object.
    extra = dict(extra or {})
    extra.setdefault("replication", {"factor": copies})
    cfg = h.orchestrator_config(
        backends=[a.config_entry(name="a", **entries[0]), b.config_entry(name="b", **entries[1])],
        buckets=[h.VirtualBucket(BUCKET, [cred])],
        routing_strategy="pack",
        extra=extra,
    )
    orch = make_orchestrator(cfg, name=f"orch{tag}")
    client = orch.client(cred)
    objects = {}
    for i in range(n_objects):
        key = f"obj-{i:03d}"
        body = os.urandom(size)
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
        objects[key] = body
    if copies == 2:
        orch.stop()
        lines = []
        for key, body in objects.items():
            bkey = f"{BUCKET}/{key}"
            assert a.client().get_object(Bucket=a.buckets[0], Key=bkey)["Body"].read() == body
            b.client().put_object(Bucket=b.buckets[0], Key=bkey, Body=body)
            lines.append(f"{BUCKET}\t{key}\tb\t{bkey}\n")
        subprocess.run(
            [str(add_copy_tool()), orch.config["catalog"]["path"]],
            input="".join(lines), text=True, check=True, capture_output=True, timeout=60,
        )
        orch.start()
    return a, b, orch, cred, objects


BREAKER = {"enabled": True, "failure_threshold": 2, "open_timeout": "1s", "success_threshold": 2}


class Sampler(threading.Thread):
    """Reads backend `name`'s breaker state every 50 ms; keeps the sequence of distinct values."""

    def __init__(self, orch, name):
        super().__init__(daemon=True)
        self.orch, self.name, self.seq, self.stop_flag = orch, name, [], threading.Event()

    def run(self):
        while not self.stop_flag.is_set():
            try:
                s = state(self.orch, self.name)
                if not self.seq or self.seq[-1] != s:
                    self.seq.append(s)
            except Exception:  # noqa: BLE001 - a failed scrape is retried
                pass
            time.sleep(0.05)


def is_subsequence(want, seq):
    it = iter(seq)
    return all(any(x == w for x in it) for w in want)


def test_reads_survive_kill_and_restart_breaker_cycles(backends, make_orchestrator):
    a, b, orch, cred, objects = setup(
        backends, make_orchestrator, extra={"backend_circuit_breaker": BREAKER, "server": {"backend_timeout": "2s"}}
    )
    client = orch.client(cred)
    sampler = Sampler(orch, "a")
    sampler.start()
    errors, reads = [], 0

    def read_for(seconds, until=None):
        nonlocal reads
        deadline = time.monotonic() + 60
        end = time.monotonic() + seconds
        while time.monotonic() < end or (until is not None and not until()):
            assert time.monotonic() < deadline, f"condition not reached; states {sampler.seq}"
            for key, body in objects.items():
                try:
                    got = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
                    if got != body:
                        errors.append((key, "wrong body"))
                except Exception as e:  # noqa: BLE001 - every client-visible error is counted
                    errors.append((key, repr(e)))
                reads += 1

    try:
        read_for(1.0)
        a.kill9()
        # While `a` is dead each half-open probe fails within a millisecond (state 2 is too brief
        # to sample), so wait for a failed probe through the transitions counter.
        half_open = 's3o_circuit_breaker_transitions_total{name="a",to="half_open"}'
        read_for(2.0, until=lambda: 1 in sampler.seq and metrics(orch)[half_open] >= 1)
        a.restart()
        # Back up: probing (2) lasts success_threshold probes, one second apart, then healthy (0).
        read_for(0.5, until=lambda: is_subsequence([0, 1, 2, 0], sampler.seq))
    finally:
        sampler.stop_flag.set()
        sampler.join(5)
    assert errors == [], f"{len(errors)} client errors over {reads} reads: {errors[:5]}"
    assert is_subsequence([0, 1, 2, 0], sampler.seq), sampler.seq
    m = metrics(orch)
    assert m["s3o_failover_total"] > 0
    assert m['s3o_circuit_breaker_transitions_total{name="a",to="open"}'] >= 1
    assert m['s3o_circuit_breaker_transitions_total{name="a",to="half_open"}'] >= 1
    assert m['s3o_circuit_breaker_transitions_total{name="a",to="closed"}'] >= 1
    assert m['s3o_circuit_breaker_state{name="b"}'] == 0
    assert "read failover" in orch.log_text()


def test_writes_keep_succeeding_while_a_backend_is_down(backends, make_orchestrator):
    a, b, orch, cred, _ = setup(
        backends, make_orchestrator, n_objects=0, copies=1, extra={"backend_circuit_breaker": BREAKER}
    )
    client = orch.client(cred)
    a.kill9()
    bodies = {f"w-{i}": os.urandom(1000 + i) for i in range(20)}
    for k, v in bodies.items():
        client.put_object(Bucket=BUCKET, Key=k, Body=v)  # no retries: any error fails the test
    # A larger body goes out with Expect: 100-continue to the backend; still replaced invisibly.
    big = os.urandom(3 * 1024 * 1024)
    client.put_object(Bucket=BUCKET, Key="w-big", Body=big)
    bodies["w-big"] = big
    for k, v in bodies.items():
        assert client.get_object(Bucket=BUCKET, Key=k)["Body"].read() == v
        b.client().head_object(Bucket=b.buckets[0], Key=f"{BUCKET}/{k}")
    assert state(orch, "a") in (1, 2)
    a.restart()


def test_hung_backend_times_out_and_reads_fail_over_within_bound(backends, make_orchestrator):
    timeout_s = 1.0
    a, b, orch, cred, objects = setup(
        backends,
        make_orchestrator,
        n_objects=6,
        extra={
            "backend_circuit_breaker": {**BREAKER, "failure_threshold": 3, "open_timeout": "30s"},
            "server": {"backend_timeout": "1s"},
        },
    )
    client = orch.client(cred)
    for key, body in objects.items():  # warm the pool: reused connections must time out too
        assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    a.proc.send_signal(signal.SIGSTOP)
    try:
        took = []
        for key, body in objects.items():
            t0 = time.monotonic()
            assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
            took.append(time.monotonic() - t0)
        # The first three each wait one backend_timeout, then the breaker opens and reads skip a.
        assert all(t < timeout_s + 1.5 for t in took), took
        assert all(t >= timeout_s * 0.9 for t in took[:3]), took
        assert all(t < 0.5 for t in took[3:]), took
        assert state(orch, "a") == 1
    finally:
        a.proc.send_signal(signal.SIGCONT)


def test_usage_limits_fail_reads_over_then_overflow_writes_then_slow_down(backends, make_orchestrator):
    a, b, orch, cred, objects = setup(
        backends,
        make_orchestrator,
        n_objects=1,
        size=1000,
        # Factor 1 with a second copy made by hand, and no catalog scan during the test (it would
        # trim the extra copy): usage counters then see only this test's own traffic.
        extra={"replication": {"factor": 1, "worker_interval": "1h"}},
        entries=[
            {"egress_byte_limit": 3000, "ingress_byte_limit": 5000},
            {"egress_byte_limit": 2000, "ingress_byte_limit": 5000},
        ],
    )
    client = orch.client(cred)
    m = metrics(orch)
    # The ingress of the first PUT survived the restart (flushed to the catalog at shutdown).
    assert m['s3o_usage_ingress_bytes{backend="a"}'] == 1000
    assert m['s3o_usage_ingress_byte_limit{backend="a"}'] == 5000
    (key, body), = objects.items()
    for _ in range(5):  # 3 reads fit a's egress limit, the next 2 fail over to b
        assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
    m = metrics(orch)
    assert m['s3o_usage_egress_bytes{backend="a"}'] == 3000
    assert m['s3o_usage_egress_bytes{backend="b"}'] == 2000
    assert m["s3o_failover_total"] == 2
    with pytest.raises(ClientError) as e:
        client.get_object(Bucket=BUCKET, Key=key)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert e.value.response["Error"]["Code"] == "SlowDown"
    # Writes: a takes 4 more KB (5000 ingress), then b takes 5, then nothing is left.
    placed = {}
    for i in range(9):
        k = f"u-{i}"
        client.put_object(Bucket=BUCKET, Key=k, Body=os.urandom(1000))
        for be in (a, b):
            try:
                be.client().head_object(Bucket=be.buckets[0], Key=f"{BUCKET}/{k}")
                placed[k] = be
            except ClientError:
                pass
    assert [k for k, be in placed.items() if be is a] == [f"u-{i}" for i in range(4)]
    assert [k for k, be in placed.items() if be is b] == [f"u-{i}" for i in range(4, 9)]
    with pytest.raises(ClientError) as e:
        client.put_object(Bucket=BUCKET, Key="u-full", Body=os.urandom(1000))
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert e.value.response["Error"]["Code"] == "SlowDown"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_shedding_and_connection_flood_keep_the_orchestrator_responsive(backends, make_orchestrator):
    a, b, orch, cred, objects = setup(
        backends,
        make_orchestrator,
        n_objects=1,
        copies=1,
        extra={"server": {"max_concurrent_requests": 4, "backend_timeout": "3s"}},
    )
    (key, body), = objects.items()
    # Shedding: with `a` hung, 4 GETs wait for it; the rest are shed at once with SlowDown.
    a.proc.send_signal(signal.SIGSTOP)
    results = []
    lock = threading.Lock()

    clients = [orch.client(cred) for _ in range(10)]  # made up front: creating one is slow

    def get(c):
        t0 = time.monotonic()
        try:
            c.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            r = "ok"
        except ClientError as e:
            r = e.response["Error"]["Code"]
        with lock:
            results.append((r, time.monotonic() - t0))

    try:
        threads = [threading.Thread(target=get, args=(clients[i],)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # the four are in flight, waiting (3 s) for the hung backend
        extra = [threading.Thread(target=get, args=(clients[4 + i],)) for i in range(6)]
        for t in extra:
            t.start()
        for t in threads + extra:
            t.join(30)
    finally:
        a.proc.send_signal(signal.SIGCONT)
    shed = [t for r, t in results if r == "SlowDown"]
    assert len(shed) == 6, results
    assert all(t < 1.0 for t in shed), results
    assert metrics(orch)["s3o_requests_shed_total"] == 6
    # Afterwards the shard admits requests again.
    client = orch.client(cred)
    assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body

    # Connection flood: far more idle and half-sent connections than the shard accepts.
    base_rss = rss_kib(orch.pid)
    socks = []
    try:
        for i in range(3000):
            s = socket.create_connection((h.HOST, orch.listen_port), timeout=5)
            socks.append(s)
            if i % 2:
                try:
                    s.sendall(b"GET /fo-app/obj-000 HTTP/1.1\r\nHost: x\r\n")  # a head that never ends
                except OSError:
                    pass  # past the shard's connection limit the server closes at once
        # The client's pooled keep-alive connection was admitted before the flood and is served.
        t0 = time.monotonic()
        client.head_object(Bucket=BUCKET, Key=key)
        assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body
        assert time.monotonic() - t0 < 2.0
        flood_rss = rss_kib(orch.pid)
    finally:
        for s in socks:
            s.close()
    # Each admitted connection holds a 64 KiB read buffer and at most 1024 are admitted per shard.
    assert flood_rss - base_rss < 96 * 1024, (base_rss, flood_rss)
    assert orch.alive
    # Once the flood is gone, new connections are served again.
    h.wait_until(
        lambda: orch.client(cred).head_object(Bucket=BUCKET, Key=key) is not None,
        30, "a fresh connection to be served after the flood", orch.proc,
    )


def test_backend_dying_mid_body_answers_503_and_lists_nothing(backends, make_orchestrator):
    a, b, orch, cred, _ = setup(backends, make_orchestrator, n_objects=0, copies=1,
                                extra={"backend_circuit_breaker": BREAKER})
    size = 16 * 1024 * 1024
    url = f"{orch.endpoint}/{BUCKET}/partial"
    req = AWSRequest(method="PUT", url=url, headers={"Host": f"{h.HOST}:{orch.listen_port}",
                                                       "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
                                                       "Content-Length": str(size)})
    S3SigV4Auth(Credentials(cred.access_key, cred.secret_key), "s3", h.REGION).add_auth(req)
    s = socket.create_connection((h.HOST, orch.listen_port), timeout=10)
    head = f"PUT /{BUCKET}/partial HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in req.headers.items()) + "\r\n"
    s.sendall(head.encode())
    chunk = os.urandom(256 * 1024)
    sent = 0
    for _ in range(8):  # 2 MiB reach the backend
        s.sendall(chunk)
        sent += len(chunk)
    time.sleep(0.3)
    a.kill9()
    response = b""
    try:
        s.settimeout(0.2)
        while sent < size and not response:
            s.sendall(chunk)
            sent += len(chunk)
            try:
                response = s.recv(4096)
            except socket.timeout:
                pass
        s.settimeout(10)
        if not response:
            response = s.recv(4096)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the orchestrator answered and closed while we were still sending
    finally:
        s.close()
    if response:
        assert response.startswith(b"HTTP/1.1 503"), response[:200]
    assert sent < size, "the request should have ended before the whole body was sent"
    client = orch.client(cred)
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    assert [o["Key"] for o in listed] == []
    with pytest.raises(ClientError):
        client.head_object(Bucket=BUCKET, Key="partial")
    # The SDK's retry lands on the healthy backend.
    client.put_object(Bucket=BUCKET, Key="partial", Body=b"x" * 1000)
    assert [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["partial"]
    a.restart()
