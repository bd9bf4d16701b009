"""Uploads from an attacker: zip bombs, bodies sent without a key or past the limit, racing
`Idempotency-Key`s, binary Parquet text, giant values. Each is refused early and cheaply,
and leaves no temporary files behind."""

from __future__ import annotations

import contextlib
import io
import socket
import struct
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.uploads import FRAMING, MAX_RATIO
from graph.embedded import EmbeddedStore
from graph.errors import ContractError
from tests.api.conftest import LiveServer, make_keys, settings_for
from tests.factories import tiny_world

MB = 1 << 20


class Counted:
    """A pure ASGI wrapper counting the request-body bytes the application received."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counting() -> Any:
            message = await receive()
            self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counting if scope["type"] == "http" else receive, send)


class TempWatch:
    """The temporary directory uploads unpack into, and the most it ever held."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def _poll(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(FileNotFoundError):
                self.peak = max(self.peak, self.size())
            time.sleep(0.002)

    def __enter__(self) -> TempWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def leftovers(self) -> list[Path]:
        return list(self.root.iterdir())


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


Client = tuple[TestClient, dict[str, dict[str, str]], Path]


@pytest.fixture
def make_client(tmp_path: Path, temp_root: Path) -> Iterator[Callable[..., Client]]:
    opened: list[TestClient] = []

    def make(**settings: object) -> Client:
        home = tmp_path / f"home{len(opened)}"
        app = create_app(settings_for(home, **settings))
        keys, _ = make_keys(app, "4403")
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return client, {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}, home

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def zipped(members: dict[str, bytes]) -> bytes:
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return packed.getvalue()


def understated(archive: bytes, size: int) -> bytes:
    """The archive with every member's declared unpacked size replaced by `size`."""
    out = bytearray(archive)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature)
        while at >= 0:
            out[at + offset : at + offset + 4] = struct.pack("<I", size)
            at = out.find(signature, at + 4)
    return bytes(out)


def tiny_files(tmp_path: Path) -> list[tuple[str, tuple[str, bytes]]]:
    data = tiny_world(tmp_path / "tiny")
    return [("files", (p.name, p.read_bytes())) for p in sorted(data.glob("*.csv"))]


def bomb_csv(megabytes: int) -> bytes:
    return b"uscc,name,region_code\n" + b"x,y,z\n" * (megabytes * MB // 6)


def test_a_zip_bomb_is_refused_while_unpacking_and_leaves_nothing(
    make_client: Callable[..., Client], temp_root: Path
) -> None:
    client, auth, home = make_client(max_upload_mb=1, max_unpacked_mb=500)
    honest = zipped({"companies.csv": bomb_csv(200)})
    assert len(honest) < MB  # 200 MB packed under the 1 MB limit
    for archive in (honest, understated(honest, 1000)):
        with TempWatch(temp_root) as watch:
            answer = client.post(
                "/v1/data", files=[("files", ("d.zip", archive))], headers=auth["platform"]
            )
        assert answer.status_code in (400, 413), answer.text
        # stopped at MAX_RATIO times the member's compressed size, not at 200 MB
        assert watch.peak <= MAX_RATIO * len(honest) + 2 * MB, watch.peak
        assert watch.peak < 40 * MB
        assert watch.leftovers() == []
    assert answer.status_code in (400, 413)
    assert EmbeddedStore(home / "store").current_version() is None
    answer = client.post("/v1/data", files=[("files", ("d.zip", honest))], headers=auth["platform"])
    assert answer.status_code == 413 and "zip" in answer.json()["detail"]


def test_the_unpacked_total_is_bounded(
    make_client: Callable[..., Client], temp_root: Path, tmp_path: Path
) -> None:
    client, auth, _ = make_client(max_upload_mb=1, max_unpacked_mb=2)
    numbers = b"".join(b"%09d,%09d\n" % (i, i * 7) for i in range(160_000))  # 3 MB
    archive = zipped({"companies.csv": numbers})
    assert len(archive) < MB
    with TempWatch(temp_root) as watch:
        for body in (archive, understated(archive, 10)):
            answer = client.post(
                "/v1/data", files=[("files", ("d.zip", body))], headers=auth["platform"]
            )
            assert answer.status_code in (400, 413), answer.text
    assert answer.status_code in (400, 413)
    assert watch.peak <= 3 * MB and watch.leftovers() == []
    honest = client.post("/v1/data", files=[("files", ("d.zip", archive))], headers=auth["admin"])
    assert honest.status_code == 413 and "unpacked" in honest.json()["detail"]
    # within the limits a zip loads
    data = tiny_world(tmp_path / "tiny")
    small = zipped({p.name: p.read_bytes() for p in data.glob("*.csv")})
    ok = client.post("/v1/data", files=[("files", ("d.zip", small))], headers=auth["admin"])
    assert ok.status_code == 200, ok.text


@pytest.fixture
def live_counted(tmp_path: Path, temp_root: Path) -> Iterator[tuple[LiveServer, Counted, dict]]:
    app = create_app(settings_for(tmp_path / "home", max_upload_mb=1))
    keys, _ = make_keys(app, "4403")
    counted = Counted(app)
    with LiveServer(counted) as server:  # type: ignore[arg-type]
        yield server, counted, keys


def answer_of(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]), data


