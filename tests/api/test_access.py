"""Access: no key 401, wrong role 403, and an official never sees a company outside their regions."""

from __future__ import annotations

import errno
import io
import re
import zipfile

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.views import full_list
from discovery import records
from discovery.cli import app as cli
from graph.errors import StoreUnavailableError
from tests.api.conftest import AS_OF, Served

LIST = {"tier": "specialized_sme", "as_of": AS_OF.isoformat()}
CODE = re.compile(r"[0-9A-Z]{18}")
#: a well-formed code no company holds
NOBODY = "91999999MA00000000"


def outsiders(s: Served) -> tuple[str, set[str]]:
    """A listed company of another city that is linked to a listed company of the official's city,
    and the names of every company outside the city linked to a company inside it."""
    w = s.world
    region = w.companies["region_code"]
    inside = set(region.index[region.str.startswith(s.city)])
    ranked = full_list(s.app.state.service, "specialized_sme", AS_OF).frame
    listed = set(ranked["uscc"])
    pairs = pd.concat(
        [
            w.links.rename(columns={"supplier_uscc": "a", "customer_uscc": "b"})[["a", "b"]],
            w.links.rename(columns={"customer_uscc": "a", "supplier_uscc": "b"})[["a", "b"]],
            w.investments.rename(columns={"investee_uscc": "a", "investor_id": "b"})[["a", "b"]],
        ]
    ).astype(str)
    crossing = pairs.loc[pairs["a"].isin(inside) & ~pairs["b"].isin(inside)]
    crossing = crossing.loc[crossing["b"].isin(w.companies.index)]
    names = set(w.companies.loc[crossing["b"].unique(), "name"])
    candidates = crossing.loc[crossing["a"].isin(listed) & crossing["b"].isin(listed), "b"]
    other = str(candidates.iloc[0]) if len(candidates) else str(sorted(listed - inside)[0])
    return other, names


def assert_only_city(s: Served, text: str, hidden_names: set[str]) -> None:
    """No code of a company outside the city, and no name of a hidden neighbour, in `text`."""
    region = s.world.companies["region_code"]
    for token in set(CODE.findall(text)):
        if token in region.index:
            assert region[token].startswith(s.city), f"{token} of {region[token]} leaked"
    for name in hidden_names:
        assert name not in text, f"the name {name} leaked"


def test_no_key_is_401_and_a_bad_key_too(served: Served) -> None:
    c = served.client
    for method, path in [
        ("GET", "/v1/invitations"),
        ("GET", f"/v1/companies/{NOBODY}"),
        ("GET", "/v1/exports/invitations.csv"),
        ("POST", "/v1/invitations"),
        ("POST", "/v1/data"),
        ("POST", "/v1/models/train"),
        ("GET", "/v1/audit"),
        ("GET", "/v1/models"),
    ]:
        assert c.request(method, path).status_code == 401
        bad = {"Authorization": "Bearer sdk_000000000000_notarealsecretnotarealsecret"}
        answer = c.request(method, path, headers=bad)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        ("official", "POST", "/v1/models/train"),
        ("official", "GET", "/v1/models"),
        ("official", "POST", "/v1/data"),
        ("analyst", "POST", "/v1/invitations"),
        ("analyst", "GET", "/v1/audit"),
        ("platform", "GET", f"/v1/companies/{NOBODY}"),
        ("platform", "POST", "/v1/models/train"),
        ("platform", "POST", "/v1/invitations"),
    ],
)
def test_a_role_outside_its_rights_is_403(
    served: Served, role: str, method: str, path: str
) -> None:
    answer = served.client.request(method, path, headers=served.headers(role), json={})
    assert answer.status_code == 403, answer.text


