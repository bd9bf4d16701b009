"""What the platform sees of the hidden state (financials, published scores) and the truth."""

from __future__ import annotations

import numpy as np

from discovery.simulation.base import year_of, ymd
from discovery.simulation.facts import Table, barred, ip_counts
from discovery.simulation.ladder import (
    LG_CLASS_ONE,
    LG_CUT,
    LG_RD_TWO_YEARS,
    LG_REVENUE,
    SPEC_CUT,
    Ladder,
    holdings_at_end,
    holds,
)
from discovery.simulation.world import FIRST_FY, World

FIRST_REPORTED_FY = 2016


def ever_certified(lad: Ladder, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for row in lad.certs:
        out[row["_company"]] = True
    return out


def financials(rng: np.random.Generator, wd: World, lad: Ladder) -> Table:
    """Annual figures of the companies that update the platform; holders update more."""
    n = wd.n
    visible = rng.random(n) < np.where(ever_certified(lad, n), 0.85, 0.33)
    # Companies outside the ladder report only their last few years.
    span = np.where(ever_certified(lad, n), 99, rng.integers(1, 9, n))
    years = np.arange(FIRST_REPORTED_FY, wd.last_fy + 1)
    first = np.maximum(year_of(wd.established) + 1, wd.last_fy + 1 - span)
    grid = visible[:, None] & (years[None, :] >= first[:, None])
    grid &= ~np.isnan(wd.revenue[:, years - FIRST_FY])
    grid &= rng.random(grid.shape) >= 0.05  # a missed annual update here and there
    comp, col = np.nonzero(grid)  # row-major: company, then year
    yr = years[col]
    k = len(comp)
    rev = wd.revenue[comp, yr - FIRST_FY]
    rd = wd.rd[comp, yr - FIRST_FY]
    c = wd.capability[comp]
    per_head = np.exp(np.log(70.0) + 0.35 * rng.standard_normal(n))[comp]
    employees = np.maximum(3, np.round(rev / per_head)).astype(np.int64)
    rd_share = np.clip(0.08 + 0.06 * c + 0.03 * rng.standard_normal(k), 0.0, 0.6)
    exporter = (rng.random(n) < 0.45)[comp]
    cols: dict[str, np.ndarray] = {
        "uscc": wd.uscc[comp],
        "year": yr.astype(np.int64),
        "reported_on": _jan1(yr + 1) + 90 + rng.integers(0, 61, k),  # April-May of year+1
        "revenue_wan": np.round(rev, 2),
        "main_business_revenue_wan": np.round(rev * (0.85 + 0.15 * rng.random(k)), 2),
        "rd_expense_wan": np.round(rd, 2),
        "net_profit_wan": np.round(rev * (0.03 + 0.03 * c + 0.05 * rng.standard_normal(k)), 2),
        "total_assets_wan": np.round(rev * np.exp(0.1 + 0.3 * rng.standard_normal(k)), 2),
        "export_revenue_wan": np.round(np.where(exporter, rev * rng.random(k) * 0.5, 0.0), 2),
        "employees": employees,
        "rd_staff": np.round(employees * rd_share).astype(np.int64),
    }
    # Single fields left blank in the annual update.
    for name, share in (
        ("revenue_wan", 0.03),
        ("main_business_revenue_wan", 0.1),
        ("rd_expense_wan", 0.1),
        ("net_profit_wan", 0.08),
        ("total_assets_wan", 0.08),
        ("export_revenue_wan", 0.2),
        ("employees", 0.05),
        ("rd_staff", 0.12),
    ):
        blank = rng.random(k) < share
        if cols[name].dtype.kind == "i":
            cols[name] = np.where(blank, -1, cols[name])  # -1 = null for integer columns
        else:
            cols[name] = np.where(blank, np.nan, cols[name])
    known = cols["reported_on"] <= wd.end
    return {name: v[known] for name, v in cols.items()}


def _jan1(years: np.ndarray) -> np.ndarray:
    return (
        (np.asarray(years) - 1970)
        .astype("datetime64[Y]")
        .astype("datetime64[D]")
        .astype(np.int64)
        .astype(float)
    )


def quality_scores(rng: np.random.Generator, wd: World, lad: Ladder) -> Table:
    """Published scores: nearly all specialized / little giant holders, a few tech SMEs."""
    parts: list[Table] = []
    for y in range(2018, wd.last_fy + 1):
        computed = ymd(y + 1, 3, 1) + rng.integers(0, 120, wd.n).astype(float)
        top = holds(lad.spec_start, lad.spec_stop, computed) | holds(
            lad.lg_start, lad.lg_stop, computed
        )
        tech = holds(lad.tech_start, lad.tech_stop, computed)
        p = np.where(top, 0.9, np.where(tech, 0.04, 0.0))
        show = (rng.random(wd.n) < p) & (computed <= wd.end)
        show &= ~np.isnan(wd.revenue[:, wd.fy(y)])
        who = np.flatnonzero(show)
        parts.append(
            {
                "uscc": wd.uscc[who],
                "year": np.full(len(who), y, dtype=np.int64),
                "score": lad.quality[who, wd.fy(y)],
                "computed_on": computed[who],
            }
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def truth(wd: World, lad: Ladder, pat: Table, events: Table) -> Table:
    """Candidates and qualifiers at the end, from the true figures and true scores."""
    n, end = wd.n, wd.end
    held = holdings_at_end(lad, wd)
    ok = ~barred(events, n, end) & ~wd.large
    cand_spec = (held["tech_sme"] | held["innovative_sme"]) & ok
    cand_spec &= ~held["specialized_sme"] & ~held["little_giant"]
    cand_lg = held["specialized_sme"] & ~held["little_giant"] & ok
    ip = ip_counts(pat, n, end)
    fy = wd.fy(wd.last_fy)
    rd1, rd2 = wd.rd[:, fy], wd.rd[:, fy - 1]
    score = lad.quality[:, fy]
    spec_hard = (rd1 > 0) & ((ip["class_one"] >= 1) | (ip["class_two"] >= 5))
    lg_hard = (
        (wd.revenue[:, fy] >= LG_REVENUE)
        & (rd1 + rd2 >= LG_RD_TWO_YEARS)
        & (ip["class_one_own"] >= LG_CLASS_ONE)
    )
    return {
        "uscc": wd.uscc,
        "capability": np.round(wd.capability, 4),
        "quality_score": score,
        "candidate_specialized_sme": cand_spec,
        "qualifies_specialized_sme": cand_spec & (score >= SPEC_CUT) & spec_hard,
        "candidate_little_giant": cand_lg,
        "qualifies_little_giant": cand_lg & (score >= LG_CUT) & lg_hard,
    }
