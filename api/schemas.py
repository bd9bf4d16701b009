"""Request and response models, one family per entity (Base / Create / Public / …sPublic)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from discovery.vocabulary import Tier

Outcome = Literal["declined", "applied", "approved", "rejected"]
CheckStatus = Literal["met", "not_met", "unknown"]
USCC_PATTERN = r"^[0-9A-Z]{18}$"
INDUSTRY_PATTERN = r"^[A-T][0-9]{0,4}$"
#: a registered model: `<tier>-<trained at, UTC>-<serial>`
MODEL_ID_PATTERN = r"^[a-z_]+-[0-9]{8}T[0-9]{6}-[0-9]+$"


class ErrorPublic(BaseModel):
    """Every error answer: one plain sentence (Chinese first where it is meant for officials)."""

    detail: str = Field(examples=["没有这家企业 No company with this code is known."])


class FieldErrorPublic(BaseModel):
    """One thing a request got wrong, for programs: where, pydantic's type and message."""

    loc: list[str | int] = Field(
        description="the place (query, path, header or body), then the field",
        examples=[["query", "limit"]],
    )
    type: str = Field(description="pydantic's error type", examples=["less_than_equal"])
    msg: str = Field(description="pydantic's message, in English")
    detail: str = Field(description="the same as one sentence, Chinese first")


class ValidationErrorPublic(BaseModel):
    """A request the service cannot read (422): one sentence naming the first wrong field."""

    detail: str = Field(
        examples=["参数 limit 必须是 1 到 200 的整数 (limit must be an integer from 1 to 200)"]
    )
    errors: list[FieldErrorPublic] = Field(description="every error, in request order")


# -- ranked lists -------------------------------------------------------------------------
class ThresholdCheck(BaseModel):
    id: str
    label_zh: str
    label_en: str
    short_zh: str = Field(description="the threshold in a word or two, e.g. 营收")
    short_en: str = Field(description="the same in English, e.g. revenue")
    status: CheckStatus
    text: str = Field(
        description=(
            "达标 met / 未达标 not met / 未知 unknown; an unknown check carries the quality "
            "score's estimate, or the chance the threshold is met, if any"
        )
    )


class ConditionPublic(BaseModel):
    measure: str
    op: str
    value: float


class ThresholdPublic(BaseModel):
    id: str
    label_zh: str
    label_en: str
    measure: str
    op: str
    value: float
    unit: str
    basis: str
    alternatives: list[list[ConditionPublic]] = Field(
        default_factory=list,
        description="other ways to meet the threshold: any one path whose conditions all hold",
    )


class ReasonLine(BaseModel):
    """One reason split into its Chinese sentence and the English beside it."""

    zh: str
    en: str = Field(description="the English rendering; empty when the reason has none")


class RankedCompany(BaseModel):
    rank: int = Field(description="position in the whole list for the tier, best first")
    uscc: str
    name: str
    region_code: str
    region_name: str = Field(description="the county (or province) the code names; '' if unknown")
    industry_code: str
    industry_name: str = Field(description="the GB/T 4754 class (or division); '' if unknown")
    size_class: str | None = Field(description="micro, small or medium; null if unknown")
    size_name: str = Field(description="微型 / 小型 / 中型; '' if unknown")
    tier: Tier
    score: float = Field(ge=0, le=1, description="estimated probability of approval")
    checks: list[ThresholdCheck]
    quality_score: float | None
    quality_score_source: str
    floor_check: str = Field(
        "",
        description="empty, or the measures on which the company is below every past "
        "approval of the tier (empirical floors); such companies rank after the others",
    )
    reasons: list[str]
    reason_lines: list[ReasonLine] = Field(
        description="the same reasons, each split into Chinese and English"
    )


class DistrictCount(BaseModel):
    region_code: str
    region_name: str
    count: int


class TableNotOnFile(BaseModel):
    table: str = Field(description="the contract table, e.g. patents")
    table_zh: str = Field(description="its name in Chinese, e.g. 知识产权")


