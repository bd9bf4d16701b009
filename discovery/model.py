"""The scoring model of one tier: its feature schema, the booster and its calibration.

A model is stored with the exact schema it was trained on (names, order, dtypes,
category vocabularies: `discovery.schema`). Loading checks the features at hand
against it and refuses a mismatch with a plain message: a model never scores
columns it did not learn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, partial
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from discovery.criteria import Criteria
from discovery.missing_figures import MissingFigures, unverified_discount
from discovery.quality import ESTIMATE_COLUMN, QualityBar, estimate_quality
from discovery.registry import RegisteredModel, SchemaMismatchError
from discovery.row_blocks import in_row_blocks
from discovery.schema import FeatureSchema
from discovery.standard_change import Lift, lifted_inputs
from discovery.standard_check import Floor
from features import Condition, ThresholdSpec, build_features, profile
from graph.errors import UsageError
from graph.settings import Settings, get_settings
from graph.store import Store

PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.04,
    "num_leaves": 15,
    "min_data_in_leaf": 15,
    "min_sum_hessian_in_leaf": 1e-3,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 2.0,
    "cat_smooth": 20,
    "verbose": -1,
    "seed": 7,
    "num_threads": 2,
    "deterministic": True,
    "force_col_wise": True,
}
NUM_ROUNDS = 300
#: The recipe's fits choose their number of trees (at most `NUM_ROUNDS`) by early
#: stopping: this share of the examples, drawn per label and seeded, is set aside, and
#: growing stops once its weighted log-loss has not improved for `STOPPING_PATIENCE` trees.
STOPPING_SHARE = 0.15
STOPPING_PATIENCE = 30
#: how the trees were chosen, in the card's words
TREES_RULE = (
    f"the held-out model keeps its trees up to the best weighted log-loss on a "
    f"{STOPPING_SHARE:.0%} slice per label of the training rounds (stopping "
    f"{STOPPING_PATIENCE} trees after it, within the cap); the serving model, refit on "
    "every round, grows that many times its examples over the held-out model's, within the cap"
)
#: the canonical LightGBM name of the number of trees (`num_rounds` and its other aliases)
TREES = "num_iterations"


def threshold_specs(criteria: Criteria) -> list[ThresholdSpec]:
    return [
        ThresholdSpec(
            t.id,
            t.tier,
            t.measure,
            t.op,
            t.value,
            tuple(tuple(Condition(c.measure, c.op, c.value) for c in p) for p in t.alternatives),
        )
        for t in criteria.thresholds
    ]


def snapshot(store: Store, as_of: date, criteria: Criteria) -> pd.DataFrame:
    """Features of every company known at `as_of`, indexed by `uscc`, with the estimated quality score.

    The estimate (`qs_estimate`) is filled for companies with a published score and for
    those that may apply for some tier (`may_apply`); it is NaN for the rest.
    """
    return add_estimate(snapshot_features(store, as_of, criteria), criteria)


def snapshot_features(store: Store, as_of: date, criteria: Criteria) -> pd.DataFrame:
    """The first half of `snapshot`: the feature table indexed by `uscc`."""
    frame = build_features(store, as_of, threshold_specs(criteria))
    return frame.set_index(pd.Index(frame["uscc"].astype("str"), name="uscc")).drop(
        columns=["uscc"]
    )


def add_estimate(
    frame: pd.DataFrame, criteria: Criteria, threads: int | None = None
) -> pd.DataFrame:
    """The second half of `snapshot`: adds `qs_estimate` to a feature table (in place)."""
    scope = may_apply(frame, criteria)
    frame[ESTIMATE_COLUMN] = estimate_quality(frame, scope, threads).to_numpy()
    return frame


def may_apply(frame: pd.DataFrame, criteria: Criteria) -> np.ndarray:
    """Per row of a feature table: holds a tier from which some tier is applied for.

    Only these companies can be candidates of any tier, so only they need an estimated
    quality score (the estimate is the costly part of a snapshot at national scale).
    """
    tiers = sorted({t for rung in criteria.ladder for t in rung.from_tiers})
    return frame[[f"{profile.PREFIX}holds_{t}" for t in tiers]].to_numpy(dtype=bool).any(axis=1)


@dataclass
class Calibration:
    """Platt scaling of the booster's log-odds into an approval probability.

    Fitted on the validation round's direct evidence (approved vs rejected), so
    the output reads as "probability of approval if the company applied". Platt
    rather than isotonic: a round has a few hundred decisions, too few for a
    step function that would print 0 and 1 for the ends of the list.

    The fit is Platt's (1999: the likelihood of his smoothed targets (N+ + 1)/(N+ + 2)
    and 1/(N- + 2)) with a normal prior on the slope centred on 1, the booster's own
    log-odds scale (the booster is fitted by log-loss on the same kind of decisions).
    A little-giant round may hold 40 decisions, 6 of them approvals: an L2 penalty
    towards a slope of 0 (a plain logistic regression) flattened the map to the round's
    approval rate and left the list's order to the unknown-threshold discount, and no
    penalty at all let 6 approvals set a slope of 4. With hundreds of decisions the
    prior hardly moves the fit (`SLOPE_PRIOR`; `benchmarks/README.md`, "Calibration").
    """

    a: float = 1.0
    b: float = 0.0
    fitted: bool = False
    #: the part of `b` the back-test on the invited population added (`shifted`)
    shift: float = 0.0

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        p = np.clip(raw, 1e-6, 1 - 1e-6)
        out = 1.0 / (1.0 + np.exp(-(self.a * np.log(p / (1 - p)) + self.b)))
        # a raw score of 0 is a published quality score below the bar: no chance at all
        return np.where(raw <= 0.0, 0.0, out)

    @classmethod
    def fit(cls, raw: np.ndarray, labels: np.ndarray) -> Calibration:
        """Platt on the rows with a chance; those at 0 stay 0 whatever the map."""
        raw, labels = np.asarray(raw, dtype=float), np.asarray(labels)
        has_chance = raw > 0.0
        raw, labels = raw[has_chance], labels[has_chance]
        if len(np.unique(labels)) < 2 or len(labels) < 20:
            return cls()
        p = np.clip(raw, 1e-6, 1 - 1e-6)
        a, b = platt(np.log(p / (1 - p)), labels.astype(bool))
        return cls(a, b, True)

    def shifted(self, shift: float) -> Calibration:
        """The map with its log-odds moved by `shift` (kept apart in `shift`)."""
        return Calibration(self.a, self.b + shift, self.fitted, self.shift + shift)

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "fitted": self.fitted, "shift": self.shift}


#: weight of the prior on the calibration's slope: SLOPE_PRIOR·(a − 1)² is added to the
#: negative log-likelihood (a normal prior with a standard deviation of about 0.22)
SLOPE_PRIOR = 10.0


def platt(score: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of P = 1 / (1 + exp(-(a·score + b))): Platt's smoothed
    targets, and the prior `SLOPE_PRIOR` on the slope around 1 (`Calibration`)."""
    from scipy.optimize import minimize

    n_pos = int(positive.sum())
    target = np.where(positive, (n_pos + 1) / (n_pos + 2), 1 / (len(positive) - n_pos + 2))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = w[0] * score + w[1]
        value = float(np.sum(np.logaddexp(0.0, z) - target * z)) + SLOPE_PRIOR * (w[0] - 1) ** 2
        residual = 1.0 / (1.0 + np.exp(-z)) - target
        return value, np.array([residual @ score + 2 * SLOPE_PRIOR * (w[0] - 1), residual.sum()])

    # start from the identity map with the approval rate's intercept, as Platt does
    start = np.array([1.0, math.log((n_pos + 1) / (len(positive) - n_pos + 1))])
    fit = minimize(loss, start, jac=True, method="L-BFGS-B")
    return float(fit.x[0]), float(fit.x[1])


