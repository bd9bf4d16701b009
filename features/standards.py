"""Standards: the platform's quality score, and met / not met / unknown per official threshold.

The discovery layer turns the criteria file into `ThresholdSpec`s; this family only
compares a measure computed by the other families with the threshold value. A
missing measure (NaN) gives NaN: unknown, never "not met". Which measures can be
missing: financial ones when no accounts are known, the quality score when the
platform has none; IP counts are 0, not unknown (see `features.ip`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.common import last_by, take
from features.context import Context
from graph.contract import TIERS
from graph.errors import UsageError

PREFIX = "std_"
Op = Literal[">=", ">"]

#: measures a threshold may name (every one is a column of some family)
THRESHOLD_MEASURES: tuple[str, ...] = (
    "fin_revenue_latest_wan",
    "fin_rd_2y_wan",
    "fin_rd_expense_latest_wan",
    "fin_rd_ratio_latest",
    "fin_revenue_growth_1y",
    "fin_revenue_growth_2y",
    "fin_main_business_share",
    "fin_employees",
    "fin_rd_staff_share",
    "ip_class1_self_top3",
    "ip_class1_in_force",
    "ip_class2_in_force",
    "profile_niche_years",
    "profile_age_years",
    "std_quality_score",
)
#: the name the criteria file refers to
MEASURES = THRESHOLD_MEASURES


@dataclass(frozen=True)
class ThresholdSpec:
    """One official threshold: `measure op value` for companies aiming at `tier`."""

    id: str
    tier: str
    measure: str
    op: Op
    value: float

    def __post_init__(self) -> None:
        if self.op not in (">=", ">"):
            raise UsageError(
                f"Threshold {self.id}: the operator must be '>=' or '>', not {self.op!r}."
            )
        if self.measure not in THRESHOLD_MEASURES:
            raise UsageError(
                f"Threshold {self.id}: unknown measure {self.measure!r}; "
                f"the measures are: {', '.join(THRESHOLD_MEASURES)}."
            )
        if self.tier not in TIERS:
            raise UsageError(f"Threshold {self.id}: unknown tier {self.tier!r}.")

    @property
    def column(self) -> str:
        return f"{PREFIX}{self.id}"

    def status(self, measure: np.ndarray) -> np.ndarray:
        """1.0 met, 0.0 not met, NaN unknown (measure missing)."""
        values = np.asarray(measure, dtype="float64")
        met = values >= self.value if self.op == ">=" else values > self.value
        return np.where(np.isnan(values), np.nan, met.astype("float64"))


def compute_quality(ctx: Context) -> pd.DataFrame:
    """Latest quality score computed on or before `as_of`, and the fiscal year it evaluates."""
    qs = ctx.table("quality_scores")
    ids = ctx.company_ids(qs["uscc"])
    computed = qs["computed_on"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    year = qs["year"].to_numpy(dtype="float64", na_value=np.nan)
    # latest by computation date, then by fiscal year
    last = last_by(ids, computed.astype("float64") * 1e4 + np.nan_to_num(year), ctx.n)
    return pd.DataFrame(
        {
            PREFIX + "quality_score": take(qs["score"].to_numpy(dtype="float64"), last),
            PREFIX + "quality_year": take(year, last),
        }
    )


def threshold_columns(
    specs: Sequence[ThresholdSpec], measures: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    return pd.DataFrame({spec.column: spec.status(measures[spec.measure]) for spec in specs})
