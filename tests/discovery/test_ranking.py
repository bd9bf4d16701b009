"""Ranked lists: gates first, thresholds never waived, reasons that name real evidence."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from discovery import metrics
from discovery.labels import gate
from discovery.model import ScoringModel
from discovery.ranking import BASE_COLUMNS, rank, write_list
from discovery.standard_check import below_any_floor
from features import holds_at
from graph.errors import UsageError
from tests.discovery.conftest import AS_OF, TrainedWorld

TOPS = {"specialized_sme": 80, "little_giant": 20}


@pytest.fixture(scope="module")
def lists(trained_world: TrainedWorld) -> dict:
    w = trained_world
    return {
        tier: rank(w.store, tier, AS_OF, w.registry, w.criteria, top=k, features=w.snapshots(AS_OF))
        for tier, k in TOPS.items()
    }


@pytest.mark.parametrize("tier", list(TOPS))
def test_gate_matches_the_simulators_independent_candidates(
    trained_world: TrainedWorld, tier: str
) -> None:
    w = trained_world
    gates = gate(w.store, tier, AS_OF, w.criteria)
    expected = w.truth[f"candidate_{tier}"].reindex(gates.index).fillna(False).astype(bool)
    assert (gates["eligible"] == expected).all()
    assert gates["eligible"].sum() > 0


@pytest.mark.parametrize("tier", list(TOPS))
def test_no_listed_company_may_not_be_invited(
    trained_world: TrainedWorld, lists: dict, tier: str
) -> None:
    w = trained_world
    frame = lists[tier].frame
    assert len(frame) == TOPS[tier]
    assert list(frame.columns[: len(BASE_COLUMNS)]) == BASE_COLUMNS
    listed = pd.Index(frame["uscc"])
    held = holds_at(w.store.read("certifications", AS_OF), AS_OF).reindex(listed, fill_value=False)
    below = ["tech_sme", "innovative_sme"] if tier == "specialized_sme" else ["specialized_sme"]
    above = ["specialized_sme", "little_giant"] if tier == "specialized_sme" else ["little_giant"]
    assert held[below].any(axis=1).all()
    assert not held[above].any(axis=1).any()
    assert w.truth.loc[listed, f"candidate_{tier}"].all()
    companies = w.store.read("companies", AS_OF).set_index("uscc").loc[listed]
    assert (companies["size_class"] != "large").fillna(True).all()
    # no threshold known to be missed
    checks = frame[[c for c in frame.columns if c.startswith("check_")]]
    assert not checks.apply(lambda s: s.str.startswith("未达标")).any().any()


@pytest.mark.parametrize("tier", list(TOPS))
def test_an_unknown_quality_score_shows_the_estimate_and_its_chance_of_the_bar(
    trained_world: TrainedWorld, lists: dict, tier: str
) -> None:
    w = trained_world
    frame = lists[tier].frame.set_index("uscc")
    (quality,) = [t for t in lists[tier].thresholds if t.measure == "std_quality_score"]
    text = frame[f"check_{quality.id}"]
    estimated = frame["quality_score_source"].str.startswith("估计")
    assert estimated.any()
    bar = ScoringModel.load(w.registry.serving(tier)).bar
    x = w.snapshots(AS_OF).loc[frame.index[estimated]]
    pattern = re.compile(r"未知 unknown \(估计 est\. (\d+)，达标把握 chance (\d+)%\)")
    for uscc, est, chance in zip(x.index, x["qs_estimate"], bar(x), strict=True):
        m = pattern.fullmatch(text[uscc])
        assert m, text[uscc]
        assert m[1] == f"{est:.0f}"
        assert m[2] == f"{100 * chance:.0f}"
    assert text[~estimated].isin(["达标 met"]).all()


@pytest.mark.parametrize("tier", list(TOPS))
def test_an_unknown_figure_shows_the_learned_chance_that_it_is_met(
    trained_world: TrainedWorld, lists: dict, tier: str
) -> None:
    model = ScoringModel.load(trained_world.registry.serving(tier))
    assert model.missing is not None
    frame = lists[tier].frame.set_index("uscc")
    x = trained_world.snapshots(AS_OF).loc[frame.index]
    learned = model.missing.per_threshold(x)
    pattern = re.compile(r"未知 unknown \(达标把握 chance (\d+)%\)")
    shown = 0
    for t in lists[tier].thresholds:
        if t.measure == "std_quality_score":
            continue
        text = frame[f"check_{t.id}"]
        unknown = x[f"std_{t.id}"].isna().to_numpy()
        for uscc, chance in zip(x.index[unknown], learned[f"std_{t.id}"][unknown], strict=True):
            m = pattern.fullmatch(text[uscc])
            assert m, text[uscc]
            assert m[1] == f"{100 * chance:.0f}"
            shown += 1
        assert text[~unknown].isin(["达标 met"]).all()
    assert shown  # some listed company has a figure not on file
    # the listed score carries the smallest of a row's chances
    undiscounted = model.calibration(model.raw(x))
    smallest = np.fmin.reduce([np.ones(len(x)), *learned.values()])
    expected = undiscounted * smallest  # the list shows 4 decimals
    np.testing.assert_allclose(frame["score"].to_numpy(), expected, rtol=0, atol=5.01e-5)


@pytest.mark.parametrize("tier", list(TOPS))
def test_scores_are_probabilities_best_first(lists: dict, tier: str) -> None:
    frame = lists[tier].frame
    scores = frame["score"].to_numpy()
    assert ((scores > 0) & (scores < 1)).all()
    assert (np.diff(scores) <= 0).all()
    assert frame["rank"].tolist() == list(range(1, len(frame) + 1))


@pytest.mark.parametrize("tier", list(TOPS))
def test_the_list_is_the_best_scored_of_every_candidate_that_misses_no_threshold(
    trained_world: TrainedWorld, lists: dict, tier: str
) -> None:
    """`rank` scores only the candidates it may list; the list is the one scoring all of
    them gives, with the companies known to miss a threshold left out."""
    w = trained_world
    gates = gate(w.store, tier, AS_OF, w.criteria)
    x = w.snapshots(AS_OF).loc[gates.index[gates["eligible"].to_numpy()]]
    model = ScoringModel.load(w.registry.serving(tier))
    status = np.column_stack([x[t.column].to_numpy(float) for t in lists[tier].thresholds])
    misses = (status == 0).any(axis=1)
    assert misses.any() and (~misses).sum() > TOPS[tier]  # both kinds are there
    every = model.probability(x)  # every candidate, misses included
    use = w.criteria.empirical_floors.use
    below = below_any_floor(x, list(model.floors) if use != "ignore" else [])
    expected = metrics.list_order(every, misses, below, use)[: TOPS[tier]]
    frame = lists[tier].frame
    assert frame["uscc"].tolist() == x.index[expected].tolist()
    np.testing.assert_allclose(frame["score"], np.round(every[expected], 4), rtol=0, atol=0)


@pytest.mark.parametrize("tier", list(TOPS))
def test_model_beats_the_rules_baseline_against_the_truth(
    trained_world: TrainedWorld, lists: dict, tier: str
) -> None:
    w = trained_world
    k = TOPS[tier]
    qualifies = w.truth[f"qualifies_{tier}"]
    ours = qualifies.loc[lists[tier].frame["uscc"]].mean()
    gates = gate(w.store, tier, AS_OF, w.criteria)
    snap = w.snapshots(AS_OF).loc[gates.index[gates["eligible"].to_numpy()]]
    rules = metrics.precision_recall_at(
        metrics.rules_score(snap), qualifies.reindex(snap.index).to_numpy(bool), (k,)
    )[str(k)]["precision"]
    assert ours > rules, (ours, rules)


def test_reasons_name_real_evidence(trained_world: TrainedWorld, lists: dict) -> None:
    w = trained_world
    links = w.store.read("supply_links", AS_OF)
    active = links.loc[
        (links["end_on"].isna() | (links["end_on"] > pd.Timestamp(AS_OF))).to_numpy()
    ]
    names = w.store.read("companies", AS_OF).set_index("name")["uscc"]
    held = holds_at(w.store.read("certifications", AS_OF), AS_OF)
    investments = w.store.read("investments", AS_OF)
    awards = w.store.read("awards", AS_OF)
    checked = 0
    counts: list[int] = []
    for tier in TOPS:
        for row in lists[tier].frame.itertuples():
            reasons = row.reasons.split("；")
            assert 1 <= len(reasons) <= 5, row.reasons
            counts.append(len(reasons))
            for reason in reasons:
                assert re.search(r"[\u4e00-\u9fff]", reason.split(" (")[0]), reason  # Chinese first
                assert " (" in reason and reason.endswith(")"), reason  # English beside
                customers = set(active.loc[active["supplier_uscc"] == row.uscc, "customer_uscc"])
                if m := re.match(r'供应(\d+)家专精特新"小巨人"企业：([^ ]+) ', reason):
                    for name in m.group(2).split("、"):
                        code = names[name]
                        assert code in customers and held.loc[code, "little_giant"], reason
                    checked += 1
                if m := re.match(r"为(\d+)家链主（大型）企业供货：([^ ]+) ", reason):
                    assert int(m.group(1)) >= 1
                    for name in m.group(2).split("、"):
                        assert names[name] in customers, reason
                    checked += 1
                if m := re.match(r"\d{4}年获\w+「(.+?)」投资", reason):
                    mine = investments.loc[
                        investments["investee_uscc"] == row.uscc, "investor_name"
                    ]
                    assert m.group(1) in set(mine), reason
                    checked += 1
                if m := re.match(r"(\d{4})年获「(.+?)」等(\d+)项奖励", reason):
                    mine = awards.loc[awards["uscc"] == row.uscc]
                    assert m.group(2) in set(mine["name"]) and int(m.group(3)) == len(mine), reason
                    checked += 1
    assert checked >= 20
    # three to five reasons for nearly every listed company
    assert np.mean(np.array(counts) >= 3) >= 0.9, counts


def test_region_filter_and_outputs(trained_world: TrainedWorld, tmp_path) -> None:
    w = trained_world
    full = rank(
        w.store,
        "specialized_sme",
        AS_OF,
        w.registry,
        w.criteria,
        top=100_000,
        features=w.snapshots(AS_OF),
    )
    province = full.frame["region_code"].str.slice(0, 2).value_counts().index[0]
    part = rank(
        w.store,
        "specialized_sme",
        AS_OF,
        w.registry,
        w.criteria,
        top=100_000,
        region=province,
        features=w.snapshots(AS_OF),
    )
    assert part.frame["region_code"].str.startswith(province).all()
    assert set(part.frame["uscc"]) == set(
        full.frame.loc[full.frame["region_code"].str.startswith(province), "uscc"]
    )
    csv = write_list(part, tmp_path / "list.csv")
    back = pd.read_csv(csv, dtype={"uscc": str, "region_code": str})
    assert back["uscc"].tolist() == part.frame["uscc"].tolist()
    xlsx = write_list(part, tmp_path / "list.xlsx")
    sheets = pd.read_excel(xlsx, sheet_name=None, dtype=str)
    assert list(sheets) == ["邀请名单 list", "字段说明 columns", "概况 about"]
    assert sheets["邀请名单 list"]["地区代码 Region code"].str.startswith(province).all()
    with pytest.raises(UsageError, match="region"):
        rank(w.store, "specialized_sme", AS_OF, w.registry, w.criteria, top=5, region="4a")
    with pytest.raises(UsageError, match=r"\.csv or \.xlsx"):
        write_list(part, tmp_path / "list.json")


@pytest.mark.parametrize("tier", list(TOPS))
def test_floors_learned_with_the_model_mark_and_order_the_list(
    trained_world: TrainedWorld, lists: dict, tier: str
) -> None:
    from discovery.standard_check import floor_misses

    w = trained_world
    card = w.results[tier].card
    used = [f for f in card["standard_check"]["floors"] if f["well_evidenced"]]
    model = ScoringModel.load(w.registry.serving(tier))
    # the serving model carries exactly the floors its card reports as used
    assert [f.to_json() for f in model.floors] == used
    ranked = lists[tier]
    frame = ranked.frame
    assert ranked.summary["listed_with_visible_miss"] == 0
    x = w.snapshots(AS_OF).loc[frame["uscc"]]
    below = floor_misses(x, list(model.floors)).to_numpy().any(axis=1) if model.floors else None
    marked = frame["floor_check"].str.len().to_numpy() > 0
    if below is not None:
        assert (marked == below).all()
        # a marked company never ranks above an unmarked one
        assert not marked.any() or marked.argmax() >= (~marked).sum()
    else:
        assert not marked.any()
    assert ranked.summary["listed_below_empirical_floor"] == int(marked.sum())


@pytest.mark.parametrize("tier", list(TOPS))
def test_the_card_reads_the_held_out_list_on_the_invited_population(
    trained_world: TrainedWorld, tier: str
) -> None:
    card = trained_world.results[tier].card
    inv = card["invited_population"]
    assert inv["top"] == trained_world.criteria.default_top(tier)
    for name in ("model", "thresholds_rule", "rules_baseline"):
        r = inv[name]
        assert 0 <= r["approved"] <= r["later_applicants"] <= r["listed"] <= inv["top"]
    # our list and the thresholds rule never list a visible miss; the IP + revenue rule may
    assert inv["model"]["visible_miss"] == 0 and inv["thresholds_rule"]["visible_miss"] == 0
    # our list's own forecast for its later applicants: a chance each, so at most one each
    mine = inv["model"]
    assert 0 < mine["expected_approved"] <= mine["later_applicants"]
    assert "expected_approved" not in inv["thresholds_rule"]
    text = (trained_world.results[tier].model.path / "card.md").read_text(encoding="utf-8")
    assert "Validation on the population we invite" in text
    row = next(line for line in text.splitlines() if line.startswith("| ours | "))
    assert f"| {mine['approved']} | {mine['expected_approved']:.1f} |" in row
    # the same later applicants, split by whether a threshold's figure was not on file
    blank, filed = (mine["by_figures"][k] for k in ("figure_not_on_file", "figures_on_file"))
    for key in ("later_applicants", "approved"):
        assert blank[key] + filed[key] == mine[key]
    assert (
        abs(blank["expected_approved"] + filed["expected_approved"] - mine["expected_approved"])
        < 0.02
    )
    assert blank["later_applicants"] > 0 and filed["later_applicants"] > 0
    assert (
        f"{blank['later_applicants']} of these later applicants had a threshold's figure "
        f"not on file at the round's date, {blank['approved']} approved against a forecast "
        f"of {blank['expected_approved']:.1f}"
    ) in text
    assert "The standard against its own decisions" in text
