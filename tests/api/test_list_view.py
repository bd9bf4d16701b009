"""The ranked list and a company as the page reads them: names beside codes, search by name
or credit code, sorting, counts per county, the model's data date, one-sentence refusals."""

from __future__ import annotations

from typing import Any

import pytest

from api.views import reason_line
from discovery.names import industry_name, region_name, size_name
from discovery.scope import OUTSIDE_LABEL
from tests.api.conftest import AS_OF, Served

LIST = "/v1/invitations"


def ranked(served: Served, role: str = "official", **params: Any) -> dict[str, Any]:
    query = {"tier": "specialized_sme", "as_of": AS_OF.isoformat(), "limit": 200, **params}
    answer = served.client.get(LIST, params=query, headers=served.headers(role))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_list_items_name_their_codes(served: Served) -> None:
    rows = ranked(served)["data"]
    assert rows
    companies = served.world.companies
    for row in rows:
        assert row["region_name"] == region_name(row["region_code"]) != ""
        assert row["industry_name"] == industry_name(row["industry_code"]) != ""
        size = companies.at[row["uscc"], "size_class"]
        if isinstance(size, str):
            assert row["size_class"] == size
            assert row["size_name"] == size_name(size) and size_name(size) in {
                "微型",
                "小型",
                "中型",
            }
        else:  # size unknown
            assert row["size_class"] is None and row["size_name"] == ""
        assert {c["short_zh"] for c in row["checks"]} <= {
            "评价得分",
            "细分年限",
            "研发费用",
            "研发占比",
            "营收",
        }


def test_name_filters_by_part_of_a_name_or_the_start_of_a_credit_code(served: Served) -> None:
    everyone = ranked(served)
    target = everyone["data"][len(everyone["data"]) // 2]
    part = target["name"][2:5]
    found = ranked(served, name=part)
    assert target["uscc"] in {r["uscc"] for r in found["data"]}
    assert all(part in r["name"] for r in found["data"])
    assert found["count"] == sum(part in r["name"] for r in everyone["data"]) < everyone["count"]

    prefix = target["uscc"][:12]
    by_code = ranked(served, name=prefix.lower())
    assert [r["uscc"] for r in by_code["data"]] == [
        r["uscc"] for r in everyone["data"] if r["uscc"].startswith(prefix)
    ]
    assert ranked(served, name="不存在的企业名称")["count"] == 0


def test_name_is_bounded_and_documented(served: Served) -> None:
    for bad in ("x" * 41, "a\x00b"):
        answer = served.client.get(
            LIST, params={"name": bad, "as_of": AS_OF.isoformat()}, headers=served.headers("admin")
        )
        assert answer.status_code == 422, bad
    params = served.app.openapi()["paths"][LIST]["get"]["parameters"]
    name = next(p for p in params if p["name"] == "name")
    schema = name["schema"]["anyOf"][0]
    assert schema["maxLength"] == 40 and "credit code" in name["description"]
    assert {"sort", "name"} <= {p["name"] for p in params}


def test_districts_count_the_whole_filtered_list_most_first(served: Served) -> None:
    answer = ranked(served, limit=5)
    counts = answer["districts"]
    assert sum(d["count"] for d in counts) == answer["count"] > len(answer["data"])
    assert [d["count"] for d in counts] == sorted((d["count"] for d in counts), reverse=True)
    assert all(d["region_name"] == region_name(d["region_code"]) != "" for d in counts)
    assert all(d["region_code"].startswith(served.city) for d in counts)
    first = counts[0]["region_code"]
    assert ranked(served, region=first)["count"] == counts[0]["count"]


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [("name", "name", False), ("-name", "name", True), ("region", "region_code", False)],
)
def test_sort_orders_every_row_before_paging(
    served: Served, sort: str, key: str, reverse: bool
) -> None:
    everyone = ranked(served)["data"]
    page = ranked(served, sort=sort, limit=10, offset=5)
    assert page["sort"] == sort
    by_rank = sorted(everyone, key=lambda r: r["rank"])
    # a stable sort: ties keep rank order in both directions
    expected = sorted(by_rank, key=lambda r: r[key], reverse=reverse)
    assert [r["uscc"] for r in page["data"]] == [r["uscc"] for r in expected[5:15]]


