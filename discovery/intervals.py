"""Bootstrap intervals for the validation metrics, and the words for thin evidence.

A validation round is one sample of candidates: precision@K and AUC would move on
another. The intervals are percentile bootstrap intervals (95 %, 1,000 resamples,
seeded, so a card reads the same on every rerun) under the *Poisson bootstrap*: in a
resample each row appears Poisson(1) times rather than a multinomial count of rows.
The two agree for all but tiny samples (Hanley & MacGibbon 2006), and the Poisson form
lets each row be drawn on its own, which makes the resampling cheap:

- precision@K reads only the top of the list: the first `2K + 200` rows in score order
  hold the K best of any resample (short of a ten-sigma event), so a resample costs as
  much as the list, not the round;
- AUC reads every row; a round of more than `MAX_ROWS` rows is resampled through a
  stratified subsample of that many rows (the same share of positives and negatives)
  whose spread is scaled by √(subsample / round) (the m-out-of-n bootstrap; AUC's error
  shrinks as one over the square root of the sample), so a national round costs seconds.

Several scorings of the same rows share their resamples (a row counts as often for
each), so their differences are paired: a model *trails the rules baseline beyond
noise* when the interval of the difference lies wholly below zero. Everything is
vectorised over the resamples (scipy's `bootstrap` draws whole index vectors, which
costs resamples × rows of every round).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import exp, factorial

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
SEED = 0
#: below this many approvals, or this many decisions, a validation cannot judge a model
MIN_APPROVALS = 5
MIN_DECISIONS = 30
#: rows an AUC resample draws at most (larger rounds: m-out-of-n, see the module text)
MAX_ROWS = 10_000
#: cells of one resampling chunk (resamples × rows), to bound memory
_CHUNK_CELLS = 2_000_000

Interval = tuple[float, float] | None

#: Poisson(1) by inverse CDF on 16-bit uniforms: six times faster than `Generator.poisson`,
#: exact to 1/65,536 in every probability (counts above 8, p ≈ 1e-6, never occur)
_POISSON_CDF = np.cumsum([exp(-1.0) / factorial(k) for k in range(12)])
_POISSON_TABLE = np.searchsorted(_POISSON_CDF, (np.arange(65536) + 0.5) / 65536).astype(np.uint8)


def poisson_counts(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Poisson(1) counts of the given shape, as float32."""
    return _POISSON_TABLE[rng.integers(0, 65536, size=shape, dtype=np.uint16)].astype(np.float32)


def percentile_interval(draws: np.ndarray, level: float = LEVEL) -> Interval:
    """The central `level` interval of `draws` (NaN draws ignored).

    None when fewer than half the resamples define the statistic (e.g. no approval).
    """
    draws = np.asarray(draws, dtype=float)
    if np.isfinite(draws).sum() < len(draws) / 2:
        return None
    tail = (1.0 - level) / 2 * 100
    lo, hi = np.nanpercentile(draws, [tail, 100 - tail])
    return float(lo), float(hi)


