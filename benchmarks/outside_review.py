"""The hidden review and the recognition ladder of the outside economy (`outside_economy.py`).

Everything here reads the economy's TRUE facts, never the written tables: the yearly
figures of every company (also where no statement is on file), the true niche start
(also where the companies table leaves it empty), the full investment amounts (also
those written as undisclosed) and the true size class.

- `indicators(facts, day, last)`: the measures a reviewer reads at `day` (one date, or
  one per company), `last` being the latest fiscal year whose statements are due then.
- `review(ind, thresholds)`: one tier's named rules, built from a variant's thresholds
  (`RULES`); the verdict and the rules each company misses.
- `quality_scores`: the development-quality score (0-100) per company and fiscal year.
- `barred(facts, day)`: an open listing, or another serious event in the three years
  before `day`.
- `Ladder`: the science-and-innovation base, the yearly application rounds, the
  platform's record (certifications, applications, published scores, statements on
  file, invitations) and the truth at the decision date.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from benchmarks.outside_variants import ANNEX, BASE, LG, S

CLASS_ONE = ("invention", "ic_layout", "plant_variety", "new_drug")
NEVER = np.datetime64("NaT", "D")
ROUND_FIRST = 2019


def standard_in(v: dict, year: int) -> tuple[dict, dict]:
    """(the thresholds applicants read, the thresholds reviewers apply) in `year`'s round."""
    if "before" in v and year < v["until"]:
        return v["before"], v["before"]
    return ANNEX, v["review"]


#: how much a company's size adds to its awareness of the programme (micro .. large)
SIZE_AWARENESS = np.array([-0.6, 0.0, 0.4, -2.0])


def shift_years(days: np.ndarray, k: int) -> np.ndarray:
    """The same calendar day `k` years later (earlier when negative); Feb 29 to Feb 28."""
    days = np.asarray(days, dtype="datetime64[D]")
    month = days.astype("datetime64[M]")
    moved = (month + 12 * k).astype("datetime64[D]") + (days - month.astype("datetime64[D]"))
    return np.minimum(moved, (month + 12 * k + 1).astype("datetime64[D]") - 1)


class Facts:
    """The true economy as arrays, set by the generator.

    Yearly, (companies, years) from `first_year`: revenue, main, rd, profit, export,
    employees, rd_staff, quality. Per company: niche (NaT: no niche market), large (the
    true size class). Patents, one entry per right and applicant: ip_owner,
    ip_class_one, ip_own (self-filed with rank <= 3), ip_granted, ip_lapsed. Supply
    links: link_supplier, link_big (customer medium or large), link_start, link_end.
    Investments at their true amounts: inv_owner, inv_day, inv_amount. award_owner,
    award_day, talent_owner, talent_day. Compliance: comp_owner, comp_listing (abnormal
    operations or serious dishonesty), comp_grave (any kind but abnormal operations:
    revokes a recognition), comp_start, comp_end.
    """

    def __init__(self, first_year: int, **arrays: np.ndarray) -> None:
        self.first_year, self.quality = first_year, None
        self.__dict__.update(arrays)

    @property
    def n(self) -> int:
        return len(self.revenue)

    def col(self, name: str, year: int) -> np.ndarray:
        arr = getattr(self, name)
        i = year - self.first_year
        return arr[:, i] if 0 <= i < arr.shape[1] else np.zeros(len(arr))


def _per_company(day: np.ndarray | np.datetime64, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(day, dtype="datetime64[D]"), (n,))


def _count(owner: np.ndarray, mask: np.ndarray, n: int, weights: np.ndarray | None = None):
    return np.bincount(owner[mask], None if weights is None else weights[mask], minlength=n)


def _active(start: np.ndarray, end: np.ndarray, at: np.ndarray) -> np.ndarray:
    return (start <= at) & (np.isnat(end) | (end > at))


def barred(f: Facts, day: np.ndarray | np.datetime64) -> np.ndarray:
    day = _per_company(day, f.n)
    at = day[f.comp_owner]
    listed = f.comp_listing & _active(f.comp_start, f.comp_end, at)
    since = shift_years(day, -3)[f.comp_owner]
    recent = ~f.comp_listing & (f.comp_start > since) & (f.comp_start <= at)
    return _count(f.comp_owner, listed | recent, f.n) > 0


