"""The ranked invitation list: gate → score → calibrated probability → thresholds → reasons.

Gates come first and are absolute: a company that already holds the tier or a
higher one, does not hold the rung below, is barred, or is large never appears.
The model then ranks the rest. Thresholds are checked per company and shown as
met / not met / unknown; a company that is known to miss one is not invited
(the model ranks, it never waives a threshold) and is counted in the summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from discovery.criteria import Criteria, Threshold
from discovery.explain import reasons as explain_reasons
from discovery.labels import gate
from discovery.listfile import write_list as write_list
from discovery.metrics import list_order
from discovery.missing_figures import MissingFigures
from discovery.model import ScoringModel, snapshot
from discovery.quality import ESTIMATE_COLUMN, SCORE_COLUMN, QualityBar
from discovery.registry import RegisteredModel, Registry
from discovery.standard_change import lift_texts
from discovery.standard_check import below_any_floor, floor_texts
from discovery.vocabulary import check_region, check_tier
from features.context import TablesAt
from graph.contract import TIER_NAMES_ZH
from graph.errors import UsageError
from graph.store import Store

BASE_COLUMNS = ["rank", "uscc", "name", "region_code", "industry_code", "tier", "score"]
STATUS_TEXT = {1.0: "达标 met", 0.0: "未达标 not met"}
UNKNOWN_TEXT = "未知 unknown"
#: per listed row, the companies its reasons name, as (code, text as written): for
#: masking by identity what a caller may not see; never written to a list file
MENTIONS = "reason_mentions"


@dataclass
class RankedList:
    tier: str
    as_of: date
    model_id: str
    frame: pd.DataFrame
    thresholds: list[Threshold]
    summary: dict[str, Any] = field(default_factory=dict)
    #: per row of `frame`, each threshold's status as data: met, not_met or unknown
    statuses: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the date the serving model was trained as of, and the criteria the checks read
    model_as_of: date | None = None
    criteria_version: str = ""


def threshold_status(features: pd.DataFrame, thresholds: list[Threshold]) -> pd.DataFrame:
    """Per company and threshold: 1 met, 0 not met, NaN unknown (from the `std_<id>` columns)."""
    return pd.DataFrame(
        {t.id: features[t.column].to_numpy(dtype=float) for t in thresholds},
        index=features.index,
    )


def _unknown_text(estimate: float, chance: float) -> str:
    parts = [] if np.isnan(estimate) else [f"估计 est. {estimate:.0f}"]
    parts += [] if np.isnan(chance) else [f"达标把握 chance {chance:.0%}"]
    return f"{UNKNOWN_TEXT} ({'，'.join(parts)})" if parts else UNKNOWN_TEXT


def _status_text(
    values: pd.Series, estimate: pd.Series | None = None, chance: np.ndarray | None = None
) -> pd.Series:
    text = values.map(STATUS_TEXT).astype(object)
    unknown = values.isna().to_numpy()
    none = np.full(len(values), np.nan)
    est = none if estimate is None else estimate.to_numpy(dtype=float)
    odds = none if chance is None else np.asarray(chance, dtype=float)
    text[unknown] = [_unknown_text(e, p) for e, p in zip(est[unknown], odds[unknown], strict=True)]
    return text


def check_texts(
    features: pd.DataFrame,
    thresholds: list[Threshold],
    bar: QualityBar | None = None,
    missing: MissingFigures | None = None,
) -> pd.DataFrame:
    """Per company and threshold, the check as the list shows it.

    `达标 met`, `未达标 not met` or `未知 unknown`. An unknown quality score shows our
    estimate and, given the model's quality bar, the chance that it clears the bar; any
    other unknown threshold shows the model's learned chance that it is met
    (`MissingFigures`), when the model has one.
    """
    status = threshold_status(features, thresholds)
    estimate = features.get(ESTIMATE_COLUMN)
    chance = bar(features) if bar is not None and bar.cut is not None else None
    if chance is not None:  # a chance is quoted beside its estimate only
        est = np.full(len(features), np.nan) if estimate is None else estimate.to_numpy(float)
        chance = np.where(np.isnan(est), np.nan, chance)
    learned = missing.per_threshold(features) if missing is not None else {}
    out = {}
    for t in thresholds:
        if t.measure == SCORE_COLUMN:
            out[t.id] = _status_text(status[t.id], estimate, chance).to_numpy()
        else:
            out[t.id] = _status_text(status[t.id], None, learned.get(t.column)).to_numpy()
    return pd.DataFrame(out, index=features.index)


STATUS_NAMES = {1.0: "met", 0.0: "not_met"}


def statuses(features: pd.DataFrame, thresholds: list[Threshold]) -> pd.DataFrame:
    """Per company and threshold, the status as data: `met`, `not_met` or `unknown`."""
    status = threshold_status(features, thresholds)
    return status.apply(lambda col: col.map(STATUS_NAMES).fillna("unknown")).astype(object)


def describe(
    tables: TablesAt,
    tier: str,
    model: ScoringModel,
    criteria: Criteria,
    x: pd.DataFrame,
    score: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The list's columns for the companies of `x` (in its order), and their statuses.

    The one place a listed row is made: `rank` calls it for the companies it lists
    and `Workspace.assess` for a company that is not on the list.
    """
    thresholds = list(criteria.thresholds_for(tier))
    companies = tables("companies").set_index("uscc")
    codes = x.index
    floors = list(model.floors) if criteria.empirical_floors.use != "ignore" else []
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, len(codes) + 1),
            "uscc": codes.to_numpy(dtype=object),
            "name": companies.loc[codes, "name"].to_numpy(dtype=object),
            "region_code": companies.loc[codes, "region_code"].to_numpy(dtype=object),
            "industry_code": companies.loc[codes, "industry_code"].to_numpy(dtype=object),
            "tier": tier,
            "score": np.round(score, 4),
            "size_class": companies.loc[codes, "size_class"].to_numpy(dtype=object),
        }
    )
    estimate = x.get(ESTIMATE_COLUMN)
    published = x[SCORE_COLUMN]
    texts = check_texts(x, thresholds, model.bar, model.missing)
    for t in thresholds:
        frame[f"check_{t.id}"] = texts[t.id].to_numpy()
    # the published score where there is one, our estimate elsewhere, and which it is
    shown = published.fillna(estimate) if estimate is not None else published
    frame["quality_score"] = np.round(shown.to_numpy(dtype=float), 1)
    frame["quality_score_source"] = np.where(
        published.notna().to_numpy(), "公布 published", "估计 estimated"
    )
    frame["floor_check"] = floor_texts(x, floors, criteria.empirical_floors.label_zh)
    if len(codes):
        why = explain_reasons(tables, x, model.contributions(x))
        lifted = lift_texts(x, model.lifts)
        frame["reasons"] = [
            "；".join([*([lift] if lift else []), *why[c].lines])
            for c, lift in zip(codes, lifted, strict=True)
        ]
        frame[MENTIONS] = [tuple(why[c].mentions) for c in codes]
    else:
        frame["reasons"] = pd.Series(dtype=object)
        frame[MENTIONS] = pd.Series(dtype=object)
    return frame, statuses(x, thresholds).reset_index(drop=True)


