"""The admin listener of a real process started with no admin credentials in its config (the
default): the admin API takes only the token generated beside the catalog, the log and the
console say where that file is but never what it holds, changing requests need the CSRF header and
the listener's own origin, and an admin listener reachable from other hosts is refused at start."""

from __future__ import annotations

import stat
import subprocess

import yaml

import harness as h

BUCKET = "adm-data"


def _config(tmp_path_factory) -> dict:
    disk = tmp_path_factory.mktemp("adm-disk")
    cred = h.Credential.random("ADM")
    return h.orchestrator_config(
        backends=[h.local_backend_entry("disk", disk / "d")],
        buckets=[h.VirtualBucket(BUCKET, [cred])],
    )


def test_generated_token_is_the_only_way_in(make_orchestrator, tmp_path_factory) -> None:
    orch = make_orchestrator(_config(tmp_path_factory), name="adm")
    for path in ("/admin/status", f"/admin/object?bucket={BUCKET}&key=k", "/admin/log-level"):
        assert h.http_request("GET", orch.admin + path).status == 401, path
    for probe in ("/health", "/ready", "/metrics"):
        assert h.http_request("GET", orch.admin + probe).status == 200, probe

    token_file = orch.admin_token_file
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    assert len(token) >= 32
    assert orch.admin_request("GET", "/admin/status").status == 200
    assert orch.admin_request("POST", "/admin/reload").status == 200
    # The token from a page on another site: refused.
    cross = orch.admin_request("POST", "/admin/reload", headers={"Origin": "http://evil.example"})
    assert cross.status == 403
    bare = h.http_request("POST", orch.admin + "/admin/reload", headers={"Authorization": f"Bearer {token}"})
    assert bare.status == 403

    # Failed authentications are logged with the peer and the path (rate-limited, so poll).
    h.wait_until(
        lambda: any("admin authentication failed" in l and "127.0.0.1" in l and "/admin/status" in l
                    for l in orch.log_text().splitlines()),
        10,
        "the auth-failure log line",
    )
    log = orch.log_text()
    assert str(token_file) in log, "the log does not say where the admin token is"
    assert token not in log and token[:16] not in log, "the admin token appears in the log"

    # Reused on the next start.
    orch.restart()
    assert token_file.read_text().strip() == token
    assert orch.admin_request("GET", "/admin/status").status == 200
    orch.stop()


def test_exposed_admin_listener_without_credentials_is_refused(tmp_path_factory, s3o_bin) -> None:
    cfg = _config(tmp_path_factory)
    work = tmp_path_factory.mktemp("adm-exposed")
    cfg["server"].update(
        {"listen_addr": f"{h.HOST}:{h.free_port()}", "admin_addr": f"0.0.0.0:{h.free_port()}"}
    )
    cfg["catalog"] = {"path": str(work / "catalog")}
    path = work / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = subprocess.run(
        [str(s3o_bin), "--config", str(path)], capture_output=True, text=True, timeout=h.CLI_TIMEOUT_S
    )
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "server.admin_addr" in out.stderr and "no admin credentials" in out.stderr, out.stderr
    assert not (work / "catalog.admin-token").exists()
