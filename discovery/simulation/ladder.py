"""The recognition ladder over the years: applications, decisions, certificates, feedback.

One loop over calendar years (never over companies). Each year: specialized and little
giant certificates that expire are re-examined, the national little-giant batch is
decided, the provinces decide their specialized-SME rounds, and the tech / innovative
SME evaluations run. Who applies depends on awareness and size much more than on
merit; who is approved depends on the true quality score and the hard thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from discovery.simulation.base import (
    add_years,
    concat,
    sigmoid,
    year_of,
    ymd,
    zero_pad,
    zscore,
)
from discovery.simulation.facts import YEAR, Table, barred, ip_counts
from discovery.simulation.world import FIRST_FY, World

SPEC_CUT = 50.0
LG_CUT = 60.0
LG_REVENUE = 5000.0
LG_RD_TWO_YEARS = 1200.0
LG_CLASS_ONE = 4
FIRST_ROUND = 2019  # first specialized / little giant round simulated
FIRST_TECH_ROUND = 2016
INNOVATIVE_SINCE = 2022  # 创新型中小企业 evaluations began in 2022
EVAL_NOISE = 0.6  # re-examinations: deviation of the reviewers from the true score (points)
DISCRETION = 0.03  # share of first applications decided against the score

# Propensity to apply (logit intercepts), calibrated for the pyramid 34 : 8 : 1.
TECH_BASE = -2.3
SPEC_BASE = -2.0
LG_BASE = -1.9


@dataclass
class Ladder:
    """Rows of certifications / applications / invitations and holdings at the end."""

    quality: np.ndarray  # (n, years) true quality score per fiscal year
    certs: list[Table] = field(default_factory=list)
    apps: list[Table] = field(default_factory=list)
    invitations: Table = field(default_factory=dict)
    # Continuous holding spans per tier group: holds at d ⇔ start ≤ d < stop.
    tech_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tech_stop: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tech_tier: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    spec_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spec_stop: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lg_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lg_stop: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: expiry of each company's latest certificate per tier (a revoked one stops earlier)
    last_expiry: dict[str, np.ndarray] = field(default_factory=dict)


def holds(start: np.ndarray, stop: np.ndarray, at: np.ndarray | float) -> np.ndarray:
    return (start <= at) & (at < stop)


def true_quality(rng: np.random.Generator, wd: World, pat: Table) -> np.ndarray:
    """The 发展质量评价 score each company would get for each fiscal year (0-100).

    Mostly capability, partly the observable facts the formula scores (R&D intensity,
    class-I IP, growth, revenue, time in the niche), plus noise no feature explains.
    """
    n = wd.n
    c1 = ip_counts(pat, n, wd.end)["class_one"]
    niche_years = np.nan_to_num((wd.end - wd.niche_since) / YEAR, nan=0.0)
    rev = np.log(np.nan_to_num(wd.revenue[:, -1], nan=50.0) + 1.0)
    z = (
        0.45 * wd.capability
        + 0.15 * zscore(wd.rd_ratio)
        + 0.15 * zscore(np.log1p(c1))
        + 0.1 * zscore(wd.growth)
        + 0.1 * zscore(rev)
        + 0.05 * zscore(niche_years)
        + 0.5 * rng.standard_normal(n)
    )
    last = 40.0 + 12.0 * zscore(z)
    years = np.arange(FIRST_FY, wd.last_fy + 1)
    slope = np.clip(0.8 + 0.6 * wd.capability, -1.0, 3.0)
    q = last[:, None] - slope[:, None] * (wd.last_fy - years)[None, :]
    q += 1.2 * rng.standard_normal(q.shape)
    q[:, -1] = last  # the latest year is the truth's score exactly
    return np.round(np.clip(q, 0.0, 100.0), 1)


def hard_thresholds(wd: World, pat: Table, year: int, at: float) -> tuple[np.ndarray, np.ndarray]:
    """(specialized, little giant) hard requirements met with FY year-1 figures at day `at`."""
    ip = ip_counts(pat, wd.n, at)
    fy = wd.fy(year - 1)
    rd1 = wd.rd[:, fy]
    rd2 = wd.rd[:, fy - 1] if fy >= 1 else np.full(wd.n, np.nan)
    spec = (rd1 > 0) & ((ip["class_one"] >= 1) | (ip["class_two"] >= 5))
    lg = (
        (wd.revenue[:, fy] >= LG_REVENUE)
        & (rd1 + rd2 >= LG_RD_TWO_YEARS)
        & (ip["class_one_own"] >= LG_CLASS_ONE)
    )
    return spec, lg


def run_ladder(
    rng: np.random.Generator, wd: World, pat: Table, events: Table, quality: np.ndarray
) -> Ladder:
    n = wd.n
    lad = Ladder(quality=quality)
    nan = np.full(n, np.nan)
    lad.tech_start, lad.tech_stop = nan.copy(), nan.copy()
    lad.spec_start, lad.spec_stop = nan.copy(), nan.copy()
    lad.lg_start, lad.lg_stop = nan.copy(), nan.copy()
    lad.tech_tier = np.full(n, None, dtype=object)
    lad.last_expiry = {"specialized_sme": nan.copy(), "little_giant": nan.copy()}
    prefers_innovative = rng.random(n) < 0.45
    tech_merit = wd.capability + 0.6 * rng.standard_normal(n)
    n_prov = int(wd.province.max()) + 1
    prov_offset = rng.integers(0, 110, n_prov)  # provinces run their rounds at different times
    # A pilot of invitations the year before the end, in three provinces.
    pilot_year = wd.end_date.year - 1
    pilot_provinces = rng.choice(n_prov, size=min(3, n_prov), replace=False)
    invite_boost = np.zeros(n)
    inv_rows: list[Table] = []

    for y in range(FIRST_TECH_ROUND, wd.end_date.year + 1):
        fy = wd.fy(y - 1)
        q = quality[:, fy]
        spec_hard, lg_hard = hard_thresholds(wd, pat, y, ymd(y, 4, 1))
        if y >= FIRST_ROUND:
            _recertify(rng, wd, lad, events, y, q, spec_hard, lg_hard)
            invited: dict[str, np.ndarray] = {}
            if y == pilot_year:
                invited = _invite(rng, wd, lad, events, y, pilot_provinces, spec_hard)
            for tier in ("little_giant", "specialized_sme"):
                invite_boost[:] = 0.0
                if tier in invited:
                    invite_boost[invited[tier]] = 2.0
                app = _round(
                    rng, wd, lad, events, y, tier, q, spec_hard, lg_hard, invite_boost, prov_offset
                )
                if tier in invited:
                    inv_rows.append(_invitation_outcomes(rng, wd, invited[tier], tier, y, app))
        _tech_round(rng, wd, lad, events, y, tech_merit, prefers_innovative)
    if inv_rows:
        lad.invitations = {k: np.concatenate([t[k] for t in inv_rows]) for k in inv_rows[0]}
    return lad


def _cert(
    rng: np.random.Generator, wd: World, who: np.ndarray, tier: np.ndarray | str, on: np.ndarray
) -> tuple[Table, np.ndarray]:
    """Certificate rows valid three years; a few are revoked early (only if before the end)."""
    k = len(who)
    expires = add_years(on, 3)
    revoked = on + np.floor((0.2 + rng.random(k) * 2.6) * YEAR)
    revoked = np.where((rng.random(k) < 0.015) & (revoked <= wd.end), revoked, np.nan)
    tiers = np.full(k, tier, dtype=object) if isinstance(tier, str) else tier
    row = {
        "uscc": wd.uscc[who],
        "tier": tiers,
        "certified_on": on,
        "expires_on": expires,
        "revoked_on": revoked,
        "_company": who,
    }
    stop = np.where(np.isnan(revoked), expires, revoked)
    return row, stop


def _recertify(rng, wd, lad, events, y, q, spec_hard, lg_hard) -> None:
    """Re-examination at expiry (复核): still qualifying holders get a new certificate."""
    for tier, stop, cut, hard in (
        ("little_giant", lad.lg_stop, LG_CUT, lg_hard),
        ("specialized_sme", lad.spec_stop, SPEC_CUT, spec_hard),
    ):
        expiring = (year_of(stop) == y) & (stop <= wd.end) & ~np.isnan(stop)
        # only certificates that ran out, not revoked ones: the last row's expiry equals stop
        expiring &= lad.last_expiry[tier] == stop
        at = np.where(expiring, stop, wd.end)
        still = (q + EVAL_NOISE * rng.standard_normal(wd.n) >= cut) & hard
        keen = rng.random(wd.n) < np.where(
            (tier == "specialized_sme") & holds(lad.lg_start, lad.lg_stop, at), 0.3, 0.92
        )
        ok = expiring & still & keen & ~barred(events, wd.n, at)
        who = np.flatnonzero(ok)
        if len(who):
            row, new_stop = _cert(rng, wd, who, tier, stop[who])
            lad.certs.append(row)
            stop[who] = new_stop  # the span continues; start stays
            lad.last_expiry[tier][who] = row["expires_on"]


def _round(rng, wd, lad, events, y, tier, q, spec_hard, lg_hard, boost, prov_offset) -> Table:
    """One year's round for `tier`: who applies, what is decided, certificates issued."""
    n, end = wd.n, wd.end
    if tier == "little_giant":
        applied = ymd(y, 3, 1) + rng.integers(0, 75, n)  # provincial recommendation
        batch = ymd(y, 7, 1) + float(rng.integers(0, 60))  # national batch announcement
        decided = np.full(n, batch)
        eligible = holds(lad.spec_start, lad.spec_stop, applied) & ~holds(
            lad.lg_start, lad.lg_stop, applied
        )
        hard, cut = lg_hard, LG_CUT
        logit = LG_BASE + 1.0 * wd.awareness + 0.4 * wd.scale + 0.8 * wd.capability
        # Firms know their revenue and patents: few apply without meeting the thresholds.
        shy = np.where(hard, 1.0, 0.01)
    else:
        applied = ymd(y, 3, 1) + prov_offset[wd.province] + rng.integers(0, 30, n)
        decided = applied + 100 + rng.integers(0, 90, n)  # late provinces decide next year
        eligible = (
            holds(lad.tech_start, lad.tech_stop, applied)
            & ~holds(lad.spec_start, lad.spec_stop, applied)
            & ~holds(lad.lg_start, lad.lg_stop, applied)
        )
        hard, cut = spec_hard, SPEC_CUT
        logit = SPEC_BASE + 1.2 * wd.awareness + 0.6 * wd.scale + 0.9 * wd.capability
        shy = np.where(hard, 1.0, 0.05)
    applied = applied.astype(float)
    decided = decided.astype(float)
    eligible &= ~wd.large & (applied <= end) & (year_of(wd.established) <= y - 2)
    eligible &= ~barred(events, n, applied)
    applies = eligible & (rng.random(n) < shy * sigmoid(logit + boost))
    who = np.flatnonzero(applies)
    k = len(who)
    withdrawn = rng.random(k) < 0.04
    dec = np.where(withdrawn, applied[who] + rng.integers(10, 60, k), decided[who])
    # The score decides, save a few reviewers' judgement calls either way.
    above = q[who] >= cut
    by_score = above ^ (rng.random(k) < np.where(above, DISCRETION, DISCRETION / 2))
    approved = by_score & hard[who]
    outcome = np.where(withdrawn, "withdrawn", np.where(approved, "approved", "rejected"))
    pending = dec > end
    outcome = np.where(pending, "pending", outcome).astype(object)
    dec = np.where(pending, np.nan, dec)
    app = {
        "uscc": wd.uscc[who],
        "tier": np.full(k, tier, dtype=object),
        "applied_on": applied[who],
        "decided_on": dec,
        "outcome": outcome,
        "_company": who,
    }
    lad.apps.append(app)
    win = who[outcome == "approved"]
    if len(win):
        row, stop = _cert(rng, wd, win, tier, dec[outcome == "approved"])
        lad.certs.append(row)
        if tier == "little_giant":
            lad.lg_start[win], lad.lg_stop[win] = row["certified_on"], stop
        else:
            lad.spec_start[win], lad.spec_stop[win] = row["certified_on"], stop
        lad.last_expiry[tier][win] = row["expires_on"]
    return app


