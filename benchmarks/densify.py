"""A heavier patent table for a simulated world: class-II rights added until a company
holds `rows_per_company` patent rows on average.

Our simulator writes about 4 patent rows per company; registries of real regions hold
several times that (utility models, designs and software copyrights above all), and
the feature build and the peers' aggregations scale with the longest table. The
added rows are class-II rights (`utility_model`, `design`, `software_copyright`) of
the companies already in the world, drawn in proportion to the rights each already
holds, with filing, grant and lapse dates as the contract allows. Class-II rights
change none of the thresholds of the criteria file, and the world's truth is left as
simulated, so `run.py --patent-rows` refuses a scenario whose hidden review reads
class-II counts (`class_two`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from discovery.simulation.output import write_table
from graph.contract import TABLES

#: (type, share of the added rows, grant delay in years (min, max))
CLASS_TWO = (
    ("utility_model", 0.5, (0.5, 1.2)),
    ("design", 0.25, (0.3, 0.8)),
    ("software_copyright", 0.25, (0.1, 0.4)),
)
FIRST_FILING = np.datetime64("2008-01-01")
YEAR = 365.25


def reads_class_two(scenario: str) -> bool:
    """Whether the hidden review of `scenario` reads class-II counts."""
    from discovery.simulation import load_scenarios

    review = load_scenarios()[scenario].review
    tiers = ("specialized_sme", "little_giant")
    return any("class_two" in rule.measures for tier in tiers for rule in review.rules(tier))


def _read(path: Path):
    if path.suffix == ".parquet":
        return pq.read_table(path)
    return pacsv.read_csv(path)


def densify_patents(data: Path, rows_per_company: float, end: np.datetime64, seed: int) -> dict:
    """Add class-II rights to `data/patents.*` until it holds `rows_per_company` rows per
    company on average; returns the row counts before and after."""
    fmt = "parquet" if (data / "companies.parquet").exists() else "csv"
    companies = _read(data / f"companies.{fmt}").to_pandas()
    patents = _read(data / f"patents.{fmt}").to_pandas()
    n, before = len(companies), len(patents)
    extra = round(rows_per_company * n) - before
    if extra <= 0:
        return {"before": before, "after": before}
    rng = np.random.default_rng(seed + 1_000_003)
    held = patents["uscc"].value_counts().reindex(companies["uscc"], fill_value=0).to_numpy()
    weight = (held + 1.0) / (held + 1.0).sum()
    owner = np.repeat(np.arange(n), rng.multinomial(extra, weight))

    def days(values) -> np.ndarray:
        """Day numbers since 1970 as floats, NaN where the date is missing."""
        stamps = np.asarray(values, dtype="datetime64[D]")
        out = stamps.astype("int64").astype(float)
        out[np.isnat(stamps)] = np.nan
        return out

    today = float(np.datetime64(end, "D").astype("int64"))
    established = days(companies["established_on"].to_numpy(dtype="datetime64[D]"))[owner]
    low = np.maximum(established, float(FIRST_FILING.astype("datetime64[D]").astype("int64")))
    low = np.minimum(low, today)
    filed = np.floor(low + rng.random(extra) ** 0.6 * (today - low))
    kind = rng.choice(len(CLASS_TWO), extra, p=[s for _, s, _ in CLASS_TWO])
    delay_lo = np.array([d[0] for _, _, d in CLASS_TWO])[kind]
    delay_hi = np.array([d[1] for _, _, d in CLASS_TWO])[kind]
    decided = filed + np.floor((delay_lo + rng.random(extra) * (delay_hi - delay_lo)) * YEAR)
    granted = np.where(decided <= today, decided, np.nan)
    lapsed = granted + np.floor((1 + rng.random(extra) * 9) * YEAR)
    lapsed = np.where((rng.random(extra) < 0.15) & (lapsed <= today), lapsed, np.nan)
    cols = {
        "ip_id": np.char.add("BX", np.char.zfill(np.arange(extra).astype(str), 10)).astype(object),
        "uscc": companies["uscc"].to_numpy(dtype=object)[owner],
        "applicant_rank": np.ones(extra, dtype=np.int64),
        "ip_type": np.array([t for t, _, _ in CLASS_TWO], dtype=object)[kind],
        "filed_on": filed,
        "granted_on": granted,
        "self_filed": rng.random(extra) < 0.92,
        "lapsed_on": lapsed,
    }
    old = {
        "ip_id": patents["ip_id"].to_numpy(dtype=object),
        "uscc": patents["uscc"].to_numpy(dtype=object),
        "applicant_rank": patents["applicant_rank"].to_numpy(dtype=np.int64),
        "ip_type": patents["ip_type"].to_numpy(dtype=object),
        "self_filed": patents["self_filed"].to_numpy(dtype=bool),
    }
    for col in ("filed_on", "granted_on", "lapsed_on"):
        old[col] = days(patents[col].to_numpy(dtype="datetime64[D]"))
    merged = {c: np.concatenate([old[c], cols[c]]) for c in TABLES["patents"].column_names}
    after = write_table(data, "patents", merged, fmt)
    return {"before": before, "after": after}
