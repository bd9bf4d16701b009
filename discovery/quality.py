"""Estimate the quality-evaluation score (发展质量评价得分) where it is not published.

The score decides most reviews, but the platform publishes it only for companies
that update their information there (mostly holders of `specialized_sme` and
above). We learn it from the companies whose scores are known at `as_of` and
estimate it for the rest. Known companies get out-of-fold estimates, so the
estimate means the same thing for both groups and never copies a score into
itself.

The fits are sized to the work: the known companies are binned once and each fold
fits on a subset of that one dataset (LightGBM `Dataset.subset`, no re-binning), and
each fold stops adding trees once a slice of its own training companies stops
improving (early stopping; the fold's held-out companies, whose estimates are
reported, are never looked at).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.model_selection import KFold

from discovery.row_blocks import in_row_blocks

SCORE_COLUMN = "std_quality_score"
ESTIMATE_COLUMN = "qs_estimate"
MIN_KNOWN = 30
FOLDS = 3
PARAMS = {
    "objective": "regression",
    "learning_rate": 0.1,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    # a score of 0-100 from a few dozen inputs: 63 bins lose nothing and halve the histograms
    "max_bin": 63,
    "verbose": -1,
    "seed": 17,
    # small fits: one thread avoids OpenMP start-up and spin costs that dominate here
    "num_threads": 1,
    "deterministic": True,
}
#: most trees per fold; early stopping usually ends well before
ROUNDS = 300
#: trees without improvement on the stopping slice before a fold stops
PATIENCE = 20
#: share of a fold's training companies set aside to decide when to stop
STOPPING_SHARE = 0.15
#: known scores from which the fits use every core
PARALLEL_FROM = 20_000
#: the quality bar's part in the score, in the model card's words
BAR_RULE = (
    "score = calibrated (booster probability × P(quality score ≥ cut)); the probability is "
    "1 or 0 for a published score and Φ((estimate − cut) / sigma) for an estimated one, "
    "sigma being the estimate's error on the published scores of the tier's candidates "
    "(of every company when fewer than 30 are published)"
)


def _inputs(features: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The rows `rows` (positions) of everything but the score itself and the threshold
    checks derived from it, taken in one step."""
    keep = [i for i, c in enumerate(features.columns) if not (c.startswith("std_") or c == "uscc")]
    return features.iloc[rows, keep]


def estimate_quality(
    features: pd.DataFrame, scope: np.ndarray | None = None, threads: int | None = None
) -> pd.Series:
    """Estimated score per row of `features` (NaN everywhere when too few scores are known).

    `scope` (a bool per row) limits the estimate for unpublished scores to the rows
    that need one, e.g. the companies that may apply for some tier; the others read
    NaN. Rows with a published score always get their out-of-fold estimate.
    `threads` is LightGBM's thread count; by default one for small fits (where
    threads cost more than they give) and every core from `PARALLEL_FROM` known scores.
    """
    known = (
        features[SCORE_COLUMN].notna().to_numpy()
        if SCORE_COLUMN in features
        else np.zeros(len(features), bool)
    )
    out = np.full(len(features), np.nan)
    if known.sum() < MIN_KNOWN:
        return pd.Series(out, index=features.index, name=ESTIMATE_COLUMN)
    if threads is None:
        threads = (os.cpu_count() or 1) if known.sum() >= PARALLEL_FROM else 1
    params = {**PARAMS, "num_threads": threads}
    y = features[SCORE_COLUMN].to_numpy(dtype=float)
    known_idx = np.flatnonzero(known)
    x_known = _inputs(features, known_idx)
    # binned once; every fit below takes rows of it
    binned = lgb.Dataset(x_known, y[known_idx], params=params, free_raw_data=False).construct()
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=17)
    rng = np.random.default_rng(17)
    unknown = np.flatnonzero(~known if scope is None else ~known & np.asarray(scope, bool))
    # each fold model scores its held-out known companies; the unknown ones get the
    # mean of the fold models (no extra fit on all known scores is needed)
    boosters = []
    for train_pos, test_pos in folds.split(known_idx):
        held = rng.choice(len(train_pos), max(1, round(STOPPING_SHARE * len(train_pos))), False)
        stop = np.zeros(len(train_pos), dtype=bool)
        stop[held] = True
        booster = lgb.train(
            params,
            binned.subset(sorted(train_pos[~stop].tolist())),
            ROUNDS,
            valid_sets=[binned.subset(sorted(train_pos[stop].tolist()))],
            callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
        )
        out[known_idx[test_pos]] = booster.predict(x_known.iloc[test_pos])
        boosters.append(booster)
    if len(unknown):
        # the unknown rows' inputs a block at a time (at national scale every candidate's
        # inputs at once would be gigabytes), the fold models' shares added in fold order
        def mean_of_folds(rows: pd.DataFrame) -> np.ndarray:
            total = np.zeros(len(rows))
            for booster in boosters:
                total = total + np.asarray(booster.predict(rows)) / FOLDS
            return total

        out[unknown] = in_row_blocks(
            lambda rows: mean_of_folds(_inputs(features, rows.to_numpy())), pd.Series(unknown)
        )
    return pd.Series(np.clip(out, 0, 100), index=features.index, name=ESTIMATE_COLUMN)


