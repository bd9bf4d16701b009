"""Standards: the platform's quality score, and met / not met / unknown per official threshold.

The discovery layer turns the criteria file into `ThresholdSpec`s; this family only
compares a measure computed by the other families with the threshold value. A
missing measure (NaN) gives NaN: unknown, never "not met". Which measures can be
missing: financial ones when no accounts are known, the quality score when the
platform has none. Counts read from a registry (IP rights, qualified financing) are 0,
not unknown, for a company without rows there (see `features.ip`), but only while the
registry is on file: when its table holds no row known at the date (a province that
has not connected its patent or investment records), a count of 0 says nothing, and
every threshold on it is unknown rather than missed (`threshold_columns`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.common import last_by, take
from features.context import Context
from graph.contract import TIERS
from graph.errors import UsageError

PREFIX = "std_"
Op = Literal[">=", ">", "<=", "<"]
OPS: tuple[str, ...] = (">=", ">", "<=", "<")

#: measures a threshold may name (every one is a column of some family); the
#: empirical floors of `discovery.standard_check` are looked for on each of them
THRESHOLD_MEASURES: tuple[str, ...] = (
    "fin_revenue_latest_wan",
    "fin_rd_2y_wan",
    "fin_rd_expense_latest_wan",
    "fin_rd_ratio_latest",
    "fin_rd_ratio_2y",
    "fin_revenue_growth_1y",
    "fin_revenue_growth_2y",
    "fin_main_business_share",
    "fin_main_business_growth_2y",
    "fin_employees",
    "fin_rd_staff_share",
    "ip_class1_self_top3",
    "ip_class1_in_force",
    "ip_class2_in_force",
    "equity_financing_2y_wan",
    "profile_niche_years",
    "profile_age_years",
    "std_quality_score",
)
#: the name the criteria file refers to
MEASURES = THRESHOLD_MEASURES
#: threshold measures counted from a registry table: a company without rows there has
#: none, which is evidence only while the table holds some row known at the date
COUNTED_FROM: dict[str, str] = {
    "ip_class1_self_top3": "patents",
    "ip_class1_in_force": "patents",
    "ip_class2_in_force": "patents",
    "equity_financing_2y_wan": "investments",
}


@dataclass(frozen=True)
class Condition:
    """`measure op value`, e.g. `fin_revenue_latest_wan >= 1000`."""

    measure: str
    op: Op
    value: float

    def check(self, owner: str) -> None:
        if self.op not in OPS:
            raise UsageError(
                f"Threshold {owner}: the operator must be one of {', '.join(OPS)}, not {self.op!r}."
            )
        if self.measure not in THRESHOLD_MEASURES:
            raise UsageError(
                f"Threshold {owner}: unknown measure {self.measure!r}; "
                f"the measures are: {', '.join(THRESHOLD_MEASURES)}."
            )

    def status(self, measure: np.ndarray) -> np.ndarray:
        """1.0 met, 0.0 not met, NaN unknown (measure missing)."""
        values = np.asarray(measure, dtype="float64")
        with np.errstate(invalid="ignore"):
            met = {
                ">=": values >= self.value,
                ">": values > self.value,
                "<=": values <= self.value,
                "<": values < self.value,
            }[self.op]
        return np.where(np.isnan(values), np.nan, met.astype("float64"))


def stricter(op: str, a: float, b: float) -> bool:
    """Whether a bar at `a` asks more than one at `b` under `op` (higher for `>=`/`>`)."""
    return a > b if op in (">=", ">") else a < b


def all_met(statuses: Sequence[np.ndarray]) -> np.ndarray:
    """A path of conditions: not met if any is not met, met if all are, else unknown."""
    stack = np.vstack(statuses)
    return np.where((stack == 0).any(axis=0), 0.0, np.where((stack == 1).all(axis=0), 1.0, np.nan))


def any_met(statuses: Sequence[np.ndarray]) -> np.ndarray:
    """Alternative paths: met if any is met, not met if all are not, else unknown."""
    stack = np.vstack(statuses)
    return np.where((stack == 1).any(axis=0), 1.0, np.where((stack == 0).all(axis=0), 0.0, np.nan))


@dataclass(frozen=True)
class ThresholdSpec:
    """One official threshold for companies aiming at `tier`: `measure op value`, or any
    one of the `alternatives` (each a path of conditions that must all hold)."""

    id: str
    tier: str
    measure: str
    op: Op
    value: float
    alternatives: tuple[tuple[Condition, ...], ...] = ()

    def __post_init__(self) -> None:
        self.primary.check(self.id)
        for path in self.alternatives:
            if not path:
                raise UsageError(f"Threshold {self.id}: an alternative path names no condition.")
            for cond in path:
                cond.check(self.id)
        if self.tier not in TIERS:
            raise UsageError(f"Threshold {self.id}: unknown tier {self.tier!r}.")

    @property
    def primary(self) -> Condition:
        return Condition(self.measure, self.op, self.value)

    @property
    def paths(self) -> tuple[tuple[Condition, ...], ...]:
        return ((self.primary,), *self.alternatives)

    @property
    def measures(self) -> tuple[str, ...]:
        """Every measure the threshold reads, primary first, without repeats."""
        return tuple(dict.fromkeys(c.measure for path in self.paths for c in path))

    @property
    def column(self) -> str:
        return f"{PREFIX}{self.id}"

    def status(self, measure: np.ndarray | Mapping[str, np.ndarray]) -> np.ndarray:
        """1.0 met, 0.0 not met, NaN unknown, from the primary measure's values or, with
        alternatives, from a mapping of every measure the threshold reads."""
        values = measure if isinstance(measure, Mapping) else {self.measure: measure}
        return any_met([all_met([c.status(values[c.measure]) for c in p]) for p in self.paths])


def compute_quality(ctx: Context) -> pd.DataFrame:
    """Latest quality score computed on or before `as_of`, and the fiscal year it evaluates."""
    qs = ctx.table("quality_scores")
    ids = ctx.ids("quality_scores", "uscc")
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
    specs: Sequence[ThresholdSpec],
    measures: Mapping[str, np.ndarray],
    unfiled: Collection[str] = (),
) -> pd.DataFrame:
    """One status column per threshold. A measure counted from a registry named in
    `unfiled` (tables holding no row known at the date) reads as unknown: its zeros
    would otherwise be visible misses of every company."""
    blank = {m for m, table in COUNTED_FROM.items() if table in unfiled and m in measures}
    if blank:
        measures = {m: np.full(len(v), np.nan) if m in blank else v for m, v in measures.items()}
    return pd.DataFrame({spec.column: spec.status(measures) for spec in specs})
