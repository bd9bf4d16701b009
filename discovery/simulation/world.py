"""The companies and their hidden state: capability, awareness, scale, niche focus, true financials."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from discovery.simulation.base import (
    concat,
    make_uscc,
    org_bodies,
    pick,
    sigmoid,
    weighted_choice,
    words,
    year_of,
    ymd,
    zscore,
)
from discovery.simulation.scenario import Regions
from graph.contract import OWNERSHIPS

FIRST_FY = 2014  # first fiscal year with true figures (rounds from 2016 look one year back)
OWNERSHIP_SHARES = {
    "state": 0.06,
    "private": 0.80,
    "foreign": 0.04,
    "hmt": 0.03,
    "collective": 0.02,
    "other": 0.05,
}
LARGE_SHARE = 0.04
MEDIUM_SHARE = 0.16
SMALL_SHARE = 0.40


@dataclass
class World:
    """Everything about the companies, observed or latent, as column arrays."""

    n: int
    end: float  # day number of the simulation's end
    end_date: dt.date
    last_fy: int  # latest fiscal year whose true figures exist at `end`
    uscc: np.ndarray
    name: np.ndarray
    region: np.ndarray  # index into words().regions
    province: np.ndarray  # small integer per province
    industry: np.ndarray  # index into words().industries
    division: np.ndarray  # small integer per GB/T 4754 section+division (locality of links)
    established: np.ndarray  # day numbers
    ownership: np.ndarray
    size_class: np.ndarray  # object, None = unknown
    large: np.ndarray
    niche_since: np.ndarray
    main_product: np.ndarray
    capability: np.ndarray  # the latent merit, N(0, 1)
    awareness: np.ndarray  # of the cultivation policy: region level + individual
    scale: np.ndarray  # latent size, standardised
    growth: np.ndarray
    rd_ratio: np.ndarray
    revenue: np.ndarray  # (n, years) true 营业收入, NaN before the company existed
    rd: np.ndarray  # (n, years) true 研发费用
    main_share: np.ndarray  # (n, years) true share of main-business revenue in revenue
    external_uscc: np.ndarray  # valid codes of counterparties without a profile
    spare_orgs: np.ndarray = field(repr=False)  # unused organisation numbers (investors)

    @property
    def years(self) -> np.ndarray:
        return np.arange(FIRST_FY, self.last_fy + 1)

    def fy(self, year: int) -> int:
        """Column of fiscal year `year` in the (n, years) matrices."""
        return year - FIRST_FY


def region_weights(concentration: float = 1.0) -> np.ndarray:
    """Weights of the regions; concentration > 1 moves companies into the big provinces."""
    regions = words().regions
    weight = regions["weight"].to_numpy(dtype=float)
    _, province = np.unique(regions["region_code"].str[:2].to_numpy(), return_inverse=True)
    province_weight = np.bincount(province, weights=weight)
    province_weight = province_weight / province_weight.sum()
    return weight * province_weight[province] ** (concentration - 1.0)


def build_world(
    rng: np.random.Generator, n: int, end: dt.date, regions_mix: Regions | None = None
) -> World:
    w = words()
    regions, industries = w.regions, w.industries
    mix = regions_mix or Regions()
    end_day = ymd(end.year, end.month, end.day)
    last_fy = end.year - 1

    region = weighted_choice(rng, region_weights(mix.concentration), n)
    province_codes = regions["region_code"].str[:2].to_numpy()
    _, province_of_region = np.unique(province_codes, return_inverse=True)
    province = province_of_region[region]
    industry = weighted_choice(rng, industries["weight"].to_numpy(), n)
    _, division_of_industry = np.unique(
        industries["industry_code"].str[:3].to_numpy(), return_inverse=True
    )
    division = division_of_industry[industry]

    capability = rng.standard_normal(n)
    # Awareness of the policy differs a lot between provinces and counties, and by firm.
    n_prov = int(province_of_region.max()) + 1
    prov_aware = rng.normal(0.0, mix.awareness_sd, n_prov)
    county_aware = rng.normal(0.0, 0.4, len(regions))
    awareness = prov_aware[province] + county_aware[region] + rng.normal(0.0, 0.7, n)

    age = 1.0 + rng.gamma(2.0, 4.0, n) + 1.5 * np.maximum(capability, 0.0)
    age = np.minimum(age, 40.0)
    established = np.floor(end_day - age * 365.25)

    scale = zscore(0.65 * capability + 0.75 * rng.standard_normal(n) + 0.3 * zscore(np.log(age)))
    rank = np.argsort(np.argsort(-scale, kind="stable"), kind="stable") / max(n, 1)
    size = np.where(
        rank < LARGE_SHARE,
        "large",
        np.where(
            rank < LARGE_SHARE + MEDIUM_SHARE,
            "medium",
            np.where(rank < LARGE_SHARE + MEDIUM_SHARE + SMALL_SHARE, "small", "micro"),
        ),
    ).astype(object)
    large = size == "large"
    size[(~large) & (rng.random(n) < 0.04)] = None  # unknown on the platform

    shares = np.array([OWNERSHIP_SHARES[o] for o in OWNERSHIPS])
    ownership = np.asarray(OWNERSHIPS, dtype=object)[weighted_choice(rng, shares, n)]

    # Niche focus: the capable tend to work in one specific market, from early on; others
    # found their niche late (a pivot) or never. Tenure spreads from months to decades.
    focus = 0.5 * capability + np.sqrt(0.75) * rng.standard_normal(n)
    has_niche = rng.random(n) < sigmoid(1.8 + 1.8 * focus)
    entered = rng.beta(1.2, 1.4 + 0.6 * np.clip(focus, -1.0, 2.0))  # share of its life before
    niche_since = np.where(
        has_niche, np.floor(established + entered * (end_day - established)), np.nan
    )
    products = industries["products"].str.split("|").to_numpy()
    n_products = np.array([len(p) for p in products])
    flat_products = np.asarray([p for ps in products for p in ps], dtype=object)
    offsets = np.concatenate([[0], np.cumsum(n_products)[:-1]])
    choice = offsets[industry] + (rng.random(n) * n_products[industry]).astype(np.int64)
    main_product = flat_products[choice]
    main_product[rng.random(n) >= 0.9] = None  # not filled in

    # Names: region prefix + two brand syllables + industry word + legal form.
    syl = w.names["brand_syllables"]
    listed = (rng.random(n) < 0.08 + 0.3 * large).astype(np.int64)
    name = concat(
        regions["name_prefix"].to_numpy(dtype=object)[region],
        pick(rng, syl, n),
        pick(rng, syl, n),
        industries["name_word"].to_numpy(dtype=object)[industry],
        np.asarray(w.names["company_suffixes"], dtype=object)[listed],
    )

    # Credit codes: companies, then profile-less counterparties, then spare numbers.
    n_ext = max(20, n // 25)
    orgs = org_bodies(rng, n + n_ext + max(200, n // 10))
    region_codes = regions["region_code"].to_numpy()
    uscc = make_uscc(region_codes[region], orgs[:n])
    ext_region = region_codes[weighted_choice(rng, regions["weight"].to_numpy(), n_ext)]
    external = make_uscc(ext_region, orgs[n : n + n_ext])

    # True financials: revenue from scale, growth and R&D intensity from capability.
    years = np.arange(FIRST_FY, last_fy + 1)
    rev_last = np.exp(np.log(2000.0) + 1.25 * scale + 0.2 * rng.standard_normal(n))
    growth = 0.06 + 0.05 * capability + 0.04 * rng.standard_normal(n)
    back = (last_fy - years)[None, :]
    noise = 0.08 * rng.standard_normal((n, len(years)))
    revenue = rev_last[:, None] * np.exp(-growth[:, None] * back + noise)
    rd_ratio = np.clip(0.045 + 0.03 * capability + 0.012 * rng.standard_normal(n), 0.0, 0.3)
    rd_ratio[(capability < 0) & (rng.random(n) < 0.25)] = 0.0  # no booked R&D at all
    rd = revenue * rd_ratio[:, None] * np.exp(0.12 * rng.standard_normal((n, len(years))))
    # Main-business share: high for focused firms, diversified ones fall below 0.7.
    base_share = rng.beta(np.exp(1.5 + 0.5 * focus), 1.3)
    jitter = rng.uniform(-0.03, 0.03, (n, len(years)))
    main_share = np.clip(base_share[:, None] + jitter, 0.02, 1.0)
    est_year = year_of(established)
    missing = years[None, :] <= est_year[:, None]  # the founding year is not a full FY
    revenue[missing] = np.nan
    rd[missing] = np.nan
    main_share[missing] = np.nan

    return World(
        n=n,
        end=end_day,
        end_date=end,
        last_fy=last_fy,
        uscc=uscc,
        name=name,
        region=region,
        province=province,
        industry=industry,
        division=division,
        established=established,
        ownership=ownership,
        size_class=size,
        large=large,
        niche_since=niche_since,
        main_product=main_product,
        capability=capability,
        awareness=awareness,
        scale=scale,
        growth=growth,
        rd_ratio=rd_ratio,
        revenue=revenue,
        rd=rd,
        main_share=main_share,
        external_uscc=external,
        spare_orgs=orgs[n + n_ext :],
    )


def companies_table(wd: World) -> dict[str, np.ndarray]:
    w = words()
    return {
        "uscc": wd.uscc,
        "name": wd.name,
        "region_code": w.regions["region_code"].to_numpy(dtype=object)[wd.region],
        "industry_code": w.industries["industry_code"].to_numpy(dtype=object)[wd.industry],
        "established_on": wd.established,
        "ownership": wd.ownership,
        "size_class": wd.size_class,
        "niche_since": wd.niche_since,
        "main_product": wd.main_product,
    }
