"""Reasons for a listed company, from the model's own contributions, with their evidence.

LightGBM's `pred_contrib` gives each feature's share of a company's score. We sum
those shares per channel (supply chain, equity, IP, awards, talent, profile), keep
the channels that pushed the score up the most, and write one short sentence per
channel with the facts behind it — Chinese first, English beside. Only the few
listed companies are explained, so the evidence look-ups work on small frames.

Every company a sentence names (a customer, a corporate investor, a counterparty
without a profile, written as its code) is recorded beside the sentences as
(code, text as written), so that what a caller may not see is masked by identity
(`discovery.company.CompanyFacts.mask_reasons`), never by guessing at names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from discovery.scope import company_like_investor
from features.context import TablesAt
from features.registry import channel_of, prefix_channels
from features.status import holds_at
from graph.store import active_at
from graph.text_sets import isin

#: column prefix -> reason channel, as the feature registry declares them
CHANNELS: dict[str, str] = prefix_channels()
CHANNEL_NAMES = {
    "supply_chain": ("产业链", "supply chain"),
    "equity": ("股权投资", "equity"),
    "ip": ("知识产权", "IP"),
    "awards": ("科技奖项", "awards"),
    "talent": ("人才引进", "talent"),
    "profile": ("企业画像", "profile"),
}
INVESTOR_TYPES_ZH = {
    "gov_fund": "政府引导基金",
    "vc": "创投机构",
    "pe": "私募股权机构",
    "corporate": "产业资本",
    "angel": "天使投资人",
    "other": "投资方",
}
MAX_REASONS = 5
MIN_REASONS = 3
SHOWN_NAMES = 3


def channel_contributions(contrib: pd.DataFrame) -> pd.DataFrame:
    """Per company and channel, the summed log-odds contribution (bias excluded)."""
    features = [c for c in contrib.columns if c != "bias"]
    channels = pd.Index([channel_of(f) for f in features])
    return contrib[features].T.groupby(channels.to_numpy()).sum().T


#: (code, text as written) of a company named in a reason
Mention = tuple[str, str]


#: the feature values the sentences quote
QUOTED_FEATURES = (
    "ip_class1_self_top3",
    "ip_class1_filed_3y",
    "fin_revenue_latest_wan",
    "fin_revenue_growth_1y",
    "fin_latest_year",
    "std_quality_score",
    "qs_estimate",
    "profile_niche_years",
)
#: one company's quoted feature values
Row = Mapping[str, Any]


@dataclass
class Reasons:
    """One company's reason sentences and every company they name."""

    lines: list[str] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)


_EMPTY = pd.DataFrame(
    {
        c: pd.Series(dtype=object)
        for c in (
            "customer_uscc",
            "investor_type",
            "investor_name",
            "invested_on",
            "name",
            "awarded_on",
            "program",
        )
    }
)


def _by_company(frame: pd.DataFrame, column: str) -> dict[str, pd.DataFrame]:
    """The rows of `frame` split by company, in one pass."""
    return {str(code): rows for code, rows in frame.groupby(column, sort=False)}