class RankedListPublic(BaseModel):
    tier: Tier
    tier_zh: str
    as_of: date
    model_id: str
    model_as_of: date | None = Field(
        description="the date of the data the serving model was trained on (its as_of)"
    )
    count: int = Field(description="companies matching the filters (before paging)")
    limit: int
    offset: int
    sort: str = Field(description="the order of the rows (see the `sort` parameter)")
    region_name: str = Field(
        description="the name of the `region` filter's code (county, city or province); '' if none"
    )
    districts: list[DistrictCount] = Field(
        description="companies matching the filters per county, most first (before paging)"
    )
    thresholds: list[ThresholdPublic]
    not_on_file: list[TableNotOnFile] = Field(
        default_factory=list,
        description="tables the gates and thresholds read that hold no row: thresholds on "
        "them read unknown and gates on them bar no one (未提供的数据)",
    )
    data: list[RankedCompany]


class ServingModel(BaseModel):
    tier: Tier
    tier_zh: str
    model_id: str | None = Field(description="null while no model serves the tier")
    model_as_of: date | None = Field(description="the date of the data the model was trained on")


class ServingModelsPublic(BaseModel):
    data: list[ServingModel]


# -- companies ----------------------------------------------------------------------------
class CompanyProfile(BaseModel):
    uscc: str
    name: str
    region_code: str
    region_name: str = Field(description="the county (or province) the code names; '' if unknown")
    industry_code: str
    industry_name: str = Field(description="the GB/T 4754 class (or division); '' if unknown")
    established_on: date | None
    size_class: str | None
    size_name: str = Field(description="微型 / 小型 / 中型 / 大型; '' if unknown")
    niche_since: date | None
    main_product: str | None


class TierAssessment(BaseModel):
    tier: Tier
    tier_zh: str
    model_id: str | None
    eligible: bool = Field(description="passes the gate (ladder, not held, not barred, not large)")
    gate: dict[str, bool]
    gate_reasons: list[str]
    rank: int | None = Field(description="position in the ranked list, if listed")
    invitable: bool
    score: float | None
    checks: list[ThresholdCheck]
    reasons: list[str]
    reason_lines: list[ReasonLine] = Field(
        description="the same reasons, each split into Chinese and English"
    )
    quality_score: float | None
    quality_score_source: str | None


class Counterparty(BaseModel):
    uscc: str | None = Field(description="absent when the company is outside your regions")
    name: str
    region_code: str | None
    outside_region: bool
    since: date | None
    until: date | None
    amount_wan: float | None


class InvestorPublic(BaseModel):
    investor_id: str | None
    name: str
    investor_type: str
    invested_on: date | None
    round: str | None
    amount_wan: float | None
    equity_pct: float | None
    outside_region: bool


class AwardPublic(BaseModel):
    name: str
    level: str
    category: str | None
    prize: str | None
    awarded_on: date | None


class TalentPublic(BaseModel):
    program: str
    level: str
    joined_on: date | None
    left_on: date | None


class PatentPublic(BaseModel):
    ip_id: str
    ip_type: str
    applicant_rank: int | None
    filed_on: date | None
    granted_on: date | None
    self_filed: bool | None
    lapsed_on: date | None


class PatentSummary(BaseModel):
    total: int
    class_one: int
    class_one_granted: int
    class_one_self_top3: int
    lapsed: int
    latest_filed_on: date | None


class CertificationPublic(BaseModel):
    tier: str
    certified_on: date | None
    expires_on: date | None
    revoked_on: date | None


class ApplicationPublic(BaseModel):
    tier: str
    applied_on: date | None
    decided_on: date | None
    outcome: str


class FinancialPublic(BaseModel):
    year: int
    reported_on: date | None
    revenue_wan: float | None
    rd_expense_wan: float | None
    net_profit_wan: float | None
    employees: int | None
    rd_staff: int | None


