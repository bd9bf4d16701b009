"""Evaluation on past rounds: compare models against the rules baseline, replay rounds.

Evaluations never score a round with a model that learned its outcomes: `compare`
refuses such a model, and `backtest` trains a fresh model per round from the facts
known at the round's start. The `Workspace` methods of the same names call these.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from discovery.criteria import Criteria
from discovery.intervals import (
    percentile_band,
    precision_draws,
    proportion_interval,
    thin_evidence,
)
from discovery.labels import Round, past_rounds, rows_of
from discovery.metrics import BASELINES
from discovery.model import ScoringModel
from discovery.registry import RegisteredModel, Registry
from discovery.snapshots import SnapshotCache
from discovery.training import DEFAULT_ROUNDS, RoundData, TrainResult
from discovery.validation import add_intervals, baseline_scores, evaluate, primary_metric
from discovery.vocabulary import DateLike, check_tier, decision_date
from graph.errors import UsageError
from graph.store import Store

#: a model to compare: "serving", a model id, a registered model, or a fresh training result
ModelRef = str | RegisteredModel | TrainResult


class Source(Protocol):
    """What an evaluation needs of the workspace."""

    criteria: Criteria

    @property
    def store(self) -> Store: ...

    @property
    def snapshot_cache(self) -> SnapshotCache: ...

    def snapshots(self, as_of: date) -> pd.DataFrame: ...

    def examples(self, tier: str, rnd: Round) -> pd.DataFrame: ...

    def resolve(self, ref: ModelRef, tier: str | None) -> RegisteredModel: ...


__all__ = ["RULES", "THRESHOLDS", "Backtest", "Comparison", "backtest", "compare"]

#: the baselines' columns: the rules baseline (class-I IP, then revenue) and the
#: thresholds-on-visible-data rule (the criteria file alone)
RULES = BASELINES["rules_baseline"].short
THRESHOLDS = BASELINES["thresholds_rule"].short
BASELINE_COLUMNS = (RULES, THRESHOLDS)


@dataclass
class Comparison:
    """Models and the two baselines (`RULES`, `THRESHOLDS`) scored on the same past round
    (never trained on).

    `scores` holds one row per candidate of the round (label, source, one column per
    model); `precision` and `recall` are indexed by K (1…), `precision_low` and
    `precision_high` bound precision's 95 % bootstrap interval at each K; `summary` has
    one row per model with AUCs and precision, recall and lift at the list size `top`,
    each interval as `…_low` and `…_high`. `thin` says, in words, when the round holds
    too few decisions to judge by (its AUCs are then left out of `summary`).
    """

    tier: str
    round: Round
    top: int
    scores: pd.DataFrame
    precision: pd.DataFrame
    recall: pd.DataFrame
    summary: pd.DataFrame
    precision_low: pd.DataFrame
    precision_high: pd.DataFrame
    thin: str | None = None

    @property
    def lift(self) -> pd.DataFrame:
        """Precision@K of every model divided by the rules baseline's (NaN where it is 0)."""
        base = self.precision[RULES].replace(0.0, np.nan)
        models = self.precision.drop(columns=[*BASELINE_COLUMNS], errors="ignore")
        return models.div(base, axis=0)

    @property
    def best(self) -> str:
        """The model (not a baseline) with the highest primary metric on the round."""
        models = self.summary.drop(index=[*BASELINE_COLUMNS], errors="ignore")
        return str(models["primary"].astype(float).idxmax())


@dataclass
class Backtest:
    """Per past round: the list a model trained then would have produced, against what happened.

    `rounds` has one row per round (candidates, certified, hits and recall of the
    top K, the rules baseline's, and how many listed and certified companies had
    never been on an earlier list; precision and recall with the bounds of their 95 %
    bootstrap intervals as `…_low`, `…_high`); `lists` holds each round's ranked list.
    """

    tier: str
    top: int
    rounds: pd.DataFrame
    lists: dict[date, pd.DataFrame] = field(default_factory=dict)


