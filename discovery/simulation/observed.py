"""What the platform sees of the hidden state (financials, published scores) and the truth."""

from __future__ import annotations

import numpy as np

from discovery.simulation.base import year_of, ymd
from discovery.simulation.facts import Table, barred
from discovery.simulation.ladder import Ladder, holdings_at_end, holds
from discovery.simulation.review import Sources, verdict
from discovery.simulation.scenario import TARGET_TIERS, Scenario
from discovery.simulation.world import FIRST_FY, World

FIRST_REPORTED_FY = 2016


def ever_certified(lad: Ladder, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    for row in lad.certs:
        out[row["_company"]] = True
    return out


def financials(rng: np.random.Generator, wd: World, lad: Ladder, sc: Scenario) -> Table:
    """Annual figures of the companies that update the platform; holders update more."""
    n = wd.n
    files = np.where(ever_certified(lad, n), sc.financials.certified, sc.financials.others)
    visible = rng.random(n) < files
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
        "main_business_revenue_wan": np.round(rev * wd.main_share[comp, yr - FIRST_FY], 2),
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


def quality_scores(rng: np.random.Generator, wd: World, lad: Ladder, sc: Scenario) -> Table:
    """Published scores: nearly all specialized / little giant holders, a few tech SMEs."""
    parts: list[Table] = []
    for y in range(2018, wd.last_fy + 1):
        computed = ymd(y + 1, 3, 1) + rng.integers(0, 120, wd.n).astype(float)
        top = holds(lad.spec_start, lad.spec_stop, computed) | holds(
            lad.lg_start, lad.lg_stop, computed
        )
        tech = holds(lad.tech_start, lad.tech_stop, computed)
        pub = sc.published_scores
        p = np.where(top, pub.top, np.where(tech, pub.tech, 0.0))
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


def truth(src: Sources, lad: Ladder, events: Table, sc: Scenario) -> Table:
    """Candidates, applicants and qualifiers at the end, from the true figures and scores.

    Qualifies = candidate and every rule of the scenario's review met with the latest
    fiscal year, IP and financing at the end and niche tenure at the end: the same
    evaluator the reviewers use, without their discretion.
    """
    wd = src.wd
    n, end = wd.n, wd.end
    held = holdings_at_end(lad, wd)
    ok = ~barred(events, n, end) & ~wd.large
    cand = {
        "specialized_sme": (held["tech_sme"] | held["innovative_sme"])
        & ~held["specialized_sme"]
        & ~held["little_giant"]
        & ok,
        "little_giant": held["specialized_sme"] & ~held["little_giant"] & ok,
    }
    score = lad.quality[:, wd.fy(wd.last_fy)]
    out: Table = {
        "uscc": wd.uscc,
        "capability": np.round(wd.capability, 4),
        "quality_score": score,
    }
    misses: Table = {}
    for tier in TARGET_TIERS:
        v = verdict(src, sc.review.rules(tier), wd.last_fy + 1, end, score)
        out[f"candidate_{tier}"] = cand[tier]
        out[f"qualifies_{tier}"] = cand[tier] & v.all
        misses[f"misses_{tier}"] = v.misses()
    for tier in TARGET_TIERS:
        applied = np.zeros(n, dtype=bool)
        for app in lad.apps:
            applied[app["_company"][app["tier"] == tier]] = True
        out[f"applied_{tier}"] = applied
    return out | misses
