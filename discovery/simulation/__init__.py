"""The synthetic economy: a world of companies in the data contract, with a hidden truth.

A latent capability per company drives its revenue, R&D, IP, awards, talents,
investors and chain-leader customers; awareness of the policy (strongly regional)
and size drive who applies; the true quality score and a *scenario*'s hidden review
decide who is approved. The truth file says, at `end`, who may be invited for each
target tier (candidate), who applied, who would be approved if they applied
(qualifies) and which hidden rules the others miss.

Scenarios (`scenarios.yaml`, see `scenario.py`) set the hidden mechanisms: the review
standard, self-selection of applicants, how much the platform sees, label noise and
the regional mix. When none is given the simulator uses `file_standard`, whose review
is exactly the written 2026 standard.

    summary = simulate(4000, seed=5, out=Path("data"), truth=Path("truth.csv"))
    summary = simulate(None, seed=5, out=Path("data"), scenario="looser_review")

Same seed and scenario → byte-identical files. Everything is vectorized with numpy;
loops run over years, tables and rules only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from discovery.simulation import facts
from discovery.simulation.ladder import Ladder, holdings_at_end, run_ladder, true_quality
from discovery.simulation.observed import financials, quality_scores
from discovery.simulation.observed import truth as truth_table
from discovery.simulation.output import write_table
from discovery.simulation.review import Sources
from discovery.simulation.scenario import (
    DEFAULT_SCENARIO,
    TARGET_TIERS,
    Scenario,
    load_scenarios,
)
from discovery.simulation.scenario import (
    scenario as get_scenario,
)
from discovery.simulation.world import World, build_world, companies_table
from graph.contract import TABLE_NAMES, TIERS

__all__ = [
    "DEFAULT_SCENARIO",
    "TRUTH_COLUMNS",
    "Scenario",
    "Simulated",
    "SimulationSummary",
    "World",
    "build",
    "load_scenarios",
    "simulate",
]

TRUTH_COLUMNS = (
    "uscc",
    "capability",
    "quality_score",
    "candidate_specialized_sme",
    "qualifies_specialized_sme",
    "candidate_little_giant",
    "qualifies_little_giant",
    "applied_specialized_sme",
    "applied_little_giant",
    "misses_specialized_sme",
    "misses_little_giant",
)
_STEPS = (
    "companies",
    "patents",
    "awards",
    "talents",
    "investments",
    "supply_links",
    "compliance_events",
    "ladder",
    "financials",
    "quality_scores",
    "write",
)


@dataclass(frozen=True)
class SimulationSummary:
    companies: int
    seed: int
    end: dt.date
    #: rows written per table, in contract order
    rows: dict[str, int]
    #: companies holding each tier at `end` (a company may hold several)
    holders: dict[str, int]
    #: candidates and qualifiers per target tier at `end` (from the truth)
    candidates: dict[str, int]
    qualifiers: dict[str, int]
    #: inclusive levels at `end`: holds any tier, specialized_sme or higher, little_giant
    pyramid: tuple[int, int, int]
    #: name of the scenario that set the hidden mechanisms
    scenario: str = DEFAULT_SCENARIO


@dataclass(frozen=True)
class Simulated:
    """A generated world before writing: the hidden state next to every table."""

    scenario: Scenario
    world: World
    #: contract tables as column arrays (private columns start with `_`)
    tables: dict[str, dict[str, np.ndarray]]
    ladder: Ladder
    #: the truth's columns (TRUTH_COLUMNS), one row per company
    truth: dict[str, np.ndarray]

    @property
    def sources(self) -> Sources:
        return Sources(self.world, self.tables["patents"], self.tables["investments"])


def build(
    companies: int | None,
    seed: int,
    *,
    end: dt.date = dt.date(2025, 12, 31),
    scenario: str | Scenario = DEFAULT_SCENARIO,
    step: Callable[[int], None] | None = None,
) -> Simulated:
    """Generate a world in memory (`simulate` writes it); `companies` None = the scenario's."""
    sc = get_scenario(scenario)
    n = sc.companies if companies is None else companies
    if n < 1:
        raise ValueError("companies must be positive")

    def at(i: int) -> None:
        if step is not None:
            step(i)

    # One child stream per step: changing one generator leaves the others' draws alone.
    streams = iter(np.random.default_rng(seed).spawn(16))
    at(0)
    wd = build_world(next(streams), n, end, sc.regions)
    tables: dict[str, dict[str, np.ndarray]] = {"companies": companies_table(wd)}
    at(1)
    tables["patents"] = facts.patents(next(streams), wd)
    at(2)
    tables["awards"] = facts.awards(next(streams), wd)
    at(3)
    tables["talents"] = facts.talents(next(streams), wd)
    at(4)
    tables["investments"] = facts.investments(next(streams), wd)
    at(5)
    tables["supply_links"] = facts.supply_links(next(streams), wd)
    at(6)
    tables["compliance_events"] = facts.compliance_events(next(streams), wd)
    at(7)
    src = Sources(wd, tables["patents"], tables["investments"])
    quality = true_quality(next(streams), wd, tables["patents"])
    lad = run_ladder(next(streams), src, tables["compliance_events"], quality, sc)
    tables["certifications"] = _stack(lad.certs)
    tables["applications"] = _stack(lad.apps)
    tables["invitations"] = lad.invitations or _empty_invitations()
    at(8)
    tables["financials"] = financials(next(streams), wd, lad, sc)
    at(9)
    tables["quality_scores"] = quality_scores(next(streams), wd, lad, sc)
    truth_cols = truth_table(src, lad, tables["compliance_events"], sc)
    return Simulated(sc, wd, tables, lad, truth_cols)