@dataclass(frozen=True)
class QualityBar:
    """The chance that a company's quality score clears a tier's bar (e.g. ≥ 50 points).

    A published score decides it outright (1 or 0). Where the score is estimated, the
    chance is Φ((estimate − cut) / σ), σ being the estimate's out-of-fold error on
    published scores: those of the tier's candidates, the population a list goes to,
    when enough of them are published (`sigma_from` "candidates"), else every
    company's ("all"). Published scores belong mostly to holders of a tier, whose
    scores the estimate fits more closely than those of the companies still below it.
    The scoring model learns approval from past decisions, where who applied is mixed
    in with who qualified; this factor speaks only of the bar, which an invitation
    cannot lower. Without a cut or a usable estimate it is 1 (no information, no
    change).
    """

    cut: float | None = None
    sigma: float | None = None
    #: the bar is "> cut" rather than "≥ cut"
    strict: bool = False
    #: whose published scores σ was measured on: "candidates" or "all" ("" before it was kept)
    sigma_from: str = ""
    #: how many published scores σ was measured on
    evidence: int = 0

    def __call__(self, features: pd.DataFrame) -> np.ndarray:
        out = np.ones(len(features))
        if self.cut is None or self.sigma is None:
            return out
        if ESTIMATE_COLUMN in features:
            est = features[ESTIMATE_COLUMN].to_numpy(dtype=float)
            has = ~np.isnan(est)
            out[has] = norm.cdf((est[has] - self.cut) / self.sigma)
        if SCORE_COLUMN in features:
            published = features[SCORE_COLUMN].to_numpy(dtype=float)
            known = ~np.isnan(published)
            clears = published[known] > self.cut if self.strict else published[known] >= self.cut
            out[known] = clears.astype(float)
        return out

    @classmethod
    def fit(
        cls,
        features: pd.DataFrame,
        cut: float | None,
        strict: bool = False,
        candidates: pd.DataFrame | None = None,
    ) -> QualityBar:
        """σ from the out-of-fold estimates of the published scores of `candidates` when
        at least `MIN_KNOWN` of them are published, else of every company in `features`."""
        if cut is None:
            return cls()
        for rows, source in ((candidates, "candidates"), (features, "all")):
            if rows is None or SCORE_COLUMN not in rows or ESTIMATE_COLUMN not in rows:
                continue
            both = rows[[SCORE_COLUMN, ESTIMATE_COLUMN]].dropna().to_numpy(dtype=float)
            if len(both) >= MIN_KNOWN:
                sigma = float(np.sqrt(np.mean((both[:, 1] - both[:, 0]) ** 2)))
                return cls(float(cut), max(sigma, 0.5), strict, source, len(both))
        return cls()

    def to_json(self) -> dict[str, float | bool | str | int | None]:
        return asdict(self)
