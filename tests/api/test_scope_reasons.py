"""Reasons shown to an official name no company outside their regions, by code or by name."""

from __future__ import annotations

import io
import zipfile

from api.views import full_list
from discovery.ranking import MENTIONS
from discovery.scope import CREDIT_CODE
from tests.api.conftest import AS_OF, Served

TIERS = ("specialized_sme", "little_giant")


def named_outside(s: Served) -> dict[str, list[tuple[str, str]]]:
    """Per listed company of the official's city, the companies outside it its reasons name."""
    region = s.world.companies["region_code"]
    out: dict[str, list[tuple[str, str]]] = {}
    for tier in TIERS:
        frame = full_list(s.app.state.service, tier, AS_OF).frame
        mine = frame.loc[frame["region_code"].str.startswith(s.city)]
        for code, named in zip(mine["uscc"], mine[MENTIONS], strict=True):
            for other, text in named:
                if not str(region.get(other, "")).startswith(s.city):
                    out.setdefault(code, []).append((other, text))
    return out


def bodies(s: Served, role: str, companies: list[str]) -> str:
    c, h = s.client, s.headers(role)
    texts: list[str] = []
    for tier in TIERS:
        params = {"tier": tier, "as_of": AS_OF.isoformat()}
        offset = 0
        while True:
            page = c.get(
                "/v1/invitations", params={**params, "limit": 200, "offset": offset}, headers=h
            )
            assert page.status_code == 200, page.text
            texts.append(page.text)
            offset += 200
            if offset >= page.json()["count"]:
                break
        csv = c.get("/v1/exports/invitations.csv", params=params, headers=h)
        assert csv.status_code == 200
        texts.append(csv.content.decode("utf-8-sig"))
        book = c.get("/v1/exports/invitations.xlsx", params=params, headers=h).content
        with zipfile.ZipFile(io.BytesIO(book)) as z:
            texts.extend(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
    for code in companies:
        page = c.get(f"/v1/companies/{code}", params={"as_of": AS_OF.isoformat()}, headers=h)
        assert page.status_code == 200, page.text
        texts.append(page.text)
    return "\n".join(texts)


def test_reasons_never_name_a_company_outside_the_officials_city(served: Served) -> None:
    s = served
    outside = named_outside(s)
    # the world holds the case: listed companies of the city whose reasons name outsiders,
    # among them companies without a profile (named by their code)
    assert outside, "some reason of the city's list names a company outside it"
    region = s.world.companies["region_code"]
    pairs = {p for named in outside.values() for p in named}
    companies = sorted(outside)[:15]
    official = bodies(s, "official", companies)
    for other, text in pairs:
        assert other not in official, f"the code {other} leaked"
        assert text not in official, f"the name {text} leaked"
    for token in set(CREDIT_CODE.findall(official)):
        assert str(region.get(token, "")).startswith(s.city), f"{token} is not of the city"
    assert "区外企业" in official
    # analysts read the same reasons unmasked
    analyst = bodies(s, "analyst", companies)
    assert [t for _, t in pairs if t not in analyst] == []
