"""The service's own state: readiness says when the home cannot be written, failures answer
one JSON sentence, and an invitation follows its company to the region it is in now."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import AS_OF, Served, World, make_keys, settings_for

LIST = {"tier": "specialized_sme", "as_of": AS_OF.isoformat()}


def test_ready_checks_the_home_takes_writes(served: Served) -> None:
    answer = served.client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["checks"] == {"home": "ok", "store": "ok", "records": "ok"}
    assert not [p for p in served.world.home.iterdir() if p.name.startswith(".ready-")]


@pytest.fixture
def read_only_home(world: World, tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    """An app whose state directory becomes read-only once it runs (a read-only bind mount)."""
    home = tmp_path / "home"
    shutil.copytree(world.home, home, ignore=shutil.ignore_patterns("records.db*"))
    app = create_app(settings_for(home))
    with TestClient(app) as client:
        if os.geteuid() != 0:
            home.chmod(0o555)
            yield client, home
            home.chmod(0o755)
            return
        mount = subprocess.run(["mount", "--bind", str(home), str(home)], check=False)
        if mount.returncode != 0:
            pytest.skip("cannot make a read-only mount here")
        try:
            ro = ["mount", "-o", "remount,ro,bind", str(home)]
            if subprocess.run(ro, check=False).returncode != 0:
                pytest.skip("cannot make a read-only mount here")
            yield client, home
        finally:
            subprocess.run(["umount", str(home)], check=False)


def test_a_read_only_home_is_not_ready(read_only_home: tuple[TestClient, Path]) -> None:
    client, _ = read_only_home
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["checks"]["home"] in {"OSError", "PermissionError"}


def test_a_failing_state_directory_answers_503_in_one_sentence(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = served.app.state.service.workspace

    def unwritable(*_args: object, **_kw: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(served.world.home))

    monkeypatch.setattr(workspace, "ranked", unwritable)
    c, h = served.client, served.headers("analyst")
    for path in ("/v1/invitations", "/v1/exports/invitations.csv"):
        answer = c.get(path, params=LIST, headers=h)
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        detail = answer.json()["detail"]
        assert "/readyz" in detail and str(served.world.home) not in detail


def test_any_route_answers_503_not_500_when_the_disk_fails(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Routes without their own handling (a company page) answer the service-wide 503."""
    workspace = served.app.state.service.workspace

    def unreadable(*_args: object, **_kw: object) -> None:
        raise OSError(errno.EIO, "Input/output error", str(served.world.home / "store"))

    monkeypatch.setattr(workspace, "company_facts", unreadable)
    uscc = str(served.world.companies.index[0])
    answer = served.client.get(
        f"/v1/companies/{uscc}",
        params={"as_of": AS_OF.isoformat()},
        headers=served.headers("analyst"),
    )
    assert answer.status_code == 503, answer.text
    assert str(served.world.home) not in answer.json()["detail"]


def test_an_invitation_follows_its_company_to_its_new_region(world: World, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(world.home, home, ignore=shutil.ignore_patterns("records.db*"))
    app = create_app(settings_for(home))
    companies = world.companies
    region = companies["region_code"]
    mover = str(companies.index[0])
    old_city = str(region.iloc[0])[:4]
    new_region = str(region.loc[~region.str.startswith(old_city)].iloc[0])
    new_city = new_region[:4]
    old_keys, _ = make_keys(app, old_city)
    new_keys, _ = make_keys(app, new_city)
    old = {"Authorization": f"Bearer {old_keys['official']}"}
    new = {"Authorization": f"Bearer {new_keys['official']}"}
    with TestClient(app) as c:
        made = c.post(
            "/v1/invitations",
            json={"tier": "specialized_sme", "uscc": [mover]},
            headers={"Authorization": f"Bearer {old_keys['admin']}"},
        )
        assert made.status_code == 201, made.text
        invitation = made.json()["data"][0]["invitation_id"]
        seen = c.get("/v1/invitations/records", params={"uscc": mover}, headers=old)
        assert seen.json()["count"] == 1
        # the company moves: the store now holds it in another city
        row = companies.loc[[mover]].reset_index()
        row["region_code"] = new_region
        data = tmp_path / "move"
        data.mkdir()
        row.to_csv(data / "companies.csv", index=False)
        app.state.service.workspace.ingest(data, tmp_path / "rejects.csv")
        assert c.get("/v1/invitations/records", params={"uscc": mover}, headers=old).json() == {
            "data": [],
            "count": 0,
        }
        gone = c.post(
            f"/v1/invitations/{invitation}/outcome", json={"outcome": "declined"}, headers=old
        )
        assert gone.status_code == 404
        theirs = c.get("/v1/invitations/records", params={"uscc": mover}, headers=new)
        assert [r["invitation_id"] for r in theirs.json()["data"]] == [invitation]
        assert theirs.json()["data"][0]["region_code"] == new_region
        answered = c.post(
            f"/v1/invitations/{invitation}/outcome", json={"outcome": "declined"}, headers=new
        )
        assert answered.status_code == 200, answered.text
        assert c.get(f"/v1/companies/{mover}", headers=old).status_code == 404