def test_an_officials_list_holds_only_their_city(served: Served) -> None:
    c, s = served.client, served
    mine = c.get("/v1/invitations", params={**LIST, "limit": 200}, headers=s.headers("official"))
    everyone = c.get("/v1/invitations", params={**LIST, "limit": 200}, headers=s.headers("admin"))
    assert mine.status_code == everyone.status_code == 200
    rows = mine.json()["data"]
    assert rows, "the chosen city has candidates"
    assert all(r["region_code"].startswith(s.city) for r in rows)
    in_city = [r for r in everyone.json()["data"] if r["region_code"].startswith(s.city)]
    assert [r["uscc"] for r in rows][: len(in_city)] == [r["uscc"] for r in in_city]
    assert mine.json()["count"] < everyone.json()["count"]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))  # ranks within the city
    # companies below an empirical floor say so and come after the others
    marked = [bool(r["floor_check"]) for r in everyone.json()["data"]]
    assert marked == sorted(marked)
    assert all(r["floor_check"].startswith("低于历次获批企业") for r in rows if r["floor_check"])
    paths = {t["id"]: t["alternatives"] for t in mine.json()["thresholds"]}
    assert [[c["measure"] for c in p] for p in paths["ss_revenue"]] == [["equity_financing_2y_wan"]]
    # asking for another province gives nothing, not an error that tells anything
    other = c.get("/v1/invitations", params={**LIST, "region": "65"}, headers=s.headers("official"))
    assert other.status_code == 200 and other.json()["count"] == 0


def test_another_citys_company_is_404_everywhere_and_never_named(served: Served) -> None:
    c, s = served.client, served
    other, _ = outsiders(s)
    assert not s.world.companies.at[other, "region_code"].startswith(s.city)
    h = s.headers("official")
    for path in ["/v1/companies/{}", "/v1/companies/{}/graph"]:
        theirs = c.get(path.format(other), params={"as_of": AS_OF.isoformat()}, headers=h)
        nobody = c.get(path.format(NOBODY), params={"as_of": AS_OF.isoformat()}, headers=h)
        assert theirs.status_code == nobody.status_code == 404
        assert theirs.content == nobody.content
        assert other not in theirs.text
        # an analyst sees it
        assert c.get(path.format(other), headers=s.headers("analyst")).status_code == 200
    invite = c.post("/v1/invitations", json={"tier": "specialized_sme", "uscc": [other]}, headers=h)
    invite_nobody = c.post(
        "/v1/invitations", json={"tier": "specialized_sme", "uscc": [NOBODY]}, headers=h
    )
    assert invite.status_code == invite_nobody.status_code == 404
    assert invite.content == invite_nobody.content
    # an invitation of the other city (made by an admin) cannot be answered by the official
    made = c.post(
        "/v1/invitations",
        json={"tier": "specialized_sme", "uscc": [other]},
        headers=s.headers("admin"),
    )
    assert made.status_code == 201
    theirs_id = made.json()["data"][0]["invitation_id"]
    outcome = c.post(
        f"/v1/invitations/{theirs_id}/outcome", json={"outcome": "declined"}, headers=h
    )
    no_such = c.post(
        "/v1/invitations/INV-20260101-0000000000/outcome", json={"outcome": "declined"}, headers=h
    )
    assert outcome.status_code == no_such.status_code == 404
    assert outcome.content == no_such.content
    records = c.get("/v1/invitations/records", params={"limit": 200}, headers=h)
    assert other not in records.text
    for path in ["/v1/exports/invitations.csv", "/v1/exports/invitations.xlsx"]:
        exported = c.get(path, params=LIST, headers=h)
        assert exported.status_code == 200
        assert other.encode() not in exported.content


