"""The learned chance that a threshold whose figure is not on file is met."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from discovery.missing_figures import MIN_KNOWN, MissingFigures


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
