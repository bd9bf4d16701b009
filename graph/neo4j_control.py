"""The control channel of a `tools/neo4j` launcher: the offline import on a server we run ourselves.

Neo4j's offline importer only writes into a stopped database, so only a server this
machine controls can use it. A launcher started by `tools/neo4j/start.sh` writes
`DATADIR/control.json` (readable by its owner only) naming a local socket and a
secret token; `LauncherControl.find` reads it when the store's settings name the
launcher's data directory (`NEO4J_LAUNCHER_HOME`) and the file names the store's own
Bolt address. A remote server has no such file, and its loads use transactions.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from graph.errors import StoreError

log = logging.getLogger(__name__)

CONTROL_FILE = "control.json"
#: how long an import may take before the client gives up waiting (the launcher carries on)
IMPORT_TIMEOUT_S = 6 * 3600.0


class Neo4jImportError(StoreError):
    def __init__(self, uri: str, why: str) -> None:
        super().__init__(f"the offline import into Neo4j at {uri} failed: {why}")


@dataclass(frozen=True)
class LauncherControl:
    """A running launcher's control socket, and the data directory it serves."""

    home: Path
    bolt: str
    port: int
    token: str

    @classmethod
    def find(cls, home: Path | None, uri: str) -> LauncherControl | None:
        """The control channel of the launcher serving `uri` from `home`, if there is one."""
        if home is None:
            return None
        path = Path(home) / CONTROL_FILE
        try:
            described = json.loads(path.read_text(encoding="utf-8"))
            control = cls(
                Path(home), str(described["bolt"]), int(described["port"]), str(described["token"])
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not _same_address(control.bolt, uri):
            log.info("%s describes the launcher of %s, not of %s", path, control.bolt, uri)
            return None
        return control

    @property
    def import_folder(self) -> Path:
        """Where the import files are written: inside the launcher's data directory."""
        return self.home / "import"

    def ping(self, timeout: float = 5.0) -> bool:
        try:
            return self._request(["PING"], timeout) == "OK"
        except OSError:
            return False

    def import_full(self, arguments: Sequence[str], timeout: float = IMPORT_TIMEOUT_S) -> float:
        """Run `neo4j-admin database import full` with `arguments` into the empty database.

        The launcher stops the server, imports, and starts it again on the same port;
        returns the seconds it took. Raises `Neo4jImportError` with the launcher's reason.
        """
        if any("\n" in a or "\r" in a for a in arguments):
            raise ValueError("an importer argument holds a line break")
        started = time.monotonic()
        try:
            reply = self._request(["IMPORT", *arguments, "END"], timeout)
        except OSError as exc:
            raise Neo4jImportError(self.bolt, f"the launcher did not answer ({exc})") from exc
        if not reply.startswith("OK"):
            raise Neo4jImportError(self.bolt, reply.removeprefix("ERROR").strip() or "no reply")
        return time.monotonic() - started

    def _request(self, lines: list[str], timeout: float) -> str:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10.0) as conn:
            conn.settimeout(timeout)
            conn.sendall(("\n".join([self.token, *lines]) + "\n").encode("utf-8"))
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return reply.decode("utf-8", errors="replace").strip()


def _same_address(a: str, b: str) -> bool:
    """Whether two Bolt URIs name the same local server (scheme aside; localhost = 127.0.0.1)."""

    def where(uri: str) -> tuple[str, int | None]:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        return ("127.0.0.1" if host in ("localhost", "::1") else host), parts.port

    return where(a) == where(b)
