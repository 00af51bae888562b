"""Replication (issue 4): `replication.factor` copies across real backends, made by the background shard.

Backends are SeaweedFS and two `rclone serve s3` servers (two server implementations). Each test uses
fresh buckets on them, so a backend bucket holds exactly that test's copies and "nothing extra left
behind" is a comparison of listings. Placement is observed by asking every backend directly; content by
reading each copy from its backend and comparing SHA-256 with what the client uploaded.

Tests that need features other branches are building (circuit breakers, config reload) check at runtime
whether the running binary has them and skip with the reason when it does not.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable

import botocore.exceptions
import pytest

import harness as h
import replication_helpers as rh

VB = "app-repl"
KIB = 1024
MIB = 1024 * KIB
#: Copy bandwidth while a backlog must exist: a few MiB of objects then take seconds to replicate.
SLOW_RATE = 2 * MIB
#: A copy rate that stalls copies (bytes/s): after the token bucket's 256 KiB burst nothing more moves.
STALL_RATE = 1024
#: Copies in flight while throttled: few, so most of the backlog is still queued when the test acts.
SLOW_CONCURRENCY = 2
#: Longest wait for the replication shard's first copy of a backlog (it starts within a poll of its
#: idle timer, 2 s, and is usually woken at once).
FIRST_COPY_TIMEOUT_S = 20.0
#: Short test values for self-healing: the breaker opens after one failure and probes after 1 s; copies
#: on a backend down for 3 s stop counting; the catalog scan that notices runs every second.
TEST_UNHEALTHY_THRESHOLD = "3s"
TEST_WORKER_INTERVAL = "1s"
TEST_BREAKER = {"enabled": True, "failure_threshold": 1, "open_timeout": "1s"}
#: How long a SIGHUP may take to show "config reloaded" in the log before the test concludes that the
#: running binary has no reload.
RELOAD_LOG_TIMEOUT_S = 15.0
#: After rebalancing, every backend's copy count must be within this fraction of the even share.
REBALANCE_TOLERANCE = 0.25


# --------------------------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rclone_b(backends) -> h.S3Backend:
    """A second rclone server, so three backends mix two implementations (weed + 2 rclone)."""
    return backends.rclone("rclone-b", buckets=())


@pytest.fixture
def servers(seaweed_backend, rclone_backend, rclone_b) -> list[h.S3Backend]:
    return [seaweed_backend, rclone_backend, rclone_b]


@pytest.fixture
def cred() -> h.Credential:
    return h.Credential.random("REPL")


def _vb(cred: h.Credential) -> h.VirtualBucket:
    return h.VirtualBucket(VB, [cred])


def _put_all(client, objects: dict[str, bytes]) -> None:
    for k, data in objects.items():
        client.put_object(Bucket=VB, Key=k, Body=data)


def _payload(size: int) -> bytes:
    return os.urandom(size)


def _assert_copies_match(stores: list[rh.Store], where, objects: dict[str, bytes], factor: int) -> None:
    """Every copy, read directly from its backend, has the bytes the client uploaded last."""
    by_name = {s.name: s for s in stores}
    for k, data in objects.items():
        bk = f"{VB}/{k}"
        holders = sorted(where.get(bk, ()))
        assert len(holders) == factor, f"{k}: copies on {holders}, want {factor}"
        want = h.sha256_hex(data)
        for name in holders:
            got = h.sha256_hex(by_name[name].read(bk))
            assert got == want, f"{k}: copy on {name} has sha256 {got}, want {want} ({len(data)} bytes)"


def _assert_served(client, objects: dict[str, bytes]) -> None:
    for k, data in objects.items():
        body = client.get_object(Bucket=VB, Key=k)["Body"].read()
        assert h.sha256_hex(body) == h.sha256_hex(data), f"GET {k} through the orchestrator: wrong content"


def _wait_some_copies(stores, keys, orch, at_least: int = 1) -> dict[str, int]:
    """Waits until the shard has finished at least `at_least` second copies; returns the copy counts."""

    def some() -> dict[str, int] | None:
        counts = rh.copy_counts(rh.placement(stores), VB, keys)
        return counts if sum(1 for n in counts.values() if n >= 2) >= at_least else None

    return h.wait_until(some, FIRST_COPY_TIMEOUT_S, "the replication shard's first copies", orch.proc)


def _multipart_put(client, key: str, parts: list[bytes]) -> None:
    up = client.create_multipart_upload(Bucket=VB, Key=key)
    done = []
    for i, p in enumerate(parts, start=1):
        r = client.upload_part(Bucket=VB, Key=key, UploadId=up["UploadId"], PartNumber=i, Body=p)
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    client.complete_multipart_upload(
        Bucket=VB, Key=key, UploadId=up["UploadId"], MultipartUpload={"Parts": done}
    )


# --------------------------------------------------------------------------------------------------------
# Reaching the factor
# --------------------------------------------------------------------------------------------------------


def test_factor2_over_three_backends_exact_copies_identical_bytes(servers, cred, make_orchestrator):
    stores = rh.make_stores(servers, "f2")
    orch = make_orchestrator(rh.repl_config(stores, _vb(cred), factor=2), name="repl-f2")
    client = orch.client(cred)
    sizes = [0, 1, 100, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 200 * KIB, 1 * MIB + 3, 3 * MIB]
    objects = {f"obj/{i:02d}-{n}": _payload(n) for i, n in enumerate(sizes)}
    objects.update({f"small/{i:02d}": _payload(1000 + i) for i in range(12)})
    objects["odd names/ünï cødé+plus&amp=eq?.bin"] = _payload(4321)
    _put_all(client, objects)
    mp_parts = [_payload(5 * MIB), _payload(1 * MIB + 7)]
    _multipart_put(client, "multipart/6mib", mp_parts)
    objects["multipart/6mib"] = b"".join(mp_parts)

    where = rh.wait_converged(stores, VB, objects, 2, orch=orch)

    _assert_copies_match(stores, where, objects, 2)
    used = {name for holders in where.values() for name in holders}
    assert used == {s.name for s in stores}, f"spread over 3 backends left one unused: {sorted(used)}"
    _assert_served(client, objects)
    orch.stop()


def test_factor3_every_backend_holds_a_copy(servers, cred, make_orchestrator):
    stores = rh.make_stores(servers, "f3")
    orch = make_orchestrator(rh.repl_config(stores, _vb(cred), factor=3), name="repl-f3")
    client = orch.client(cred)
    objects = {f"k{i}": _payload(n) for i, n in enumerate([0, 10, 64 * KIB + 5, 700 * KIB, 2 * MIB])}
    _put_all(client, objects)

    where = rh.wait_converged(stores, VB, objects, 3, orch=orch)

    for k in objects:
        assert where[f"{VB}/{k}"] == {s.name for s in stores}, k
    _assert_copies_match(stores, where, objects, 3)
    _assert_served(client, objects)
    orch.stop()


# --------------------------------------------------------------------------------------------------------
# Crash safety
# --------------------------------------------------------------------------------------------------------


def test_kill9_mid_replication_converges_nothing_lost_or_duplicated(servers, cred, make_orchestrator):
    stores = rh.make_stores(servers, "k9")
    cfg = rh.repl_config(
        stores,
        _vb(cred),
        factor=2,
        replication={"max_bytes_per_sec": STALL_RATE, "concurrency": SLOW_CONCURRENCY},
    )
    orch = make_orchestrator(cfg, name="repl-kill9")
    client = orch.client(cred)
    objects = {f"backlog/{i:02d}": _payload(512 * KIB + i) for i in range(16)}
    _put_all(client, objects)  # every PUT was acknowledged: each object must survive

    # Crash 1: copies stalled mid-stream (at most the token bucket's 256 KiB burst got through).
    orch.kill9()
    at_kill = rh.copy_counts(rh.placement(stores), VB, objects)
    assert all(n >= 1 for n in at_kill.values()), f"an acknowledged object has no copy at all: {at_kill}"
    assert any(n < 2 for n in at_kill.values()), f"copies were not stalled: {at_kill}"
    done = sum(1 for n in at_kill.values() if n >= 2)

    # Crash 2: restarted at 2 MiB/s, killed again while the durable queue is being worked through.
    orch.write_config(rh.with_replication(orch.config, max_bytes_per_sec=SLOW_RATE))
    orch.start()
    _wait_some_copies(stores, objects, orch, at_least=done + 1)
    orch.kill9()
    at_kill = rh.copy_counts(rh.placement(stores), VB, objects)
    assert all(n >= 1 for n in at_kill.values()), f"an acknowledged object has no copy at all: {at_kill}"
    pending = [k for k, n in at_kill.items() if n < 2]
    assert pending, f"the backlog was already done when killed (raise the object count): {at_kill}"

    # Restart at the normal copy rate: the queue must finish every copy, exactly once.
    orch.write_config(rh.with_replication(orch.config, max_bytes_per_sec=None, concurrency=None))
    orch.start()
    where = rh.wait_converged(stores, VB, objects, 2, orch=orch)

    _assert_copies_match(stores, where, objects, 2)
    client = orch.client(cred)
    _assert_served(client, objects)
    listed = client.list_objects_v2(Bucket=VB)
    assert sorted(o["Key"] for o in listed.get("Contents", [])) == sorted(objects)
    orch.stop()


# --------------------------------------------------------------------------------------------------------
# Throttle: copies slow down while clients are served
# --------------------------------------------------------------------------------------------------------

#: Idle and busy copy rates of the yielding test: far apart, so which one applies is unmistakable.
YIELD_IDLE_RATE = 4 * MIB
YIELD_BUSY_RATE = 256 * KIB
#: What may pass beyond the busy rate in a window: the bucket's burst plus what copies at the idle
#: rate move before the next activity sample sees the clients (a generous bound).
YIELD_SLACK_BYTES = 1 * MIB
#: Length of the measured windows (s).
YIELD_WINDOW_S = 3.0


def _copied(orch) -> float:
    v = rh.metric_value(orch, "s3o_replication_bytes_total")
    assert v is not None, "s3o_replication_bytes_total is not exported"
    return v


def test_copies_yield_to_client_traffic(servers, cred, make_orchestrator):
    """While client requests are served, copies run at `busy_bytes_per_sec`; once clients stop, at
    `max_bytes_per_sec`. Measured with s3o_replication_bytes_total and s3o_replication_yielding."""
    stores = rh.make_stores(servers, "yield")
    cfg = rh.repl_config(
        stores,
        _vb(cred),
        factor=2,
        replication={
            "max_bytes_per_sec": YIELD_IDLE_RATE,
            "busy_bytes_per_sec": YIELD_BUSY_RATE,
            "concurrency": SLOW_CONCURRENCY,
        },
    )
    orch = make_orchestrator(cfg, name="repl-yield")
    client = orch.client(cred)
    objects = {f"yield/{i:02d}": _payload(512 * KIB + i) for i in range(32)}  # 16 MiB to copy
    _put_all(client, objects)

    # Clients active: a loop of GETs from another thread.
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        c = orch.client(cred)
        keys = list(objects)
        i = 0
        while not stop.is_set():
            try:
                c.head_object(Bucket=VB, Key=keys[i % len(keys)])
            except BaseException as e:  # noqa: BLE001 - reported by the test
                errors.append(e)
                return
            i += 1

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        h.wait_until(
            lambda: rh.metric_value(orch, "s3o_replication_yielding") == 1,
            10.0,
            "s3o_replication_yielding to be 1 while clients are served",
            orch.proc,
        )
        b0, t0 = _copied(orch), time.monotonic()
        time.sleep(YIELD_WINDOW_S)  # a measurement window, not a wait for a condition
        b1, t1 = _copied(orch), time.monotonic()
        assert rh.metric_value(orch, "s3o_replication_yielding") == 1
    finally:
        stop.set()
        t.join(30)
    assert not errors, f"client requests failed: {errors[:1]}"
    busy_bytes = b1 - b0
    busy_bound = YIELD_BUSY_RATE * (t1 - t0) + YIELD_SLACK_BYTES
    assert busy_bytes <= busy_bound, (
        f"copies moved {busy_bytes / KIB:.0f} KiB in {t1 - t0:.1f}s while clients were served; the busy rate "
        f"allows {busy_bound / KIB:.0f} KiB"
    )
    left = sum(len(d) for d in objects.values()) - b1
    assert left > YIELD_IDLE_RATE * YIELD_WINDOW_S, f"the backlog is nearly done already ({left / KIB:.0f} KiB left)"

    # Clients gone: back to the idle rate after the hold.
    h.wait_until(
        lambda: rh.metric_value(orch, "s3o_replication_yielding") == 0,
        10.0,
        "s3o_replication_yielding to return to 0 after clients stopped",
        orch.proc,
    )
    b2, t2 = _copied(orch), time.monotonic()
    time.sleep(YIELD_WINDOW_S)  # a measurement window
    b3, t3 = _copied(orch), time.monotonic()
    idle_bytes = b3 - b2
    assert idle_bytes > 4 * busy_bound * (t3 - t2) / (t1 - t0), (
        f"copies moved only {idle_bytes / KIB:.0f} KiB in {t3 - t2:.1f}s with no clients (idle rate "
        f"{YIELD_IDLE_RATE / KIB:.0f} KiB/s, busy bound {busy_bound / KIB:.0f} KiB per window)"
    )

    where = rh.wait_converged(stores, VB, objects, 2, orch=orch)
    _assert_copies_match(stores, where, objects, 2)
    orch.stop()


# --------------------------------------------------------------------------------------------------------
# Overwrites and deletes while copies are under way
# --------------------------------------------------------------------------------------------------------


def test_overwrite_and_delete_races_during_replication(servers, cred, make_orchestrator):
    stores = rh.make_stores(servers, "race")
    cfg = rh.repl_config(
        stores,
        _vb(cred),
        factor=2,
        replication={"max_bytes_per_sec": SLOW_RATE, "concurrency": SLOW_CONCURRENCY},
    )
    orch = make_orchestrator(cfg, name="repl-race")
    client = orch.client(cred)
    keys = [f"race/{i:02d}" for i in range(16)]
    current = {k: _payload(512 * KIB + i) for i, k in enumerate(keys)}
    _put_all(client, current)
    # Act while the shard is busy: some copies done, some in flight, most still queued.
    _wait_some_copies(stores, keys, orch)

    overwrite = [keys[i] for i in (0, 1, 2, 9, 10, 11)]
    delete = [keys[i] for i in (3, 4, 12, 13)]
    recreate = [keys[i] for i in (5, 14)]  # deleted, then written again
    twice = keys[6]  # two overwrites in a row
    for k in overwrite:
        current[k] = _payload(300 * KIB + len(k))
        client.put_object(Bucket=VB, Key=k, Body=current[k])
    for k in delete + recreate:
        client.delete_object(Bucket=VB, Key=k)
        del current[k]
    for k in recreate:
        current[k] = _payload(200 * KIB + 11)
        client.put_object(Bucket=VB, Key=k, Body=current[k])
    for n in (100 * KIB, 250 * KIB):
        current[twice] = _payload(n)
        client.put_object(Bucket=VB, Key=twice, Body=current[twice])

    where = rh.wait_converged(stores, VB, current, 2, orch=orch)

    for k in delete:
        assert f"{VB}/{k}" not in where, f"deleted {k} still on {where.get(f'{VB}/{k}')}"
        with pytest.raises(botocore.exceptions.ClientError) as e:
            client.head_object(Bucket=VB, Key=k)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    _assert_copies_match(stores, where, current, 2)  # overwritten keys: both copies have the NEW bytes
    _assert_served(client, current)
    listed = client.list_objects_v2(Bucket=VB)
    assert sorted(o["Key"] for o in listed.get("Contents", [])) == sorted(current)
    orch.stop()


# --------------------------------------------------------------------------------------------------------
# Self-healing (needs circuit breakers)
# --------------------------------------------------------------------------------------------------------


def _skip_unless_breakers(orch: h.Orchestrator) -> None:
    if not rh.exports_metric(orch, "s3o_circuit_breaker_state"):
        orch.stop()
        pytest.skip(
            "needs circuit breakers: the running binary does not export s3o_circuit_breaker_state on "
            f"{orch.admin}/metrics, so this binary has no breakers to open"
        )


def _reader(client, keys) -> Callable[[], None]:
    """A poll hook: GET every key through the orchestrator (errors ignored). Client traffic is what
    lets a breaker see a backend fail and, later, probe it again."""

    def read_all() -> None:
        for k in keys:
            try:
                client.get_object(Bucket=VB, Key=k)["Body"].read()
            except Exception:  # noqa: BLE001 - availability is not what this test checks
                pass

    return read_all


@pytest.mark.needs_breaker
def test_long_outage_makes_replacement_copies_then_trims_excess(
    seaweed_backend, rclone_backend, backends, cred, make_orchestrator
):
    flaky = backends.rclone("rclone-flaky", buckets=())
    stores = rh.make_stores([seaweed_backend, rclone_backend, flaky], "heal")
    down = stores[2]
    healthy = stores[:2]
    cfg = rh.repl_config(
        stores,
        _vb(cred),
        factor=2,
        replication={"unhealthy_threshold": TEST_UNHEALTHY_THRESHOLD, "worker_interval": TEST_WORKER_INTERVAL},
        extra={"backend_circuit_breaker": TEST_BREAKER},
    )
    orch = make_orchestrator(cfg, name="repl-heal", start=False)
    ok, _ = rh.validate_config(orch, orch.config)
    if not ok:
        # Breaker keys beyond `enabled` may not exist in this binary: fall back to their defaults.
        fallback = h.deep_merge(orch.config, {})
        fallback["backend_circuit_breaker"] = {"enabled": True}
        orch.write_config(fallback)
    orch.start()
    _skip_unless_breakers(orch)

    client = orch.client(cred)
    objects = {f"heal/{i:02d}": _payload(64 * KIB + i) for i in range(12)}
    _put_all(client, objects)
    where = rh.wait_converged(stores, VB, objects, 2, orch=orch)
    on_down = [k for k in objects if down.name in where[f"{VB}/{k}"]]
    assert on_down, "spread put no copy on the backend about to be stopped"
    health_before = rh.metric_value(orch, "s3o_replication_health_copies_total") or 0.0

    flaky.stop()
    reads = _reader(client, objects)
    # Replacement copies: every object has 2 copies on the two backends still up.
    where_up = rh.wait_converged(healthy, VB, objects, 2, orch=orch, on_poll=reads)
    _assert_copies_match(healthy, where_up, objects, 2)
    state = rh.metric_value(orch, "s3o_circuit_breaker_state", name=down.name)
    assert state is not None and state != 0, f"breaker of the stopped backend reports {state}"
    health_after = rh.metric_value(orch, "s3o_replication_health_copies_total")
    assert health_after is not None and health_after - health_before >= len(on_down), (
        f"s3o_replication_health_copies_total went {health_before} -> {health_after}; "
        f"{len(on_down)} replacement copies were made"
    )

    flaky.restart()  # comes back with its old copies: now one copy too many of each of `on_down`
    where = rh.wait_converged(stores, VB, objects, 2, orch=orch, on_poll=reads)
    _assert_copies_match(stores, where, objects, 2)
    _assert_served(client, objects)
    h.wait_until(
        lambda: rh.metric_value(orch, "s3o_circuit_breaker_state", name=down.name) == 0,
        rh.CONVERGE_TIMEOUT_S,
        f"breaker of {down.name} to close again",
        orch.proc,
    )
    orch.stop()


# --------------------------------------------------------------------------------------------------------
# Rebalancing after adding a backend (needs config reload)
# --------------------------------------------------------------------------------------------------------


@pytest.mark.needs_reload
def test_added_fourth_backend_rebalances_after_sighup(servers, backends, cred, make_orchestrator):
    newcomer = backends.rclone("rclone-new", buckets=())
    stores = rh.make_stores(servers + [newcomer], "rebal")
    first3, fourth = stores[:3], stores[3]
    cfg = rh.repl_config(first3, _vb(cred), factor=2, replication={"worker_interval": TEST_WORKER_INTERVAL})
    orch = make_orchestrator(cfg, name="repl-rebalance")
    client = orch.client(cred)
    # Equal sizes, so "even usage" is "even copy counts".
    objects = {f"rebal/{i:02d}": _payload(64 * KIB) for i in range(24)}
    _put_all(client, objects)
    rh.wait_converged(first3, VB, objects, 2, orch=orch)
    assert not fourth.list_keys()

    new_cfg = h.deep_merge(orch.config, {})
    new_cfg["backends"] = [s.entry() for s in stores]
    offset = rh.log_size(orch)
    orch.write_config(new_cfg)
    orch.reload()
    try:
        h.wait_until(
            lambda: rh.log_has(orch, r"config(uration)? reloaded", since=offset) or not orch.alive,
            RELOAD_LOG_TIMEOUT_S,
            "a 'config reloaded' log line",
        )
        reloaded = orch.alive and rh.log_has(orch, r"config(uration)? reloaded", since=offset)
    except h.HarnessError:
        reloaded = False
    if not reloaded:
        died = "" if orch.alive else f" (SIGHUP ended the process, exit code {orch.proc.returncode})"
        orch.stop()
        pytest.skip(
            f"needs config reload: no 'config reloaded' log line within {RELOAD_LOG_TIMEOUT_S:.0f}s "
            f"of SIGHUP{died}"
        )

    share = 2 * len(objects) / len(stores)
    low, high = share * (1 - REBALANCE_TOLERANCE), share * (1 + REBALANCE_TOLERANCE)

    def uneven(where) -> list[str]:
        counts = {s.name: 0 for s in stores}
        for holders in where.values():
            for n in holders:
                counts[n] += 1
        bad = {n: c for n, c in counts.items() if not low <= c <= high}
        return [f"copies per backend {counts}, want each in [{low:.0f}, {high:.0f}]"] if bad else []

    where = rh.wait_converged(stores, VB, objects, 2, orch=orch, extra_problems=uneven)
    _assert_copies_match(stores, where, objects, 2)
    _assert_served(client, objects)
    orch.stop()
