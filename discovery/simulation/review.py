"""The hidden review: true measures of every company and one evaluator of a scenario's rules.

The ladder (decisions, re-examinations, self-selection, the invitation pilot) and the
truth file both call `rules_met` on `measure_values`, so what reviewers decide and
what the truth calls "qualifies" cannot drift apart. A NaN measure (no niche, no
figures for the year) fails every condition.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from discovery.simulation.base import add_years
from discovery.simulation.facts import YEAR, Table, ip_counts
from discovery.simulation.scenario import Condition, Rule
from discovery.simulation.world import World

FINANCING_TYPES = ("vc", "pe", "gov_fund")
_IP_MEASURES = {"class_one", "class_two", "class_one_own"}


@dataclass(frozen=True)
class Sources:
    """The true facts the measures are computed from."""

    wd: World
    patents: Table
    investments: Table


def _col(matrix: np.ndarray, j: int) -> np.ndarray:
    if 0 <= j < matrix.shape[1]:
        return matrix[:, j]
    return np.full(matrix.shape[0], np.nan)


def financing(src: Sources, at: np.ndarray | float) -> np.ndarray:
    """Per company: 万元 raised from vc / pe / gov funds in the two years up to `at`."""
    n, inv = src.wd.n, src.investments
    comp = inv["_company"]
    when = np.broadcast_to(np.asarray(at, dtype=float), (n,))[comp]
    hit = np.isin(inv["investor_type"], FINANCING_TYPES)
    hit &= (inv["invested_on"] > add_years(when, -2)) & (inv["invested_on"] <= when)
    return np.bincount(comp[hit], weights=inv["_amount_wan"][hit], minlength=n)


def measure_values(
    src: Sources,
    names: Iterable[str],
    year: int,
    at: np.ndarray | float,
    quality: np.ndarray,
) -> dict[str, np.ndarray]:
    """The measures `names` for a decision in calendar year `year` (fiscal year year-1).

    `at` is the day (scalar or one per company) for IP, financing and niche tenure;
    `quality` is the score the reviewers see for FY year-1.
    """
    wd = src.wd
    names = set(names)
    fy = wd.fy(year - 1)
    rev1, rev0 = _col(wd.revenue, fy), _col(wd.revenue, fy - 1)
    rd1, rd0 = _col(wd.rd, fy), _col(wd.rd, fy - 1)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        if "niche_years" in names:
            out["niche_years"] = (np.asarray(at, dtype=float) - wd.niche_since) / YEAR
        if "revenue" in names:
            out["revenue"] = rev1
        if "rd_1y" in names:
            out["rd_1y"] = rd1
        if "rd_2y" in names:
            out["rd_2y"] = rd1 + rd0
        if "rd_ratio_1y" in names:
            out["rd_ratio_1y"] = rd1 / rev1
        if "rd_ratio_2y" in names:
            out["rd_ratio_2y"] = (rd1 + rd0) / (rev1 + rev0)
        if "main_business_share" in names:
            out["main_business_share"] = _col(wd.main_share, fy)
        if "main_business_growth_2y" in names:
            mb1 = rev1 * _col(wd.main_share, fy)
            mb_before = _col(wd.revenue, fy - 2) * _col(wd.main_share, fy - 2)
            out["main_business_growth_2y"] = np.sqrt(mb1 / mb_before) - 1.0
        if names & _IP_MEASURES:
            ip = ip_counts(src.patents, wd.n, at)
            out.update({k: ip[k].astype(float) for k in _IP_MEASURES & names})
        if "financing_2y" in names:
            out["financing_2y"] = financing(src, at)
        if "quality" in names:
            out["quality"] = np.asarray(quality, dtype=float)
    return out


def needed(rules: Sequence[Rule]) -> set[str]:
    return set().union(*(r.measures for r in rules)) if rules else set()


def _condition(c: Condition, values: dict[str, np.ndarray]) -> np.ndarray:
    x = values[c.measure]
    with np.errstate(invalid="ignore"):
        if c.op == ">=":
            return x >= c.value
        if c.op == ">":
            return x > c.value
        if c.op == "<=":
            return x <= c.value
        return x < c.value  # NaN compares false under every operator


def rules_met(rules: Sequence[Rule], values: dict[str, np.ndarray], n: int) -> np.ndarray:
    """(len(rules), n) booleans: rule r is met by company i."""
    out = np.zeros((len(rules), n), dtype=bool)
    for r, rule in enumerate(rules):
        met = _condition(rule, values)
        for path in rule.alternatives:
            path_met = np.ones(n, dtype=bool)
            for c in path:
                path_met &= _condition(c, values)
            met |= path_met
        out[r] = met
    return out


@dataclass(frozen=True)
class Verdict:
    """The rules of one tier evaluated for every company."""

    rules: tuple[Rule, ...]
    met: np.ndarray  # (rules, n)

    @property
    def reviewed(self) -> np.ndarray:
        """Which rules the reviewers' score decides (rules on `quality`)."""
        return np.array([r.reviewed for r in self.rules], dtype=bool)

    @property
    def hard(self) -> np.ndarray:
        """Every rule a firm can check on its own figures is met."""
        return np.asarray(self.met[~self.reviewed].all(axis=0))

    @property
    def score(self) -> np.ndarray:
        """Every rule decided by the score is met."""
        return np.asarray(self.met[self.reviewed].all(axis=0))

    @property
    def all(self) -> np.ndarray:
        return np.asarray(self.met.all(axis=0))

    def misses(self) -> np.ndarray:
        """Per company the ids of the failed rules, `|`-joined ('' when none)."""
        n = self.met.shape[1]
        out = np.full(n, "", dtype=object)
        for r, rule in enumerate(self.rules):
            fail = ~self.met[r]
            sep = np.where((out != "") & fail, "|", "")
            out = out + sep + np.where(fail, rule.key, "")
        return out


def verdict(
    src: Sources,
    rules: Sequence[Rule],
    year: int,
    at: np.ndarray | float,
    quality: np.ndarray,
) -> Verdict:
    """Evaluate `rules` for a decision in `year` at day(s) `at` with the given scores."""
    values = measure_values(src, needed(rules), year, at, quality)
    return Verdict(tuple(rules), rules_met(rules, values, src.wd.n))