MULTIPART = "multipart/form-data; boundary=xyz"
PART = b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="companies.csv"\r\n\r\n'


def request_head(server: LiveServer, keys: dict, role: str | None, **extra: str) -> bytes:
    headers = {"Content-Type": MULTIPART, **extra}
    if role:
        headers["Authorization"] = f"Bearer {keys[role]}"
    lines = ["POST /v1/data HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize(
    ("role", "declared", "status"),
    [(None, 300 * MB, 401), ("official", 300 * MB, 403), ("platform", 60 * MB, 413)],
)
def test_no_key_a_wrong_role_or_a_long_declared_length_is_refused_before_reading(
    live_counted: tuple[LiveServer, Counted, dict],
    temp_root: Path,
    role: str | None,
    declared: int,
    status: int,
) -> None:
    server, counted, keys = live_counted
    start = request_head(server, keys, role, **{"Content-Length": str(declared)})
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(start + PART + b"x" * 65536)  # then nothing more
        started = time.monotonic()
        answer, _ = answer_of(sock)
    assert answer == status
    assert time.monotonic() - started < 5  # answered without waiting for the rest
    assert counted.received == 0
    assert list(temp_root.iterdir()) == []


def test_a_chunked_body_is_cut_off_at_the_limit(
    live_counted: tuple[LiveServer, Counted, dict], temp_root: Path
) -> None:
    server, counted, keys = live_counted
    start = request_head(server, keys, "platform", **{"Transfer-Encoding": "chunked"})
    piece = b"x" * (256 << 10)
    sent = 0
    status = None
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(start + b"%x\r\n%s\r\n" % (len(PART), PART))
        try:
            while sent < 40 * MB:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
                sock.setblocking(False)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _ = answer_of(sock)
    assert status == 413
    assert sent < 40 * MB  # the server answered long before the client was done
    assert counted.received <= MB + FRAMING + len(piece) + 1024
    assert list(temp_root.iterdir()) == []


