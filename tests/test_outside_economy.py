"""The outside economy (`benchmarks/outside_economy.py`): worlds made without the project's
simulator or criteria, in the data contract, with a truth the benchmark can trust."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import outside_economy
from benchmarks import outside_review as review
from graph.contract import TABLE_NAMES
from graph.validation import read_directory

ROOT = Path(__file__).resolve().parents[1]
END = "2025-12-31"
TOP = ("specialized_sme", "little_giant")


def _holds(cert: pd.DataFrame, tiers: tuple[str, ...], day: str) -> set[str]:
    """The contract's rule: certified_on <= day < expires_on, not revoked by then."""
    on = (
        cert["tier"].isin(tiers)
        & (cert["certified_on"] <= day)
        & (cert["expires_on"] > day)
        & (cert["revoked_on"].isna() | (cert["revoked_on"] > day))
    )
    return set(cert.loc[on, "uscc"])


def test_the_generator_imports_nothing_of_the_project_it_is_meant_to_test():
    for name in ("outside_economy.py", "outside_review.py", "outside_variants.py"):
        tree = ast.parse((ROOT / "benchmarks" / name).read_text(encoding="utf-8"))
        imported = {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        }
        assert not {m for m in imported if m.split(".")[0] in {"discovery", "features", "graph"}}


@pytest.mark.parametrize("variant", sorted(outside_economy.VARIANTS))
def test_an_outside_world_validates_and_its_truth_agrees_with_its_tables(tmp_path, variant):
    made = outside_economy.generate(
        3000, 5, tmp_path / "data", tmp_path / "truth.csv", variant=variant, end=END
    )
    batch = read_directory(tmp_path / "data")
    assert len(batch.rejects) == 0, batch.rejects.head().to_dict("records")
    assert set(batch.tables) == set(TABLE_NAMES)  # every table of the contract
    assert made["scenario"] == variant
    assert made["rows"] == {t: len(b.frame) for t, b in batch.tables.items()}

    truth = pd.read_csv(tmp_path / "truth.csv", dtype={"uscc": str})
    companies = batch.tables["companies"].frame
    assert sorted(truth["uscc"]) == sorted(companies["uscc"])
    cert = pd.read_parquet(tmp_path / "data" / "certifications.parquet")
    cert = cert.astype({c: "string" for c in ("certified_on", "expires_on", "revoked_on")})
    holders_s = _holds(cert, ("specialized_sme", "little_giant"), END)
    holders_lg = _holds(cert, ("little_giant",), END)
    base = _holds(cert, ("tech_sme", "innovative_sme"), END)
    truth = truth.set_index("uscc")
    for tier, below, above in (
        ("specialized_sme", base, holders_s),
        ("little_giant", _holds(cert, ("specialized_sme",), END), holders_lg),
    ):
        cand = set(truth.index[truth[f"candidate_{tier}"]])
        qual = set(truth.index[truth[f"qualifies_{tier}"]])
        assert qual <= cand and len(qual) > 0
        assert cand <= below and not cand & above  # the ladder, read from the tables
        assert made["candidates"][tier] == len(cand) and made["qualifiers"][tier] == len(qual)
        # a qualifier misses no hidden rule; a candidate that does not qualify misses one
        misses = truth[f"misses_{tier}"].fillna("")
        assert (misses.loc[list(qual)] == "").all()
        assert (misses.loc[list(cand - qual)] != "").all()
    large = set(companies.loc[companies["size_class"] == "large", "uscc"])
    assert not large & set(truth.index[truth["candidate_specialized_sme"]])
    # nothing is known after the decision date
    for name, col in (("applications", "decided_on"), ("patents", "filed_on")):
        days = pd.read_parquet(tmp_path / "data" / f"{name}.parquet")[col].dropna().astype(str)
        assert (days <= END).all()
    apps = pd.read_parquet(tmp_path / "data" / "applications.parquet")
    assert set(apps["outcome"]) >= {"approved", "rejected"}


def test_an_outside_world_is_the_same_for_the_same_seed_and_differs_across_seeds(tmp_path):
    def make(folder: str, seed: int) -> bytes:
        out = tmp_path / folder
        outside_economy.generate(
            800, seed, out / "data", out / "truth.csv", variant="outside_drift"
        )
        return (out / "truth.csv").read_bytes()

    assert make("a", 3) == make("b", 3) != make("c", 4)


def _approved_share_of_scores(folder: Path, tier: str, low: float, high: float) -> float:
    """Of the tier's decided applications whose published score for the fiscal year before
    the decision lies in [low, high), the share approved."""
    apps = pd.read_parquet(folder / "applications.parquet")
    scores = pd.read_parquet(folder / "quality_scores.parquet")
    decided = apps[(apps["tier"] == tier) & apps["outcome"].isin(["approved", "rejected"])]
    decided = decided.assign(year=decided["decided_on"].astype(str).str[:4].astype(int) - 1)
    joined = decided.merge(scores[["uscc", "year", "score"]], on=["uscc", "year"])
    band = joined[(joined["score"] >= low) & (joined["score"] < high)]
    assert len(band) >= 30  # enough decisions to read a share from
    return float((band["outcome"] == "approved").mean())


