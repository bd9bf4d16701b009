"""The standard checked against its own decisions: contradicted thresholds and empirical floors.

The criteria file is our reading of the standard; the reviewers' decisions are the
standard as applied. The two drift apart (a value the file assumes, an indicator it
lacks), so every past round is read back:

- for each threshold of the file, the approvals that visibly violate it (a threshold
  its own decisions contradict has a wrong value or a wrong measure) and the
  rejections it explains;
- for each measured indicator, encoded or not, the *floor*: the value below which no
  (or almost no, `tolerance`) past approval fell, with its evidence. A floor is *well
  evidenced* when enough approvals had the measure known (`min_evidence`) and, were the
  measure irrelevant to the review, at least `min_expected` approvals would have
  fallen below it (approvals × the share of the rounds' candidates below the floor).

A candidate below a well-evidenced floor is marked on the list ("below every past
approval") and, as the criteria file says, ranked after the unmarked, left out, or
only reported. Floors never replace a threshold: a visible miss of the file is never
listed, whatever the floors say.

Measures are read at the round's decision date (the start of the round), as the
lists are made; so a floor on, say, niche years sits a little below the value the
reviewers applied months later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from discovery.criteria import Criteria, EmpiricalFloors, Threshold
from discovery.measure_names import fmt_value, measure_name
from graph.contract import TIER_NAMES_ZH

if TYPE_CHECKING:  # pragma: no cover
    from discovery.labels import RoundData


@dataclass(frozen=True)
class Floor:
    """The value of `measure` below which (almost) no past approval of `tier` fell."""

    tier: str
    measure: str
    value: float
    #: approvals with the measure known, and how many of them fell below the floor
    evidence: int
    approvals_below: int
    #: approvals expected below the floor if the measure did not matter to the review
    expected_below: float
    rejections_known: int
    rejections_below: int
    #: approval rate of the candidates just above the floor over that of all above it:
    #: near 1 at a rule's sharp edge, small where approvals only thin out (a correlate)
    sharpness: float
    well_evidenced: bool
    #: the file's thresholds on the same measure (primary condition), if any
    encoded_by: tuple[str, ...] = ()
    #: the floor is higher than every value the file sets on the measure
    above_file: bool = False

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["encoded_by"] = list(self.encoded_by)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Floor:
        return cls(**{**data, "encoded_by": tuple(data.get("encoded_by", ()))})

    def text(self, value: float | None = None) -> str:
        zh, en = measure_name(self.measure)
        shown = "" if value is None else f" {fmt_value(value, self.measure)} <"
        return f"{zh} {en}{shown} {fmt_value(self.value, self.measure)}"


@dataclass(frozen=True)
class ThresholdCheck:
    """One threshold of the file against the decisions of the rounds checked."""

    id: str
    tier: str
    approvals: int
    approvals_known: int
    approvals_violating: int
    rejections: int
    rejections_known: int
    rejections_explained: int
    contradicted: bool
    #: the decisions' own bar where they are stricter than the file (`_decided_bar`): the
    #: highest value above the file's below which (almost) no applicant the file passes on
    #: this measure was approved; None where the decisions show no such bar
    decided_bar: float | None = None
    #: applicants the file passes on this measure but below `decided_bar`, and of them approved
    band_applicants: int = 0
    band_approvals: int = 0

    @property
    def stricter_in_decisions(self) -> bool:
        return self.decided_bar is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StandardCheck:
    """The file's thresholds and the empirical floors of one tier, from past rounds."""

    tier: str
    as_of: date
    rounds: list[date]
    thresholds: list[ThresholdCheck]
    floors: list[Floor]
    #: candidates at `as_of` below each well-evidenced floor (measure → count), when known
    candidates_below: dict[str, int] = field(default_factory=dict)

    @property
    def contradicted(self) -> list[ThresholdCheck]:
        return [t for t in self.thresholds if t.contradicted]

    @property
    def used_floors(self) -> list[Floor]:
        return [f for f in self.floors if f.well_evidenced]

    @property
    def missing(self) -> list[Floor]:
        """Well-evidenced floors on measures the file does not encode for the tier."""
        return [f for f in self.used_floors if not f.encoded_by]

    @property
    def stricter(self) -> list[Floor]:
        """Well-evidenced floors above the value the file sets on the same measure."""
        return [f for f in self.used_floors if f.encoded_by and f.above_file]

    def to_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "as_of": self.as_of.isoformat(),
            "rounds": [d.isoformat() for d in self.rounds],
            "thresholds": [t.to_json() for t in self.thresholds],
            "floors": [f.to_json() for f in self.floors],
            "contradicted": [t.id for t in self.contradicted],
            "missing": [f.measure for f in self.missing],
            "stricter_than_file": [f.measure for f in self.stricter],
            "stricter_in_decisions": [t.id for t in self.thresholds if t.stricter_in_decisions],
            "candidates_below": dict(self.candidates_below),
        }


