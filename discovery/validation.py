"""The held-out round read several ways: metrics with intervals, against two simple
baselines, on the population the lists go to, and by group.

`evaluate` gives AUC (direct evidence, all candidates) and precision and recall at each K
of one scoring, each with a bootstrap interval (`discovery.intervals`) and the size of
the evidence behind it; `against_baselines` sets the model beside each baseline
(`metrics.BASELINES`: the rules baseline of class-I IP then revenue, and the
thresholds-on-visible-data rule) on the same resamples; `warnings` words what a reader
must not miss: thin evidence, and a model trailing a baseline beyond noise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from discovery import intervals, metrics
from discovery.criteria import Criteria
from discovery.metrics import BASELINES
from discovery.missing_figures import unverified_columns
from discovery.model import Calibration
from discovery.standard_check import Floor, below_any_floor

if TYPE_CHECKING:
    from discovery.labels import RoundData
    from discovery.registry import RegisteredModel
    from graph.store import Store


def evaluate(
    scores: np.ndarray, data: RoundData, k_list: tuple[int, ...] = metrics.DEFAULT_KS
) -> dict[str, Any]:
    """One scoring of a round's candidates: AUCs, precision and recall at K, and the
    evidence behind them (`thin` says in words when the decisions cannot judge)."""
    scores = np.asarray(scores, dtype=float)
    ex = data.examples
    labelled = (ex["source"] != "unlabeled").to_numpy()
    positive = (ex["label"] == 1).to_numpy()
    direct = ex["label"].to_numpy()[labelled]
    return {
        "auc_direct_evidence": metrics.auc(scores[labelled], direct),
        "auc_all_candidates": metrics.auc(scores, positive.astype(int)),
        "at_k": metrics.precision_recall_at(scores, positive, k_list),
        "evidence": {
            "decisions": int(labelled.sum()),
            "approvals": int((direct == 1).sum()),
            "candidates": len(ex),
            "positives": int(positive.sum()),
            "thin": intervals.thin_evidence(direct),
        },
    }


#: per scoring, the resampled metrics: AUC name -> draws, "precision" -> resamples × K
Draws = dict[str, dict[str, np.ndarray]]


def add_intervals(
    evals: dict[str, dict[str, Any]],
    scorings: dict[str, np.ndarray],
    data: RoundData,
    *,
    seed: int = intervals.SEED,
) -> Draws:
    """Add 95 % bootstrap intervals to evaluations of the same round (in place): each AUC
    gets `<name>_ci`, each K a `precision_ci` (None where the round cannot define one).

    All scorings share their resamples, so the returned draws pair them (`against_rules`).
    """
    ex = data.examples
    labelled = (ex["source"] != "unlabeled").to_numpy()
    positive = (ex["label"] == 1).to_numpy()
    names = list(scorings)
    values = [np.asarray(scorings[n], dtype=float) for n in names]
    ks = [int(k) for k in evals[names[0]]["at_k"]]
    direct = intervals.auc_draws([v[labelled] for v in values], positive[labelled], seed=seed)
    every = intervals.auc_draws(values, positive, seed=seed)
    precision = intervals.precision_draws(values, positive, ks, seed=seed)
    draws: Draws = {}
    for i, name in enumerate(names):
        ev = evals[name]
        draws[name] = {
            "auc_direct_evidence": direct[i],
            "auc_all_candidates": every[i],
            "precision": precision[i],
        }
        for auc in ("auc_direct_evidence", "auc_all_candidates"):
            ev[f"{auc}_ci"] = intervals.percentile_interval(draws[name][auc])
        for row, column in zip(ev["at_k"].values(), precision[i].T, strict=True):
            row["precision_ci"] = intervals.percentile_interval(column)
    return draws


def primary_metric(ev: dict[str, Any]) -> float | None:
    """The comparison metric of an evaluation: AUC on direct evidence, else on all candidates."""
    return ev["auc_direct_evidence"] or ev["auc_all_candidates"]


def _gap(model: np.ndarray, rules: np.ndarray, point: float | None) -> dict[str, Any]:
    ci = intervals.percentile_interval(model - rules)
    return {
        "difference": point,
        "difference_ci": ci,
        "trails": bool(ci is not None and ci[1] < 0),
    }


def against_rules(
    evals: dict[str, dict[str, Any]],
    draws: Draws,
    model: str = "model",
    rules: str = "rules_baseline",
) -> dict[str, Any]:
    """Model minus rules baseline on the same resampled rows: precision at each K and AUC
    on direct evidence (left out when the decisions are thin), each with its paired
    95 % interval and whether the model trails beyond noise (the interval below 0)."""
    mine, base = evals[model], evals[rules]
    out: dict[str, Any] = {"precision": {}}
    for i, k in enumerate(mine["at_k"]):
        a, b = mine["at_k"][k]["precision"], base["at_k"][k]["precision"]
        point = None if a is None or b is None else a - b
        gap = _gap(draws[model]["precision"][:, i], draws[rules]["precision"][:, i], point)
        out["precision"][k] = gap
    auc = "auc_direct_evidence"
    if not mine["evidence"]["thin"] and mine[auc] is not None and base[auc] is not None:
        out[auc] = _gap(draws[model][auc], draws[rules][auc], mine[auc] - base[auc])
    return out


def baseline_scores(x: pd.DataFrame, criteria: Criteria, tier: str) -> dict[str, np.ndarray]:
    """Each baseline's score of the candidates `x`, keyed as `BASELINES`.

    The thresholds rule's visible misses (which it never lists) score below every other
    candidate rather than −∞, so that rank metrics read them as the bottom of its order.
    """
    rule = metrics.thresholds_rule_score(x, [t.id for t in criteria.thresholds_for(tier)])
    return {
        "rules_baseline": metrics.rules_score(x),
        "thresholds_rule": np.where(np.isfinite(rule), rule, -1.0),
    }


def against_baselines(
    evals: dict[str, dict[str, Any]], draws: Draws, model: str = "model"
) -> dict[str, dict[str, Any]]:
    """`against_rules` for every baseline in `evals`, under its card key (`BASELINES`)."""
    return {
        base.gaps: against_rules(evals, draws, model, name)
        for name, base in BASELINES.items()
        if name in evals
    }


def warnings(evals: dict[str, dict[str, Any]], gaps: dict[str, dict[str, Any]]) -> list[str]:
    """Plain sentences (Chinese first) a reader of the card must not miss: thin evidence,
    and the model (`evals["model"]`) trailing a baseline beyond noise (each baseline of
    `BASELINES` in `evals`, with the model's gaps from it under its key in `gaps`, as
    `against_baselines` returns them)."""
    model_eval = evals["model"]
    out: list[str] = []
    thin = model_eval["evidence"]["thin"]
    if thin:
        out.append(f"{thin}: the validation AUC is not reported (验证AUC不予报告)")
    if model_eval["evidence"]["positives"] < intervals.MIN_APPROVALS:
        out.append(
            f"证据不足 only {model_eval['evidence']['positives']} approvals among "
            f"{model_eval['evidence']['candidates']:,} candidates: precision@K cannot judge the list"
        )
    for name, base in BASELINES.items():
        if name not in evals:
            continue
        behind = _behind(model_eval, evals[name], gaps[base.gaps])
        if behind:
            out.append(
                f"模型落后于{base.zh} the model trails {base.en} beyond noise: " + "; ".join(behind)
            )
    return out


def _behind(
    model_eval: dict[str, Any], base_eval: dict[str, Any], gaps: dict[str, Any]
) -> list[str]:
    """The metrics on which the model trails a baseline beyond noise, with both values."""
    behind = []
    for k, gap in gaps["precision"].items():
        if gap["trails"]:
            m = model_eval["at_k"][k]["precision"]
            r = base_eval["at_k"][k]["precision"]
            behind.append(f"precision@{k} {m:.3f} vs {r:.3f} (difference {_span(gap)})")
    auc_gap = gaps.get("auc_direct_evidence")
    if auc_gap and auc_gap["trails"]:
        m, r = model_eval["auc_direct_evidence"], base_eval["auc_direct_evidence"]
        behind.append(f"AUC {m:.3f} vs {r:.3f} (difference {_span(auc_gap)})")
    return behind


def trailing(card: dict[str, Any], baseline: str = "rules_baseline") -> list[str]:
    """The metrics on which a card's model trails `baseline` (`BASELINES`) beyond noise;
    cards registered before a baseline was compared carry no gaps for it."""
    gaps = card.get("metrics", {}).get(BASELINES[baseline].gaps) or {}
    out = [f"precision@{k}" for k, g in gaps.get("precision", {}).items() if g["trails"]]
    if (gaps.get("auc_direct_evidence") or {}).get("trails"):
        out.append("AUC")
    return out


def _span(gap: dict[str, Any]) -> str:
    lo, hi = gap["difference_ci"]
    return f"[{lo:+.2f}, {hi:+.2f}]"


def fairness(scores: np.ndarray, data: RoundData, store: Store, k: int) -> dict[str, list]:
    """Precision and recall of the top `k` by ownership, industry section and province."""
    companies = (
        store.read("companies", data.round.as_of).set_index("uscc").reindex(data.examples.index)
    )
    positive = (data.examples["label"] == 1).to_numpy()
    groups = {
        "ownership": companies["ownership"],
        "industry_section": companies["industry_code"].str.slice(0, 1),
        "province": companies["region_code"].str.slice(0, 2),
    }
    return {name: metrics.group_audit(scores, positive, g, k) for name, g in groups.items()}


#: standard deviation of the prior on the back-test's shift of the chances (log-odds)
SHIFT_PRIOR_SD = 0.5


def back_test_shift(calibrated: np.ndarray, chance: np.ndarray, approved: np.ndarray) -> float:
    """The shift δ of the calibrated log-odds that best forecasts `approved` (1 or 0 per
    listed later applicant) from their chances σ(logit(calibrated) + δ) × `chance`, with
    a normal prior on δ centred on 0 (`SHIFT_PRIOR_SD`): a few later applicants hardly
    move it, a hundred do. 0 without any, or with the prior's sd at 0."""
    from scipy.optimize import minimize_scalar
    from scipy.special import expit, logit

    has = np.asarray(calibrated) > 0.0  # a published score below the bar stays at 0
    if SHIFT_PRIOR_SD <= 0 or not has.any():
        return 0.0
    odds = logit(np.clip(np.asarray(calibrated)[has], 1e-6, 1 - 1e-6))
    m, y = np.asarray(chance)[has], np.asarray(approved, dtype=float)[has]

    def loss(d: float) -> float:
        p = np.clip(expit(odds + d) * m, 1e-9, 1 - 1e-9)
        prior = d * d / (2 * SHIFT_PRIOR_SD**2)
        return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).sum() + prior)

    return float(minimize_scalar(loss, bounds=(-4.0, 4.0), method="bounded").x)


