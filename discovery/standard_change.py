"""A threshold the 2026 measures lowered, while the model learned from decisions under the old one.

The 2026 measures ask a specialized SME for a quality-evaluation score of 50; the 2022
interim measures they replace asked for 60. Every past round a model learns from was
decided under the old value, so the model has learned that a company scoring 55 is
rejected, and ranks such companies low, although they meet the standard in force. The
criteria file records the replaced value (`replaced` of a threshold). Where the past
decisions confirm it (the check names a bar they held above the file's value,
`ThresholdCheck.decided_bar`), the model scores a company between the two values as if
its figure stood at the old bar, the lowest figure those decisions approved without
doubt: its other strengths are judged as the reviewers judged them, and the standard is
neither lowered nor raised. Where the decisions show no such bar (a province that
already reviewed at the new value, or rounds under the new measures), nothing is lifted.
The list says so for every company scored this way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.standards import Condition, Op, stricter

if TYPE_CHECKING:
    from discovery.criteria import Criteria
    from discovery.standard_check import StandardCheck


@dataclass(frozen=True)
class Lift:
    """Figures of `measure` from the file's `value` up to `to` are scored as `to`."""

    threshold: str
    measure: str
    op: Op
    #: the value in force (the file's)
    value: float
    #: the value the file says it replaced, and the bar the past decisions held
    replaced: float
    decided: float
    #: where the figures are lifted to: the nearer of the two bars to the value in force
    to: float

    def applies(self, values: np.ndarray) -> np.ndarray:
        """Per figure: meets the value in force, but not the bar it is scored at (a figure
        already at that bar is not moved)."""
        meets = Condition(self.measure, self.op, self.value).status(values) == 1
        short = Condition(self.measure, self.op, self.to).status(values) == 0
        return meets & short & (np.asarray(values, dtype=float) != self.to)

    def apply(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        return np.where(self.applies(v), self.to, v)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lift:
        return cls(**data)

    def text(self) -> str:
        """One reason of the list and line of the card: Chinese, then English in brackets."""
        to, now, old, held = (
            f"{v:,.4g}" for v in (self.to, self.value, self.replaced, self.decided)
        )
        return (
            f"标准已下调：{self.threshold} 按原标准线{to}评分（现行{now}，原{old}，往年裁决{held}） "
            f"(scored as at the replaced bar of {to}: in force {now}, replaced {old}, "
            f"past decisions held {held})"
        )


def lifts_of(check: StandardCheck, criteria: Criteria, tier: str) -> tuple[Lift, ...]:
    """The lifts of `tier`: thresholds with a replaced value whose decisions held a bar
    beyond the value in force, in the replaced value's direction."""
    held = {t.id: t.decided_bar for t in check.thresholds if t.decided_bar is not None}
    out = []
    for t in criteria.thresholds_for(tier):
        decided = held.get(t.id)
        if t.replaced is None or decided is None:
            continue
        # the nearer of the two bars to the value in force
        to = t.replaced.value if stricter(t.op, decided, t.replaced.value) else decided
        if stricter(t.op, to, t.value):
            out.append(Lift(t.id, t.measure, t.op, t.value, t.replaced.value, decided, to))
    return tuple(out)


def lifted_inputs(matrix: pd.DataFrame, lifts: tuple[Lift, ...]) -> pd.DataFrame:
    """The model's inputs with each lifted measure's figures replaced (a new column;
    the caller's table is not changed)."""
    for lift in lifts:
        if lift.measure in matrix.columns:
            matrix[lift.measure] = lift.apply(matrix[lift.measure].to_numpy(dtype=float))
    return matrix


def lift_texts(frame: pd.DataFrame, lifts: tuple[Lift, ...]) -> list[str]:
    """Per row of a feature table: the lines of the lifts scored on it, joined ("" if none)."""
    lines: list[list[str]] = [[] for _ in range(len(frame))]
    for lift in lifts:
        if lift.measure not in frame.columns:
            continue
        # called for the rows of a list (a few hundred), never for every candidate
        for i in np.flatnonzero(lift.applies(frame[lift.measure].to_numpy(dtype=float))):
            lines[i].append(lift.text())
    return ["；".join(row) for row in lines]
