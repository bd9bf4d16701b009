"""Talent programmes: people active at `as_of` (joined on or before, not yet left), by level."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.common import codes_of, distinct_count_by
from features.context import Context
from graph.contract import LEVELS
from graph.store import active_at

PREFIX = "talent_"


def compute(ctx: Context) -> pd.DataFrame:
    tal = ctx.table("talents")
    n = ctx.n
    ids = ctx.ids("talents", "uscc")
    active = active_at(tal, "left_on", ctx.as_of)
    level = tal["level"].astype("str")
    person = codes_of(tal["person_id"])
    out: dict[str, np.ndarray] = {"active": distinct_count_by(ids, person, n, active)}
    for lv in LEVELS:
        out[f"active_{lv}"] = distinct_count_by(
            ids, person, n, active & (level == lv).to_numpy(dtype=bool)
        )
    out["ever"] = distinct_count_by(ids, person, n)
    out["programs"] = distinct_count_by(ids, codes_of(tal["program"]), n, active)
    out["left"] = out["ever"] - out["active"]
    return pd.DataFrame({PREFIX + k: v for k, v in out.items()})