class ScoringModel:
    """A trained booster with its schema, quality bar and calibration, ready to score a snapshot.

    The raw score is the booster's probability times the chance that the company's
    quality score clears the tier's bar (`QualityBar`); calibration maps it to the
    probability of approval.
    """

    def __init__(
        self,
        booster: lgb.Booster,
        schema: FeatureSchema,
        calibration: Calibration,
        model_id: str = "",
        bar: QualityBar | None = None,
        floors: tuple[Floor, ...] = (),
        unverified: tuple[str, ...] = (),
        missing: MissingFigures | None = None,
        lifts: tuple[Lift, ...] = (),
    ) -> None:
        self.booster = booster
        #: thresholds the file lowered, scored at the old bar the decisions held
        #: (`discovery.standard_change`)
        self.lifts = lifts
        #: threshold-status columns whose unknown values discount the probability
        self.unverified = unverified
        #: the learned chance that a threshold of unknown status is met (None: the flat
        #: discount of models registered before it was learned)
        self.missing = missing
        #: the empirical floors learned with the model (well evidenced only)
        self.floors = floors
        self.schema = schema
        self.calibration = calibration
        self.bar = bar or QualityBar()
        self.model_id = model_id or "the model"
        if tuple(booster.feature_name()) != schema.names:
            raise SchemaMismatchError(
                f"{self.model_id}: the booster's features differ from its stored schema."
            )

    @classmethod
    def load(cls, registered: RegisteredModel) -> ScoringModel:
        bundle = registered.bundle
        booster = lgb.Booster(model_file=str(registered.booster_path))
        return cls(
            booster,
            FeatureSchema.from_json(bundle["schema"]),
            Calibration(**bundle["calibration"]),
            registered.model_id,
            # models registered before the bar existed score by the booster alone
            QualityBar(**bundle.get("quality_bar", {})),
            # models registered before the floors existed carry none
            tuple(Floor.from_json(f) for f in bundle.get("floors", [])),
            tuple(bundle.get("unverified_thresholds", [])),
            MissingFigures.from_json(bundle["missing_figures"])
            if "missing_figures" in bundle
            else None,
            tuple(Lift.from_json(x) for x in bundle.get("standard_changes", [])),
        )

    def inputs(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The booster's input matrix of `frame`, with the lifted figures (`lifts`)."""
        return lifted_inputs(self.schema.matrix(frame, self.model_id), self.lifts)

    def booster_raw(self, frame: pd.DataFrame) -> np.ndarray:
        """The booster's probability alone (no quality bar, no calibration)."""
        return np.asarray(self.booster.predict(self.inputs(frame)))

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        return in_row_blocks(lambda rows: self.booster_raw(rows) * self.bar(rows), frame)

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of approval times the chance that the thresholds whose
        figure is not on file are met (`MissingFigures`): applicants, on whom the
        calibration is fitted, select themselves on the thresholds, while a missing figure
        in the population a list goes to may hide a miss. A block of rows at a time."""
        return in_row_blocks(
            lambda rows: self.calibration(self.raw(rows)) * self.unknown_factor(rows), frame
        )

    def unknown_factor(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row, the factor its thresholds of unknown status put on the probability."""
        if self.missing is not None:
            return self.missing.chance(frame)
        return unverified_discount(frame, self.unverified)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions (log-odds, LightGBM `pred_contrib`), plus the `bias` column."""
        values = self.booster.predict(self.inputs(frame), pred_contrib=True)
        return pd.DataFrame(
            np.asarray(values), index=frame.index, columns=[*self.schema.names, "bias"]
        )


@cache
def _canonical_names() -> dict[str, str]:
    """Every LightGBM parameter name and alias -> its canonical name, as LightGBM lists them."""
    from lightgbm.basic import _ConfigAliases

    table = _ConfigAliases._get_all_param_aliases()
    return {alias: name for name, aliases in table.items() for alias in (name, *aliases)}


def booster_params(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The recipe's LightGBM parameters (`PARAMS`, `NUM_ROUNDS` trees) with `overrides`.

    Keys are LightGBM parameter names or their aliases (`num_rounds` sets the number of
    trees); an override replaces the default of the same parameter whatever the alias.
    Unknown names are refused, and so is an objective other than `binary`: the score is a
    probability of approval. The result holds the trees under `num_iterations`.
    """
    names = _canonical_names()
    unknown = sorted(str(k) for k in (overrides or {}) if k not in names)
    if unknown:
        raise UsageError(
            f"Unknown LightGBM parameter(s) {', '.join(unknown)}; use LightGBM's names "
            f"(https://lightgbm.readthedocs.io/en/latest/Parameters.html), e.g. "
            f"{', '.join(k for k in PARAMS if k not in ('verbose', 'deterministic'))}."
        )
    merged = {names[k]: (k, v) for k, v in {**PARAMS, TREES: NUM_ROUNDS}.items()}
    for key, value in (overrides or {}).items():
        merged[names[key]] = (names[key], value)
    params = dict(merged.values())
    if merged["objective"][1] != "binary":
        raise UsageError(
            "The objective must stay 'binary': the score is a probability of approval."
        )
    trees = params[TREES]
    if isinstance(trees, bool) or not isinstance(trees, int | np.integer) or trees < 1:
        raise UsageError(
            f"num_rounds must be a whole number of trees of at least 1, not {trees!r}."
        )
    return params


def trees_given(overrides: Mapping[str, Any] | None) -> bool:
    """Whether `overrides` set the number of trees (under any of its names)."""
    names = _canonical_names()
    return any(names.get(str(k)) == TREES for k in overrides or {})


@dataclass
class Fitted:
    """A fitted booster and how its trees were chosen."""

    booster: lgb.Booster
    #: trees kept by early stopping (None: the number of trees was fixed)
    stopped_at: int | None = None
    #: examples the booster was fitted on (the stopping slice left out)
    rows: int = 0

    def trees_for(self, rows: int, cap: int) -> int:
        """Trees for a refit of the same recipe on `rows` examples, at most `cap`.

        At a fixed learning rate more examples carry more trees before they overfit: the
        count found by early stopping grows in proportion to the examples (the usual
        refit after early stopping); a fixed count stays as it was.
        """
        if self.stopped_at is None or self.rows == 0:
            return cap
        return max(1, min(cap, math.ceil(self.stopped_at * rows / self.rows)))


def fit_booster(
    x: pd.DataFrame, y: np.ndarray, w: np.ndarray, params: Mapping[str, Any] | None = None
) -> lgb.Booster:
    """Fit the recipe's booster; `params` as `booster_params` returns them (default: the recipe)."""
    return fit_model(x, y, w, params).booster


def fit_model(
    x: pd.DataFrame,
    y: np.ndarray,
    w: np.ndarray,
    params: Mapping[str, Any] | None = None,
    *,
    stop_early: bool = False,
    settings: Settings | None = None,
) -> Fitted:
    """Fit a booster with `params` (`booster_params`; default: the recipe).

    `stop_early` sets `STOPPING_SHARE` of the examples aside (per label, seeded by the
    recipe's seed) and keeps the trees up to the best weighted log-loss on them, at most
    the recipe's number. (Each fit bins its own examples: bins lent by a fit on older
    rounds lose resolution where the newest values outgrow the older ones, which is
    where a list's top companies are.)

    With the dask engine (`settings`, None: the environment's) the fit runs on the
    cluster (`discovery.cluster_fit`), its trees cut where early stopping would stop.
    """
    chosen = dict(params or booster_params())
    trees = int(chosen.pop(TREES))
    fit_rows = np.arange(len(y))
    stop_rows = fit_rows[:0]
    if stop_early:
        fit_rows, stop_rows = _stopping_split(y, int(chosen.get("seed", 0)))
    # the examples cut once: what the fit learns from, and the slice it stops on
    fit = (x.iloc[fit_rows] if len(stop_rows) else x, y[fit_rows], w[fit_rows])
    stop = (x.iloc[stop_rows], y[stop_rows], w[stop_rows]) if len(stop_rows) else None
    on_cluster = (settings or get_settings()).engine == "dask"
    grow = partial(_grown_on_cluster, settings=settings) if on_cluster else _grown_here
    try:
        booster, best = grow(fit, stop, chosen, trees)
    except lgb.basic.LightGBMError as exc:
        raise UsageError(f"LightGBM refused the parameters: {str(exc).strip()}") from exc
    if best is None:
        return Fitted(booster, rows=len(fit_rows))
    # keep the chosen trees only: the model scores, explains and is stored with those
    kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return Fitted(kept, best, len(fit_rows))


#: examples as (inputs, labels, weights)
Examples = tuple[pd.DataFrame, np.ndarray, np.ndarray]


def _grown_here(
    fit: Examples, stop: Examples | None, params: dict[str, Any], trees: int
) -> tuple[lgb.Booster, int | None]:
    """`fit_model` in this process: the booster, and the trees LightGBM's early stopping
    on `stop` keeps (None without it)."""
    x, y, w = fit
    data = lgb.Dataset(x, label=y, weight=w, categorical_feature="auto", free_raw_data=False)
    if stop is None:
        return lgb.train(params, data, trees), None
    held = lgb.Dataset(stop[0], label=stop[1], weight=stop[2], reference=data)
    params.setdefault("metric", "binary_logloss")
    booster = lgb.train(
        params,
        data,
        trees,
        valid_sets=[held],
        callbacks=[lgb.early_stopping(STOPPING_PATIENCE, verbose=False)],
    )
    return booster, booster.best_iteration or booster.current_iteration()


def _grown_on_cluster(
    fit: Examples,
    stop: Examples | None,
    params: dict[str, Any],
    trees: int,
    *,
    settings: Settings | None,
) -> tuple[lgb.Booster, int | None]:
    """`fit_model` on the Dask cluster: every tree grown, and where early stopping on
    `stop` would have stopped, by the weighted log-loss (the recipe's metric; a `metric`
    among the overrides is not read here)."""
    from discovery.cluster_fit import fit_on_cluster, stopping_iteration

    booster = fit_on_cluster(*fit, params, trees, settings)
    if stop is None:
        return booster, None
    return booster, stopping_iteration(booster, *stop, STOPPING_PATIENCE)


def _stopping_split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions to fit on and positions to stop on: `STOPPING_SHARE` of each label's."""
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for value in np.unique(y):
        rows = np.flatnonzero(y == value)
        take = round(len(rows) * STOPPING_SHARE)
        if take == 0 or take == len(rows):
            return np.arange(len(y)), np.arange(0)
        held.append(rng.choice(rows, take, replace=False))
    stop = np.sort(np.concatenate(held))
    keep = np.ones(len(y), dtype=bool)
    keep[stop] = False
    return np.flatnonzero(keep), stop
