"""An outside economy: synthetic worlds in the data contract, built independently of the
project's simulator and criteria file, from the contract and the policy text alone.

Companies (1995-2024) sit in sector clusters (GB/T 4754) and counties of ten provinces; a
latent capability drives revenue (lognormal, AR(1) log growth, a 2020 shock), R&D (sector
intensity times a firm factor; some firms none), staff, margins, assets and exports.
Patents are Poisson filings since 2006 from an IP propensity only partly tied to
capability, typed by sector, granted after type-specific delays, lapsing, some co-applied
and some bought by transfer. Supply links follow sector chains, preferring large customers
and outside hubs; equity rounds go to young R&D-heavy firms; awards, talents and
compliance events are rare. tech_sme and innovative_sme are certified broadly;
specialized_sme and little_giant come only from yearly rounds (`outside_review.py`):
firms apply from their own noisy reading of the published thresholds, reviewers decide
on the true figures with noise. Statements are on file for only part of the firms.

Variants (`VARIANTS`):
- `outside_annex`: reviewers apply the 2022 annexes as read (specialized SMEs: niche
  >= 2 years, R&D >= 100 万 and >= 3 %, revenue >= 1,000 万 or equity >= 2,000 万 in two
  years, quality >= 50; little giants: niche >= 3, main business >= 70 % growing >= 5 %,
  R&D share by revenue band, revenue >= 5,000 万, two-year R&D >= 1,200 万, >= 4 own
  class-I rights, a supply-chain role, quality >= 60); reviewer noise 2 %; statements
  on file for 60 % of non-holders; strong self-selection.
- `outside_drift`: the review drifts: specialized SMEs need only 1 niche year and
  2.5 % R&D share, both tiers need R&D staff >= 15 % of employees, little giants
  quality >= 65; noise 5 %; statements for 35 %; weaker self-selection.
- `outside_lumpy`: heavy tails and clusters: three provinces hold most firms and the
  capable ones, Pareto revenue, patents in a minority of firms, supply hubs; the annex
  review; noise 3 %.
- `outside_shift`: the standard changed after the last round: every round was decided,
  and read by applicants, under the 2022 interim measures (specialized SMEs: quality
  >= 60; little giants: no score), while the truth is the annex review under the 2026
  measures (50 and 60). A model learns only from decisions under the old standard, as
  the first lists under the 2026 measures do.
- `outside_unfiled`: the annex review, but statements are missing not at random: a
  company that neither holds nor applied for a tier files them at 15 % when its own
  latest revenue is under 1,000 万 and at 75 % above it, so an unknown figure hides a
  miss far more often than the filers suggest.
- `outside_unfiled_rare`: the same, harsher: 3 % under 1,000 万 and 30 % above, so most
  qualifiers have no statements on file and a list must reach into them.
- `outside_published`: the annex review, and a company that neither holds nor applied
  publishes a year's quality score of its own accord at 30 % when it is 60 or more and
  at 3 % under 60, so the published scores of candidates are the good ones.
- `outside_quota`: the annex review within places: a round grants 80 % (little giants
  70 %) of the approvals it would give, dealt to provinces by their number of companies
  and taken by the best quality scores, so qualifiers are turned away where many apply.

Run: `python benchmarks/outside_economy.py --companies N --seed S --variant V --out DIR`
writes DIR/data/<table>.<fmt> and DIR/truth.csv (who would qualify at `end`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from stdnum.cn import uscc as stdnum_uscc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import outside_review as review
from benchmarks.outside_variants import VARIANTS  # documented above

FIRST, IP_FIRST = 2016, 2006
# code, weight, main product, R&D share, IP rate, class-I share, special class-I type,
# software share, export share, main-business share, size shift, 万元 per employee, customers
SECTORS = [
    ("C3976", 6, "光电子器件", 0.055, 1.3, 0.35, "ic_layout", 0.05, 0.25, 0.85, 0.1, 70, "C3670 C3581 I6531"),
    ("C3562", 4, "半导体专用设备", 0.08, 1.5, 0.45, "ic_layout", 0.05, 0.15, 0.88, 0.2, 80, "C3973 C3976"),
    ("C3973", 3, "集成电路", 0.10, 1.4, 0.40, "ic_layout", 0.05, 0.20, 0.90, 0.2, 90, "C3976 C3581 C3670 I6531"),
    ("C3421", 6, "数控机床", 0.04, 1.0, 0.25, "", 0.02, 0.10, 0.85, 0.1, 60, "C3670 C3311"),
    ("C3670", 9, "汽车零部件", 0.035, 0.9, 0.20, "", 0.01, 0.20, 0.80, 0.3, 70, "C3670"),
    ("C3581", 4, "医疗诊断设备", 0.07, 1.1, 0.30, "", 0.10, 0.15, 0.85, 0.0, 70, "F5176"),
    ("C2720", 3, "化学药品制剂", 0.08, 0.8, 0.50, "new_drug", 0.0, 0.10, 0.90, 0.2, 90, "F5176"),
    ("C2651", 5, "工程塑料", 0.025, 0.6, 0.20, "", 0.0, 0.15, 0.80, 0.2, 110, "C3670 C3976"),
    ("C3311", 8, "钢结构件", 0.015, 0.4, 0.10, "", 0.0, 0.05, 0.75, 0.1, 60, "C3421"),
    ("C1713", 6, "印染面料", 0.01, 0.3, 0.10, "", 0.0, 0.30, 0.70, 0.0, 45, "F5176"),
    ("I6513", 9, "行业应用软件", 0.12, 1.3, 0.10, "", 0.75, 0.05, 0.90, -0.5, 40, "I6531 C3670 C3581"),
    ("I6531", 6, "信息系统集成", 0.06, 1.0, 0.10, "", 0.60, 0.03, 0.75, -0.3, 55, "C3670 C3421"),
    ("M7320", 5, "技术研发服务", 0.15, 1.0, 0.40, "", 0.20, 0.05, 0.85, -0.6, 35, "C3976 C2720 C3562"),
    ("M7452", 4, "检验检测服务", 0.04, 0.5, 0.15, "", 0.30, 0.02, 0.90, -0.6, 40, "C3670 C2720"),
    ("F5176", 10, "五金产品批发", 0.002, 0.05, 0.10, "", 0.0, 0.10, 0.60, 0.0, 200, ""),
    ("A0511", 2, "种子种苗", 0.05, 0.6, 0.45, "plant_variety", 0.0, 0.02, 0.85, -0.3, 50, "F5176"),
]  # fmt: skip
SEC = dict(zip(("code", "weight", "product", "rd", "ip", "class_one", "special", "software",
                "export", "main", "shift", "productivity", "customers"),
               map(np.array, zip(*SECTORS, strict=True)), strict=True))  # fmt: skip
# county code, city, weight, weight when lumpy (three provinces hold most firms)
REGIONS = [
    ("440305", "深圳", 6, 14), ("440306", "深圳", 5, 12), ("440113", "广州", 4, 8),
    ("441900", "东莞", 4, 8), ("320506", "苏州", 5, 10), ("320505", "苏州", 4, 8),
    ("320214", "无锡", 3, 6), ("320115", "南京", 3, 5), ("330106", "杭州", 4, 6),
    ("330108", "杭州", 3, 5), ("330212", "宁波", 4, 4), ("330382", "温州", 3, 3),
    ("510107", "成都", 3, 1), ("510116", "成都", 3, 1), ("510703", "绵阳", 2, 1),
    ("370212", "青岛", 3, 1), ("370211", "青岛", 3, 1), ("370112", "济南", 3, 1),
    ("420111", "武汉", 3, 1), ("420115", "武汉", 2, 1), ("420606", "襄阳", 2, 1),
    ("110108", "北京", 4, 2), ("310115", "上海", 4, 2), ("340104", "合肥", 3, 1),
    ("350203", "厦门", 3, 1),
]  # fmt: skip
REG = dict(zip(("code", "city", "weight", "lumpy"), map(np.array, zip(*REGIONS, strict=True)), strict=True))  # fmt: skip
HOT = ("44", "32", "33")
AWARENESS = {"44": 0.3, "32": 0.4, "33": 0.2, "37": -0.3, "51": -0.4, "42": 0.0, "11": 0.2,
             "31": 0.3, "34": 0.1, "35": -0.2}  # fmt: skip
IP_TYPES = np.array(["invention", "ic_layout", "plant_variety", "new_drug", "utility_model",
                     "design", "software_copyright"])  # fmt: skip
# per IP type: grant probability, grant delay (days, low and high), term (years), lapse hazard
GRANT = np.array([0.62, 0.9, 0.6, 0.35, 0.92, 0.9, 0.99])
DELAY = np.array([[450, 1300], [90, 300], [500, 1100], [1000, 2200], [150, 450], [100, 300], [20, 120]])  # fmt: skip
TERM = np.array([20, 10, 15, 20, 10, 10, 50])
HAZARD = np.array([0.03, 0.03, 0.03, 0.02, 0.07, 0.08, 0.0])
IP_PREFIX = np.array(["CN1", "BS", "CNA", "GYZZH", "CN2", "CN3", "RJ"])
LEVELS = np.array(["national", "provincial", "municipal"])
INVESTOR_NAMES = {"vc": "创业投资基金", "pe": "股权投资基金", "gov_fund": "产业引导基金",
                  "corporate": "实业投资有限公司", "angel": "天使投资人"}  # fmt: skip
AWARD_NAMES = {"national": "国家科学技术进步奖", "provincial": "省科学技术奖", "municipal": "市科学技术奖"}  # fmt: skip
TALENT_PROGRAMS = {"national": "国家高层次人才特殊支持计划", "provincial": "省引进创新创业团队计划",
                   "municipal": "市高层次人才计划"}  # fmt: skip
# kind, base logit per company, share closed, days to closing (low, high). The first two are
# listings (bar while open), the rest bar for three years; all but the first revoke
COMPLIANCE = [
    ("abnormal_operations", -4.3, 0.55, 30, 500), ("serious_dishonesty", -6.3, 0.3, 365, 1500),
    ("major_safety_accident", -7.0, 0.6, 30, 400), ("major_data_security_incident", -7.5, 0.6, 30, 400),
    ("major_environmental_violation", -7.0, 0.6, 30, 400), ("restricted_product", -7.5, 0.6, 30, 400),
    ("other_serious_violation", -7.2, 0.6, 30, 400),
]  # fmt: skip
SYLLABLES = np.array(list("华瑞达科创新恒远鑫泰联盛源拓芯微精锐捷宏智信航光明海天川迅博安普凯睿晶"))
WORDS = np.array(["科技", "智能", "精密", "电子", "技术", "实业"])
OWNERSHIP = (["private", "state", "foreign", "hmt", "collective", "other"], [0.8, 0.06, 0.05, 0.04, 0.02, 0.03])  # fmt: skip
ORDER = ("companies", "financials", "supply_links", "investments", "patents", "awards", "talents",
         "certifications", "applications", "compliance_events", "quality_scores", "invitations")  # fmt: skip
STEPS = ("firms", "economy", "companies", "patents", "links", "investments", "recognitions", "compliance")  # fmt: skip
NEVER, _sig = review.NEVER, review.sigmoid


def _jan1(year: int | np.ndarray) -> np.ndarray:
    return (np.asarray(year) - 1970).astype("datetime64[Y]").astype("datetime64[D]")


def uscc_codes(index: np.ndarray, regions: np.ndarray, salt: int) -> np.ndarray:
    """Valid, distinct credit codes: '91' + county + a 9-character code unique per index."""
    alphabet = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    v = (index.astype(np.int64) * 2_654_435_761 + salt * 97_654_321 + 982_451_653) % 31**9
    chars = np.empty((len(index), 9), dtype="<U1")
    for k in range(8, -1, -1):
        chars[:, k], v = alphabet[v % 31], v // 31
    bodies = np.char.add(np.char.add("91", regions.astype("<U6")), chars.view("<U9").ravel())
    checks = [stdnum_uscc.calc_check_digit(b) for b in bodies.tolist()]
    return np.char.add(bodies, np.array(checks, dtype="<U1"))


class World:
    """One economy: companies, their true yearly figures and every table of facts."""

    def __init__(self, n: int, seed: int, variant: str, end: np.datetime64) -> None:
        self.n, self.v, self.end, self.lumpy = n, VARIANTS[variant], end, VARIANTS[variant]["lumpy"]
        self.key = [seed, n, zlib.crc32(variant.encode())]
        self.years = np.arange(FIRST, int(str(end)[:4]) + 1)
        self.tables: dict[str, pd.DataFrame] = {}

    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([*self.key, zlib.crc32(name.encode())])

    def firms(self) -> None:
        """Sector, county, founding, latent capability, R&D and IP leanings, niche start."""
        r, n = self.rng("firms"), self.n
        self.sec = r.choice(len(SECTORS), n, p=SEC["weight"] / SEC["weight"].sum())
        rw = (REG["lumpy"] if self.lumpy else REG["weight"]).astype(float)
        self.reg = r.choice(len(REGIONS), n, p=rw / rw.sum())
        self.prov = np.array([c[:2] for c in REG["code"]])[self.reg]
        shift = np.where(np.isin(self.prov, HOT), 0.35, -0.5) if self.lumpy else 0.0
        self.cap = r.normal(0, 1, n) + shift
        ys = np.arange(1995, min(2025, self.years[-1]))  # founded before the decision year
        py = np.exp(0.07 * (ys - 1995))
        self.est_year = r.choice(ys, n, p=py / py.sum())
        self.est = _jan1(self.est_year) + r.integers(0, 365, n)
        self.c_rd = 0.6 * self.cap + 0.8 * r.normal(0, 1, n)
        self.c_ip = 0.6 * self.cap + 0.8 * r.normal(0, 1, n)
        self.awareness = np.vectorize(AWARENESS.get)(self.prov) + r.normal(0, 0.9, n)
        niche = r.random(n) < _sig(1.4 + 0.7 * self.cap - 1.5 * (SEC["code"][self.sec] == "F5176"))
        self.niche = np.where(niche, self.est + r.gamma(1.3, 500, n).astype(int), NEVER)
        self.niche[self.niche > self.end] = NEVER

    def economy(self) -> None:
        """True yearly figures: lognormal revenue with AR(1) growth, R&D, staff, margins."""
        r, n, yrs = self.rng("economy"), self.n, self.years
        at = lambda name: SEC[name][self.sec].astype(float)  # noqa: E731
        eps = lambda s: np.exp(r.normal(0, s, (n, len(yrs))))  # noqa: E731
        age = np.log1p(np.maximum(FIRST - self.est_year, 0))
        base = np.log(800) + 0.9 * self.cap + 0.3 * age + at("shift") + r.normal(0, 1.1, n)
        if self.lumpy:  # a Pareto tail on top of the lognormal
            base += np.log(np.minimum((1 - r.random(n)) ** (-1 / 1.3), 300)) - 0.6
        start = np.log(100) + 0.5 * self.cap + at("shift") + r.normal(0, 0.8, n)
        mu = 0.04 + 0.06 * (0.7 * self.cap + 0.8 * r.normal(0, 1, n))
        shock = {2020: -0.07, 2021: 0.05, 2023: -0.02}
        lr, g = np.where(self.est_year < FIRST, base, start), mu.copy()
        logrev = np.empty((n, len(yrs)))
        for k, y in enumerate(yrs):
            g = mu + 0.35 * (g - mu) + r.normal(0, 0.14, n)
            young = 0.35 * np.exp(-np.maximum(y - self.est_year, 0) / 3)
            if k:
                lr = np.where(self.est_year < y, lr + g + young + shock.get(int(y), 0.0), lr)
            logrev[:, k] = np.minimum(lr, np.log(2e6))
        alive = self.est_year[:, None] <= yrs[None, :]
        rev = np.where(alive, np.exp(logrev), 0.0)
        focus = np.clip(at("main") + 0.04 * self.cap + r.normal(0, 0.08, n), 0.3, 1.0)
        none = r.random(n) < _sig(-0.9 - 1.2 * self.c_rd + 2.0 * (at("rd") < 0.02))
        rd_i = np.where(none, 0.0, at("rd") * np.exp(0.4 * self.c_rd + r.normal(0, 0.35, n)))
        rd_share = np.minimum(rd_i[:, None] * eps(0.15), 0.6)
        prod = at("productivity") * np.exp(r.normal(0, 0.35, n))
        emp = np.where(alive, np.maximum(1, np.round(rev / prod[:, None] * eps(0.05))), 0)
        staff = np.clip(rd_share * 2.5 * eps(0.25) + 0.02 * (rd_share > 0), 0, 0.85)
        margin = 0.03 + 0.03 * self.cap + r.normal(0, 0.05, n)
        exporter = r.random(n) < _sig(-0.6 + 0.5 * self.cap + 4 * at("export"))
        ex = np.where(exporter, np.minimum(at("export") * np.exp(r.normal(0, 0.6, n)), 0.9), 0.0)
        self.f = review.Facts(
            FIRST, revenue=rev, rd=rev * rd_share, employees=emp, rd_staff=np.round(emp * staff),
            main=rev * np.clip(focus[:, None] + r.normal(0, 0.03, (n, len(yrs))), 0.2, 1.0),
            profit=rev * (margin[:, None] + r.normal(0, 0.04, (n, len(yrs)))),
            export=rev * ex[:, None] * eps(0.1), niche=self.niche,
        )  # fmt: skip
        self.assets = rev * np.exp(r.normal(0.1, 0.4, n))[:, None] * eps(0.05)
        # size class per 中小企业划型标准 on the latest year (software has its own limits)
        soft = np.char.startswith(SEC["code"][self.sec], "I")[:, None, None]
        lim = np.where(soft, [[10, 50], [100, 1000], [300, 10000]], [[20, 300], [300, 2000], [1000, 40000]])  # fmt: skip
        self.size = ((emp[:, -1:] >= lim[..., 0]) & (rev[:, -1:] >= lim[..., 1])).sum(axis=1)
        self.f.large = self.size == 3

    def companies(self) -> None:
        r, n = self.rng("companies"), self.n
        self.codes = uscc_codes(np.arange(n), REG["code"][self.reg], self.key[0])
        brand = pd.Series(SYLLABLES[r.integers(0, len(SYLLABLES), (n, 2))].tolist()).str.join("")
        name = pd.Series(REG["city"][self.reg]) + brand + WORDS[r.integers(0, len(WORDS), n)]
        name += np.where(r.random(n) < 0.15, "股份有限公司", "有限公司")
        size = np.array(["micro", "small", "medium", "large"], dtype=object)[self.size]
        self.tables["companies"] = pd.DataFrame({
            "uscc": self.codes, "name": name, "region_code": REG["code"][self.reg],
            "industry_code": SEC["code"][self.sec], "established_on": self.est,
            "ownership": r.choice(OWNERSHIP[0], n, p=OWNERSHIP[1]),
            "size_class": np.where(r.random(n) < 0.05, None, size),
            "niche_since": np.where(r.random(n) < 0.12, NEVER, self.niche),
            "main_product": np.where(r.random(n) < 0.1, None, SEC["product"][self.sec].astype(object)),
        })  # fmt: skip

    def pick(self, sectors: np.ndarray, weight: np.ndarray, r: np.random.Generator) -> np.ndarray:
        """A company of each given sector, drawn with probability proportional to `weight`."""
        order = np.argsort(self.sec, kind="stable")
        cum = np.concatenate([[0.0], np.cumsum(weight[order])])
        bounds = np.searchsorted(self.sec[order], np.arange(len(SECTORS) + 1))
        lo, hi = cum[bounds[sectors]], cum[bounds[sectors + 1]]
        at = np.searchsorted(cum, lo + r.random(len(sectors)) * (hi - lo), side="right") - 1
        return order[np.clip(at, 0, self.n - 1)]

    def patents(self) -> None:
        """Poisson filings since 2006; typed by sector; granted, lapsed, co-applied, bought."""
        r, n, f = self.rng("patents"), self.n, self.f
        prop = np.exp(0.8 * self.c_ip + r.normal(0, 0.6, n))
        rich = _sig(1.2 * self.cap - 1.6) if self.lumpy else _sig(0.4 + 1.2 * self.c_ip)
        prop *= np.where(r.random(n) < rich, 2.0 if self.lumpy else 1.0, 0.02)
        years = np.arange(IP_FIRST, self.years[-1] + 1)
        back = f.revenue[:, :1] * np.exp(-0.1 * (FIRST - years[years < FIRST]))
        rv = np.concatenate([back, f.revenue], axis=1)
        scale = np.minimum(np.sqrt(np.maximum(rv, 1) / 1000), 8) * (self.est_year[:, None] <= years)
        count = r.poisson(0.5 * SEC["ip"][self.sec][:, None] * prop[:, None] * scale).ravel()
        owner = np.repeat(np.repeat(np.arange(n), len(years)), count)
        year = np.repeat(np.tile(years, n), count)
        m = len(owner)
        filed = np.minimum(_jan1(year) + r.integers(0, 365, m), self.end)
        filed = np.maximum(filed, self.est[owner])
        p1 = np.clip(SEC["class_one"][self.sec][owner] * np.exp(0.25 * self.c_ip[owner]), 0, 0.9)
        special = np.select([SEC["special"] == t for t in review.CLASS_ONE[1:]], [1, 2, 3], 0)
        special = special[self.sec][owner]
        soft = p1 + (1 - p1) * SEC["software"][self.sec][owner]
        u, other = r.random(m), np.where(r.random(m) < 0.75, 4, 5)
        class_one = np.where(r.random(m) < 0.35, special, 0)
        kind = np.where(u < p1, class_one, np.where(u < soft, 6, other))
        grant_p = GRANT[kind] + np.where(kind == 0, 0.1 * np.tanh(self.cap[owner]), 0)
        lo, hi = DELAY[kind, 0], DELAY[kind, 1]
        granted = filed + (lo + r.random(m) * (hi - lo)).astype(int)
        granted = np.where((r.random(m) < grant_p) & (granted <= self.end), granted, NEVER)
        hazard = np.maximum(HAZARD[kind] * np.exp(-0.4 * self.cap[owner]), 1e-9)
        early = granted + np.minimum(r.exponential(1, m) / hazard * 365, 1e5).astype(int)
        lapsed = np.minimum(early, filed + (TERM[kind] * 365.25).astype(int))
        lapsed = np.where(np.isnat(granted) | (lapsed > self.end), NEVER, lapsed)
        buyer = (f.revenue[:, -1] > 3000) & (r.random(n) < 0.25)  # firms that buy class-I rights
        transfer = r.random(m) < np.where(kind < 4, 0.04 + 0.35 * buyer[owner], 0.03)
        co = ~transfer & (r.random(m) < np.where(kind < 4, 0.15, 0.08))
        co = co * r.choice([1, 2, 3], m, p=[0.7, 0.2, 0.1])  # co-applicants of the right
        rank = np.where((co > 0) & (r.random(m) >= 0.6), 2 + (r.random(m) * co).astype(int), 1)
        rows = [(np.arange(m), owner, rank, ~transfer)]
        for j in range(1, 4):  # co-applicants: IP-active companies of the same sector
            has = np.flatnonzero(co >= j)
            mate = self.pick(self.sec[owner[has]], prop, r)
            rows.append((has, mate, np.where(j < rank[has], j, j + 1), np.ones(len(has), bool)))
        idx, holder, ranks, own = (np.concatenate(x) for x in zip(*rows, strict=True))
        keep = np.zeros(len(idx), bool)  # a company once per right, never its own co-applicant
        keep[np.unique(idx.astype(np.int64) * n + holder, return_index=True)[1]] = True
        idx, holder, ranks, own = idx[keep], holder[keep], ranks[keep], own[keep]
        kind = kind[idx]
        f.ip_owner, f.ip_class_one, f.ip_own = holder, kind < 4, own & (ranks <= 3)
        f.ip_granted, f.ip_lapsed, self.ip_class_two = granted[idx], lapsed[idx], kind >= 4
        number = pa.array(year[idx].astype(np.int64) * 10**8 + idx).cast(pa.string())
        ip_id = pc.binary_join_element_wise(pa.array(IP_PREFIX).take(pa.array(kind)), number, "")
        self.tables["patents"] = pd.DataFrame({
            "ip_id": pd.Series(pd.array(ip_id, dtype="str")),
            "uscc": review.take_text(self.codes, holder), "applicant_rank": ranks, "ip_type": review.take_text(IP_TYPES, kind),
            "filed_on": filed[idx], "granted_on": granted[idx], "self_filed": own, "lapsed_on": lapsed[idx],
        })  # fmt: skip

    def links(self) -> None:
        """Supply links along sector chains, preferring large customers, plus outside hubs."""
        r, n = self.rng("links"), self.n
        rev = self.f.revenue[:, -1]
        size = np.maximum(0, np.log10(np.maximum(rev, 1) / 300))
        sup = np.repeat(np.arange(n), r.poisson(1.0 + 1.2 * _sig(self.cap) + 1.0 * size))
        m, codes = len(sup), list(SEC["code"])
        down = [[codes.index(c) for c in s.split()] for s in SEC["customers"]]
        table = np.array([(d * 4)[:4] if d else [0] * 4 for d in down])
        width = np.array([len(d) for d in down])[self.sec[sup]]
        csec = table[self.sec[sup], (r.random(m) * np.maximum(width, 1)).astype(int) % 4]
        outside = (width == 0) | (r.random(m) < (0.3 if self.lumpy else 0.15))
        cust = self.pick(csec, np.maximum(rev, 1) ** (1.3 if self.lumpy else 0.7), r)
        hubs = max(5, n // 400)
        hw = 1 / np.arange(1, hubs + 1) ** (1.5 if self.lumpy else 1.0)
        c = np.where(outside, n + r.choice(hubs, m, p=hw / hw.sum()), cust)
        pairs = pd.DataFrame({"s": sup, "c": c})[outside | (cust != sup)].drop_duplicates()
        s, c = pairs["s"].to_numpy(), pairs["c"].to_numpy()
        inside, ci = c < n, np.minimum(c, n - 1)
        lo = np.maximum(self.est[s], np.where(inside, self.est[ci], np.datetime64("2000-01-01")))
        lo = np.maximum(lo, np.datetime64("2012-01-01"))
        start = lo + (r.random(len(s)) * ((self.end - lo).astype(int) + 1)).astype(int)
        stop = start + 30 + r.exponential(700, len(s)).astype(int)
        stop = np.where((r.random(len(s)) < 0.25) & (stop <= self.end), stop, NEVER)
        hub_codes = uscc_codes(np.arange(hubs) + 10 * n + 7, np.full(hubs, "310104"), self.key[0])
        f = self.f
        f.link_supplier, f.link_start, f.link_end = s, start, stop
        f.link_big = ~inside | (self.size[ci] >= 2)
        self.tables["supply_links"] = pd.DataFrame({
            "supplier_uscc": review.take_text(self.codes, s),
            "customer_uscc": review.take_text(np.concatenate([self.codes, hub_codes]), c),
            "start_on": start, "end_on": stop, "amount_wan": review.money(rev[s] * r.uniform(0.05, 0.4, len(s)), 0.2, r),
        })  # fmt: skip

    def yearly_events(self, name: str, logit: np.ndarray) -> tuple[np.ndarray, ...]:
        """(owner, year, day) of events drawn per company and year, probability sigmoid(logit)."""
        r = self.rng(name)
        alive = self.est_year[:, None] <= self.years[None, :]
        owner, k = np.nonzero((r.random((self.n, len(self.years))) < _sig(logit)[:, None]) & alive)
        day = np.maximum(_jan1(self.years[k]) + r.integers(0, 365, len(owner)), self.est[owner])
        return owner, self.years[k], np.minimum(day, self.end)

    def investments(self) -> None:
        """Equity rounds to young R&D-heavy firms (in lumpy worlds, more in the hot provinces)."""
        hot = np.isin(self.prov, HOT) & self.lumpy
        young = (self.years[-1] - self.est_year) < 10
        logit = -6.0 + 1.0 * self.cap + 0.8 * self.c_rd + 0.6 * young + 0.5 * hot
        owner, year, day = self.yearly_events("investments", logit)
        r, m = self.rng("investments.rounds"), len(owner)
        nth = pd.Series(owner).groupby(owner).cumcount().to_numpy()
        stage = np.minimum(nth + r.choice(3, m, p=[0.4, 0.45, 0.15]), 5)
        strategic = r.random(m) < 0.12
        total = np.array([300, 2000, 5000, 10000, 20000, 30000])[stage]
        total = total * np.exp(r.normal(0, 0.6, m))
        total *= 1 + self.f.revenue[owner, year - FIRST] / 20000
        k = 1 + (r.random(m) < 0.35) + (r.random(m) < 0.1)  # investors in the round
        row = np.repeat(np.arange(m), k)
        j = np.arange(len(row)) - np.repeat(np.cumsum(k) - k, k)
        inst = max(30, self.n // 100)
        pick = (np.repeat(r.integers(0, inst, m), k) + j * 7) % inst
        st, angel = stage[row], (stage[row] == 0) & ~strategic[row]
        kind = np.where(r.random(len(row)) < 0.7, np.where(st >= 3, "pe", "vc"), "gov_fund")
        kind = np.where(angel, "angel", np.where(strategic[row], "corporate", kind))
        inst_codes = uscc_codes(np.arange(inst) + 11 * self.n + 3, np.full(inst, "440304"), self.key[0])  # fmt: skip
        amount = total[row] / k[row]
        f = self.f
        f.inv_owner, f.inv_day, f.inv_amount = owner[row], day[row], amount
        self.tables["investments"] = pd.DataFrame({
            "investor_id": np.where(angel, np.char.add("P", (pick + 10**7).astype(str)), inst_codes[pick]),
            "investor_name": pd.Series(kind).map(INVESTOR_NAMES) + pd.Series(pick).astype(str),
            "investor_type": kind, "investee_uscc": self.codes[owner[row]], "invested_on": day[row],
            "round": np.where(strategic[row], "strategic", np.array(["angel", "A", "B", "C", "D", "pre_ipo"])[st]),
            "amount_wan": review.money(amount, 0.15, r), "equity_pct": np.round(r.uniform(3, 20, m)[row] / k[row], 2),
        })  # fmt: skip

    def recognitions(self) -> None:
        """Awards (mostly provincial and municipal) and talents, rare and tied to capability."""
        f = self.f
        o, _, d = self.yearly_events("awards", -8.2 + 1.2 * self.cap + 0.6 * self.c_ip)
        r = self.rng("awards.kind")
        level = LEVELS[r.choice(3, len(o), p=[0.05, 0.35, 0.6])]
        f.award_owner, f.award_day = o, d
        self.tables["awards"] = pd.DataFrame({
            "award_id": [f"AW{i:07d}" for i in range(len(o))], "uscc": self.codes[o],
            "name": pd.Series(level).map(AWARD_NAMES), "level": level,
            "category": np.array(["sci_tech_progress", "invention", "quality", "other"])[r.choice(4, len(o), p=[0.6, 0.15, 0.15, 0.1])],
            "prize": np.array(["first", "second", "third"])[r.choice(3, len(o), p=[0.2, 0.35, 0.45])],
            "awarded_on": d,
        })  # fmt: skip
        o, _, d = self.yearly_events("talents", -7.6 + 0.9 * self.cap + 0.8 * self.c_rd)
        r = self.rng("talents.kind")
        level = LEVELS[r.choice(3, len(o), p=[0.1, 0.4, 0.5])]
        left = d + r.integers(200, 2500, len(o))
        f.talent_owner, f.talent_day = o, d
        self.tables["talents"] = pd.DataFrame({
            "person_id": [f"TP{i:07d}" for i in range(len(o))], "uscc": self.codes[o],
            "program": pd.Series(level).map(TALENT_PROGRAMS), "level": level, "joined_on": d,
            "left_on": np.where((r.random(len(o)) < 0.3) & (left <= self.end), left, NEVER),
        })  # fmt: skip

    def compliance(self) -> None:
        """Listings and serious events, somewhat likelier for weaker companies."""
        r, parts = self.rng("compliance"), []
        for k, (kind, base, close, lo, hi) in enumerate(COMPLIANCE):
            hit = np.flatnonzero(r.random(self.n) < _sig(base - 0.5 * self.cap))
            first = np.maximum(self.est[hit], np.datetime64(f"{FIRST}-01-01"))
            start = first + (r.random(len(hit)) * ((self.end - first).astype(int) + 1)).astype(int)
            stop = start + r.integers(lo, hi, len(hit))
            stop = np.where((r.random(len(hit)) < close) & (stop <= self.end), stop, NEVER)
            parts.append(pd.DataFrame({"i": hit, "kind": kind, "start_on": start, "end_on": stop, "k": k}))  # fmt: skip
        df = pd.concat(parts, ignore_index=True)
        f, k = self.f, df["k"].to_numpy()
        f.comp_owner = df["i"].to_numpy()
        f.comp_start, f.comp_end = (df[c].to_numpy().astype("datetime64[D]") for c in ("start_on", "end_on"))  # fmt: skip
        f.comp_listing, f.comp_grave = k < 2, k >= 1
        df["uscc"] = self.codes[df["i"]]
        self.tables["compliance_events"] = df[["uscc", "kind", "start_on", "end_on"]]


def write_tables(tables: dict[str, pd.DataFrame], data_dir: Path, fmt: str) -> None:
    """Every table as `<table>.csv` or `<table>.parquet` (dates as ISO text or date32)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ORDER:
        frame, path = tables[name].reset_index(drop=True), data_dir / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False, date_format="%Y-%m-%d")
            continue
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for i, field in enumerate(table.schema):
            if pa.types.is_timestamp(field.type):
                table = table.set_column(i, field.name, table.column(i).cast(pa.date32()))
        pq.write_table(table, path)