def rank(
    store: Store,
    tier: str,
    as_of: date,
    registry: Registry,
    criteria: Criteria,
    *,
    top: int = 100,
    region: str | None = None,
    features: pd.DataFrame | Callable[[], pd.DataFrame] | None = None,
    tables: TablesAt | None = None,
) -> RankedList:
    """The top `top` not-yet-certified companies for `tier` at `as_of`, best first.

    `features` is the snapshot at `as_of`, or a function giving it (called only once a
    model is known to serve); without it the snapshot is built here."""
    check_tier(tier)
    region = check_region(region)
    if top < 1:
        raise UsageError("top must be at least 1.")
    serving = registry.serving(tier)
    if serving is None:
        raise UsageError(
            f"No model serves {tier} yet; train one with "
            f"`discovery train --as-of {as_of.isoformat()} --tier {tier}`."
        )
    model = ScoringModel.load(serving)
    thresholds = list(criteria.thresholds_for(tier))
    tables = tables or TablesAt(store, as_of)

    gates = gate(store, tier, as_of, criteria)
    companies = tables("companies").set_index("uscc")
    eligible = gates.index[gates["eligible"].to_numpy()]
    if region:
        in_region = (
            companies.loc[eligible, "region_code"].str.startswith(region).to_numpy(dtype=bool)
        )
        eligible = eligible[in_region]
    if callable(features):
        snap = features()
    else:
        snap = features if features is not None else snapshot(store, as_of, criteria)
    x = snap.loc[eligible]
    misses = (threshold_status(x, thresholds) == 0).any(axis=1).to_numpy()
    # a company known to miss a threshold is never listed: only the others are scored
    score = np.full(len(x), np.nan)
    listable = np.flatnonzero(~misses)
    if len(listable):
        score[listable] = model.probability(x.iloc[listable])
    use = criteria.empirical_floors.use
    floors = list(model.floors) if use != "ignore" else []
    below = below_any_floor(x, floors)
    order = list_order(score, misses, below, use)[:top]
    frame, status = describe(tables, tier, model, criteria, x.iloc[order], score[order])
    summary = {
        "tier": tier,
        "tier_zh": TIER_NAMES_ZH[tier],
        "as_of": as_of.isoformat(),
        "region": region,
        "model_id": serving.model_id,
        "companies": len(gates),
        "gated_out": {
            "holds_tier_or_above": int(gates["holds_tier_or_above"].sum()),
            "not_on_rung_below": int((~gates["holds_rung_below"]).sum()),
            "barred": int(gates["barred"].sum()),
            "large": int(gates["large"].sum()),
        },
        "candidates": len(x),
        "known_to_miss_a_threshold": int(misses.sum()),
        "below_empirical_floor": int((below & ~misses).sum()),
        "empirical_floors": {
            "use": use,
            "floors": {f.measure: f.value for f in floors},
        },
        "listed": len(frame),
        "listed_with_visible_miss": int(misses[order].sum()),
        "listed_below_empirical_floor": int(below[order].sum()),
        "listed_scored_at_replaced_bar": sum(map(bool, lift_texts(x.iloc[order], model.lifts))),
        "not_on_file": not_on_file(store),
    }
    trained = serving.bundle.get("as_of")
    return RankedList(
        tier,
        as_of,
        serving.model_id,
        frame,
        thresholds,
        summary,
        status,
        model_as_of=date.fromisoformat(trained) if trained else None,
        criteria_version=criteria.version,
    )


