"""benchmarks/quality_bar.py: σ from the scores published after a round."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks import quality_bar as bench
from discovery.quality import ESTIMATE_COLUMN, SCORE_COLUMN

STATUSES = ["std_lg_revenue", "std_lg_niche_years"]


def test_later_errors_are_past_estimates_against_scores_published_after_them() -> None:
    codes = pd.Index([f"C{i}" for i in range(6)], name="uscc")
    then = pd.DataFrame(
        {
            SCORE_COLUMN: [np.nan, np.nan, np.nan, 55.0, np.nan, np.nan],
            ESTIMATE_COLUMN: [50.0, 60.0, 40.0, 52.0, np.nan, 58.0],
            "std_lg_revenue": [1.0, np.nan, 0.0, 1.0, 1.0, 1.0],
            "std_lg_niche_years": [np.nan, 1.0, 1.0, 1.0, 1.0, 1.0],
        },
        index=codes,
    )
    # published later: C0 and C1; C2 visibly missed revenue, C3 was published already,
    # C4 had no estimate; C5 is not published yet; C9 was no candidate
    after = pd.DataFrame(
        {SCORE_COLUMN: [57.0, 54.0, 70.0, 56.0, 61.0, np.nan, 80.0]},
        index=pd.Index([*codes[:5], "C5", "C9"], name="uscc"),
    )
    got = bench.later_errors([(then, after.iloc[::-1])], STATUSES)
    assert got.tolist() == [7.0, -6.0]  # whatever the later frame's order
    # a threshold the list does not check does not exclude C2
    assert bench.later_errors([(then, after)], ["std_lg_niche_years"]).tolist() == [7.0, -6.0, 30.0]
    assert bench.later_errors([(then, after)] * 2, STATUSES).tolist() == [7.0, -6.0] * 2
    assert bench.later_errors([], STATUSES).size == 0
