"""The feature families in output order, and the reason channel of every model input.

Each family is one module of this package that computes its own prefixed columns
from a shared `Context`; its entry here says which prefix it owns and which reason
channel (supply chain, equity, IP, awards, talent, profile) its columns speak for.
Columns made outside the families, from the feature table, are declared too (the
quality-score estimate of `discovery.quality`), so every column a model may see maps
to exactly one channel and an unknown column is an error, never a guess. Adding a
family means adding one entry to `_FAMILIES`.

    from features import registry
    registry.family_of("fin_revenue_latest_wan")  # "financial"
    registry.channel_of("emb_03")  # "supply_chain"
    with registry.replaced("supply_chain", reference_compute):
        build_features(store, as_of)  # the reference in place of the family
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd

from features import (
    awards,
    embedding,
    equity,
    financial,
    ip,
    profile,
    standards,
    supply_chain,
    talent,
)
from features.context import Context
from graph.errors import UsageError

Compute = Callable[[Context], pd.DataFrame]

#: the reason channels a model input can speak for (`discovery.explain` words them)
CHANNELS: tuple[str, ...] = ("supply_chain", "equity", "ip", "awards", "talent", "profile")


@dataclass(frozen=True)
class Family:
    """A family of feature columns: `compute` returns one row per company, every
    column named `prefix + ...`, in the same order for every date and store."""

    name: str
    prefix: str
    channel: str
    compute: Compute


@dataclass(frozen=True)
class Columns:
    """Columns named `prefix + ...` that a model may see but no family computes."""

    prefix: str
    channel: str
    made_by: str


#: the families, in output order; standards run last because their threshold columns
#: (`std_<id>`, same prefix) compare measures of the families before them
_FAMILIES: list[Family] = [
    Family("profile", profile.PREFIX, "profile", profile.compute),
    Family("financial", financial.PREFIX, "profile", financial.compute),
    Family("ip", ip.PREFIX, "ip", ip.compute),
    Family("awards", awards.PREFIX, "awards", awards.compute),
    Family("talent", talent.PREFIX, "talent", talent.compute),
    Family("equity", equity.PREFIX, "equity", equity.compute),
    Family("supply_chain", supply_chain.PREFIX, "supply_chain", supply_chain.compute),
    Family("embedding", embedding.PREFIX, "supply_chain", embedding.compute),
    Family("standards", standards.PREFIX, "profile", standards.compute_quality),
]
#: columns added to the feature table downstream of `build_features`
DERIVED: tuple[Columns, ...] = (Columns("qs_", "profile", "discovery.quality.estimate_quality"),)


def _owners() -> list[Family | Columns]:
    return [*_FAMILIES, *DERIVED]


def _check() -> None:
    """Every prefix is distinct and none starts another, so a column has one owner."""
    prefixes = [o.prefix for o in _owners()]
    for i, a in enumerate(prefixes):
        for b in prefixes[i + 1 :]:
            if a.startswith(b) or b.startswith(a):
                raise UsageError(f"Feature column prefixes {a!r} and {b!r} overlap.")
    unknown = sorted({o.channel for o in _owners()} - set(CHANNELS))
    if unknown:
        raise UsageError(f"Unknown reason channels {unknown}; they are: {', '.join(CHANNELS)}.")


_check()


def families() -> tuple[Family, ...]:
    """The families in output order, as they stand (with any `replaced` in place)."""
    return tuple(_FAMILIES)


def family(name: str) -> Family:
    for entry in _FAMILIES:
        if entry.name == name:
            return entry
    names = ", ".join(f.name for f in _FAMILIES)
    raise UsageError(f"Unknown feature family {name!r}; they are: {names}.")


def family_of(measure: str) -> str:
    """The name of the family that computes the column `measure`."""
    for entry in _FAMILIES:
        if measure.startswith(entry.prefix):
            return entry.name
    raise UsageError(f"No feature family makes the measure {measure!r}.")


def prefix_channels() -> dict[str, str]:
    """Column prefix -> reason channel, for every family and derived column group."""
    return {o.prefix: o.channel for o in _owners()}


def channel_of(column: str) -> str:
    """The reason channel of a model input; a column nothing registered makes is an error."""
    for prefix, channel in prefix_channels().items():
        if column.startswith(prefix):
            return channel
    known = ", ".join(prefix_channels())
    raise UsageError(
        f"No feature family or derived column group makes the column {column!r} "
        f"(known prefixes: {known}); register it in features/registry.py."
    )


@contextmanager
def replaced(name: str, compute: Compute) -> Iterator[Family]:
    """Within the block, the family `name` is computed by `compute` (same prefix, same
    channel); the original is back on exit, also when the block raises.

    For reference implementations and benchmarks: `compute` must return the family's
    columns in the family's order, or the feature table's schema changes. The swap is
    process-wide, so it also reaches threads that build features meanwhile.
    """
    original = family(name)
    at = _FAMILIES.index(original)
    _FAMILIES[at] = dataclasses.replace(original, compute=compute)
    try:
        yield _FAMILIES[at]
    finally:
        _FAMILIES[at] = original