def indicators(f: Facts, day: np.ndarray | np.datetime64, last: int) -> dict[str, np.ndarray]:
    """The reviewers' measures at `day`, with fiscal year `last` the latest on file."""
    n, day = f.n, _per_company(day, f.n)
    rev, rev1, rev2 = (f.col("revenue", last - k) for k in range(3))
    rd, rd1 = f.col("rd", last), f.col("rd", last - 1)
    main, main1, main2 = (f.col("main", last - k) for k in range(3))
    at = day[f.ip_owner]  # own class-I rights in force: granted, not lapsed
    ip = f.ip_class_one & f.ip_own & (f.ip_granted <= at) & ~(f.ip_lapsed <= at)
    live = _active(f.link_start, f.link_end, day[f.link_supplier])
    since = shift_years(day, -2)[f.inv_owner]
    fresh = (f.inv_day <= day[f.inv_owner]) & (f.inv_day > since)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = ((main / main1 - 1) + (main1 / main2 - 1)) / 2
        return {
            "niche_years": np.where(np.isnat(f.niche), -1.0, (day - f.niche).astype(float) / 365.25),
            "revenue": rev, "rd": rd, "rd_2y": rd + rd1,
            "rd_share": np.nan_to_num(rd / rev), "rd_share_prev": np.nan_to_num(rd1 / rev1),
            "rd_share_2y": np.nan_to_num((rd + rd1) / (rev + rev1)),
            "main_share": np.nan_to_num(main / rev),
            "main_growth_2y": np.where(rev2 > 0, np.nan_to_num(growth, nan=-1, posinf=-1), -1.0),
            "equity_2y": _count(f.inv_owner, fresh, n, f.inv_amount),
            "class_one_own": _count(f.ip_owner, ip, n),
            "customers": _count(f.link_supplier, live, n),
            "big_customers": _count(f.link_supplier, live & f.link_big, n),
            "rd_staff_share": np.nan_to_num(f.col("rd_staff", last) / f.col("employees", last)),
            "quality": f.col("quality", last) if f.quality is not None else np.zeros(n),
        }  # fmt: skip


def _pct(x: float) -> str:
    return f"{100 * x:g}%"


def _band(i: dict[str, np.ndarray], v: tuple) -> np.ndarray:
    """R&D share by revenue band: >= 1 亿 both years at the top share, else the two-year share."""
    (top, top_share), (mid, mid_share) = v
    both = (i["rd_share"] >= top_share) & (i["rd_share_prev"] >= top_share)
    middle = (i["revenue"] >= mid) & (i["revenue"] < top) & (i["rd_share_2y"] >= mid_share)
    return ((i["revenue"] >= top) & both) | middle


Test = Callable[[dict[str, np.ndarray], object], np.ndarray]
#: threshold key -> (rule name for its value, test of the indicators against the value)
RULES: dict[str, tuple[Callable[[object], str], Test]] = {
    "niche_years": (lambda v: f"niche_years>={v:g}", lambda i, v: i["niche_years"] >= v),
    "main_share": (lambda v: f"main_share>={_pct(v)}", lambda i, v: i["main_share"] >= v),
    "main_growth": (lambda v: f"main_growth_2y>={_pct(v)}", lambda i, v: i["main_growth_2y"] >= v),
    "rd_expense": (lambda v: f"rd_expense>={v:g}", lambda i, v: i["rd"] >= v),
    "rd_share": (lambda v: f"rd_share>={_pct(v)}", lambda i, v: i["rd_share"] >= v),
    "rd_share_band": (lambda v: "rd_share_by_revenue_band", _band),
    "revenue_or_equity": (lambda v: f"revenue>={v[0]:g}_or_equity_2y>={v[1]:g}",
                          lambda i, v: (i["revenue"] >= v[0]) | (i["equity_2y"] >= v[1])),
    "revenue": (lambda v: f"revenue>={v:g}", lambda i, v: i["revenue"] >= v),
    "rd_2y": (lambda v: f"rd_2y>={v:g}", lambda i, v: i["rd_2y"] >= v),
    "class_one_ip": (lambda v: f"class_one_ip>={v}", lambda i, v: i["class_one_own"] >= v),
    "supply_role": (lambda v: "supply_chain_role",
                    lambda i, v: (i["big_customers"] >= v[0]) | (i["customers"] >= v[1])),
    "rd_staff_share": (lambda v: f"rd_staff_share>={_pct(v)}", lambda i, v: i["rd_staff_share"] >= v),
    "quality": (lambda v: f"quality>={v:g}", lambda i, v: i["quality"] >= v),
}  # fmt: skip