def build(companies: int, seed: int, variant: str, end: str) -> tuple[World, review.Ladder]:
    """One world in memory: its true facts (`World.f`), its tables and its ladder."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    w = World(companies, seed, variant, np.datetime64(end, "D"))
    for step in STEPS:
        getattr(w, step)()
    w.f.quality = review.quality_scores(w.f, w.rng("quality"), w.ip_class_two, w.cap)
    ladder = review.Ladder(w)
    ladder.base()
    ladder.rounds()
    w.tables.update(ladder.tables(w.codes))
    return w, ladder


def generate(
    companies: int, seed: int, data_dir: Path, truth_path: Path, *, variant: str,
    end: str = "2025-12-31", fmt: str = "parquet",
) -> dict:  # fmt: skip
    """Write one world's data directory and its truth; returns the summary counts."""
    w, ladder = build(companies, seed, variant, end)
    write_tables(w.tables, Path(data_dir), fmt)
    truth, counts = ladder.truth(w.codes, w.cap)
    flags = [c for c in truth.columns if truth[c].dtype == bool]
    truth[flags] = truth[flags].replace({True: "true", False: "false"})
    Path(truth_path).parent.mkdir(parents=True, exist_ok=True)
    truth.to_csv(truth_path, index=False)
    return {"scenario": variant, "rows": {t: len(w.tables[t]) for t in ORDER}, **counts}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--companies", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--format", choices=("csv", "parquet"), default="parquet")
    p.add_argument("--end", default="2025-12-31")
    a = p.parse_args(argv)
    t0, where = time.perf_counter(), (a.out / "data", a.out / "truth.csv")
    summary = generate(a.companies, a.seed, *where, variant=a.variant, end=a.end, fmt=a.format)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
