"""Facts that follow from capability: IP, awards, talents, investors, supply chains, compliance.

Each generator draws per-company counts, expands them with np.repeat and fills the
rows with vectorized draws; tables are dicts of column arrays, plus private
columns (prefixed `_`) the ladder needs and the writer drops.
"""

from __future__ import annotations

import numpy as np

from discovery.simulation.base import (
    GroupSampler,
    add_years,
    concat,
    make_uscc,
    pick,
    sigmoid,
    weighted_choice,
    words,
    year_of,
    ymd,
    zero_pad,
)
from discovery.simulation.world import World
from graph.contract import CLASS_ONE_IP_TYPES, CLASS_TWO_IP_TYPES, COMPLIANCE_KINDS

Table = dict[str, np.ndarray]
YEAR = 365.25


def between(rng: np.random.Generator, lo: np.ndarray, hi: float | np.ndarray, skew: float = 1.0):
    """Whole day numbers in [lo, hi]; skew < 1 favours recent dates."""
    return np.floor(lo + rng.random(len(lo)) ** skew * np.maximum(hi - lo, 0.0))


# ---------------------------------------------------------------- patents
# (type, grant delay in years (min, max), share of applications granted)
_GRANT = {
    "invention": (1.3, 3.5, 0.7),
    "ic_layout": (0.3, 0.8, 0.95),
    "plant_variety": (1.5, 3.0, 0.7),
    "new_drug": (2.0, 5.0, 0.6),
    "utility_model": (0.5, 1.2, 0.95),
    "design": (0.3, 0.8, 0.97),
    "software_copyright": (0.1, 0.4, 1.0),
}


def patents(rng: np.random.Generator, wd: World) -> Table:
    n, c, s = wd.n, wd.capability, wd.scale
    ind = words().industries
    soft = np.isin(ind["industry_code"].str[0].to_numpy(), ["I", "M"])[wd.industry]
    lam = {
        "class_one": 2.0 * np.exp(-0.7 + 1.15 * c + 0.35 * s),
        "utility_model": np.exp(-0.9 + 0.5 * c + 0.35 * s) * np.where(soft, 0.2, 1.0),
        "design": 0.15 * np.exp(0.3 * s),
        "software_copyright": 0.2 * np.exp(0.4 * c) * np.where(soft, 4.0, 1.0),
    }
    owner_parts, type_parts = [], []
    for kind, rate in lam.items():
        k = rng.poisson(rate)
        owners = np.repeat(np.arange(n), k)
        if kind == "class_one":
            # Chip, drug and seed makers hold some of their class-I rights in those forms.
            alt = ind["class_one_alt"].to_numpy(dtype=object)[wd.industry[owners]]
            use_alt = (alt != "") & (rng.random(len(owners)) < 0.25)
            types = np.where(use_alt, alt, "invention").astype(object)
        else:
            types = np.full(len(owners), kind, dtype=object)
        owner_parts.append(owners)
        type_parts.append(types)
    owner = np.concatenate(owner_parts)
    ip_type = np.concatenate(type_parts)
    r = len(owner)

    self_filed = rng.random(r) < 0.92
    lo = np.maximum(wd.established[owner], ymd(2008))
    filed = between(rng, lo, wd.end, 0.6)
    # Acquired rights were filed by someone else, often before the buyer existed.
    filed = np.where(self_filed, filed, filed - np.floor(rng.random(r) * 3 * YEAR))
    grant_min = _lookup(ip_type, {t: g[0] for t, g in _GRANT.items()})
    grant_max = _lookup(ip_type, {t: g[1] for t, g in _GRANT.items()})
    grant_share = _lookup(ip_type, {t: g[2] for t, g in _GRANT.items()})
    decided = filed + np.floor((grant_min + rng.random(r) * (grant_max - grant_min)) * YEAR)
    succeeds = (rng.random(r) < grant_share) | ~self_filed  # bought rights are granted ones
    granted = np.where(succeeds & (decided <= wd.end), decided, np.nan)
    # Refused applications vanish from the register; undecided ones show as pending.
    keep = succeeds | (decided > wd.end)
    lapses = rng.random(r) < 0.15
    lapsed = granted + np.floor((1 + rng.random(r) * 9) * YEAR)
    lapsed = np.where(lapses & (lapsed <= wd.end), lapsed, np.nan)

    owner, ip_type, filed, granted, lapsed, self_filed = (
        a[keep] for a in (owner, ip_type, filed, granted, lapsed, self_filed)
    )
    r = len(owner)
    ip_id = _ip_ids(rng, ip_type, granted, filed)
    rank = np.ones(r, dtype=np.int64)

    # Co-applicants (ranks 2-4) on some rights: partners are drawn by capability.
    co = np.flatnonzero(rng.random(r) < 0.10)
    extra = rng.integers(1, 4, len(co))
    right = np.repeat(co, extra)
    co_rank = 2 + (np.arange(len(right)) - np.repeat(np.cumsum(extra) - extra, extra))
    partner = weighted_choice(rng, np.exp(0.8 * c), len(right))
    ok = partner != owner[right]
    right, co_rank, partner = right[ok], co_rank[ok], partner[ok]
    pair = np.unique(right * np.int64(n) + partner, return_index=True)[1]
    right, co_rank, partner = right[np.sort(pair)], co_rank[np.sort(pair)], partner[np.sort(pair)]

    idx = np.concatenate([np.arange(r), right])
    comp = np.concatenate([owner, partner])
    ranks = np.concatenate([rank, co_rank])
    selfs = np.concatenate([self_filed, np.ones(len(right), dtype=bool)])
    # Each company appears once per right: keep the best rank if drawn twice.
    order = np.lexsort((ranks, comp, idx))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (idx[order][1:] != idx[order][:-1]) | (comp[order][1:] != comp[order][:-1])
    sel = np.sort(order[first])
    idx, comp, ranks, selfs = idx[sel], comp[sel], ranks[sel], selfs[sel]
    return {
        "ip_id": ip_id[idx],
        "uscc": wd.uscc[comp],
        "applicant_rank": ranks,
        "ip_type": ip_type[idx],
        "filed_on": filed[idx],
        "granted_on": granted[idx],
        "self_filed": selfs,
        "lapsed_on": lapsed[idx],
        "_company": comp,
    }


