"""benchmarks/unknown_figures.py: the ways a company's unknown thresholds make one chance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks import unknown_figures as bench
from discovery.missing_figures import MissingFigures

STATUSES = ["std_lg_revenue", "std_lg_rd_two_years"]


def _candidates(n: int, seed: int = 0) -> pd.DataFrame:
    """Two thresholds read from one set of statements, on file for a random half: revenue
    of 2,000 and R&D of 500, R&D a fixed share of revenue, so that the first met implies
    the second (fully dependent); staff tells the size, loosely."""
    rng = np.random.default_rng(seed)
    staff = rng.lognormal(4.0, 1.0, n)
    revenue = staff * rng.lognormal(3.0, 0.8, n)
    filed = rng.random(n) < 0.5
    return pd.DataFrame(
        {
            "std_lg_revenue": np.where(filed, (revenue >= 2000).astype(float), np.nan),
            "std_lg_rd_two_years": np.where(filed, (0.3 * revenue >= 500).astype(float), np.nan),
            "staff": staff,
            "patents": rng.poisson(3, n).astype(float),
        },
        index=pd.Index([f"c{seed}-{i}" for i in range(n)], name="uscc"),
    )


def test_the_variants_combine_the_same_chances_and_today_s_rule_comes_back() -> None:
    rows = _candidates(4000)
    missing = MissingFigures.fit([rows], STATUSES, list(rows))
    per = missing.per_threshold(rows)
    stacked = np.column_stack([per[s] for s in STATUSES])
    smallest = np.where(np.isnan(stacked), 1.0, stacked).min(axis=1)
    product = np.where(np.isnan(stacked), 1.0, stacked).prod(axis=1)
    assert (product < smallest - 0.05).any()  # the two rules differ on these rows
    from discovery import missing_figures

    cap = missing_figures.MAX_ROWS
    with bench.patched("product", None, {}):
        np.testing.assert_allclose(missing.chance(rows), product)
    with bench.patched("smallest", 123, {}):
        assert missing_figures.MAX_ROWS == 123
        np.testing.assert_allclose(missing.chance(rows), smallest)
    # restored: today's rule and today's row cap
    np.testing.assert_allclose(missing.chance(rows), smallest)
    assert cap == missing_figures.MAX_ROWS


def test_the_joint_chance_learns_that_one_set_of_statements_goes_together() -> None:
    rows = _candidates(6000)
    missing = MissingFigures.fit([rows], STATUSES, list(rows))
    fresh = _candidates(3000, seed=1)
    unknown = fresh["std_lg_revenue"].isna().to_numpy()
    with bench.patched("joint", None, {"frame": rows}):
        joint = missing.chance(fresh)
    per = missing.per_threshold(fresh)
    product = np.where(np.isnan(per["std_lg_revenue"]), 1.0, per["std_lg_revenue"]) * np.where(
        np.isnan(per["std_lg_rd_two_years"]), 1.0, per["std_lg_rd_two_years"]
    )
    np.testing.assert_allclose(joint[~unknown], 1.0)  # everything on file: nothing taken
    # revenue met implies R&D met: "both met" is "revenue met" (learned from the same rows
    # and inputs, the same classifier), above the product of the two chances
    revenue = per["std_lg_revenue"][unknown].mean()
    assert abs(joint[unknown].mean() - revenue) < 0.02
    assert joint[unknown].mean() > product[unknown].mean() + 0.05
