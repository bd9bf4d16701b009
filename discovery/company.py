"""Evidence around one company at `as_of`: its profile, links, and its neighbourhood.

`neighbourhood` is the one builder of a company's supply-chain and investor
neighbourhood: the analyst draws it with networkx (`to_networkx`), the service
draws it bounded and scoped to the caller (`CompanyFacts.graph`). Everything a
caller sees is scoped by a `Principal`: a company outside an official's regions
is anonymised (see `discovery.scope`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from discovery.scope import OUTSIDE_LABEL, Principal, company_like_investor, mask_reason
from features.context import TablesAt
from graph.contract import CLASS_ONE_IP_TYPES
from graph.errors import UsageError
from graph.store import active_at

if TYPE_CHECKING:
    import networkx as nx

MAX_ITEMS = 50
UNPROFILED_LABEL = "未建档企业 (company without a profile)"
INVESTOR_COLUMNS = [
    *("investor_id", "investor_name", "investor_type", "invested_on", "round"),
    *("amount_wan", "equity_pct"),
]
FINANCIAL_COLUMNS = [
    *("year", "reported_on", "revenue_wan", "rd_expense_wan", "net_profit_wan"),
    *("employees", "rd_staff"),
]


def _day(value: Any) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    out = []
    for row in frame[columns].itertuples(index=False):
        item: dict[str, Any] = {}
        for col, value in zip(columns, row, strict=True):
            if isinstance(value, pd.Timestamp) or col.endswith("_on"):
                item[col] = _day(value)
            elif isinstance(value, float | np.floating):
                item[col] = _num(value)
            elif value is None or (not isinstance(value, str) and pd.isna(value)):
                item[col] = None
            else:
                item[col] = value.item() if isinstance(value, np.generic) else value
        out.append(item)
    return out


INVESTOR_KEY = "investor:"


@dataclass
class Neighbourhood:
    """Nodes within `hops` of a company, with the links among them active at `as_of`.

    `hop_of` maps each node to its distance: company codes, and investors as
    `investor:<id>`. `supplies` holds supply links (supplier → customer), `invested`
    investments with an `investor` key column.
    """

    center: str
    as_of: date
    hop_of: dict[str, int]
    supplies: pd.DataFrame
    invested: pd.DataFrame


def neighbourhood(tables: TablesAt, uscc: str, hops: int = 1) -> Neighbourhood:
    """The supply-chain and investor neighbourhood of `uscc`, breadth first, `hops` deep."""
    if not 1 <= hops <= 3:
        raise UsageError(f"hops must be 1, 2 or 3, not {hops}.")
    links = tables("supply_links")
    links = links.loc[active_at(links, "end_on", tables.as_of)]
    invest = tables("investments")
    invest = invest.assign(investor=INVESTOR_KEY + invest["investor_id"].astype("str"))
    hop_of: dict[str, int] = {uscc: 0}
    frontier = {uscc}
    supplies, invested = links.iloc[0:0], invest.iloc[0:0]
    for h in range(1, hops + 1):
        touch = links["supplier_uscc"].isin(frontier) | links["customer_uscc"].isin(frontier)
        inv = invest["investee_uscc"].isin(frontier) | invest["investor"].isin(frontier)
        supplies = pd.concat([supplies, links.loc[touch.to_numpy()]]).drop_duplicates()
        invested = pd.concat([invested, invest.loc[inv.to_numpy()]]).drop_duplicates()
        reached = (
            set(supplies["supplier_uscc"])
            | set(supplies["customer_uscc"])
            | set(invested["investee_uscc"])
            | set(invested["investor"])
        )
        frontier = {str(n) for n in reached} - hop_of.keys()
        hop_of.update(dict.fromkeys(frontier, h))
    return Neighbourhood(uscc, tables.as_of, hop_of, supplies, invested)


def to_networkx(near: Neighbourhood, companies: pd.DataFrame, highest: pd.Series) -> nx.DiGraph:
    """`near` as a networkx graph for analysts: every node named, nothing masked.

    Nodes are companies (`kind="company"`, with `name`, `region_code`, `tier` =
    highest tier held, `hop`) and investors (`kind="investor"`, `investor_type`);
    edges run supplier → customer (`kind="supplies"`) and investor → company
    (`kind="invested_in"`). `companies` is indexed by `uscc`.
    """
    import networkx as nx

    graph = nx.DiGraph(uscc=near.center, as_of=near.as_of.isoformat())
    investors = near.invested.drop_duplicates("investor").set_index("investor")
    for node, h in near.hop_of.items():
        if node.startswith(INVESTOR_KEY):
            row = investors.loc[node]
            graph.add_node(
                node,
                kind="investor",
                name=row["investor_name"],
                investor_type=row["investor_type"],
                hop=h,
            )
        else:  # a counterparty may lie outside the data (no company row): drawn unnamed
            known = node in companies.index
            graph.add_node(
                node,
                kind="company",
                name=companies.at[node, "name"] if known else None,
                region_code=companies.at[node, "region_code"] if known else None,
                tier=highest.get(node, "none"),
                hop=h,
            )
    for r in near.supplies.itertuples(index=False):
        graph.add_edge(r.supplier_uscc, r.customer_uscc, kind="supplies", since=r.start_on.date())
    for r in near.invested.itertuples(index=False):
        graph.add_edge(r.investor, r.investee_uscc, kind="invested_in", since=r.invested_on.date())
    return graph


class CompanyFacts:
    """Evidence about companies at one date, read through the shared per-date tables."""

    def __init__(self, tables: TablesAt) -> None:
        self.tables = tables
        self.as_of = tables.as_of

    def read(self, table: str) -> pd.DataFrame:
        return self.tables(table)

    @cached_property
    def companies(self) -> pd.DataFrame:
        return self.read("companies").set_index("uscc")

    @cached_property
    def links(self) -> pd.DataFrame:
        return self.read("supply_links")

    @cached_property
    def investments(self) -> pd.DataFrame:
        return self.read("investments")

    def region_of(self, codes: pd.Series) -> pd.Series:
        return codes.map(self.companies["region_code"])

    def company(self, uscc: str, principal: Principal) -> pd.Series | None:
        """The company's profile row, None when unknown or outside the caller's regions."""
        if uscc not in self.companies.index:
            return None
        row = self.companies.loc[uscc]
        return row if principal.sees(row["region_code"]) else None

    def visible(self, code: str, principal: Principal) -> bool:
        """Whether the caller may see the company `code` (one without a profile: officials not)."""
        if not principal.is_official:
            return True
        if code not in self.companies.index:
            return False
        return principal.sees(self.companies.at[code, "region_code"])

    def investor_hidden(self, investor_id: str, investor_type: str, principal: Principal) -> bool:
        """Whether an investor's name is withheld: a company the caller may not see."""
        known = investor_id in self.companies.index
        if not company_like_investor(investor_id, investor_type, known):
            return False
        return not self.visible(investor_id, principal)

    def mask_reasons(
        self, texts: Iterable[object], mentions: Iterable[object], principal: Principal
    ) -> list[str]:
        """Reason texts with every company the caller may not see masked, by its code.

        `mentions` gives per text the (code, text as written) of the companies it
        names (`discovery.explain.Reasons.mentions`); any credit code left in a text
        that is not a company the caller sees is masked as well.
        """
        plain = [
            "" if t is None or (isinstance(t, float) and pd.isna(t)) else str(t) for t in texts
        ]
        if not principal.is_official:
            return plain
        out = []
        for text, named in zip(plain, mentions, strict=True):
            pairs = [(str(c), str(n)) for c, n in named] if isinstance(named, tuple | list) else []
            out.append(mask_reason(text, pairs, lambda code: self.visible(code, principal)))
        return out

    # -- the evidence of one company ------------------------------------------------------
    def _counterparties(
        self, frame: pd.DataFrame, other_col: str, principal: Principal
    ) -> tuple[list[dict[str, Any]], int]:
        frame = frame.loc[active_at(frame, "end_on", self.as_of)].sort_values(
            "start_on", ascending=False
        )
        out = []
        for row in frame.head(MAX_ITEMS).itertuples(index=False):
            other = str(getattr(row, other_col))
            known = other in self.companies.index
            region = self.companies.at[other, "region_code"] if known else None
            # a counterparty without a profile has no known region: officials do not see it
            visible = principal.sees(region) if known else not principal.is_official
            name = str(self.companies.at[other, "name"]) if known else UNPROFILED_LABEL
            out.append(
                {
                    "uscc": other if visible else None,
                    "name": name if visible else OUTSIDE_LABEL,
                    "region_code": region if visible else None,
                    "outside_region": not visible,
                    "since": _day(row.start_on),
                    "until": _day(row.end_on),
                    "amount_wan": _num(row.amount_wan),
                }
            )
        return out, len(frame)

    def _investors(self, uscc: str, principal: Principal) -> list[dict[str, Any]]:
        rows = self.investments.loc[self.investments["investee_uscc"] == uscc]
        rows = rows.sort_values("invested_on", ascending=False).head(MAX_ITEMS)
        out = []
        for item in _records(
            rows,
            INVESTOR_COLUMNS,
        ):
            investor = str(item.pop("investor_id"))
            hidden = self.investor_hidden(investor, str(item["investor_type"]), principal)
            item["investor_id"] = None if principal.is_official else investor
            item["name"] = OUTSIDE_LABEL if hidden else item.pop("investor_name")
            item.pop("investor_name", None)
            item["outside_region"] = hidden
            out.append(item)
        return out

    def evidence(self, uscc: str, principal: Principal) -> dict[str, Any]:
        """Customers, suppliers, investors, awards, talents, IP, certifications, applications, financials."""
        links = self.links
        customers, n_customers = self._counterparties(
            links.loc[links["supplier_uscc"] == uscc], "customer_uscc", principal
        )
        suppliers, n_suppliers = self._counterparties(
            links.loc[links["customer_uscc"] == uscc], "supplier_uscc", principal
        )

        def own(table: str, sort: str) -> pd.DataFrame:
            frame = self.read(table)
            return frame.loc[frame["uscc"] == uscc].sort_values(sort, ascending=False)

        patents = own("patents", "filed_on")
        class_one = patents["ip_type"].isin(CLASS_ONE_IP_TYPES)
        lapsed = patents["lapsed_on"].notna()
        talents = own("talents", "joined_on")
        return {
            "customers": customers,
            "customers_total": n_customers,
            "suppliers": suppliers,
            "suppliers_total": n_suppliers,
            "investors": self._investors(uscc, principal),
            "awards": _records(
                own("awards", "awarded_on").head(MAX_ITEMS),
                ["name", "level", "category", "prize", "awarded_on"],
            ),
            "talents": _records(
                talents.head(MAX_ITEMS), ["program", "level", "joined_on", "left_on"]
            ),
            "patents": {
                "total": len(patents),
                "class_one": int(class_one.sum()),
                "class_one_granted": int((class_one & patents["granted_on"].notna()).sum()),
                "class_one_self_top3": int(
                    (
                        class_one
                        & patents["self_filed"].fillna(False).astype(bool)
                        & (patents["applicant_rank"] <= 3)
                        & ~lapsed
                    ).sum()
                ),
                "lapsed": int(lapsed.sum()),
                "latest_filed_on": _day(patents["filed_on"].max()) if len(patents) else None,
            },
            "certifications": _records(
                own("certifications", "certified_on"),
                ["tier", "certified_on", "expires_on", "revoked_on"],
            ),
            "applications": _records(
                own("applications", "applied_on"), ["tier", "applied_on", "decided_on", "outcome"]
            ),
            "financials": _records(
                own("financials", "year").head(5),
                FINANCIAL_COLUMNS,
            ),
        }

    # -- the neighbourhood for drawing ----------------------------------------------------
    def graph(self, uscc: str, principal: Principal, max_nodes: int) -> dict[str, Any]:
        """The company, its customers and suppliers (active links) and its investors, bounded."""
        near = neighbourhood(self.tables, uscc, hops=1)
        mine = near.supplies.sort_values(
            ["amount_wan", "start_on"], ascending=False, na_position="last"
        )
        invest = near.invested.sort_values("invested_on", ascending=False)
        nodes: dict[str, dict[str, Any]] = {
            uscc: self._company_node(uscc, uscc, center=True),
        }
        edges: list[dict[str, Any]] = []
        keys: dict[str, str] = {uscc: uscc}  # code or investor id -> node id
        truncated = False

        def node_for(code: str, investor: Any = None) -> str | None:
            nonlocal truncated
            if code in keys:
                return keys[code]
            if len(nodes) > max_nodes:
                truncated = True
                return None
            if code in self.companies.index:
                if principal.sees(self.companies.at[code, "region_code"]):
                    key = code
                    nodes[key] = self._company_node(code, code, center=False)
                else:
                    key = f"outside-{len(nodes)}"
                    nodes[key] = self._anonymous(key, "company", OUTSIDE_LABEL)
            elif investor is None:  # a counterparty without a profile: its region is unknown
                key = f"outside-{len(nodes)}" if principal.is_official else code
                nodes[key] = self._anonymous(key, "company", OUTSIDE_LABEL)
                if not principal.is_official:
                    nodes[key].update(label=UNPROFILED_LABEL, uscc=code, outside_region=False)
            elif self.investor_hidden(code, str(investor.investor_type), principal):
                key = f"investor-{len(nodes)}"  # a company without a profile: region unknown
                nodes[key] = self._anonymous(key, "investor", OUTSIDE_LABEL)
            else:
                key = f"investor-{len(nodes)}"
                label = f"{investor.investor_name} ({investor.investor_type})"
                nodes[key] = self._anonymous(key, "investor", label)
                nodes[key]["outside_region"] = False
            keys[code] = key
            return key

        for row in mine.itertuples(index=False):
            supplier, customer = str(row.supplier_uscc), str(row.customer_uscc)
            key = node_for(customer if supplier == uscc else supplier)
            if key is None:
                continue
            edges.append(
                {
                    "source": uscc if supplier == uscc else key,
                    "target": key if supplier == uscc else uscc,
                    "kind": "supplies",
                    "since": _day(row.start_on),
                    "until": _day(row.end_on),
                    "amount_wan": _num(row.amount_wan),
                }
            )
        for row in invest.itertuples(index=False):
            key = node_for(str(row.investor_id), row)
            if key is None:
                continue
            edges.append(
                {
                    "source": key,
                    "target": uscc,
                    "kind": "invested_in",
                    "since": _day(row.invested_on),
                    "until": None,
                    "amount_wan": _num(row.amount_wan),
                }
            )
        return {
            "center": uscc,
            "as_of": self.as_of,
            "nodes": list(nodes.values()),
            "edges": edges,
            "truncated": truncated,
        }

    @staticmethod
    def _anonymous(key: str, kind: str, label: str) -> dict[str, Any]:
        return {
            "id": key,
            "kind": kind,
            "label": label,
            "uscc": None,
            "region_code": None,
            "center": False,
            "outside_region": True,
        }

    def _company_node(self, key: str, code: str, center: bool) -> dict[str, Any]:
        row = self.companies.loc[code]
        return {
            "id": key,
            "kind": "company",
            "label": str(row["name"]),
            "uscc": code,
            "region_code": str(row["region_code"]),
            "center": center,
            "outside_region": False,
        }