def simulate(
    companies: int | None,
    seed: int,
    out: Path,
    truth: Path | None = None,
    *,
    end: dt.date = dt.date(2025, 12, 31),
    fmt: Literal["csv", "parquet"] = "csv",
    progress: Callable[[str, int, int], None] | None = None,
    scenario: str | Scenario = DEFAULT_SCENARIO,
) -> SimulationSummary:
    """Write every contract table of a world to `out` (and the truth).

    `companies` None takes the scenario's default size; `scenario` is a name in
    scenarios.yaml or a `Scenario` (an unknown name raises UsageError).
    """
    if companies is not None and companies < 1:
        raise ValueError("companies must be positive")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be csv or parquet, not {fmt!r}")
    sc = get_scenario(scenario)
    out = Path(out)
    if truth is not None and Path(truth).resolve().parent == out.resolve():
        raise ValueError("the truth file must not be written into the data directory")
    total = len(_STEPS) + (truth is not None)

    def step(i: int) -> None:
        if progress is not None:
            progress(_STEPS[i] if i < len(_STEPS) else "truth", i, total)

    sim = build(companies, seed, end=end, scenario=sc, step=step)
    wd, tables, lad, truth_cols = sim.world, sim.tables, sim.ladder, sim.truth
    step(10)

    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    other = "parquet" if fmt == "csv" else "csv"
    for name in TABLE_NAMES:
        (out / f"{name}.{other}").unlink(missing_ok=True)  # never leave a stale twin
        rows[name] = write_table(out, name, _sorted(name, tables[name]), fmt)
    held = holdings_at_end(lad, wd)
    top = held["specialized_sme"] | held["little_giant"]
    if truth is not None:
        step(11)
        Path(truth).parent.mkdir(parents=True, exist_ok=True)
        pacsv.write_csv(
            pa.table({k: truth_cols[k] for k in TRUTH_COLUMNS}),
            truth,
            pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none"),
        )
    if progress is not None:
        progress("done", total, total)
    return SimulationSummary(
        companies=wd.n,
        seed=seed,
        end=end,
        rows=rows,
        holders={t: int(held[t].sum()) for t in TIERS},
        candidates={t: int(truth_cols[f"candidate_{t}"].sum()) for t in TARGET_TIERS},
        qualifiers={t: int(truth_cols[f"qualifies_{t}"].sum()) for t in TARGET_TIERS},
        pyramid=(
            int((held["tech_sme"] | held["innovative_sme"] | top).sum()),
            int(top.sum()),
            int(held["little_giant"].sum()),
        ),
        scenario=sc.name,
    )


def _stack(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _empty_invitations() -> dict[str, np.ndarray]:
    obj = np.zeros(0, dtype=object)
    return {
        "invitation_id": obj,
        "uscc": obj,
        "tier": obj,
        "invited_on": np.zeros(0),
        "outcome": obj,
        "outcome_on": np.zeros(0),
    }


# Rows are ordered like an export would be: by date within the table, ties by code.
_SORT_KEYS = {
    "financials": ("uscc", "year"),
    "certifications": ("certified_on", "uscc"),
    "applications": ("applied_on", "uscc"),
    "compliance_events": ("start_on", "uscc"),
    "quality_scores": ("year", "uscc"),
}


def _sorted(name: str, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    keys = _SORT_KEYS.get(name)
    if not keys:
        return cols
    sort_cols = [cols[k] for k in reversed(keys)]
    order = np.lexsort(tuple(c.astype(str) if c.dtype == object else c for c in sort_cols))
    return {k: v[order] for k, v in cols.items()}
