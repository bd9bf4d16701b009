"""The analysts' Python API (`discovery.load` → `Workspace`) on a small simulated world."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import discovery
from discovery import PromotionRefused, UsageError, Workspace
from discovery.labels import examples, past_rounds
from discovery.metrics import auc
from features import holds_at

TIER = "specialized_sme"
AS_OF = date(2025, 6, 30)
LAST_YEAR = date(2024, 6, 30)


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = discovery.load(tmp_path_factory.mktemp("workspace") / "home")
    workspace.simulate(2500, seed=5)
    return workspace


@pytest.fixture(scope="module")
def trained(ws: Workspace) -> dict[str, discovery.TrainResult]:
    old = ws.train(TIER, LAST_YEAR)  # serves: trained before the last round began
    new = ws.train(TIER, AS_OF, promote=False)
    return {"old": old, "new": new}


def test_public_names_resolve_and_import_stays_light() -> None:
    for name in discovery.__all__:
        assert getattr(discovery, name) is not None, name
    assert set(discovery.__all__) <= set(dir(discovery))
    with pytest.raises(AttributeError):
        _ = discovery.no_such_name  # type: ignore[attr-defined]
    # the CLI imports the package: its __init__ must not pull in pandas, LightGBM or the store
    code = "import sys, discovery; print(sorted({'pandas', 'lightgbm', 'discovery.workspace'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_load_uses_discovery_home(home: Path) -> None:
    ws = discovery.load()
    assert ws.home == home
    assert ws.registry.root == home / "models"
    assert discovery.load(home / "other").home == home / "other"


def test_dates_and_tiers_are_checked_at_the_entry(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        ws.features("30/06/2025")
    with pytest.raises(UsageError, match="specialized_sme, little_giant"):
        ws.gate("tech_sme", AS_OF)
    with pytest.raises(UsageError, match="at least 2"):
        ws.train(TIER, AS_OF, rounds=1)


def test_features_are_point_in_time_and_cached(ws: Workspace) -> None:
    frame = ws.features("2023-06-30")
    known = ws.store.read("companies", date(2023, 6, 30))["uscc"]
    assert frame.index.name == "uscc"
    assert set(frame.index) == set(known)
    assert len(known) < len(ws.store.read("companies"))  # companies founded later are absent
    assert ws.features(date(2023, 6, 30)) is frame


def test_holdings_and_gate_follow_the_ladder(ws: Workspace) -> None:
    held = ws.holdings(AS_OF)
    raw = holds_at(ws.store.read("certifications", AS_OF), AS_OF)
    assert held.loc[raw.index, "little_giant"].equals(raw["little_giant"])
    assert (held.loc[held["little_giant"], "highest"] == "little_giant").all()
    assert (held.loc[~held.drop(columns="highest").any(axis=1), "highest"] == "none").all()
    gates = ws.gate(TIER, AS_OF)
    eligible = gates.index[gates["eligible"]]
    assert len(eligible) > 0
    assert held.loc[eligible, ["tech_sme", "innovative_sme"]].any(axis=1).all()
    assert not held.loc[eligible, ["specialized_sme", "little_giant"]].any(axis=1).any()


def test_train_without_promotion_leaves_the_serving_model(
    ws: Workspace, trained: dict[str, discovery.TrainResult]
) -> None:
    old, new = trained["old"], trained["new"]
    assert old.promoted
    assert not new.promoted
    assert ws.serving(TIER).model_id == old.model.model_id  # type: ignore[union-attr]
    models = ws.models(TIER)
    assert list(models.index) == [old.model.model_id, new.model.model_id]
    assert models["serving"].tolist() == [True, False]
    assert models.loc[new.model.model_id, "as_of"] == AS_OF.isoformat()


def test_validation_scores_are_the_held_out_ones_of_the_card(
    trained: dict[str, discovery.TrainResult],
) -> None:
    new = trained["new"]
    assert new.validation is not None
    card = new.card
    assert len(new.validation) == card["validation_round"]["candidates"]
    direct = new.validation[new.validation["source"] != "unlabeled"]
    assert auc(direct["raw"].to_numpy(), direct["label"].to_numpy()) == pytest.approx(
        card["metrics"]["model"]["auc_direct_evidence"]
    )
    assert direct["probability"].between(0, 1).all()


def test_unregistered_training_is_kept_apart(ws: Workspace) -> None:
    scratch = ws.train(TIER, AS_OF, register=False)
    assert not scratch.promoted
    assert scratch.model.model_id not in ws.models(TIER).index
    with pytest.raises(UsageError, match="register=False"):
        ws.promote(scratch)


def test_compare_scores_every_model_on_the_same_unseen_round(
    ws: Workspace, trained: dict[str, discovery.TrainResult]
) -> None:
    old, new = trained["old"], trained["new"]
    cmp = ws.compare(TIER, AS_OF, ["serving", new], max_k=100)
    assert cmp.round == past_rounds(AS_OF, 1)[0]
    assert list(cmp.precision.columns) == [
        old.model.model_id,
        new.model.model_id,
        "rules",
        "thresholds rule",
    ]
    assert cmp.precision.index[0] == 1 and cmp.precision.index[-1] == 100
    # the candidate's curve is its held-out one: it matches the card at the card's K, and
    # so do both baselines' curves
    card_at = new.card["metrics"]["model"]["at_k"]
    rules_at = new.card["metrics"]["rules_baseline"]["at_k"]
    thresholds_at = new.card["metrics"]["thresholds_rule"]["at_k"]
    for k in ("10", "50", "100"):
        assert cmp.precision.at[int(k), new.model.model_id] == pytest.approx(
            card_at[k]["precision"]
        )
        assert cmp.precision.at[int(k), "rules"] == pytest.approx(rules_at[k]["precision"])
        assert cmp.precision.at[int(k), "thresholds rule"] == pytest.approx(
            thresholds_at[k]["precision"]
        )
    lift = cmp.lift
    assert "rules" not in lift.columns and "thresholds rule" not in lift.columns
    assert lift.at[50, new.model.model_id] == pytest.approx(
        cmp.precision.at[50, new.model.model_id] / cmp.precision.at[50, "rules"]
    )
    # recall reaches every approval of the round only when the whole round is listed
    positives = int((cmp.scores["label"] == 1).sum())
    assert (
        (cmp.recall * positives)
        .round(6)
        .equals((cmp.precision.mul(cmp.precision.index, axis=0)).round(6))
    )
    assert cmp.best in (old.model.model_id, new.model.model_id)
    models = cmp.summary.drop(index=["rules", "thresholds rule"])
    assert cmp.summary.loc[cmp.best, "primary"] == models["primary"].max()


def test_compare_refuses_a_model_that_learned_the_round(
    ws: Workspace, trained: dict[str, discovery.TrainResult]
) -> None:
    new_id = trained["new"].model.model_id
    with pytest.raises(UsageError, match="learned from outcomes up to 2025-06-30"):
        ws.compare(TIER, AS_OF, [new_id])
    # a year later the same model is scored on a round it never saw
    later = ws.compare(TIER, "2026-06-30", [new_id])
    assert later.round.as_of == AS_OF


def test_promotion_compares_on_the_candidates_validation_round(
    ws: Workspace, trained: dict[str, discovery.TrainResult]
) -> None:
    old, new = trained["old"], trained["new"]
    cmp = ws.compare(TIER, AS_OF, ["serving", new])
    if cmp.best == new.model.model_id:
        assert ws.promote(new) is True
        assert ws.serving(TIER).model_id == new.model.model_id  # type: ignore[union-attr]
    else:
        with pytest.raises(PromotionRefused):
            ws.promote(new)
        assert ws.serving(TIER).model_id == old.model.model_id  # type: ignore[union-attr]
    assert ws.promote(new, force=True) in (True, False)
    assert ws.serving(TIER).model_id == new.model.model_id  # type: ignore[union-attr]
    ws.promote(old, force=True)  # leave the serving model as the other tests expect


def test_rank_lists_eligible_companies_with_the_serving_model(
    ws: Workspace, trained: dict[str, discovery.TrainResult]
) -> None:
    ranked = ws.rank(TIER, AS_OF, top=15, region="32")
    assert ranked.model_id == ws.serving(TIER).model_id  # type: ignore[union-attr]
    assert 0 < len(ranked.frame) <= 15
    assert ranked.frame["region_code"].str.startswith("32").all()
    assert ranked.frame["score"].is_monotonic_decreasing
    gates = ws.gate(TIER, AS_OF)
    assert gates.loc[ranked.frame["uscc"], "eligible"].all()


def test_backtest_checks_each_round_with_a_model_of_its_time(ws: Workspace) -> None:
    before = ws.models(TIER).index.tolist()
    bt = ws.backtest(TIER, AS_OF, top=30, rounds=2)
    assert ws.models(TIER).index.tolist() == before  # backtest models are never registered
    rounds = past_rounds(AS_OF, 2)
    assert list(bt.rounds.index) == [r.as_of for r in rounds]
    done = bt.rounds[bt.rounds["note"] == ""]
    assert len(done) >= 1
    for rnd in rounds:
        if rnd.as_of not in bt.lists:
            continue
        listed = bt.lists[rnd.as_of]
        row = bt.rounds.loc[rnd.as_of]
        ex = examples(ws.store, TIER, rnd, ws.criteria)
        certified = set(ex.index[ex["label"] == 1])
        assert row["certified"] == len(certified)
        assert row["hits"] == listed["certified"].sum() == len(certified & set(listed["uscc"]))
        assert row["recall"] == pytest.approx(row["hits"] / row["certified"])
        for share in ("precision", "recall", "rules_recall"):  # 95 % bootstrap bounds
            assert row[f"{share}_low"] <= row[share] <= row[f"{share}_high"], share
        assert row["recall_low"] < row["recall_high"]
        # everybody listed could have been invited then
        assert ws.gate(TIER, rnd.as_of).loc[listed["uscc"], "eligible"].all()
        assert 0 <= row["new_hits"] <= row["hits"] and row["new_listed"] <= row["listed"] <= 30
    if len(done) == 2:  # the second list counts as new only what the first did not hold
        first, second = (bt.lists[r.as_of] for r in rounds)
        repeat = set(first["uscc"]) & set(second["uscc"])
        assert bt.rounds.iloc[1]["new_listed"] <= 30 - len(repeat)


def test_graph_neighbourhood_draws_active_links_and_investors(ws: Workspace) -> None:
    links = ws.store.read("supply_links", AS_OF)
    links = links[links["end_on"].isna()]
    busiest = pd.concat([links["supplier_uscc"], links["customer_uscc"]]).value_counts().index[0]
    g = ws.graph_neighbourhood(busiest, AS_OF, hops=1)
    mine = links[(links["supplier_uscc"] == busiest) | (links["customer_uscc"] == busiest)]
    supplies = {(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "supplies"}
    assert supplies == set(zip(mine["supplier_uscc"], mine["customer_uscc"], strict=True))
    invest = ws.store.read("investments", AS_OF)
    backers = {
        "investor:" + i for i in invest.loc[invest["investee_uscc"] == busiest, "investor_id"]
    }
    assert {u for u, _, d in g.edges(data=True) if d["kind"] == "invested_in"} == backers
    assert g.nodes[busiest]["hop"] == 0
    assert g.nodes[busiest]["tier"] == ws.holdings(AS_OF).at[busiest, "highest"]
    assert all(d["hop"] == 1 for n, d in g.nodes(data=True) if n != busiest)
    two = ws.graph_neighbourhood(busiest, AS_OF, hops=2)
    assert set(g.nodes) <= set(two.nodes) and two.number_of_nodes() > g.number_of_nodes()
    assert {d["hop"] for _, d in two.nodes(data=True)} == {0, 1, 2}
    with pytest.raises(UsageError, match="hops"):
        ws.graph_neighbourhood(busiest, AS_OF, hops=0)
    with pytest.raises(UsageError, match="no company"):
        ws.graph_neighbourhood("91110000000000000X", AS_OF)


def test_simulate_is_seeded_and_ingest_refreshes_features(tmp_path: Path) -> None:
    a = discovery.load(tmp_path / "a")
    b = discovery.load(tmp_path / "b")
    assert a.simulate(300, seed=2) == b.simulate(300, seed=2)
    before = a.features(AS_OF)
    report = a.ingest(b.home / "simulated" / "seed-2-300")
    assert not report.result.changed  # the same files: nothing changes
    after = a.features(AS_OF)
    assert after is not before  # the cache was dropped on ingest
    pd.testing.assert_frame_equal(after, before)
    assert np.isfinite(after.select_dtypes("number").to_numpy(dtype=float)).any()


def test_training_refuses_unknown_parameters_and_features_plainly(ws: Workspace) -> None:
    before = ws.models(TIER).index.tolist()
    with pytest.raises(UsageError, match=r"Unknown LightGBM parameter\(s\) num_leafs; use"):
        ws.train(TIER, AS_OF, params={"num_leafs": 4})
    with pytest.raises(UsageError, match="objective must stay 'binary'"):
        ws.train(TIER, AS_OF, params={"objective": "regression"})
    with pytest.raises(UsageError, match="num_rounds must be a whole number"):
        ws.train(TIER, AS_OF, params={"num_rounds": 2.5})
    with pytest.raises(UsageError, match="Unknown feature 'nosuch': name a model input"):
        ws.train(TIER, AS_OF, features=["ip", "nosuch"])
    with pytest.raises(UsageError, match="Unknown feature 'ownership'"):
        ws.train(TIER, AS_OF, features="ownership")  # never a model input
    with pytest.raises(UsageError, match="Unknown feature 'ip_no_such_count'"):
        ws.train(TIER, AS_OF, features=["ip_no_such_count"])
    assert ws.models(TIER).index.tolist() == before


def test_parameters_and_a_feature_subset_shape_the_model_and_its_card(
    ws: Workspace, trained: dict[str, discovery.TrainResult]
) -> None:
    chosen = ["ip", "fin_", "std_quality_score"]
    result = ws.train(
        TIER, AS_OF, register=False, params={"num_rounds": 20, "num_leaf": 4}, features=chosen
    )
    names = result.model.bundle["schema"]["names"]
    assert all(n.startswith(("ip_", "fin_")) or n == "std_quality_score" for n in names)
    assert {n[:3] for n in names} == {"ip_", "fin", "std"}
    full = trained["new"].card["feature_count"]
    assert result.card["feature_count"] == len(names) < full
    params = result.card["params"]
    assert params["num_rounds"] == 20 and params["num_leaves"] == 4 and "num_leaf" not in params
    assert result.card["params_overridden"] == {"num_rounds": 20, "num_leaf": 4}
    assert result.card["features_chosen"] == chosen
    card_md = (result.model.path / "card.md").read_text(encoding="utf-8")
    assert "Parameters overriding the recipe: num_rounds=20, num_leaf=4" in card_md
    assert "Feature subset: ip, fin_, std_quality_score" in card_md
    # the default recipe is untouched by an override
    assert trained["new"].card["params"]["num_leaves"] == 15


def test_explain_takes_one_score_apart(
    ws: Workspace, trained: dict[str, discovery.TrainResult]
) -> None:
    from discovery.model import ScoringModel

    row = ws.rank(TIER, AS_OF, top=3).frame.iloc[0]
    uscc = row["uscc"]
    ex = ws.explain(uscc, TIER, AS_OF)
    frame = ex.frame
    assert list(frame.columns) == [
        "feature",
        "name_zh",
        "value",
        "contribution",
        "family",
        "channel",
    ]
    assert frame["contribution"].abs().is_monotonic_decreasing
    model = ScoringModel.load(ws.serving(TIER))  # type: ignore[arg-type]
    assert sorted(frame["feature"]) == sorted(model.schema.names)
    x = ws.features(AS_OF).loc[[uscc]]
    margin = model.booster.predict(model.schema.matrix(x), raw_score=True)[0]
    assert frame["contribution"].sum() == pytest.approx(margin - ex.base_value)
    assert ex.margin == pytest.approx(margin)
    assert ex.probability == pytest.approx(row["score"], abs=1e-4)
    revenue = frame.set_index("feature").at["fin_revenue_latest_wan", "value"]
    assert revenue == x["fin_revenue_latest_wan"].iloc[0] or pd.isna(revenue)
    assert ex.reasons and all(reason in row["reasons"] for reason in ex.reasons)
    assert ex.by_channel().sum() == pytest.approx(frame["contribution"].sum())
    text = repr(ex)
    assert uscc in text and len(text.splitlines()) == 2 + 10 + len(ex.reasons)
    other = ws.explain(uscc, TIER, AS_OF, model=trained["new"].model.model_id)
    assert other.model_id == trained["new"].model.model_id
    with pytest.raises(UsageError, match="no company"):
        ws.explain("91110000000000000X", TIER, AS_OF)


def test_models_print_short_and_comparisons_carry_intervals(
    ws: Workspace, trained: dict[str, discovery.TrainResult]
) -> None:
    serving = ws.serving(TIER)
    text = repr(serving)
    assert len(text) < 300 and "\n" not in text and "names" not in text
    assert "在用 serving" in text and f"as of {LAST_YEAR}" in text and "AUC 0." in text
    assert "未在用 not serving" in str(trained["new"].model)
    assert "promoted=False" in repr(trained["new"]) and len(repr(trained["new"])) < 320
    cmp = ws.compare(TIER, AS_OF, ["serving", trained["new"]], max_k=60)
    assert cmp.precision_low.shape == cmp.precision.shape == cmp.precision_high.shape
    assert (cmp.precision_low <= cmp.precision_high).all().all()
    top = cmp.top
    for name, row in cmp.summary.iterrows():
        assert row["auc_direct_evidence_low"] < row["auc_direct_evidence"], name
        assert row["auc_direct_evidence"] < row["auc_direct_evidence_high"], name
        assert row[f"precision@{top}_low"] <= row[f"precision@{top}"]
        assert row[f"precision@{top}"] <= row[f"precision@{top}_high"]
    assert cmp.thin is None
