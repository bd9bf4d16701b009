"""Refusals are audited, and guessing keys is slowed per client address."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.ratelimit import RateLimiter
from tests.api.conftest import AS_OF, Served, World, make_keys, settings_for
from tests.api.test_access import NOBODY, outsiders

BAD_KEY = "sdk_0123456789ab_" + "x" * 32


@pytest.fixture()
def guarded(world: World, served: Served, tmp_path: Path) -> Iterator[Served]:
    """The world served with its own records database and a small failed-key allowance."""
    home = tmp_path / "home"
    shutil.copytree(world.home, home, ignore=shutil.ignore_patterns("records.db*"))
    app = create_app(settings_for(home, failed_auth_burst=3, failed_auth_per_minute=0.6))
    keys, ids = make_keys(app, served.city)
    with TestClient(app) as client:
        yield Served(world, app, client, keys, served.city, ids)


def denied(s: Served) -> list[dict[str, object]]:
    answer = s.client.get(
        "/v1/audit", params={"action": "denied", "limit": 100}, headers=s.headers("admin")
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def test_every_refusal_is_written_down_with_who_and_where(guarded: Served) -> None:
    c, s = guarded.client, guarded
    assert c.get("/v1/invitations").status_code == 401
    assert c.get("/v1/me", headers={"Authorization": f"Bearer {BAD_KEY}"}).status_code == 401
    official = s.headers("official")
    assert c.post("/v1/data", headers=official).status_code == 403
    other, _ = outsiders(s)
    for code in (other, NOBODY):
        answer = c.get(
            f"/v1/companies/{code}", params={"as_of": AS_OF.isoformat()}, headers=official
        )
        assert answer.status_code == 404
    # a success is not a denial
    assert c.get("/v1/me", headers=official).status_code == 200

    entries = denied(s)
    by_status = sorted((e["status"], e["key_id"], e["route"], e["params"]["path"]) for e in entries)
    assert by_status == sorted(
        [
            (401, "anonymous", "/v1/invitations", "/v1/invitations"),
            (401, "anonymous", "/v1/me", "/v1/me"),
            (403, s.key_ids["official"], "/v1/data", "/v1/data"),
            (404, s.key_ids["official"], "/v1/companies/{uscc}", f"/v1/companies/{other}"),
            (404, s.key_ids["official"], "/v1/companies/{uscc}", f"/v1/companies/{NOBODY}"),
        ]
    )
    # the official sees their own refusals, without the other city's code they asked for
    own = c.get("/v1/audit", params={"action": "denied"}, headers=official).json()["data"]
    assert sorted(e["status"] for e in own) == [403, 404, 404]
    assert other not in str(own) and all("path" not in e["params"] for e in own)
    presented = {e["route"]: e["params"]["key_presented"] for e in entries if e["status"] == 401}
    assert presented == {"/v1/invitations": False, "/v1/me": True}
    assert all(e["params"]["client"] == "testclient" for e in entries)
    # the key itself is never stored
    assert BAD_KEY not in str(entries)


def test_failed_keys_are_slowed_per_address(guarded: Served) -> None:
    c, s = guarded.client, guarded
    bad = {"Authorization": f"Bearer {BAD_KEY}"}
    assert [c.get("/v1/me", headers=bad).status_code for _ in range(3)] == [401] * 3
    locked = c.get("/v1/me", headers=bad)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    # while the address is locked out, even a good key from it waits, and nothing is checked
    assert c.get("/v1/me", headers=s.headers("official")).status_code == 429
    assert len([e for e in denied_from_store(s) if e.status == 401]) == 3


def denied_from_store(s: Served) -> list[object]:
    from discovery import records

    with s.app.state.service.records.session() as session:
        entries, _ = records.list_entries(session, action="denied", limit=1000)
    return list(entries)


def test_a_limiter_peeks_without_spending_and_forgets_refilled_buckets() -> None:
    limiter = RateLimiter(rate=1000.0, burst=2)
    assert limiter.wait("a") == 0 and limiter.wait("a") == 0
    assert limiter.allow("a") == 0 and limiter.allow("a") == 0
    assert limiter.allow("a") > 0  # the third within a millisecond
    assert limiter.allow("b") == 0  # another key is not affected
    slow = RateLimiter(rate=0.001, burst=1)
    assert slow.allow("x") == 0 and slow.wait("x") > 100
    many = RateLimiter(rate=1e9, burst=1)
    for i in range(25_000):
        many.allow(f"k{i}")
    assert len(many._buckets) < 20_000