class EvidencePublic(BaseModel):
    customers: list[Counterparty]
    customers_total: int
    suppliers: list[Counterparty]
    suppliers_total: int
    investors: list[InvestorPublic]
    awards: list[AwardPublic]
    talents: list[TalentPublic]
    patents: PatentSummary
    patent_items: list[PatentPublic] = Field(
        default_factory=list,
        description="the company's IP rights, newest filing first (at most 50)",
    )
    certifications: list[CertificationPublic]
    applications: list[ApplicationPublic]
    financials: list[FinancialPublic]


# -- invitations --------------------------------------------------------------------------
class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: Tier
    uscc: list[str] = Field(min_length=1, max_length=200, description="companies to invite")
    invited_on: date | None = Field(None, description="default: today")


class OutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    outcome_on: date | None = Field(None, description="default: today")


class InvitationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    invitation_id: str
    uscc: str
    tier: str
    region_code: str
    invited_on: date
    outcome: str
    outcome_on: date | None
    invited_by: str
    outcome_by: str | None
    score: float | None
    model_id: str | None
    already_invited: bool = Field(
        False,
        description="true when an open invitation already existed and was kept (not doubled)",
    )


class InvitationsPublic(BaseModel):
    data: list[InvitationPublic]
    count: int


class CompanyPublic(BaseModel):
    as_of: date
    profile: CompanyProfile
    tiers: list[TierAssessment]
    evidence: EvidencePublic
    invitations: list[InvitationPublic]


# -- graph --------------------------------------------------------------------------------
class GraphNode(BaseModel):
    id: str
    kind: Literal["company", "investor"]
    label: str
    uscc: str | None
    region_code: str | None
    center: bool
    outside_region: bool
    tier: str | None = Field(
        None, description="the highest tier the company holds (none: 'none'); null if hidden"
    )


class GraphEdge(BaseModel):
    source: str
    target: str
    kind: Literal["supplies", "invested_in"]
    since: date | None
    until: date | None
    amount_wan: float | None


class GraphPublic(BaseModel):
    center: str
    as_of: date
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = Field(description="true when neighbours were left out to bound the size")


# -- data uploads -------------------------------------------------------------------------
class TableLoad(BaseModel):
    read: int
    loaded: int
    rejected: int


class RejectPublic(BaseModel):
    file: str
    line: int | None
    column: str | None
    value: str | None
    reason: str


class UploadPublic(BaseModel):
    upload_id: str
    tables: dict[str, TableLoad]
    loaded_rows: int
    rejected_rows: int
    changed: bool
    version: str | None
    rejects: list[RejectPublic] = Field(description="the first rejected rows (see rejects_total)")
    rejects_total: int
    replayed: bool = Field(False, description="true when answered from an earlier identical upload")


# -- models -------------------------------------------------------------------------------
class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: Tier
    as_of: date = Field(description="decision date; only facts known then are used")
    force: bool = Field(False, description="promote even if worse than the serving model")
    rounds: int = Field(5, ge=2, le=10, description="past yearly rounds (the latest validates)")


class ModelPublic(BaseModel):
    model_id: str
    tier: Tier
    serving: bool
    as_of: str | None
    primary_metric: float
    primary_metric_name: str | None
    criteria_version: str | None
    data_fingerprint: str | None
    metrics: dict[str, Any]


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int


class TrainPublic(BaseModel):
    model: ModelPublic
    promoted: bool
    message: str


class PromotePublic(BaseModel):
    model: ModelPublic
    promoted: bool


# -- audit and health ---------------------------------------------------------------------
class AuditEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    key_id: str
    role: str
    action: str
    method: str
    route: str
    params: dict[str, Any]
    rows: int | None
    status: int

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # SQLite drops the zone; every time is written in UTC
        return value if value.tzinfo else value.replace(tzinfo=UTC)


class AuditPublic(BaseModel):
    data: list[AuditEntryPublic]
    count: int


class HealthPublic(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
