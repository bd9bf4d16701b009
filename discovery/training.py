"""Train, validate, register and (maybe) promote the model of one tier.

Examples are the candidates of yearly decision dates before `as_of`, with
features as of each date and labels from the year after it (see `labels`). The
latest round is held out for validation — never a random split — and the model
is calibrated on that round's direct evidence (approved vs rejected), so its
score reads as "probability of approval if the company applied".
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from discovery import intervals, metrics
from discovery.card import importance_by_channel, render_card, round_summary, summary_lines
from discovery.criteria import Criteria
from discovery.labels import (
    EVIDENCE_WEIGHT,
    UNLABELED_WEIGHT,
    Round,
    RoundData,
    candidates_at,
    examples,
    past_rounds,
    rows_of,
)
from discovery.missing_figures import RULE as MISSING_RULE
from discovery.missing_figures import MissingFigures, decided_columns, unverified_columns
from discovery.model import (
    TREES,
    TREES_RULE,
    Calibration,
    Fitted,
    ScoringModel,
    booster_params,
    fit_model,
    trees_given,
)
from discovery.quality import BAR_RULE, ESTIMATE_COLUMN, SCORE_COLUMN, QualityBar
from discovery.registry import PromotionRefused, RegisteredModel, Registry, SchemaMismatchError
from discovery.schema import FeatureSchema, feature_choice
from discovery.snapshots import SnapshotCache
from discovery.standard_change import lifts_of
from discovery.standard_check import StandardCheck, check_standard
from discovery.validation import (
    add_intervals,
    against_baselines,
    baseline_scores,
    evaluate,
    fairness,
    invited_population,
    primary_metric,
    promotion_message,
    warnings,
)
from discovery.vocabulary import decision_date
from graph.contract import TIER_NAMES_ZH
from graph.errors import DiscoveryError, UsageError
from graph.settings import Settings
from graph.store import Store

DEFAULT_ROUNDS = 5
#: training rounds are added (newest first) until they hold this many approvals: past
#: a thousand, an older round cost a snapshot of every company and moved the lists within
#: noise (`benchmarks/rounds.py`; `benchmarks/README.md`, "Fewer, newer rounds")
ENOUGH_POSITIVES = 1000
#: unlabeled candidates per round fitted on at most (a weighted sample stands for the rest)
MAX_UNLABELED = 50_000
MIN_POSITIVES = 5

Progress = Callable[[str, int, int], None]


class NotEnoughEvidence(DiscoveryError):
    """Too few labelled outcomes before `as_of` to train or validate a model."""


@dataclass(repr=False)
class TrainResult:
    model: RegisteredModel
    promoted: bool
    message: str
    card: dict[str, Any]
    #: the validation round's candidates scored by the held-out model (never trained on
    #: the round): label, source, raw score, calibrated probability — indexed by uscc
    validation: pd.DataFrame | None = None
    #: invitations recorded by the service that were added to the evidence before training
    outcomes_fed: int = 0

    def __repr__(self) -> str:
        return f"<TrainResult promoted={self.promoted} {self.model!s}>"

    @property
    def warnings(self) -> list[str]:
        """What the model card warns of (thin evidence, trailing a simple baseline)."""
        return list(self.card.get("warnings", []))

    def summary(self) -> str:
        """What `discovery train` prints: validation with intervals, warnings, promotion."""
        return "\n".join([*summary_lines(self.card), self.message])


def select_rounds(
    store: Store,
    tier: str,
    as_of: date,
    criteria: Criteria,
    n_rounds: int = DEFAULT_ROUNDS,
    enough_positives: int = ENOUGH_POSITIVES,
) -> list[tuple[Round, pd.DataFrame]]:
    """The rounds a model of `tier` learns from, oldest first, with their examples.

    Rounds without a labelled approval are skipped. The newest kept round validates;
    older ones are added newest first, up to `n_rounds` in all, until the training
    rounds hold `enough_positives` approvals: on a national data set a year or two of
    outcomes is plenty, and the older regimes add cost (a feature snapshot each)
    rather than evidence.
    """
    kept: list[tuple[Round, pd.DataFrame]] = []
    positives = 0
    for rnd in reversed(past_rounds(as_of, n_rounds)):
        ex = examples(store, tier, rnd, criteria)
        approved = int(ex.loc[ex["source"] != "unlabeled", "label"].sum()) if len(ex) else 0
        if approved == 0:
            continue
        kept.append((rnd, ex))
        if len(kept) > 1:
            positives += approved
            if positives >= enough_positives:
                break
    return kept[::-1]


def collect_rounds(
    store: Store,
    tier: str,
    as_of: date,
    criteria: Criteria,
    n_rounds: int = DEFAULT_ROUNDS,
    snapshots: SnapshotCache | None = None,
    progress: Progress | None = None,
    enough_positives: int = ENOUGH_POSITIVES,
) -> list[RoundData]:
    snapshots = snapshots or SnapshotCache(store, criteria)
    chosen = select_rounds(store, tier, as_of, criteria, n_rounds, enough_positives)
    # the rounds' dates, their windows' ends (the standard check reads both) and the
    # decision date (the population a list goes to) in one go
    dates = [d for rnd, _ in chosen for d in (rnd.as_of, rnd.window_end)]
    # the rounds' own dates (all before `as_of`) are read at once; the decision date's
    # estimate may finish beside the fits, until the standard check or today's
    # candidates ask for it
    snapshots.prefetch([*dates, as_of], progress, behind=(as_of,))
    # a round keeps its candidates' rows and every company's quality scores, not every
    # company's features: at national scale the snapshots of the rounds do not fit at once
    return [_round_data(rnd, ex, snapshots(rnd.as_of)) for rnd, ex in chosen]


def decisions_by_round(rounds: Sequence[RoundData]) -> list[tuple[pd.DataFrame, np.ndarray]]:
    """Per round: its candidates at its date and their outcome in it (1 approved,
    0 rejected, NaN not decided)."""
    return [
        (
            d.candidates,
            np.where(
                (d.examples["source"] != "unlabeled").to_numpy(),
                (d.examples["label"] == 1).to_numpy(dtype=float),
                np.nan,
            ),
        )
        for d in rounds
    ]


def _round_data(rnd: Round, ex: pd.DataFrame, snapshot: pd.DataFrame) -> RoundData:
    quality = [c for c in (SCORE_COLUMN, ESTIMATE_COLUMN) if c in snapshot]
    return RoundData(rnd, ex, rows_of(snapshot, ex.index), snapshot[quality].copy())  # not a view


def train_tier(
    store: Store,
    tier: str,
    as_of: date,
    criteria: Criteria,
    registry: Registry,
    *,
    n_rounds: int = DEFAULT_ROUNDS,
    force: bool = False,
    promote: bool = True,
    snapshots: SnapshotCache | None = None,
    progress: Progress | None = None,
    params: Mapping[str, Any] | None = None,
    features: Sequence[str] | str | None = None,
    enough_positives: int = ENOUGH_POSITIVES,
) -> TrainResult:
    """Train a model for `tier` from the facts known at `as_of`; register it; promote it if not worse.

    With `promote=False` the model is registered but the serving pointer is left alone.
    `params` override the recipe's LightGBM parameters (`discovery.model.booster_params`);
    `features` keeps only those model inputs (names, families or prefixes,
    `FeatureSchema.subset`). Both are recorded in the card; unknown names are refused
    before any work (a column name with a family's prefix once the features are built).
    `enough_positives` stops adding older rounds once the training rounds hold that many
    approvals (`select_rounds`).
    """
    criteria.rung(tier)
    decision_date(as_of)
    if n_rounds < 2:
        raise UsageError("rounds must be at least 2 (one to learn from, one to validate on).")
    recipe = booster_params(params)
    chosen = feature_choice(features)
    snapshots = snapshots or SnapshotCache(store, criteria)
    data = collect_rounds(
        store, tier, as_of, criteria, n_rounds, snapshots, progress, enough_positives
    )
    if len(data) < 2:
        raise NotEnoughEvidence(
            f"Only {len(data)} past round(s) before {as_of} have approvals for {tier}; "
            "training needs at least two (one to learn from, the latest to validate on)."
        )
    train, valid = data[:-1], data[-1]
    if progress:
        progress("training", 0, 1)
    schema = FeatureSchema.of(valid.candidates).subset(chosen)
    # trees by early stopping on a slice of the training rounds, unless the caller fixed them
    held_fit = _fit(
        schema, train, recipe, stop_early=not trees_given(params), settings=snapshots.settings
    )
    held_out = held_fit.booster
    bar = QualityBar.fit(
        valid.quality_evidence, *quality_cut(criteria, tier), candidates=valid.candidates
    )
    scorer = ScoringModel(held_out, schema, Calibration(), bar=bar)
    x_valid = valid.candidates
    raw_valid = scorer.raw(x_valid)
    labelled = (valid.examples["source"] != "unlabeled").to_numpy()
    calibration = Calibration.fit(raw_valid[labelled], valid.examples["label"].to_numpy()[labelled])
    top = criteria.default_top(tier)
    k_list = tuple(sorted({*metrics.DEFAULT_KS, top}))
    scorings = {
        "model": raw_valid,
        **baseline_scores(x_valid, criteria, tier),
        "booster_alone": scorer.booster_raw(x_valid),
    }
    evals = {name: evaluate(values, valid, k_list) for name, values in scorings.items()}
    gaps = against_baselines(evals, add_intervals(evals, scorings, valid))
    model_eval, rules_eval, threshold_eval, booster_eval = evals.values()
    primary = primary_metric(model_eval) or 0.0
    # the standard read back from its decisions: floors for the held-out list come from
    # the training rounds alone; the serving model's from every round
    held_out_check = check_standard(train, criteria, tier, valid.round.as_of)
    statuses = unverified_columns(criteria, tier)
    by_decisions = decided_columns(criteria, tier)
    inputs = FeatureSchema.of(valid.candidates).numeric()
    held_missing = MissingFigures.fit(
        [x_valid], statuses, inputs, decisions_by_round(train), by_decisions
    )
    invited = invited_population(
        x_valid,
        valid.examples,
        calibration(raw_valid),
        held_missing.chance(x_valid),
        criteria,
        tier,
        held_out_check.used_floors,
        top,
    )
    # the chances read on the population the lists go to (`back_test_shift`)
    serving_map = calibration.shifted(invited["model"]["shift"])
    lift = {
        k: (m["precision"] / r["precision"]) if m["precision"] and r["precision"] else None
        for (k, m), r in zip(model_eval["at_k"].items(), rules_eval["at_k"].values(), strict=True)
    }
    # The recipe is validated on the held-out round; the serving model is the same
    # recipe refit on every round, so it also learns from the latest outcomes. Its
    # calibration is the held-out model's map (same recipe, same score scale), shifted.
    booster = _fit(schema, data, recipe, grow_as=held_fit, settings=snapshots.settings).booster
    # the first to read the decision date (the validation round's window ends there)
    full_check = check_standard(data, criteria, tier, as_of, at_end=snapshots.columns)
    # the chance of a missing figure is read from the candidates the list goes to
    today = candidates_at(store, tier, as_of, criteria, snapshots(as_of))
    missing = MissingFigures.fit([today], statuses, inputs, decisions_by_round(data), by_decisions)
    importance = pd.Series(booster.feature_importance("gain"), index=schema.names)
    lifts = lifts_of(full_check, criteria, tier)
    card: dict[str, Any] = {
        "tier": tier,
        "tier_zh": TIER_NAMES_ZH[tier],
        "as_of": as_of.isoformat(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_rounds": [round_summary(d) for d in train],
        "serving_model_rounds": "all rounds above, validation round included (refit after validation)",
        "rounds_rule": (
            f"the newest round with approvals validates; older rounds train, newest first, "
            f"until they hold {enough_positives:,} approvals or {n_rounds} rounds are used in all"
        ),
        "validation_round": round_summary(valid),
        "weights": {
            "application_approved_or_rejected": EVIDENCE_WEIGHT,
            "certification_without_application": EVIDENCE_WEIGHT,
            "invitation_outcome": EVIDENCE_WEIGHT,
            "unlabeled_candidate": UNLABELED_WEIGHT,
            "unlabeled_sampling": (
                f"rounds with more than {MAX_UNLABELED:,} unlabeled candidates fit on a uniform "
                "sample of that many, weighted up so their total weight is unchanged"
            ),
        },
        "metrics": {
            "primary": float(primary),
            "primary_name": "AUC on the validation round's direct evidence (approved vs rejected)",
            "model": model_eval,
            "rules_baseline": rules_eval,
            "thresholds_rule": threshold_eval,
            "booster_alone": booster_eval,
            "lift_over_rules": lift,
            **gaps,
        },
        "intervals": {
            "method": "percentile bootstrap (Poisson resampling of the round's candidates)",
            "level": intervals.LEVEL,
            "resamples": intervals.RESAMPLES,
            "seed": intervals.SEED,
            "trails_rule": "the model trails a baseline (the rules baseline, the thresholds "
            "rule) beyond noise when the paired interval of the difference lies wholly below 0",
        },
        "warnings": warnings(evals, gaps),
        "quality_bar": {
            **bar.to_json(),
            "rule": BAR_RULE,
        },
        "invited_population": invited,
        "missing_figures": {"rule": MISSING_RULE, "thresholds": missing.summary(today)},
        "standard_check": full_check.to_json(),
        "standard_changes": [x.to_json() for x in lifts],
        "fairness": fairness(raw_valid, valid, store, top),
        "importance_by_channel": importance_by_channel(importance),
        "top_features": importance.sort_values(ascending=False).head(15).round(2).to_dict(),
        "params": {
            **{k: v for k, v in recipe.items() if k != TREES},
            "num_rounds": booster.current_iteration(),
        },
        "trees": {
            "chosen_by": "early stopping" if held_fit.stopped_at else "the parameters",
            "held_out_model": held_out.current_iteration(),
            "serving_model": booster.current_iteration(),
            "cap": recipe[TREES],
            "rule": TREES_RULE if held_fit.stopped_at else "fixed by the parameters",
        },
        "params_overridden": dict(params or {}),
        "features_chosen": chosen,
        "lightgbm_version": lgb.__version__,
        "python": platform.python_version(),
        "criteria_version": criteria.version,
        "data_fingerprint": store.fingerprint(),
        "feature_count": len(schema.names),
    }
    bundle = {
        "schema": schema.to_json(),
        "calibration": serving_map.to_json(),
        "quality_bar": bar.to_json(),
        "unverified_thresholds": statuses,
        "missing_figures": missing.to_json(),
        "floors": [f.to_json() for f in full_check.used_floors],
        "standard_changes": [x.to_json() for x in lifts],
        "metrics": card["metrics"],
        "card": card,
        "criteria_version": criteria.version,
        "lightgbm_version": lgb.__version__,
        "data_fingerprint": card["data_fingerprint"],
        "as_of": as_of.isoformat(),
    }
    registered = registry.register(tier, booster.model_to_string(), bundle, render_card(card))
    if promote:
        promoted, message = _promote(registry, registered, valid, force, card)
    else:
        promoted, message = (
            False,
            f"{registered.model_id} is registered; not promoted (promote=False).",
        )
    scored = valid.examples[["label", "source"]].assign(
        raw=raw_valid, probability=calibration(raw_valid)
    )
    return TrainResult(registered, promoted, message, card, scored)


def standard_check_at(
    store: Store,
    tier: str,
    as_of: date,
    criteria: Criteria,
    n_rounds: int = DEFAULT_ROUNDS,
    snapshots: SnapshotCache | None = None,
    progress: Progress | None = None,
) -> StandardCheck:
    """The criteria read back from the decisions of the rounds before `as_of`, with the
    candidates at `as_of` below each well-evidenced floor."""
    criteria.rung(tier)
    snapshots = snapshots or SnapshotCache(store, criteria)
    data = collect_rounds(
        store, tier, as_of, criteria, n_rounds, snapshots, progress, enough_positives=10**9
    )
    today = candidates_at(store, tier, as_of, criteria, snapshots(as_of))
    return check_standard(data, criteria, tier, as_of, today, at_end=snapshots.columns)


def quality_cut(criteria: Criteria, tier: str) -> tuple[float | None, bool]:
    """The tier's bar on the quality-evaluation score (value, strict), if its criteria set one."""
    bars = [t for t in criteria.thresholds_for(tier) if t.measure == SCORE_COLUMN]
    if not bars:
        return None, False
    top = max(bars, key=lambda t: (t.value, t.op == ">"))
    return top.value, top.op == ">"


def _fit(
    schema: FeatureSchema,
    rounds: list[RoundData],
    params: dict[str, Any],
    *,
    stop_early: bool = False,
    grow_as: Fitted | None = None,
    settings: Settings | None = None,
) -> Fitted:
    """Fit on the rounds' thinned examples; `grow_as` (`Fitted.trees_for`) sets the trees;
    `settings` name the engine (`fit_model`)."""
    chosen = [(d, *_thin(d)) for d in rounds]
    x = pd.concat([schema.matrix(d.candidates.iloc[keep]) for d, keep, _ in chosen])
    y = np.concatenate([d.examples["label"].to_numpy()[keep] for d, keep, _ in chosen])
    w = np.concatenate([weights for _, _, weights in chosen])
    if y.sum() < MIN_POSITIVES:
        raise NotEnoughEvidence(f"Only {int(y.sum())} approvals to learn from.")
    if grow_as is not None:
        params = {**params, TREES: grow_as.trees_for(len(y), params[TREES])}
    return fit_model(x, y, w, params, stop_early=stop_early, settings=settings)


def _thin(data: RoundData) -> tuple[np.ndarray, np.ndarray]:
    """Positions of a round's examples to fit on, and their weights.

    All labelled examples are kept. A national round has hundreds of thousands of
    unlabeled candidates; beyond `MAX_UNLABELED` a uniform sample stands for them,
    weighted up so that their total weight, and so the model's view of the pool, is
    unchanged. The sample is seeded by the round's date: a rerun fits the same rows.
    """
    unlabeled = (data.examples["source"] == "unlabeled").to_numpy()
    weights = data.examples["weight"].to_numpy(dtype=float)
    free = np.flatnonzero(unlabeled)
    if len(free) <= MAX_UNLABELED:
        return np.arange(len(unlabeled)), weights
    rng = np.random.default_rng(data.round.as_of.toordinal())
    sampled = rng.choice(free, MAX_UNLABELED, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(~unlabeled), sampled]))
    weights = weights.copy()
    weights[unlabeled] *= len(free) / MAX_UNLABELED
    return keep, weights[keep]


