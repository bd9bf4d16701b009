"""Gates and training labels, per target tier and decision date.

The ladder is a hard gate: a `specialized_sme` candidate holds `tech_sme` or
`innovative_sme`; a `little_giant` candidate holds `specialized_sme`. Nobody who
already holds the tier (or a higher one), is barred, or is large is a candidate.

Labels come from what happened to the candidates of a date in the year after it:
- application decisions (approved / rejected): direct evidence, full weight;
- certifications without an application row on file: approved, full weight;
- invitation outcomes (approved / rejected): direct evidence, full weight;
- everybody else is *unlabeled*, not negative: not applying is not failing.
  They enter as negatives with a small weight (positive-unlabeled learning),
  which teaches the model what the wider candidate pool looks like without
  letting awareness pass for merit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from discovery.criteria import Criteria
from features.status import barred_at, holds_at
from graph.store import Store
from graph.text_sets import positions

#: weight of a candidate with no evidence (see the module docstring and the model card);
#: chosen on the scenarios and confirmed on seeds not tuned on (`benchmarks/README.md`,
#: "The weight of a candidate that did not apply")
UNLABELED_WEIGHT = 0.02
EVIDENCE_WEIGHT = 1.0


@dataclass(frozen=True)
class Round:
    """A decision date and the year after it, in which outcomes are observed."""

    as_of: date
    window_end: date


def past_rounds(as_of: date, count: int) -> list[Round]:
    """The `count` yearly rounds whose outcome windows end on or before `as_of`, oldest first."""
    cut = pd.Timestamp(as_of)
    rounds = []
    for k in range(count, 0, -1):
        start = (cut - pd.DateOffset(years=k)).date()
        end = (cut - pd.DateOffset(years=k - 1)).date()
        rounds.append(Round(start, end))
    return rounds


def gate(store: Store, tier: str, as_of: date, criteria: Criteria) -> pd.DataFrame:
    """Per company known at `as_of`: the gate checks and whether it may be invited for `tier`."""
    rung = criteria.rung(tier)
    companies = store.read("companies", as_of)
    held = holds_at(store.read("certifications", as_of), as_of)
    barred = barred_at(
        store.read("compliance_events", as_of),
        as_of,
        criteria.barring.recent_event.lookback_years,
    )
    keys = companies["uscc"]
    out = pd.DataFrame(index=pd.Index(keys.astype("str"), name="uscc"))
    # each company's row of `held` and of `barred` (-1: none, so False)
    at_held, at_barred = positions(keys, held.index), positions(keys, barred.index)

    def spread(flags: np.ndarray, at: np.ndarray) -> np.ndarray:
        return np.append(flags.astype(bool), False)[at]  # -1 reads the appended False

    out["holds_rung_below"] = spread(held[list(rung.from_tiers)].any(axis=1).to_numpy(), at_held)
    out["holds_tier_or_above"] = spread(held[[tier, *rung.above]].any(axis=1).to_numpy(), at_held)
    out["barred"] = spread(barred.to_numpy(dtype=bool), at_barred)
    out["large"] = (companies["size_class"] == "large").fillna(False).to_numpy(dtype=bool)
    out["eligible"] = (
        out["holds_rung_below"] & ~out["holds_tier_or_above"] & ~out["barred"] & ~out["large"]
    )
    return out


def candidates_at(
    store: Store, tier: str, as_of: date, criteria: Criteria, snapshot: pd.DataFrame
) -> pd.DataFrame:
    """The rows of `snapshot` (features at `as_of`) of the companies a list for `tier`
    may go to: those the gate finds eligible."""
    gates = gate(store, tier, as_of, criteria)
    return snapshot.loc[gates.index[gates["eligible"].to_numpy()]]


def outcomes(store: Store, tier: str, rnd: Round) -> pd.DataFrame:
    """Evidence observed in the round's window, one row per company: label, weight, source."""
    start, end = pd.Timestamp(rnd.as_of), pd.Timestamp(rnd.window_end)

    def within(frame: pd.DataFrame, col: str) -> pd.DataFrame:
        when = frame[col]
        return frame.loc[((when > start) & (when <= end)).fillna(False).to_numpy()]

    apps = store.read("applications", rnd.window_end)
    apps = within(apps.loc[apps["tier"] == tier], "decided_on")
    apps = apps.loc[apps["outcome"].isin(["approved", "rejected"])]
    invs = store.read("invitations", rnd.window_end)
    invs = within(invs.loc[invs["tier"] == tier], "outcome_on")
    invs = invs.loc[invs["outcome"].isin(["approved", "rejected"])]
    certs = store.read("certifications", rnd.window_end)
    certs = within(certs.loc[certs["tier"] == tier], "certified_on")

    parts = [
        pd.DataFrame(
            {
                "uscc": apps["uscc"],
                "label": (apps["outcome"] == "approved").astype(int),
                "source": "application",
            }
        ),
        pd.DataFrame(
            {
                "uscc": invs["uscc"],
                "label": (invs["outcome"] == "approved").astype(int),
                "source": "invitation",
            }
        ),
        pd.DataFrame({"uscc": certs["uscc"], "label": 1, "source": "certification"}),
    ]
    evidence = (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else None
    )
    if evidence is None:
        return pd.DataFrame(
            {"label": pd.Series(dtype=int), "source": pd.Series(dtype=str)}
        ).rename_axis("uscc")
    # an approval anywhere in the window outweighs a rejection in the same window, and
    # the most direct source names the evidence (application, then invitation, then certification)
    evidence["priority"] = evidence["source"].map(
        {"application": 0, "invitation": 1, "certification": 2}
    )
    evidence = evidence.sort_values(
        ["uscc", "label", "priority"], ascending=[True, False, True], kind="stable"
    )
    best = evidence.groupby("uscc", sort=True).agg(
        label=("label", "first"), source=("source", "first")
    )
    best.index = pd.Index(best.index, dtype="str", name="uscc")
    return best


