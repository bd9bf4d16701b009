"""pytest plugin: one real Neo4j server for the whole test session.

Unless `NEO4J_URI` names a server to use, the session builds the launcher in
`tools/neo4j/` (Neo4j 5.26 Community from Maven Central) and starts it on a free
port with a temporary data directory, then stops it at the end. A server that
cannot start FAILS the tests that need it, with the launcher's stderr: Neo4j tests
never skip. Tests get a store over an empty database (constraints are kept).

Registered from `tests/conftest.py` (`pytest_plugins`). The benchmarks reuse
`Neo4jLauncher`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = ROOT / "tools" / "neo4j"
READY = "NEO4J READY "
DEFAULT_USER = "neo4j"
DEFAULT_PASSWORD = "discovery-test"
BUILD_TIMEOUT_S = 900.0
START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Neo4jServer:
    uri: str
    user: str
    password: str
    database: str = "neo4j"
    #: the data directory of the tools/neo4j launcher running it (None: not ours to stop)
    home: Path | None = None


class LauncherError(RuntimeError):
    pass


class Neo4jLauncher:
    """Builds and runs `tools/neo4j/start.sh PORT DATADIR`, waiting for its READY line."""

    def __init__(
        self,
        data_dir: Path,
        port: int = 0,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.user = user
        self.password = password
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[str] | None = None
        self.stderr_path = self.data_dir.parent / f"{self.data_dir.name}-launcher.log"

    def build(self) -> None:
        started = time.monotonic()
        done = subprocess.run(
            ["bash", str(LAUNCHER / "build.sh")],
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise LauncherError(
                f"tools/neo4j/build.sh failed (exit {done.returncode}):\n"
                f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
            )
        log.info("neo4j launcher built in %.1f s", time.monotonic() - started)

    def start(self, timeout: float = START_TIMEOUT_S) -> Neo4jServer:
        """Start the server and return it once Bolt accepts logins; raise with stderr if not."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "NEO4J_USER": self.user,
            "NEO4J_PASSWORD": self.password,
            **self.extra_env,
        }
        stderr = open(self.stderr_path, "w", encoding="utf-8")  # noqa: SIM115 - owned by process
        self.process = subprocess.Popen(
            [str(LAUNCHER / "start.sh"), str(self.port), str(self.data_dir)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        stderr.close()
        line = self._wait_for_ready(timeout)
        uri = line[len(READY) :].strip()
        log.info("neo4j ready at %s (data %s)", uri, self.data_dir)
        return Neo4jServer(uri, self.user, self.password, home=self.data_dir)

    def _wait_for_ready(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        started = time.monotonic()
        next_note = started + 5
        with selectors.DefaultSelector() as sel:
            sel.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                now = time.monotonic()
                if now - started > timeout:
                    self.stop()
                    raise LauncherError(
                        f"Neo4j did not report ready within {timeout:.0f} s.\n{self.stderr_tail()}"
                    )
                if now >= next_note:
                    log.info("waiting for neo4j (%.0f s so far)", now - started)
                    next_note = now + 5
                if sel.select(timeout=1.0):
                    line = self.process.stdout.readline()
                    if line.startswith(READY):
                        return line
                    if line == "":  # the launcher exited
                        code = self.process.wait(timeout=10)
                        raise LauncherError(
                            f"the Neo4j launcher exited with status {code} before it was "
                            f"ready.\n{self.stderr_tail()}"
                        )

    def stderr_tail(self, chars: int = 6000) -> str:
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no launcher stderr)"
        return "launcher stderr:\n" + text[-chars:]

    def stop(self) -> None:
        """SIGTERM and wait (the launcher shuts down cleanly in well under a second)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def server_from_environment() -> Neo4jServer | None:
    """The server named by `NEO4J_URI` (with NEO4J_USER/PASSWORD/DATABASE), if any.

    `NEO4J_LAUNCHER_HOME` says that a tools/neo4j launcher runs it from that directory.
    """
    uri = os.environ.get("NEO4J_URI")
    if not uri:
        return None
    home = os.environ.get("NEO4J_LAUNCHER_HOME")
    return Neo4jServer(
        uri,
        os.environ.get("NEO4J_USER", DEFAULT_USER),
        os.environ.get("NEO4J_PASSWORD", DEFAULT_PASSWORD),
        os.environ.get("NEO4J_DATABASE", "neo4j"),
        Path(home) if home else None,
    )


@contextlib.contextmanager
def launched_server(prefix: str) -> Iterator[Neo4jServer]:
    """A server started here with a temporary data directory, stopped again at the end."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        launcher = Neo4jLauncher(Path(tmp) / "data")
        try:
            launcher.build()
            server = launcher.start()
        except (LauncherError, OSError, subprocess.SubprocessError) as exc:
            launcher.stop()
            pytest.fail(f"could not start the test Neo4j server: {exc}", pytrace=False)
        try:
            yield server
        finally:
            launcher.stop()


@pytest.fixture(scope="session")
def neo4j_server() -> Iterator[Neo4jServer]:
    """A running Neo4j for the session: `NEO4J_URI`'s, or one started here."""
    given = server_from_environment()
    if given is not None:
        yield given
        return
    with launched_server("discovery-neo4j-") as server:
        yield server


@pytest.fixture(scope="session")
def launcher_neo4j_server(neo4j_server: Neo4jServer) -> Iterator[Neo4jServer]:
    """A server whose launcher the tests control (for the offline importer, which stops it).

    The session's server when it is one; otherwise (a `NEO4J_URI` server elsewhere) one
    started here.
    """
    if neo4j_server.home is not None:
        yield neo4j_server
        return
    with launched_server("discovery-neo4j-import-") as server:
        yield server
