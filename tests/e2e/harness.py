"""End-to-end test harness for S3 Orchestrator.

Starts real processes on 127.0.0.1 (SeaweedFS `weed mini`, `rclone serve s3`, the orchestrator binary),
waits for them with deadlines, writes their configs, and wraps the S3 clients the tests drive
(boto3, the aws CLI v1, rclone, s3cmd, raw SigV4-signed HTTP).

Everything here is plain Python with no pytest dependency; `conftest.py` turns it into fixtures.

Rules kept throughout:
- every wait has a deadline and fails with what it waited for plus the process's log tail;
- every started process is registered and stopped at the end, by its own pid;
- every port comes from binding port 0 on 127.0.0.1 (a stale SO_REUSEPORT server, as glommio makes,
  could otherwise silently share a fixed port).
"""

from __future__ import annotations

import atexit
import base64
import copy
import datetime as dt
import hashlib
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import sysconfig
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import boto3
import yaml
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
REGION = "us-east-1"

# Limits and timeouts. Each is generous for a loaded 2-core CI machine, yet short enough that a hang
# shows up as a clear failure long before CI's own time limit.

#: How long a server may take to answer its readiness probe (weed mini needs ~1 s here, rclone ~0.1 s).
READY_TIMEOUT_S = 30.0
#: Grace between SIGTERM and SIGKILL; weed mini takes ~4 s to stop its components in order.
STOP_GRACE_S = 10.0
#: Upper bound for one CLI invocation (aws CLI v1 start-up alone is ~0.5 s).
CLI_TIMEOUT_S = 60.0
#: Socket timeouts for boto3 and raw HTTP: a stuck server fails the test instead of hanging it.
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
#: How long a dead orchestrator's listening ports may stay open (io_uring teardown is asynchronous).
PORT_RELEASE_TIMEOUT_S = 10.0
#: How many log lines an error message carries.
LOG_TAIL_LINES = 40
#: Cap on bytes read from the end of a log for a tail, so a huge log cannot blow up a message.
LOG_TAIL_MAX_BYTES = 64 * 1024
#: Attempts at finding a free port before giving up (collisions only happen under heavy port churn).
FREE_PORT_ATTEMPTS = 200
#: weed mini's admin plugin worker dials admin.port + 10000 whatever -admin.port.grpc says
#: (seen with SeaweedFS 4.48), so the admin port is chosen with that port free too.
WEED_GRPC_OFFSET = 10000
#: Unix socket paths are limited to 108 bytes on Linux; longer ones are left at weed's /tmp default.
UNIX_SOCKET_PATH_MAX = 107


class HarnessError(AssertionError):
    """A harness step failed (process died, timed out, CLI failed). An AssertionError so pytest shows it plainly."""


# ---------------------------------------------------------------------------------------------------
# Ports and waiting
# ---------------------------------------------------------------------------------------------------

_handed_out_ports: set[int] = set()


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port(offset_free: Optional[int] = None) -> int:
    """A port on 127.0.0.1 that was free a moment ago (bound with port 0) and not handed out before.

    With `offset_free`, port + offset_free must be free as well (for weed's derived gRPC ports)."""
    for _ in range(FREE_PORT_ATTEMPTS):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port in _handed_out_ports:
            continue
        if offset_free is not None:
            other = port + offset_free
            if other > 65535 or other in _handed_out_ports or not _bindable(other):
                continue
            _handed_out_ports.add(other)
        _handed_out_ports.add(port)
        return port
    raise HarnessError(f"no free port found on {HOST} after {FREE_PORT_ATTEMPTS} attempts")


def port_accepts(port: int, host: str = HOST) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def listening_sockets(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket process `pid` listens on, read from /proc (Linux)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, width in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state != "0A" or inode not in inodes:  # 0A = TCP_LISTEN
                continue
            addr_hex, port_hex = local.split(":")
            raw = bytes.fromhex(addr_hex)
            # /proc prints the address as native-endian 32-bit words.
            words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)] if sys.byteorder == "little" else [raw]
            addr = ipaddress.ip_address(b"".join(words)) if width == 4 else ipaddress.IPv6Address(b"".join(words))
            found.add((str(addr), int(port_hex, 16)))
    return found


def wait_until(
    pred: Callable[[], Any],
    timeout: float,
    what: str,
    proc: Optional["ManagedProcess"] = None,
) -> Any:
    """Poll `pred` until it returns a truthy value (returned) or `timeout` seconds pass (HarnessError).

    Exceptions from `pred` count as "not yet" and the last one is reported. With `proc`, its death ends the
    wait at once, and its log tail goes into the error message."""
    deadline = time.monotonic() + timeout
    interval = 0.02
    last_exc: Optional[BaseException] = None
    while True:
        if proc is not None and not proc.alive:
            raise HarnessError(
                f"{proc.name} exited with code {proc.returncode} while waiting for {what}\n"
                f"--- {proc.name} log tail ({proc.log_path}) ---\n{proc.log_tail()}"
            )
        try:
            value = pred()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - any failure of the probe means "not ready yet"
            last_exc = e
        now = time.monotonic()
        if now >= deadline:
            msg = f"timed out after {timeout:.1f}s waiting for {what}"
            if last_exc is not None:
                msg += f"; last error: {last_exc!r}"
            if proc is not None:
                msg += f"\n--- {proc.name} log tail ({proc.log_path}) ---\n{proc.log_tail()}"
            raise HarnessError(msg)
        # Back off gently: fast for servers that come up in milliseconds, cheap for slow ones.
        time.sleep(min(interval, deadline - now))
        interval = min(interval * 1.5, 0.25)


