"""The whole standard as data, and the standard read back from its own decisions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from discovery.card import summary_lines
from discovery.criteria import load_criteria
from discovery.labels import Round, RoundData
from discovery.metrics import list_order, thresholds_rule_score
from discovery.model import threshold_specs
from discovery.standard_check import check_standard, floor_misses, floor_texts, render
from features import THRESHOLD_MEASURES
from features.standards import Condition, ThresholdSpec, all_met, any_met
from features.status import barred_at
from graph.errors import UsageError
from tests.discovery.test_intervals import card_of, round_of

CRITERIA_FILE = Path(__file__).parents[2] / "discovery" / "criteria" / "2026.yaml"
NAN = np.nan


# -- the file --------------------------------------------------------------------------
def test_every_indicator_the_2026_measures_name_is_in_the_file() -> None:
    c = load_criteria()
    for tier, measures in {
        "specialized_sme": {
            "profile_niche_years",
            "fin_revenue_latest_wan",
            "fin_rd_expense_latest_wan",
            "fin_rd_ratio_latest",
            "std_quality_score",
        },
        "little_giant": {
            "profile_niche_years",
            "fin_revenue_latest_wan",
            "fin_rd_2y_wan",
            "fin_rd_ratio_2y",
            "fin_main_business_share",
            "fin_main_business_growth_2y",
            "ip_class1_self_top3",
            "std_quality_score",
        },
    }.items():
        assert measures <= {t.measure for t in c.thresholds_for(tier)}
    # named without a measurable value: listed for the reviewers, never checked
    assert {r.id for r in c.reviewed} >= {"ss_ip", "lg_supply_chain_role"}
    # the four values the 2026 text states are policy; every assumption names its source
    policy = {t.id for t in c.thresholds if t.basis == "policy"}
    assert policy == {
        "ss_quality_score",
        "lg_revenue",
        "lg_rd_two_years",
        "lg_class_one_ip",
        "lg_quality_score",
    }
    for t in c.thresholds:
        assert t.source, t.id
        if t.basis == "assumption":
            assert "2022" in t.source, t.id
    assert c.default_top("specialized_sme") == 200 and c.default_top("little_giant") == 50


def test_alternative_paths_live_in_the_file() -> None:
    c = load_criteria()
    revenue = {t.id: t for t in c.thresholds}["ss_revenue"]
    assert revenue.value == 1000
    assert [[(x.measure, x.value) for x in p] for p in revenue.alternatives] == [
        [("equity_financing_2y_wan", 2000)]
    ]
    rd_share = {s.id: s for s in threshold_specs(c)}["lg_rd_share"]
    assert rd_share.measures == ("fin_rd_ratio_2y", "fin_revenue_latest_wan")


def test_file_refuses_unknown_measures_and_repeated_ids(tmp_path: Path) -> None:
    text = CRITERIA_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace("equity_financing_2y_wan, op", "no_such_measure, op"), encoding="utf-8"
    )
    with pytest.raises(UsageError, match="no_such_measure"):
        load_criteria(bad)
    bad.write_text(text.replace("id: lg_niche_years", "id: ss_niche_years"), encoding="utf-8")
    with pytest.raises(UsageError, match="unique"):
        load_criteria(bad)
    bad.write_text(text.replace("use: rank_after", "use: sometimes"), encoding="utf-8")
    with pytest.raises(UsageError, match="not a valid criteria file"):
        load_criteria(bad)


def test_the_barring_lookback_comes_from_the_file(tmp_path: Path) -> None:
    from discovery.labels import gate
    from graph.embedded import EmbeddedStore
    from graph.validation import read_directory
    from tests.factories import codes, tiny_world

    as_of = date(2025, 12, 31)
    store = EmbeddedStore(tmp_path / "store")
    store.load(read_directory(tiny_world(tmp_path / "data")))
    events = store.read("compliance_events", as_of)
    # the tiny world's major safety accident of 2022-01-01: four years before as_of
    code = codes(10)[6]
    assert not barred_at(events, as_of)[code]
    assert barred_at(events, as_of, lookback_years=5)[code]
    edited = tmp_path / "c.yaml"
    edited.write_text(
        CRITERIA_FILE.read_text(encoding="utf-8").replace("lookback_years: 3", "lookback_years: 5"),
        encoding="utf-8",
    )
    assert not gate(store, "specialized_sme", as_of, load_criteria())["barred"][code]
    assert gate(store, "specialized_sme", as_of, load_criteria(edited))["barred"][code]


# -- threshold status with alternatives --------------------------------------------------
def test_a_threshold_is_met_by_any_path_and_missed_only_when_every_path_is() -> None:
    spec = ThresholdSpec(
        "rev",
        "specialized_sme",
        "fin_revenue_latest_wan",
        ">=",
        1000,
        ((Condition("equity_financing_2y_wan", ">=", 2000),),),
    )
    revenue = np.array([1500, 500, 500, NAN, NAN, 500])
    financing = np.array([0, 2500, 100, 2500, 100, NAN])
    status = spec.status({"fin_revenue_latest_wan": revenue, "equity_financing_2y_wan": financing})
    np.testing.assert_array_equal(status, [1, 1, 0, 1, NAN, NAN])
    # a path of two conditions is missed by either and met only by both
    np.testing.assert_array_equal(
        all_met([np.array([1, 1, 0, NAN]), np.array([1, NAN, NAN, 1])]), [1, NAN, 0, NAN]
    )
    np.testing.assert_array_equal(
        any_met([np.array([0, 0, 1, NAN]), np.array([0, NAN, NAN, 0])]), [0, NAN, 1, NAN]
    )
    with pytest.raises(UsageError, match="no condition"):
        ThresholdSpec("x", "little_giant", "fin_rd_2y_wan", ">=", 1, ((),))
    assert "equity_financing_2y_wan" in THRESHOLD_MEASURES


# -- the standard read back from decisions ------------------------------------------------
def _round(rng: np.random.Generator, year: int, n: int = 600) -> RoundData:
    """Candidates whose approvals all have niche ≥ 3 years (the file says 2) and
    class-I IP ≥ 2 (the file says 4 for little giants: contradicted)."""
    codes = pd.Index([f"{year}-{i:04d}" for i in range(n)], name="uscc")
    niche = rng.uniform(0, 10, n)
    ip = rng.integers(0, 8, n).astype(float)
    quality = rng.uniform(40, 80, n)
    approved = (niche >= 3) & (ip >= 2) & (quality >= 60)
    applied = rng.random(n) < 0.5
    frame = pd.DataFrame(
        {
            "profile_niche_years": niche,
            "ip_class1_self_top3": ip,
            "fin_revenue_latest_wan": rng.uniform(6000, 9000, n),
            "std_lg_niche_years": (niche >= 3).astype(float),
            "std_lg_class_one_ip": (ip >= 4).astype(float),
            "std_lg_quality_score": np.where(applied, (quality >= 60).astype(float), NAN),
        },
        index=codes,
    )
    for t in ("lg_revenue", "lg_rd_two_years", "lg_main_business_share"):
        frame[f"std_{t}"] = NAN
    examples = pd.DataFrame(
        {
            "label": (applied & approved).astype(int),
            "source": np.where(applied, "application", "unlabeled"),
            "weight": 1.0,
            "as_of": pd.Timestamp(year, 12, 31),
        },
        index=codes,
    )
    return RoundData(Round(date(year, 12, 31), date(year + 1, 12, 31)), examples, frame)


def test_check_names_contradicted_thresholds_and_missing_floors() -> None:
    rng = np.random.default_rng(3)
    rounds = [_round(rng, y) for y in (2021, 2022, 2023)]
    criteria = load_criteria()
    today = _round(rng, 2024).features
    check = check_standard(rounds, criteria, "little_giant", date(2024, 12, 31), today)
    by_id = {t.id: t for t in check.thresholds}
    assert by_id["lg_class_one_ip"].contradicted  # approvals with 2 or 3 rights
    assert by_id["lg_class_one_ip"].approvals_violating > 0.05 * by_id["lg_class_one_ip"].approvals
    assert not by_id["lg_niche_years"].contradicted
    assert by_id["lg_niche_years"].rejections_explained > 0
    floors = {f.measure: f for f in check.floors}
    niche = floors["profile_niche_years"]
    assert niche.well_evidenced and 3.0 <= niche.value < 3.2
    assert niche.approvals_below <= 0.005 * niche.evidence
    assert niche.encoded_by == ("lg_niche_years",) and niche.above_file  # file says 3
    ip = floors["ip_class1_self_top3"]
    assert ip.value == 2 and not ip.above_file  # below the file's 4: nothing new
    # revenue: every candidate is above the approvals' minimum, nothing is evidenced
    assert not floors["fin_revenue_latest_wan"].well_evidenced
    assert check.candidates_below["profile_niche_years"] == int(
        (today["profile_niche_years"] < niche.value).sum()
    )
    text = "\n".join(render(check.to_json()))
    assert "Contradicted 与决定矛盾: lg_class_one_ip" in text
    assert "profile_niche_years ≥ 3" in text


def _scored_round(
    rng: np.random.Generator, year: int, bar: float, ip_follows_quality: bool = False
) -> RoundData:
    """Little-giant applicants approved at a quality score of `bar` and 4 class-I rights
    (the file: 60 and 4). With `ip_follows_quality`, companies below 70 have too few
    rights, visibly: their rejections are the IP threshold's, not the score's."""
    n = 800
    codes = pd.Index([f"{year}-{i:04d}" for i in range(n)], name="uscc")
    quality = rng.uniform(40, 90, n)
    ip = rng.integers(4, 9, n).astype(float)
    if ip_follows_quality:
        ip = np.where(quality < 70, rng.integers(0, 4, n), ip).astype(float)
    frame = pd.DataFrame(
        {
            "std_quality_score": quality,
            "ip_class1_self_top3": ip,
            "std_lg_quality_score": (quality >= 60).astype(float),
            "std_lg_class_one_ip": (ip >= 4).astype(float),
        },
        index=codes,
    )
    for t in ("lg_revenue", "lg_rd_two_years", "lg_main_business_share", "lg_niche_years"):
        frame[f"std_{t}"] = NAN
    approved = (quality >= bar) & (ip >= 4) & (rng.random(n) < 0.8)
    examples = pd.DataFrame(
        {"label": approved.astype(int), "source": "application", "weight": 1.0},
        index=codes,
    )
    return RoundData(Round(date(year, 12, 31), date(year + 1, 12, 31)), examples, frame)


def test_check_names_a_bar_the_decisions_hold_above_the_file() -> None:
    criteria = load_criteria()

    def bars(bar: float, ip_follows_quality: bool = False) -> dict[str, object]:
        rng = np.random.default_rng(6)
        rounds = [_scored_round(rng, y, bar, ip_follows_quality) for y in (2021, 2022, 2023)]
        check = check_standard(rounds, criteria, "little_giant", date(2024, 12, 31))
        return {t.id: t for t in check.thresholds if t.stricter_in_decisions}, check

    stricter, check = bars(70.0)  # reviewers held the score to 70; the file says 60
    assert list(stricter) == ["lg_quality_score"]
    quality = stricter["lg_quality_score"]
    # the highest bar below which at most 5 % were approved: a little above the true one
    assert 70.0 <= quality.decided_bar < 71.0 and quality.band_applicants > 300
    assert quality.band_approvals <= 0.05 * quality.band_applicants
    assert check.to_json()["stricter_in_decisions"] == ["lg_quality_score"]
    text = "\n".join(render(check.to_json()))
    assert "Decisions stricter than the file 裁决严于文件: lg_quality_score ≈ 70." in text
    assert f"**decisions stricter 裁决更严**: {quality.band_approvals} of" in text
    # decisions at the file's own value, or a score that only goes with a visible IP miss
    assert not bars(60.0)[0]
    assert not bars(60.0, ip_follows_quality=True)[0]
    # the same IP pattern with a real bar of 75 above the IP's edge is still named
    assert 75.0 <= bars(75.0, ip_follows_quality=True)[0]["lg_quality_score"].decided_bar < 76.0
    # `discovery train` prints it with the card's summary
    y = np.array([1, 0] * 50)
    card = card_of(np.arange(100.0), np.zeros(100), round_of(y, np.ones(100, dtype=bool)))
    card["standard_check"] = check.to_json()
    (line,) = [x for x in summary_lines(card) if x.startswith("裁决严于文件")]
    assert "decisions stricter than the file: lg_quality_score ≈ 70." in line
    # a rendered check of an older card, without the new fields, still renders
    old = check.to_json()
    for t in old["thresholds"]:
        for key in ("decided_bar", "band_applicants", "band_approvals"):
            t.pop(key)
    old.pop("stricter_in_decisions")
    assert "裁决" not in "\n".join(render(old))


def test_a_floor_without_evidence_is_not_used() -> None:
    rng = np.random.default_rng(4)
    rounds = [_round(rng, 2023, n=40)]  # about six approvals: too few
    check = check_standard(rounds, load_criteria(), "little_giant", date(2023, 12, 31))
    assert check.floors and not check.used_floors


def test_floor_marks_and_their_text() -> None:
    rng = np.random.default_rng(5)
    check = check_standard(
        [_round(rng, y) for y in (2021, 2022)], load_criteria(), "little_giant", date(2023, 1, 1)
    )
    frame = pd.DataFrame(
        {"profile_niche_years": [1.0, 5.0, NAN], "ip_class1_self_top3": [9.0, 9.0, 0.0]},
        index=["a", "b", "c"],
    )
    misses = floor_misses(frame, check.used_floors)
    assert misses.any(axis=1).tolist() == [True, False, True]  # unknown niche is no miss
    texts = floor_texts(frame, check.used_floors, "低于历次获批企业")
    assert texts[0].startswith("低于历次获批企业 below every past approval: 从事细分市场年限")
    assert "years in the niche market 1 < 3.0" in texts[0] and texts[1] == ""


def test_list_order_never_lists_a_visible_miss_and_ranks_floor_misses_after() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    visible = np.array([True, False, False, False, False])
    below = np.array([False, True, False, False, True])
    assert list_order(scores, visible, below, "rank_after").tolist() == [2, 3, 1, 4]
    assert list_order(scores, visible, below, "exclude").tolist() == [2, 3]
    assert list_order(scores, visible, below, "ignore").tolist() == [1, 2, 3, 4]


def test_thresholds_rule_counts_known_thresholds_then_ip_and_revenue() -> None:
    frame = pd.DataFrame(
        {
            "std_a": [1.0, 1.0, 0.0, NAN],
            "std_b": [1.0, NAN, 1.0, NAN],
            "ip_class1_self_top3": [0.0, 9.0, 9.0, 9.0],
            "fin_revenue_latest_wan": [1.0, 1.0, 1.0, NAN],
        }
    )
    score = thresholds_rule_score(frame, ["a", "b"])
    assert np.isneginf(score[2])
    assert list(np.argsort(-score, kind="stable")[:3]) == [0, 1, 3]


def _smooth_round(rng: np.random.Generator, year: int, n: int = 3000) -> RoundData:
    """Approval grows smoothly with the measure: no rule, no edge."""
    codes = pd.Index([f"s{year}-{i:05d}" for i in range(n)], name="uscc")
    x = rng.uniform(0, 10, n)
    approved = rng.random(n) < 0.6 / (1 + np.exp(-(x - 6)))
    frame = pd.DataFrame({"profile_niche_years": x}, index=codes)
    for t in load_criteria().thresholds_for("little_giant"):
        frame[f"std_{t.id}"] = NAN
    examples = pd.DataFrame(
        {
            "label": approved.astype(int),
            "source": np.where(rng.random(n) < 0.7, "application", "unlabeled"),
            "weight": 1.0,
            "as_of": pd.Timestamp(year, 12, 31),
        },
        index=codes,
    )
    examples.loc[examples["source"] == "unlabeled", "label"] = 0
    return RoundData(Round(date(year, 12, 31), date(year + 1, 12, 31)), examples, frame)


def test_approvals_that_only_thin_out_make_no_floor() -> None:
    rng = np.random.default_rng(6)
    rounds = [_smooth_round(rng, y) for y in (2021, 2022)]
    check = check_standard(rounds, load_criteria(), "little_giant", date(2023, 1, 1))
    niche = {f.measure: f for f in check.floors}["profile_niche_years"]
    assert niche.evidence >= 30 and niche.sharpness < 0.5
    assert not niche.well_evidenced and not check.missing


def test_criteria_check_names_what_the_file_misses(tmp_path: Path) -> None:
    """A world whose reviewers also demand a main-business share of 75% (the file has no
    such threshold for specialized SMEs): the check names it as missing."""
    from discovery.simulation import simulate
    from discovery.simulation.scenario import Rule, scenario
    from discovery.training import standard_check_at
    from graph.embedded import EmbeddedStore
    from graph.validation import read_directory

    base = scenario("file_standard")
    extra = Rule(measure="main_business_share", op=">=", value=0.75)
    review = base.review.model_copy(
        update={"specialized_sme": [*base.review.specialized_sme, extra]}
    )
    world = base.model_copy(update={"name": "main_business", "review": review})
    simulate(6000, 4, tmp_path / "data", end=date(2025, 12, 31), fmt="parquet", scenario=world)
    store = EmbeddedStore(tmp_path / "store")
    store.load(read_directory(tmp_path / "data"))
    check = standard_check_at(store, "specialized_sme", date(2025, 12, 31), load_criteria())
    assert "fin_main_business_share" in [f.measure for f in check.missing]
    floor = {f.measure: f for f in check.floors}["fin_main_business_share"]
    assert 0.65 < floor.value <= 0.75
    assert check.candidates_below["fin_main_business_share"] > 0