def test_two_racing_uploads_under_one_key_load_once(
    make_client: Callable[..., Client], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, auth, home = make_client()
    workspace = client.app.state.service.workspace  # type: ignore[attr-defined]
    real = workspace.ingest
    loads: list[Path] = []

    def slow(directory: Path, *a: Any, **k: Any) -> Any:
        loads.append(directory)
        time.sleep(1.0)
        return real(directory, *a, **k)

    monkeypatch.setattr(workspace, "ingest", slow)
    plain = tiny_files(tmp_path)
    other = [
        ("files", (n, b + b"91440305MA5F000000,x,440305,C3976,2010-05-01,private,small,,\n"))
        if n == "companies.csv"
        else ("files", (n, b))
        for _, (n, b) in plain
    ]
    headers = {**auth["platform"], "Idempotency-Key": "race-1"}
    answers: dict[int, Any] = {}

    def send(i: int, files: list) -> None:
        answers[i] = client.post("/v1/data", files=files, headers=headers)

    threads = [threading.Thread(target=send, args=(i, f)) for i, f in enumerate((plain, other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(a.status_code for a in answers.values())
    assert codes == [200, 409], [a.text for a in answers.values()]
    assert len(loads) == 1
    assert EmbeddedStore(home / "store").current_version() == "v000001"
    winner = next(i for i, a in answers.items() if a.status_code == 200)
    sent = (plain, other)
    # afterwards the key replays the winner and refuses the loser's content
    again = client.post("/v1/data", files=sent[winner], headers=headers)
    assert again.status_code == 200 and again.json()["replayed"]
    assert again.json()["version"] == "v000001"
    assert client.post("/v1/data", files=sent[1 - winner], headers=headers).status_code == 409
    assert len(loads) == 1

    # same content twice at once: one loads, the other is told it is still running
    monkeypatch.setattr(workspace, "ingest", slow)
    headers["Idempotency-Key"] = "race-2"
    threads = [threading.Thread(target=send, args=(i, other)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers.values()) == [200, 409]
    running = next(a for a in answers.values() if a.status_code == 409)
    assert "still being processed" in running.json()["detail"]
    assert len(loads) == 2


def test_a_failed_load_gives_the_key_back(
    make_client: Callable[..., Client], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, auth, home = make_client()
    workspace = client.app.state.service.workspace  # type: ignore[attr-defined]
    real = workspace.ingest

    def broken(*a: Any, **k: Any) -> Any:
        raise ContractError("the store refused it")

    files = tiny_files(tmp_path)
    headers = {**auth["platform"], "Idempotency-Key": "retry-1"}
    monkeypatch.setattr(workspace, "ingest", broken)
    assert client.post("/v1/data", files=files, headers=headers).status_code == 400
    monkeypatch.setattr(workspace, "ingest", real)
    retried = client.post("/v1/data", files=files, headers=headers)
    assert retried.status_code == 200 and not retried.json()["replayed"]
    assert EmbeddedStore(home / "store").current_version() == "v000001"


def test_binary_parquet_text_is_a_clear_400_and_nothing_is_stored(
    make_client: Callable[..., Client], tmp_path: Path
) -> None:
    client, auth, home = make_client()
    data = tiny_world(tmp_path / "tiny")
    companies = pd.read_csv(data / "companies.csv", dtype=str)
    companies["name"] = [b"\xff" + s.encode() for s in companies["name"]]
    packed = io.BytesIO()
    companies.to_parquet(packed)
    files = [("files", ("companies.parquet", packed.getvalue()))]
    answer = client.post("/v1/data", files=files, headers=auth["platform"])
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith("companies.parquet: ") and "'name'" in detail
    assert EmbeddedStore(home / "store").current_version() is None


def test_contract_errors_name_the_uploaded_file_never_a_server_path(
    make_client: Callable[..., Client], tmp_path: Path, temp_root: Path
) -> None:
    client, auth, home = make_client()
    files = dict((n, b) for _, (n, b) in tiny_files(tmp_path))
    header, _, rest = files["companies.csv"].partition(b"\n")
    files["companies.csv"] = header.replace(b"name,", b"") + b"\n" + rest
    for body in (
        [("files", (n, b)) for n, b in files.items()],
        [("files", ("data.zip", zipped({f"data/{n}": b for n, b in files.items()})))],
    ):
        answer = client.post("/v1/data", files=body, headers=auth["platform"])
        assert answer.status_code == 400, answer.text
        detail = answer.json()["detail"]
        assert "'name' is missing" in detail, detail
        assert str(temp_root) not in detail and "/tmp" not in detail and str(home) not in detail
        assert detail.split(":")[0] in ("companies.csv", "data/companies.csv")
    assert EmbeddedStore(home / "store").current_version() is None


def test_giant_values_are_cut_in_the_answer_and_the_rejects_file(
    make_client: Callable[..., Client], tmp_path: Path
) -> None:
    client, auth, home = make_client()
    data = tiny_world(tmp_path / "tiny")
    giant = "9" * 500_000
    row = f"91440305MA5F000000,{giant},440305,C3976,2010-05-01,private,small,,\n"
    files = [
        ("files", (p.name, p.read_bytes() + (row.encode() if p.name == "companies.csv" else b"")))
        for p in sorted(data.glob("*.csv"))
    ]
    answer = client.post("/v1/data", files=files, headers=auth["platform"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(answer.content) < 100_000
    shown = [r["value"] for r in body["rejects"] if r["column"] == "name"]
    assert shown and len(shown[0]) == 201 and shown[0].endswith("…")
    rejects = pd.read_csv(home / "uploads" / body["upload_id"] / "rejects.csv", dtype=str)
    assert rejects["value"].str.len().max() <= 201


def test_dead_uploads_temporary_folders_are_swept(
    make_client: Callable[..., Client], temp_root: Path, tmp_path: Path
) -> None:
    client, auth, _ = make_client()
    dead = temp_root / "discovery-upload-99999999-abc"  # above any pid the kernel gives
    dead.mkdir()
    (dead / "companies.csv").write_bytes(b"x" * 1000)
    files = tiny_files(tmp_path)
    assert client.post("/v1/data", files=files, headers=auth["platform"]).status_code == 200
    assert list(temp_root.iterdir()) == []


def test_the_schema_still_describes_a_multipart_upload(
    make_client: Callable[..., Client],
) -> None:
    client, auth, _ = make_client()
    body = client.get("/openapi.json").json()["paths"]["/v1/data"]["post"]["requestBody"]
    files = body["content"]["multipart/form-data"]["schema"]["properties"]["files"]
    assert files["type"] == "array" and body["required"]
    # a body that is not multipart is the validation error it always was
    answer = client.post("/v1/data", content=b"{}", headers=auth["platform"])
    assert answer.status_code == 422
