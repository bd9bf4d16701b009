"""Shared helpers of the synthetic economy: dates, credit codes, word lists, sampling.

Dates are float64 day numbers since 1970-01-01 throughout the simulation: NaN is a
null date, comparisons with NaN are false (so "end_on null or after d" is
`~(end_on <= d)`), and whole arrays shift by day counts without datetime overhead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

DATA_DIR = Path(__file__).resolve().parents[1] / "data"

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array(
    [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64
)
# GB 11714 organisation-code weights; its check character is 0-9 or X.
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ALPHABET_BYTES = np.frombuffer(USCC_ALPHABET.encode("ascii"), dtype=np.uint8)
_X_INDEX = USCC_ALPHABET.index("X")
_EPOCH = dt.date(1970, 1, 1)


def day(d: dt.date) -> float:
    """The day number of a date."""
    return float((d - _EPOCH).days)


def ymd(year: int, month: int = 1, dom: int = 1) -> float:
    return day(dt.date(year, month, dom))


def add_years(days: np.ndarray, years: int) -> np.ndarray:
    """Same calendar day `years` later (Feb 29 → Feb 28), as certificates expire."""
    valid = ~np.isnan(days)
    out = np.full(days.shape, np.nan)
    if valid.any():
        d = days[valid].astype("int64").astype("datetime64[D]")
        y = d.astype("datetime64[Y]")
        m = d.astype("datetime64[M]")
        month_no = (m - y.astype("datetime64[M]")).astype("int64")
        dom = (d - m.astype("datetime64[D]")).astype("int64")
        ny = (y + np.timedelta64(years, "Y")).astype("datetime64[M]") + month_no
        nd = ny.astype("datetime64[D]") + dom
        # a day past the month's end (Feb 29 in a common year) falls back to the last day
        month_end = (ny + np.timedelta64(1, "M")).astype("datetime64[D]") - np.timedelta64(1, "D")
        out[valid] = np.minimum(nd, month_end).astype("int64")
    return out


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number (NaN → 0)."""
    d = np.nan_to_num(days, nan=0.0).astype("int64").astype("datetime64[D]")
    return d.astype("datetime64[Y]").astype("int64") + 1970


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def zscore(x: np.ndarray) -> np.ndarray:
    sd = float(np.std(x))
    return (x - float(np.mean(x))) / (sd if sd > 0 else 1.0)


@dataclass(frozen=True)
class Words:
    """Static lists from discovery/data."""

    regions: pd.DataFrame
    industries: pd.DataFrame
    names: dict[str, Any]


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return [str(node)]


@cache
def words() -> Words:
    regions = pd.read_csv(DATA_DIR / "regions.csv", dtype=str, keep_default_na=False)
    regions["weight"] = regions["weight"].astype(float)
    industries = pd.read_csv(DATA_DIR / "industries.csv", dtype=str, keep_default_na=False)
    industries["weight"] = industries["weight"].astype(float)
    names = yaml.safe_load((DATA_DIR / "simulation_names.yaml").read_text(encoding="utf-8"))
    # Files are written without CSV quoting, so no word may hold a separator or quote.
    texts = [*_strings(names), *regions.to_numpy().ravel().tolist()]
    texts += industries[["name", "name_word", "products"]].to_numpy().ravel().tolist()
    bad = [t for t in texts if isinstance(t, str) and any(c in t for c in ',"\r\n')]
    if bad:
        raise ValueError(f"simulation word lists must not contain commas or quotes: {bad[:3]}")
    return Words(regions, industries, names)


