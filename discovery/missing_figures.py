"""The chance that a threshold whose figure is not on file is met.

A list goes to companies that did not apply, and many of them have no annual
statements on the platform: their revenue, R&D or main-business status is unknown.
Applicants, on whom the model and its calibration are fitted, select themselves on
the thresholds, so the model's probability does not say how often an unknown figure
hides a miss. That chance depends on the tier: most specialized-SME candidates clear a
revenue bar of 1,000 万元, few clear the little giants' 5,000 万元.

It is read from the candidates whose figure *is* on file, at the date of the list
(training reads it from the candidates at its decision date): per threshold, a small
LightGBM classifier learns from the other visible facts (patents, staff, links,
awards, …) whether the threshold is met, and predicts it for the candidates whose
status is unknown. Inputs that are mostly missing wherever the status is unknown
(the statements' own figures) are left out, so the classifier reads only what it
will see. The classifier learns from 70 % of those rows; on the other 30 % its chance
is recalibrated (Platt: a logistic map of its log-odds, the slope kept within 0 to 2).
Where the other facts say nothing about a threshold (main-business share of revenue
in our worlds), a classifier still spreads its chances, and a list picks the companies
it spread upward; the map's slope then falls towards 0 and their chance towards the
share met (`benchmarks/README.md`, "The missing-figure chances recalibrated").

A company's factor is the smallest chance among its unknown thresholds:
figures read from one set of statements go together, and the chance that all are met
is at most the smallest of them (it is the smallest when they are fully dependent).
A company whose thresholds are all known keeps its probability.

Learning from the candidates whose figure is on file assumes that a figure is missing
for reasons unrelated to the threshold. The past rounds' decisions test that: if the
applicants a round approved had the figure on file (at the round's date, before they
applied) more often than the applicants it rejected, a missing figure is itself
evidence of a miss (a company with no niche market leaves its niche date empty). Both
sides are applicants, so a figure that applying itself puts on file (statements filed
with the application, a niche date the form asks for) is on file for both and says
nothing; a figure no rejected applicant lacked says nothing either (`MIN_BLANK`). The
odds of "unknown" among the approvals over the odds among the rejections
(`MissingnessEvidence`; never above 1, and only with at least `MIN_APPROVALS` of each)
is kept for every threshold and shown on the card. It multiplies the chance only for
the thresholds the criteria file marks `when_unknown: decisions`.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit, log_expit

from discovery.criteria import Criteria
from discovery.quality import SCORE_COLUMN

#: inputs seen in fewer than this share of the unknown-status rows are left out
SEEN_SHARE = 0.5
#: fewer known rows, or only one class among them: the share met is used instead
MIN_KNOWN = 40
#: fewer past approvals or rejections: a missing figure's own evidence is not read (ratio 1)
MIN_APPROVALS = 30
#: fewer rejected applicants with the figure unknown: no sign either way (ratio 1)
MIN_BLANK = 10
#: at most this many known rows per threshold are learned from (seeded sample); 50,000
#: before: the fits at a million companies take about half the time, and the lists it was
#: judged on kept their hits (`benchmarks/README.md`, "The missing-figure classifiers on
#: 20,000 rows")
MAX_ROWS = 20_000
ROUNDS = 150
#: share of the learned rows held back to recalibrate the classifier's chance
CALIBRATION_SHARE = 0.3
#: fewer held-back rows of either class: all rows are learned from, the chance kept as is
MIN_CALIBRATION_CLASS = 10
#: the recalibration's slope on the log-odds is kept within [0, MAX_SLOPE]
MAX_SLOPE = 2.0
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "verbose": -1,
    "seed": 3,
    # one thread per fit, the thresholds' fits side by side (`FIT_THREADS`): a fit this
    # small gains little from a second thread, and the trees do not depend on the count
    "num_threads": 1,
    "deterministic": True,
    "force_col_wise": True,
}
#: the thresholds' classifiers fitted at once (LightGBM lets Python's lock go)
FIT_THREADS = max(1, min(4, os.cpu_count() or 1))
#: the share of the probability each threshold of unknown status costs in models
#: registered before the chance was learned (`unverified_discount`)
UNVERIFIED_DISCOUNT = 0.01
#: the rule, in the card's words
RULE = (
    "probability × the smallest chance, among the thresholds whose figure is not on "
    "file, that the threshold is met; each chance is learned from the candidates at the "
    "decision date whose figure is on file, from their other visible facts; for the "
    "thresholds the criteria file marks `when_unknown: decisions`, times the odds of the "
    "figure unknown among past approvals over the odds among past rejected applicants "
    "(at most 1); each classifier's chance recalibrated on 30 % of its known rows held "
    "back from its fit"
)


@dataclass(frozen=True)
class MissingnessEvidence:
    """How often a threshold's figure was unknown, at their rounds' dates, among the
    applicants the rounds approved and among those they rejected."""

    approvals: int = 0
    approvals_unknown: int = 0
    rejections: int = 0
    rejections_unknown: int = 0

    @property
    def ratio(self) -> float:
        """odds(unknown | approved) ÷ odds(unknown | rejected), at most 1; 1 with fewer
        than `MIN_APPROVALS` approvals or rejections, or fewer than `MIN_BLANK` rejections
        with the figure unknown."""
        if min(self.approvals, self.rejections) < MIN_APPROVALS:
            return 1.0
        if self.rejections_unknown < MIN_BLANK:
            return 1.0
        a = (self.approvals_unknown + 0.5) / (self.approvals + 1)  # never 0 or 1
        r = (self.rejections_unknown + 0.5) / (self.rejections + 1)
        return float(min(1.0, (a / (1 - a)) / (r / (1 - r))))

    @classmethod
    def read(
        cls, status: str, rounds: Sequence[tuple[pd.DataFrame, np.ndarray]]
    ) -> MissingnessEvidence:
        """From (candidates at a round's date, outcome in the round: 1 approved, 0
        rejected, NaN not decided) pairs."""
        counts = np.zeros(4, dtype=np.int64)
        for frame, outcome in rounds:
            if status not in frame:
                continue
            unknown = frame[status].isna().to_numpy()
            outcome = np.asarray(outcome, dtype=float)
            won, lost = outcome == 1.0, outcome == 0.0
            counts += (won.sum(), (unknown & won).sum(), lost.sum(), (unknown & lost).sum())
        return cls(*(int(c) for c in counts))

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MissingnessEvidence:
        """As kept in a bundle; evidence read against all candidates (bundles before the
        comparison with rejections) is not kept: ratio 1."""
        if "rejections" not in raw:
            return cls()
        return cls(**raw)


def unverified_columns(criteria: Criteria, tier: str) -> list[str]:
    """The status columns of the tier's thresholds whose unknown value discounts the
    probability: all but the quality score's, whose uncertainty the quality bar carries."""
    return [t.column for t in criteria.thresholds_for(tier) if t.measure != SCORE_COLUMN]


