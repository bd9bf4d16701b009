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

from features.standards import MEASURES, stricter
from features.standards import PREFIX as STATUS_PREFIX
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


Op = Literal[">=", ">", "<=", "<"]


class Condition(_Strict):
    measure: str
    op: Op
    value: float


class Replaced(_Strict):
    """The value a threshold had under the standard the file replaces, stricter than the
    value in force (`discovery.standard_change`)."""

    value: float
    source: str


class Threshold(_Strict):
    """One threshold indicator: `measure op value`, or any one alternative path.

    An alternative is a list of conditions that must all hold, e.g. revenue below the
    floor but enough equity financing; the threshold is met when its own condition or
    any alternative is met, not met when none can be, and unknown otherwise.
    """

    id: str
    tier: Literal["specialized_sme", "little_giant"]
    measure: str
    op: Op
    value: float
    unit: str
    label_zh: str
    label_en: str
    basis: Basis
    source: str | None = None
    note: str | None = None
    alternatives: tuple[tuple[Condition, ...], ...] = ()
    #: where the figure is not on file: `learned`, the chance that the threshold is met is
    #: learned from the candidates whose figure is on file (a figure missing for reasons
    #: unrelated to the threshold); `decisions`, that chance is also lowered where past
    #: approvals had the figure unknown less often than their rounds' candidates (on a
    #: platform where a blank means "none", e.g. no niche market declared)
    when_unknown: Literal["learned", "decisions"] = "learned"
    #: the stricter value of the standard this one replaced: where past decisions still
    #: held it, a company between the two is scored as if at the old bar
    replaced: Replaced | None = None

    @property
    def column(self) -> str:
        """The feature table's status column of this threshold (`std_<id>`)."""
        return f"{STATUS_PREFIX}{self.id}"


class Reviewed(_Strict):
    """An indicator the standard names that no data in the contract measures: the
    reviewers judge it. Listed so the file names the whole standard; never checked."""

    id: str
    tier: Literal["specialized_sme", "little_giant"]
    label_zh: str
    label_en: str
    basis: Basis
    source: str | None = None
    note: str | None = None


FloorUse = Literal["rank_after", "exclude", "ignore"]


class EmpiricalFloors(_Strict):
    """How floors learned from past decisions are found and used (`discovery.standard_check`).

    A floor is the value of a measure below which at most `tolerance` of the past
    approvals fell. It is *well evidenced* when at least `min_evidence` approvals had
    the measure known, when the approvals do not just thin out towards it but stop at an
    edge (the approval rate of the candidates just above the floor is at least
    `min_sharpness` of the rate above it overall), and when at that rate at least
    `min_expected` approvals would have fallen just below it had the edge not been there.
    A threshold of the file is *contradicted* when more than `contradiction_share` of
    the approvals with its measure known visibly violate it (and at least five do).
    """

    use: FloorUse
    tolerance: float = Field(ge=0.0, lt=0.2)
    contradiction_share: float = Field(ge=0.0, lt=1.0)
    min_evidence: int = Field(ge=1)
    min_expected: float = Field(ge=0.0)
    min_sharpness: float = Field(ge=0.0)
    measures: tuple[str, ...]
    label_zh: str
    basis: Basis


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
    reviewed: tuple[Reviewed, ...] = ()
    empirical_floors: EmpiricalFloors
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

    def reviewed_for(self, tier: str) -> tuple[Reviewed, ...]:
        self.rung(tier)
        return tuple(r for r in self.reviewed if r.tier == tier)

    def default_top(self, tier: str) -> int:
        """How many companies a list of `tier` carries unless the caller says otherwise."""
        self.rung(tier)
        return int(self.list_defaults.get(tier, {}).get("top", 50))


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
    ids = [t.id for t in criteria.thresholds] + [r.id for r in criteria.reviewed]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise UsageError(f"{path}: threshold ids must be unique; repeated: {repeated}.")
    for t in criteria.thresholds:
        if t.replaced is not None and not stricter(t.op, t.replaced.value, t.value):
            raise UsageError(
                f"{path}: threshold {t.id}: the replaced value {t.replaced.value:g} must be "
                f"stricter than the value in force {t.value:g} (op {t.op})."
            )
    known = set(MEASURES)
    named = {c.measure for t in criteria.thresholds for p in t.alternatives for c in p}
    named |= {t.measure for t in criteria.thresholds} | set(criteria.empirical_floors.measures)
    if not named <= known:
        raise UsageError(
            f"{path}: unknown measures {sorted(named - known)}; the measures are: "
            f"{', '.join(MEASURES)}."
        )


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
