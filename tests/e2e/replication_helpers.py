"""Helpers for the replication tests and the replication latency load test.

Replication is observed from the outside: every backend is asked directly (boto3 against each backend's
own bucket) which objects it holds. The orchestrator stores object `key` of virtual bucket `vb` as
`vb/key` in each backend's bucket, so a backend bucket used by one test only holds exactly that test's
copies, and "no extra copies" is a plain comparison of listings.

Plain Python, no pytest dependency (the load test imports it too). Set RH_DEBUG=1 to print what each
convergence poll still finds wrong (run pytest with -s).
"""

from __future__ import annotations

import copy as _copy
import os
import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

import harness as h

#: Objects per ListObjectsV2 page asked of a backend (the S3 maximum; fewer round trips per poll).
LIST_PAGE = 1000
#: Longest a replication test waits for the backends to converge. Backlogs are a few MiB at a few MiB/s,
#: so convergence takes seconds; the bound only turns a stuck replicator into a clear failure.
CONVERGE_TIMEOUT_S = 90.0
#: How long a converged state must stay unchanged before it counts: the cleanup queue drains
#: asynchronously, so a listing that briefly matches while a late copy or delete is in flight must not pass.
STABLE_FOR_S = 1.5
#: Interval between two listings of every backend while polling.
POLL_INTERVAL_S = 0.2


#: boto3 clients per backend server (endpoint, access key); boto3 clients are thread-safe.
_clients: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class Store:
    """One orchestrator backend: a bucket on a real S3 server, under a config name."""

    name: str  # the orchestrator's backend name
    server: h.S3Backend
    bucket: str

    def entry(self, **extra: Any) -> dict[str, Any]:
        """This store as an entry of the orchestrator's `backends:` list."""
        return self.server.config_entry(self.bucket, name=self.name, **extra)

    def client(self):
        """A boto3 client for the server, made once: creating one costs tens of milliseconds of CPU,
        too much to repeat on every poll."""
        key = (self.server.endpoint, self.server.cred.access_key)
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = self.server.client()
        return client

    def list_keys(self) -> set[str]:
        """Every key in the store's bucket (paginated), e.g. `vb/key`."""
        client = self.client()
        keys: set[str] = set()
        token: Optional[str] = None
        while True:
            kw: dict[str, Any] = {"Bucket": self.bucket, "MaxKeys": LIST_PAGE}
            if token:
                kw["ContinuationToken"] = token
            resp = client.list_objects_v2(**kw)
            keys.update(o["Key"] for o in resp.get("Contents", []))
            if not resp.get("IsTruncated"):
                return keys
            token = resp["NextContinuationToken"]

    def read(self, backend_key: str) -> bytes:
        return self.client().get_object(Bucket=self.bucket, Key=backend_key)["Body"].read()


def make_stores(servers: Iterable[h.S3Backend], tag: str) -> list[Store]:
    """A fresh bucket on each server (one per test, so listings hold only that test's copies)."""
    stores = []
    suffix = secrets.token_hex(3)
    for i, server in enumerate(servers):
        bucket = f"r-{tag}-{i}-{suffix}"[:63]
        server.create_bucket(bucket)
        stores.append(Store(f"{tag}-{i}", server, bucket))
    return stores


def placement(stores: Iterable[Store]) -> dict[str, set[str]]:
    """Backend key -> names of the stores holding it (every key in every store's bucket)."""
    where: dict[str, set[str]] = {}
    for s in stores:
        for k in s.list_keys():
            where.setdefault(k, set()).add(s.name)
    return where


def placement_problems(
    where: Mapping[str, set[str]], expected_keys: Iterable[str], factor: int, vbucket: str
) -> list[str]:
    """What keeps `where` from being exactly `factor` copies of each expected key and nothing else."""
    expected = {f"{vbucket}/{k}" for k in expected_keys}
    problems = []
    for bk in sorted(expected):
        n = len(where.get(bk, ()))
        if n != factor:
            problems.append(f"{bk}: {n} copies on {sorted(where.get(bk, ()))}, want {factor}")
    for bk in sorted(set(where) - expected):
        problems.append(f"{bk}: unexpected object on {sorted(where[bk])}")
    return problems


