"""Bootstrap intervals, thin-evidence wording and the trailing-baseline warning, on rounds
made in code (no training), and how the card, the `train` lines and a model print them."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from discovery import intervals
from discovery.card import model_line, summary_lines
from discovery.criteria import default_criteria
from discovery.labels import Round, RoundData
from discovery.metrics import precision_recall_at, rules_score, thresholds_rule_score
from discovery.registry import Registry
from discovery.validation import (
    add_intervals,
    against_baselines,
    against_rules,
    baseline_scores,
    evaluate,
    promotion_message,
    trailing,
    warnings,
)

KS = (10, 25, 50, 100)


def scored(
    n: int, seed: int, signal: float = 1.0, rate: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and 0/1 outcomes: positives score `signal` higher on average."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < rate).astype(int)
    return y * signal + rng.normal(0.0, 1.0, n), y


def round_of(y: np.ndarray, decided: np.ndarray) -> RoundData:
    """A validation round whose rows `decided` are applications (approved when y=1)."""
    source = np.where(decided, "application", "unlabeled")
    examples = pd.DataFrame(
        {"label": y, "source": source, "as_of": pd.Timestamp("2024-12-31")},
        index=pd.Index([f"c{i}" for i in range(len(y))], name="uscc"),
    )
    return RoundData(Round(date(2024, 12, 31), date(2025, 12, 31)), examples, examples)


def test_intervals_hold_the_point_estimate_and_are_seeded() -> None:
    s, y = scored(2000, 1)
    point = precision_recall_at(s, y.astype(bool), KS)
    (draws,) = intervals.precision_draws([s], y, KS, seed=3)
    assert draws.shape == (intervals.RESAMPLES, len(KS))
    for i, k in enumerate(KS):
        lo, hi = intervals.percentile_interval(draws[:, i])
        assert lo <= point[str(k)]["precision"] <= hi and lo < hi
    auc = roc_auc_score(y, s)
    (aucs,) = intervals.auc_draws([s], y, seed=3)
    lo, hi = intervals.percentile_interval(aucs)
    assert lo < auc < hi
    # the same seed gives the same draws; another seed other draws
    np.testing.assert_array_equal(draws, intervals.precision_draws([s], y, KS, seed=3)[0])
    np.testing.assert_array_equal(aucs, intervals.auc_draws([s], y, seed=3)[0])
    assert not np.array_equal(draws, intervals.precision_draws([s], y, KS, seed=4)[0])


def test_intervals_narrow_with_more_data() -> None:
    def widths(n: int) -> tuple[float, float]:
        s, y = scored(n, 2)
        lo, hi = intervals.percentile_interval(intervals.auc_draws([s], y)[0])
        (draws,) = intervals.precision_draws([s], y, (n // 10,))
        p_lo, p_hi = intervals.percentile_interval(draws[:, 0])
        return hi - lo, p_hi - p_lo

    small, large = widths(500), widths(12_000)
    assert large[0] < small[0] / 3  # AUC: about 1/sqrt(40) as wide
    assert large[1] < small[1] / 3  # precision at the top decile


def test_the_poisson_bootstrap_agrees_with_resampling_rows() -> None:
    """The cheap form against the textbook one: draw row indices, recompute, take percentiles."""
    s, y = scored(1000, 5)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(s), size=(250, len(s)))
    aucs = [roc_auc_score(y[r], s[r]) for r in rows]
    precision = [y[r][np.argsort(-s[r], kind="stable")[:50]].mean() for r in rows]
    ours_auc = intervals.percentile_interval(intervals.auc_draws([s], y)[0])
    ours_p = intervals.percentile_interval(intervals.precision_draws([s], y, (50,))[0][:, 0])
    np.testing.assert_allclose(ours_auc, np.percentile(aucs, [2.5, 97.5]), atol=0.015)
    np.testing.assert_allclose(ours_p, np.percentile(precision, [2.5, 97.5]), atol=0.05)


def test_tied_scores_and_a_short_list() -> None:
    s, y = scored(800, 7)
    coarse = np.round(s)  # heavy ties: each counts half, as roc_auc_score counts them
    (draws,) = intervals.auc_draws([coarse], y)
    assert abs(np.mean(draws) - roc_auc_score(y, coarse)) < 0.01
    # a list longer than the round reads the whole resample, as precision_recall_at does
    (whole,) = intervals.precision_draws([s[:30]], y[:30], (100,))
    assert np.nanmean(whole[:, 0]) == pytest.approx(y[:30].mean(), abs=0.03)


@pytest.mark.parametrize(
    ("labels", "said"),
    [
        ([1] + [0] * 8, "证据不足 too few approvals (1 of 9) to judge"),
        ([1] * 10 + [0] * 10, "证据不足 too few decisions (20, 10 approved) to judge"),
        ([1] * 40, "证据不足 all 40 decisions were approvals: AUC undefined"),
        ([1] * 10 + [0] * 30, None),
    ],
)
def test_thin_evidence_is_said_plainly(labels: list[int], said: str | None) -> None:
    assert intervals.thin_evidence(np.array(labels)) == said


def card_of(model: np.ndarray, rules: np.ndarray, data: RoundData) -> dict:
    evals = {"model": evaluate(model, data, KS), "rules_baseline": evaluate(rules, data, KS)}
    gaps = against_rules(
        evals, add_intervals(evals, {"model": model, "rules_baseline": rules}, data)
    )
    m, r = evals.values()
    return {
        "tier": "little_giant",
        "tier_zh": '专精特新"小巨人"',
        "as_of": "2025-12-31",
        "validation_round": {
            "as_of": "2024-12-31",
            "window_end": "2025-12-31",
            "candidates": len(data.examples),
        },
        "metrics": {
            "primary": m["auc_direct_evidence"] or 0.0,
            "model": m,
            "rules_baseline": r,
            "model_vs_rules": gaps,
        },
        "warnings": warnings(evals, {"model_vs_rules": gaps}),
    }


def test_one_approval_among_nine_is_not_an_auc_of_one() -> None:
    y = np.array([1] + [0] * 8 + [0] * 200)
    decided = np.arange(len(y)) < 9
    model = -np.arange(len(y), dtype=float)  # the approval first: a "perfect" AUC
    card = card_of(model, np.zeros(len(y)), round_of(y, decided))
    assert card["metrics"]["model"]["auc_direct_evidence"] == 1.0
    lines = summary_lines(card)
    text = "\n".join(lines)
    assert "1.000" not in lines[1]
    assert "AUC (approved vs rejected): 证据不足 too few approvals (1 of 9) to judge" in text
    assert any(w.startswith("证据不足 too few approvals (1 of 9)") for w in card["warnings"])
    assert "注意 warning: 证据不足" in text


def test_a_model_trailing_the_rules_beyond_noise_is_warned_of() -> None:
    rng = np.random.default_rng(11)
    y = (rng.random(3000) < 0.1).astype(int)
    decided = rng.random(3000) < 0.2
    rules = y + rng.normal(0, 0.3, 3000)  # the baseline sees the outcome
    model = rng.normal(0, 1, 3000)  # the model does not
    data = round_of(y, decided)
    card = card_of(model, rules, data)
    gaps = card["metrics"]["model_vs_rules"]
    assert all(g["trails"] and g["difference_ci"][1] < 0 for g in gaps["precision"].values())
    assert gaps["auc_direct_evidence"]["trails"]
    assert trailing(card) == [*(f"precision@{k}" for k in KS), "AUC"]
    (warning,) = card["warnings"]
    assert warning.startswith("模型落后于规则基线 the model trails the rules baseline beyond noise")
    assert "precision@10" in warning and "AUC" in warning
    # every precision line carries both intervals
    shown = [line for line in summary_lines(card) if line.startswith("  precision@")]
    pattern = r"precision@\d+: \d\.\d{3} \[\d\.\d\d, \d\.\d\d\] \(rules \d\.\d{3} \[\d\.\d\d, \d\.\d\d\]\)"
    assert len(shown) == len(KS) and all(re.search(pattern, line) for line in shown)
    # the same scores on both sides never trail: the paired difference is exactly 0
    same = card_of(rules, rules, data)
    assert trailing(same) == [] and same["warnings"] == []


def card_with_thresholds(
    model: np.ndarray, rules: np.ndarray, thresholds: np.ndarray, data: RoundData
) -> dict:
    """A card whose model is set beside both baselines, as training sets it."""
    scorings = {"model": model, "rules_baseline": rules, "thresholds_rule": thresholds}
    evals = {name: evaluate(values, data, KS) for name, values in scorings.items()}
    gaps = against_baselines(evals, add_intervals(evals, scorings, data))
    card = card_of(model, rules, data)
    card["metrics"] |= {"thresholds_rule": evals["thresholds_rule"], **gaps}
    card["warnings"] = warnings(evals, gaps)
    return card


def test_a_model_trailing_the_thresholds_rule_is_warned_of_beside_the_rules_baseline(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(12)
    y = (rng.random(3000) < 0.1).astype(int)
    data = round_of(y, rng.random(3000) < 0.2)
    signal = y + rng.normal(0, 0.3, 3000)
    noise = rng.normal(0, 1, 3000)
    # the model sees some of the outcome: ahead of the rules baseline (noise), behind the
    # thresholds rule (which sees it better)
    model = y * 0.6 + rng.normal(0, 1, 3000)
    card = card_with_thresholds(model, noise, signal, data)
    m = card["metrics"]
    assert set(m) >= {"thresholds_rule", "model_vs_rules", "model_vs_thresholds_rule"}
    assert trailing(card) == []
    assert trailing(card, "thresholds_rule") == [*(f"precision@{k}" for k in KS), "AUC"]
    (warning,) = card["warnings"]
    assert warning.startswith(
        "模型落后于门槛规则 the model trails the thresholds-on-visible-data rule beyond noise"
    )
    text = "\n".join(summary_lines(card))
    pattern = (
        r"precision@10: \d\.\d{3} \[\d\.\d\d, \d\.\d\d\] \(rules \d\.\d{3} "
        r"\[\d\.\d\d, \d\.\d\d\]; thresholds rule \d\.\d{3} \[\d\.\d\d, \d\.\d\d\]\)"
    )
    assert re.search(pattern, text)
    assert re.search(r"AUC \(approved vs rejected\): .*\(rules .*; thresholds rule \d\.\d{3}", text)
    registry = Registry(tmp_path)
    bundle = {"metrics": m, "card": card, "as_of": "2025-12-31"}
    new = registry.register("little_giant", "booster", bundle, "")
    message = promotion_message(new, card, None, None)
    assert "it trails the thresholds-on-visible-data rule beyond noise (precision@10" in message
    assert "the criteria file read alone" in message and "trails the rules baseline" not in message
    # a card registered before the thresholds rule was compared reads as before
    old = card_of(model, noise, data)
    assert "thresholds rule" not in "\n".join(summary_lines(old))
    assert trailing(old, "thresholds_rule") == []


def test_promotion_says_why_and_what_the_card_warns_of(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    y = (rng.random(3000) < 0.1).astype(int)
    data = round_of(y, rng.random(3000) < 0.2)
    card = card_of(rng.normal(0, 1, 3000), y + rng.normal(0, 0.3, 3000), data)
    registry = Registry(tmp_path)
    bundle = {"metrics": card["metrics"], "card": card, "as_of": "2025-12-31"}
    new = registry.register("little_giant", "booster", bundle, "")
    first = promotion_message(new, card, None, None)
    assert first.startswith(f"{new.model_id} now serves little_giant: promoted because no model")
    assert "注意 warning: it trails the rules baseline beyond noise (precision@10" in first
    old = registry.register("little_giant", "booster", bundle, "")
    replacing = promotion_message(new, card, old, new.primary_metric - 0.1)
    assert f"the serving {old.model_id} scored no higher" in replacing
    forced = promotion_message(new, card, old, new.primary_metric + 0.1)
    assert "forced although the serving" in forced


def test_a_registered_model_prints_as_one_short_line(tmp_path: Path) -> None:
    s, y = scored(2000, 3)
    data = round_of(y, np.random.default_rng(3).random(2000) < 0.3)
    card = card_of(s, np.zeros(2000), data)
    schema = {"names": [f"feature_{i}" for i in range(135)], "kinds": [], "categories": {}}
    bundle = {"metrics": card["metrics"], "card": card, "as_of": "2025-12-31", "schema": schema}
    registry = Registry(tmp_path)
    model = registry.register("little_giant", "booster", bundle, "")
    text = repr(model)
    assert len(text) < 300 and "\n" not in text and "feature_1" not in text
    assert model.model_id in text and "as of 2025-12-31" in text and "未在用 not serving" in text
    assert re.search(r"AUC \d\.\d{3} \[\d\.\d\d, \d\.\d\d\]", text)
    registry.promote(model)
    assert "在用 serving" in str(model) and "未在用" not in str(model)
    assert str(model) == model_line(
        {**bundle, "model_id": model.model_id, "tier": "little_giant"}, True
    )


def test_poisson_counts_have_the_poisson_one_law() -> None:
    counts = intervals.poisson_counts(np.random.default_rng(0), (200, 5000)).ravel()
    assert counts.mean() == pytest.approx(1.0, abs=0.005)
    assert counts.var() == pytest.approx(1.0, abs=0.01)
    expected = [np.exp(-1.0) / np.prod(range(1, k + 1)) for k in range(5)]
    observed = np.bincount(counts.astype(int), minlength=5)[:5] / len(counts)
    np.testing.assert_allclose(observed, expected, atol=0.002)


def test_a_large_round_is_resampled_through_a_scaled_subsample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s, y = scored(30_000, 9, rate=0.05)
    point = roc_auc_score(y, s)
    (scaled,) = intervals.auc_draws([s], y, resamples=400)
    lo, hi = intervals.percentile_interval(scaled)
    monkeypatch.setattr(intervals, "MAX_ROWS", 10**6)  # every row drawn: the reference
    (full,) = intervals.auc_draws([s], y, resamples=400)
    ref_lo, ref_hi = intervals.percentile_interval(full)
    assert lo < point < hi
    assert (hi - lo) == pytest.approx(ref_hi - ref_lo, rel=0.2)
    assert abs((lo + hi) / 2 - (ref_lo + ref_hi) / 2) < 0.25 * (ref_hi - ref_lo)


def test_the_thresholds_rule_as_a_baseline_puts_visible_misses_last_and_keeps_its_order() -> None:
    criteria = default_criteria()
    ids = [t.id for t in criteria.thresholds_for("little_giant")]
    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame(
        {f"std_{t}": rng.choice([0.0, 1.0, np.nan], n, p=[0.05, 0.8, 0.15]) for t in ids}
    )
    frame["ip_class1_self_top3"] = rng.integers(0, 12, n).astype(float)
    frame["fin_revenue_latest_wan"] = np.where(rng.random(n) < 0.2, np.nan, rng.random(n) * 9e4)
    scores = baseline_scores(frame, criteria, "little_giant")
    np.testing.assert_array_equal(scores["rules_baseline"], rules_score(frame))
    rule = thresholds_rule_score(frame, ids)
    thresholds = scores["thresholds_rule"]
    missed = ~np.isfinite(rule)
    assert 0 < missed.sum() < n and np.isfinite(thresholds).all()
    assert (thresholds[missed] == -1.0).all() and (thresholds[~missed] >= 0.0).all()
    np.testing.assert_array_equal(thresholds[~missed], rule[~missed])
    # an AUC can be read from it (sklearn refuses infinite scores)
    assert 0.0 <= roc_auc_score(missed.astype(int), -thresholds) <= 1.0