def serving_score_on(registry: Registry, tier: str, valid: RoundData) -> float | None:
    """The serving model's metric on `valid`, or None when it cannot fairly be re-scored there.

    The serving model is re-scored only when it was trained before the round began
    (otherwise it has seen the round's outcomes) and on the same feature set; in
    the other cases the registry compares the stored held-out metrics instead.
    """
    serving = registry.serving(tier)
    if serving is None or date.fromisoformat(serving.bundle["as_of"]) > valid.round.as_of:
        return None
    try:
        raw = ScoringModel.load(serving).raw(valid.candidates)
        return primary_metric(evaluate(raw, valid))
    except SchemaMismatchError:
        return None


def _promote(
    registry: Registry,
    registered: RegisteredModel,
    valid: RoundData,
    force: bool,
    card: dict[str, Any],
) -> tuple[bool, str]:
    """Compare with the serving model on the same validation round, then promote or keep."""
    current = registry.serving(registered.tier)
    serving_primary = serving_score_on(registry, registered.tier, valid)
    try:
        moved = registry.promote(registered, force=force, serving_score=serving_primary)
    except PromotionRefused as exc:
        return False, str(exc)
    bar = None
    if current is not None and current.model_id != registered.model_id:
        bar = current.primary_metric if serving_primary is None else serving_primary
    return moved, promotion_message(registered, card, current, bar)
