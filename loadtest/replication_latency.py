#!/usr/bin/env python3
"""Client latency of small GETs while the replication shard works through a backlog (issue 4, "Done when").

One run, three measurements with the same orchestrator config:
  1. idle:    p50/p99 of 4 KiB GETs for --duration seconds with the replication queue empty, once
              before the backlog exists and once after it drained (both count as "idle");
  2. stalled: a control: the same GETs after the backlog was uploaded and the orchestrator restarted,
              with copies stalled (what the uploads and a fresh process alone change);
  3. backlog: the same GETs for the same duration while the shard copies a backlog of >= --backlog-gib.
The verdict is p99 backlog / p99 idle (target <= 1.3). Also printed: the copy rate during the backlog
phase (s3o_replication_bytes_total: while clients are served copies run at
`replication.busy_bytes_per_sec`) and the CPU each process used in each phase.

How the backlog is made: the orchestrator is restarted with a tiny `replication.max_bytes_per_sec`
(copies effectively stall), --backlog-gib of large objects are uploaded (each PUT queues a durable copy
intent, factor 2), and the orchestrator is restarted with the normal config, so the shard starts on the
whole backlog at its normal rate while the GETs are measured.

Backends: SeaweedFS and `rclone serve s3` (the e2e harness, imported from tests/e2e), on /dev/shm when
it and the machine's free memory have room for every copy, else under /tmp. Prints both p99s and their ratio; the target is <= 1.3.

Usage: python3 loadtest/replication_latency.py [--duration 20] [--backlog-gib 2] [--threads 2]
       [--max-bytes-per-sec N] [--busy-bytes-per-sec N]
Needs the release binary (cargo build --release, or S3O_BIN) and the e2e test tools (.ci/run installs them).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))

import harness as h  # noqa: E402
import replication_helpers as rh  # noqa: E402

VB = "loadtest"
KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
#: Size of the GETs measured ("small GETs").
SMALL_SIZE = 4 * KIB
#: Distinct small objects read at random, so no single key's placement decides the figures.
SMALL_COUNT = 64
#: Size of one backlog object: large enough that the backlog is bytes, not per-object overhead.
BACKLOG_OBJECT = 64 * MIB
#: Parallel uploads while building the backlog (boto3 manages ~150-230 MiB/s per stream).
UPLOAD_THREADS = 4
#: The rate that stalls copies while the backlog is written (bytes/s; 0 would mean unthrottled).
STALL_RATE = 1024
#: Longest wait for the small objects to reach 2 copies before the idle phase.
SETTLE_TIMEOUT_S = 60.0
#: The orchestrator's default replication.max_bytes_per_sec (the drain rate with no clients).
DEFAULT_MAX_BYTES_PER_SEC = 64 * MIB
#: Longest wait for the rest of the backlog to drain after the backlog phase: this many seconds plus
#: DRAIN_SLACK times what the idle rate needs.
DRAIN_MARGIN_S = 60.0
DRAIN_SLACK = 3.0
#: The issue's target: p99 with backlog <= this times p99 idle.
TARGET_RATIO = 1.3
#: Memory left to everything else when the backends' data sits in /dev/shm (RAM).
RAM_MARGIN = 6 * GIB
#: Room kept free on the chosen filesystem beyond the copies themselves.
SPACE_MARGIN = 2 * GIB


def mem_available() -> int:
    """MemAvailable from /proc/meminfo in bytes (0 when unknown): /dev/shm lives in RAM."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * KIB
    except (OSError, ValueError, IndexError):
        pass
    return 0


def pick_workdir(need: int) -> Path:
    """/dev/shm when both it and the machine's free memory have room for every copy, else /tmp."""
    candidates = []
    if mem_available() >= need + RAM_MARGIN:
        candidates.append("/dev/shm")
    candidates.append(tempfile.gettempdir())
    for base in candidates:
        try:
            free = shutil.disk_usage(base).free
        except OSError:
            continue
        if free >= need + SPACE_MARGIN:
            return Path(tempfile.mkdtemp(prefix="s3o-repl-lat-", dir=base))
    raise SystemExit(f"no filesystem with {(need + SPACE_MARGIN) / GIB:.1f} GiB free for the backends")