def examples(store: Store, tier: str, rnd: Round, criteria: Criteria) -> pd.DataFrame:
    """The candidates of a round with their label, weight and evidence source."""
    gates = gate(store, tier, rnd.as_of, criteria)
    candidates = gates.index[gates["eligible"].to_numpy()]
    evidence = outcomes(store, tier, rnd).reindex(candidates)
    labelled = evidence["label"].notna().to_numpy()
    out = pd.DataFrame(index=candidates)
    out["label"] = evidence["label"].fillna(0).astype(int).to_numpy()
    out["source"] = np.where(
        labelled, evidence["source"].fillna("").to_numpy(dtype=object), "unlabeled"
    )
    out["weight"] = np.where(labelled, EVIDENCE_WEIGHT, UNLABELED_WEIGHT)
    out["as_of"] = pd.Timestamp(rnd.as_of)
    return out


@dataclass
class RoundData:
    """A past round's labelled candidates and the features of companies at its date.

    `features` holds every company at the date, or (training, to bound memory) only
    the candidates; `quality` then keeps the published and estimated quality scores of
    every company, which the quality bar is fitted on (`quality_evidence`).
    """

    round: Round
    examples: pd.DataFrame  # label, weight, source, as_of — indexed by uscc
    features: pd.DataFrame  # companies at the round's date (at least the candidates), by uscc
    quality: pd.DataFrame | None = None

    @property
    def quality_evidence(self) -> pd.DataFrame:
        """Every company's published and estimated quality score at the round's date."""
        return self.features if self.quality is None else self.quality

    @property
    def candidates(self) -> pd.DataFrame:
        return rows_of(self.features, self.examples.index)


def rows_of(frame: pd.DataFrame, keys: pd.Index) -> pd.DataFrame:
    """`frame.loc[keys]` for credit codes that are all in `frame`'s index, found by
    Arrow's hash (pandas builds a hash table of a million-row text index for each new
    frame); `frame` itself, lazily copied, when it already has those rows in that order."""
    if frame.index.equals(keys):
        return frame.copy(deep=False)
    at = positions(pd.Series(keys, copy=False), frame.index)
    if (at < 0).any():
        missing = list(keys[at < 0][:3])
        raise KeyError(f"{int((at < 0).sum())} credit codes not in the frame, e.g. {missing}")
    return frame.iloc[at]