def percentile_band(draws: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Per column of `draws` (resamples × columns), the central `level` interval."""
    tail = (1.0 - level) / 2 * 100
    with np.errstate(all="ignore"):
        lo, hi = np.nanpercentile(np.asarray(draws, dtype=float), [tail, 100 - tail], axis=0)
    return lo, hi


def proportion_interval(
    flags: np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> Interval:
    """The interval of a share (hits among a list, listed among the certified) when its
    rows are resampled; None for an empty list."""
    flags = np.asarray(flags, dtype=np.float32)
    if len(flags) == 0:
        return None
    counts = poisson_counts(np.random.default_rng(seed), (resamples, len(flags)))
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = (counts @ flags) / counts.sum(axis=1)
    return percentile_interval(shares, level)


def _precision_of(counts: np.ndarray, positive: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Precision at each K of each resample, given the resampled counts of a list's rows.

    `counts` is resamples × rows in list order; a row repeated c times fills c places,
    and the K-th place may fall inside one. A resample holding fewer than K rows is
    read whole (as `metrics.precision_recall_at` reads a short list).
    """
    b, length = counts.shape
    filled = np.cumsum(counts, axis=1, dtype=np.float64)
    found = np.cumsum(counts * positive, axis=1, dtype=np.float64)
    # per resample and K, the first row whose cumulated count reaches K: one sorted
    # search over all resamples, each row of `filled` shifted above the one before
    step = filled[:, -1].max() + ks.max() + 1
    shift = (np.arange(b) * step)[:, None]
    at = np.searchsorted((filled + shift).ravel(), (ks[None, :] + shift).ravel())
    at = at.reshape(b, len(ks)) - np.arange(b)[:, None] * length
    reached = at < length
    at = np.minimum(at, length - 1)
    rows = np.arange(b)[:, None]
    before = np.where(at > 0, filled[rows, at - 1], 0.0)
    hits = np.where(at > 0, found[rows, at - 1], 0.0) + (ks[None, :] - before) * positive[at]
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = found[:, -1:] / filled[:, -1:]
    return np.where(reached, hits / ks[None, :], whole)


def precision_draws(
    scores: Sequence[np.ndarray],
    positive: np.ndarray,
    ks: Sequence[int] | np.ndarray,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> list[np.ndarray]:
    """Resampled precision@K (resamples × len(ks)) of each scoring of the same rows."""
    positive = np.asarray(positive, dtype=np.float32)
    k_arr = np.asarray(ks, dtype=np.int64)
    if len(positive) == 0 or len(k_arr) == 0:
        return [np.full((resamples, len(k_arr)), np.nan) for _ in scores]
    tops = [
        np.argsort(-np.asarray(s, dtype=float), kind="stable")[: 2 * int(k_arr.max()) + 200]
        for s in scores
    ]
    rows = np.unique(np.concatenate(tops))
    counts = poisson_counts(np.random.default_rng(seed), (resamples, len(rows)))
    return [
        _precision_of(counts[:, np.searchsorted(rows, top)], positive[top], k_arr) for top in tops
    ]


def _auc_rows(
    counts: np.ndarray, order: np.ndarray, starts: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Mann–Whitney AUC per resample from per-row counts (`order`: ascending scores,
    `starts`: where each block of tied scores begins); a tied pair counts one half."""
    c = counts[:, order]
    pos = c * y[order]
    neg = c - pos
    upto = np.cumsum(neg, axis=1)  # float32 is exact: at most 8 × MAX_ROWS
    below = upto - neg
    if len(starts) < len(order):  # ties: all negatives before the block, half of those in it
        size = np.diff(np.r_[starts, len(order)])
        first = np.repeat(starts, size)
        last = np.repeat(starts + size - 1, size)
        strict = below[:, first]
        below = strict + 0.5 * (upto[:, last] - strict)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (pos * below).sum(axis=1, dtype=np.float64) / (
            pos.sum(axis=1, dtype=np.float64) * neg.sum(axis=1, dtype=np.float64)
        )
    return np.where(np.isfinite(out), out, np.nan)


def _subsample(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Positions of a stratified subsample of `MAX_ROWS` rows (all rows when fewer)."""
    if len(y) <= MAX_ROWS:
        return np.arange(len(y))
    share = MAX_ROWS / len(y)
    parts = []
    for cls in (0, 1):
        where = np.flatnonzero(y == cls)
        take = max(1, round(len(where) * share)) if len(where) else 0
        parts.append(rng.choice(where, take, replace=False))
    return np.sort(np.concatenate(parts))


def auc_draws(
    scores: Sequence[np.ndarray],
    labels: np.ndarray,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> list[np.ndarray]:
    """Resampled AUC of each scoring of the same rows (paired: shared per-row counts).

    Above `MAX_ROWS` rows, the draws are the full round's AUC plus the subsample's
    deviations scaled by √(subsample / rows), so their percentiles are the m-out-of-n
    interval.
    """
    y_all = np.asarray(labels, dtype=np.float32)
    if len(y_all) == 0:
        return [np.full(resamples, np.nan) for _ in scores]
    rng = np.random.default_rng(seed)
    keep = _subsample(y_all, rng)
    y = y_all[keep]
    blocks = [_blocks_of(np.asarray(s, dtype=float)[keep]) for s in scores]
    got: list[list[np.ndarray]] = [[] for _ in scores]
    step = max(1, _CHUNK_CELLS // len(y))
    for done in range(0, resamples, step):
        counts = poisson_counts(rng, (min(step, resamples - done), len(y)))
        for out, (order, starts) in zip(got, blocks, strict=True):
            out.append(_auc_rows(counts, order, starts, y))
    draws = [np.concatenate(d) for d in got]
    if len(keep) == len(y_all):
        return draws
    scale = np.sqrt(len(keep) / len(y_all))
    ones = np.ones((1, len(y)), dtype=np.float32)
    full = [_auc_rows(np.ones((1, len(y_all)), np.float32), *_blocks_of(s), y_all) for s in scores]
    sub = [_auc_rows(ones, order, starts, y) for order, starts in blocks]
    return [f[0] + scale * (d - m[0]) for d, f, m in zip(draws, full, sub, strict=True)]


def _blocks_of(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ascending score order, and where each block of tied scores begins in it."""
    values = np.asarray(scores, dtype=float)
    order = np.argsort(values, kind="stable")
    return order, np.r_[0, np.flatnonzero(np.diff(values[order]) != 0) + 1]


def thin_evidence(labels: np.ndarray) -> str | None:
    """Why a validation round's decisions cannot judge a model, in words; None if they can."""
    y = np.asarray(labels)
    decisions, approvals = len(y), int((y == 1).sum())
    if decisions and approvals == decisions:
        return f"证据不足 all {decisions} decisions were approvals: AUC undefined"
    if approvals < MIN_APPROVALS:
        return f"证据不足 too few approvals ({approvals} of {decisions}) to judge"
    if decisions < MIN_DECISIONS:
        return f"证据不足 too few decisions ({decisions}, {approvals} approved) to judge"
    return None
