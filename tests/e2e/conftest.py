"""pytest fixtures for the end-to-end suite (the machinery itself lives in harness.py).

Session-scoped: the process registry (stops everything at the end, even after failures), one TLS CA and
server certificate, one SeaweedFS and one rclone-serve backend, and factories for more backends and for
orchestrator instances. Each process logs to a file under pytest's tmp dir; the path is printed at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import harness as h


@pytest.fixture(scope="session")
def registry() -> Iterator[h.ProcessRegistry]:
    reg = h.ProcessRegistry()
    yield reg
    errors = reg.stop_all()
    assert not errors, f"could not stop every process: {errors}"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> h.TlsFiles:
    """A CA and a server certificate for 127.0.0.1/localhost; clients trust `tls_files.ca_file`."""
    return h.make_tls_files(tmp_path_factory.mktemp("tls"))


class Backends:
    """Starts extra backends on demand; all of them end with the session (or earlier via .stop())."""

    def __init__(self, registry: h.ProcessRegistry, tmp: pytest.TempPathFactory) -> None:
        self.registry = registry
        self.tmp = tmp

    def seaweedfs(self, name: str = "seaweedfs", buckets=("s3o-data",), **kw: Any) -> h.S3Backend:
        return h.start_seaweedfs(self.registry, self.tmp.mktemp(name), name=name, buckets=buckets, **kw)

    def rclone(self, name: str = "rclone", buckets=("s3o-data",), **kw: Any) -> h.S3Backend:
        return h.start_rclone_serve(self.registry, self.tmp.mktemp(name), name=name, buckets=buckets, **kw)


@pytest.fixture(scope="session")
def backends(registry: h.ProcessRegistry, tmp_path_factory: pytest.TempPathFactory) -> Backends:
    return Backends(registry, tmp_path_factory)


@pytest.fixture(scope="session")
def seaweed_backend(backends: Backends) -> h.S3Backend:
    """A shared SeaweedFS backend with bucket `s3o-weed`. Tests must use unique keys."""
    return backends.seaweedfs("seaweedfs", buckets=("s3o-weed",))


@pytest.fixture(scope="session")
def rclone_backend(backends: Backends) -> h.S3Backend:
    """A shared rclone-serve backend with bucket `s3o-rclone`. Tests must use unique keys."""
    return backends.rclone("rclone", buckets=("s3o-rclone",))


@pytest.fixture(scope="session")
def rclone2_backend(backends: Backends) -> h.S3Backend:
    """A second shared rclone-serve backend (bucket `s3o-rclone2`), so data-path tests have three S3
    backends from two implementations. Tests must use unique virtual buckets or keys."""
    return backends.rclone("rclone2", buckets=("s3o-rclone2",))


@pytest.fixture(scope="session")
def s3o_bin() -> Path:
    """The orchestrator binary under test ($S3O_BIN, default target/release/s3-orchestrator)."""
    return h.default_binary()


class OrchestratorFactory:
    """`make_orchestrator(config, name=...)` starts an orchestrator and waits for /health."""

    def __init__(self, registry: h.ProcessRegistry, tmp: pytest.TempPathFactory, binary: Path) -> None:
        self.registry = registry
        self.tmp = tmp
        self.binary = binary

    def __call__(
        self,
        config: dict[str, Any],
        *,
        name: str = "orchestrator",
        ca_file: Optional[str] = None,
        binary: Optional[Path] = None,
        start: bool = True,
        env: Optional[dict[str, str]] = None,
    ) -> h.Orchestrator:
        o = h.Orchestrator(
            self.registry,
            self.tmp.mktemp(name),
            config,
            binary=binary or self.binary,
            name=name,
            ca_file=ca_file,
            env=env,
        )
        if start:
            o.start()
        return o


@pytest.fixture(scope="session")
def make_orchestrator(
    registry: h.ProcessRegistry, tmp_path_factory: pytest.TempPathFactory, s3o_bin: Path
) -> OrchestratorFactory:
    return OrchestratorFactory(registry, tmp_path_factory, s3o_bin)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A per-test scratch directory (client configs, files to upload)."""
    return tmp_path


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    base = config._tmp_path_factory.getbasetemp() if hasattr(config, "_tmp_path_factory") else None
    if base is not None:
        terminalreporter.write_line(f"e2e process logs and configs: {base}")
