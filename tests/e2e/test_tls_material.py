"""TLS material on both sides of the orchestrator.

- A backend behind a private CA works once its entry names that CA in `tls.ca_file`, and fails (the
  orchestrator does not trust it) without.
- SIGHUP re-reads the listener's certificate: new connections get the renewed one; a reload whose
  certificate files are broken is refused and the old certificate keeps being served.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import ssl
from pathlib import Path

import pytest
import harness as h

#: How long a SIGHUP reload may take to show in the log.
RELOAD_TIMEOUT_S = 15.0


def _peer_certificate(port: int, ca_file: str) -> bytes:
    """The DER certificate the orchestrator's listener presents to a new connection."""
    ctx = h.ssl_context(ca_file)
    with socket.create_connection((h.HOST, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=h.HOST) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der, "no certificate presented"
    return der


def _cert_der(pem_file: str) -> bytes:
    """The DER of the first certificate in `pem_file` (the leaf; the file may hold a chain, which
    `ssl.PEM_cert_to_DER_cert` would read as one garbled block)."""
    text = Path(pem_file).read_text()
    end = "-----END CERTIFICATE-----"
    first = text[: text.index(end) + len(end)]
    return ssl.PEM_cert_to_DER_cert(first)


def _reload_and_wait(orch: h.Orchestrator, marker: str) -> None:
    before = orch.log_text().count(marker)
    orch.reload()
    h.wait_until(
        lambda: orch.log_text().count(marker) > before,
        RELOAD_TIMEOUT_S,
        f"the reload to log {marker!r}",
        orch.proc,
    )


def test_backend_behind_private_ca_needs_its_ca_file(backends, tls_files, make_orchestrator) -> None:
    be = backends.rclone("rclone-private-ca", buckets=("s3o-private-ca",), tls=tls_files)
    cred = h.Credential.random("PCA")
    bucket = h.VirtualBucket("private-ca", [cred])

    trusted = make_orchestrator(
        h.orchestrator_config(
            backends=[be.config_entry(tls={"ca_file": tls_files.ca_file})],
            buckets=[bucket],
        ),
        name="private-ca-trusted",
    )
    c = trusted.client(cred)
    c.put_object(Bucket="private-ca", Key="k", Body=b"behind a private CA")
    assert c.get_object(Bucket="private-ca", Key="k")["Body"].read() == b"behind a private CA"
    trusted.stop()

    untrusted = make_orchestrator(
        h.orchestrator_config(backends=[be.config_entry()], buckets=[bucket]),
        name="private-ca-untrusted",
    )
    c = untrusted.client(cred)
    with pytest.raises(Exception) as err:
        c.put_object(Bucket="private-ca", Key="k2", Body=b"x")
    assert "503" in str(err.value) or "ServiceUnavailable" in str(err.value), err.value
    untrusted.stop()


def test_ca_file_on_a_plain_http_backend_is_a_config_error(rclone_backend, make_orchestrator, tmp_path) -> None:
    cred = h.Credential.random("PCA")
    cfg = h.orchestrator_config(
        backends=[rclone_backend.config_entry(tls={"ca_file": str(tmp_path / "ca.pem")})],
        buckets=[h.VirtualBucket("x", [cred])],
    )
    orch = make_orchestrator(cfg, name="ca-on-http", start=False)
    out = subprocess.run(
        [str(orch.binary), "--config", str(orch.config_path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=orch.workdir,
    )
    assert out.returncode != 0
    assert "backends[0].tls.ca_file" in out.stderr + out.stdout, out


def test_reload_serves_a_renewed_listener_certificate(make_orchestrator, rclone_backend, tmp_path) -> None:
    first = h.make_tls_files(tmp_path / "first")
    second = h.make_tls_files(tmp_path / "second")
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "cert.pem", live / "key.pem"
    shutil.copy(first.cert_file, cert)
    shutil.copy(first.key_file, key)
    cred = h.Credential.random("RNW")
    cfg = h.orchestrator_config(
        backends=[rclone_backend.config_entry()],
        buckets=[h.VirtualBucket("renew", [cred])],
        extra={"server": {"tls": {"cert_file": str(cert), "key_file": str(key)}}},
    )
    orch = make_orchestrator(cfg, name="tls-renew", ca_file=first.ca_file)
    assert _peer_certificate(orch.listen_port, first.ca_file) == _cert_der(first.cert_file)

    # Renewal: new files in place, then SIGHUP. New connections get the new certificate.
    shutil.copy(second.cert_file, cert)
    shutil.copy(second.key_file, key)
    _reload_and_wait(orch, "config reloaded")
    assert _peer_certificate(orch.listen_port, second.ca_file) == _cert_der(second.cert_file)

    # A broken key refuses the reload, naming the key; the renewed certificate stays in service.
    key.write_text("not a key\n")
    _reload_and_wait(orch, "config reload refused")
    assert "server.tls.key_file" in orch.log_text()
    assert _peer_certificate(orch.listen_port, second.ca_file) == _cert_der(second.cert_file)
    orch.stop()
