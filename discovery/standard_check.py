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
from graph.contract import TIER_NAMES_ZH

if TYPE_CHECKING:  # pragma: no cover
    from discovery.labels import RoundData

#: measure → (Chinese, English) name and how its values read
MEASURE_NAMES: dict[str, tuple[str, str]] = {
    "fin_revenue_latest_wan": ("上年度营业收入(万元)", "revenue, latest year (10k yuan)"),
    "fin_rd_2y_wan": ("近两年研发费用(万元)", "R&D over two years (10k yuan)"),
    "fin_rd_expense_latest_wan": ("上年度研发费用(万元)", "R&D, latest year (10k yuan)"),
    "fin_rd_ratio_latest": ("上年度研发费用占比", "R&D share of revenue, latest year"),
    "fin_rd_ratio_2y": ("近两年研发费用占比", "R&D share of revenue, two years"),
    "fin_revenue_growth_1y": ("营业收入增长率(1年)", "revenue growth, 1 year"),
    "fin_revenue_growth_2y": ("营业收入增长率(2年)", "revenue growth, 2 years"),
    "fin_main_business_share": ("主营业务收入占比", "main-business share of revenue"),
    "fin_main_business_growth_2y": (
        "近两年主营业务收入年均增长率",
        "main-business revenue growth a year, two years",
    ),
    "fin_employees": ("职工人数", "employees"),
    "fin_rd_staff_share": ("研发人员占比", "R&D staff share"),
    "ip_class1_self_top3": (
        "自主申请且排名前三的I类知识产权(项)",
        "own class-I IP, top-3 applicant",
    ),
    "ip_class1_in_force": ("有效I类知识产权(项)", "class-I IP in force"),
    "ip_class2_in_force": ("有效II类知识产权(项)", "class-II IP in force"),
    "equity_financing_2y_wan": (
        "近两年合格机构股权融资(万元)",
        "qualified equity financing, 2 years",
    ),
    "profile_niche_years": ("从事细分市场年限", "years in the niche market"),
    "profile_age_years": ("成立年限", "years since establishment"),
    "std_quality_score": ("质量评价得分", "quality-evaluation score"),
}


def measure_name(measure: str) -> tuple[str, str]:
    return MEASURE_NAMES.get(measure, (measure, measure))


#: measures that are shares or growth rates, shown as percentages
RATIO_MEASURES = frozenset(
    {
        "fin_rd_ratio_latest",
        "fin_rd_ratio_2y",
        "fin_revenue_growth_1y",
        "fin_revenue_growth_2y",
        "fin_main_business_share",
        "fin_main_business_growth_2y",
        "fin_rd_staff_share",
    }
)


def fmt_value(value: float, measure: str = "") -> str:
    """A measure's value as people read it: shares and growth as percentages, else plain."""
    if np.isnan(value):
        return "–"
    if measure in RATIO_MEASURES:
        return f"{value:.1%}"
    return f"{value:,.1f}" if value != round(value) else f"{value:,.0f}"


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


def _threshold_check(
    t: Threshold, approved: pd.DataFrame, rejected: pd.DataFrame, share: float
) -> ThresholdCheck:
    col = t.column
    a = approved[col].to_numpy(dtype=float) if col in approved else np.zeros(0)
    r = rejected[col].to_numpy(dtype=float) if col in rejected else np.zeros(0)
    a_known = int((~np.isnan(a)).sum())
    violating = int((a == 0).sum())
    # contradicted: more approvals break it than reviewers' discretion explains
    contradicted = violating >= MIN_VIOLATIONS and violating > share * max(a_known, 1)
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
        # the threshold checks read the status columns alone
        status = [t.column for t in thresholds]
        approved_end, rejected_end, _ = _decisions(rounds, at_end, status)
    else:
        approved_end, rejected_end = approved, rejected
    checks = [
        _threshold_check(t, approved_end, rejected_end, cfg.contradiction_share) for t in thresholds
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
    return lines
