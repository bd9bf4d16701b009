"""The learned chance that a threshold whose figure is not on file is met."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from discovery.missing_figures import (
    MAX_SLOPE,
    MIN_APPROVALS,
    MIN_KNOWN,
    MissingFigures,
    MissingnessEvidence,
    decided_columns,
    held_back,
    recalibrated,
    recalibration_map,
)


def _candidates(n: int, seed: int = 0) -> pd.DataFrame:
    """Revenue bar met by large companies (staff tells size); statements on file for
    a random half; the revenue figure itself only where statements are on file."""
    rng = np.random.default_rng(seed)
    staff = rng.lognormal(4.0, 1.0, n)
    revenue = staff * rng.lognormal(3.0, 0.3, n)
    filed = rng.random(n) < 0.5
    met = np.where(revenue >= 5000, 1.0, 0.0)
    return pd.DataFrame(
        {
            "std_lg_revenue": np.where(filed, met, np.nan),
            "std_lg_niche_years": 1.0,
            "staff": staff,
            "fin_revenue": np.where(filed, revenue, np.nan),
            "patents": rng.poisson(3, n).astype(float),
        }
    )


def test_the_chance_follows_the_visible_facts_and_leaves_out_the_missing_figure() -> None:
    rows = _candidates(4000)
    statuses = ["std_lg_revenue", "std_lg_niche_years"]
    missing = MissingFigures.fit([rows.iloc[:2000], rows.iloc[2000:]], statuses, list(rows))
    revenue = dict(zip(missing.statuses, missing.chances, strict=True))["std_lg_revenue"]
    # the statements' own figure is missing wherever the status is: never an input
    assert revenue.inputs == ("staff", "patents")
    assert revenue.known == int(rows["std_lg_revenue"].notna().sum())
    fresh = _candidates(2000, seed=1)
    chance = missing.chance(fresh)
    unknown = fresh["std_lg_revenue"].isna().to_numpy()
    assert (chance[~unknown] == 1.0).all()  # everything known: the probability is kept
    big = fresh["staff"].to_numpy() > 500  # revenue about 10,000
    small = fresh["staff"].to_numpy() < 100  # revenue about 2,000
    assert chance[unknown & big].mean() > 0.8 > 0.1 > chance[unknown & small].mean()


def test_a_row_takes_the_smallest_chance_among_its_unknown_thresholds() -> None:
    rows = _candidates(3000)
    rng = np.random.default_rng(5)
    rows["std_lg_niche_years"] = np.where(rng.random(len(rows)) < 0.2, np.nan, 1.0)
    rows.loc[rows.index[:500], "std_lg_niche_years"] = 0.0
    statuses = ["std_lg_revenue", "std_lg_niche_years"]
    missing = MissingFigures.fit([rows], statuses, list(rows))
    per = {c.status: c.predict(rows) for c in missing.chances}
    unknown = rows[statuses].isna().to_numpy()
    expected = np.where(unknown, np.column_stack([per[s] for s in statuses]), 1.0).min(axis=1)
    np.testing.assert_allclose(missing.chance(rows), expected)


def test_thin_evidence_falls_back_to_the_share_met_and_survives_a_round_trip() -> None:
    rows = _candidates(3000)
    few = rows.copy()
    known = few.index[few["std_lg_revenue"].notna()]
    few.loc[known[MIN_KNOWN - 1 :], "std_lg_revenue"] = np.nan  # fewer than MIN_KNOWN known
    missing = MissingFigures.fit([few], ["std_lg_revenue"], list(few))
    (thin,) = missing.chances
    assert thin.booster is None and thin.known == MIN_KNOWN - 1
    assert missing.chance(few.head(5).assign(std_lg_revenue=np.nan)) == pytest.approx(
        (thin.met + 1) / (thin.known + 2)
    )
    learned = MissingFigures.fit([rows], ["std_lg_revenue"], list(rows))
    again = MissingFigures.from_json(learned.to_json())
    np.testing.assert_array_equal(again.chance(rows), learned.chance(rows))
    assert again.summary(rows)[0]["unknown_rows"] == int(rows["std_lg_revenue"].isna().sum())


def _rounds(blank_means_none: bool, n: int = 6000, seed: int = 2, applying_fills: bool = False):
    """Past rounds: a niche date blank for a third of the candidates, a quarter of whom
    applied, four in ten approved. Where a blank means "no niche market", a blank
    applicant is always rejected; where it is random, approved as often as anyone. With
    `applying_fills`, the application form fills the date in: no applicant has a blank."""
    rng = np.random.default_rng(seed)
    blank = rng.random(n) < 1 / 3
    applied = rng.random(n) < 0.25
    approved = applied & (rng.random(n) < 0.4)
    if blank_means_none:
        approved &= ~blank
    if applying_fills:
        blank &= ~applied
    frame = pd.DataFrame({"std_ss_niche_years": np.where(blank, np.nan, 1.0)})
    outcome = np.where(applied, approved.astype(float), np.nan)
    half = n // 2
    return [(frame.iloc[:half], outcome[:half]), (frame.iloc[half:], outcome[half:])]


def test_past_decisions_tell_a_blank_that_means_none_from_a_random_one() -> None:
    informative = MissingnessEvidence.read("std_ss_niche_years", _rounds(True))
    random_blank = MissingnessEvidence.read("std_ss_niche_years", _rounds(False))
    outcomes = np.concatenate([o for _, o in _rounds(True)])
    assert informative.approvals == int((outcomes == 1).sum())
    assert informative.rejections == int((outcomes == 0).sum())
    assert informative.approvals_unknown == 0 and informative.rejections_unknown > 100
    # odds of 0.5 / (approvals + 1) against odds of about 1/2 among the rejections
    assert informative.ratio < 0.01
    assert 0.7 < random_blank.ratio <= 1.0  # no sign: about 1, never above
    # a date the application form fills in is on file for every applicant: no sign,
    # where approvals against all candidates would have read one (a third blank)
    filled = MissingnessEvidence.read("std_ss_niche_years", _rounds(True, applying_fills=True))
    assert filled.approvals_unknown == filled.rejections_unknown == 0 and filled.ratio == 1.0
    assert MissingnessEvidence(MIN_APPROVALS - 1, 0, 1000, 300).ratio == 1.0  # few approvals
    assert MissingnessEvidence(1000, 0, MIN_APPROVALS - 1, 20).ratio == 1.0  # few rejections
    assert MissingnessEvidence(100, 90, 1000, 100).ratio == 1.0  # never raises a chance
    assert MissingnessEvidence.read("std_absent", _rounds(True)) == MissingnessEvidence()
    # evidence kept by bundles before it was read against rejections is not used
    old = {"approvals": 100, "approvals_unknown": 0, "candidates": 900, "candidates_unknown": 300}
    assert MissingnessEvidence.from_json(old) == MissingnessEvidence()


def test_the_evidence_lowers_the_chance_only_where_the_criteria_file_says_so() -> None:
    rows = _candidates(3000)
    rows["std_ss_niche_years"] = np.where(np.arange(len(rows)) % 3 == 0, np.nan, 1.0)
    rows.loc[rows.index[:300], "std_ss_niche_years"] = 0.0
    statuses = ["std_ss_niche_years"]
    rounds = _rounds(True)
    learned = MissingFigures.fit([rows], statuses, list(rows), rounds)
    by_decisions = MissingFigures.fit([rows], statuses, list(rows), rounds, {"std_ss_niche_years"})
    (plain,), (lowered,) = learned.chances, by_decisions.chances
    assert plain.evidence == lowered.evidence and plain.evidence.ratio < 0.01
    blank = rows["std_ss_niche_years"].isna().to_numpy()
    np.testing.assert_allclose(
        by_decisions.chance(rows)[blank], learned.chance(rows)[blank] * plain.evidence.ratio
    )
    assert (by_decisions.chance(rows)[~blank] == 1.0).all()
    # kept through the bundle, and a bundle from before the evidence reads as learned
    again = MissingFigures.from_json(by_decisions.to_json())
    np.testing.assert_array_equal(again.chance(rows), by_decisions.chance(rows))
    raw = by_decisions.to_json()
    for r in raw:
        r.pop("evidence"), r.pop("by_decisions")
    np.testing.assert_array_equal(MissingFigures.from_json(raw).chance(rows), learned.chance(rows))
    (line,) = by_decisions.summary(rows)
    assert line["by_decisions"] and line["approvals_unknown"] == 0
    # a third blank, all rejected, against 60 % of the other two thirds: 5/11 of rejections
    assert line["rejections_unknown"] / line["rejections"] == pytest.approx(5 / 11, abs=0.03)


def test_the_criteria_file_names_the_thresholds_the_decisions_may_count_against() -> None:
    from discovery.criteria import default_criteria

    criteria = default_criteria()
    # as shipped: the niche dates count by the decisions, every other figure as learned
    assert decided_columns(criteria, "specialized_sme") == {"std_ss_niche_years"}
    assert decided_columns(criteria, "little_giant") == {"std_lg_niche_years"}
    niche = [t for t in criteria.thresholds if t.id == "ss_niche_years"]
    edited = criteria.model_copy(
        update={
            "thresholds": tuple(
                t.model_copy(update={"when_unknown": "learned"}) if t in niche else t
                for t in criteria.thresholds
            )
        }
    )
    assert decided_columns(edited, "specialized_sme") == set()
    assert decided_columns(edited, "little_giant") == {"std_lg_niche_years"}


def test_thresholds_fitted_side_by_side_learn_the_trees_of_one_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from discovery import missing_figures

    rows = _candidates(5000, seed=3)
    rng = np.random.default_rng(6)
    rows["std_lg_niche_years"] = np.where(rng.random(len(rows)) < 0.3, np.nan, 1.0)
    rows.loc[rows.index[:900], "std_lg_niche_years"] = 0.0
    statuses = ["std_lg_revenue", "std_lg_niche_years"]
    assert missing_figures.FIT_THREADS >= 2 or (missing_figures.os.cpu_count() or 1) == 1
    side_by_side = MissingFigures.fit([rows], statuses, list(rows))
    monkeypatch.setattr(missing_figures, "FIT_THREADS", 1)
    monkeypatch.setitem(missing_figures.PARAMS, "num_threads", 2)
    one_at_a_time = MissingFigures.fit([rows], statuses, list(rows))

    def trees(m: MissingFigures) -> list[str]:
        return [c.booster.model_to_string().split("parameters:")[0] for c in m.chances if c.booster]

    assert len(trees(side_by_side)) == 2
    assert trees(side_by_side) == trees(one_at_a_time)


def test_one_frame_read_in_place_learns_what_its_rows_in_two_frames_learn(monkeypatch) -> None:
    """A single frame (a tier's candidates, keyed by credit code) is read where it lies,
    only the sampled rows taken out; the same rows handed over in two frames are copied
    and joined first. Both learn the same classifiers, and the frame is left as it was."""
    from discovery import missing_figures

    monkeypatch.setattr(missing_figures, "MAX_ROWS", 700)  # sample the known rows
    rows = _candidates(3000, seed=3)
    rows["std_lg_niche_years"] = np.where(np.arange(3000) % 7 == 0, np.nan, 1.0)
    rows.loc[rows.index[::11], "std_lg_niche_years"] = 0.0
    rows.index = pd.Index([f"9111{i:014d}" for i in range(len(rows))], name="uscc")
    rows["unused_text"] = "不是输入"
    before = rows.copy()
    statuses = ["std_lg_revenue", "std_lg_niche_years"]
    inputs = ["staff", "fin_revenue", "patents"]
    in_place = MissingFigures.fit([rows], statuses, inputs)
    joined = MissingFigures.fit([rows.iloc[:1234], rows.iloc[1234:]], statuses, inputs)
    assert [c.booster is not None for c in in_place.chances] == [True, True]
    assert in_place.to_json() == joined.to_json()
    pd.testing.assert_frame_equal(rows, before)
    for chance in in_place.chances:  # as every known row taken out, then sampled
        values = rows[chance.status].to_numpy(dtype=float)
        known = ~np.isnan(values)
        seen = rows.loc[~known, inputs].notna().mean()
        chosen = tuple(c for c in inputs if seen[c] >= missing_figures.SEEN_SHARE)
        x, y = rows.loc[known, list(chosen)].to_numpy(dtype=float), values[known]
        keep = np.sort(np.random.default_rng(0).choice(len(y), 700, replace=False))
        held = missing_figures.held_back(y[keep])
        assert held.sum() == 210  # 30 % held back to recalibrate
        data = lgb.Dataset(x[keep][~held], label=y[keep][~held])
        reference = lgb.train(missing_figures.PARAMS, data, missing_figures.ROUNDS)
        assert chance.inputs == chosen
        assert chance.booster.model_to_string() == reference.model_to_string()


def test_the_recalibration_map_recovers_a_logistic_map_and_keeps_its_slope_within_bounds() -> None:
    rng = np.random.default_rng(8)
    p = rng.uniform(0.02, 0.98, 40_000)
    z = np.log(p / (1 - p))
    y = (rng.random(len(p)) < 1 / (1 + np.exp(-(0.5 + 0.5 * z)))).astype(float)
    a, b = recalibration_map(p, y)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(0.5, abs=0.05)
    # a chance that runs against the outcome is noise: slope 0, the share met for all
    backwards = (rng.random(len(p)) < 1 - p).astype(float)
    a, b = recalibration_map(p, backwards)
    assert b == 0.0
    assert recalibrated(p, (a, b)) == pytest.approx(np.full(len(p), backwards.mean()), abs=1e-6)
    # an outcome the chance separates perfectly: the slope stops at its bound
    assert recalibration_map(p, (p > 0.5).astype(float))[1] == MAX_SLOPE
    np.testing.assert_array_equal(recalibrated(p, (0.0, 1.0)), p)  # (0, 1): as it is
    assert not held_back(np.r_[np.ones(100), np.zeros(20)]).any()  # too few of one class
    assert held_back(np.r_[np.ones(100), np.zeros(100)]).sum() == 60


def test_a_threshold_the_other_facts_cannot_tell_keeps_about_its_share_met() -> None:
    """Main-business share met by 80 % of candidates whatever their size: a classifier
    still spreads its chances, and a list would pick the companies it spread upward;
    recalibrated on the held-back rows the chance stays near the share met, while a
    threshold the facts do tell (revenue, by staff) keeps its spread."""
    rows = _candidates(8000, seed=4)
    rng = np.random.default_rng(9)
    filed = rows["std_lg_revenue"].notna().to_numpy()
    rows["std_lg_main_business_share"] = np.where(
        filed, (rng.random(len(rows)) < 0.8) * 1.0, np.nan
    )
    statuses = ["std_lg_revenue", "std_lg_main_business_share"]
    missing = MissingFigures.fit([rows], statuses, list(rows))
    revenue, share = missing.chances
    fresh = _candidates(4000, seed=5).assign(std_lg_main_business_share=np.nan)
    unknown = fresh["std_lg_revenue"].isna().to_numpy()
    raw = np.asarray(share.booster.predict(fresh[list(share.inputs)].to_numpy(dtype=float)))
    chance = share.predict(fresh)
    assert share.calibration[1] < 0.3 < 0.6 < revenue.calibration[1] <= MAX_SLOPE
    assert chance.std() < raw.std() / 3
    assert chance.mean() == pytest.approx(0.8, abs=0.03)
    assert np.quantile(chance, 0.9) < np.quantile(raw, 0.9)
    # the revenue chance still tells large companies from small ones
    big, small = fresh["staff"].to_numpy() > 500, fresh["staff"].to_numpy() < 100
    got = revenue.predict(fresh)
    assert got[unknown & big].mean() > 0.8 > 0.1 > got[unknown & small].mean()
    # kept through the bundle; a bundle from before the recalibration reads as it was
    again = MissingFigures.from_json(missing.to_json())
    np.testing.assert_array_equal(again.chance(fresh), missing.chance(fresh))
    old = missing.to_json()
    for r in old:
        r.pop("calibration")
    (_, before) = MissingFigures.from_json(old).chances
    np.testing.assert_allclose(before.predict(fresh), raw)
    assert missing.summary(fresh)[1]["calibration_slope"] == round(share.calibration[1], 3)