def test_the_shift_variant_decides_every_round_under_the_interim_standard(tmp_path):
    """`outside_shift`: rounds before 2026 needed a specialized-SME score of 60, so a
    score of 50 to 60 is approved only by reviewer noise there, and mostly under the
    annex review (2026: 50). The truth is read under the 2026 standard all the same."""
    shares, bands = {}, {}
    for variant in ("outside_shift", "outside_annex"):
        out = tmp_path / variant
        outside_economy.generate(3000, 5, out / "data", out / "truth.csv", variant=variant, end=END)
        shares[variant] = _approved_share_of_scores(out / "data", "specialized_sme", 50, 60)
        truth = pd.read_csv(out / "truth.csv")
        qualifiers = truth[truth["qualifies_specialized_sme"]]
        bands[variant] = int(qualifiers["quality_score"].between(50, 60, inclusive="left").sum())
    assert shares["outside_shift"] < 0.08 < 0.4 < shares["outside_annex"]
    assert bands["outside_shift"] > 0  # qualifiers at 50 to 60 exist under the new standard


def _free(w: outside_economy.World, ladder: review.Ladder) -> np.ndarray:
    """The companies that never held nor applied for either top tier."""
    ranked = np.isin(w.codes, w.tables["certifications"].query("tier in @TOP")["uscc"])
    return ~ranked & ~ladder.applied["specialized_sme"] & ~ladder.applied["little_giant"]


def test_the_unfiled_variants_file_statements_by_the_companies_own_revenue():
    """`outside_unfiled`: a company that neither holds nor applied for a tier files its
    statements far more often when its own latest revenue clears 1,000 万 (missing not
    at random); elsewhere filing does not depend on the revenue it would show."""
    shares = {}
    for variant in ("outside_unfiled", "outside_annex"):
        w, ladder = outside_economy.build(3000, 5, variant, END)
        filed = np.isin(w.codes, w.tables["financials"]["uscc"].to_numpy())
        free = _free(w, ladder)
        latest = w.f.revenue[:, review.last_year(np.datetime64(END)) - w.years[0]]
        big = latest >= 1000
        assert (free & big).sum() >= 100 and (free & ~big & (latest > 0)).sum() >= 100
        shares[variant] = (filed[free & big].mean(), filed[free & ~big & (latest > 0)].mean())
    above, below = shares["outside_unfiled"]
    assert above > 0.6 and below < 0.25 and above > 3 * below
    above, below = shares["outside_annex"]
    assert abs(above - below) < 0.12


def test_the_published_variant_publishes_good_scores_of_their_own_accord():
    """`outside_published`: a company that neither holds nor applied publishes a year's
    quality score far more often when it is 60 or more; elsewhere it publishes none."""
    shares = {}
    for variant in ("outside_published", "outside_annex"):
        w, ladder = outside_economy.build(3000, 5, variant, END)
        free = _free(w, ladder)
        scores = w.tables["quality_scores"]
        published = np.isin(w.codes, scores.loc[scores["year"] == 2023, "uscc"].to_numpy())
        good = w.f.col("quality", 2023) >= 60
        alive = w.f.col("revenue", 2023) > 0
        assert (free & good & alive).sum() >= 50 and (free & ~good & alive).sum() >= 50
        shares[variant] = tuple(published[free & alive & g].mean() for g in (good, ~good))
    above, below = shares["outside_published"]
    assert above > 0.15 and below < 0.06 and above > 4 * below
    assert shares["outside_annex"] == (0.0, 0.0)


def test_places_go_to_the_best_scores_of_each_province_by_its_number_of_companies():
    ok = np.array([1, 1, 1, 1, 1, 1, 0, 1], bool)
    score = np.array([5, 9, 1, 7, 3, 8, 9, 2.0])
    province = np.array(list("aabbbbbc"))
    # 3.5 places of 7 approvals: a 0.875, b 2.1875, c 0.4375 -> 2 whole, the 2 left to a, c
    kept = review.rationed(ok, score, province, 0.5)
    assert kept.tolist() == [False, True, False, True, False, True, False, True]
    assert review.rationed(ok, score, province, 1.0).sum() <= ok.sum()


def test_the_quota_variant_turns_qualifiers_away():
    """`outside_quota`: a round grants only its provinces' places, so some applicants it
    rejects in the last round qualify under the standard (the truth); under the annex
    review alone almost none do (reviewer noise)."""
    shares = {}
    for variant in ("outside_quota", "outside_annex"):
        w, ladder = outside_economy.build(3000, 5, variant, END)
        truth = ladder.truth(w.codes, w.cap)[0].set_index("uscc")
        apps = w.tables["applications"]
        last = apps[
            (apps["tier"] == "specialized_sme")
            & (apps["outcome"] == "rejected")
            & (apps["decided_on"] >= np.datetime64("2025-01-01"))
        ]
        assert len(last) >= 30
        shares[variant] = truth.loc[last["uscc"], "qualifies_specialized_sme"].mean()
    assert shares["outside_quota"] > 0.12 > 0.05 > shares["outside_annex"]
