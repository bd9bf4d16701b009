"""A threshold the file lowered from the standard it replaced (`discovery/standard_change.py`)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks import outside_economy
from discovery.card import render_card, summary_lines
from discovery.criteria import load_criteria
from discovery.model import ScoringModel
from discovery.ranking import rank
from discovery.registry import Registry
from discovery.snapshots import SnapshotCache
from discovery.standard_change import Lift, lifts_of
from discovery.standard_check import check_standard
from discovery.training import standard_check_at, train_tier
from graph.embedded import EmbeddedStore
from graph.errors import UsageError
from graph.validation import read_directory
from tests.discovery.conftest import AS_OF, TrainedWorld
from tests.discovery.test_intervals import card_of, round_of
from tests.discovery.test_standard import CRITERIA_FILE, _scored_round

QUALITY = Lift("ss_quality_score", "std_quality_score", ">=", 50.0, 60.0, 60.3, 60.0)


def test_the_file_records_the_replaced_value_and_refuses_one_that_is_not_stricter(
    tmp_path: Path,
) -> None:
    shipped = {t.id: t for t in load_criteria().thresholds}
    assert shipped["ss_quality_score"].replaced is not None
    assert shipped["ss_quality_score"].replaced.value == 60
    assert "2022" in shipped["ss_quality_score"].replaced.source
    text = CRITERIA_FILE.read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("replaced:\n      value: 60", "replaced:\n      value: 45"))
    with pytest.raises(UsageError, match="ss_quality_score: the replaced value 45 must be"):
        load_criteria(bad)


def test_a_lift_moves_figures_between_the_two_values_and_nothing_else() -> None:
    values = np.array([49.9, 50.0, 55.0, 59.99, 60.0, 70.0, np.nan])
    np.testing.assert_array_equal(
        QUALITY.applies(values), [False, True, True, True, False, False, False]
    )
    np.testing.assert_array_equal(QUALITY.apply(values), [49.9, 60, 60, 60, 60, 70, np.nan])
    # a ceiling the file raised ("at most 0.8", replaced "at most 0.7") lifts downwards
    ceiling = Lift("debt", "m", "<=", 0.8, 0.7, 0.7, 0.7)
    np.testing.assert_array_equal(
        ceiling.apply(np.array([0.9, 0.8, 0.75, 0.7, 0.5])), [0.9, 0.7, 0.7, 0.7, 0.5]
    )
    assert Lift.from_json(json.loads(json.dumps(QUALITY.to_json()))) == QUALITY


def test_a_lift_needs_both_the_replaced_value_and_decisions_that_held_it(
    tmp_path: Path,
) -> None:
    text = CRITERIA_FILE.read_text(encoding="utf-8")
    anchor = "    label_en: quality-evaluation score at least 60\n"
    assert text.count(anchor) == 1
    edited = tmp_path / "replaced.yaml"
    edited.write_text(
        text.replace(anchor, anchor + "    replaced: {value: 65, source: an older standard}\n")
    )
    with_old, without_old = load_criteria(edited), load_criteria()

    def lifts(bar: float, criteria: object) -> tuple[Lift, ...]:
        rng = np.random.default_rng(6)
        rounds = [_scored_round(rng, y, bar) for y in (2021, 2022, 2023)]
        check = check_standard(rounds, criteria, "little_giant", date(2024, 12, 31))  # type: ignore[arg-type]
        return lifts_of(check, criteria, "little_giant")  # type: ignore[arg-type]

    # reviewers held 70; the file says 60, replacing 65: figures from 60 are scored at 65
    (lift,) = lifts(70.0, with_old)
    assert (lift.threshold, lift.value, lift.replaced, lift.to) == ("lg_quality_score", 60, 65, 65)
    assert 70.0 <= lift.decided < 71.0
    # decisions at the value in force (a province that already reviewed at 60): none
    assert lifts(60.0, with_old) == ()
    # a stricter bar in the decisions alone, without a replaced value in the file: none
    assert lifts(70.0, without_old) == ()


def test_a_lifted_model_scores_and_explains_companies_between_the_values(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    w, tier = trained_world, "specialized_sme"
    serving = w.registry.serving(tier)
    bundle = json.loads((serving.path / "bundle.json").read_text(encoding="utf-8"))
    assert bundle["standard_changes"] == []  # our simulator's decisions held the file's 50
    bundle["standard_changes"] = [QUALITY.to_json()]
    bundle["card"]["standard_changes"] = [QUALITY.to_json()]
    registry = Registry(tmp_path / "models")
    lifted = registry.register(tier, serving.booster_path.read_text(encoding="utf-8"), bundle, "")
    registry.promote(lifted, force=True)
    model, plain = ScoringModel.load(registry.serving(tier)), ScoringModel.load(serving)
    snap = w.snapshots(AS_OF)
    x = snap
    before = x.copy()
    between = QUALITY.applies(x["std_quality_score"].to_numpy(dtype=float))
    assert between.sum() >= 5
    # scored exactly as the same company with a figure of 60, and the table is left alone
    at_old_bar = x.assign(std_quality_score=QUALITY.apply(x["std_quality_score"].to_numpy()))
    np.testing.assert_allclose(model.raw(x), plain.raw(at_old_bar))
    # the booster reads the lifted figure (in our simulator's world it splits no
    # differently between 50 and 60, whose decisions held the file's 50)
    np.testing.assert_array_equal(
        model.inputs(x)["std_quality_score"], at_old_bar["std_quality_score"]
    )
    moved = ~np.isclose(
        model.inputs(x)["std_quality_score"], plain.inputs(x)["std_quality_score"], equal_nan=True
    )
    np.testing.assert_array_equal(moved, between)
    np.testing.assert_allclose(model.raw(x)[~between], plain.raw(x)[~between])
    pd.testing.assert_frame_equal(x, before)
    # the list says so for every company scored that way, first among its reasons
    ranked = rank(w.store, tier, AS_OF, registry, w.criteria, top=300, features=snap)
    listed = snap.loc[ranked.frame["uscc"], "std_quality_score"].to_numpy(dtype=float)
    said = ranked.frame["reasons"].str.startswith("标准已下调").to_numpy()
    np.testing.assert_array_equal(said, QUALITY.applies(listed))
    assert ranked.summary["listed_scored_at_replaced_bar"] == int(said.sum()) > 0
    # the card and the training summary carry it
    assert QUALITY.text() in render_card(bundle["card"])
    card = card_of(
        np.arange(100.0), np.zeros(100), round_of(np.array([1, 0] * 50), np.ones(100, bool))
    )
    card["standard_changes"] = [QUALITY.to_json()]
    assert QUALITY.text() in summary_lines(card)


@pytest.fixture(scope="module")
def outside_worlds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, EmbeddedStore]:
    """Economies of the outside generator, one decided under the 2022 interim measures
    (a specialized-SME score of 60) and one under the 2026 annex review (50)."""
    stores = {}
    for variant in ("outside_shift", "outside_annex"):
        base = tmp_path_factory.mktemp(variant)
        outside_economy.generate(
            3000, 5, base / "data", base / "truth.csv", variant=variant, end=str(AS_OF)
        )
        stores[variant] = EmbeddedStore(base / "home" / "store")
        stores[variant].load(read_directory(base / "data"))
    return stores


def test_a_world_decided_under_the_old_bar_is_ranked_by_the_new_one(
    outside_worlds: dict[str, EmbeddedStore], tmp_path: Path
) -> None:
    criteria, tier = load_criteria(), "specialized_sme"
    store = outside_worlds["outside_shift"]
    snapshots = SnapshotCache(store, criteria)
    registry = Registry(tmp_path / "models")
    result = train_tier(store, tier, AS_OF, criteria, registry, snapshots=snapshots)
    (lift,) = ScoringModel.load(registry.serving(tier)).lifts
    assert (lift.threshold, lift.value, lift.replaced, lift.to) == ("ss_quality_score", 50, 60, 60)
    assert 60 <= lift.decided < 62
    assert result.card["standard_changes"] == [lift.to_json()]
    ranked = rank(store, tier, AS_OF, registry, criteria, top=200, features=snapshots(AS_OF))
    score = snapshots(AS_OF).loc[ranked.frame["uscc"], "std_quality_score"].to_numpy(dtype=float)
    said = ranked.frame["reasons"].str.startswith("标准已下调").to_numpy()
    np.testing.assert_array_equal(said, (score >= 50) & (score < 60))
    assert said.any()
    # the same generator's world reviewed at 50 throughout: nothing to lift
    annex = outside_worlds["outside_annex"]
    check = standard_check_at(annex, tier, AS_OF, criteria)
    assert lifts_of(check, criteria, tier) == ()


def test_criteria_check_says_what_ranking_does_about_the_lowered_threshold(
    outside_worlds: dict[str, EmbeddedStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from discovery.cli import app

    home = outside_worlds["outside_shift"].root.parent
    monkeypatch.setenv("DISCOVERY_HOME", str(home))
    monkeypatch.setenv("DISCOVERY_STORE", "embedded")
    args = ["criteria", "check", "--as-of", "2025-12-31", "--tier", "specialized_sme"]
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "裁决严于文件: ss_quality_score ≈ 6" in text.stdout
    assert "标准已下调：ss_quality_score 按原标准线60评分（现行50，原60" in text.stdout
    (check,) = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    (change,) = check["standard_changes"]
    assert (change["threshold"], change["value"], change["to"]) == ("ss_quality_score", 50, 60)