def _lookup(keys: np.ndarray, table: dict[str, float]) -> np.ndarray:
    names = np.asarray(list(table), dtype=object)
    vals = np.asarray(list(table.values()), dtype=float)
    pos = {k: i for i, k in enumerate(names)}
    codes = np.zeros(len(keys), dtype=np.int64)
    for k, i in pos.items():  # a loop over the seven types, not over rows
        codes[keys == k] = i
    return vals[codes]


def _ip_ids(rng: np.random.Generator, ip_type: np.ndarray, granted: np.ndarray, filed: np.ndarray):
    """Publication / registration numbers in the formats of CNIPA, CNIPA-IC, MARA, NMPA, CPCC."""
    r = len(ip_type)
    serial = rng.permutation(r) + 10_000_000  # unique across all rights
    s8, s9 = zero_pad(serial, 8), zero_pad(serial, 9)
    fy = year_of(filed).astype(str).astype(object)
    out = np.empty(r, dtype=object)
    inv = ip_type == "invention"
    out[inv] = concat("CN1", s8[inv], np.where(np.isnan(granted[inv]), "A", "B").astype(object))
    for kind, head, tail in (("utility_model", "CN2", "U"), ("design", "CN3", "S")):
        m = ip_type == kind
        out[m] = concat(head, s8[m], tail)
    m = ip_type == "ic_layout"
    out[m] = concat("BS.", s9[m])
    m = ip_type == "plant_variety"
    out[m] = concat("CNA", s9[m])
    m = ip_type == "new_drug"
    out[m] = concat("国药准字H", s8[m])
    m = ip_type == "software_copyright"
    out[m] = concat(fy[m], "SR", s8[m])
    return out