def test_the_list_and_the_serving_route_give_the_models_data_date(served: Served) -> None:
    answer = ranked(served, limit=1)
    assert answer["model_as_of"] == AS_OF.isoformat()
    serving = served.client.get(f"{LIST}/serving", headers=served.headers("platform"))
    assert serving.status_code == 200
    by_tier = {m["tier"]: m for m in serving.json()["data"]}
    assert set(by_tier) == {"specialized_sme", "little_giant"}
    assert by_tier["specialized_sme"]["model_id"] == answer["model_id"]
    assert all(m["model_as_of"] == AS_OF.isoformat() for m in by_tier.values())


def test_the_list_names_its_region_filter(served: Served) -> None:
    other = "44" if not served.city.startswith("44") else "11"
    answer = ranked(served, region=other)
    # another province's rows are not the official's: none, and nothing said about them
    assert answer["count"] == 0 and answer["districts"] == []
    assert answer["region_name"] == region_name(other) != ""
    county = ranked(served)["districts"][0]["region_code"]
    assert ranked(served, region=county)["region_name"] == region_name(county)
    # a city prefix is named by its city
    assert ranked(served, region=served.city)["region_name"] == region_name(served.city) != ""
    assert ranked(served)["region_name"] == ""


def test_reason_lines_split_chinese_from_english_and_name_masked_companies_once(
    served: Served,
) -> None:
    lines = [line for row in ranked(served)["data"] for line in row["reason_lines"]]
    assert lines and all(line["en"] for line in lines)
    assert all(OUTSIDE_LABEL not in line["zh"] + line["en"] for line in lines)
    masked = [line for line in lines if "区外企业" in line["zh"]]
    assert masked, "the busiest city's list names some companies outside it"
    assert all(line["zh"].count("区外企业") == 1 for line in masked)
    assert all("outside your region" in line["en"] for line in masked)


def test_reason_line_balances_parentheses_and_counts_masked_runs() -> None:
    text = (
        f"供应3家企业：甲公司、{OUTSIDE_LABEL}、{OUTSIDE_LABEL} "
        f"(supplies 3: 甲公司、{OUTSIDE_LABEL}、{OUTSIDE_LABEL})"
    )
    line = reason_line(text)
    assert line.zh == "供应3家企业：甲公司、2家区外企业"
    assert line.en == "supplies 3: 甲公司, 2 companies outside your region"
    assert reason_line("在供应链网络中位置重要（PageRank 0.12）").en == ""


def test_a_repeated_invitation_says_it_was_already_invited(served: Served) -> None:
    rows = ranked(served)["data"]
    headers = served.headers("official")
    fresh = next(
        r["uscc"]
        for r in reversed(rows)
        if served.client.get(f"{LIST}/records", params={"uscc": r["uscc"]}, headers=headers).json()[
            "count"
        ]
        == 0
    )
    body = {"tier": "specialized_sme", "uscc": [fresh]}
    first = served.client.post(LIST, json=body, headers=headers).json()["data"][0]
    again = served.client.post(LIST, json=body, headers=headers).json()["data"][0]
    assert first["already_invited"] is False
    assert again["already_invited"] is True
    assert again["invitation_id"] == first["invitation_id"]


def test_the_company_page_names_codes_lists_patents_and_colours_the_graph(served: Served) -> None:
    row = ranked(served)["data"][0]
    headers = served.headers("official")
    path = f"/v1/companies/{row['uscc']}"
    page = served.client.get(path, params={"as_of": AS_OF.isoformat()}, headers=headers).json()
    profile = page["profile"]
    assert profile["region_name"] == row["region_name"]
    assert profile["industry_name"] == row["industry_name"]
    assert profile["size_name"] == size_name(profile["size_class"])
    patents = page["evidence"]["patent_items"]
    assert len(patents) == min(page["evidence"]["patents"]["total"], 50)
    filed = [p["filed_on"] for p in patents]
    assert filed == sorted(filed, reverse=True)
    graph = served.client.get(
        f"{path}/graph", params={"as_of": AS_OF.isoformat()}, headers=headers
    ).json()
    tiers = {"none", "tech_sme", "innovative_sme", "specialized_sme", "little_giant"}
    for node in graph["nodes"]:
        if node["uscc"] is None:
            assert node["tier"] is None
        else:
            assert node["tier"] in tiers


def test_me_names_the_officials_regions(served: Served) -> None:
    me = served.client.get("/v1/me", headers=served.headers("official")).json()
    assert me["regions"] == [served.city]
    assert me["region_names"] == [region_name(served.city)] != [""]
    admin = served.client.get("/v1/me", headers=served.headers("admin")).json()
    assert admin["regions"] == admin["region_names"] == []