#: the tables the gates and thresholds read: with none of their rows on file, what they
#: check cannot be checked (a threshold on them reads unknown, a gate on them bars no one)
CHECKED_TABLES = (
    "certifications",
    "compliance_events",
    "financials",
    "patents",
    "investments",
    "quality_scores",
)


def not_on_file(store: Store) -> list[str]:
    """The `CHECKED_TABLES` that hold no row at all: a list says so beside its counts."""
    counts = store.counts()
    return [name for name in CHECKED_TABLES if not counts.get(name)]


def assess(
    uscc: str,
    gates: pd.DataFrame,
    serving: RegisteredModel | None,
    ranked: Callable[[], RankedList],
    features: Callable[[], pd.DataFrame],
    tables: TablesAt,
    criteria: Criteria,
) -> dict[str, Any]:
    """One company for one tier: gates, and (if eligible) its row as the list shows it.

    Returns `eligible`, `gate` (flag per gate), `model_id`, and for an eligible company
    with a serving model `row` (the list's columns), `statuses` (per threshold: met,
    not_met or unknown) and `rank` (None when not listed). A company off the list is
    described by the same code as a listed one (`describe`).
    """
    flags = {k: bool(gates.at[uscc, k]) for k in gates.columns if k != "eligible"}
    flags["not_on_rung_below"] = not flags.pop("holds_rung_below")
    out: dict[str, Any] = {
        "eligible": bool(gates.at[uscc, "eligible"]),
        "gate": flags,
        "model_id": serving.model_id if serving else None,
        "rank": None,
        "row": None,
        "statuses": None,
    }
    if not out["eligible"] or serving is None:
        return out
    listed = ranked()
    hit = (listed.frame["uscc"] == uscc).to_numpy()
    if hit.any():
        at = int(hit.argmax())
        row, status = listed.frame.iloc[at], listed.statuses.iloc[at]
        out.update(rank=int(row["rank"]), row=row, statuses=status)
        return out
    # eligible but not listed: known to miss a threshold, or below the list's length
    x = features()
    model = ScoringModel.load(serving)
    frame, statuses = describe(tables, listed.tier, model, criteria, x, model.probability(x))
    out.update(row=frame.iloc[0], statuses=statuses.iloc[0])
    return out
