"""Observability on the admin listener: Prometheus `/metrics` (checked by promtool), `/stats` latency
percentiles and HdrHistogram log, the `stats` subcommand, the admin API, structured logs (request ids,
no secrets, run-time level change) and the web dashboard opened in real headless Chromium.

One orchestrator for the module, with its own `rclone serve s3` backend (killed by the last test) first
in `pack` order, so every object lands there, and a local-directory backend. Tests run in file order; the
outage test is last.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

import pytest

import harness as h

BUCKET = "obs-bucket"
ADMIN_KEY = "dash-admin"
#: Distinctive secrets: the log must never contain them.
ADMIN_SECRET = "AdminSecret-" + os.urandom(8).hex()
ADMIN_TOKEN = "AdminToken-" + os.urandom(8).hex()
#: Requests whose latency the /stats sanity check observes.
SAMPLE_REQUESTS = 40
#: Deadline for the dashboard to render after navigation (first paint plus one refresh).
DASHBOARD_TIMEOUT_S = 30.0
#: Timeout of one DevTools command.
CDP_TIMEOUT_S = 30.0
#: Screenshot size: the whole dashboard at a laptop-like width.
WINDOW = (1280, 1150)
REPO_ROOT = Path(__file__).resolve().parents[2]


def basic_auth(key: str = ADMIN_KEY, secret: str = ADMIN_SECRET) -> dict[str, str]:
    """Basic auth, with the header every changing admin request needs."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode(), **h.ADMIN_CSRF_HEADER}


class Obs:
    def __init__(self, orch: h.Orchestrator, cred: h.Credential, rclone: h.S3Backend, disk_name: str):
        self.orch = orch
        self.cred = cred
        self.rclone = rclone
        self.disk_name = disk_name
        self.client = orch.client(cred)

    def get(self, path: str, *, auth: bool = False, **kw: Any) -> h.RawResponse:
        headers = kw.pop("headers", {})
        if auth:
            headers.update(basic_auth())
        return h.http_request("GET", self.orch.admin + path, headers=headers, **kw)

    def json(self, path: str) -> Any:
        r = self.get(path, auth=True)
        assert r.status == 200, (path, r.status, r.body[:300])
        return json.loads(r.body)


#: A monthly request limit on the rclone backend far above what the tests send: shown with the usage.
RCLONE_API_REQUEST_LIMIT = 10_000_000


@pytest.fixture(scope="module")
def obs(make_orchestrator, backends, tmp_path_factory) -> Obs:
    rclone = backends.rclone("obs-rclone", buckets=("obs-data",))
    disk = tmp_path_factory.mktemp("obs-disk")
    cred = h.Credential.random("OBS")
    cfg = h.orchestrator_config(
        backends=[
            rclone.config_entry(name="rclone", api_request_limit=RCLONE_API_REQUEST_LIMIT),
            h.local_backend_entry("disk", disk / "d"),
        ],
        buckets=[h.VirtualBucket(BUCKET, [cred])],
        routing_strategy="pack",
        replication_factor=1,
        extra={
            "ui": {"enabled": True, "admin_key": ADMIN_KEY, "admin_secret": ADMIN_SECRET, "admin_token": ADMIN_TOKEN},
            "logging": {"access_log_level": "info"},
        },
    )
    orch = make_orchestrator(cfg, name="obs")
    o = Obs(orch, cred, rclone, "disk")
    o.client.put_object(Bucket=BUCKET, Key="seed/one.txt", Body=b"hello observability")
    yield o
    orch.stop()


# --------------------------------------------------------------------------------------------------------
# /metrics
# --------------------------------------------------------------------------------------------------------