def test_nothing_an_official_can_read_names_another_city(served: Served) -> None:
    """Every body an official can fetch: no code outside the city, no hidden neighbour's name."""
    c, s = served.client, served
    other, hidden = outsiders(s)
    h = s.headers("official")
    bodies: list[str] = []
    listed = c.get("/v1/invitations", params={**LIST, "limit": 200}, headers=h)
    bodies.append(listed.text)
    for row in listed.json()["data"][:25]:
        for suffix in ("", "/graph"):
            page = c.get(f"/v1/companies/{row['uscc']}{suffix}", params=LIST, headers=h)
            assert page.status_code == 200
            bodies.append(page.text)
    little = c.get("/v1/invitations", params={**LIST, "tier": "little_giant"}, headers=h)
    bodies.append(little.text)
    bodies.append(c.get("/v1/exports/invitations.csv", params=LIST, headers=h).text)
    workbook = c.get("/v1/exports/invitations.xlsx", params=LIST, headers=h).content
    with zipfile.ZipFile(io.BytesIO(workbook)) as book:
        bodies.extend(book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml"))
    bodies.append(c.get("/v1/audit", params={"limit": 200}, headers=h).text)
    bodies.append(c.get("/v1/invitations/records", params={"limit": 200}, headers=h).text)
    bodies.append(c.get("/v1/me", headers=h).text)
    text = "\n".join(bodies)
    assert other not in text
    assert_only_city(s, text, hidden)
    # the masking is real: the same company pages name those neighbours to an analyst
    seen_by_analyst = "\n".join(
        c.get(f"/v1/companies/{row['uscc']}", params=LIST, headers=s.headers("analyst")).text
        for row in listed.json()["data"][:25]
    )
    assert any(name in seen_by_analyst for name in hidden)


def test_a_revoked_key_is_refused_from_the_next_request(served: Served) -> None:
    c = served.client
    with served.app.state.service.records.session() as session:
        made = records.create_key(session, "analyst", label="to be revoked")
    h = {"Authorization": f"Bearer {made.secret}"}
    assert c.get("/v1/me", headers=h).status_code == 200
    env = {"DISCOVERY_HOME": str(served.world.home), "DISCOVERY_DATABASE_URL": None}
    revoked = CliRunner().invoke(cli, ["keys", "revoke", made.key_id], env=env)
    assert revoked.exit_code == 0, revoked.output
    answer = c.get("/v1/me", headers=h)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert c.get("/v1/me", headers=served.headers("analyst")).status_code == 200


def test_a_wrong_parameter_is_one_sentence_naming_the_field(served: Served) -> None:
    c, h = served.client, served.headers("admin")
    answer = c.get("/v1/invitations", params={**LIST, "limit": 0}, headers=h)
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"] == (
        "参数 limit 必须是 1 到 200 的整数 (limit must be an integer from 1 to 200)"
    )
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [
        (["query", "limit"], "greater_than_equal")
    ]
    # the sentence names the field; the value sent is never echoed
    region = c.get("/v1/invitations", params={**LIST, "region": "３２"}, headers=h)
    assert region.status_code == 422 and "３２" not in region.text
    assert region.json()["detail"] == (
        "参数 region 必须是 2、4 或 6 位数字的地区代码前缀 "
        "(region must be a region-code prefix of 2, 4 or 6 digits)"
    )
    day = c.get("/v1/companies/" + "9" * 18, params={"as_of": "31/12/2025"}, headers=h)
    assert day.json()["detail"].startswith("参数 as_of 必须是 YYYY-MM-DD 格式的日期")
    body_field = c.post(
        "/v1/models/train",
        json={"tier": "little_giant", "as_of": AS_OF.isoformat(), "rounds": 50},
        headers=h,
    )
    assert body_field.json()["detail"] == (
        "字段 rounds 必须是 2 到 10 的整数 (rounds must be an integer from 2 to 10)"
    )
    two = c.post("/v1/invitations", json={"tier": "little_giant", "uscc": [], "x": 1}, headers=h)
    assert two.status_code == 422 and len(two.json()["errors"]) == 2
    detail = two.json()["detail"]
    assert detail.startswith("字段 uscc 至少要有 1 项，另有 1 处错误见 errors (uscc ")
    assert "\n" not in detail and detail.endswith("; 1 more in errors)")


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.EIO, "Input/output error", "store"),
        StoreUnavailableError("the store does not answer"),
    ],
)
def test_a_503_says_when_to_ask_again(
    served: Served, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def unavailable(*_args: object, **_kw: object) -> None:
        raise failure

    monkeypatch.setattr(served.app.state.service.workspace, "ranked", unavailable)
    answer = served.client.get("/v1/invitations", params=LIST, headers=served.headers("analyst"))
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) >= 1
