"""Scenarios: the hidden mechanisms of a simulated world, read from `scenarios.yaml`.

A scenario sets what the data never shows directly: the review standard the
reviewers really apply per tier (rules on true quantities, possibly with
alternative paths), how well firms select themselves, how much of the world the
platform sees, how noisy decisions are and how companies and policy awareness
spread over the regions. The simulator never reads the service's own criteria, so
a scenario may disagree with them; that is the point of testing on several.

    scenario("looser_review").review.little_giant[0].key
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from graph.contract import TARGET_TIERS
from graph.errors import UsageError

__all__ = [
    "DEFAULT_SCENARIO",
    "MEASURES",
    "Condition",
    "Rule",
    "Scenario",
    "load_scenarios",
    "scenario",
]

SCENARIO_FILE = Path(__file__).with_name("scenarios.yaml")
DEFAULT_SCENARIO = "file_standard"

Measure = Literal[
    "niche_years",
    "revenue",
    "rd_1y",
    "rd_2y",
    "rd_ratio_1y",
    "rd_ratio_2y",
    "main_business_share",
    "main_business_growth_2y",
    "class_one",
    "class_one_own",
    "class_two",
    "financing_2y",
    "quality",
]
MEASURES: tuple[str, ...] = Measure.__args__  # type: ignore[attr-defined]
Op = Literal[">=", ">", "<=", "<"]
_BAD_ID_CHARS = ',"|\r\n'


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """`measure op value` on the company's true figures."""

    measure: Measure
    op: Op
    value: float

    @property
    def text(self) -> str:
        return f"{self.measure}{self.op}{self.value:g}"


class Rule(Condition):
    """A condition, met also when every condition of any one alternative path holds."""

    alternatives: list[list[Condition]] = Field(default_factory=list)
    #: the rule's name in the truth's `misses_<tier>`; by default `measure op value`
    id: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if any(not path for path in self.alternatives):
            raise ValueError("an alternative path needs at least one condition")
        if any(c in self.key for c in _BAD_ID_CHARS):
            raise ValueError(f'rule id {self.key!r} must not contain , " | or line breaks')
        return self

    @property
    def key(self) -> str:
        return self.id or self.text

    @property
    def measures(self) -> set[str]:
        return {self.measure} | {c.measure for path in self.alternatives for c in path}

    @property
    def reviewed(self) -> bool:
        """Decided by the reviewers' score, not something a firm knows of itself."""
        return "quality" in self.measures


class Review(_Strict):
    """The standard the reviewers really apply, per target tier."""

    specialized_sme: list[Rule]
    little_giant: list[Rule]

    @model_validator(mode="after")
    def _unique_ids(self) -> Review:
        for tier in TARGET_TIERS:
            keys = [r.key for r in getattr(self, tier)]
            if len(set(keys)) != len(keys):
                raise ValueError(f"{tier}: rule ids must be unique, got {keys}")
        return self

    def rules(self, tier: str) -> list[Rule]:
        return list(getattr(self, tier))


class PerTier(_Strict):
    specialized_sme: float = Field(ge=0.0, le=1.0)
    little_giant: float = Field(ge=0.0, le=1.0)

    def of(self, tier: str) -> float:
        return float(getattr(self, tier))


class Financials(_Strict):
    #: share of companies ever certified that file annual statements on the platform
    certified: float = Field(0.85, ge=0.0, le=1.0)
    #: share of the others
    others: float = Field(0.33, ge=0.0, le=1.0)


class PublishedScores(_Strict):
    #: yearly chance a specialized / little giant holder gets a published score
    top: float = Field(0.9, ge=0.0, le=1.0)
    #: yearly chance a tech / innovative SME holder does
    tech: float = Field(0.04, ge=0.0, le=1.0)


class LabelNoise(_Strict):
    #: share of first-application decisions going against the score
    discretion: float = Field(0.03, ge=0.0, le=0.5)
    #: share of first-application approvals that ignore one failed non-quality rule
    rule_waivers: float = Field(0.0, ge=0.0, le=0.5)


class Regions(_Strict):
    #: spread of policy awareness between provinces (logit scale)
    awareness_sd: float = Field(0.9, ge=0.0)
    #: exponent on province weights: 1 = the national mix, > 1 favours big provinces
    concentration: float = Field(1.0, gt=0.0)


class Scenario(_Strict):
    name: str
    description: str
    review: Review
    #: chance multiplier of applying while missing a known (non-quality) hidden rule
    self_selection: PerTier = PerTier(specialized_sme=0.05, little_giant=0.01)
    financials: Financials = Financials()
    published_scores: PublishedScores = PublishedScores()
    label_noise: LabelNoise = LabelNoise()
    regions: Regions = Regions()
    #: world size when the caller gives none
    companies: int = Field(4000, ge=1)


@cache
def load_scenarios(path: Path = SCENARIO_FILE) -> dict[str, Scenario]:
    """Every scenario of the file, by name, in file order."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of scenario names")
    out: dict[str, Scenario] = {}
    for name, body in raw.items():
        try:
            out[str(name)] = Scenario.model_validate({"name": str(name), **(body or {})})
        except ValidationError as exc:
            raise ValueError(f"{path}: scenario {name!r} is invalid: {exc}") from exc
    return out


def scenario(name: str | Scenario | None = None) -> Scenario:
    """A scenario by name (None = the default); an unknown name is the caller's mistake."""
    if isinstance(name, Scenario):
        return name
    known = load_scenarios()
    key = DEFAULT_SCENARIO if name is None else name
    if key not in known:
        raise UsageError(f"unknown scenario '{key}'; known scenarios: {', '.join(known)}.")
    return known[key]