def test_metrics_pass_promtool(obs: Obs, tmp_path: Path) -> None:
    c = obs.client
    c.put_object(Bucket=BUCKET, Key="m/a", Body=b"x" * 1000)
    c.get_object(Bucket=BUCKET, Key="m/a")["Body"].read()
    c.head_object(Bucket=BUCKET, Key="m/a")
    with pytest.raises(Exception):
        c.get_object(Bucket=BUCKET, Key="m/missing")
    r = obs.get("/metrics")
    assert r.status == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.body.decode()
    scrape = tmp_path / "metrics.txt"
    scrape.write_text(text)
    check = subprocess.run(
        [h.find_exe("promtool"), "check", "metrics"], input=r.body, capture_output=True, timeout=h.CLI_TIMEOUT_S
    )
    assert check.returncode == 0, f"promtool: {check.stdout.decode()}{check.stderr.decode()}\n(scrape in {scrape})"
    # promtool prints lint findings even when it exits 0 in some versions: there must be none.
    assert check.stdout.strip() == b"" and check.stderr.strip() == b"", check.stdout + check.stderr

    def value(series: str) -> float:
        m = re.search(r"^" + re.escape(series) + r" (\S+)$", text, re.M)
        assert m, f"{series} missing from /metrics"
        return float(m.group(1))

    assert value('s3o_requests_total{operation="PutObject",status="200"}') >= 2
    assert value('s3o_requests_total{operation="GetObject",status="404"}') >= 1
    assert value('s3o_request_duration_seconds_count{operation="GetObject"}') >= 2
    assert value('s3o_request_duration_seconds_bucket{operation="GetObject",le="+Inf"}') >= 2
    assert value("s3o_inflight_requests") >= 0
    assert value('s3o_backend_requests_total{backend="rclone",operation="PutObject",status="200"}') >= 2
    assert value('s3o_backend_duration_seconds_count{backend="rclone",operation="GetObject"}') >= 1
    assert value('s3o_circuit_breaker_state{name="rclone"}') == 0
    assert value('s3o_circuit_breaker_state{name="disk"}') == 0
    assert value('s3o_quota_bytes_used{backend="rclone"}') >= 1000
    # s3o_objects_count (the name) fails promtool's lint (`_count` is a histogram suffix).
    assert value('s3o_objects_stored{backend="rclone"}') >= 2
    assert "s3o_objects_count" not in text
    for name in (
        "s3o_replication_copies_created_total",
        "s3o_replication_errors_total",
        "s3o_replication_health_copies_total",
        "s3o_failover_total",
        "s3o_replication_pending",
    ):
        assert value(name) >= 0
    assert re.search(r'^s3o_build_info\{version="[0-9.]+"\} 1$', text, re.M)


# --------------------------------------------------------------------------------------------------------
# /stats and the stats subcommand
# --------------------------------------------------------------------------------------------------------


def test_stats_percentiles_are_consistent_with_observed_latency(obs: Obs, tmp_path: Path) -> None:
    before = json.loads(obs.get("/stats").body)
    prev = before["windows"]["since_start"]["operations"].get("HeadObject", {"count": 0})["count"]
    worst = 0.0
    for _ in range(SAMPLE_REQUESTS):
        t0 = time.monotonic()
        obs.client.head_object(Bucket=BUCKET, Key="seed/one.txt")
        worst = max(worst, time.monotonic() - t0)
    stats = json.loads(obs.get("/stats").body)
    assert stats["unit"] == "ms"
    for window in ("since_start", "last_60s"):
        p = stats["windows"][window]["operations"]["HeadObject"]
        assert p["count"] >= SAMPLE_REQUESTS
        # The server measures a part of what the client waited for.
        assert 0 < p["p50"] <= p["p90"] <= p["p99"] <= p["p99_9"] <= p["max"]
        assert p["max"] <= worst * 1000 * 1.02 + 1, (p, worst)
    assert stats["windows"]["since_start"]["operations"]["HeadObject"]["count"] == prev + SAMPLE_REQUESTS
    # Per-backend series exist too.
    assert "PutObject" in stats["windows"]["since_start"]["backends"]["rclone"]

    hdr = obs.get("/stats?format=hdr&window=last_60s")
    assert hdr.status == 200
    lines = hdr.body.decode().splitlines()
    assert any(l.startswith("#") and "microseconds" in l for l in lines)
    assert any(l.startswith('"StartTimestamp"') for l in lines)
    tagged = [l for l in lines if l.startswith("Tag=s3.HeadObject,")]
    assert len(tagged) == 1 and tagged[0].split(",")[-1].startswith("HISTFAA"), tagged
    assert obs.get("/stats?format=xml").status == 400

    out = subprocess.run(
        [str(obs.orch.binary), "stats", "--admin", obs.orch.admin],
        capture_output=True,
        text=True,
        timeout=h.CLI_TIMEOUT_S,
    )
    assert out.returncode == 0, out.stderr
    assert "last_60s" in out.stdout and "since_start" in out.stdout
    row = next(l for l in out.stdout.splitlines() if l.startswith("s3 HeadObject"))
    assert int(row.split()[2]) >= SAMPLE_REQUESTS
    (tmp_path / "stats.txt").write_text(out.stdout)