def invited_population(
    x: pd.DataFrame,
    examples: pd.DataFrame,
    calibrated: np.ndarray,
    chance: np.ndarray,
    criteria: Criteria,
    tier: str,
    floors: list[Floor],
    top: int,
) -> dict[str, Any]:
    """What can be known about the population the lists go to, on the held-out round.

    Applicants select themselves on the hard thresholds, so metrics on applicants say
    little about the non-applicants a list invites. Here the held-out model's list at
    the round's date (its score, `calibrated` × `chance`, as `probability` makes it) is built as
    `rank` builds it (visible misses out, floor misses after) and read two ways: how
    many listed companies visibly miss a threshold or sit below an empirical floor
    learned from the earlier rounds (both should be 0), and, among listed companies
    that then applied or answered an invitation in the round (they had not applied at
    its date), how many were approved — beside the same for the thresholds-on-visible-
    data rule and the rules baseline — and, for ours, how many approvals the chances the
    list showed forecast for them (`expected_approved`: the forecast read on the invited
    population; the calibration was fitted on the round's decisions, theirs included),
    and the shift of the log-odds that makes the chances forecast those approvals
    (`back_test_shift`; `shift`, and `expected_after` the forecast it gives): the serving
    model's calibration takes it, so a list's chances are read on the population it goes
    to, not on the applicants alone. `by_figures` splits those later applicants by
    whether a threshold's figure was not on file at the round's date.
    """
    ours = calibrated * chance
    ids = [t.id for t in criteria.thresholds_for(tier)]
    status = x[[f"std_{t}" for t in ids]].to_numpy(dtype=float)
    visible = (status == 0).any(axis=1)
    below = below_any_floor(x, floors)
    evidence = (examples["source"] != "unlabeled").to_numpy()
    approved = evidence & (examples["label"] == 1).to_numpy()
    # a threshold's figure not on file at the round's date (the quality score aside: the
    # bar carries its uncertainty); its chance is learned from the filers, so where filing
    # follows the figures, these later applicants are where it shows first
    figures = unverified_columns(criteria, tier)
    unknown = np.isnan(x[figures].to_numpy(dtype=float)).any(axis=1)  # none: all False

    def read(order: np.ndarray) -> dict[str, Any]:
        chosen = order[:top]
        decided = int(evidence[chosen].sum())
        hits = int(approved[chosen].sum())
        return {
            "listed": len(chosen),
            "visible_miss": int(visible[chosen].sum()),
            "below_floor": int(below[chosen].sum()),
            "later_applicants": decided,
            "approved": hits,
            "approval_rate": round(hits / decided, 4) if decided else None,
        }

    def forecast(order: np.ndarray) -> dict[str, Any]:
        """Our list's later applicants: the approvals its chances forecast for them, and
        the shift that forecasts them best, with the forecast it gives."""
        chosen = order[:top]
        rows = chosen[evidence[chosen]]
        shift = back_test_shift(calibrated[rows], chance[rows], approved[rows])
        after = Calibration(b=shift)(calibrated[rows]) * chance[rows]
        by_figures = {
            key: {
                "later_applicants": int(part.sum()),
                "approved": int(approved[rows][part].sum()),
                "expected_approved": round(float(ours[rows][part].sum()), 2),
            }
            for key, part in (
                ("figure_not_on_file", unknown[rows]),
                ("figures_on_file", ~unknown[rows]),
            )
        }
        return {
            "expected_approved": round(float(ours[rows].sum()), 2),
            "shift": round(shift, 4),
            "expected_after": round(float(after.sum()), 2),
            "by_figures": by_figures,
        }

    use = criteria.empirical_floors.use
    ours_order = metrics.list_order(ours, visible, below, use)
    scores = baseline_scores(x, criteria, tier)
    return {
        "round": str(examples["as_of"].iloc[0].date()) if len(examples) else None,
        "top": top,
        "floors_from": "training rounds only",
        "model": {**read(ours_order), **forecast(ours_order)},
        "thresholds_rule": read(
            metrics.list_order(scores["thresholds_rule"], visible, np.zeros(len(x), bool), use)
        ),
        "rules_baseline": read(metrics.top_k_order(scores["rules_baseline"])),
        "note": (
            "listed companies with a visible or empirical-floor miss should be 0; the approval "
            "rate is over listed companies that applied or answered an invitation in the round"
        ),
    }


def promotion_message(
    model: RegisteredModel,
    card: dict[str, Any],
    replaced: RegisteredModel | None,
    bar: float | None,
) -> str:
    """ "… now serves …", why it was promoted, and, next to it, what its card warns of."""
    ours = model.primary_metric
    if replaced is None or bar is None:
        why = f"no model served {model.tier} before (此前无在用模型)"
    elif ours >= bar:
        why = f"the serving {replaced.model_id} scored no higher ({bar:.3f} vs {ours:.3f} AUC)"
    else:
        why = f"it was forced although the serving {replaced.model_id} scored higher ({bar:.3f} vs {ours:.3f} AUC)"
    message = f"{model.model_id} now serves {model.tier}: promoted because {why}."
    for name, base in BASELINES.items():
        behind = trailing(card, name)
        if behind:
            message += (
                f" 注意 warning: it trails {base.en} beyond noise ({', '.join(behind)}); "
                + base.instead
            )
    thin = card["metrics"]["model"]["evidence"]["thin"]
    if thin:
        message += f" 注意 warning: {thin}; this promotion rests on little evidence."
    return message
