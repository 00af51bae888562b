#!/usr/bin/env python3
"""Failover scenario: kill one of three backends under mixed load, report errors and p99 latency.

Starts three `rclone serve s3` backends and the orchestrator on 127.0.0.1 (process management from
tests/e2e/harness.py), seeds objects with two copies (PUT through the orchestrator with routing
`pack` so they land on backend s1, copy the bytes to s2 with boto3 and record the copy with the
test tool `target/release/examples/add_copy`, as replication is built elsewhere), then runs reader
and writer threads through three phases:

  before  all backends up
  during  s1 (the first copy of every object) killed with SIGKILL
  after   s1 restarted and its circuit breaker closed again

and prints per phase: operations, client-visible errors (reads of replicated objects: target 0),
p50/p99 latency. Exit status 1 when a replicated read failed.

    cargo build --release --bin s3-orchestrator --example add_copy
    python3 loadtest/failover_scenario.py [--phase-seconds 10] [--readers 4] [--writers 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import harness as h  # noqa: E402

BUCKET = "loadtest"
#: Bound on the whole run's waits (backends coming back, breaker closing).
WAIT_LIMIT_S = 60.0


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.phase = "before"
        self.lat: dict[tuple[str, str], list[float]] = {}
        self.err: dict[tuple[str, str], list[str]] = {}

    def record(self, op: str, seconds: float, error: str | None) -> None:
        with self.lock:
            k = (self.phase, op)
            self.lat.setdefault(k, []).append(seconds)
            if error:
                self.err.setdefault(k, []).append(error)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100.0 * len(s)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phase-seconds", type=float, default=10.0)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--writers", type=int, default=1)
    ap.add_argument("--objects", type=int, default=50)
    ap.add_argument("--size", type=int, default=64 * 1024)
    args = ap.parse_args()
    tool = REPO / "target" / "release" / "examples" / "add_copy"
    binary = REPO / "target" / "release" / "s3-orchestrator"
    for p in (tool, binary):
        if not p.is_file():
            print(f"missing {p}: cargo build --release --bin s3-orchestrator --example add_copy")
            return 2
    reg = h.ProcessRegistry()
    tmp = Path(tempfile.mkdtemp(prefix="s3o-failover-"))
    try:
        nodes = [h.start_rclone_serve(reg, tmp / f"s{i}", name=f"s{i}", buckets=("data",)) for i in (1, 2, 3)]
        cred = h.Credential.random("LOAD")
        cfg = h.orchestrator_config(
            backends=[n.config_entry() for n in nodes],
            buckets=[h.VirtualBucket(BUCKET, [cred])],
            routing_strategy="pack",
            shards=None,
            extra={
                "backend_circuit_breaker": {"enabled": True, "failure_threshold": 3, "open_timeout": "2s"},
                "server": {"backend_timeout": "2s"},
            },
        )
        orch = h.Orchestrator(reg, tmp / "orch", cfg, binary=binary)
        orch.start()
        client = orch.client(cred)
        objects = {}
        for i in range(args.objects):
            key, body = f"r-{i:04d}", os.urandom(args.size)
            client.put_object(Bucket=BUCKET, Key=key, Body=body)
            objects[key] = body
        orch.stop()
        lines = []
        for key, body in objects.items():
            nodes[1].client().put_object(Bucket="data", Key=f"{BUCKET}/{key}", Body=body)
            lines.append(f"{BUCKET}\t{key}\ts2\t{BUCKET}/{key}\n")
        subprocess.run([str(tool), orch.config["catalog"]["path"]], input="".join(lines), text=True,
                       check=True, capture_output=True, timeout=120)
        orch.start()

        stats = Stats()
        stop = threading.Event()
        keys = list(objects)

        def reader(n: int) -> None:
            c = orch.client(cred)
            i = n
            while not stop.is_set():
                key = keys[i % len(keys)]
                i += 1
                t0 = time.monotonic()
                err = None
                try:
                    if c.get_object(Bucket=BUCKET, Key=key)["Body"].read() != objects[key]:
                        err = "wrong body"
                except Exception as e:  # noqa: BLE001 - every client-visible error counts
                    err = repr(e)
                stats.record("GET", time.monotonic() - t0, err)

        def writer(n: int) -> None:
            c = orch.client(cred)
            i = 0
            while not stop.is_set():
                t0 = time.monotonic()
                err = None
                try:
                    c.put_object(Bucket=BUCKET, Key=f"w-{n}-{i}", Body=os.urandom(args.size))
                except Exception as e:  # noqa: BLE001
                    err = repr(e)
                i += 1
                stats.record("PUT", time.monotonic() - t0, err)

        threads = [threading.Thread(target=reader, args=(n,)) for n in range(args.readers)]
        threads += [threading.Thread(target=writer, args=(n,)) for n in range(args.writers)]
        for t in threads:
            t.start()
        time.sleep(args.phase_seconds)
        with stats.lock:
            stats.phase = "during"
        nodes[0].kill9()
        time.sleep(args.phase_seconds)
        nodes[0].restart()
        deadline = time.monotonic() + WAIT_LIMIT_S
        while time.monotonic() < deadline:
            body = h.http_request("GET", f"{orch.admin}/metrics", timeout=5).body.decode()
            if 's3o_circuit_breaker_state{name="s1"} 0' in body:
                break
            time.sleep(0.1)
        with stats.lock:
            stats.phase = "after"
        time.sleep(args.phase_seconds)
        stop.set()
        for t in threads:
            t.join(30)
        print(f"{'phase':8} {'op':4} {'count':>7} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
        for phase in ("before", "during", "after"):
            for op in ("GET", "PUT"):
                lat = stats.lat.get((phase, op), [])
                errs = stats.err.get((phase, op), [])
                print(f"{phase:8} {op:4} {len(lat):7d} {len(errs):7d} "
                      f"{pct(lat, 50) * 1000:8.1f} {pct(lat, 99) * 1000:8.1f}")
        read_errors = sum(len(stats.err.get((p, "GET"), [])) for p in ("before", "during", "after"))
        for (phase, op), errs in stats.err.items():
            print(f"first {op} errors {phase}: {errs[:3]}")
        metrics = h.http_request("GET", f"{orch.admin}/metrics", timeout=5).body.decode()
        print("\n".join(l for l in metrics.splitlines() if l.startswith(("s3o_failover_total", "s3o_circuit_breaker_transitions_total{name=\"s1\""))))
        print(f"replicated-read errors: {read_errors} (target 0)")
        return 1 if read_errors else 0
    finally:
        reg.stop_all()


if __name__ == "__main__":
    sys.exit(main())
