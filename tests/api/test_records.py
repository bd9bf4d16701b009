"""Uploads (idempotent, rejects reported, bounded), invitations and outcomes, audit, rate, keys."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from discovery import records
from discovery.cli import app as cli
from graph.embedded import EmbeddedStore
from tests.api.conftest import AS_OF, Served, make_keys, settings_for
from tests.factories import tiny_world

BAD_ROW = "91440305MA5F000000,坏数据有限公司,440305,C3976,2010-05-01,private,small,,\n"


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    """An app over an empty state directory, with keys (the official bound to 4403)."""
    home = tmp_path / "home"
    app = create_app(settings_for(home, max_upload_mb=1))
    keys, _ = make_keys(app, "4403")
    with TestClient(app) as client:
        yield client, {r: f"Bearer {k}" for r, k in keys.items()}, home


def files_of(directory: Path, extra_row: str = "") -> list[tuple[str, tuple[str, bytes, str]]]:
    out = []
    for path in sorted(directory.glob("*.csv")):
        body = path.read_bytes()
        if path.name == "companies.csv" and extra_row:
            body += extra_row.encode()
        out.append(("files", (path.name, body, "text/csv")))
    return out


def test_upload_reports_rejects_and_repeats_harmlessly(empty, tmp_path: Path) -> None:
    client, auth, home = empty
    data = tiny_world(tmp_path / "tiny")
    sent = files_of(data, BAD_ROW)
    headers = {"Authorization": auth["platform"], "Idempotency-Key": "load-1"}
    first = client.post("/v1/data", files=sent, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["loaded_rows"] > 0 and body["changed"] and not body["replayed"]
    assert body["rejected_rows"] >= 1 and body["rejects_total"] == body["rejected_rows"]
    bad = [r for r in body["rejects"] if r["file"] == "companies.csv"]
    assert bad and bad[-1]["line"] == len((data / "companies.csv").read_text().splitlines()) + 1
    assert bad[-1]["reason"]
    assert (home / "uploads" / body["upload_id"] / "rejects.csv").is_file()
    version = EmbeddedStore(home / "store").current_version()

    again = client.post("/v1/data", files=sent, headers=headers)
    assert again.status_code == 200
    assert again.json() == {**body, "replayed": True}
    assert EmbeddedStore(home / "store").current_version() == version

    other = client.post("/v1/data", files=files_of(data), headers=headers)
    assert other.status_code == 409  # same key, other content
    # without a key, the same content loads again and changes nothing
    plain = client.post("/v1/data", files=sent, headers={"Authorization": auth["admin"]})
    assert plain.status_code == 200 and not plain.json()["changed"]

    log = client.get(
        "/v1/audit", params={"action": "upload"}, headers={"Authorization": auth["admin"]}
    )
    entries = log.json()["data"]
    assert len(entries) == 2  # the replay wrote nothing
    assert {e["rows"] for e in entries} == {body["loaded_rows"]}
    assert {e["role"] for e in entries} == {"platform", "admin"}


def test_upload_as_zip_and_refusals(empty, tmp_path: Path) -> None:
    client, auth, _ = empty
    data = tiny_world(tmp_path / "tiny")
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for path in data.glob("*.csv"):
            archive.write(path, f"export/{path.name}")
    h = {"Authorization": auth["platform"]}
    zipped = client.post("/v1/data", files=[("files", ("data.zip", packed.getvalue()))], headers=h)
    assert zipped.status_code == 200, zipped.text
    assert zipped.json()["tables"]["companies"]["loaded"] > 0

    stray = client.post("/v1/data", files=[("files", ("../../etc/passwd", b"x"))], headers=h)
    assert stray.status_code == 400
    no_companies = [f for f in files_of(data) if f[1][0] != "companies.csv"]
    missing = client.post("/v1/data", files=no_companies, headers=h)
    assert missing.status_code == 400 and "companies" in missing.json()["detail"]
    big = client.post("/v1/data", files=[("files", ("companies.csv", b"x" * (3 << 20)))], headers=h)
    assert big.status_code == 413
    broken = client.post("/v1/data", files=[("files", ("d.zip", b"not a zip"))], headers=h)
    assert broken.status_code == 400


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path / "home", rate_per_second=0.5, rate_burst=3))
    keys, _ = make_keys(app, "4403")
    with TestClient(app) as client:
        h = {"Authorization": f"Bearer {keys['analyst']}"}
        codes = [client.get("/v1/me", headers=h).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[-1] == 429
        answer = client.get("/v1/me", headers=h)
        assert int(answer.headers["retry-after"]) >= 1
        # another key has its own bucket
        other = {"Authorization": f"Bearer {keys['admin']}"}
        assert client.get("/v1/me", headers=other).status_code == 200


def test_invite_record_outcomes_and_audit(served: Served) -> None:
    c, s = served.client, served
    h = s.headers("official")
    listed = c.get("/v1/invitations", params={"as_of": AS_OF.isoformat(), "limit": 5}, headers=h)
    assert listed.status_code == 200
    codes = [r["uscc"] for r in listed.json()["data"][:2]]
    made = c.post("/v1/invitations", json={"tier": "specialized_sme", "uscc": codes}, headers=h)
    assert made.status_code == 201, made.text
    invitations = made.json()["data"]
    assert [i["uscc"] for i in invitations] == codes
    assert all(
        i["outcome"] == "pending" and i["invited_by"] == s.key_ids["official"] for i in invitations
    )
    # inviting again reuses the open invitation
    again = c.post(
        "/v1/invitations", json={"tier": "specialized_sme", "uscc": codes[:1]}, headers=h
    )
    assert again.json()["data"][0]["invitation_id"] == invitations[0]["invitation_id"]

    first = invitations[0]["invitation_id"]
    applied = c.post(f"/v1/invitations/{first}/outcome", json={"outcome": "applied"}, headers=h)
    assert applied.status_code == 200 and applied.json()["outcome"] == "applied"
    approved = c.post(
        f"/v1/invitations/{first}/outcome",
        json={"outcome": "approved"},
        headers=s.headers("platform"),
    )
    assert approved.status_code == 200 and approved.json()["outcome_by"] == s.key_ids["platform"]
    final = c.post(f"/v1/invitations/{first}/outcome", json={"outcome": "declined"}, headers=h)
    assert final.status_code == 409

    log = c.get("/v1/audit", params={"limit": 200}, headers=h).json()["data"]
    assert {e["key_id"] for e in log} == {s.key_ids["official"]}  # officials see their own
    pulls = [e for e in log if e["action"] == "list" and e["params"].get("limit") == 5]
    assert pulls and pulls[0]["rows"] == len(listed.json()["data"])
    invites = [e for e in log if e["action"] == "invite"]
    both = [e for e in invites if e["params"]["uscc"] == codes]
    assert len(both) == 1 and both[0]["rows"] == 2
    outcomes = [e for e in log if e["action"] == "outcome"]
    assert outcomes and outcomes[0]["params"]["invitation_id"] == first
    everyone = c.get("/v1/audit", params={"limit": 200}, headers=s.headers("admin")).json()
    assert s.key_ids["platform"] in {e["key_id"] for e in everyone["data"]}


def test_recorded_outcomes_become_the_contracts_invitations_table(
    served: Served, tmp_path: Path
) -> None:
    service = served.app.state.service
    with service.records.session() as session:
        frame = records.outcomes_frame(session)
        assert list(frame.columns) == [
            "invitation_id", "uscc", "tier", "invited_on", "outcome", "outcome_on",
        ]  # fmt: skip
        store = EmbeddedStore(tmp_path / "store")
        from graph.validation import read_directory

        store.load(read_directory(served.world.data))
        if len(frame):
            result = records.load_into_store(session, store)
            assert result.changed
            held = store.read("invitations").set_index("invitation_id")
            for row in frame.itertuples():
                assert held.at[row.invitation_id, "outcome"] == row.outcome


def test_keys_create_prints_the_key_once(home: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "--role", "official", "--regions", "3205,44"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("sdk_")
    opened = records.open_records()
    with opened.session() as session:
        key = records.authenticate(session, secret)
        assert key is not None and key.role == "official" and key.region_prefixes == ("3205", "44")
        stored = session.get(records.ApiKey, key.key_id)
        assert stored is not None and secret[len("sdk_") + 13 :] not in (stored.digest, stored.salt)
    opened.close()
    refused = runner.invoke(cli, ["keys", "create", "--role", "official"])
    assert refused.exit_code == 2 and "regions" in refused.output
    assert "Traceback" not in refused.output
    assert runner.invoke(cli, ["keys", "create", "--role", "boss"]).exit_code == 2
    assert (
        runner.invoke(cli, ["keys", "create", "--role", "admin", "--regions", "12345"]).exit_code
        == 2
    )


def test_serve_runs_uvicorn_by_import_string(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, object] = {}
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.update(args=a, kwargs=k))
    result = CliRunner().invoke(cli, ["serve", "--host", "127.0.0.1", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert calls["args"] == ("api.main:create_app",)
    assert calls["kwargs"] == {"factory": True, "host": "127.0.0.1", "port": 8123}
    assert CliRunner().invoke(cli, ["serve", "--port", "0"]).exit_code == 2


def test_the_cli_never_imports_the_api_layer() -> None:
    probe = (
        "import sys, discovery.cli; assert not [m for m in sys.modules if m.split('.')[0] == 'api']"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
