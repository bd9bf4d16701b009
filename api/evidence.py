"""Evidence around one company, from the store at `as_of`: its profile, links and neighbourhood.

Everything here is scoped by a `Principal`: a company outside an official's
regions is anonymised (see `api.scope`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from api.scope import OUTSIDE_LABEL, Principal
from graph.contract import CLASS_ONE_IP_TYPES
from graph.store import Store

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


class Facts:
    """The store's tables at `as_of`, read once per request when first needed."""

    def __init__(self, store: Store, as_of: date) -> None:
        self.store = store
        self.as_of = as_of
        self.cut = pd.Timestamp(as_of)

    def read(self, table: str) -> pd.DataFrame:
        return self.store.read(table, self.as_of)

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

    def hidden_names(self, codes: Iterable[str], principal: Principal) -> dict[str, set[str]]:
        """Per company, the names of its linked companies the caller may not see."""
        codes = list(codes)
        if not principal.is_official or not codes:
            return {}
        links = self.links
        sell = links.loc[links["supplier_uscc"].isin(codes).to_numpy()]
        buy = links.loc[links["customer_uscc"].isin(codes).to_numpy()]
        inv = self.investments.loc[self.investments["investee_uscc"].isin(codes).to_numpy()]
        pairs = pd.concat(
            [
                pd.DataFrame({"code": sell["supplier_uscc"], "other": sell["customer_uscc"]}),
                pd.DataFrame({"code": buy["customer_uscc"], "other": buy["supplier_uscc"]}),
                pd.DataFrame({"code": inv["investee_uscc"], "other": inv["investor_id"]}),
            ],
            ignore_index=True,
        ).astype(str)
        known = pairs["other"].isin(self.companies.index).to_numpy()
        pairs = pairs.loc[known]
        region = self.region_of(pairs["other"])
        hidden = pairs.loc[~principal.sees_all(region)]
        names = hidden["other"].map(self.companies["name"]).astype(str)
        out: dict[str, set[str]] = {}
        for code, name in zip(hidden["code"], names, strict=True):
            out.setdefault(code, set()).add(name)
        return out

    # -- the evidence of one company ------------------------------------------------------
    def _counterparties(
        self, frame: pd.DataFrame, other_col: str, principal: Principal
    ) -> tuple[list[dict[str, Any]], int]:
        active = frame["end_on"].isna() | (frame["end_on"] > self.cut)
        frame = frame.loc[active.to_numpy()].sort_values("start_on", ascending=False)
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
            is_company = investor in self.companies.index
            hidden = is_company and not principal.sees(self.companies.at[investor, "region_code"])
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
    def neighbourhood(self, uscc: str, principal: Principal, max_nodes: int) -> dict[str, Any]:
        """The company, its customers and suppliers (active links) and its investors, bounded."""
        links = self.links
        active = (links["end_on"].isna() | (links["end_on"] > self.cut)).to_numpy()
        mine = links.loc[
            active
            & ((links["supplier_uscc"] == uscc) | (links["customer_uscc"] == uscc)).to_numpy()
        ].sort_values(["amount_wan", "start_on"], ascending=False, na_position="last")
        invest = self.investments.loc[self.investments["investee_uscc"] == uscc].sort_values(
            "invested_on", ascending=False
        )
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