class Evidence:
    """Facts about a few companies at `as_of`, gathered once for all their sentences."""

    def __init__(self, tables: TablesAt, codes: list[str], features: pd.DataFrame) -> None:
        self.as_of = tables.as_of
        self.codes = codes
        # the few feature values the sentences quote, as one plain mapping per company:
        # looking a company's row up in the wide frame for every sentence cost more
        # than everything else the reasons do
        quoted = [c for c in QUOTED_FEATURES if c in features.columns]
        self.rows: dict[str, dict[str, Any]] = {
            str(code): row for code, row in features[quoted].to_dict("index").items()
        }
        self.mentions: dict[str, list[Mention]] = {}
        # the listed companies' own rows only (`TablesAt.rows`): a national table is not
        # brought into memory to describe a list
        links = tables.rows("supply_links", "supplier_uscc", codes)
        sales = links.loc[active_at(links, "end_on", tables.as_of)]
        self.customers = _by_company(sales, "supplier_uscc")
        # names and sizes of the listed companies' customers only, as plain look-ups
        companies = tables("companies")
        near = companies.loc[isin(companies["uscc"], sales["customer_uscc"])]
        self.names = dict(zip(near["uscc"], near["name"], strict=True))
        self.large = set(near.loc[(near["size_class"] == "large").fillna(False).to_numpy(), "uscc"])
        invest = tables.rows("investments", "investee_uscc", codes)
        self.known_investors = set(
            invest.loc[isin(invest["investor_id"], companies["uscc"]), "investor_id"]
        )
        self.investments = _by_company(
            invest.sort_values("invested_on", ascending=False), "investee_uscc"
        )
        awards = tables.rows("awards", "uscc", codes)
        self.awards = _by_company(awards.sort_values("awarded_on", ascending=False), "uscc")
        talents = tables.rows("talents", "uscc", codes)
        on = active_at(talents, "left_on", tables.as_of)
        self.talents = _by_company(talents.loc[on], "uscc")
        held = holds_at(tables("certifications"), tables.as_of)
        self.little_giants = set(held.index[held["little_giant"].to_numpy()])
        self.specialized = set(held.index[held["specialized_sme"].to_numpy()])

    def sentence(self, code: str, channel: str) -> str | None:
        return getattr(self, f"_{channel}")(code, self.rows[code])

    def _names(self, code: str, others: pd.Series) -> str:
        """The first few of `others` by name (by code when unprofiled), recorded as mentions."""
        shown = [(str(c), self.names.get(str(c), str(c))) for c in others.head(SHOWN_NAMES)]
        self.mentions.setdefault(code, []).extend(shown)
        return "、".join(text for _, text in shown)

    def _supply_chain(self, code: str, f: Row) -> str | None:
        customers = self.customers.get(code, _EMPTY)["customer_uscc"].drop_duplicates()
        # a company has few customers: test them against the (large) sets one by one,
        # rather than `isin`, which would convert a whole set per call
        listed = customers.tolist()
        lg = pd.Series([c for c in listed if c in self.little_giants], dtype=object)
        ss = pd.Series([c for c in listed if c in self.specialized], dtype=object)
        leaders = pd.Series([c for c in listed if c in self.large], dtype=object)
        if len(lg):
            return (
                f'供应{len(lg)}家专精特新"小巨人"企业：{self._names(code, lg)} '
                f"(supplies {len(lg)} little giant(s): {self._names(code, lg)})"
            )
        if len(leaders):
            return (
                f"为{len(leaders)}家链主（大型）企业供货：{self._names(code, leaders)} "
                f"(supplies {len(leaders)} chain-leader customer(s): {self._names(code, leaders)})"
            )
        if len(ss):
            return (
                f"供应{len(ss)}家专精特新中小企业：{self._names(code, ss)} "
                f"(supplies {len(ss)} specialized SME(s): {self._names(code, ss)})"
            )
        if len(customers):
            return f"有{len(customers)}家稳定客户 (has {len(customers)} active customer(s))"
        # no active customer: nothing to say. Its PageRank (rank flows from customers to
        # their suppliers) is then only the share every company gets, 1.00 for all where
        # no supply links are on file, and was once quoted as "central in the network"
        return None

    def _equity(self, code: str, f: Row) -> str | None:
        rows = self.investments.get(code, _EMPTY)
        if rows.empty:
            return None
        order = (
            rows["investor_type"].map({"gov_fund": 0, "vc": 1, "pe": 1, "corporate": 2}).fillna(3)
        )
        best = rows.iloc[np.argsort(order.to_numpy(), kind="stable")].iloc[0]
        year = pd.Timestamp(best["invested_on"]).year
        kind = str(best["investor_type"])
        zh = INVESTOR_TYPES_ZH.get(kind, "投资方")
        more = f"等{len(rows)}轮投资" if len(rows) > 1 else ""
        investor = str(best["investor_id"])
        if company_like_investor(investor, kind, investor in self.known_investors):
            self.mentions.setdefault(code, []).append((investor, str(best["investor_name"])))
        return (
            f"{year}年获{zh}「{best['investor_name']}」投资{more} "
            f"(backed by {kind.replace('_', ' ')} {best['investor_name']} in {year}"
            f"{f', {len(rows)} rounds in all' if len(rows) > 1 else ''})"
        )

    def _ip(self, code: str, f: Row) -> str | None:
        top3 = int(f.get("ip_class1_self_top3", 0) or 0)
        recent = int(f.get("ip_class1_filed_3y", 0) or 0)
        if top3 == 0 and recent == 0:
            return None
        return (
            f"拥有{top3}项自主申请、排名前三的I类知识产权，近三年新申请I类{recent}项 "
            f"({top3} self-filed class-I IP rights as a top-3 applicant; {recent} class-I filings in 3 years)"
        )

    def _awards(self, code: str, f: Row) -> str | None:
        rows = self.awards.get(code, _EMPTY)
        if rows.empty:
            return None
        top = rows.iloc[0]
        year = pd.Timestamp(top["awarded_on"]).year
        return (
            f"{year}年获「{top['name']}」等{len(rows)}项奖励 "
            f"(won {top['name']} in {year}; {len(rows)} award(s) in all)"
        )

    def _talent(self, code: str, f: Row) -> str | None:
        rows = self.talents.get(code, _EMPTY)
        if rows.empty:
            return None
        programs = "、".join(rows["program"].drop_duplicates().head(SHOWN_NAMES))
        return (
            f"现有{len(rows)}名引进人才（{programs}） "
            f"({len(rows)} talent-programme hire(s) on staff: {programs})"
        )

    def _profile(self, code: str, f: Row) -> str | None:
        revenue = f.get("fin_revenue_latest_wan")
        growth = f.get("fin_revenue_growth_1y")
        score = f.get("std_quality_score")
        if revenue is not None and not pd.isna(revenue):
            year = int(f["fin_latest_year"])
            grow = "" if growth is None or pd.isna(growth) else f"，同比增长{growth:.0%}"
            grow_en = "" if growth is None or pd.isna(growth) else f", {growth:+.0%} on the year"
            return f"{year}年营业收入{revenue:,.0f}万元{grow} (revenue {revenue:,.0f} wan yuan in {year}{grow_en})"
        if score is not None and not pd.isna(score):
            return f"发展质量评价得分{score:.0f}分 (quality-evaluation score {score:.0f})"
        estimate = f.get("qs_estimate")
        if estimate is not None and not pd.isna(estimate):
            return f"估计发展质量评价得分约{estimate:.0f}分 (estimated quality score about {estimate:.0f})"
        niche = f.get("profile_niche_years")
        if niche is not None and not pd.isna(niche):
            return f"深耕细分市场{niche:.0f}年 ({niche:.0f} years in its niche market)"
        return None


def reasons(tables: TablesAt, features: pd.DataFrame, contrib: pd.DataFrame) -> dict[str, Reasons]:
    """3–5 reasons per company (index of `features`), strongest channel first, with mentions."""
    codes = [str(c) for c in features.index]
    evidence = Evidence(tables, codes, features)
    by_channel = channel_contributions(contrib)
    out: dict[str, Reasons] = {}
    for code in codes:
        ranked = by_channel.loc[code].sort_values(ascending=False)
        lines: list[str] = []
        for channel, value in ranked.items():
            if len(lines) >= MAX_REASONS or (value <= 0 and len(lines) >= MIN_REASONS):
                break
            text = evidence.sentence(code, str(channel))
            if text:
                lines.append(text)
        out[code] = Reasons(lines, list(dict.fromkeys(evidence.mentions.get(code, []))))
    return out