# --------------------------------------------------------------------------------------------------------
# Admin API
# --------------------------------------------------------------------------------------------------------


def test_admin_api_needs_credentials(obs: Obs) -> None:
    r = obs.get("/admin/status")
    assert r.status == 401 and "basic" in r.headers.get("www-authenticate", "").lower()
    assert obs.get("/admin/status", headers=basic_auth(secret="wrong")).status == 401
    ok = h.http_request("GET", obs.orch.admin + "/admin/status", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status == 200
    # Scrape endpoints stay open.
    assert obs.get("/metrics").status == 200 and obs.get("/stats").status == 200


def test_admin_object_and_status(obs: Obs) -> None:
    key = "dir/äöü object.txt"
    obs.client.put_object(Bucket=BUCKET, Key=key, Body=b"located")
    q = "bucket=" + BUCKET + "&key=" + __import__("urllib.parse").parse.quote(key)
    o = obs.json("/admin/object?" + q)
    assert o["key"] == key and o["size"] == 7
    assert [(c["backend"], c["state"]) for c in o["copies"]] == [("rclone", "complete")]
    assert o["complete_copies"] == 1 and o["replication_factor"] == 1
    assert obs.get("/admin/object?bucket=" + BUCKET + "&key=nope", auth=True).status == 404
    assert obs.get("/admin/object?bucket=" + BUCKET, auth=True).status == 400

    s = obs.json("/admin/status")
    names = [b["name"] for b in s["backends"]]
    assert names == ["rclone", "disk"]
    rc = s["backends"][0]
    assert rc["health"] == "healthy" and rc["kind"] == "s3" and rc["objects"] >= 3
    assert s["replication"]["factor"] == 1
    assert s["replication"]["under_replicated"] == 0 and s["replication"]["under_replicated_complete"]
    assert s["replication"]["scanned"] >= 3
    # Monthly usage as the usage limits count it, with the limit that is set.
    u = rc["usage"]
    assert u["month"] == time.strftime("%Y-%m", time.gmtime())
    assert u["api_requests"] >= 3 and u["ingress_bytes"] >= len(b"located")
    assert u["api_request_limit"] == RCLONE_API_REQUEST_LIMIT
    assert "egress_byte_limit" not in u and "ingress_byte_limit" not in u


def test_request_id_on_access_log_lines(obs: Obs) -> None:
    r = obs.orch.signed(obs.cred, "GET", f"/{BUCKET}/seed/one.txt")
    assert r.status == 200
    rid = r.headers["x-amz-request-id"]

    def find() -> Optional[dict]:
        for line in obs.orch.log_text().splitlines():
            if rid in line and line.startswith("{"):
                ev = json.loads(line)
                if ev.get("target") == "access":
                    return ev
        return None

    ev = h.wait_until(find, 10, f"an access-log line with request id {rid}")
    assert ev["level"] == "INFO"
    assert ev["fields"]["request_id"] == rid
    assert ev["fields"]["op"] == "GetObject" and ev["fields"]["status"] == 200


def test_log_level_changes_at_run_time(obs: Obs) -> None:
    url = obs.orch.admin + "/admin/log-level"
    assert h.http_request("PUT", url, body=b"debug", headers=h.ADMIN_CSRF_HEADER).status == 401
    # Without X-Requested-With even the right credentials are refused (cross-site forgery).
    no_csrf = {"Authorization": basic_auth()["Authorization"]}
    assert h.http_request("PUT", url, body=b"debug", headers=no_csrf).status == 403
    assert h.http_request("POST", url, body=b"debug", headers=basic_auth()).status == 405
    assert h.http_request("PUT", url, body=b"=[{", headers=basic_auth()).status == 400
    r = h.http_request("PUT", url, body=b"trace", headers=basic_auth())
    directives = lambda body: set(body.decode().strip().split(","))  # noqa: E731
    assert r.status == 200 and "trace" in directives(r.body), r.body
    assert "fjall=warn" in directives(r.body), "a bare level keeps the storage engine quiet"
    assert "trace" in directives(h.http_request("GET", url, headers=basic_auth()).body)
    # At trace, requests log their inner steps; traffic with every credential in play.
    obs.client.put_object(Bucket=BUCKET, Key="trace/x", Body=b"t" * 100)
    obs.client.get_object(Bucket=BUCKET, Key="trace/x")["Body"].read()
    bad = obs.orch.client(obs.cred.with_secret("wrong" * 8))
    with pytest.raises(Exception):
        bad.get_object(Bucket=BUCKET, Key="trace/x")
    h.http_request("POST", obs.orch.admin + "/ui/login", body=f"admin_key={ADMIN_KEY}&admin_secret=typo-{ADMIN_SECRET}".encode(),
                   headers={"Content-Type": "application/x-www-form-urlencoded", **h.ADMIN_CSRF_HEADER})
    trace_lines = [l for l in obs.orch.log_text().splitlines() if '"level":"TRACE"' in l or '"level":"DEBUG"' in l]
    assert trace_lines, "no debug/trace lines after raising the level"
    r = h.http_request("PUT", url, body=b"info", headers=basic_auth())
    assert r.status == 200


def test_secrets_never_logged(obs: Obs) -> None:
    log = obs.orch.log_text()
    assert len(log) > 1000, "the log is suspiciously empty"
    secrets = {
        "client secret": obs.cred.secret_key,
        "backend secret": obs.rclone.cred.secret_key,
        "admin secret": ADMIN_SECRET,
        "admin token": ADMIN_TOKEN,
    }
    for what, s in secrets.items():
        assert s not in log, f"the {what} appears in the log"
        assert s[:20] not in log, f"a prefix of the {what} appears in the log"


# --------------------------------------------------------------------------------------------------------
# Dashboard in headless Chromium
# --------------------------------------------------------------------------------------------------------


def chromium_exe() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise h.HarnessError("chromium not found (.ci/run installs Debian's chromium)")


class Browser:
    """Headless Chromium driven over the DevTools protocol (one page, commands in order)."""

    def __init__(self, registry: h.ProcessRegistry, workdir: Path) -> None:
        import websocket  # websocket-client, from tests/e2e/requirements.txt

        port = h.free_port()
        argv = [
            chromium_exe(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={workdir / 'profile'}",
            "--remote-debugging-address=127.0.0.1",
            f"--remote-debugging-port={port}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "about:blank",
        ]
        self.proc = registry.start(h.ManagedProcess("chromium", argv, workdir / "chromium.log"))

        def page_ws() -> Optional[str]:
            r = h.http_request("GET", f"http://{h.HOST}:{port}/json/list", timeout=2)
            pages = [t for t in json.loads(r.body) if t.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None

        url = h.wait_until(page_ws, h.READY_TIMEOUT_S, "chromium's DevTools page target", self.proc)
        self.ws = websocket.create_connection(url, timeout=CDP_TIMEOUT_S, suppress_origin=True)
        self.next_id = 0

    def cmd(self, method: str, **params: Any) -> dict:
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        deadline = time.monotonic() + CDP_TIMEOUT_S
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise h.HarnessError(f"{method}: {msg['error']}")
                return msg.get("result", {})
        raise h.HarnessError(f"no answer to {method} within {CDP_TIMEOUT_S}s")

    def eval(self, js: str) -> Any:
        r = self.cmd("Runtime.evaluate", expression=js, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise h.HarnessError(f"{js}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def wait_for(self, js: str, what: str, timeout: float = DASHBOARD_TIMEOUT_S) -> Any:
        return h.wait_until(lambda: self.eval(js), timeout, what, self.proc)

    def screenshot(self, path: Path) -> None:
        data = self.cmd("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.stop()


@pytest.fixture(scope="module")
def browser(registry, tmp_path_factory) -> Browser:
    b = Browser(registry, tmp_path_factory.mktemp("chromium"))
    yield b
    b.close()


def login(browser: Browser, obs: Obs) -> None:
    browser.cmd("Page.enable")
    browser.cmd("Page.navigate", url=obs.orch.admin + "/ui")
    browser.wait_for("!!document.querySelector('#admin_key') || !!document.querySelector('#backends')", "the /ui page")
    if browser.eval("!!document.querySelector('#admin_key')"):
        # The form is sent by login.js (with X-Requested-With): wait until it has taken over.
        browser.wait_for("document.body.dataset.loginReady === '1'", "the login script")
        # A wrong secret first: the form says so and no dashboard appears.
        browser.eval(
            f"document.querySelector('#admin_key').value = {json.dumps(ADMIN_KEY)};"
            "document.querySelector('#admin_secret').value = 'not-the-secret';"
            "document.querySelector('#sign-in').click(); true"
        )
        browser.wait_for("!!document.querySelector('#login-error')", "the login error")
        browser.eval(
            f"document.querySelector('#admin_key').value = {json.dumps(ADMIN_KEY)};"
            f"document.querySelector('#admin_secret').value = {json.dumps(ADMIN_SECRET)};"
            "document.querySelector('#sign-in').click(); true"
        )
    browser.wait_for("document.body && document.body.dataset.loaded === '1'", "the dashboard's first refresh")


def backend_rows(browser: Browser) -> dict[str, dict[str, str]]:
    rows = browser.eval(
        "Array.from(document.querySelectorAll('#backends tbody tr')).map(r => "
        "({name: r.dataset.backend, health: r.querySelector('.health').textContent, text: r.innerText}))"
    )
    return {r["name"]: r for r in rows}


def test_dashboard_in_headless_chromium(obs: Obs, browser: Browser, tmp_path: Path) -> None:
    for i in range(5):
        obs.client.put_object(Bucket=BUCKET, Key=f"ui/{i}", Body=os.urandom(2048 * (i + 1)))
        obs.client.get_object(Bucket=BUCKET, Key=f"ui/{i}")["Body"].read()
    login(browser, obs)
    rows = backend_rows(browser)
    assert set(rows) == {"rclone", "disk"}
    assert rows["rclone"]["health"] == "healthy" and rows["disk"]["health"] == "healthy"
    status = obs.json("/admin/status")
    rc_objects = str(status["backends"][0]["objects"])
    assert rc_objects in rows["rclone"]["text"]
    # Monthly usage column: requests against the limit, bytes out and in.
    assert re.search(rf"\d+ / {RCLONE_API_REQUEST_LIMIT} req, [\d.]+ \w*B out, [\d.]+ \w*B in", rows["rclone"]["text"]), rows[
        "rclone"
    ]["text"]
    # Replication figures are rendered.
    assert browser.eval("document.querySelector('#repl-factor').textContent") == "1"
    assert browser.eval("document.querySelector('#repl-under').textContent") == "0"
    assert browser.eval("document.querySelector('#repl-pending').textContent") == "0"
    assert re.fullmatch(r"\d+\.\d", browser.eval("document.querySelector('#repl-rate').textContent"))
    # Latency table and chart.
    ops = browser.eval("Array.from(document.querySelectorAll('#latency tbody tr')).map(r => r.dataset.op)")
    assert "PutObject" in ops and "GetObject" in ops
    painted = browser.eval(
        "(() => { const c = document.querySelector('#latency-chart'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) "
        "if (d[i] > 0) n++; return n; })()"
    )
    assert painted > 1000, "the latency chart is blank"
    shot = tmp_path / "dashboard.png"
    browser.screenshot(shot)
    assert shot.stat().st_size > 10_000
    # The screenshot stays a test artifact (pytest tmp dir); README's copy is refreshed only on
    # request, so a test run never changes the work tree: S3O_UPDATE_SCREENSHOT=1.
    if os.environ.get("S3O_UPDATE_SCREENSHOT") == "1":
        docs = REPO_ROOT / "docs"
        docs.mkdir(exist_ok=True)
        shutil.copyfile(shot, docs / "dashboard.png")


def test_dashboard_shows_a_killed_backend_as_down(obs: Obs, browser: Browser, tmp_path: Path) -> None:
    """Health shown is the circuit breaker when it says down/probing, else passive health from the last
    backend call. Here the passive signal: once rclone is killed, the next read of an object stored there
    fails at the transport level, and the dashboard marks rclone down."""
    obs.rclone.kill9()
    with pytest.raises(Exception):
        obs.client.get_object(Bucket=BUCKET, Key="seed/one.txt")["Body"].read()
    login(browser, obs)
    browser.wait_for(
        "(() => { const r = document.querySelector(\"#backends tr[data-backend='rclone'] .health\");"
        " return r && r.textContent === 'down'; })()",
        "the dashboard to show rclone down",
    )
    rows = backend_rows(browser)
    assert rows["rclone"]["health"] == "down"
    assert rows["disk"]["health"] == "healthy"
    browser.screenshot(tmp_path / "dashboard-backend-down.png")
    status = obs.json("/admin/status")
    assert status["backends"][0]["health"] == "down"
    assert status["backends"][0]["failed_requests"] >= 1
