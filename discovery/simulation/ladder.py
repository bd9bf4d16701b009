"""The recognition ladder over the years: applications, decisions, certificates, feedback.

One loop over calendar years (never over companies). Each year: specialized and little
giant certificates that expire are re-examined, the national little-giant batch is
decided, the provinces decide their specialized-SME rounds, and the tech / innovative
SME evaluations run. Who applies depends on awareness and size much more than on
merit; who is approved is decided by the scenario's hidden review: rules on the true
figures, of which those on the quality score are the reviewers' judgement (with some
discretion either way) and the others are hard (firms know them, so few apply without
meeting them; a scenario may let reviewers waive one now and then).
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
from discovery.simulation.review import Sources, Verdict, verdict
from discovery.simulation.scenario import Scenario
from discovery.simulation.world import FIRST_FY, World

FIRST_ROUND = 2019  # first specialized / little giant round simulated
FIRST_TECH_ROUND = 2016
INNOVATIVE_SINCE = 2022  # 创新型中小企业 evaluations began in 2022
EVAL_NOISE = 0.6  # re-examinations: deviation of the reviewers from the true score (points)

# Propensity to apply (logit intercepts), calibrated for the pyramid 34 : 8 : 1.
TECH_BASE = -2.3
SPEC_BASE = -1.4
LG_BASE = -1.4


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


def run_ladder(
    rng: np.random.Generator,
    src: Sources,
    events: Table,
    quality: np.ndarray,
    sc: Scenario,
) -> Ladder:
    wd = src.wd
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
        q = quality[:, wd.fy(y - 1)]
        if y >= FIRST_ROUND:
            _recertify(rng, src, lad, events, y, q, sc)
            invited: dict[str, np.ndarray] = {}
            if y == pilot_year:
                invited = _invite(rng, src, lad, events, y, pilot_provinces, q, sc)
            for tier in ("little_giant", "specialized_sme"):
                invite_boost[:] = 0.0
                if tier in invited:
                    invite_boost[invited[tier]] = 2.0
                app = _round(rng, src, lad, events, y, tier, q, sc, invite_boost, prov_offset)
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


def _recertify(rng, src: Sources, lad, events, y, q, sc: Scenario) -> None:
    """Re-examination at expiry (复核): holders still meeting the review get a new certificate."""
    wd = src.wd
    for tier, stop in (("little_giant", lad.lg_stop), ("specialized_sme", lad.spec_stop)):
        expiring = (year_of(stop) == y) & (stop <= wd.end) & ~np.isnan(stop)
        # only certificates that ran out, not revoked ones: the last row's expiry equals stop
        expiring &= lad.last_expiry[tier] == stop
        at = np.where(expiring, stop, wd.end)
        seen = q + EVAL_NOISE * rng.standard_normal(wd.n)
        still = verdict(src, sc.review.rules(tier), y, at, seen).all
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


def decide(
    rng: np.random.Generator, v: Verdict, who: np.ndarray, sc: Scenario
) -> tuple[np.ndarray, np.ndarray]:
    """First-application decisions of `who`: the score with some discretion either way,
    and the hard rules, of which reviewers waive one for a share of the approvals.

    Waivers go to applicants who pass the score and miss exactly one hard rule, at the
    rate that makes them `rule_waivers` of the round's approvals (fewer when too few
    such applicants exist). Returns (approved, waived).
    """
    k = len(who)
    discretion = sc.label_noise.discretion
    above = v.score[who]
    by_score = above ^ (rng.random(k) < np.where(above, discretion, discretion / 2))
    fails = (~v.met[~v.reviewed][:, who]).sum(axis=0)
    clean = by_score & (fails == 0)
    pool = by_score & (fails == 1)
    rate = sc.label_noise.rule_waivers
    wanted = rate / (1.0 - rate) * clean.sum()
    chance = min(1.0, wanted / pool.sum()) if pool.any() else 0.0
    waived = pool & (rng.random(k) < chance)
    return clean | waived, waived


def _round(rng, src: Sources, lad, events, y, tier, q, sc: Scenario, boost, prov_offset) -> Table:
    """One year's round for `tier`: who applies, what is decided, certificates issued."""
    wd = src.wd
    n, end = wd.n, wd.end
    if tier == "little_giant":
        applied = ymd(y, 3, 1) + rng.integers(0, 75, n)  # provincial recommendation
        batch = ymd(y, 7, 1) + float(rng.integers(0, 60))  # national batch announcement
        decided = np.full(n, batch)
        eligible = holds(lad.spec_start, lad.spec_stop, applied) & ~holds(
            lad.lg_start, lad.lg_stop, applied
        )
        logit = LG_BASE + 1.0 * wd.awareness + 0.4 * wd.scale + 0.8 * wd.capability
    else:
        applied = ymd(y, 3, 1) + prov_offset[wd.province] + rng.integers(0, 30, n)
        decided = applied + 100 + rng.integers(0, 90, n)  # late provinces decide next year
        eligible = (
            holds(lad.tech_start, lad.tech_stop, applied)
            & ~holds(lad.spec_start, lad.spec_stop, applied)
            & ~holds(lad.lg_start, lad.lg_stop, applied)
        )
        logit = SPEC_BASE + 1.2 * wd.awareness + 0.6 * wd.scale + 0.9 * wd.capability
    applied = applied.astype(float)
    decided = decided.astype(float)
    v = verdict(src, sc.review.rules(tier), y, applied, q)
    # Firms know their figures and patents: few apply without meeting the hard rules.
    shy = np.where(v.hard, 1.0, sc.self_selection.of(tier))
    eligible &= ~wd.large & (applied <= end) & (year_of(wd.established) <= y - 2)
    eligible &= ~barred(events, n, applied)
    applies = eligible & (rng.random(n) < shy * sigmoid(logit + boost))
    who = np.flatnonzero(applies)
    k = len(who)
    withdrawn = rng.random(k) < 0.04
    dec = np.where(withdrawn, applied[who] + rng.integers(10, 60, k), decided[who])
    approved, waived = decide(rng, v, who, sc)
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
        "_waived": waived,
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
            "_waived": np.zeros(k, dtype=bool),
        }
    )
    win = outcome == "approved"
    if win.any():
        row, stop = _cert(rng, wd, who[win], tier[win], dec[win])
        lad.certs.append(row)
        lad.tech_start[who[win]], lad.tech_stop[who[win]] = row["certified_on"], stop
        lad.tech_tier[who[win]] = tier[win]


def _invite(rng, src: Sources, lad, events, y, provinces, q, sc) -> dict[str, np.ndarray]:
    """A pilot round of invitations chosen by a naive rule (big revenue, many patents)."""
    wd = src.wd
    at = ymd(y, 2, 10)
    spec_hard = verdict(src, sc.review.rules("specialized_sme"), y, at, q).hard
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
    p = pos[invited]  # -1 (did not apply) picks the appended placeholder
    applied = p >= 0
    res = np.append(app["outcome"], "none")[p]
    res_on = np.append(app["decided_on"], np.nan)[p]
    outcome = np.select(
        [res == "approved", res == "rejected", res == "pending", res == "withdrawn"],
        ["approved", "rejected", "applied", "declined"],
        default="declined",
    ).astype(object)
    res_on = np.where(res == "pending", np.append(app["applied_on"], np.nan)[p], res_on)
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
