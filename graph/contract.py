"""The input data contract, version 1, as data.

Every table of the contract is described once here: its columns, their kinds,
its natural key, and the column that says when a fact became known. Loading,
validation, the stores and the simulator all read these descriptions, so the
contract lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

ColumnKind = Literal["uscc", "str", "date", "int", "decimal", "bool", "enum"]

CONTRACT_VERSION = 1

TIERS: tuple[str, ...] = ("tech_sme", "innovative_sme", "specialized_sme", "little_giant")
#: a tier the service invites for (the type every entry point uses)
Tier = Literal["specialized_sme", "little_giant"]
TARGET_TIERS: tuple[str, ...] = get_args(Tier)
TIER_NAMES_ZH: dict[str, str] = {
    "tech_sme": "科技型中小企业",
    "innovative_sme": "创新型中小企业",
    "specialized_sme": "专精特新中小企业",
    "little_giant": '专精特新"小巨人"',
}
OWNERSHIPS = ("state", "private", "foreign", "hmt", "collective", "other")
SIZE_CLASSES = ("micro", "small", "medium", "large")
INVESTOR_TYPES = ("vc", "pe", "gov_fund", "corporate", "angel", "other")
ROUNDS = ("seed", "angel", "A", "B", "C", "D", "pre_ipo", "strategic", "other")
IP_TYPES = (
    "invention",
    "ic_layout",
    "plant_variety",
    "new_drug",
    "utility_model",
    "design",
    "software_copyright",
)
CLASS_ONE_IP_TYPES = ("invention", "ic_layout", "plant_variety", "new_drug")
CLASS_TWO_IP_TYPES = ("utility_model", "design", "software_copyright")
LEVELS = ("national", "provincial", "municipal")
APPLICATION_OUTCOMES = ("approved", "rejected", "withdrawn", "pending")
COMPLIANCE_KINDS = (
    "abnormal_operations",
    "serious_dishonesty",
    "major_safety_accident",
    "major_data_security_incident",
    "major_environmental_violation",
    "restricted_product",
    "other_serious_violation",
)
#: Kinds that bar while the listing is open; every other kind bars for three years.
OPEN_LISTING_KINDS = ("abnormal_operations", "serious_dishonesty")
INVITATION_OUTCOMES = ("pending", "declined", "applied", "approved", "rejected")


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    nullable: bool = False
    values: tuple[str, ...] = ()  # allowed values of an enum
    aliases: tuple[str, ...] = ()  # accepted alternative headers (Chinese)
    low: float | None = None  # inclusive bounds of numbers
    high: float | None = None
    pattern: str | None = None  # regular expression a text value must match in full


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: the date on which a row becomes known; rows known later are invisible at `as_of`
    known_on: str
    #: dates that record a later change of the row; blanked when after `as_of`
    later_dates: tuple[str, ...] = ()
    #: an outcome column that reads `pending` while its date is after `as_of`
    pending_outcome: tuple[str, str] | None = None  # (outcome column, its date column)
    #: columns holding the code of the company the row is about (must be profiled or counterparty)
    company_columns: tuple[str, ...] = ("uscc",)
    required: bool = False
    meaning_zh: str = ""
    #: (earlier, later) date pairs: the later date may not precede the earlier one
    order: tuple[tuple[str, str], ...] = ()

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def date_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.kind == "date"]


def _c(name: str, kind: ColumnKind, nullable: bool = False, **kw: object) -> Column:
    return Column(name, kind, nullable, **kw)  # type: ignore[arg-type]


USCC_ALIASES = ("统一社会信用代码", "信用代码")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "companies",
            (
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("name", "str", aliases=("企业名称", "名称")),
                _c("region_code", "str", pattern=r"[0-9]{6}", aliases=("行政区划代码", "区划代码")),
                _c("industry_code", "str", pattern=r"[A-T][0-9]{4}", aliases=("行业代码",)),
                _c("established_on", "date", aliases=("成立日期",)),
                _c("ownership", "enum", values=OWNERSHIPS, aliases=("所有制",)),
                _c("size_class", "enum", True, values=SIZE_CLASSES, aliases=("企业规模",)),
                _c("niche_since", "date", True, aliases=("细分市场起始日期",)),
                _c("main_product", "str", True, aliases=("主导产品",)),
            ),
            key=("uscc",),
            known_on="established_on",
            required=True,
            meaning_zh="企业",
        ),
        Table(
            "financials",
            (
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("year", "int", low=1949, high=2100, aliases=("年度",)),
                _c("reported_on", "date", aliases=("报送日期",)),
                _c("revenue_wan", "decimal", True, aliases=("营业收入",)),
                _c("main_business_revenue_wan", "decimal", True, aliases=("主营业务收入",)),
                _c("rd_expense_wan", "decimal", True, low=0, aliases=("研发费用",)),
                _c("net_profit_wan", "decimal", True, aliases=("净利润",)),
                _c("total_assets_wan", "decimal", True, aliases=("资产总额",)),
                _c("export_revenue_wan", "decimal", True, low=0, aliases=("出口收入",)),
                _c("employees", "int", True, low=0, aliases=("从业人员",)),
                _c("rd_staff", "int", True, low=0, aliases=("研发人员",)),
            ),
            key=("uscc", "year"),
            known_on="reported_on",
            meaning_zh="财务",
        ),
        Table(
            "supply_links",
            (
                _c("supplier_uscc", "uscc", aliases=("供应商信用代码",)),
                _c("customer_uscc", "uscc", aliases=("客户信用代码",)),
                _c("start_on", "date"),
                _c("end_on", "date", True),
                _c("amount_wan", "decimal", True, low=0),
            ),
            key=("supplier_uscc", "customer_uscc", "start_on"),
            known_on="start_on",
            later_dates=("end_on",),
            company_columns=("supplier_uscc", "customer_uscc"),
            order=(("start_on", "end_on"),),
            meaning_zh="产业链供应链",
        ),
        Table(
            "investments",
            (
                _c("investor_id", "str"),
                _c("investor_name", "str"),
                _c("investor_type", "enum", values=INVESTOR_TYPES),
                _c("investee_uscc", "uscc"),
                _c("invested_on", "date"),
                _c("round", "enum", True, values=ROUNDS),
                _c("amount_wan", "decimal", True, low=0),
                _c("equity_pct", "decimal", True, low=0, high=100),
            ),
            key=("investor_id", "investee_uscc", "invested_on"),
            known_on="invested_on",
            company_columns=("investee_uscc",),
            meaning_zh="股权投资",
        ),
        Table(
            "patents",
            (
                _c("ip_id", "str"),
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("applicant_rank", "int", low=1),
                _c("ip_type", "enum", values=IP_TYPES),
                _c("filed_on", "date"),
                _c("granted_on", "date", True),
                _c("self_filed", "bool"),
                _c("lapsed_on", "date", True),
            ),
            key=("ip_id", "uscc"),
            known_on="filed_on",
            later_dates=("granted_on", "lapsed_on"),
            order=(("filed_on", "granted_on"), ("filed_on", "lapsed_on")),
            meaning_zh="知识产权",
        ),
        Table(
            "awards",
            (
                _c("award_id", "str"),
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("name", "str"),
                _c("level", "enum", values=LEVELS),
                _c("category", "str", True),
                _c("prize", "enum", True, values=("special", "first", "second", "third")),
                _c("awarded_on", "date"),
            ),
            key=("award_id", "uscc"),
            known_on="awarded_on",
            meaning_zh="科技奖项",
        ),
        Table(
            "talents",
            (
                _c("person_id", "str"),
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("program", "str"),
                _c("level", "enum", values=LEVELS),
                _c("joined_on", "date"),
                _c("left_on", "date", True),
            ),
            key=("person_id", "uscc", "joined_on"),
            known_on="joined_on",
            later_dates=("left_on",),
            order=(("joined_on", "left_on"),),
            meaning_zh="人才引进",
        ),
        Table(
            "certifications",
            (
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("tier", "enum", values=TIERS),
                _c("certified_on", "date"),
                _c("expires_on", "date"),
                _c("revoked_on", "date", True),
            ),
            key=("uscc", "tier", "certified_on"),
            known_on="certified_on",
            later_dates=("revoked_on",),
            order=(("certified_on", "expires_on"), ("certified_on", "revoked_on")),
            meaning_zh="已获认定",
        ),
        Table(
            "applications",
            (
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("tier", "enum", values=TIERS),
                _c("applied_on", "date"),
                _c("decided_on", "date", True),
                _c("outcome", "enum", values=APPLICATION_OUTCOMES),
            ),
            key=("uscc", "tier", "applied_on"),
            known_on="applied_on",
            later_dates=("decided_on",),
            pending_outcome=("outcome", "decided_on"),
            order=(("applied_on", "decided_on"),),
            meaning_zh="申报记录",
        ),
        Table(
            "compliance_events",
            (
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("kind", "enum", values=COMPLIANCE_KINDS),
                _c("start_on", "date"),
                _c("end_on", "date", True),
            ),
            key=("uscc", "kind", "start_on"),
            known_on="start_on",
            later_dates=("end_on",),
            order=(("start_on", "end_on"),),
            meaning_zh="合规事件",
        ),
        Table(
            "quality_scores",
            (
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("year", "int", low=1949, high=2100),
                _c("score", "decimal", low=0, high=100),
                _c("computed_on", "date"),
            ),
            key=("uscc", "year"),
            known_on="computed_on",
            meaning_zh="发展质量评价得分",
        ),
        Table(
            "invitations",
            (
                _c("invitation_id", "str"),
                _c("uscc", "uscc", aliases=USCC_ALIASES),
                _c("tier", "enum", values=TIERS),
                _c("invited_on", "date"),
                _c("outcome", "enum", values=INVITATION_OUTCOMES),
                _c("outcome_on", "date", True),
            ),
            key=("invitation_id",),
            known_on="invited_on",
            later_dates=("outcome_on",),
            pending_outcome=("outcome", "outcome_on"),
            order=(("invited_on", "outcome_on"),),
            meaning_zh="邀请反馈",
        ),
    )
}

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