def compare(
    ws: Source,
    tier: str,
    as_of: DateLike,
    models: Sequence[ModelRef] = ("serving",),
    *,
    max_k: int = 200,
) -> Comparison:
    """Score `models` and the baselines on the last round that ended by `as_of`.

    A model trained on that round's outcomes cannot be compared on it: pass the
    `TrainResult` of a fresh training (its held-out scores are used) or compare
    as of a later date.
    """
    check_tier(tier)
    if max_k < 1:
        raise UsageError("max_k must be at least 1.")
    if isinstance(models, str | RegisteredModel | TrainResult):
        models = [models]
    rnd = past_rounds(decision_date(as_of), 1)[0]
    data = RoundData(rnd, ws.examples(tier, rnd), ws.snapshots(rnd.as_of))
    if len(data.examples) == 0:
        raise UsageError(f"The round {rnd.as_of} → {rnd.window_end} has no {tier} candidates.")
    scores = data.examples[["label", "source"]].copy()
    for ref in models:
        name, values = _held_out_scores(ws, ref, tier, data)
        scores[name] = values
    baselines = baseline_scores(data.candidates, ws.criteria, tier)
    scores[RULES] = baselines["rules_baseline"]
    scores[THRESHOLDS] = baselines["thresholds_rule"]
    top = ws.criteria.default_top(tier)
    return _comparison(tier, rnd, top, scores, max_k)


def backtest(
    ws: Source,
    tier: str,
    as_of: DateLike,
    *,
    top: int | None = None,
    rounds: int = 3,
    train_rounds: int = DEFAULT_ROUNDS,
) -> Backtest:
    """Replay the last `rounds` rounds: list the top `top` at each round's start, then check.

    For each round a fresh model is trained from the facts known at its start
    (never registered), the list is made as `rank` makes it (gates, thresholds),
    and the list is checked against who was certified in the round. "New" counts
    companies never on an earlier list of this backtest nor invited before.
    Rounds without enough evidence to train on are kept with a `note`.
    """
    from discovery.ranking import rank, threshold_status
    from discovery.training import NotEnoughEvidence, train_tier

    check_tier(tier)
    top = top or ws.criteria.default_top(tier)
    if top < 1 or rounds < 1:
        raise UsageError("top and rounds must be at least 1.")
    rows: list[dict[str, Any]] = []
    lists: dict[date, pd.DataFrame] = {}
    earlier: set[str] = set()
    thresholds = list(ws.criteria.thresholds_for(tier))
    for rnd in past_rounds(decision_date(as_of), rounds):
        ex = ws.examples(tier, rnd)
        certified = set(ex.index[(ex["label"] == 1).to_numpy()])
        invited = ws.store.read("invitations", rnd.as_of)
        earlier |= set(invited.loc[invited["tier"] == tier, "uscc"].astype("str"))
        row: dict[str, Any] = {
            "round": rnd.as_of,
            "window_end": rnd.window_end,
            "candidates": len(ex),
            "certified": len(certified),
        }
        with tempfile.TemporaryDirectory(prefix="backtest-") as tmp:
            registry = Registry(Path(tmp))
            try:
                train_tier(
                    ws.store,
                    tier,
                    rnd.as_of,
                    ws.criteria,
                    registry,
                    n_rounds=train_rounds,
                    snapshots=ws.snapshot_cache,
                )
            except NotEnoughEvidence as exc:
                rows.append({**row, "note": str(exc)})
                continue
            ranked = rank(
                ws.store,
                tier,
                rnd.as_of,
                registry,
                ws.criteria,
                top=top,
                features=ws.snapshots(rnd.as_of),
            )
        listed = list(ranked.frame["uscc"])
        hits = [c for c in listed if c in certified]
        x = rows_of(ws.snapshots(rnd.as_of), ex.index)
        invitable = ~(threshold_status(x, thresholds) == 0).any(axis=1).to_numpy()
        rules_scores = _rules(x)[invitable]
        rules_top = x.index[invitable][np.argsort(-rules_scores, kind="stable")[:top]]
        row.update(
            listed=len(listed),
            hits=len(hits),
            precision=len(hits) / len(listed) if listed else np.nan,
            recall=len(hits) / len(certified) if certified else np.nan,
            rules_hits=len(certified.intersection(rules_top)),
            rules_recall=(
                len(certified.intersection(rules_top)) / len(certified) if certified else np.nan
            ),
            new_listed=sum(c not in earlier for c in listed),
            new_hits=sum(c not in earlier for c in hits),
            note="",
        )
        on_list, by_rules = set(listed), set(rules_top)
        row.update(
            _bounds("precision", [c in certified for c in listed])
            | _bounds("recall", [c in on_list for c in certified])
            | _bounds("rules_recall", [c in by_rules for c in certified])
        )
        rows.append(row)
        lists[rnd.as_of] = ranked.frame.assign(certified=[c in certified for c in listed])
        earlier |= set(listed)
    return Backtest(tier, top, pd.DataFrame(rows).set_index("round"), lists)