def decided_columns(criteria: Criteria, tier: str) -> set[str]:
    """The status columns whose missing figure the past decisions may count against
    (`when_unknown: decisions` in the criteria file)."""
    return {t.column for t in criteria.thresholds_for(tier) if t.when_unknown == "decisions"}


def unverified_discount(frame: pd.DataFrame, columns: tuple[str, ...] | list[str]) -> np.ndarray:
    """Per row: (1 − `UNVERIFIED_DISCOUNT`) to the power of its unknown statuses in `columns`."""
    if not columns:
        return np.ones(len(frame))
    unknown = frame[list(columns)].isna().to_numpy().sum(axis=1)
    return (1.0 - UNVERIFIED_DISCOUNT) ** unknown


@dataclass(frozen=True)
class FigureChance:
    """One threshold's chance of being met when its status is unknown."""

    status: str  # the threshold's status column (`std_<id>`)
    known: int  # rows with a known status learned from
    met: int  # of which met
    inputs: tuple[str, ...] = ()
    booster: lgb.Booster | None = None  # None: the share met (smoothed) is the chance
    #: the past decisions' word on whether a missing figure is itself a sign of a miss
    evidence: MissingnessEvidence = MissingnessEvidence()
    #: the criteria file's `when_unknown: decisions`: the evidence's ratio lowers the chance
    by_decisions: bool = False
    #: (intercept, slope) of the recalibration of the booster's log-odds; (0, 1): as it is
    calibration: tuple[float, float] = (0.0, 1.0)

    @property
    def share_met(self) -> float:
        return (self.met + 1) / (self.known + 2)

    @property
    def factor(self) -> float:
        return self.evidence.ratio if self.by_decisions else 1.0

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        if self.booster is None:
            return np.full(len(frame), self.share_met * self.factor)
        x = frame.reindex(columns=list(self.inputs)).to_numpy(dtype=float)
        return recalibrated(np.asarray(self.booster.predict(x), dtype=float), self.calibration) * (
            self.factor
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "known": self.known,
            "met": self.met,
            "inputs": list(self.inputs),
            "booster": None if self.booster is None else self.booster.model_to_string(),
            "evidence": asdict(self.evidence),
            "by_decisions": self.by_decisions,
            "calibration": list(self.calibration),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FigureChance:
        text = raw.get("booster")
        booster = None if text is None else lgb.Booster(model_str=text)
        evidence = MissingnessEvidence.from_json(raw.get("evidence", {}))  # none before: ratio 1
        return cls(
            raw["status"],
            raw["known"],
            raw["met"],
            tuple(raw["inputs"]),
            booster,
            evidence,
            bool(raw.get("by_decisions", False)),
            # none before the recalibration: the chance as the booster gives it
            tuple(raw.get("calibration", (0.0, 1.0))),  # type: ignore[arg-type]
        )


def _log_odds(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def recalibrated(p: np.ndarray, calibration: tuple[float, float]) -> np.ndarray:
    """`p` through the logistic map (intercept, slope) of its log-odds; unchanged for (0, 1)."""
    a, b = calibration
    if (a, b) == (0.0, 1.0):
        return p
    return np.asarray(expit(a + b * _log_odds(p)), dtype=float)


def _log_likelihood(z: np.ndarray, y: np.ndarray, a: float, b: float) -> float:
    t = a + b * z
    return float(np.sum(y * log_expit(t) + (1 - y) * log_expit(-t)))


def _newton(
    z: np.ndarray, y: np.ndarray, a: float, b: float, fit_slope: bool
) -> tuple[float, float]:
    """The maximum of the (concave) log-likelihood over the intercept, and the slope when
    `fit_slope`: Newton's steps, each halved until the likelihood does not fall."""
    x = np.column_stack([np.ones_like(z), z]) if fit_slope else np.ones((len(z), 1))
    w = np.array([a, b]) if fit_slope else np.array([a])
    for _ in range(50):
        a, b = float(w[0]), float(w[1]) if fit_slope else b
        m = expit(a + b * z)
        gradient = x.T @ (y - m)
        hessian = x.T @ (x * (m * (1 - m))[:, None]) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        now, t = _log_likelihood(z, y, a, b), 1.0
        while t > 1e-6:
            trial = w + t * step
            tb = float(trial[1]) if fit_slope else b
            if _log_likelihood(z, y, float(trial[0]), tb) >= now - 1e-12:
                break
            t /= 2
        w = w + t * step
        if np.abs(t * step).max() < 1e-9 or np.abs(w).max() > 50:  # converged, or separable
            break
    return float(w[0]), float(w[1]) if fit_slope else b


def recalibration_map(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of the logistic regression of `y` on the log-odds of `p`, the
    slope kept within [0, `MAX_SLOPE`] (a negative slope is noise). The log-likelihood
    is concave, so its largest value for a slope in that range is at the unbounded
    best slope clipped to it, with the intercept fitted again for that slope.

    Not `discovery.model.platt`, the scoring model's calibration: that one pulls the
    slope towards 1 and smooths the targets, right for a round of a few dozen decisions
    and wrong here, where thousands of held-back rows must be able to say "slope 0".
    Plain numpy rather than SciPy's L-BFGS-B, which was fitting this map, inside the
    fits' threads then, when a run died of a segmentation fault (`_recalibrated`)."""
    z = _log_odds(p)
    share = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    a, b = _newton(z, y, float(np.log(share / (1 - share))), 1.0, fit_slope=True)
    kept = float(np.clip(b, 0.0, MAX_SLOPE))
    if kept != b:
        a, _ = _newton(z, y, a, kept, fit_slope=False)
    return a, kept


def held_back(y: np.ndarray) -> np.ndarray:
    """Which of the learned rows (labels `y`) are held back to recalibrate the chance: a
    seeded `CALIBRATION_SHARE`, or none when it would hold fewer than
    `MIN_CALIBRATION_CLASS` rows of either class."""
    held = np.zeros(len(y), dtype=bool)
    held[np.random.default_rng(1).permutation(len(y))[: round(CALIBRATION_SHARE * len(y))]] = True
    if min(y[held].sum(), (1 - y[held]).sum()) < MIN_CALIBRATION_CLASS:
        held[:] = False
    return held


#: what a fit hands back: the chance learned, and the held-back rows (inputs, labels)
Learned = tuple[FigureChance, np.ndarray | None, np.ndarray | None]


def _learn(status: str, rows: pd.DataFrame, inputs: Sequence[str], present: np.ndarray) -> Learned:
    """The chance for `status` learned from `rows`, and the rows held back to recalibrate
    it (`held_back`; None when none are); `present` holds, per row and input, whether
    the input is known. Only the rows learned from are taken out of `rows`."""
    values = rows[status].to_numpy(dtype=float)
    known = ~np.isnan(values)
    met = values[known] == 1.0
    n_known, n_met = int(known.sum()), int(met.sum())
    unknown = ~known
    if n_known < MIN_KNOWN or n_met in (0, n_known) or not unknown.any():
        return FigureChance(status, n_known, n_met), None, None
    seen = present[unknown].mean(axis=0)
    chosen = tuple(c for c, share in zip(inputs, seen, strict=True) if share >= SEEN_SHARE)
    if not chosen:
        return FigureChance(status, n_known, n_met), None, None
    learned = np.flatnonzero(known)
    y = met.astype(float)
    if len(y) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(0).choice(len(y), MAX_ROWS, replace=False))
        learned, y = learned[keep], y[keep]
    x = rows.iloc[learned, rows.columns.get_indexer(chosen)].to_numpy(dtype=float)
    held = held_back(y)
    booster = lgb.train(PARAMS, lgb.Dataset(x[~held], label=y[~held], free_raw_data=True), ROUNDS)
    chance = FigureChance(status, n_known, n_met, chosen, booster)
    return (chance, x[held], y[held]) if held.any() else (chance, None, None)


def _recalibrated(learned: Learned) -> FigureChance:
    """The chance with its recalibration read on its held-back rows. Called once the
    fits are done, outside their threads: with the predictions and the map inside
    them, beside the other thresholds' fits, three of four benchmark runs over 15 to
    45 worlds died (once a segmentation fault, when SciPy's optimizer fitted the map,
    then twice a floating-point exception after LightGBM's `std::bad_alloc` warning);
    with both here, none has. The cause was not found."""
    chance, x, y = learned
    if chance.booster is None or x is None or y is None:
        return chance
    scores = np.asarray(chance.booster.predict(x, num_threads=1), dtype=float)
    return replace(chance, calibration=recalibration_map(scores, y))


@dataclass(frozen=True)
class MissingFigures:
    """Per threshold of unknown status, the chance it is met (see the module's text)."""

    chances: tuple[FigureChance, ...] = ()

    @classmethod
    def fit(
        cls,
        frames: Sequence[pd.DataFrame],
        statuses: Sequence[str],
        inputs: Sequence[str],
        decisions: Sequence[tuple[pd.DataFrame, np.ndarray]] = (),
        by_decisions: Collection[str] = (),
    ) -> MissingFigures:
        """Learn from the candidates in `frames` (each with the `statuses` columns and the
        numeric model `inputs`); status columns are never inputs. `decisions` are past
        rounds as (candidates at the round's date, outcome in the round: 1, 0 or NaN):
        whether their approvals had a figure unknown as often as their rejections did;
        that evidence lowers the chance of the statuses in `by_decisions`."""
        usable = [c for c in dict.fromkeys(inputs) if not c.startswith("std_")]
        if len(frames) == 1:  # read in place: a copy of a national frame is gigabytes
            rows = frames[0]
        else:
            rows = pd.concat([f[[*statuses, *usable]] for f in frames], ignore_index=True)
        # whether each input is known, per row: every threshold's fit reads it
        present = np.zeros((len(rows), len(usable)), dtype=bool)
        for i, column in enumerate(usable):
            present[:, i] = rows[column].notna().to_numpy()
        with ThreadPoolExecutor(FIT_THREADS) as pool:
            fits = list(pool.map(lambda s: _learn(s, rows, usable, present), statuses))
        learned = [_recalibrated(f) for f in fits]
        return cls(
            tuple(
                replace(
                    chance,
                    evidence=MissingnessEvidence.read(s, decisions),
                    by_decisions=s in by_decisions,
                )
                for s, chance in zip(statuses, learned, strict=True)
            )
        )

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(c.status for c in self.chances)

    def per_threshold(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per status column: each row's chance that the threshold is met where its status
        is unknown, NaN where it is known."""
        out = {}
        for c in self.chances:
            unknown = frame[c.status].isna().to_numpy()
            values = np.full(len(frame), np.nan)
            if unknown.any():
                values[unknown] = c.predict(frame.loc[unknown])
            out[c.status] = values
        return out

    def chance(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row: the smallest chance among its thresholds of unknown status (1 if none)."""
        out = np.ones(len(frame))
        for values in self.per_threshold(frame).values():
            out = np.fmin(out, values)  # NaN (known) leaves the row's factor alone
        return out

    def summary(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        """For the card: per threshold, the evidence and the chances given to `frame`'s
        rows of unknown status."""
        out = []
        for c, values in zip(self.chances, self.per_threshold(frame).values(), strict=True):
            p = values[~np.isnan(values)]  # the rows of unknown status
            out.append(
                {
                    "status": c.status,
                    "known": c.known,
                    "met_share": round(c.met / c.known, 3) if c.known else None,
                    "learned_from": "the share met" if c.booster is None else "other visible facts",
                    "calibration_slope": round(c.calibration[1], 3),
                    "inputs": len(c.inputs),
                    "unknown_rows": len(p),
                    "mean_chance": round(float(p.mean()), 3) if len(p) else None,
                    "approvals": c.evidence.approvals,
                    "approvals_unknown": c.evidence.approvals_unknown,
                    "rejections": c.evidence.rejections,
                    "rejections_unknown": c.evidence.rejections_unknown,
                    "missingness_ratio": round(c.evidence.ratio, 3),
                    "by_decisions": c.by_decisions,
                }
            )
        return out

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.chances]

    @classmethod
    def from_json(cls, raw: Sequence[dict[str, Any]]) -> MissingFigures:
        return cls(tuple(FigureChance.from_json(r) for r in raw))
