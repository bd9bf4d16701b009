"""One company's score taken apart: what each model input added, and the reasons beside it.

LightGBM's `pred_contrib` splits the booster's log-odds for a company into one share per
input plus a base value (the same for every company): `base_value` plus the
contributions is the booster's raw score. The list's probability then applies the
quality bar, the calibration and the discount for unknown thresholds (see
`discovery.model.ScoringModel`). The reasons are the sentences a ranked list prints for
the company (`discovery.explain`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from discovery.explain import reasons as explain_reasons
from discovery.measure_names import MEASURE_NAMES
from discovery.model import ScoringModel
from discovery.registry import RegisteredModel
from features.context import TablesAt
from features.registry import channel_of, family_of
from graph.errors import UsageError

#: rows shown when an explanation is printed
SHOWN = 10


@dataclass(repr=False)
class Explanation:
    """Per-feature contributions of one company's score, largest first, with its reasons.

    `frame` has one row per model input: `feature`, `name_zh` (where the criteria name
    the measure), `value`, `contribution` (log-odds), `family` and `channel`.
    """

    uscc: str
    tier: str
    as_of: date
    model_id: str
    frame: pd.DataFrame
    #: the booster's base log-odds (`pred_contrib`'s last column, the same for everyone)
    base_value: float
    #: the booster's log-odds for the company: `base_value + frame.contribution.sum()`
    margin: float
    #: the calibrated probability of approval, as the ranked list shows it
    probability: float
    reasons: list[str] = field(default_factory=list)

    def by_channel(self) -> pd.Series:
        """Contributions summed per reason channel, largest first."""
        return self.frame.groupby("channel")["contribution"].sum().sort_values(ascending=False)

    def _header(self) -> str:
        return (
            f"{self.uscc} · {self.tier} · {self.as_of} · {self.model_id}: probability "
            f"{self.probability:.1%}, log-odds {self.margin:+.3f} = base {self.base_value:+.3f} "
            f"+ contributions {self.margin - self.base_value:+.3f}"
        )

    def __repr__(self) -> str:
        top = self.frame.head(SHOWN)[["feature", "value", "contribution", "channel"]]
        lines = [self._header(), top.to_string(index=False)]
        lines += [f"理由 reason: {r}" for r in self.reasons]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        reasons = "".join(f"<li>{r}</li>" for r in self.reasons)
        table = self.frame.head(SHOWN * 2).to_html(index=False)
        return f"<p>{self._header()}</p><ul>{reasons}</ul>{table}"


def _family(column: str) -> str:
    try:
        return family_of(column)
    except UsageError:  # made downstream of the families (the quality-score estimate)
        return "derived"


def explain(
    registered: RegisteredModel,
    uscc: str,
    as_of: date,
    features: pd.DataFrame,
    tables: TablesAt,
) -> Explanation:
    """The contributions of `uscc`'s score under `registered` at `as_of`, with its reasons."""
    if uscc not in features.index:
        raise UsageError(f"There is no company {uscc} known at {as_of}.")
    model = ScoringModel.load(registered)
    x = features.loc[[uscc]]
    contrib = model.contributions(x)
    names = list(model.schema.names)
    share = contrib.iloc[0][names].to_numpy(dtype=float)
    order = np.argsort(-np.abs(share), kind="stable")
    frame = pd.DataFrame(
        {
            "feature": names,
            "name_zh": [MEASURE_NAMES.get(n, ("", ""))[0] for n in names],
            "value": x.iloc[0][names].astype(object).to_numpy(),
            "contribution": share,
            "family": [_family(n) for n in names],
            "channel": [channel_of(n) for n in names],
        }
    ).iloc[order]
    base = float(contrib.iloc[0]["bias"])
    why = explain_reasons(tables, x, contrib)[uscc].lines
    return Explanation(
        uscc,
        registered.tier,
        as_of,
        registered.model_id,
        frame.reset_index(drop=True),
        base,
        base + float(share.sum()),
        float(model.probability(x)[0]),
        why,
    )