def ip_counts(pat: Table, n: int, at: np.ndarray | float) -> dict[str, np.ndarray]:
    """Per company at its day `at` (one day or one per company): rights in force by class,
    and class-I that count for 小巨人 (self-filed, applicant rank ≤ 3)."""
    comp = pat["_company"]
    when = np.broadcast_to(np.asarray(at, dtype=float), (n,))[comp]
    in_force = (pat["granted_on"] <= when) & ~(pat["lapsed_on"] <= when)
    one = in_force & np.isin(pat["ip_type"], CLASS_ONE_IP_TYPES)
    two = in_force & np.isin(pat["ip_type"], CLASS_TWO_IP_TYPES)
    own = one & pat["self_filed"] & (pat["applicant_rank"] <= 3)
    return {
        "class_one": np.bincount(comp[one], minlength=n),
        "class_two": np.bincount(comp[two], minlength=n),
        "class_one_own": np.bincount(comp[own], minlength=n),
    }


# ---------------------------------------------------------------- awards and talents
_AWARD_CATEGORIES = ("sci_tech_progress", "invention", "natural_science", "quality", "other")
_AWARD_SHARES = np.array([0.5, 0.15, 0.03, 0.15, 0.17])


def awards(rng: np.random.Generator, wd: World) -> Table:
    w = words()
    c, s = wd.capability, wd.scale
    owner = np.repeat(np.arange(wd.n), rng.poisson(0.09 * np.exp(1.1 * c + 0.3 * s)))
    a = len(owner)
    u = rng.random(a)
    p_nat = sigmoid(-3.5 + 1.2 * c[owner])
    level = np.where(u < p_nat, "national", np.where(u < p_nat + 0.45, "provincial", "municipal"))
    cat_i = weighted_choice(rng, _AWARD_SHARES, a)
    category = np.asarray(_AWARD_CATEGORIES, dtype=object)[cat_i]
    national_name = np.asarray([w.names["awards"][k][0] for k in _AWARD_CATEGORIES], dtype=object)
    suffix = np.asarray([w.names["awards"][k][1] for k in _AWARD_CATEGORIES], dtype=object)
    prov = w.regions["province"].to_numpy(dtype=object)[wd.region[owner]]
    city = w.regions["city"].to_numpy(dtype=object)[wd.region[owner]]
    name = np.where(
        level == "national",
        national_name[cat_i],
        np.where(level == "provincial", concat(prov, suffix[cat_i]), concat(city, suffix[cat_i])),
    )
    u = rng.random(a)
    prize = np.where(
        level == "national",
        np.where(u < 0.02, "special", np.where(u < 0.22, "first", "second")),
        np.where(
            u < 0.01, "special", np.where(u < 0.16, "first", np.where(u < 0.5, "second", "third"))
        ),
    ).astype(object)
    prize[np.isin(category, ["quality", "other"])] = None  # 质量奖 and 专利奖 have no grades
    category[rng.random(a) < 0.05] = None
    lo = np.maximum(wd.established[owner] + 2 * YEAR, ymd(2010))
    awarded = between(rng, lo, wd.end, 0.8)
    ok = lo <= wd.end
    year = year_of(awarded).astype(str).astype(object)
    award_id = concat("AW", year, zero_pad(rng.permutation(a) + 1, 7))
    cols = {
        "award_id": award_id,
        "uscc": wd.uscc[owner],
        "name": name.astype(object),
        "level": level.astype(object),
        "category": category,
        "prize": prize,
        "awarded_on": awarded,
    }
    return {k: v[ok] for k, v in cols.items()}


def talents(rng: np.random.Generator, wd: World) -> Table:
    programs = words().names["talent_programs"]
    c, s = wd.capability, wd.scale
    owner = np.repeat(np.arange(wd.n), rng.poisson(0.06 * np.exp(1.2 * c + 0.3 * s)))
    t = len(owner)
    u = rng.random(t)
    p_nat = sigmoid(-2.5 + 0.8 * c[owner])
    level = np.where(u < p_nat, "national", np.where(u < p_nat + 0.4, "provincial", "municipal"))
    program = np.empty(t, dtype=object)
    for lv in ("national", "provincial", "municipal"):
        m = level == lv
        program[m] = pick(rng, programs[lv], int(m.sum()))
    lo = np.maximum(wd.established[owner], ymd(2012))
    joined = between(rng, lo, wd.end, 0.8)
    left = joined + np.floor((1 + rng.random(t) * 6) * YEAR)
    left = np.where((rng.random(t) < 0.25) & (left <= wd.end), left, np.nan)
    return {
        "person_id": concat("TP", zero_pad(rng.permutation(t) + 1, 9)),
        "uscc": wd.uscc[owner],
        "program": program,
        "level": level.astype(object),
        "joined_on": joined,
        "left_on": left,
    }