#: the named columns of every company's features at a date (`SnapshotCache.columns`)
Snapshots = Callable[[date, list[str]], pd.DataFrame]
#: the fewest approvals against a threshold that can contradict it
MIN_VIOLATIONS = 5
#: the share of the approvals, lowest first, whose candidates make the edge of a floor
EDGE_SHARE = 0.1


def _decisions(
    rounds: Sequence[RoundData], at_end: Snapshots | None = None, columns: Sequence[str] = ()
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Approvals, rejections and all candidates, pooled over the rounds.

    Features are those of the round's date, or with `at_end` those of the end of its
    window (only `columns` of them): by then the fiscal year and the quality score the
    reviewers used are on file, while at the round's date they are a year older.
    """
    approved, rejected, candidates = [], [], []
    for d in rounds:
        labelled = (d.examples["source"] != "unlabeled").to_numpy()
        positive = (d.examples["label"] == 1).to_numpy()
        x = d.candidates
        if at_end is not None:
            x = at_end(d.round.window_end, list(columns)).reindex(d.examples.index)
        approved.append(x.loc[labelled & positive])
        rejected.append(x.loc[labelled & ~positive])
        candidates.append(x)
    return pd.concat(approved), pd.concat(rejected), pd.concat(candidates)


def _values(frame: pd.DataFrame, measure: str) -> np.ndarray:
    if measure not in frame.columns:
        return np.zeros(0)
    v = pd.to_numeric(frame[measure], errors="coerce").to_numpy(dtype=float)
    return v[~np.isnan(v)]


def _decided_bar(
    t: Threshold,
    approved: pd.DataFrame,
    rejected: pd.DataFrame,
    share: float,
    expected: float,
    evidence: int,
) -> tuple[float | None, int, int]:
    """Whether the decisions held a measure to a higher bar than the file's `t`.

    Among the applicants at or above the file's value on `t`'s measure, the bar is the
    highest value `c` such that of the (at least `evidence`) applicants in [value, c) at
    most `share` were approved, and at the approval rate of the applicants from `c` up at
    least `expected` of them would have been: reviewers turned down, as a rule, companies
    the file passes. A reviewed standard that changed
    (the 2026 measures lowered the specialized SMEs' score from 60 to 50) or a file value
    below the one applied shows this way. Thresholds with alternative paths, or that are
    not a floor on one measure, are not read. Returns (bar or None, applicants in the band,
    approvals among them)."""
    if t.op not in (">=", ">") or t.alternatives:
        return None, 0, 0
    a, r = _values(approved, t.measure), _values(rejected, t.measure)
    a, r = a[a >= t.value], r[r >= t.value]
    values = np.concatenate([a, r])
    if not len(values):
        return None, 0, 0
    order = np.argsort(values, kind="stable")
    v = values[order]
    won = np.concatenate([np.ones(len(a)), np.zeros(len(r))])[order]
    approvals_before = np.concatenate([[0.0], np.cumsum(won)])
    cuts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])  # first applicant at each value
    band, band_won = cuts, approvals_before[cuts]
    rate_above = (approvals_before[-1] - band_won) / np.maximum(len(v) - band, 1)
    ok = (band >= evidence) & (band_won <= share * band) & (band * rate_above >= expected)
    if not ok.any():
        return None, 0, 0
    j = int(cuts[ok][-1])
    return float(v[j]), j, int(approvals_before[j])


def _threshold_check(
    t: Threshold,
    approved: pd.DataFrame,
    rejected: pd.DataFrame,
    share: float,
    expected: float = np.inf,
    evidence: int = 1,
    others: Sequence[str] = (),
) -> ThresholdCheck:
    """`t` against the decisions; its decided bar (`_decided_bar`) is read from the
    applicants with no visible miss of the `others` (status columns): a rejection another
    threshold explains says nothing of this one."""
    col = t.column
    a = approved[col].to_numpy(dtype=float) if col in approved else np.zeros(0)
    r = rejected[col].to_numpy(dtype=float) if col in rejected else np.zeros(0)
    a_known = int((~np.isnan(a)).sum())
    violating = int((a == 0).sum())
    # contradicted: more approvals break it than reviewers' discretion explains
    contradicted = violating >= MIN_VIOLATIONS and violating > share * max(a_known, 1)
    a_clear, r_clear = (
        f[~(f.reindex(columns=list(others)) == 0).any(axis=1)] for f in (approved, rejected)
    )
    bar, band, band_won = _decided_bar(t, a_clear, r_clear, share, expected, evidence)
    return ThresholdCheck(
        id=t.id,
        tier=t.tier,
        approvals=len(a),
        approvals_known=a_known,
        approvals_violating=violating,
        rejections=len(r),
        rejections_known=int((~np.isnan(r)).sum()),
        rejections_explained=int((r == 0).sum()),
        contradicted=contradicted,
        decided_bar=bar,
        band_applicants=band,
        band_approvals=band_won,
    )


def _floor(
    tier: str,
    measure: str,
    approved: pd.DataFrame,
    rejected: pd.DataFrame,
    candidates: pd.DataFrame,
    cfg: EmpiricalFloors,
    thresholds: Sequence[Threshold],
) -> Floor | None:
    a = np.sort(_values(approved, measure))
    if not len(a):
        return None
    k = int(np.floor(cfg.tolerance * len(a)))
    value = float(a[k])
    pool = np.sort(_values(candidates, measure))
    start = int(np.searchsorted(pool, value, "left"))
    above, below = len(pool) - start, start
    # the edge: the candidates from the floor up to the lowest tenth of the approvals
    upper = a[max(k + 1, int(np.ceil(EDGE_SHARE * len(a))) - 1)] if len(a) > k + 1 else value
    band = int(np.searchsorted(pool, upper, "right")) - start
    if band > 0 and above:
        at_edge = int(((a >= value) & (a <= upper)).sum())
        edge_rate = at_edge / band
        sharpness = edge_rate / (len(a) / above)
    else:
        edge_rate = sharpness = 0.0
    # approvals expected just below the floor had the edge not been there
    expected = min(band, below) * edge_rate
    r = _values(rejected, measure)
    encoded = [t for t in thresholds if t.measure == measure and t.op in (">=", ">")]
    return Floor(
        tier=tier,
        measure=measure,
        value=value,
        evidence=len(a),
        approvals_below=int((a < value).sum()),
        expected_below=round(expected, 2),
        rejections_known=len(r),
        rejections_below=int((r < value).sum()),
        sharpness=round(float(sharpness), 3),
        well_evidenced=(
            len(a) >= cfg.min_evidence
            and expected >= cfg.min_expected
            and sharpness >= cfg.min_sharpness
        ),
        encoded_by=tuple(t.id for t in encoded),
        above_file=bool(encoded) and all(value > t.value for t in encoded),
    )


def check_standard(
    rounds: Sequence[RoundData],
    criteria: Criteria,
    tier: str,
    as_of: date,
    today: pd.DataFrame | None = None,
    at_end: Snapshots | None = None,
) -> StandardCheck:
    """Read the file's thresholds and the floors of `tier` back from `rounds`' decisions.

    Thresholds are checked on the features at the end of each round's window when
    `at_end` gives them (the figures the reviewers saw; a company that only met a
    threshold later is not counted as contradicting it), else at the round's date.
    Floors are always read at the round's date, as a list is made. `today` (the
    candidates at `as_of`, feature rows) adds how many sit below each floor now.
    """
    cfg = criteria.empirical_floors
    thresholds = criteria.thresholds_for(tier)
    empty = pd.DataFrame()
    approved, rejected, candidates = _decisions(rounds) if rounds else (empty, empty, empty)
    if rounds and at_end is not None:
        # the threshold checks read the status columns and the measures alone
        read = list(
            dict.fromkeys([*(t.column for t in thresholds), *(t.measure for t in thresholds)])
        )
        approved_end, rejected_end, _ = _decisions(rounds, at_end, read)
    else:
        approved_end, rejected_end = approved, rejected
    checks = [
        _threshold_check(
            t,
            approved_end,
            rejected_end,
            cfg.contradiction_share,
            cfg.min_expected,
            cfg.min_evidence,
            [o.column for o in thresholds if o.id != t.id],
        )
        for t in thresholds
    ]
    floors = [
        f
        for m in cfg.measures
        if (f := _floor(tier, m, approved, rejected, candidates, cfg, thresholds)) is not None
    ]
    out = StandardCheck(tier, as_of, [d.round.as_of for d in rounds], checks, floors)
    if today is not None:
        below = floor_misses(today, out.used_floors)
        out.candidates_below = {m: int(below[m].sum()) for m in below.columns}
    return out


def floor_misses(frame: pd.DataFrame, floors: Sequence[Floor]) -> pd.DataFrame:
    """Per row and floor (column = measure): the measure is known and below the floor."""
    out = {}
    for f in floors:
        if f.measure not in frame.columns:
            continue
        v = pd.to_numeric(frame[f.measure], errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            out[f.measure] = ~np.isnan(v) & (v < f.value)
    return pd.DataFrame(out, index=frame.index, dtype=bool)


def below_any_floor(frame: pd.DataFrame, floors: Sequence[Floor]) -> np.ndarray:
    """Per row: below at least one of `floors` (all False without floors)."""
    if not floors:
        return np.zeros(len(frame), dtype=bool)
    return floor_misses(frame, floors).to_numpy().any(axis=1)


def floor_texts(frame: pd.DataFrame, floors: Sequence[Floor], label_zh: str) -> np.ndarray:
    """Per row, the floors it falls below as one sentence (empty when none)."""
    misses = floor_misses(frame, floors)
    by_measure = {f.measure: f for f in floors}
    texts = np.full(len(frame), "", dtype=object)
    for pos in np.flatnonzero(misses.to_numpy().any(axis=1)) if len(misses.columns) else []:
        row = frame.iloc[pos]
        parts = [by_measure[m].text(float(row[m])) for m in misses.columns if misses.iloc[pos][m]]
        texts[pos] = f"{label_zh} below every past approval: " + "；".join(parts)
    return texts


def render(check: dict[str, Any]) -> list[str]:
    """A check (`StandardCheck.to_json()`) as Markdown lines, for the CLI and the model card."""
    zh = TIER_NAMES_ZH[check["tier"]]
    below_now = check.get("candidates_below", {})
    lines = [
        f"### {zh} {check['tier']} — rounds {', '.join(check['rounds']) or 'none'}",
        "",
        "| threshold 门槛 | approvals violating 获批却未达标 | rejections explained 因此驳回 | verdict |",
        "|---|---:|---:|---|",
    ]
    for t in check["thresholds"]:
        verdict = "**contradicted 与决定矛盾**" if t["contradicted"] else "consistent 一致"
        if t.get("decided_bar") is not None:
            verdict += (
                f"; **decisions stricter 裁决更严**: {t['band_approvals']} of "
                f"{t['band_applicants']} applicants below {t['decided_bar']:,.4g} approved"
            )
        lines.append(
            f"| {t['id']} | {t['approvals_violating']} of {t['approvals_known']} known "
            f"| {t['rejections_explained']} of {t['rejections_known']} known | {verdict} |"
        )
    lines += [
        "",
        "| measure 指标 | floor 下限 | approvals (below) | expected below if irrelevant "
        "| rejections below | file 文件 | used 采用 | candidates below now |",
        "|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for f in check["floors"]:
        zh_name, en_name = measure_name(f["measure"])
        if not f["encoded_by"]:
            file_note = "**missing 未列入**" if f["well_evidenced"] else "not in file"
        elif f["above_file"]:
            file_note = f"{', '.join(f['encoded_by'])}; **floor stricter 更严**"
        else:
            file_note = ", ".join(f["encoded_by"])
        now = below_now.get(f["measure"], "–") if f["well_evidenced"] else "–"
        lines.append(
            f"| {zh_name} {en_name} | {fmt_value(f['value'], f['measure'])} | {f['evidence']} "
            f"({f['approvals_below']}) | {f['expected_below']:g} | {f['rejections_below']} of "
            f"{f['rejections_known']} | {file_note} | {'yes' if f['well_evidenced'] else 'no'} "
            f"| {now} |"
        )
    lines.append("")
    floors = {f["measure"]: f for f in check["floors"]}
    for key, title in (
        ("contradicted", "Contradicted 与决定矛盾"),
        ("missing", "Missing from the file 文件未列入"),
        ("stricter_than_file", "Floors stricter than the file 下限高于文件"),
    ):
        names = check.get(key, [])
        if not names:
            continue
        shown = (
            names
            if key == "contradicted"
            else [f"{m} ≥ {fmt_value(floors[m]['value'], m)}" for m in names]
        )
        lines.append(f"{title}: {', '.join(shown)}.")
    bars = decided_bars(check)
    if bars:
        lines.append(f"Decisions stricter than the file 裁决严于文件: {', '.join(bars)}.")
    return lines


def decided_bars(check: dict[str, Any]) -> list[str]:
    """`id ≈ bar` for each threshold of a check (`StandardCheck.to_json()`, older cards
    included) whose decisions held a higher bar than the file."""
    return [
        f"{t['id']} ≈ {t['decided_bar']:,.4g}"
        for t in check.get("thresholds", [])
        if t.get("decided_bar") is not None
    ]
