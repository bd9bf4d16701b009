"""Small data directories made in code, for tests of every layer.

`tiny_world` writes a dozen companies and a few facts of every kind, with dates
on both sides of 2024-06-30 so point-in-time reads have something to cut.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from graph.contract import TABLES
from graph.uscc import make_codes

CUT = "2024-06-30"


def codes(n: int, region: str = "440305", start: int = 0) -> list[str]:
    """`n` valid credit codes in `region` (deterministic)."""
    bodies = np.array([f"91{region}{'MA5F'}{i + start:05d}" for i in range(n)])
    return [str(c) for c in make_codes(bodies)]


def tiny_tables() -> dict[str, pd.DataFrame]:
    c = codes(10) + codes(2, region="320505", start=50)
    outsider = codes(1, region="110108", start=90)[0]  # a counterparty with no profile
    companies = pd.DataFrame(
        {
            "uscc": c,
            "name": [f"深圳市测试{i}科技有限公司" for i in range(12)],
            "region_code": ["440305"] * 10 + ["320505"] * 2,
            "industry_code": ["C3976", "C3562", "I6513", "C3976", "C2710", "C3831"] * 2,
            "established_on": ["2010-05-01"] * 6 + ["2018-02-03"] * 5 + ["2025-01-15"],
            "ownership": ["private", "state", "foreign", "hmt", "collective", "other"] * 2,
            "size_class": ["small", "medium", "micro", "large", "", "small"] * 2,
            "niche_since": ["2012-01-01", ""] * 6,
            "main_product": ["激光雷达", ""] * 6,
        }
    )
    financials = pd.DataFrame(
        {
            "uscc": [c[0], c[0], c[1], c[0]],
            "year": ["2022", "2023", "2023", "2024"],
            "reported_on": ["2023-05-20", "2024-05-15", "2024-04-30", "2025-05-10"],
            "revenue_wan": ["4000.5", "6200", "", "8000"],
            "main_business_revenue_wan": ["3900", "6000", "", "7800"],
            "rd_expense_wan": ["500", "800", "120", "900"],
            "net_profit_wan": ["300", "-20", "", "500"],
            "total_assets_wan": ["9000", "9900", "", "12000"],
            "export_revenue_wan": ["0", "100", "", "200"],
            "employees": ["120", "150", "30", "170"],
            "rd_staff": ["20", "30", "", "35"],
        }
    )
    supply = pd.DataFrame(
        {
            "supplier_uscc": [c[0], c[0], c[1], c[2], c[4], c[0]],
            "customer_uscc": [c[3], outsider, c[0], c[0], c[3], c[5]],
            "start_on": [
                "2019-01-01",
                "2020-03-01",
                "2021-06-01",
                "2024-09-01",
                "2018-01-01",
                "2022-01-01",
            ],
            "end_on": ["", "", "2024-12-31", "", "2023-01-01", ""],
            "amount_wan": ["800", "", "50.5", "30", "10", "5"],
        }
    )
    investments = pd.DataFrame(
        {
            "investor_id": [c[11], c[11], "ANGEL-0001", c[11]],
            "investor_name": ["深创投", "深创投", "张某", "深创投"],
            "investor_type": ["gov_fund", "gov_fund", "angel", "gov_fund"],
            "investee_uscc": [c[0], c[1], c[0], c[2]],
            "invested_on": ["2021-03-01", "2022-07-01", "2019-01-01", "2024-12-01"],
            "round": ["A", "B", "angel", ""],
            "amount_wan": ["3000", "", "100", "500"],
            "equity_pct": ["10", "", "5", "3.5"],
        }
    )
    patents = pd.DataFrame(
        {
            "ip_id": ["CN1", "CN2", "CN3", "CN4", "CN5", "CN5", "CN6"],
            "uscc": [c[0], c[0], c[0], c[0], c[0], c[1], c[1]],
            "applicant_rank": ["1", "1", "2", "1", "1", "2", "1"],
            "ip_type": [
                "invention",
                "invention",
                "invention",
                "utility_model",
                "invention",
                "invention",
                "design",
            ],
            "filed_on": [
                "2018-01-01",
                "2019-05-05",
                "2020-02-02",
                "2021-01-01",
                "2023-03-03",
                "2023-03-03",
                "2024-08-01",
            ],
            "granted_on": [
                "2020-01-01",
                "2021-05-05",
                "",
                "2021-06-01",
                "2024-09-09",
                "2024-09-09",
                "",
            ],
            "self_filed": ["true", "true", "false", "true", "true", "true", "true"],
            "lapsed_on": ["", "", "", "2024-12-01", "", "", ""],
        }
    )
    awards = pd.DataFrame(
        {
            "award_id": ["AW1", "AW2"],
            "uscc": [c[0], c[1]],
            "name": ["广东省科学技术进步奖", "国家技术发明奖"],
            "level": ["provincial", "national"],
            "category": ["sci_tech_progress", "invention"],
            "prize": ["second", "first"],
            "awarded_on": ["2022-12-01", "2025-01-10"],
        }
    )
    talents = pd.DataFrame(
        {
            "person_id": ["P1", "P2"],
            "uscc": [c[0], c[2]],
            "program": ["国家级海外高层次人才引进计划", "孔雀计划"],
            "level": ["national", "municipal"],
            "joined_on": ["2020-01-01", "2021-01-01"],
            "left_on": ["", "2024-10-01"],
        }
    )
    certifications = pd.DataFrame(
        {
            "uscc": [c[0], c[0], c[1], c[2], c[5]],
            "tier": [
                "tech_sme",
                "specialized_sme",
                "innovative_sme",
                "tech_sme",
                "specialized_sme",
            ],
            "certified_on": ["2020-06-01", "2022-09-01", "2023-01-01", "2022-01-01", "2021-09-01"],
            "expires_on": ["2023-06-01", "2025-09-01", "2026-01-01", "2025-01-01", "2024-09-01"],
            "revoked_on": ["", "", "", "2024-08-01", ""],
        }
    )
    applications = pd.DataFrame(
        {
            "uscc": [c[0], c[1], c[2]],
            "tier": ["specialized_sme", "specialized_sme", "specialized_sme"],
            "applied_on": ["2022-05-01", "2024-05-01", "2023-05-01"],
            "decided_on": ["2022-09-01", "2024-09-01", "2023-09-01"],
            "outcome": ["approved", "rejected", "rejected"],
        }
    )
    compliance = pd.DataFrame(
        {
            "uscc": [c[2], c[6]],
            "kind": ["abnormal_operations", "major_safety_accident"],
            "start_on": ["2023-03-01", "2022-01-01"],
            "end_on": ["2024-09-01", ""],
        }
    )
    quality = pd.DataFrame(
        {
            "uscc": [c[0], c[0], c[1]],
            "year": ["2022", "2023", "2023"],
            "score": ["58", "63.5", "48"],
            "computed_on": ["2023-06-30", "2024-06-30", "2024-07-15"],
        }
    )
    invitations = pd.DataFrame(
        {
            "invitation_id": ["INV-1"],
            "uscc": [c[3]],
            "tier": ["specialized_sme"],
            "invited_on": ["2024-03-01"],
            "outcome": ["declined"],
            "outcome_on": ["2024-08-01"],
        }
    )
    tables = {
        "companies": companies,
        "financials": financials,
        "supply_links": supply,
        "investments": investments,
        "patents": patents,
        "awards": awards,
        "talents": talents,
        "certifications": certifications,
        "applications": applications,
        "compliance_events": compliance,
        "quality_scores": quality,
        "invitations": invitations,
    }
    assert set(tables) == set(TABLES)
    return tables


def write_tables(tables: dict[str, pd.DataFrame], directory: Path, fmt: str = "csv") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(directory / f"{name}.csv", index=False)
        else:
            frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


def tiny_world(directory: Path, fmt: str = "csv") -> Path:
    return write_tables(tiny_tables(), directory, fmt)
