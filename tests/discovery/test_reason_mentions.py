"""Reasons record every company they name, and an official's copy masks those outside by code."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from discovery.company import CompanyFacts
from discovery.explain import Evidence
from discovery.scope import OUTSIDE_LABEL, Principal
from features.context import TablesAt
from graph.embedded import EmbeddedStore
from graph.loading import ingest
from tests.factories import codes, tiny_tables, write_tables

AS_OF = date(2025, 12, 31)
C = codes(10) + codes(2, region="320505", start=50)
OUTSIDER = codes(1, region="110108", start=90)[0]  # a customer of C[0] without a profile
CORPORATE = codes(1, region="330106", start=70)[0]  # a corporate investor without a profile
TRADING = "深创投"  # the trading name C[11] (region 320505) invests under
OFFICIAL = Principal("k-off", "official", ("440305",))
NEIGHBOUR = Principal("k-32", "official", ("32",))
ANALYST = Principal("k-an", "analyst")


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> TablesAt:
    base = tmp_path_factory.mktemp("mentions")
    t = tiny_tables()
    # the customer without a profile is a certified little giant: named by its code
    t["certifications"] = pd.concat(
        [
            t["certifications"],
            pd.DataFrame(
                {
                    "uscc": [OUTSIDER],
                    "tier": ["little_giant"],
                    "certified_on": ["2023-01-01"],
                    "expires_on": ["2026-01-01"],
                    "revoked_on": [""],
                }
            ),
        ],
        ignore_index=True,
    )
    t["investments"] = pd.concat(
        [
            t["investments"],
            pd.DataFrame(
                {
                    "investor_id": [CORPORATE],
                    "investor_name": ["杭州链主产业资本"],
                    "investor_type": ["corporate"],
                    "investee_uscc": [C[4]],
                    "invested_on": ["2025-01-01"],
                    "round": ["strategic"],
                    "amount_wan": ["800"],
                    "equity_pct": ["4"],
                }
            ),
        ],
        ignore_index=True,
    )
    store = EmbeddedStore(base / "store")
    ingest(write_tables(t, base / "data"), store, base / "rejects.csv")
    return TablesAt(store, AS_OF)


def sentences(tables: TablesAt) -> tuple[dict[str, str], dict[str, list[tuple[str, str]]]]:
    listed = [C[0], C[4]]
    evidence = Evidence(tables, listed, pd.DataFrame(index=listed))
    text = {
        C[0]: "；".join(
            s for s in (evidence.sentence(C[0], ch) for ch in ("supply_chain", "equity")) if s
        ),
        C[4]: evidence.sentence(C[4], "equity") or "",
    }
    return text, evidence.mentions


def test_sentences_record_the_companies_they_name(tables: TablesAt) -> None:
    text, mentions = sentences(tables)
    assert OUTSIDER in text[C[0]] and TRADING in text[C[0]]
    assert (OUTSIDER, OUTSIDER) in mentions[C[0]]
    assert (C[11], TRADING) in mentions[C[0]]
    assert "杭州链主产业资本" in text[C[4]]
    assert mentions[C[4]] == [(CORPORATE, "杭州链主产业资本")]


def test_an_official_never_reads_a_code_or_name_from_outside(tables: TablesAt) -> None:
    text, mentions = sentences(tables)
    facts = CompanyFacts(tables)
    order = [C[0], C[4]]
    texts = [text[c] for c in order]
    named = [mentions[c] for c in order]
    mine = facts.mask_reasons(texts, named, OFFICIAL)
    for masked in mine:
        assert OUTSIDER not in masked and TRADING not in masked
        assert "杭州链主产业资本" not in masked and CORPORATE not in masked
    assert mine[0].count(OUTSIDE_LABEL) >= 3  # the code twice (zh, en), the investor
    assert OUTSIDE_LABEL in mine[1]
    # an official of the investor's province sees its name, not the unprofiled code
    theirs = facts.mask_reasons(texts, named, NEIGHBOUR)
    assert TRADING in theirs[0] and OUTSIDER not in theirs[0]
    # analysts read everything
    assert facts.mask_reasons(texts, named, ANALYST) == texts
    # a stray code of an outside company is masked even when no mention names it
    stray = facts.mask_reasons([f"见{OUTSIDER}与{C[1]}"], [()], OFFICIAL)[0]
    assert stray == f"见{OUTSIDE_LABEL}与{C[1]}"


def test_an_unprofiled_corporate_investor_is_outside_in_evidence_and_graph(
    tables: TablesAt,
) -> None:
    facts = CompanyFacts(tables)
    investors = facts.evidence(C[4], OFFICIAL)["investors"]
    assert [i["name"] for i in investors] == [OUTSIDE_LABEL]
    assert investors[0]["outside_region"]
    graph = facts.graph(C[4], OFFICIAL, 50)
    assert "杭州链主产业资本" not in str(graph) and CORPORATE not in str(graph)
    assert "杭州链主产业资本" in str(facts.graph(C[4], ANALYST, 50))
    assert facts.evidence(C[4], ANALYST)["investors"][0]["name"] == "杭州链主产业资本"


def test_a_company_without_an_active_customer_gets_no_supply_chain_sentence(
    tables: TablesAt,
) -> None:
    # C[1]'s only sale ended in 2024: whatever its PageRank, it is not "central"
    listed = [C[0], C[1]]
    features = pd.DataFrame({"chain_pagerank": [2.5, 1.0]}, index=listed)
    evidence = Evidence(tables, listed, features)
    assert evidence.sentence(C[1], "supply_chain") is None
    assert "PageRank" not in (evidence.sentence(C[0], "supply_chain") or "PageRank")