# ---------------------------------------------------------------- investments
_ROUND_AMOUNT = {  # median amount (万元) and typical stake (%) per round
    "seed": (150, 15),
    "angel": (400, 12),
    "A": (2000, 15),
    "B": (6000, 12),
    "C": (15000, 9),
    "D": (25000, 7),
    "pre_ipo": (30000, 5),
    "strategic": (5000, 8),
    "other": (3000, 6),
}


def investments(rng: np.random.Generator, wd: World) -> Table:
    """Deals by a shared pool of investors; gov funds and top VCs seek capable firms."""
    w = words()
    n, c = wd.n, wd.capability
    # Institutional pool: each investor has an activity (portfolio size) and a prestige.
    m = max(30, n // 40)
    inst_type = np.asarray(["vc", "pe", "gov_fund", "other"], dtype=object)[
        weighted_choice(rng, np.array([0.55, 0.22, 0.13, 0.10]), m)
    ]
    activity = rng.pareto(1.3, m) + 1.0
    prestige = rng.standard_normal(m) + 0.6 * (inst_type == "gov_fund")
    inst_region = weighted_choice(rng, w.regions["weight"].to_numpy(), m)
    inst_id = make_uscc(
        w.regions["region_code"].to_numpy()[inst_region], wd.spare_orgs[:m].astype(np.int64)
    )
    inst_name = np.empty(m, dtype=object)
    syl = w.names["brand_syllables"]
    for kind in ("vc", "pe", "gov_fund", "other"):
        sel = inst_type == kind
        k = int(sel.sum())
        inst_name[sel] = concat(
            w.regions["city"].to_numpy(dtype=object)[inst_region[sel]],
            pick(rng, syl, k),
            pick(rng, syl, k),
            pick(rng, w.names["investor_suffixes"][kind], k),
        )
    national = np.flatnonzero(inst_type == "gov_fund")[: len(w.names["national_gov_funds"])]
    inst_name[national] = np.asarray(w.names["national_gov_funds"], dtype=object)[: len(national)]
    prestige[national] += 1.5

    deals = rng.poisson(0.22 * np.exp(0.8 * c - 0.3 * wd.large))
    company = np.repeat(np.arange(n), deals)
    d = len(company)
    cc = c[company]
    u = rng.random(d)
    deal_kind = np.where(u < 0.10, "angel", np.where(u < 0.22, "corporate", "inst"))
    # Merit-seeking deals draw from prestige-weighted investors, the rest by activity.
    merit = rng.random(d) < sigmoid(1.2 * cc - 0.5)
    by_activity = weighted_choice(rng, activity, d)
    by_prestige = weighted_choice(rng, activity * np.exp(1.5 * prestige), d)
    inv = np.where(merit, by_prestige, by_activity)
    investor_id = inst_id[inv].copy()
    investor_name = inst_name[inv].copy()
    investor_type = inst_type[inv].copy()
    # Corporate investors are the chain leaders (large companies) of the same world.
    large = np.flatnonzero(wd.large)
    corp = np.flatnonzero(deal_kind == "corporate") if len(large) else np.zeros(0, dtype=np.int64)
    leader = (
        large[weighted_choice(rng, np.exp(0.5 * wd.scale[large]), len(corp))] if len(corp) else corp
    )
    investor_id[corp] = wd.uscc[leader]
    investor_name[corp] = wd.name[leader]
    investor_type[corp] = "corporate"
    keep = np.ones(d, dtype=bool)
    keep[corp[leader == company[corp]]] = False  # a leader does not invest in itself
    angel = deal_kind == "angel"
    k = int(angel.sum())
    angel_no = rng.integers(0, max(50, n // 20), k)  # angels also invest repeatedly
    investor_id[angel] = concat("AN", zero_pad(angel_no, 8))
    investor_name[angel] = concat(
        pick(rng, w.names["surnames"], k), pick(rng, w.names["given_names"], k)
    )
    investor_type[angel] = "angel"
    lo = wd.established[company] + 180
    invested = between(rng, lo, wd.end, 0.7)
    keep &= lo <= wd.end
    # Round follows the order of a company's deals: seed/angel → A → B → …
    order = np.lexsort((invested, company))
    seq = np.empty(d, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(deals)[:-1]])
    seq[order] = np.arange(d) - np.repeat(starts, deals)
    ladder = np.asarray(["A", "B", "C", "D", "pre_ipo"], dtype=object)
    young = (invested - wd.established[company]) < 3 * YEAR
    rnd = ladder[np.minimum(seq, 4)].astype(object)
    rnd[(seq == 0) & young] = np.where(
        rng.random(int(((seq == 0) & young).sum())) < 0.5, "seed", "angel"
    )
    rnd[investor_type == "angel"] = "angel"
    rnd[investor_type == "corporate"] = "strategic"
    rnd[(investor_type == "gov_fund") & (rng.random(d) < 0.3)] = "other"
    med = _lookup(rnd, {r: v[0] for r, v in _ROUND_AMOUNT.items()})
    pct = _lookup(rnd, {r: v[1] for r, v in _ROUND_AMOUNT.items()})
    true_amount = np.round(med * np.exp(0.6 * rng.standard_normal(d) + 0.2 * cc), 2)
    equity = np.round(np.clip(pct * np.exp(0.35 * rng.standard_normal(d)), 0.1, 60.0), 2)
    amount = np.where(rng.random(d) < 0.15, np.nan, true_amount)  # not disclosed
    equity[rng.random(d) < 0.2] = np.nan
    rnd[rng.random(d) < 0.05] = None
    cols = {
        "investor_id": investor_id,
        "investor_name": investor_name,
        "investor_type": investor_type,
        "investee_uscc": wd.uscc[company],
        "invested_on": invested,
        "round": rnd,
        "amount_wan": amount,
        "equity_pct": equity,
        "_amount_wan": true_amount,  # known to the reviewers even when not disclosed
        "_company": company,
    }
    cols = {k: v[keep] for k, v in cols.items()}
    # The key is (investor, investee, date): drop the rare repeat.
    key = concat(cols["investor_id"], cols["investee_uscc"], cols["invested_on"].astype(str))
    first = np.sort(np.unique(key, return_index=True)[1])
    return {k: v[first] for k, v in cols.items()}


# ---------------------------------------------------------------- supply chains
def supply_links(rng: np.random.Generator, wd: World) -> Table:
    """A buyer-seller network: heavy-tailed buyer fitness (a static preferential-attachment
    model), locality by industry division and province, chain leaders buying from the
    capable."""
    n, c, s = wd.n, wd.capability, wd.scale
    m = int(6.8 * n)
    fitness = (rng.pareto(1.6, n) + 1.0) * np.exp(0.5 * s) * np.where(wd.large, 8.0, 1.0)
    supplier_w = np.exp(0.4 * c + 0.4 * s)
    capable_w = np.exp(1.3 * c + 0.3 * s) * ~wd.large
    by_division = GroupSampler(wd.division, supplier_w)
    by_province = GroupSampler(wd.province, supplier_w)
    capable_by_division = GroupSampler(wd.division, capable_w)

    leader_link = rng.random(m) < 0.25
    large = np.flatnonzero(wd.large)
    customer = weighted_choice(rng, fitness, m)
    if len(large):
        n_lead = int(leader_link.sum())
        customer[leader_link] = large[weighted_choice(rng, fitness[large], n_lead)]
    supplier = np.full(m, -1, dtype=np.int64)
    u = rng.random(m)
    local_div = u < 0.45
    local_prov = (u >= 0.45) & (u < 0.7)
    sel = leader_link & (u < 0.6)
    supplier[sel] = capable_by_division.draw(rng, wd.division[customer[sel]])
    sel = leader_link & (supplier < 0)
    supplier[sel] = weighted_choice(rng, capable_w, int(sel.sum()))
    sel = ~leader_link & local_div
    supplier[sel] = by_division.draw(rng, wd.division[customer[sel]])
    sel = ~leader_link & local_prov
    supplier[sel] = by_province.draw(rng, wd.province[customer[sel]])
    sel = supplier < 0
    supplier[sel] = weighted_choice(rng, supplier_w, int(sel.sum()))

    # ~3 % of links touch a counterparty without a profile.
    n_ext = len(wd.external_uscc)
    u = rng.random(m)
    ext = rng.integers(0, n_ext, m) + n
    supplier = np.where(u < 0.015, ext, supplier)
    customer = np.where((u >= 0.015) & (u < 0.03), ext, customer)
    ok = supplier != customer
    pair = supplier[ok] * np.int64(n + n_ext) + customer[ok]
    first = np.sort(np.unique(pair, return_index=True)[1])
    supplier, customer = supplier[ok][first], customer[ok][first]
    k = len(supplier)

    codes = np.concatenate([wd.uscc, wd.external_uscc])
    est = np.concatenate([wd.established, np.full(n_ext, ymd(2000))])
    lo = np.maximum(np.maximum(est[supplier], est[customer]), ymd(2010))
    start = between(rng, lo, wd.end, 0.7)
    end_on = between(rng, start, wd.end)
    end_on = np.where(rng.random(k) < 0.25, end_on, np.nan)
    rev = np.concatenate([wd.revenue[:, -1], np.full(n_ext, 2000.0)])
    rev = np.nan_to_num(rev, nan=100.0)
    amount = np.round(rev[supplier] * 0.04 * np.exp(0.9 * rng.standard_normal(k)), 2)
    amount[rng.random(k) < 0.2] = np.nan
    return {
        "supplier_uscc": codes[supplier],
        "customer_uscc": codes[customer],
        "start_on": start,
        "end_on": end_on,
        "amount_wan": amount,
    }


# ---------------------------------------------------------------- compliance
def compliance_events(rng: np.random.Generator, wd: World) -> Table:
    """Listings and violations; the weaker and the younger are listed more often."""
    n, c = wd.n, wd.capability
    # (kind, base probability, share removed/rectified, days until removal (min, max))
    spec = [
        ("abnormal_operations", 0.026, 0.7, (30, 900)),
        ("serious_dishonesty", 0.005, 0.4, (365, 1500)),
    ] + [(k, 0.0015, 0.6, (30, 365)) for k in COMPLIANCE_KINDS[2:]]
    parts: list[Table] = []
    for kind, base, removed, (dmin, dmax) in spec:
        who = np.flatnonzero(rng.random(n) < base * np.exp(-0.45 * c - 0.1))
        k = len(who)
        start = between(rng, wd.established[who], wd.end, 0.7)
        stop = start + rng.integers(dmin, dmax + 1, k)
        stop = np.where((rng.random(k) < removed) & (stop <= wd.end), stop, np.nan)
        parts.append(
            {
                "uscc": wd.uscc[who],
                "kind": np.full(k, kind, dtype=object),
                "start_on": start,
                "end_on": stop,
                "_company": who,
            }
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def barred(events: Table, n: int, at: np.ndarray | float) -> np.ndarray:
    """Per company: barred at its date `at` (per the contract's rule)."""
    comp = events["_company"]
    when = np.broadcast_to(np.asarray(at, dtype=float), (n,))[comp]
    start, stop = events["start_on"], events["end_on"]
    open_kind = np.isin(events["kind"], ["abnormal_operations", "serious_dishonesty"])
    three_years_before = add_years(when, -3)
    hit = np.where(
        open_kind,
        (start <= when) & ~(stop <= when),
        (start > three_years_before) & (start <= when),
    )
    return np.bincount(comp[hit], minlength=n) > 0