def _tech_round(rng, wd, lad, events, y, merit, prefers_innovative) -> None:
    """科技型 / 创新型中小企业 evaluations: a lower bar, capability plus awareness."""
    n, end = wd.n, wd.end
    applied = (ymd(y, 3, 1) + rng.integers(0, 200, n)).astype(float)
    decided = applied + rng.integers(30, 90, n)
    held_before = ~np.isnan(lad.tech_start)
    higher = holds(lad.spec_start, lad.spec_stop, applied) | holds(
        lad.lg_start, lad.lg_stop, applied
    )
    logit = TECH_BASE + 0.9 * wd.awareness + 0.7 * wd.capability + 0.2 * wd.scale
    logit += np.where(held_before, 2.0, 0.0) + np.where(higher, -1.0, 0.0)
    eligible = ~holds(lad.tech_start, lad.tech_stop, applied) & ~wd.large & (applied <= end)
    eligible &= wd.established <= applied - 365
    eligible &= ~barred(events, n, applied)
    who = np.flatnonzero(eligible & (rng.random(n) < sigmoid(logit)))
    k = len(who)
    approved = merit[who] + 0.3 * rng.standard_normal(k) > -0.4
    dec = decided[who]
    pending = dec > end
    outcome = np.where(pending, "pending", np.where(approved, "approved", "rejected"))
    tier = np.where(
        (y >= INNOVATIVE_SINCE) & prefers_innovative[who], "innovative_sme", "tech_sme"
    ).astype(object)
    lad.apps.append(
        {
            "uscc": wd.uscc[who],
            "tier": tier,
            "applied_on": applied[who],
            "decided_on": np.where(pending, np.nan, dec),
            "outcome": outcome.astype(object),
            "_company": who,
        }
    )
    win = outcome == "approved"
    if win.any():
        row, stop = _cert(rng, wd, who[win], tier[win], dec[win])
        lad.certs.append(row)
        lad.tech_start[who[win]], lad.tech_stop[who[win]] = row["certified_on"], stop
        lad.tech_tier[who[win]] = tier[win]