def org_bodies(rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` distinct 8-digit organisation numbers (GB 11714 body), shuffled."""
    draws = np.unique(rng.integers(0, 10**8, int(n * 1.05) + 64))
    while len(draws) < n:  # practically never: 1e8 numbers, at most a few million drawn
        draws = np.unique(np.concatenate([draws, rng.integers(0, 10**8, n)]))
    return rng.permutation(draws)[:n]


def make_uscc(region_codes: np.ndarray, org_numbers: np.ndarray) -> np.ndarray:
    """Valid 18-character USCCs (企业, 法人: '91') from 6-digit regions and 8-digit numbers.

    Everything is index arithmetic on an (n, 18) matrix: the GB 11714 check of the
    organisation code, then the GB 32100 check over the first 17 characters.
    """
    n = len(org_numbers)
    idx = np.empty((n, 18), dtype=np.int64)
    idx[:, 0] = 9  # registration authority: 工商
    idx[:, 1] = 1  # organisation category 1 = 企业
    region = np.asarray(region_codes).astype("int64")
    for k in range(6):
        idx[:, 2 + k] = (region // 10 ** (5 - k)) % 10
    for k in range(8):
        idx[:, 8 + k] = (org_numbers // 10 ** (7 - k)) % 10
    org_check = (11 - (idx[:, 8:16] @ ORG_WEIGHTS) % 11) % 11
    idx[:, 16] = np.where(org_check == 10, _X_INDEX, org_check)
    idx[:, 17] = (31 - (idx[:, :17] @ USCC_WEIGHTS) % 31) % 31
    raw = np.ascontiguousarray(_ALPHABET_BYTES[idx])
    return raw.view("S18").ravel().astype("U18").astype(object)


def weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with replacement in proportion to `weights` (vectorized)."""
    cw = np.cumsum(weights, dtype=np.float64)
    u = rng.random(size) * cw[-1]
    return np.minimum(np.searchsorted(cw, u, side="right"), len(weights) - 1)


class GroupSampler:
    """Weighted draws of members of a given group (industry, province …), vectorized.

    Members are sorted by group once; a draw for group g is a uniform number inside
    g's slice of the cumulative weights, located with one searchsorted.
    """

    def __init__(self, groups: np.ndarray, weights: np.ndarray) -> None:
        self.order = np.argsort(groups, kind="stable")
        self.sorted_groups = groups[self.order]
        self.cw = np.cumsum(weights[self.order], dtype=np.float64)
        self.n_groups = int(groups.max()) + 1 if len(groups) else 0
        self.start = np.searchsorted(self.sorted_groups, np.arange(self.n_groups), "left")
        self.stop = np.searchsorted(self.sorted_groups, np.arange(self.n_groups), "right")

    def draw(self, rng: np.random.Generator, groups: np.ndarray) -> np.ndarray:
        """One member per query group; -1 where the group has no member."""
        start, stop = self.start[groups], self.stop[groups]
        empty = stop <= start
        lo = np.where(start > 0, self.cw[np.maximum(start - 1, 0)], 0.0)
        hi = self.cw[np.maximum(stop - 1, 0)]
        pos = np.searchsorted(self.cw, lo + rng.random(len(groups)) * (hi - lo), "right")
        pos = np.clip(pos, start, np.maximum(stop - 1, start))
        out = self.order[np.minimum(pos, len(self.order) - 1)]
        return np.where(empty, -1, out)


def pick(rng: np.random.Generator, options: list[str] | tuple[str, ...], n: int) -> np.ndarray:
    """`n` uniform picks from a word list, as an object array."""
    return np.asarray(options, dtype=object)[rng.integers(0, len(options), n)]


def concat(*parts: np.ndarray | str) -> np.ndarray:
    """Element-wise string concatenation of object arrays and constants."""
    out: Any = None
    for p in parts:
        s = pd.Series(p, dtype=object) if isinstance(p, np.ndarray) else p
        out = s if out is None else out + s
    return np.asarray(out, dtype=object)


def zero_pad(values: np.ndarray, width: int) -> np.ndarray:
    """Integers as zero-padded decimal strings."""
    return pd.Series(values, dtype="int64").astype(str).str.zfill(width).to_numpy(dtype=object)
