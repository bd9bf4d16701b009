"""Training, calibration, the registry's refusals and the model card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from discovery import model as model_module
from discovery import row_blocks
from discovery.criteria import load_criteria
from discovery.model import Calibration, ScoringModel, may_apply
from discovery.quality import ESTIMATE_COLUMN, SCORE_COLUMN, QualityBar, estimate_quality
from discovery.registry import PromotionRefused, Registry, SchemaMismatchError
from discovery.schema import FeatureSchema
from discovery.training import train_tier
from graph.errors import UsageError
from tests.discovery.conftest import AS_OF, TrainedWorld


def test_card_reports_validation_on_a_held_out_round(trained_world: TrainedWorld) -> None:
    for tier, result in trained_world.results.items():
        card = result.card
        valid = card["validation_round"]["as_of"]
        assert all(r["as_of"] < valid for r in card["train_rounds"])
        m = card["metrics"]
        assert 0.5 < m["model"]["auc_direct_evidence"] <= 1.0
        assert set(m["model"]["at_k"]) >= {"10", "50"}
        assert card["criteria_version"] == trained_world.criteria.version
        assert "ownership" in card["fairness"] and "province" in card["fairness"]
        names = result.model.bundle["schema"]["names"]
        assert not any("ownership" in f for f in names)
        # where a company is registered is no input of the scoring model (the estimate's only)
        assert not {"profile_province", "profile_city"} & set(names)
        assert "profile_industry_section" in names
        md = (result.model.path / "card.md").read_text(encoding="utf-8")
        assert "Fairness audit" in md and "unlabeled" in md and tier in md
        # both simple baselines beside the model, each with the paired difference at each K
        for baseline, gaps in (
            ("rules_baseline", "model_vs_rules"),
            ("thresholds_rule", "model_vs_thresholds_rule"),
        ):
            assert set(m[baseline]["at_k"]) == set(m["model"]["at_k"])
            assert set(m[gaps]["precision"]) == set(m["model"]["at_k"])
            assert 0.0 <= m[baseline]["auc_all_candidates"] <= 1.0
        table = _table(md, "| K | precision")
        assert "thresholds rule precision" in table[0] and "model − thresholds rule" in table[0]
        assert len(table) == 2 + len(m["model"]["at_k"])
        assert all(row.count("|") == table[0].count("|") for row in table)


def _table(markdown: str, header: str) -> list[str]:
    """The Markdown table whose header starts with `header`: header, rule and rows."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


def test_quality_estimate_tracks_the_published_score(trained_world: TrainedWorld) -> None:
    snap = trained_world.snapshots(AS_OF)
    known = snap["std_quality_score"].notna()
    assert known.sum() > 50
    r = np.corrcoef(snap.loc[known, "std_quality_score"], snap.loc[known, ESTIMATE_COLUMN])[0, 1]
    assert r > 0.6
    # estimated exactly where a score is published or the company may apply for a tier
    scope = may_apply(snap, trained_world.criteria) | known.to_numpy()
    assert 0 < scope.sum() < len(snap)
    assert snap[ESTIMATE_COLUMN].notna().to_numpy().tolist() == scope.tolist()


