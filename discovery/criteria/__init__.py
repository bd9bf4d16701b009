"""The recognition standards as data: ladder, thresholds and barring rules, each with its source.

The model ranks; it never waives a threshold. Thresholds here are checked for
every listed company and shown as met / not met / unknown.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from graph.contract import COMPLIANCE_KINDS, OPEN_LISTING_KINDS, TARGET_TIERS, TIERS
from graph.errors import UsageError

HERE = Path(__file__).parent
DEFAULT_VERSION = "2026"

Basis = Literal["policy", "assumption"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Rung(_Strict):
    tier: Literal["specialized_sme", "little_giant"]
    name_zh: str
    from_tiers: tuple[str, ...] = Field(alias="from")
    above: tuple[str, ...]
    basis: Basis


class Threshold(_Strict):
    id: str
    tier: Literal["specialized_sme", "little_giant"]
    measure: str
    op: Literal[">=", ">"]
    value: float
    unit: str
    label_zh: str
    label_en: str
    basis: Basis
    note: str | None = None


class OpenListing(_Strict):
    kinds: tuple[str, ...]
    label_zh: str
    basis: Basis


class RecentEvent(_Strict):
    kinds: tuple[str, ...]
    lookback_years: int
    label_zh: str
    basis: Basis


class Barring(_Strict):
    open_listing: OpenListing
    recent_event: RecentEvent


class Criteria(_Strict):
    version: str
    title_zh: str
    title_en: str
    source: str
    ladder: tuple[Rung, ...]
    thresholds: tuple[Threshold, ...]
    barring: Barring
    list_defaults: dict[str, dict[str, int]]

    def rung(self, tier: str) -> Rung:
        for rung in self.ladder:
            if rung.tier == tier:
                return rung
        raise UsageError(f"Unknown tier '{tier}'; the tiers are: {', '.join(TARGET_TIERS)}.")

    def thresholds_for(self, tier: str) -> tuple[Threshold, ...]:
        self.rung(tier)
        return tuple(t for t in self.thresholds if t.tier == tier)


def _check_consistency(criteria: Criteria, path: Path) -> None:
    """The file may change values, not the meaning of the contract's tiers and barring kinds."""
    for rung in criteria.ladder:
        unknown = set(rung.from_tiers) | set(rung.above)
        if not unknown <= set(TIERS):
            raise UsageError(
                f"{path}: ladder of {rung.tier} names unknown tiers {sorted(unknown - set(TIERS))}."
            )
    kinds = set(criteria.barring.open_listing.kinds) | set(criteria.barring.recent_event.kinds)
    if set(criteria.barring.open_listing.kinds) != set(OPEN_LISTING_KINDS) or kinds != set(
        COMPLIANCE_KINDS
    ):
        raise UsageError(
            f"{path}: barring kinds must cover the contract's compliance kinds exactly."
        )
    if {r.tier for r in criteria.ladder} != set(TARGET_TIERS):
        raise UsageError(f"{path}: the ladder must describe {', '.join(TARGET_TIERS)}.")


def load_criteria(path: Path | str | None = None) -> Criteria:
    """Read a criteria file (default: the 2026 standards shipped with the package)."""
    path = Path(path) if path else HERE / f"{DEFAULT_VERSION}.yaml"
    if not path.is_file():
        raise UsageError(f"The criteria file {path} does not exist.")
    try:
        criteria = Criteria.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise UsageError(f"{path}: not a valid criteria file: {exc}") from None
    _check_consistency(criteria, path)
    return criteria


@cache
def default_criteria() -> Criteria:
    return load_criteria()