def _invite(rng, wd, lad, events, y, provinces, spec_hard) -> dict[str, np.ndarray]:
    """A pilot round of invitations chosen by a naive rule (big revenue, many patents)."""
    at = ymd(y, 2, 10)
    in_pilot = np.isin(wd.province, provinces) & ~wd.large & ~barred(events, wd.n, at)
    rev = np.log1p(np.nan_to_num(wd.revenue[:, wd.fy(y - 1)], nan=0.0))
    naive = zscore(rev) + 0.5 * spec_hard + 0.8 * rng.standard_normal(wd.n)
    spec = holds(lad.spec_start, lad.spec_stop, at)
    lg = holds(lad.lg_start, lad.lg_stop, at)
    pool = {
        "specialized_sme": in_pilot & holds(lad.tech_start, lad.tech_stop, at) & ~spec & ~lg,
        "little_giant": in_pilot & spec & ~lg,
    }
    share = {"specialized_sme": 0.10, "little_giant": 0.25}
    out = {}
    for tier, mask in pool.items():
        idx = np.flatnonzero(mask)
        k = int(np.ceil(share[tier] * len(idx)))
        out[tier] = idx[np.argsort(-naive[idx], kind="stable")[:k]]
    return out


def _invitation_outcomes(rng, wd, invited: np.ndarray, tier: str, y: int, app: Table) -> Table:
    """Feedback consistent with the round: applied → the decision, else declined / no answer."""
    k = len(invited)
    invited_on = ymd(y, 2, 10) + rng.integers(0, 20, k).astype(float)
    pos = np.full(wd.n, -1)
    pos[app["_company"]] = np.arange(len(app["_company"]))
    p = pos[invited]
    applied = p >= 0
    res = np.where(applied, app["outcome"][np.maximum(p, 0)], "none")
    res_on = np.where(applied, app["decided_on"][np.maximum(p, 0)], np.nan)
    outcome = np.select(
        [res == "approved", res == "rejected", res == "pending", res == "withdrawn"],
        ["approved", "rejected", "applied", "declined"],
        default="declined",
    ).astype(object)
    res_on = np.where(res == "pending", app["applied_on"][np.maximum(p, 0)], res_on)
    silent = ~applied & (rng.random(k) < 0.2)
    declined_on = invited_on + rng.integers(7, 60, k)
    res_on = np.where(~applied, declined_on, res_on)
    outcome[silent] = "pending"
    res_on = np.where(silent | (res_on > wd.end), np.nan, res_on)
    outcome[np.isnan(res_on) & (outcome != "pending")] = "applied"
    code = "INV" + str(y) + ("S" if tier == "specialized_sme" else "L")
    return {
        "invitation_id": concat(code, zero_pad(np.arange(1, k + 1), 6)),
        "uscc": wd.uscc[invited],
        "tier": np.full(k, tier, dtype=object),
        "invited_on": invited_on,
        "outcome": outcome,
        "outcome_on": res_on,
    }


def holdings_at_end(lad: Ladder, wd: World) -> dict[str, np.ndarray]:
    end = wd.end
    tech = holds(lad.tech_start, lad.tech_stop, end)
    return {
        "tech_sme": tech & (lad.tech_tier == "tech_sme"),
        "innovative_sme": tech & (lad.tech_tier == "innovative_sme"),
        "specialized_sme": holds(lad.spec_start, lad.spec_stop, end),
        "little_giant": holds(lad.lg_start, lad.lg_stop, end),
    }