def test_scores_and_estimates_a_block_of_rows_at_a_time_are_the_same_floats(
    trained_world: TrainedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A national snapshot is scored a block of rows at a time; every score is row by row,
    so blocks of 37 rows (last one short) give the floats of one pass, bit for bit. The
    scores are compared on the snapshot's first 1,000 rows (27 blocks), against the
    whole snapshot's one pass, which checks too that a row's score needs no other row."""
    snap = trained_world.snapshots(AS_OF)
    criteria = trained_world.criteria
    scope = may_apply(snap, criteria)
    scorers = [
        ScoringModel.load(trained_world.registry.serving(t))
        for t in ("specialized_sme", "little_giant")
    ]
    part = snap.iloc[:1000]
    assert len(snap) > len(part)
    whole = [(s.probability(snap), s.raw(snap)) for s in scorers]
    inputs = snap.drop(columns=ESTIMATE_COLUMN)  # as the snapshot was before its estimate
    estimate = estimate_quality(inputs, scope, threads=1)
    calls: list[int] = []
    original = model_module.ScoringModel.booster_raw

    def counted(self: ScoringModel, frame: pd.DataFrame) -> np.ndarray:
        calls.append(len(frame))
        return original(self, frame)

    monkeypatch.setattr(row_blocks, "ROWS", 37)
    monkeypatch.setattr(model_module.ScoringModel, "booster_raw", counted)
    for scorer, (probability, raw) in zip(scorers, whole, strict=True):
        np.testing.assert_array_equal(scorer.probability(part), probability[: len(part)])
        np.testing.assert_array_equal(scorer.raw(part), raw[: len(part)])
    assert len(part) % 37 and max(calls) == 37 and min(calls) == len(part) % 37
    assert len(calls) == 4 * -(-len(part) // 37)  # two tiers, probability and raw
    assert (probability[: len(part)] > 0).sum() > 37  # the blocks hold real scores, not zeros
    pd.testing.assert_series_equal(estimate_quality(inputs, scope, threads=1), estimate)
    pd.testing.assert_series_equal(estimate, snap[ESTIMATE_COLUMN], check_names=False)
    assert estimate[~scope & snap[SCORE_COLUMN].isna().to_numpy()].isna().all()
    assert estimate[scope].notna().sum() > 2 * 37


def test_probabilities_are_calibrated_and_monotone(trained_world: TrainedWorld) -> None:
    reg = trained_world.registry
    scorer = ScoringModel.load(reg.serving("specialized_sme"))
    assert scorer.calibration.fitted
    raw = np.linspace(0.01, 0.99, 50)
    p = scorer.calibration(raw)
    assert (np.diff(p) > 0).all() and (p > 0).all() and (p < 1).all()


def test_schema_mismatch_is_refused_plainly(trained_world: TrainedWorld, tmp_path: Path) -> None:
    reg = trained_world.registry
    serving = reg.serving("little_giant")
    scorer = ScoringModel.load(serving)
    snap = trained_world.snapshots(AS_OF).head(20)
    with pytest.raises(SchemaMismatchError, match=r"chain_pagerank.*retrain"):
        scorer.probability(snap.drop(columns=["chain_pagerank"]))
    numeric_profile = snap.assign(profile_industry_section=1.0)
    with pytest.raises(SchemaMismatchError, match="profile_industry_section"):
        scorer.probability(numeric_profile)
    # a bundle whose schema does not match its booster is refused on load
    tampered = tmp_path / "tampered"
    reg_copy = Registry(tampered)
    bundle = json.loads((serving.path / "bundle.json").read_text(encoding="utf-8"))
    bundle["schema"]["names"] = list(reversed(bundle["schema"]["names"]))
    bad = reg_copy.register(
        "little_giant", serving.booster_path.read_text(encoding="utf-8"), bundle, ""
    )
    with pytest.raises(SchemaMismatchError, match="stored schema"):
        ScoringModel.load(bad)


def test_a_worse_model_never_replaces_the_serving_one(
    trained_world: TrainedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # specialized SMEs: their validation round has enough decisions (178 in this world)
    # to tell a handicapped model from a good one; the little giants' 18 do not
    w = trained_world
    before = w.registry.serving("specialized_sme")
    # a handicapped recipe: two trees instead of hundreds, and no quality bar
    monkeypatch.setattr(model_module, "NUM_ROUNDS", 2)
    monkeypatch.setitem(model_module.PARAMS, "num_leaves", 2)
    monkeypatch.setattr(QualityBar, "fit", classmethod(lambda cls, *_, **__: cls()))
    result = train_tier(
        w.store, "specialized_sme", AS_OF, w.criteria, w.registry, snapshots=w.snapshots
    )
    assert not result.promoted
    assert "does not serve" in result.message
    assert w.registry.serving("specialized_sme").model_id == before.model_id
    assert result.model.model_id in {m.model_id for m in w.registry.list("specialized_sme")}
    # forced, it serves; promoting the old one back is an explicit act too
    assert w.registry.promote(result.model, force=True)
    assert w.registry.serving("specialized_sme").model_id == result.model.model_id
    with pytest.raises(PromotionRefused):
        w.registry.promote(
            before, force=False
        ) if before.primary_metric < result.model.primary_metric else (_ for _ in ()).throw(
            PromotionRefused("n/a")
        )
    w.registry.promote(before, force=True)
    assert w.registry.serving("specialized_sme").model_id == before.model_id


def test_a_failed_run_leaves_no_model_and_keeps_the_pointer(
    trained_world: TrainedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = trained_world
    serving = w.registry.serving("specialized_sme").model_id
    count = len(w.registry.list("specialized_sme"))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("discovery.registry.fsync_tree", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        train_tier(w.store, "specialized_sme", AS_OF, w.criteria, w.registry, snapshots=w.snapshots)
    assert len(w.registry.list("specialized_sme")) == count
    assert w.registry.serving("specialized_sme").model_id == serving
    tier_dir = w.registry.root / "specialized_sme"
    assert not [p for p in tier_dir.iterdir() if p.name.startswith(".staging")]


def test_criteria_file_values_and_refusals(tmp_path: Path) -> None:
    c = load_criteria()
    lg = {t.id: t for t in c.thresholds_for("little_giant")}
    assert (lg["lg_revenue"].value, lg["lg_rd_two_years"].value, lg["lg_class_one_ip"].value) == (
        5000,
        1200,
        4,
    )
    assert lg["lg_quality_score"].value == 60
    assert {i for i, t in lg.items() if t.basis == "policy"} == {
        "lg_revenue",
        "lg_rd_two_years",
        "lg_class_one_ip",
        "lg_quality_score",
    }
    assert {t.basis for t in c.thresholds_for("specialized_sme")} == {"policy", "assumption"}
    assert c.rung("little_giant").from_tiers == ("specialized_sme",)
    text = (Path(__file__).parents[2] / "discovery" / "criteria" / "2026.yaml").read_text(
        encoding="utf-8"
    )
    edited = tmp_path / "c.yaml"
    edited.write_text(text.replace("value: 5000", "value: 6000"), encoding="utf-8")
    assert {t.id: t for t in load_criteria(edited).thresholds}["lg_revenue"].value == 6000
    edited.write_text(
        text.replace(
            "kinds: [abnormal_operations, serious_dishonesty]", "kinds: [abnormal_operations]"
        )
    )
    with pytest.raises(UsageError, match="barring kinds"):
        load_criteria(edited)
    with pytest.raises(UsageError, match="Unknown tier"):
        c.rung("giant")


def test_training_refuses_a_date_after_today(trained_world: TrainedWorld) -> None:
    w = trained_world
    with pytest.raises(UsageError, match="today"):
        train_tier(
            w.store, "little_giant", pd.Timestamp("2999-01-01").date(), w.criteria, w.registry
        )


def test_snapshots_on_disk_read_back_identical_and_follow_the_data(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    from discovery.snapshots import SnapshotCache
    from graph.embedded import EmbeddedStore
    from graph.validation import read_directory

    w = trained_world
    first = SnapshotCache(w.store, w.criteria, tmp_path / "cache")
    built = first(AS_OF)
    again = SnapshotCache(w.store, w.criteria, tmp_path / "cache")(AS_OF)
    pd.testing.assert_frame_equal(again, built)
    pd.testing.assert_frame_equal(built, w.snapshots(AS_OF))
    # another store content gets its own folder; the old one is dropped
    other = EmbeddedStore(tmp_path / "other")
    other.load(read_directory(w.data))
    assert other.fingerprint() == w.store.fingerprint()
    companies = pd.read_csv(w.data / "companies.csv", dtype=str, keep_default_na=False)
    companies.loc[0, "name"] = "改名后的企业有限公司"
    edited = tmp_path / "edited"
    edited.mkdir()
    companies.to_csv(edited / "companies.csv", index=False)
    other.load(read_directory(edited))
    changed = SnapshotCache(other, w.criteria, tmp_path / "cache")
    changed(AS_OF)
    folders = [p for p in (tmp_path / "cache").iterdir() if p.is_dir()]
    assert len(folders) == 1 and folders[0].name.startswith(other.fingerprint())


def test_unlabeled_sampling_keeps_evidence_and_total_weight(
    trained_world: TrainedWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from discovery import training

    rounds = training.collect_rounds(
        trained_world.store,
        "specialized_sme",
        AS_OF,
        trained_world.criteria,
        snapshots=trained_world.snapshots,
    )
    data = rounds[-1]
    ex = data.examples
    unlabeled = (ex["source"] == "unlabeled").to_numpy()
    cap = int(unlabeled.sum()) // 3
    monkeypatch.setattr(training, "MAX_UNLABELED", cap)
    keep, w = training._thin(data)
    assert np.array_equal(keep, training._thin(data)[0])  # a rerun fits the same rows
    assert set(np.flatnonzero(~unlabeled)) <= set(keep)  # every piece of evidence is kept
    assert unlabeled[keep].sum() == cap
    kept_unlabeled = unlabeled[keep]
    assert w[kept_unlabeled].sum() == pytest.approx(ex["weight"].to_numpy()[unlabeled].sum())
    assert np.array_equal(w[~kept_unlabeled], ex["weight"].to_numpy()[~unlabeled])


def test_quality_bar_reads_published_scores_outright_and_estimates_as_a_chance() -> None:
    frame = pd.DataFrame(
        {
            SCORE_COLUMN: [55.0, 49.9, 50.0, np.nan, np.nan, np.nan],
            ESTIMATE_COLUMN: [20.0, 90.0, 50.0, 50.0, 56.0, np.nan],
        }
    )
    bar = QualityBar(cut=50.0, sigma=6.0)
    got = bar(frame)
    # published: decided by the score itself, whatever the estimate says
    assert got[:3].tolist() == [1.0, 0.0, 1.0]
    # estimated: Φ((estimate − cut) / σ); at the cut a coin toss, one σ above ≈ 0.84
    assert got[3] == pytest.approx(0.5)
    assert got[4] == pytest.approx(0.8413, abs=1e-4)
    # no estimate and no published score: no information, no change
    assert got[5] == 1.0
    assert QualityBar(cut=50.0, sigma=6.0, strict=True)(frame)[2] == 0.0
    assert QualityBar()(frame).tolist() == [1.0] * 6


def test_quality_bar_sigma_is_the_estimate_error_on_published_scores() -> None:
    rng = np.random.default_rng(3)
    score = rng.uniform(30, 80, 400)
    frame = pd.DataFrame({SCORE_COLUMN: score, ESTIMATE_COLUMN: score + rng.normal(0, 4.0, 400)})
    frame.loc[frame.index[:100], SCORE_COLUMN] = np.nan  # unpublished rows do not count
    bar = QualityBar.fit(frame, 50.0)
    residual = (frame[ESTIMATE_COLUMN] - frame[SCORE_COLUMN]).dropna()
    assert bar.sigma == pytest.approx(float(np.sqrt((residual**2).mean())))
    assert 3.5 < bar.sigma < 4.5
    assert (bar.cut, bar.strict) == (50.0, False)
    assert (bar.sigma_from, bar.evidence) == ("all", 300)
    assert QualityBar.fit(frame.iloc[:120], 50.0) == QualityBar()  # 20 published: too few
    assert QualityBar.fit(frame, None) == QualityBar()


def test_tier_tenure_feeds_the_quality_estimate_and_not_the_scoring_model(
    trained_world: TrainedWorld,
) -> None:
    # a score that depends on how long the company has held its tier: the estimate reads
    # the tenure columns and finds it; the scoring model's schema leaves them out
    rng = np.random.default_rng(11)
    n = 600
    years = rng.uniform(0, 6, n)
    frame = pd.DataFrame(
        {
            "profile_specialized_sme_years": years,
            "profile_age_years": rng.uniform(1, 30, n),
            SCORE_COLUMN: 40.0 + 5.0 * years + rng.normal(0, 1.0, n),
        },
        index=pd.Index([f"C{i:04d}" for i in range(n)], name="uscc"),
    )
    frame.loc[frame.index[500:], SCORE_COLUMN] = np.nan
    estimate = estimate_quality(frame).to_numpy()
    truth = 40.0 + 5.0 * years
    assert np.sqrt(np.mean((estimate[500:] - truth[500:]) ** 2)) < 3.0  # sd of the score 8.7
    assert "profile_specialized_sme_years" not in FeatureSchema.of(frame).names
    assert "profile_age_years" in FeatureSchema.of(frame).names
    # the trained models: the snapshot has the columns, no model reads them
    snap = trained_world.snapshots(AS_OF)
    for tier in trained_world.results:
        names = ScoringModel.load(trained_world.registry.serving(tier)).schema.names
        assert {c for c in snap.columns if c.endswith("_sme_years")} == {
            "profile_tech_sme_years",
            "profile_innovative_sme_years",
            "profile_specialized_sme_years",
        }
        assert not [c for c in names if c.endswith("_sme_years") or c.endswith("giant_years")]


def test_quality_bar_sigma_is_measured_on_the_candidates_when_enough_are_published() -> None:
    # holders' scores are estimated closely, the candidates' (the companies a list goes
    # to) less so: the chance quoted for a candidate must carry the candidates' error
    rng = np.random.default_rng(5)
    score = rng.uniform(30, 80, 1000)
    error = np.where(np.arange(1000) < 800, rng.normal(0, 3.0, 1000), rng.normal(0, 7.0, 1000))
    frame = pd.DataFrame({SCORE_COLUMN: score, ESTIMATE_COLUMN: score + error})
    candidates = frame.iloc[800:]
    bar = QualityBar.fit(frame, 50.0, candidates=candidates)
    residual = candidates[ESTIMATE_COLUMN] - candidates[SCORE_COLUMN]
    assert bar.sigma == pytest.approx(float(np.sqrt((residual**2).mean())))
    assert 6.0 < bar.sigma < 8.0
    assert (bar.sigma_from, bar.evidence) == ("candidates", 200)
    # with every company's error, σ would be about 4.4: a candidate one σ of that above
    # the cut would be quoted 84% where its own error gives about 73%
    assert bar.sigma > QualityBar.fit(frame, 50.0).sigma + 1.5
    # fewer than 30 published among the candidates: every company's scores are used
    few = candidates.copy()
    few.loc[few.index[25:], SCORE_COLUMN] = np.nan
    fallback = QualityBar.fit(frame, 50.0, candidates=few)
    assert fallback == QualityBar.fit(frame, 50.0)
    assert (fallback.sigma_from, fallback.evidence) == ("all", 1000)


def test_score_is_the_booster_times_the_tiers_quality_bar(trained_world: TrainedWorld) -> None:
    w = trained_world
    snap = w.snapshots(AS_OF)
    cuts = {t.tier: t.value for t in w.criteria.thresholds if t.measure == SCORE_COLUMN}
    for tier, result in w.results.items():
        card_bar = result.card["quality_bar"]
        assert card_bar["cut"] == cuts[tier]
        assert card_bar["sigma"] > 0
        scorer = ScoringModel.load(w.registry.serving(tier))
        assert card_bar["sigma_from"] in {"candidates", "all"}
        assert card_bar["evidence"] >= 30
        assert scorer.bar == QualityBar(**{k: v for k, v in card_bar.items() if k != "rule"})
        x = snap[snap[ESTIMATE_COLUMN].notna()].head(300)
        np.testing.assert_allclose(scorer.raw(x), scorer.booster_raw(x) * scorer.bar(x))
        # a published score below the cut makes the company's score 0
        below = x[SCORE_COLUMN].fillna(0.0).lt(card_bar["cut"]) & x[SCORE_COLUMN].notna()
        assert below.any()
        assert (scorer.raw(x[below]) == 0).all()
        assert "booster_alone" in result.card["metrics"]
        assert "Quality bar" in w.registry.serving(tier).path.joinpath("card.md").read_text(
            encoding="utf-8"
        )


def test_a_model_registered_before_the_bar_scores_by_its_booster_alone(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    serving = trained_world.registry.serving("specialized_sme")
    bundle = json.loads((serving.path / "bundle.json").read_text(encoding="utf-8"))
    del bundle["quality_bar"]
    old = Registry(tmp_path / "old").register(
        "specialized_sme", serving.booster_path.read_text(encoding="utf-8"), bundle, ""
    )
    scorer = ScoringModel.load(old)
    x = trained_world.snapshots(AS_OF).head(200)
    assert scorer.bar == QualityBar()
    np.testing.assert_allclose(scorer.raw(x), scorer.booster_raw(x))


def test_calibration_keeps_no_chance_at_zero_and_fits_on_the_rest() -> None:
    rng = np.random.default_rng(5)
    raw = rng.uniform(0.05, 0.95, 400)
    labels = (rng.random(400) < raw).astype(int)
    fitted = Calibration.fit(raw, labels)
    assert fitted.fitted
    # rows without a chance (a published score below the bar) do not move the map ...
    with_zeros = Calibration.fit(np.r_[raw, np.zeros(50)], np.r_[labels, np.ones(50, int)])
    assert (with_zeros.a, with_zeros.b) == pytest.approx((fitted.a, fitted.b))
    # ... and read 0, while every other raw score keeps a probability strictly inside (0, 1)
    out = fitted(np.array([0.0, 1e-9, 0.5, 1.0]))
    assert out[0] == 0.0 and ((out[1:] > 0) & (out[1:] < 1)).all()


def test_calibration_of_a_small_round_bends_the_boosters_scale_without_flattening_it() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.1, 0.9, 4039)
    noise = (rng.random(4039) < 0.3).astype(int)  # decisions unrelated to the score
    # 39 such decisions (a little-giant round) cannot overturn the booster's order: a
    # plain logistic regression sets a slope near 0 there, a flat map
    small = Calibration.fit(raw[:39], noise[:39])
    assert 0.5 < small.a < 1.0
    # 4,000 of them can: the evidence outweighs the prior
    assert abs(Calibration.fit(raw, noise).a) < 0.2
    # a steep truth seen in 40 decisions steepens the map, short of what they alone say
    steep = (rng.random(40) < 1 / (1 + np.exp(-4 * np.log(raw[:40] / (1 - raw[:40]))))).astype(int)
    assert 1.1 < Calibration.fit(raw[:40], steep).a < 4.0
    # with plenty of evidence from an already calibrated score the map is about identity
    raw = rng.uniform(0.02, 0.98, 4000)
    identity = Calibration.fit(raw, (rng.random(4000) < raw).astype(int))
    assert identity.a == pytest.approx(1.0, abs=0.1) and identity.b == pytest.approx(0.0, abs=0.1)


def test_thresholds_of_unknown_status_cost_their_learned_chance(
    trained_world: TrainedWorld,
) -> None:
    w = trained_world
    model = ScoringModel.load(w.registry.serving("little_giant"))
    assert model.missing is not None
    assert "std_lg_revenue" in model.missing.statuses
    assert "std_lg_quality_score" not in model.missing.statuses  # the quality bar carries it
    x = w.snapshots(AS_OF).head(50).copy()
    x[list(model.missing.statuses)] = 1.0
    np.testing.assert_allclose(model.probability(x), model.calibration(model.raw(x)))
    x["std_lg_revenue"] = np.nan
    x["std_lg_niche_years"] = np.nan
    undiscounted = model.calibration(model.raw(x))
    assert (undiscounted > 0).any()
    chances = {c.status: c.predict(x) for c in model.missing.chances}
    expected = np.minimum(chances["std_lg_revenue"], chances["std_lg_niche_years"])
    assert ((expected > 0) & (expected < 1)).all()
    np.testing.assert_allclose(model.probability(x), undiscounted * expected)
    card = w.results["little_giant"].card["missing_figures"]
    assert {t["status"] for t in card["thresholds"]} == set(model.missing.statuses)
    rendered = (w.registry.serving("little_giant").path / "card.md").read_text(encoding="utf-8")
    assert "缺失数据的达标把握" in rendered and "`std_lg_revenue`" in rendered
    # the blank-figure evidence of every threshold is read from the rounds' approvals and
    # rejections and shown; the criteria file as shipped lets it lower the niche date's
    # chance alone
    approvals = sum(
        g["positives"]
        for r in w.results["little_giant"].card["train_rounds"]
        for src, g in r["by_source"].items()
        if src != "unlabeled"
    )
    for t in card["thresholds"]:
        assert t["approvals"] > 0 and 0 <= t["approvals_unknown"] <= t["approvals"]
        assert t["rejections"] > 0 and 0 <= t["rejections_unknown"] <= t["rejections"]
        assert 0 < t["missingness_ratio"] <= 1
        assert t["by_decisions"] == (t["status"] == "std_lg_niche_years")
    assert approvals <= card["thresholds"][0]["approvals"]  # validation round's too
    for c in model.missing.chances:
        assert c.by_decisions == (c.status == "std_lg_niche_years")
        assert c.factor == (c.evidence.ratio if c.by_decisions else 1.0)
    assert "odds ratio" in rendered
    # each classifier's recalibration is kept, and shown with its slope
    for c, t in zip(model.missing.chances, card["thresholds"], strict=True):
        if c.booster is not None:
            assert 0.0 <= c.calibration[1] <= 2.0
            assert t["calibration_slope"] == round(c.calibration[1], 3)
            assert f"recalibrated, slope {t['calibration_slope']:.2f}" in rendered


def test_models_registered_before_the_learned_chance_keep_the_flat_discount(
    trained_world: TrainedWorld,
) -> None:
    from discovery.missing_figures import UNVERIFIED_DISCOUNT

    model = ScoringModel.load(trained_world.registry.serving("little_giant"))
    model.missing = None  # as a bundle without `missing_figures` loads
    x = trained_world.snapshots(AS_OF).head(50).copy()
    x[list(model.unverified)] = 1.0
    x["std_lg_revenue"] = np.nan
    x["std_lg_niche_years"] = np.nan
    undiscounted = model.calibration(model.raw(x))
    np.testing.assert_allclose(model.probability(x), undiscounted * (1 - UNVERIFIED_DISCOUNT) ** 2)


def test_trees_are_chosen_by_early_stopping_and_the_serving_model_grows_as_many(
    trained_world: TrainedWorld,
) -> None:
    for result in trained_world.results.values():
        trees = result.card["trees"]
        assert trees["chosen_by"] == "early stopping"
        assert 1 <= trees["held_out_model"] <= trees["cap"] == model_module.NUM_ROUNDS
        # more examples (every round, no stopping slice) carry proportionally more trees
        assert trees["held_out_model"] < trees["serving_model"] <= trees["cap"] or (
            trees["held_out_model"] == trees["serving_model"] == trees["cap"]
        )
        assert result.card["params"]["num_rounds"] == trees["serving_model"]
        stored = model_module.lgb.Booster(model_file=str(result.model.booster_path))
        assert stored.current_iteration() == trees["serving_model"]


def _noise_and_signal(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])
    signal = (x["a"] + 0.5 * rng.normal(size=rows) > 1.0).to_numpy(dtype=float)
    return x, signal, np.ones(rows)


def test_early_stopping_stops_sooner_on_noise_than_on_signal() -> None:
    x, signal, w = _noise_and_signal(4000, 1)
    noise = np.random.default_rng(2).permutation(signal)
    on_noise = model_module.fit_model(x, noise, w, stop_early=True)
    on_signal = model_module.fit_model(x, signal, w, stop_early=True)
    assert on_noise.stopped_at is not None and on_signal.stopped_at is not None
    # nothing to learn: the held-aside log-loss is best after a few trees
    assert on_noise.stopped_at < 60 < on_signal.stopped_at
    assert on_noise.booster.current_iteration() == on_noise.stopped_at
    # a fixed number of trees is grown as given
    fixed = model_module.fit_model(x, signal, w, model_module.booster_params({"num_rounds": 7}))
    assert fixed.stopped_at is None and fixed.booster.current_iteration() == 7
    # a refit on more examples grows proportionally more trees, within the cap
    assert on_signal.rows == 4000 - 600
    grown = on_signal.trees_for(2 * on_signal.rows, 10_000)
    assert grown == 2 * on_signal.stopped_at
    assert on_signal.trees_for(2 * on_signal.rows, 50) == 50
    assert fixed.trees_for(10**6, 7) == 7


def test_the_stopping_slice_takes_a_share_of_each_label() -> None:
    y = np.array([1.0] * 40 + [0.0] * 960)
    fit, stop = model_module._stopping_split(y, 7)
    assert len(np.intersect1d(fit, stop)) == 0 and len(fit) + len(stop) == len(y)
    assert y[stop].sum() == 6 and (y[stop] == 0).sum() == 144
    # the same seed sets the same examples aside
    assert np.array_equal(stop, model_module._stopping_split(y, 7)[1])
    # a label too rare to share keeps every example for fitting
    fit, stop = model_module._stopping_split(np.array([1.0, 1.0] + [0.0] * 100), 7)
    assert len(stop) == 0 and len(fit) == 102


def test_training_rounds_hold_their_candidates_and_the_cache_few_snapshots(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    from discovery.snapshots import SUFFIX, SnapshotCache
    from discovery.training import collect_rounds

    w = trained_world
    cache = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    rounds = collect_rounds(w.store, "specialized_sme", AS_OF, w.criteria, snapshots=cache)
    assert len(rounds) >= 2
    for d in rounds:
        full = cache(d.round.as_of)
        # the candidates' rows only, identical to the snapshot's
        assert d.features.index.equals(d.examples.index)
        pd.testing.assert_frame_equal(d.features, full.loc[d.examples.index])
        # and every company's quality scores, for the quality bar
        assert d.quality_evidence.index.equals(full.index)
        assert list(d.quality_evidence.columns) == [SCORE_COLUMN, ESTIMATE_COLUMN]
        assert len(d.features) < len(full)
    # with a disk, memory keeps two snapshots; every date is on disk
    assert len(cache._frames) <= SnapshotCache.KEEP_WITH_DISK
    on_disk = sorted(p.stem for p in (tmp_path / "snaps").glob(f"*/*{SUFFIX}"))
    assert {d.round.as_of.isoformat() for d in rounds} <= set(on_disk)


def test_every_feature_a_reason_quotes_is_in_the_snapshot(trained_world: TrainedWorld) -> None:
    from discovery.explain import QUOTED_FEATURES

    snap = trained_world.snapshots(AS_OF)
    assert set(QUOTED_FEATURES) <= set(snap.columns)


def test_the_model_matrix_is_each_column_converted_alone_whatever_its_dtype() -> None:
    """Numpy numbers and flags are converted in one step, the others column by column:
    the matrix is the one a column-by-column conversion gives, in the schema's order; a
    category unseen in training reads as missing (without pandas' deprecated path)."""
    n = 7
    frame = pd.DataFrame(
        {
            "f64": np.linspace(-1.5, 3.25, n),
            "cat": pd.Categorical(["a", "b", None, "z", "a", "b", "a"]),  # z: unseen
            "i64": np.arange(n, dtype=np.int64) * 1_000_003,
            "f32": np.linspace(0.1, 0.7, n, dtype=np.float32),
            "flag": np.array([True, False] * 3 + [True]),
            "nullable": pd.array([1, None, 3, 4, None, 6, 7], dtype="Int64"),
            "maybe": pd.array([True, None, False, True, None, False, True], dtype="boolean"),
            "text": pd.array(["1.5", "x", None, "4", "5e3", "-2", ""], dtype="str"),
            "u8": np.arange(n, dtype=np.uint8),
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="uscc"),
    )
    names = ("i64", "cat", "text", "f32", "flag", "nullable", "maybe", "f64", "u8")
    kinds = tuple("category" if c == "cat" else "numeric" for c in names)
    schema = FeatureSchema(names, kinds, {"cat": ["a", "b"]})
    got = schema.matrix(frame)
    expected = pd.DataFrame(
        {
            c: pd.Categorical(["a", "b", None, None, "a", "b", "a"], categories=["a", "b"])
            if c == "cat"
            else pd.to_numeric(frame[c], errors="coerce").astype("float64")
            for c in names
        },
        index=frame.index,
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.columns) == list(names)
    assert got["cat"].isna().tolist() == [False, False, True, True, False, False, False]
    assert np.isnan(got["text"].iloc[1]) and got["text"].iloc[4] == 5000.0


def test_the_back_test_shift_reads_the_invited_and_leans_on_its_prior() -> None:
    from discovery.validation import back_test_shift

    rng = np.random.default_rng(4)
    calibrated = rng.uniform(0.4, 0.8, 400)
    chance = np.ones(400)
    # outcomes drawn at the chances themselves: no shift to speak of
    fair = (rng.random(400) < calibrated).astype(float)
    assert abs(back_test_shift(calibrated, chance, fair)) < 0.15
    # outcomes drawn one log-odds above the chances: the shift finds most of it
    above = (rng.random(400) < 1 / (1 + (1 - calibrated) / calibrated * np.exp(-1.0))).astype(float)
    many = back_test_shift(calibrated, chance, above)
    assert 0.6 < many < 1.2
    # four approvals of four barely move it; none, or a prior of 0, leave it at 0
    few = back_test_shift(calibrated[:4], chance[:4], np.ones(4))
    assert 0 < few < many
    assert back_test_shift(calibrated[:0], chance[:0], np.ones(0)) == 0.0
    # a published score below the bar (calibrated 0) says nothing
    assert back_test_shift(np.zeros(3), np.ones(3), np.ones(3)) == 0.0


def test_the_serving_chances_carry_the_invited_shift(trained_world: TrainedWorld) -> None:
    for tier, result in trained_world.results.items():
        shift = result.card["invited_population"]["model"]["shift"]
        scorer = ScoringModel.load(result.model)
        assert scorer.calibration.shift == pytest.approx(shift)
        held_out = Calibration(
            scorer.calibration.a, scorer.calibration.b - shift, scorer.calibration.fitted
        )
        raw = np.linspace(0.05, 0.95, 19)
        odds = np.log(scorer.calibration(raw) / (1 - scorer.calibration(raw)))
        base = np.log(held_out(raw) / (1 - held_out(raw)))
        np.testing.assert_allclose(odds - base, shift, atol=1e-9)
        card = (result.model.path / "card.md").read_text(encoding="utf-8")
        assert f"moved by {shift:+.2f} on the log-odds scale" in card, tier


def test_rounds_are_added_newest_first_until_they_hold_enough_approvals(
    trained_world: TrainedWorld,
) -> None:
    from discovery.labels import Round
    from discovery.training import ENOUGH_POSITIVES, select_rounds

    w = trained_world

    def chosen(enough: int) -> list[tuple[Round, int]]:
        picked = select_rounds(
            w.store, "specialized_sme", AS_OF, w.criteria, enough_positives=enough
        )
        return [
            (rnd, int(ex.loc[ex["source"] != "unlabeled", "label"].sum())) for rnd, ex in picked
        ]

    every = chosen(10**9)
    assert len(every) >= 3 and all(approved > 0 for _, approved in every)
    # one approval is enough: the newest round validates, the one before it trains
    assert chosen(1) == every[-2:]
    # one more than the newest training round holds: the round before it is added too
    assert chosen(every[-2][1] + 1) == every[-3:]
    assert chosen(every[-2][1]) == every[-2:]
    # the rule, with its number, is on the card
    card = w.results["specialized_sme"].card
    assert f"until they hold {ENOUGH_POSITIVES:,} approvals" in card["rounds_rule"]