def _bounds(name: str, flags: list[bool]) -> dict[str, float]:
    """`name_low`, `name_high`: the 95 % bootstrap interval of a share (NaN if empty)."""
    ci = proportion_interval(np.array(flags, dtype=bool))
    return {f"{name}_low": ci[0] if ci else np.nan, f"{name}_high": ci[1] if ci else np.nan}


def _held_out_scores(
    ws: Source, ref: ModelRef, tier: str, data: RoundData
) -> tuple[str, np.ndarray]:
    """A model's scores on the round's candidates, refusing a model that saw the round."""
    model = ws.resolve(ref, tier)
    if model.tier != tier:
        raise UsageError(f"{model.model_id} is a {model.tier} model, not {tier}.")
    if isinstance(ref, TrainResult) and ref.validation is not None:
        valid_as_of = ref.card["validation_round"]["as_of"]
        if valid_as_of == data.round.as_of.isoformat():
            raw = ref.validation["raw"].reindex(data.examples.index)
            return model.model_id, raw.to_numpy(dtype=float)
    trained_as_of = date.fromisoformat(model.bundle["as_of"])
    if trained_as_of > data.round.as_of:
        raise UsageError(
            f"{model.model_id} learned from outcomes up to {trained_as_of}, which include the round "
            f"{data.round.as_of} → {data.round.window_end}; compare it as of a later date, or pass "
            "the TrainResult of the training to use its held-out scores."
        )
    return model.model_id, ScoringModel.load(model).raw(data.candidates)


def _rules(features: pd.DataFrame) -> np.ndarray:
    from discovery.metrics import rules_score

    return rules_score(features)


def _comparison(tier: str, rnd: Round, top: int, scores: pd.DataFrame, max_k: int) -> Comparison:
    positive = (scores["label"] == 1).to_numpy()
    names = [c for c in scores.columns if c not in ("label", "source")]
    ks = np.arange(1, min(max_k, len(scores)) + 1)
    data = RoundData(rnd, scores[["label", "source"]], scores)  # evaluate reads the labels only
    precision: dict[str, np.ndarray] = {}
    recall: dict[str, np.ndarray] = {}
    low: dict[str, np.ndarray] = {}
    high: dict[str, np.ndarray] = {}
    summary: dict[str, dict[str, Any]] = {}
    scorings = {name: scores[name].to_numpy(dtype=float) for name in names}
    evals = {name: evaluate(values, data, (top,)) for name, values in scorings.items()}
    add_intervals(evals, scorings, data)
    bands = precision_draws(list(scorings.values()), positive, ks)
    for name, band in zip(names, bands, strict=True):
        values = scorings[name]
        hits = np.cumsum(positive[np.argsort(-values, kind="stable")])[ks - 1]
        precision[name] = hits / ks
        recall[name] = hits / positive.sum() if positive.any() else np.full(len(ks), np.nan)
        low[name], high[name] = percentile_band(band)
        ev = evals[name]
        at = ev["at_k"][str(top)]
        thin = ev["evidence"]["thin"]
        summary[name] = {
            "primary": primary_metric(ev),
            **_with_interval(
                "auc_direct_evidence", None if thin else ev["auc_direct_evidence"], ev
            ),
            **_with_interval("auc_all_candidates", ev["auc_all_candidates"], ev),
            **_with_interval(
                f"precision@{top}", at["precision"], {f"precision@{top}_ci": at.get("precision_ci")}
            ),
            f"recall@{top}": at["recall"],
        }
    frame = pd.DataFrame.from_dict(summary, orient="index")
    base = frame.loc[RULES, f"precision@{top}"]
    frame[f"lift@{top}"] = frame[f"precision@{top}"].astype(float) / base if base else np.nan
    index = pd.Index(ks, name="k")
    direct = scores.loc[(scores["source"] != "unlabeled").to_numpy(), "label"].to_numpy()
    return Comparison(
        tier,
        rnd,
        top,
        scores,
        pd.DataFrame(precision, index=index),
        pd.DataFrame(recall, index=index),
        frame,
        pd.DataFrame(low, index=index),
        pd.DataFrame(high, index=index),
        thin_evidence(direct),
    )


def _with_interval(name: str, value: float | None, ev: dict[str, Any]) -> dict[str, Any]:
    """`name`, `name_low`, `name_high` from a value and the evaluation's `name_ci`."""
    ci = ev.get(f"{name}_ci") if value is not None else None
    return {
        name: value,
        f"{name}_low": ci[0] if ci else None,
        f"{name}_high": ci[1] if ci else None,
    }