def wait_converged(
    stores: list[Store],
    vbucket: str,
    expected_keys: Iterable[str],
    factor: int,
    *,
    timeout: float = CONVERGE_TIMEOUT_S,
    orch: Optional[h.Orchestrator] = None,
    stable_for: float = STABLE_FOR_S,
    on_poll: Optional[Callable[[], None]] = None,
    extra_problems: Optional[Callable[[dict[str, set[str]]], list[str]]] = None,
) -> dict[str, set[str]]:
    """Polls the backends until every expected key has exactly `factor` copies and no store holds any
    other object (and `extra_problems(placement)` finds nothing), and that state holds for `stable_for`
    seconds. `on_poll` runs before each poll (e.g. client reads that drive a circuit breaker). Returns the placement; on timeout
    raises HarnessError listing what is still wrong (and the orchestrator's log tail)."""
    expected = sorted(set(expected_keys))
    deadline = time.monotonic() + timeout
    good_since: Optional[float] = None
    good_where: Optional[dict[str, set[str]]] = None
    problems: list[str] = ["never polled"]
    while True:
        if orch is not None and not orch.alive:
            raise h.HarnessError(f"orchestrator died while converging\n{orch.log_tail()}")
        if on_poll is not None:
            on_poll()
        where = placement(stores)
        problems = placement_problems(where, expected, factor, vbucket)
        if extra_problems is not None:
            problems += extra_problems(where)
        now = time.monotonic()
        if os.environ.get("RH_DEBUG"):
            print(f"{time.strftime('%H:%M:%S')} poll: {len(problems)} problems {problems[:3]}", flush=True)
        if not problems:
            if good_where != where:
                good_since, good_where = now, where
            elif good_since is not None and now - good_since >= stable_for:
                return where
        else:
            good_since, good_where = None, None
        if now >= deadline:
            msg = f"replication did not converge within {timeout:.0f}s ({len(problems)} problems):\n  " + "\n  ".join(
                problems[:30]
            )
            if orch is not None:
                msg += f"\n--- {orch.name} log tail ---\n{orch.log_tail()}"
            raise h.HarnessError(msg)
        time.sleep(POLL_INTERVAL_S)


def copy_counts(where: Mapping[str, set[str]], vbucket: str, keys: Iterable[str]) -> dict[str, int]:
    return {k: len(where.get(f"{vbucket}/{k}", ())) for k in keys}


def repl_config(
    stores: list[Store],
    vbucket: h.VirtualBucket,
    *,
    factor: int,
    replication: Optional[dict[str, Any]] = None,
    extra: Optional[dict[str, Any]] = None,
    routing_strategy: str = "spread",
) -> dict[str, Any]:
    """An orchestrator config over `stores` with replication settings (durations as config text)."""
    repl: dict[str, Any] = {"factor": factor}
    repl.update(replication or {})
    return h.orchestrator_config(
        backends=[s.entry() for s in stores],
        buckets=[vbucket],
        routing_strategy=routing_strategy,
        replication_factor=factor,
        extra=h.deep_merge({"replication": repl}, extra or {}),
    )


def with_replication(cfg: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`cfg` with `replication` keys changed; a value of None removes the key (back to its default)."""
    out = _copy.deepcopy(cfg)
    repl = out.setdefault("replication", {})
    for k, v in changes.items():
        if v is None:
            repl.pop(k, None)
        else:
            repl[k] = v
    return out


# ---------------------------------------------------------------------------------------------------
# Admin endpoint: metrics and log lines
# ---------------------------------------------------------------------------------------------------


def metrics_text(orch: h.Orchestrator) -> Optional[str]:
    """The admin /metrics body, or None when the endpoint does not exist (yet) or fails."""
    try:
        r = h.http_request("GET", f"{orch.admin}/metrics", timeout=5)
    except OSError:
        return None
    if r.status != 200:
        return None
    return r.body.decode(errors="replace")


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def metric_samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Samples of metric `name` in Prometheus text: (labels, value) pairs."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        try:
            out.append((labels, float(m.group(3))))
        except ValueError:
            continue
    return out


def metric_value(orch: h.Orchestrator, metric: str, **labels: str) -> Optional[float]:
    """Sum of the samples of `metric` whose labels include `labels`; None if there are none."""
    text = metrics_text(orch)
    if text is None:
        return None
    vals = [v for lab, v in metric_samples(text, metric) if all(lab.get(k) == w for k, w in labels.items())]
    return sum(vals) if vals else None


def exports_metric(orch: h.Orchestrator, name: str) -> bool:
    """Whether the running binary's /metrics mentions `name` (a sample or its # HELP/# TYPE line)."""
    text = metrics_text(orch)
    return text is not None and re.search(rf"(^|\s){re.escape(name)}(\{{|\s)", text, re.M) is not None


def log_has(orch: h.Orchestrator, pattern: str, since: int = 0) -> bool:
    """Whether the orchestrator's log (from byte offset `since`) matches the regex (case-insensitive)."""
    return re.search(pattern, orch.log_text()[since:], re.I) is not None


def log_size(orch: h.Orchestrator) -> int:
    return len(orch.log_text())


def validate_config(orch: h.Orchestrator, cfg: dict[str, Any]) -> tuple[bool, str]:
    """Runs `s3-orchestrator --config FILE validate` on `cfg` (written next to the orchestrator's own
    config); returns (accepted, output)."""
    path = orch.workdir / f"candidate-{secrets.token_hex(3)}.yaml"
    import yaml

    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = subprocess.run(
        [str(orch.binary), "--config", str(path), "validate"],
        capture_output=True,
        text=True,
        timeout=h.CLI_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    return res.returncode == 0, res.stdout + res.stderr