# ---------------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------------


def find_exe(name: str) -> str:
    """Path of an executable: first next to this Python (where pip put weed/rclone), then on PATH."""
    scripts = Path(sysconfig.get_path("scripts")) / name
    if scripts.is_file() and os.access(scripts, os.X_OK):
        return str(scripts)
    found = shutil.which(name)
    if found:
        return found
    raise HarnessError(f"executable {name!r} not found (run .ci/run to install the test tools)")


#: prctl(2) option: signal delivered to the child when its parent dies.
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: if pytest itself is killed (even by SIGKILL), the kernel sends the
    server SIGKILL, so no test server outlives its test run."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the registry's finalizers still stop everything on a normal exit


class ManagedProcess:
    """One child process with its output captured to a log file; stopped by its own pid."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: Optional[dict[str, str]] = None,
        cwd: Optional[Path] = None,
        on_exit: Optional[Callable[[], None]] = None,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.on_exit = on_exit
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    def start(self) -> "ManagedProcess":
        if self.alive:
            raise HarnessError(f"{self.name} is already running (pid {self.pid})")
        self.starts += 1
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"=== start #{self.starts}: {' '.join(self.argv)}\n".encode())
            log.flush()
            # The child gets its own copy of the descriptor; ours closes at the end of the block.
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,  # a Ctrl-C on pytest must not hit the servers before cleanup runs
                preexec_fn=_die_with_parent,
            )
        return self

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return self.proc.poll() if self.proc else None

    def send_signal(self, sig: int) -> None:
        if not self.alive:
            raise HarnessError(f"{self.name} is not running; cannot send signal {sig}")
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, grace: float = STOP_GRACE_S) -> Optional[int]:
        """SIGTERM, wait up to `grace` s, then SIGKILL. Returns the exit code (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=grace)
        self._exited()
        return self.proc.returncode

    def kill9(self) -> Optional[int]:
        """SIGKILL at once (a crash, as far as the process can tell) and reap it."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_GRACE_S)
        self._exited()
        return self.proc.returncode

    def _exited(self) -> None:
        if self.on_exit is not None:
            self.on_exit()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - LOG_TAIL_MAX_BYTES))
                data = f.read()
        except FileNotFoundError:
            return "(no log file)"
        return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


class ProcessRegistry:
    """Every process the harness starts; `stop_all` ends the ones still running (last started first)."""

    def __init__(self) -> None:
        self._procs: list[ManagedProcess] = []
        atexit.register(self.stop_all)  # last resort if pytest itself is torn down abruptly

    def start(self, proc: ManagedProcess) -> ManagedProcess:
        self._procs.append(proc)
        return proc.start()

    def stop_all(self) -> list[str]:
        errors = []
        for p in reversed(self._procs):
            try:
                p.stop()
            except Exception as e:  # noqa: BLE001 - keep stopping the others
                errors.append(f"{p.name}: {e!r}")
        return errors

    @property
    def processes(self) -> list[ManagedProcess]:
        return list(self._procs)


# ---------------------------------------------------------------------------------------------------
# Credentials, TLS material
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    access_key: str
    secret_key: str

    @staticmethod
    def random(prefix: str = "AK") -> "Credential":
        """AWS-shaped random keys: 20 upper-case alphanumerics and a 40-character secret."""
        alnum = string.ascii_uppercase + string.digits
        ak = (prefix.upper() + "".join(secrets.choice(alnum) for _ in range(20)))[:20]
        sk_alphabet = string.ascii_letters + string.digits + "+/"
        sk = "".join(secrets.choice(sk_alphabet) for _ in range(40))
        return Credential(ak, sk)

    def with_secret(self, secret_key: str) -> "Credential":
        return Credential(self.access_key, secret_key)


@dataclass(frozen=True)
class TlsFiles:
    cert_file: str  # server certificate chain (leaf, then CA), PEM
    key_file: str  # server private key, PKCS#8 PEM
    ca_file: str  # the CA certificate clients trust, PEM


#: Test certificates live a week: long enough for any run, short enough to be obviously throwaway.
TLS_VALIDITY_DAYS = 7


def make_tls_files(directory: Path, hosts: Iterable[str] = (HOST, "localhost")) -> TlsFiles:
    """A throwaway CA and a server certificate it signed, valid for `hosts` (IPs and DNS names).

    A separate CA (rather than one self-signed leaf) keeps strict verifiers happy: webpki refuses a CA
    certificate used as an end-entity certificate, OpenSSL 3 wants key identifiers."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    not_before = now - dt.timedelta(hours=1)
    not_after = now + dt.timedelta(days=TLS_VALIDITY_DAYS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s3o e2e test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, next(iter(hosts), HOST))]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    ca_path = directory / "ca.pem"
    cert_path = directory / "server-chain.pem"
    key_path = directory / "server-key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(pem))
    cert_path.write_bytes(leaf_cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    key_path.write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return TlsFiles(str(cert_path), str(key_path), str(ca_path))


def ssl_context(ca_file: Optional[str]) -> ssl.SSLContext:
    """A client context trusting exactly `ca_file` (or the system store when None)."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


# ---------------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------------


def s3_client(
    endpoint: str,
    cred: Credential,
    *,
    ca_file: Optional[str] = None,
    lenient_checksums: bool = False,
    max_attempts: int = 1,
    region: str = REGION,
    **config: Any,
):
    """A boto3 S3 client: SigV4, path-style, no retries by default (so failures surface), bounded timeouts.

    `lenient_checksums` validates response checksums only when required: rclone serve s3 returns the
    whole object's CRC32 on a Range GET, which boto3 would otherwise reject."""
    cfg = Config(
        signature_version="s3v4",
        region_name=region,
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=config.pop("read_timeout", READ_TIMEOUT_S),
        response_checksum_validation="when_required" if lenient_checksums else "when_supported",
        **config,
    )
    session = boto3.session.Session(
        aws_access_key_id=cred.access_key,
        aws_secret_access_key=cred.secret_key,
        region_name=region,
    )
    verify: Any = ca_file if ca_file else None
    return session.client("s3", endpoint_url=endpoint, config=cfg, verify=verify)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _clean_env(drop_prefixes: tuple[str, ...] = ("AWS_",)) -> dict[str, str]:
    """The current environment without variables that would steer a client elsewhere."""
    return {k: v for k, v in os.environ.items() if not k.startswith(drop_prefixes)}


def _run(argv: list[str], env: dict[str, str], what: str, check: bool, timeout: float, cwd=None):
    try:
        res = subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        raise HarnessError(f"{what} timed out after {timeout}s: {' '.join(argv)}\nstdout: {e.stdout}\nstderr: {e.stderr}")
    if check and res.returncode != 0:
        raise HarnessError(
            f"{what} failed with exit code {res.returncode}: {' '.join(argv)}\n"
            f"--- stdout ---\n{res.stdout}\n--- stderr ---\n{res.stderr}"
        )
    return res


class AwsCli:
    """The aws CLI v1 (the pip package, run as `python -m awscli` so it is never another aws on PATH)."""

    def __init__(
        self,
        endpoint: str,
        cred: Credential,
        workdir: Path,
        *,
        ca_file: Optional[str] = None,
        lenient_checksums: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.cred = cred
        self.ca_file = ca_file
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_file = workdir / f"aws-config-{secrets.token_hex(4)}"
        lines = ["[default]", f"region = {REGION}", "s3 =", "    addressing_style = path"]
        if lenient_checksums:
            # For rclone serve s3: whole-object CRC32 on Range GETs, and no aws-chunked uploads over HTTPS.
            lines.append("response_checksum_validation = when_required")
            lines.append("request_checksum_calculation = when_required")
        self.config_file.write_text("\n".join(lines) + "\n")

    def env(self) -> dict[str, str]:
        env = _clean_env()
        env.update(
            AWS_ACCESS_KEY_ID=self.cred.access_key,
            AWS_SECRET_ACCESS_KEY=self.cred.secret_key,
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=str(self.config_file),
            AWS_SHARED_CREDENTIALS_FILE=str(self.config_file) + ".absent",
            AWS_MAX_ATTEMPTS="1",
            AWS_RETRY_MODE="standard",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
        )
        return env

    def argv(self, *args: str) -> list[str]:
        argv = [sys.executable, "-m", "awscli", "--endpoint-url", self.endpoint]
        if self.ca_file:
            argv += ["--ca-bundle", self.ca_file]
        return argv + [str(a) for a in args]

    def run(self, *args: str, check: bool = True, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
        return _run(self.argv(*args), self.env(), "aws CLI", check, timeout)

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--output", "json").stdout)


class RcloneCli:
    """rclone as an S3 client, with its own generated config (remote type s3, provider Other)."""

    def __init__(
        self,
        endpoint: str,
        cred: Credential,
        workdir: Path,
        *,
        remote: str = "s3o",
        ca_file: Optional[str] = None,
    ) -> None:
        self.remote = remote
        self.ca_file = ca_file
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_file = workdir / f"rclone-{remote}-{secrets.token_hex(4)}.conf"
        self.config_file.write_text(
            "\n".join(
                [
                    f"[{remote}]",
                    "type = s3",
                    "provider = Other",
                    f"access_key_id = {cred.access_key}",
                    f"secret_access_key = {cred.secret_key}",
                    f"endpoint = {endpoint}",
                    f"region = {REGION}",
                    "force_path_style = true",
                ]
            )
            + "\n"
        )
        self.config_file.chmod(0o600)

    def path(self, bucket: str, key: str = "") -> str:
        return f"{self.remote}:{bucket}/{key}" if key else f"{self.remote}:{bucket}"

    def run(self, *args: str, check: bool = True, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
        argv = [find_exe("rclone"), "--config", str(self.config_file), "--retries", "1", "--low-level-retries", "1"]
        if self.ca_file:
            argv += ["--ca-cert", self.ca_file]
        # rclone's S3 SDK reads AWS_CA_BUNDLE and fails on a bundle it cannot use: run without it.
        env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
        return _run(argv + [str(a) for a in args], env, "rclone", check, timeout)


class S3cmdCli:
    """s3cmd with a generated config file (path-style: host_bucket without %(bucket)s)."""

    def __init__(self, endpoint: str, cred: Credential, workdir: Path, *, ca_file: Optional[str] = None) -> None:
        u = urllib.parse.urlsplit(endpoint)
        hostport = u.netloc
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_file = workdir / f"s3cmd-{secrets.token_hex(4)}.cfg"
        lines = [
            "[default]",
            f"access_key = {cred.access_key}",
            f"secret_key = {cred.secret_key}",
            f"host_base = {hostport}",
            f"host_bucket = {hostport}",
            f"use_https = {'True' if u.scheme == 'https' else 'False'}",
            "signature_v2 = False",
            f"bucket_location = {REGION}",
            "check_ssl_certificate = True",
            "check_ssl_hostname = True",
            "progress_meter = False",
        ]
        if ca_file:
            lines.append(f"ca_certs_file = {ca_file}")
        self.config_file.write_text("\n".join(lines) + "\n")
        self.config_file.chmod(0o600)

    def run(self, *args: str, check: bool = True, timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
        argv = [find_exe("s3cmd"), "-c", str(self.config_file)] + [str(a) for a in args]
        return _run(argv, _clean_env(), "s3cmd", check, timeout)


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def error_code(self) -> Optional[str]:
        return s3_error_code(self.body)


def s3_error_code(body: bytes) -> Optional[str]:
    """The <Code> of an S3 XML error body, or None when the body is no such XML."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    for el in root.iter():
        if el.tag == "Code" or el.tag.endswith("}Code"):
            return (el.text or "").strip()
    return None


#: The header changing admin requests must carry (the listener refuses them from other sites).
ADMIN_CSRF_HEADER = {"X-Requested-With": "s3-orchestrator"}


def http_request(
    method: str,
    url: str,
    *,
    headers: Optional[dict[str, str]] = None,
    body: bytes = b"",
    ca_file: Optional[str] = None,
    timeout: float = READ_TIMEOUT_S,
) -> RawResponse:
    """One plain HTTP(S) request with no retries and no redirects; any status is returned, not raised."""
    u = urllib.parse.urlsplit(url)
    target = u.path or "/"
    if u.query:
        target += "?" + u.query
    if u.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            u.hostname, u.port, timeout=timeout, context=ssl_context(ca_file)
        )
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, target, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def signed_request(
    endpoint: str,
    cred: Credential,
    method: str,
    path: str,
    *,
    query: str = "",
    body: bytes = b"",
    headers: Optional[dict[str, str]] = None,
    ca_file: Optional[str] = None,
    region: str = REGION,
) -> RawResponse:
    """A request signed with SigV4 (header form, signed payload hash) for anything boto3 cannot send,
    e.g. operations the orchestrator does not implement. `path` is already URL-encoded."""
    url = endpoint.rstrip("/") + path + (f"?{query}" if query else "")
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    S3SigV4Auth(Credentials(cred.access_key, cred.secret_key), "s3", region).add_auth(req)
    prepared = req.prepare()
    return http_request(method, prepared.url, headers=dict(prepared.headers.items()), body=body, ca_file=ca_file)


# ---------------------------------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------------------------------


@dataclass
class S3Backend:
    """A real S3 server started for the tests."""

    kind: str  # "seaweedfs" or "rclone"
    name: str
    endpoint: str
    cred: Credential
    proc: ManagedProcess
    data_dir: Path
    buckets: list[str] = field(default_factory=list)
    ca_file: Optional[str] = None
    ports: dict[str, int] = field(default_factory=dict)  # every port the server listens on, by role

    @property
    def lenient_checksums(self) -> bool:
        return self.kind == "rclone"

    def client(self, **kw: Any):
        kw.setdefault("ca_file", self.ca_file)
        kw.setdefault("lenient_checksums", self.lenient_checksums)
        if self.kind == "rclone" and self.endpoint.startswith("https://"):
            # Over HTTPS boto3 streams PUT bodies as aws-chunked with a checksum trailer and no
            # Content-Length, which rclone serve s3 refuses (MissingContentLength).
            kw.setdefault("request_checksum_calculation", "when_required")
        return s3_client(self.endpoint, self.cred, **kw)

    def create_bucket(self, bucket: str) -> None:
        """Create `bucket`, retrying until the server accepts it (weed's filer may lag its S3 port)."""
        client = self.client()

        def attempt() -> bool:
            try:
                client.create_bucket(Bucket=bucket)
            except client.exceptions.BucketAlreadyOwnedByYou:
                pass
            client.head_bucket(Bucket=bucket)
            return True

        wait_until(attempt, READY_TIMEOUT_S, f"bucket {bucket!r} on {self.name}", self.proc)
        if bucket not in self.buckets:
            self.buckets.append(bucket)

    def config_entry(
        self,
        bucket: Optional[str] = None,
        *,
        name: Optional[str] = None,
        quota_bytes: Optional[int] = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """This backend as an entry of the orchestrator's `backends:` list."""
        if bucket is None:
            if not self.buckets:
                raise HarnessError(f"backend {self.name} has no bucket to put in a config entry")
            bucket = self.buckets[0]
        entry: dict[str, Any] = {
            "name": name or self.name,
            "endpoint": self.endpoint,
            "region": REGION,
            "bucket": bucket,
            "access_key_id": self.cred.access_key,
            "secret_access_key": self.cred.secret_key,
        }
        if quota_bytes is not None:
            entry["quota_bytes"] = quota_bytes
        entry.update(extra)
        return entry

    def stop(self) -> Optional[int]:
        return self.proc.stop()

    def kill9(self) -> Optional[int]:
        return self.proc.kill9()

    def restart(self) -> None:
        """Stop and start again on the same port and data (for outage tests)."""
        self.proc.stop()
        self.proc.start()
        wait_until(lambda: self._probe(), READY_TIMEOUT_S, f"{self.name} to come back", self.proc)

    def _probe(self) -> bool:
        self.client().list_buckets()
        return True


def start_seaweedfs(
    registry: ProcessRegistry,
    workdir: Path,
    *,
    name: str = "seaweedfs",
    buckets: Iterable[str] = (),
    cred: Optional[Credential] = None,
) -> S3Backend:
    """`weed mini` (master, volume, filer, S3 in one process) with every port moved to a free one."""
    workdir = Path(workdir)
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    cred = cred or Credential.random("WEED")
    ids = workdir / "identities.json"
    ids.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "e2e",
                        "credentials": [{"accessKey": cred.access_key, "secretKey": cred.secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = {
        "master.port": free_port(),
        "master.port.grpc": free_port(),
        "volume.port": free_port(),
        "volume.port.grpc": free_port(),
        "filer.port": free_port(),
        "filer.port.grpc": free_port(),
        "s3.port": free_port(),
        "s3.port.grpc": free_port(),
        # admin.port.grpc stays at its default (admin.port + 10000): see WEED_GRPC_OFFSET.
        "admin.port": free_port(offset_free=WEED_GRPC_OFFSET),
    }
    argv = [
        find_exe("weed"),
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={ids}",
        "-admin.ui=false",
        "-master.telemetry=false",  # on by default: it would phone home
        "-webdav=false",
        "-s3.port.iceberg=0",  # 0 disables these two extra listeners
        "-s3.port.lance=0",
    ] + [f"-{k}={v}" for k, v in ports.items()]
    own_sockets = []
    for flag, file in (("s3.localSocket", "s3.sock"), ("filer.localSocket", "filer.sock")):
        sock = workdir / file
        if len(str(sock)) <= UNIX_SOCKET_PATH_MAX:
            argv.append(f"-{flag}={sock}")
            own_sockets.append(flag)
    all_ports = list(ports.values()) + [ports["admin.port"] + WEED_GRPC_OFFSET]

    def remove_tmp_sockets() -> None:
        # weed names its remaining unix sockets /tmp/seaweedfs-<component>-<port>.sock and does not
        # always remove them on exit; ours carry our ports, so they are safe to delete.
        for port in all_ports:
            for p in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                try:
                    p.unlink()
                except OSError:
                    pass

    s3_port = ports["s3.port"]
    proc = registry.start(ManagedProcess(name, argv, workdir / f"{name}.log", on_exit=remove_tmp_sockets))
    backend = S3Backend("seaweedfs", name, f"http://{HOST}:{s3_port}", cred, proc, data_dir, ports=dict(ports))

    def healthy() -> bool:
        return http_request("GET", f"{backend.endpoint}/healthz", timeout=2).status == 200

    wait_until(healthy, READY_TIMEOUT_S, f"{name} S3 /healthz on port {s3_port}", proc)
    for b in buckets:
        backend.create_bucket(b)
    return backend


def start_rclone_serve(
    registry: ProcessRegistry,
    workdir: Path,
    *,
    name: str = "rclone",
    buckets: Iterable[str] = (),
    cred: Optional[Credential] = None,
    tls: Optional[TlsFiles] = None,
    extra_args: Iterable[str] = (),
) -> S3Backend:
    """`rclone serve s3` over a local directory (a bucket is a subdirectory), optionally over TLS."""
    workdir = Path(workdir)
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    cred = cred or Credential.random("RCLN")
    port = free_port()
    empty_conf = workdir / "rclone-empty.conf"
    empty_conf.write_text("")
    argv = [
        find_exe("rclone"),
        "serve",
        "s3",
        "--config",
        str(empty_conf),  # no user config, and no "config file not found" notice
        "--addr",
        f"{HOST}:{port}",
        "--auth-key",
        f"{cred.access_key},{cred.secret_key}",
    ]
    scheme = "http"
    if tls is not None:
        argv += ["--cert", tls.cert_file, "--key", tls.key_file]
        scheme = "https"
    argv += list(extra_args) + [str(data_dir)]
    proc = registry.start(ManagedProcess(name, argv, workdir / f"{name}.log"))
    backend = S3Backend(
        "rclone",
        name,
        f"{scheme}://{HOST}:{port}",
        cred,
        proc,
        data_dir,
        ca_file=tls.ca_file if tls else None,
        ports={"s3": port},
    )
    wait_until(backend._probe, READY_TIMEOUT_S, f"{name} ListBuckets on port {port}", proc)
    for b in buckets:
        backend.create_bucket(b)
    return backend


# ---------------------------------------------------------------------------------------------------
# Orchestrator
# ---------------------------------------------------------------------------------------------------


@dataclass
class VirtualBucket:
    name: str
    credentials: list[Credential]


def local_backend_entry(name: str, path: Path, *, quota_bytes: Optional[int] = None, **extra: Any) -> dict[str, Any]:
    """A `backends:` entry for a local-directory backend (created here so the test owns it)."""
    Path(path).mkdir(parents=True, exist_ok=True)
    entry: dict[str, Any] = {"name": name, "path": str(path)}
    if quota_bytes is not None:
        entry["quota_bytes"] = quota_bytes
    entry.update(extra)
    return entry


def deep_merge(base: dict, extra: dict) -> dict:
    """`base` updated by `extra`, recursing into nested dicts (lists and scalars are replaced)."""
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def orchestrator_config(
    *,
    backends: list[dict[str, Any]],
    buckets: list[VirtualBucket],
    routing_strategy: str = "spread",
    replication_factor: int = 1,
    tls: Optional[TlsFiles] = None,
    shards: Optional[int] = 1,
    domain: Optional[str] = None,
    extra: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """The orchestrator's config as a dict. Listen addresses and the catalog path are filled in by
    `Orchestrator` unless given in `extra`."""
    server: dict[str, Any] = {}
    if shards is not None:
        server["shards"] = shards
    if domain is not None:
        server["domain"] = domain
    if tls is not None:
        server["tls"] = {"cert_file": tls.cert_file, "key_file": tls.key_file}
    cfg: dict[str, Any] = {
        "routing_strategy": routing_strategy,
        "backends": copy.deepcopy(backends),
        "replication": {"factor": replication_factor},
        "buckets": [
            {
                "name": b.name,
                "credentials": [
                    {"access_key_id": c.access_key, "secret_access_key": c.secret_key} for c in b.credentials
                ],
            }
            for b in buckets
        ],
        "server": server,
    }
    return deep_merge(cfg, extra or {})


def default_binary() -> Path:
    """$S3O_BIN (relative paths are relative to the repo root), else target/release/s3-orchestrator."""
    value = os.environ.get("S3O_BIN", "target/release/s3-orchestrator")
    p = Path(value)
    return p if p.is_absolute() else REPO_ROOT / p


class Orchestrator:
    """One orchestrator process with its generated config; `stop/kill9/restart` keep ports and catalog."""

    def __init__(
        self,
        registry: ProcessRegistry,
        workdir: Path,
        config: dict[str, Any],
        *,
        binary: Optional[Path] = None,
        name: str = "orchestrator",
        ca_file: Optional[str] = None,
        env: Optional[dict[str, str]] = None,
    ) -> None:
        self.registry = registry
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.binary = Path(binary) if binary else default_binary()
        self.name = name
        self.ca_file = ca_file
        cfg = copy.deepcopy(config)
        server = cfg.setdefault("server", {})
        server.setdefault("listen_addr", f"{HOST}:{free_port()}")
        server.setdefault("admin_addr", f"{HOST}:{free_port()}")
        cfg.setdefault("catalog", {}).setdefault("path", str(self.workdir / "catalog"))
        self.config = cfg
        self.config_path = self.workdir / "config.yaml"
        self.write_config(cfg)
        self.tls = "tls" in server
        scheme = "https" if self.tls else "http"
        self.endpoint = f"{scheme}://{server['listen_addr']}"
        self.admin = f"http://{server['admin_addr']}"
        run_env = dict(os.environ)
        run_env.setdefault("RUST_LOG", "info")
        run_env.setdefault("RUST_BACKTRACE", "1")
        run_env.update(env or {})
        self.proc = ManagedProcess(
            name,
            [str(self.binary), "--config", str(self.config_path)],
            self.workdir / f"{name}.log",
            env=run_env,
            cwd=self.workdir,
        )
        self._registered = False

    # -- config ---------------------------------------------------------------------------------------

    def write_config(self, cfg: dict[str, Any]) -> None:
        """(Re)write the config file, e.g. before `reload()` or `restart()`."""
        self.config = copy.deepcopy(cfg)
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))

    @property
    def listen_port(self) -> int:
        return int(self.config["server"]["listen_addr"].rsplit(":", 1)[1])

    @property
    def admin_port(self) -> int:
        return int(self.config["server"]["admin_addr"].rsplit(":", 1)[1])

    # -- admin API ------------------------------------------------------------------------------------

    @property
    def admin_token_file(self) -> Path:
        """Where the orchestrator keeps the admin token it generates when the config names no admin
        credentials: beside the catalog, `<catalog.path>.admin-token`."""
        catalog = Path(self.config["catalog"]["path"])
        if not catalog.is_absolute():
            catalog = self.workdir / catalog
        return catalog.with_name(catalog.name + ".admin-token")

    def admin_auth(self) -> dict[str, str]:
        """The `Authorization` header the admin API takes: the configured `ui.admin_token`, else
        basic auth with `ui.admin_key`/`ui.admin_secret`, else the generated token."""
        ui = self.config.get("ui") or {}
        if ui.get("admin_token"):
            return {"Authorization": f"Bearer {ui['admin_token']}"}
        if ui.get("admin_key") and ui.get("admin_secret"):
            pair = base64.b64encode(f"{ui['admin_key']}:{ui['admin_secret']}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        token = self.admin_token_file.read_text().strip()
        return {"Authorization": f"Bearer {token}"}

    def admin_request(
        self, method: str, path: str, *, body: bytes = b"", headers: Optional[dict[str, str]] = None, timeout: float = READ_TIMEOUT_S
    ) -> "RawResponse":
        """An admin API call as the CLI and the dashboard make it: credentials, and
        `X-Requested-With: s3-orchestrator`, which every changing admin request needs."""
        all_headers = {**self.admin_auth(), **ADMIN_CSRF_HEADER, **(headers or {})}
        return http_request(method, self.admin + path, headers=all_headers, body=body, timeout=timeout)

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self, timeout: float = READY_TIMEOUT_S) -> "Orchestrator":
        if not (self.binary.is_file() and os.access(self.binary, os.X_OK)):
            raise HarnessError(
                f"orchestrator binary not found or not executable: {self.binary} "
                "(build it with `cargo build --release`, or point S3O_BIN at it)"
            )
        for port in (self.listen_port, self.admin_port):
            if port_accepts(port):
                raise HarnessError(f"port {port} for {self.name} is already in use before start")
        if self._registered:
            self.proc.start()
        else:
            self.registry.start(self.proc)
            self._registered = True
        self.wait_ready(timeout)
        return self

    def _health_ok(self) -> bool:
        try:
            if http_request("GET", f"{self.admin}/health", timeout=2).status == 200:
                return True
        except (ssl.SSLError, ConnectionResetError, http.client.BadStatusLine, http.client.RemoteDisconnected):
            if not self.tls:
                raise
        if self.tls:
            # The admin listener may share the front end's TLS settings; accept either.
            https = "https://" + self.admin.split("://", 1)[1]
            if http_request("GET", f"{https}/health", ca_file=self.ca_file, timeout=2).status == 200:
                self.admin = https
                return True
        return False

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        wait_until(self._health_ok, timeout, f"{self.name} {self.admin}/health to return 200", self.proc)
        wait_until(
            lambda: port_accepts(self.listen_port), timeout, f"{self.name} S3 port {self.listen_port}", self.proc
        )

    def stop(self, grace: float = STOP_GRACE_S) -> Optional[int]:
        rc = self.proc.stop(grace)
        self._wait_ports_released()
        return rc

    def kill9(self) -> Optional[int]:
        rc = self.proc.kill9()
        self._wait_ports_released()
        return rc

    def _wait_ports_released(self) -> None:
        """After exit the kernel may hold the listeners a moment longer (io_uring tears its rings down
        asynchronously, keeping pending accepts' sockets open): wait until nothing accepts on our ports,
        so a restart on the same ports is not refused as "already in use"."""
        wait_until(
            lambda: not port_accepts(self.listen_port) and not port_accepts(self.admin_port),
            PORT_RELEASE_TIMEOUT_S,
            f"{self.name}'s ports {self.listen_port}/{self.admin_port} to be released after exit",
        )

    def restart(self, timeout: float = READY_TIMEOUT_S) -> "Orchestrator":
        """Graceful stop, then start on the same ports, config file and catalog."""
        self.stop()
        return self.start(timeout)

    def reload(self) -> None:
        """SIGHUP: ask the running process to re-read its config file."""
        self.proc.send_signal(signal.SIGHUP)

    @property
    def alive(self) -> bool:
        return self.proc.alive

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return self.proc.log_tail(lines)

    def log_text(self) -> str:
        return self.proc.log_text()

    # -- clients ----------------------------------------------------------------------------------------

    def client(self, cred: Credential, **kw: Any):
        kw.setdefault("ca_file", self.ca_file)
        return s3_client(self.endpoint, cred, **kw)

    def aws(self, cred: Credential, **kw: Any) -> AwsCli:
        kw.setdefault("ca_file", self.ca_file)
        return AwsCli(self.endpoint, cred, self.workdir / "clients", **kw)

    def rclone(self, cred: Credential, **kw: Any) -> RcloneCli:
        kw.setdefault("ca_file", self.ca_file)
        return RcloneCli(self.endpoint, cred, self.workdir / "clients", **kw)

    def s3cmd(self, cred: Credential, **kw: Any) -> S3cmdCli:
        kw.setdefault("ca_file", self.ca_file)
        return S3cmdCli(self.endpoint, cred, self.workdir / "clients", **kw)

    def signed(self, cred: Credential, method: str, path: str, **kw: Any) -> RawResponse:
        kw.setdefault("ca_file", self.ca_file)
        return signed_request(self.endpoint, cred, method, path, **kw)


# ---------------------------------------------------------------------------------------------------
# Data-path helpers: placement inspection, deterministic streams, S3 listing semantics
# ---------------------------------------------------------------------------------------------------


#: Characters escaped wherever they appear in a backend name (src/backend/naming.rs).
_NAME_ESCAPES = {"~": "~7E", "%": "~25", "\\": "~5C"}


def _name_segment(seg: str, trailing: bool) -> str:
    if seg == "":
        return "" if trailing else "~"
    if seg in (".", ".."):
        return "~2E" * len(seg)
    return "".join(_NAME_ESCAPES.get(c, c) for c in seg)


def backend_name(vbucket: str, key: str) -> str:
    """The name the orchestrator gives a copy of `vbucket/key` on a backend: `<vbucket>/<escaped key>`, a
    mirror of src/backend/naming.rs (`~`, `%`, `\\` and dot or empty segments escaped, a final `/` kept)."""
    segs = key.split("/")
    escaped = "/".join(_name_segment(s, 0 < i == len(segs) - 1) for i, s in enumerate(segs))
    return f"{_name_segment(vbucket, False)}/{escaped}"


def key_of_backend_name(rest: str) -> str:
    """The key an escaped name (the part after `<vbucket>/`) stands for: the inverse of `backend_name`."""
    return "/".join(
        "" if seg == "~" else re.sub(r"~([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), seg)
        for seg in rest.split("/")
    )


def local_object_path(root: Path, vbucket: str, key: str) -> Path:
    """Where a local-directory backend keeps `vbucket/key`: objects/<xx>/<sha256 of the backend name>
    (the layout documented in src/backend/local.rs; keys are hashed because S3 keys are no file names)."""
    digest = hashlib.sha256(backend_name(vbucket, key).encode()).hexdigest()
    return Path(root) / "objects" / digest[:2] / digest


def backend_keys(backend: S3Backend, vbucket: str) -> set[str]:
    """The virtual keys of `vbucket` stored on an S3 backend, asked of the backend itself."""
    client = backend.client()
    prefix = f"{vbucket}/"
    found: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=backend.buckets[0], Prefix=prefix):
        found.update(key_of_backend_name(o["Key"][len(prefix) :]) for o in page.get("Contents", []))
    return found


#: Block size of `DeterministicStream`: one pseudo-random block, shifted per block so no two blocks are equal.
DET_BLOCK_BYTES = 1 << 20


class DeterministicStream:
    """A file-like body of `size` pseudo-random bytes made on the fly (never all in memory), the same for
    the same seed. `sha256` covers what was read since the last rewind, so a test can compare it with
    what came back. Seekable to 0 only, as botocore rewinds a body after signing it."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self._base = memoryview(hashlib.shake_256(f"s3o-e2e-{seed}".encode()).digest(2 * DET_BLOCK_BYTES))
        self._pos = 0
        self.hasher = hashlib.sha256()

    def _window(self, index: int, within: int, take: int) -> memoryview:
        off = (index * 7919) % DET_BLOCK_BYTES  # a prime stride: a different window for every block
        return self._base[off + within : off + within + take]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self._pos
        n = min(n, self.size - self._pos)
        out = bytearray()
        while len(out) < n:
            index, within = divmod(self._pos, DET_BLOCK_BYTES)
            take = min(n - len(out), DET_BLOCK_BYTES - within)
            out += self._window(index, within, take)
            self._pos += take
        data = bytes(out)
        self.hasher.update(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = {os.SEEK_SET: offset, os.SEEK_CUR: self._pos + offset, os.SEEK_END: self.size + offset}[whence]
        if target != 0 and target != self._pos:
            raise OSError("DeterministicStream seeks only to 0")
        if target == 0:
            self._pos = 0
            self.hasher = hashlib.sha256()
        return self._pos

    def tell(self) -> int:
        return self._pos

    def __len__(self) -> int:
        return self.size

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


def expected_listing(
    keys: Iterable[str], prefix: str = "", delimiter: str = "", start_after: str = ""
) -> list[tuple[str, str]]:
    """S3 ListObjects semantics in plain Python: ("key", k) and ("prefix", p) entries in UTF-8 byte order,
    common prefixes rolled up at the first delimiter after `prefix`."""
    entries: dict[str, str] = {}
    for k in keys:
        if not k.startswith(prefix) or (start_after and k.encode() <= start_after.encode()):
            continue
        rest = k[len(prefix) :]
        if delimiter and delimiter in rest:
            cp = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            entries.setdefault(cp, "prefix")
        else:
            entries[k] = "key"
    return [(kind, name) for name, kind in sorted(entries.items(), key=lambda e: e[0].encode())]