#: Longest wait for a stopped orchestrator's ports to stop accepting before it is started again.
PORT_FREE_TIMEOUT_S = 15.0


def start_again(orch: h.Orchestrator) -> None:
    """Starts a stopped orchestrator on its ports once nothing accepts there any more; if something
    still does, says what (seen once on a loaded machine: the port accepted right after the stop)."""
    ports = (orch.listen_port, orch.admin_port)
    try:
        h.wait_until(
            lambda: not any(h.port_accepts(p) for p in ports), PORT_FREE_TIMEOUT_S, f"ports {ports} to be free"
        )
    except h.HarnessError:
        pat = re.compile("|".join(rf":{p}\b" for p in ports))
        out = subprocess.run(["ss", "-tanp"], capture_output=True, text=True, timeout=h.CLI_TIMEOUT_S).stdout
        print("\n".join(line for line in out.splitlines() if pat.search(line)), file=sys.stderr)
        raise
    orch.start()


def measure(orch: h.Orchestrator, cred: h.Credential, keys: list[str], duration: float, threads: int):
    """Closed-loop GETs from `threads` threads for `duration` s; returns (latencies in s, errors)."""
    deadline = time.monotonic() + duration
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker(seed: int) -> None:
        client = orch.client(cred)
        rng = random.Random(seed)
        mine = []
        while time.monotonic() < deadline:
            k = rng.choice(keys)
            t0 = time.perf_counter()
            try:
                body = client.get_object(Bucket=VB, Key=k)["Body"].read()
                ok = len(body) == SMALL_SIZE
            except Exception:  # noqa: BLE001 - counted, reported
                ok = False
            dt = time.perf_counter() - t0
            if ok:
                mine.append(dt)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(duration + h.READ_TIMEOUT_S)
    return lat, errors[0]


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """user + system CPU seconds of one process from /proc (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        # After the ")" ending the command name: field 3 is the state, so utime/stime (14, 15) are 11, 12.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return 0.0


class CpuMeter:
    """CPU seconds each named process (and this client process) used between start() and stop()."""

    def __init__(self, procs: dict[str, "h.ManagedProcess"]) -> None:
        self.procs = procs
        self.used: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        out = {name: cpu_seconds(p.pid) for name, p in self.procs.items()}
        t = os.times()
        out["client (python)"] = t.user + t.system
        return out

    def start(self) -> None:
        self._begin = self._sample()
        self._t0 = time.monotonic()

    def stop(self) -> None:
        end = self._sample()
        self.wall = time.monotonic() - self._t0
        self.used = {k: end[k] - self._begin.get(k, 0.0) for k in end}


def print_cpu(phases: list[tuple[str, CpuMeter]]) -> None:
    print(f"{'CPU (cores used)':18} " + " ".join(f"{name:>9}" for name, _ in phases))
    for proc in phases[0][1].used:
        print(f"{proc:18} " + " ".join(f"{m.used.get(proc, 0.0) / m.wall:9.2f}" for _, m in phases))
    totals = " ".join(f"{sum(m.used.values()) / m.wall:9.2f}" for _, m in phases)
    print(f"{'total':18} {totals}  (of {os.cpu_count()} cores)")


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def copied_bytes(stores: list[rh.Store], keys: list[str]) -> int:
    """Bytes of backlog objects that already have their second copy."""
    counts = rh.copy_counts(rh.placement(stores), VB, keys)
    return sum(BACKLOG_OBJECT for n in counts.values() if n >= 2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per measurement (default 20)")
    ap.add_argument("--backlog-gib", type=float, default=2.0, help="backlog size in GiB (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="client threads doing GETs (default 2)")
    ap.add_argument(
        "--max-bytes-per-sec",
        type=int,
        default=None,
        help="replication.max_bytes_per_sec for the backlog phase (default: the orchestrator's default)",
    )
    ap.add_argument(
        "--busy-bytes-per-sec",
        type=int,
        default=None,
        help="replication.busy_bytes_per_sec (default: the orchestrator's default, max/8); "
        "set it equal to --max-bytes-per-sec to see copies that do not yield to clients",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, data)")
    args = ap.parse_args()

    n_big = max(1, int(args.backlog_gib * GIB + BACKLOG_OBJECT - 1) // BACKLOG_OBJECT)
    backlog_bytes = n_big * BACKLOG_OBJECT
    work = pick_workdir(2 * backlog_bytes)
    print(f"work dir {work} ({shutil.disk_usage(work).free / GIB:.1f} GiB free); backlog {n_big} x 64 MiB")
    reg = h.ProcessRegistry()
    try:
        weed = h.start_seaweedfs(reg, work / "weed", name="weed", buckets=("lat",))
        rcl = h.start_rclone_serve(reg, work / "rclone", name="rclone", buckets=("lat",))
        stores = [rh.Store("weed", weed, "lat"), rh.Store("rclone", rcl, "lat")]
        cred = h.Credential.random("LOAD")
        repl = {}
        if args.max_bytes_per_sec is not None:
            repl["max_bytes_per_sec"] = args.max_bytes_per_sec
        if args.busy_bytes_per_sec is not None:
            repl["busy_bytes_per_sec"] = args.busy_bytes_per_sec
        cfg = rh.repl_config(stores, h.VirtualBucket(VB, [cred]), factor=2, replication=repl)
        orch = h.Orchestrator(reg, work / "orch", cfg)
        orch.start()
        client = orch.client(cred)

        small = [f"small/{i:03d}" for i in range(SMALL_COUNT)]
        for k in small:
            client.put_object(Bucket=VB, Key=k, Body=os.urandom(SMALL_SIZE))
        rh.wait_converged(stores, VB, small, 2, orch=orch, timeout=SETTLE_TIMEOUT_S)

        print(f"idle: {args.threads} threads of 4 KiB GETs for {args.duration:.0f}s ...", flush=True)
        procs = {"orchestrator": orch.proc, "seaweedfs": weed.proc, "rclone serve s3": rcl.proc}
        cpu_idle = CpuMeter(procs)
        cpu_idle.start()
        idle, idle_err = measure(orch, cred, small, args.duration, args.threads)
        cpu_idle.stop()

        # Build the backlog with copies stalled, then restart at the normal rate.
        normal = orch.config
        orch.stop()
        orch.write_config(rh.with_replication(normal, max_bytes_per_sec=STALL_RATE, busy_bytes_per_sec=STALL_RATE))
        start_again(orch)
        big = [f"big/{i:04d}" for i in range(n_big)]
        blob = os.urandom(BACKLOG_OBJECT)  # same bytes per object: the copy cost does not depend on them
        t0 = time.monotonic()

        def put(k: str) -> None:
            orch.client(cred).put_object(Bucket=VB, Key=k, Body=blob)

        with cf.ThreadPoolExecutor(UPLOAD_THREADS) as ex:
            list(ex.map(put, big))
        print(f"uploaded {backlog_bytes / GIB:.2f} GiB in {time.monotonic() - t0:.1f}s with copies stalled")
        # Control: the same GETs with the backlog queued but stalled, after a restart like the one
        # before the backlog phase: what the uploads alone (backend state, a fresh process) change.
        orch.kill9()
        start_again(orch)
        print(f"control: backlog queued but stalled; measuring ...", flush=True)
        ctl_bytes0 = rh.metric_value(orch, "s3o_replication_bytes_total") or 0.0
        cpu_ctl = CpuMeter(procs)
        cpu_ctl.start()
        ctl, ctl_err = measure(orch, cred, small, args.duration, args.threads)
        cpu_ctl.stop()
        ctl_copied = (rh.metric_value(orch, "s3o_replication_bytes_total") or 0.0) - ctl_bytes0
        print(f"control: {ctl_copied / KIB:.0f} KiB copied while stalled; {copied_bytes(stores, big) / MIB:.0f} MiB of second copies exist")
        # A stalled copy sleeps in the token bucket for a minute per buffer, which a graceful stop would
        # wait out; the durable queue makes a crash equivalent, so kill it.
        orch.kill9()
        orch.write_config(normal)
        start_again(orch)
        before = copied_bytes(stores, big)
        print(f"backlog: {(backlog_bytes - before) / GIB:.2f} GiB queued; measuring ...", flush=True)
        bytes0 = rh.metric_value(orch, "s3o_replication_bytes_total") or 0.0
        t1 = time.monotonic()
        cpu_busy = CpuMeter(procs)
        cpu_busy.start()
        busy, busy_err = measure(orch, cred, small, args.duration, args.threads)
        cpu_busy.stop()
        elapsed = time.monotonic() - t1
        copied_rate = ((rh.metric_value(orch, "s3o_replication_bytes_total") or 0.0) - bytes0) / elapsed
        after = copied_bytes(stores, big)
        left = backlog_bytes - after

        # Bracket the backlog phase in time: let the backlog drain (no clients, so at the full rate),
        # then measure idle again. The verdict uses both idle phases, so a drift of the machine
        # during the run does not decide it.
        rate = args.max_bytes_per_sec or DEFAULT_MAX_BYTES_PER_SEC
        drain_timeout = DRAIN_MARGIN_S + DRAIN_SLACK * left / rate
        print(f"letting the remaining {left / MIB:.0f} MiB drain (up to {drain_timeout:.0f}s) ...", flush=True)
        t2 = time.monotonic()
        rh.wait_converged(stores, VB, small + big, 2, orch=orch, timeout=drain_timeout)
        print(f"drained in {time.monotonic() - t2:.0f}s; idle again for {args.duration:.0f}s ...", flush=True)
        cpu_idle2 = CpuMeter(procs)
        cpu_idle2.start()
        idle2, idle2_err = measure(orch, cred, small, args.duration, args.threads)
        cpu_idle2.stop()
        idle_before = idle
        idle = idle_before + idle2
        idle_err += idle2_err

        p50i, p99i = pct(idle, 50), pct(idle, 99)
        p50b, p99b = pct(busy, 50), pct(busy, 99)
        ratio = p99b / p99i
        ms = 1000.0
        print()
        print(f"{'phase':14} {'GETs':>7} {'err':>4} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
        def row(name: str, xs: list[float], err: int) -> None:
            print(f"{name:14} {len(xs):7d} {err:4d} {pct(xs, 50) * ms:8.2f} {pct(xs, 99) * ms:8.2f} {statistics.mean(xs) * ms:8.2f}")

        row("idle before", idle_before, idle_err - idle2_err)
        row("idle after", idle2, idle2_err)
        row("idle (both)", idle, idle_err)
        row("stalled", ctl, ctl_err)
        row("backlog", busy, busy_err)
        print(
            f"second copies finished during the backlog phase: {(after - before) / MIB:.0f} MiB in {elapsed:.1f}s "
            f"(copies already under way when it began count too); {left / MIB:.0f} MiB still queued at the end"
        )
        print(f"copy rate during the backlog phase (s3o_replication_bytes_total): {copied_rate / MIB:.1f} MiB/s")
        print_cpu([("idle", cpu_idle), ("stalled", cpu_ctl), ("backlog", cpu_busy), ("idle 2", cpu_idle2)])
        if left == 0:
            print("WARNING: the backlog drained before the measurement ended; the backlog phase is partly idle")
        print(f"control: p99 stalled / p99 idle = {pct(ctl, 99) / p99i:.2f} (what the uploads and a restart alone change)")
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        print(
            f"p99 backlog / p99 idle (both idle phases) = {p99b * ms:.2f} / {p99i * ms:.2f} ms = {ratio:.2f} "
            f"(target <= {TARGET_RATIO}): {verdict}"
        )
        return 0 if verdict == "PASS" else 1
    finally:
        errors = reg.stop_all()
        if errors:
            print(f"could not stop: {errors}", file=sys.stderr)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