def review(
    ind: dict[str, np.ndarray], thresholds: dict
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(passes every rule, {rule name: missed}) for every company, rules in threshold order."""
    missed = {RULES[k][0](v): ~partial(RULES[k][1], v=v)(ind) for k, v in thresholds.items()}
    return ~np.logical_or.reduce(list(missed.values())), missed


def misses_text(missed: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The "|"-joined names of the rules each company misses ("" when none)."""
    out = np.full(n, "", dtype=object)
    for name, rows in missed.items():
        out[rows] = np.where(out[rows] == "", name, out[rows] + "|" + name)
    return out


def quality_scores(
    f: Facts, rng: np.random.Generator, class_two: np.ndarray, management: np.ndarray
):
    """Development quality per company and fiscal year (0-100), from the true figures.

    Growth up to 15 points, R&D share 20, IP in force at year end 20 (class I in full,
    class II a quarter), net margin 12, export share 8, awards and talents 8, focus on the
    main business 7, scale 10; plus management (a persistent company effect, partly the
    latent capability) and yearly noise.
    """
    n, years = f.revenue.shape
    firm, out = rng.normal(0, 3.0, n) + 3.0 * management, np.zeros((n, years))
    for k in range(years):
        end = np.datetime64(f"{f.first_year + k}-12-31")
        rev = f.revenue[:, k]
        held = (f.ip_granted <= end) & ~(f.ip_lapsed <= end)
        ip = _count(f.ip_owner, held & f.ip_class_one, n) + 0.25 * _count(
            f.ip_owner, held & class_two, n
        )
        rec = 0.5 * _count(f.award_owner, f.award_day <= end, n)
        rec += 0.3 * _count(f.talent_owner, f.talent_day <= end, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            part = [np.nan_to_num(x, posinf=1.0, neginf=0.0) for x in (
                rev / (f.revenue[:, k - 1] if k else rev / 1.05) - 1, f.rd[:, k] / rev,
                f.profit[:, k] / rev, f.export[:, k] / rev, f.main[:, k] / rev,
                np.log10(np.maximum(rev, 1) / 300) / 2,
            )]  # fmt: skip
        growth, share, margin, export, focus, scale = part
        score = (
            15 * np.clip((growth + 0.05) / 0.35, 0, 1)
            + 20 * np.clip(share / 0.08, 0, 1) + 20 * np.clip(np.log1p(ip) / np.log1p(12), 0, 1)
            + 12 * np.clip((margin + 0.02) / 0.15, 0, 1) + 8 * np.clip(export / 0.3, 0, 1)
            + 8 * np.clip(rec, 0, 1) + 7 * np.clip((focus - 0.5) / 0.45, 0, 1)
            + 10 * np.clip(scale, 0, 1) + firm + rng.normal(0, 3.0, n)
        )  # fmt: skip
        out[:, k] = np.where(rev > 0, np.clip(score, 0, 100), 0.0)
    return np.round(out, 1)


# -- the recognition ladder ----------------------------------------------------------------


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def in_year(year, month: int, span: int, rng: np.random.Generator, size) -> np.ndarray:
    """Random days within `span` days from the first of `month` of `year` (scalar or array)."""
    first = (np.asarray(year) - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1)
    return first.astype("datetime64[D]") + rng.integers(0, span, size)


def take_text(values: np.ndarray, idx: np.ndarray) -> pd.Series:
    """values[idx] as a text column, without a Python string per row."""
    return pd.Series(values, dtype="str").take(idx).reset_index(drop=True)


def money(values: np.ndarray, share: float, r: np.random.Generator) -> np.ndarray:
    """Money rounded to 0.01 万元, a `share` of it left empty."""
    return np.where(r.random(len(values)) < share, np.nan, np.round(values, 2))


def last_year(day: np.datetime64) -> int:
    """The latest fiscal year whose statements are due (by May 31) at `day`."""
    year, month = int(str(day)[:4]), int(str(day)[5:7])
    return year - 1 if month >= 6 else year - 2


def rationed(ok: np.ndarray, score: np.ndarray, province: np.ndarray, share: float) -> np.ndarray:
    """`ok` kept within each province's places: `share` of the approvals `ok` holds across
    the country, dealt to the provinces by their number of companies (largest remainders);
    where a province's approvals exceed its places, the highest quality scores keep them."""
    codes, prov = np.unique(province, return_inverse=True)
    due = share * ok.sum() * np.bincount(prov, minlength=len(codes)) / len(ok)
    places = np.floor(due)
    left = round(due.sum() - places.sum())
    places[np.argsort(places - due, kind="stable")[:left]] += 1
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((-score[idx], prov[idx]))]
    group = prov[order]
    first = np.searchsorted(group, group)  # the position of its province's best, sorted
    kept = np.zeros(len(ok), bool)
    kept[order[np.arange(len(order)) - first < places[group]]] = True
    return kept


class Ladder:
    """Certifications and applications of one world (an `outside_economy.World`)."""

    def __init__(self, world) -> None:
        self.w, self.f, self.n, self.end, self.v = world, world.f, world.n, world.end, world.v
        self.final = int(str(self.end)[:4])
        self.certs: list[tuple] = []  # (owner, tier, certified_on, expires_on, revoked_on)
        self.apps: list[tuple] = []  # (owner, tier, applied_on, decided_on, outcome)
        self.applied = {S: np.zeros(self.n, bool), LG: np.zeros(self.n, bool)}
        self.applied_in: dict[int, np.ndarray] = {}
        self.latest = {S: np.zeros(self.n, np.int64), LG: np.zeros(self.n, np.int64)}

    def add(self, owner: np.ndarray, tier: str, on: np.ndarray) -> np.ndarray:
        """Certify `owner` from `on` for three years; a grave event while held revokes it."""
        exp, top = shift_years(on, 3), np.iinfo(np.int64).max
        rev = np.full(len(owner), top)
        if tier in (S, LG) and len(owner):
            slot = np.full(self.n, -1)
            slot[owner] = np.arange(len(owner))
            s = slot[self.f.comp_owner]
            hit = self.f.comp_grave & (s >= 0)
            s, start = s[hit], self.f.comp_start[hit]
            inside = (start >= on[s]) & (start < exp[s])
            np.minimum.at(rev, s[inside], start[inside].astype(np.int64) + 90)
            self.latest[tier][owner] = np.maximum(self.latest[tier][owner], exp.astype(np.int64))
        day = np.where(rev == top, 0, rev).astype("datetime64[D]")
        self.certs.append(
            (owner, tier, on, exp, np.where((rev == top) | (day > self.end), NEVER, day))
        )
        return exp

    def holds(self, tiers: tuple[str, ...], day: np.ndarray | np.datetime64) -> np.ndarray:
        day, out = _per_company(day, self.n), np.zeros(self.n, bool)
        for owner, tier, on, exp, revoked in self.certs:
            if tier in tiers:
                at = day[owner]
                out[owner[(on <= at) & (at < exp) & ~(revoked <= at)]] = True
        return out

    def base(self) -> None:
        """tech_sme (from 2017) and innovative_sme (from 2022): broad, renewed at expiry."""
        w, r, n = self.w, self.w.rng("ladder.base"), self.n
        rd = np.log10(np.maximum(self.f.rd[:, -2], 1) / 50)
        z = 0.8 * w.c_rd + 0.5 * w.c_ip + 0.3 * w.cap + 0.6 * rd + r.normal(0, 0.6, n)
        for tier, first, shift, renew in (
            ("tech_sme", 2017, -1.35, 0.7),
            ("innovative_sme", 2022, -1.8, 0.8),
        ):
            lo = np.maximum(first, w.est_year + 1)
            year = lo + (r.random(n) * (self.final + 1 - lo)).astype(int)
            chosen = (r.random(n) < sigmoid(1.6 * z + shift)) & ~self.f.large & (year <= self.final)
            owner = np.flatnonzero(chosen)
            on = np.minimum(in_year(year[owner], 1, 365, r, len(owner)), self.end)
            while len(owner):
                exp = self.add(owner, tier, on)
                again = (r.random(len(owner)) < renew) & (exp <= self.end)
                owner, on = owner[again], exp[again]

    def rounds(self) -> None:
        """Yearly rounds: self-selected applications, decided on the true figures with noise.

        A company applies from its own noisy reading of the published thresholds (`ANNEX`),
        its region's and size's awareness, earlier rejections and an invitation; reviewers
        apply the variant's rules to the true figures, wrong at the variant's noise rate.
        """
        w, f, n, v, r = self.w, self.f, self.n, self.v, self.w.rng("ladder.rounds")
        bias, aware, sel = (
            r.normal(0, v["perception"] / 2, n),
            w.awareness + SIZE_AWARENESS[w.size],
            v["selection"],
        )
        rejected = {S: np.zeros(n, bool), LG: np.zeros(n, bool)}
        self.invited_on = in_year(self.final, 2, 40, r, n)
        pool = self.holds(BASE, self.invited_on) & ~self.holds((S, LG), self.invited_on)
        self.invited, self.last_s = pool & (r.random(n) < 0.012), None
        for year in range(ROUND_FIRST, self.final + 1):
            applied_on, decided_on = in_year(year, 4, 91, r, n), in_year(year, 9, 91, r, n)
            ind = indicators(f, decided_on, year - 1)
            clean = ~barred(f, decided_on) & ~f.large
            due = np.datetime64(f"{year}-12-31").astype(np.int64)
            s_now, lg_now = self.holds((S,), applied_on), self.holds((LG,), applied_on)
            base_now = self.holds(BASE, applied_on)
            renew_s, renew_lg = s_now & (self.latest[S] <= due), lg_now & (self.latest[LG] <= due)
            plans = {  # eligible, holds the tier below, renewal, level, slope per perceived miss
                S: (base_now & ~lg_now & (~s_now | renew_s), base_now, renew_s, -1.6 + v["eager"], 1.3),
                LG: ((s_now & ~lg_now) | renew_lg, s_now | lg_now, renew_lg, -2.7, 1.0),
            }  # fmt: skip
            self.applied_in[year] = np.zeros(n, bool)
            published, reviewed = standard_in(v, year)
            for tier, (eligible, lower, renew, level, slope) in plans.items():
                seen = {
                    k: x * np.exp(bias + r.normal(0, v["perception"], n)) for k, x in ind.items()
                }
                m = np.sum(list(review(seen, published[tier])[1].values()), axis=0)
                logit = level + aware + sel * (1.8 - slope * m) + (1 - sel) * (1.8 - 2 * slope)
                logit += 3.0 * renew - 0.7 * rejected[tier] - 1.5 * ~clean
                if tier == S and year == self.final:
                    logit += 1.5 * self.invited
                go = eligible & (r.random(n) < sigmoid(logit)) & (applied_on <= self.end)
                ok = lower & clean & (review(ind, reviewed[tier])[0] ^ (r.random(n) < v["noise"]))
                if "quota" in v:  # only applicants compete for a province's places
                    ok = ok & ~go | rationed(ok & go, ind["quality"], w.prov, v["quota"][tier])
                withdrawn = r.random(n) < 0.02
                decided = np.where(withdrawn, applied_on + r.integers(10, 60, n), decided_on)
                outcome = np.where(withdrawn, "withdrawn", np.where(ok, "approved", "rejected"))
                outcome = np.where(decided > self.end, "pending", outcome)
                decided = np.where(decided > self.end, NEVER, decided)
                o = np.flatnonzero(go)
                self.apps.append((o, tier, applied_on[o], decided[o], outcome[o]))
                win = np.flatnonzero(go & (outcome == "approved"))
                self.add(win, tier, decided[win])
                rejected[tier] |= go & (outcome == "rejected")
                self.applied[tier] |= go
                self.applied_in[year] |= go
                if tier == S and year == self.final:
                    self.last_s = (go, outcome, decided)

    def tables(self, codes: np.ndarray) -> dict[str, pd.DataFrame]:
        """The platform's record: certifications, applications, scores, statements, invitations."""

        def frame(rows: list[tuple], cols: tuple[str, ...]) -> pd.DataFrame:
            parts = [dict(zip(cols, (codes[x[0]], x[1], *x[2:]), strict=True)) for x in rows]
            return pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)

        out = {
            "certifications": frame(self.certs, ("uscc", "tier", "certified_on", "expires_on", "revoked_on")),
            "applications": frame(self.apps, ("uscc", "tier", "applied_on", "decided_on", "outcome")),
        }  # fmt: skip
        r, scores = self.w.rng("ladder.scores"), []
        for year in range(ROUND_FIRST - 1, self.final):  # holders and that year's applicants
            on = in_year(year + 1, 3, 150, r, self.n)
            pub = self.holds((S, LG), on) | self.applied_in.get(year + 1, np.zeros(self.n, bool))
            if "publish_by" in self.v:  # a good score is published of its own accord more often
                cut, above, below = self.v["publish_by"]
                own = np.where(self.f.col("quality", year) >= cut, above, below)
                pub = pub | (self.w.rng(f"ladder.published.{year}").random(self.n) < own)
            o = np.flatnonzero(pub & (on <= self.end) & (self.f.col("revenue", year) > 0))
            score = self.f.col("quality", year)[o]
            scores.append(
                pd.DataFrame({"uscc": codes[o], "year": year, "score": score, "computed_on": on[o]})
            )
        out["quality_scores"] = pd.concat(scores, ignore_index=True)
        nothing = (np.zeros(self.n, bool), np.full(self.n, ""), np.full(self.n, NEVER))
        go, outcome, decided = self.last_s or nothing
        o = np.flatnonzero(self.invited)
        said = np.where(
            go[o], np.where(outcome[o] == "withdrawn", "applied", outcome[o]), "declined"
        )
        said = np.where(~go[o] & (r.random(len(o)) < 0.3), "pending", said)
        when = np.where(go[o], decided[o], self.invited_on[o] + r.integers(20, 80, len(o)))
        when = np.where((said == "pending") | (when > self.end), NEVER, when)
        out["financials"] = self.statements()
        out["invitations"] = pd.DataFrame({
            "invitation_id": [f"INV{i:06d}" for i in range(len(o))], "uscc": codes[o], "tier": S,
            "invited_on": self.invited_on[o], "outcome": np.where(np.isnat(when), "pending", said),
            "outcome_on": when,
        })  # fmt: skip
        return out

    def statements(self) -> pd.DataFrame:
        """Statements on file for part of the companies: most holders, fewer of the rest."""
        w, n, f = self.w, self.n, self.f
        r, top, base = w.rng("financials"), self.applied[S] | self.applied[LG], np.zeros(n, bool)
        for owner, tier, *_ in self.certs:
            (top if tier in (S, LG) else base)[owner] = True
        ys = w.years[w.years <= last_year(self.end)]
        own = self.v["on_file"]
        if "on_file_by" in self.v:  # a firm under the revenue cut files less (not at random)
            cut, below, above = self.v["on_file_by"]
            own = np.where(f.revenue[:, len(ys) - 1] >= cut, above, below)
        p = np.where(top, 0.95, own + 0.15 * base)
        shape = (n, len(ys))
        reported, late = in_year(ys + 1, 4, 61, r, shape), r.random(shape) < 0.07
        reported = np.where(late, in_year(ys + 1, 6, 150, r, shape), reported)
        keep = (r.random(n) < p)[:, None] & (f.revenue[:, : len(ys)] > 0) & (r.random(shape) > 0.04)
        i, k = np.nonzero(keep & (reported <= self.end))
        heads = {c: pd.Series(a[i, k], dtype="Int64").mask(r.random(len(i)) < share)
                 for c, a, share in (("employees", f.employees, 0.03), ("rd_staff", f.rd_staff, 0.15))}  # fmt: skip
        return pd.DataFrame({
            "uscc": take_text(w.codes, i), "year": ys[k], "reported_on": reported[i, k],
            "revenue_wan": money(f.revenue[i, k], 0.01, r),
            "main_business_revenue_wan": money(f.main[i, k], 0.08, r),
            "rd_expense_wan": money(f.rd[i, k], 0.03, r), "net_profit_wan": money(f.profit[i, k], 0.03, r),
            "total_assets_wan": money(w.assets[i, k], 0.05, r),
            "export_revenue_wan": money(f.export[i, k], 0.12, r),
            **heads,
        })  # fmt: skip

    def truth(self, codes: np.ndarray, capability: np.ndarray) -> tuple[pd.DataFrame, dict]:
        """Who would qualify at `end` (no reviewer noise), and the counts of the summary."""
        f, end = self.f, self.end
        ind, bar = indicators(f, end, last_year(end)), barred(f, end)
        held = {t: self.holds((t,), end) for t in (*BASE, S, LG)}
        base, free = held[BASE[0]] | held[BASE[1]], ~bar & ~f.large & ~held[LG]
        cand = {S: base & ~held[S] & free, LG: held[S] & free}
        out = {
            "uscc": codes,
            "capability": np.round(capability, 4),
            "quality_score": ind["quality"],
        }
        verdicts = {t: review(ind, self.v["review"][t]) for t in (S, LG)}
        for t in (S, LG):
            out[f"candidate_{t}"], out[f"qualifies_{t}"] = cand[t], cand[t] & verdicts[t][0]
        out |= {f"applied_{t}": self.applied[t] for t in (S, LG)}
        out |= {f"misses_{t}": misses_text(verdicts[t][1], self.n) for t in (S, LG)}
        counts = {
            "candidates": {t: int(cand[t].sum()) for t in (S, LG)},
            "qualifiers": {t: int(out[f"qualifies_{t}"].sum()) for t in (S, LG)},
            "holders": {t: int(h.sum()) for t, h in held.items()},
        }
        return pd.DataFrame(out), counts
