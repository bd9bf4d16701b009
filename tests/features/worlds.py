"""Hand-made worlds for the feature tests, written as contract data directories."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from graph.contract import TABLES
from graph.embedded import EmbeddedStore
from graph.uscc import make_codes
from graph.validation import read_directory

AS_OF = date(2025, 6, 30)


def code(i: int, prefix: str = "914403000") -> str:
    """A valid credit code for company number i."""
    return str(make_codes(np.array([f"{prefix}{i:08d}"]))[0])


C = [code(i) for i in range(30)]
X = code(1, prefix="914401000")  # a counterparty of unknown profile (not in companies)


def small_world() -> dict[str, pd.DataFrame]:
    """Thirty companies around C[0], with facts before and after AS_OF (2025-06-30)."""
    companies = pd.DataFrame(
        {
            "uscc": C,
            "name": [f"公司{i}" for i in range(30)],
            "region_code": ["440305"] * 15 + ["320102"] * 15,
            "industry_code": ["C3976"] * 10 + ["I6513"] * 20,
            "established_on": ["2015-03-01"] * 29 + ["2026-01-01"],  # C29 is founded later
            "ownership": ["private"] * 30,
            "size_class": ["small"] * 4 + ["large"] + ["medium"] * 25,
            "niche_since": ["2018-01-01"] + ["2026-02-01"] + [""] * 28,
            "main_product": [""] * 30,
        }
    )
    supply = pd.DataFrame(
        [
            (C[1], C[0], "2020-01-01", "", 100),
            (C[2], C[0], "2021-01-01", "2024-12-31", 50),  # ended before AS_OF
            (C[3], C[0], "2026-01-01", "", 70),  # starts later
            (C[0], C[4], "2019-01-01", "", 300),
            (C[0], C[5], "2019-01-01", "2025-09-01", 200),  # ends after AS_OF: active then
            (C[0], X, "2022-01-01", "", 10),
            (C[4], C[6], "2019-01-01", "", 1),
            (C[5], C[6], "2019-01-01", "", 1),
            (C[5], C[7], "2019-01-01", "", 1),
            (C[4], C[0], "2019-01-01", "", 5),
            (C[29], C[0], "2026-02-01", "", 5),
        ],
        columns=["supplier_uscc", "customer_uscc", "start_on", "end_on", "amount_wan"],
    )
    certs = pd.DataFrame(
        [
            (C[5], "little_giant", "2023-01-01", "2026-01-01", ""),
            (C[4], "specialized_sme", "2021-01-01", "2024-01-01", ""),  # expired
            (C[1], "tech_sme", "2024-01-01", "2027-01-01", ""),
            (C[2], "tech_sme", "2024-01-01", "2027-01-01", "2025-03-01"),  # revoked
            (C[0], "specialized_sme", "2024-01-01", "2027-01-01", "2025-12-01"),  # revoked later
            (C[10], "specialized_sme", "2024-01-01", "2027-01-01", ""),
            (C[11], "specialized_sme", "2024-01-01", "2027-01-01", ""),
            (C[13], "little_giant", "2024-01-01", "2027-01-01", ""),
            (C[12], "specialized_sme", "2025-07-01", "2028-07-01", ""),  # certified later
        ],
        columns=["uscc", "tier", "certified_on", "expires_on", "revoked_on"],
    )
    patents = pd.DataFrame(
        [
            ("P1", C[0], 1, "invention", "2020-01-01", "2022-01-01", "true", ""),
            ("P1", C[9], 2, "invention", "2020-01-01", "2022-01-01", "true", ""),
            ("P2", C[0], 4, "invention", "2020-01-01", "2023-01-01", "true", ""),
            ("P3", C[0], 1, "invention", "2020-01-01", "2023-01-01", "false", ""),
            ("P4", C[0], 1, "invention", "2020-01-01", "2024-01-01", "true", "2025-01-01"),
            ("P5", C[0], 1, "invention", "2023-01-01", "2025-09-01", "true", ""),  # granted later
            ("P6", C[0], 1, "utility_model", "2023-01-01", "2023-06-01", "true", ""),
            ("P7", C[0], 2, "ic_layout", "2021-01-01", "2022-01-01", "true", "2026-01-01"),
            ("P8", C[0], 1, "invention", "2026-01-01", "", "true", ""),  # filed later
        ],
        columns=[
            "ip_id",
            "uscc",
            "applicant_rank",
            "ip_type",
            "filed_on",
            "granted_on",
            "self_filed",
            "lapsed_on",
        ],
    )
    investments = pd.DataFrame(
        [
            ("I1", "创投一", "vc", C[0], "2023-01-01", "A", 1000, 10),
            ("I1", "创投一", "vc", C[0], "2024-06-01", "B", 2000, 5),
            ("I2", "引导基金", "gov_fund", C[0], "2024-06-01", "B", 500, 2),
            ("I3", "链主集团", "corporate", C[0], "2025-01-01", "strategic", "", ""),
            ("I4", "后来者", "pe", C[0], "2025-12-01", "C", 9000, 9),  # later
            ("I1", "创投一", "vc", C[10], "2022-01-01", "A", 100, 10),
            ("I1", "创投一", "vc", C[11], "2022-01-01", "A", 100, 10),
            ("I1", "创投一", "vc", C[12], "2022-01-01", "A", 100, 10),
            ("I2", "引导基金", "gov_fund", C[13], "2022-01-01", "A", 100, 10),
        ],
        columns=[
            "investor_id",
            "investor_name",
            "investor_type",
            "investee_uscc",
            "invested_on",
            "round",
            "amount_wan",
            "equity_pct",
        ],
    )
    financials = pd.DataFrame(
        [
            (C[0], 2022, "2023-05-01", 4000, 3800, 500, 400, 9000, 100, 80, 20),
            (C[0], 2023, "2024-05-20", 5000, 4700, 600, 500, 9500, 200, 90, 25),
            (C[0], 2024, "2025-05-31", 6000, 5400, 700, 600, 10000, 300, 100, 30),
            (C[0], 2025, "2026-05-31", 9999, 9000, 999, 900, 20000, 900, 200, 60),  # later
            (C[1], 2023, "2024-05-01", 800, 800, 40, 10, 1000, "", 20, 2),
            (C[1], 2024, "2025-07-15", 900, 900, 50, 10, 1000, "", 20, 2),  # reported later
        ],
        columns=[
            "uscc",
            "year",
            "reported_on",
            "revenue_wan",
            "main_business_revenue_wan",
            "rd_expense_wan",
            "net_profit_wan",
            "total_assets_wan",
            "export_revenue_wan",
            "employees",
            "rd_staff",
        ],
    )
    awards = pd.DataFrame(
        [
            ("A1", C[0], "国家科技进步奖", "national", "sci_tech_progress", "first", "2020-01-10"),
            ("A2", C[0], "省科技进步奖", "provincial", "sci_tech_progress", "second", "2024-01-01"),
            ("A3", C[0], "市科技进步奖", "municipal", "", "third", "2025-12-01"),  # later
        ],
        columns=["award_id", "uscc", "name", "level", "category", "prize", "awarded_on"],
    )
    talents = pd.DataFrame(
        [
            ("T1", C[0], "国家人才计划", "national", "2020-01-01", ""),
            ("T2", C[0], "省人才计划", "provincial", "2021-01-01", "2024-01-01"),
            ("T3", C[0], "市人才计划", "municipal", "2022-01-01", "2025-08-01"),  # leaves later
            ("T4", C[0], "国家人才计划", "national", "2026-01-01", ""),  # joins later
        ],
        columns=["person_id", "uscc", "program", "level", "joined_on", "left_on"],
    )
    quality = pd.DataFrame(
        [
            (C[0], 2023, 55.0, "2024-06-01"),
            (C[0], 2024, 65.0, "2025-06-01"),
            (C[0], 2025, 90.0, "2025-10-01"),  # later
        ],
        columns=["uscc", "year", "score", "computed_on"],
    )
    compliance = pd.DataFrame(
        [
            (C[20], "abnormal_operations", "2024-01-01", ""),
            (C[21], "abnormal_operations", "2020-01-01", "2022-01-01"),
            (C[22], "major_safety_accident", "2022-07-01", "2022-08-01"),
            (C[23], "major_safety_accident", "2022-06-30", ""),
            (C[24], "serious_dishonesty", "2025-01-01", "2025-07-01"),  # ends after AS_OF
            (C[25], "restricted_product", "2025-07-01", ""),  # starts later
        ],
        columns=["uscc", "kind", "start_on", "end_on"],
    )
    applications = pd.DataFrame(
        [
            (C[0], "specialized_sme", "2023-03-01", "2023-09-01", "rejected"),
            (C[0], "specialized_sme", "2023-10-01", "2024-01-01", "approved"),
            (C[1], "specialized_sme", "2025-03-01", "2025-09-01", "rejected"),  # decided later
        ],
        columns=["uscc", "tier", "applied_on", "decided_on", "outcome"],
    )
    invitations = pd.DataFrame(
        [("V1", C[1], "specialized_sme", "2025-01-01", "applied", "2025-03-01")],
        columns=["invitation_id", "uscc", "tier", "invited_on", "outcome", "outcome_on"],
    )
    return {
        "companies": companies,
        "supply_links": supply,
        "certifications": certs,
        "patents": patents,
        "investments": investments,
        "financials": financials,
        "awards": awards,
        "talents": talents,
        "quality_scores": quality,
        "compliance_events": compliance,
        "applications": applications,
        "invitations": invitations,
    }


def write_world(tables: dict[str, pd.DataFrame], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(directory / f"{name}.csv", index=False)
    return directory


def load_store(directory: Path, root: Path) -> EmbeddedStore:
    store = EmbeddedStore(root)
    batch = read_directory(directory)
    assert batch.rejects.empty, batch.rejects.to_string()
    store.load(batch)
    return store


# -- leakage helpers --------------------------------------------------------------------
def _as_dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values.replace("", pd.NA), format="%Y-%m-%d", errors="coerce")


def strip_future(tables: dict[str, pd.DataFrame], as_of: date) -> dict[str, pd.DataFrame]:
    """The world as it stood at `as_of`: later rows removed, later dates blanked."""
    cut = pd.Timestamp(as_of)
    out = {}
    for name, frame in tables.items():
        table = TABLES[name]
        frame = frame.astype(str).replace({"nan": "", "<NA>": ""})
        known = _as_dates(frame[table.known_on]) <= cut
        frame = frame.loc[known.to_numpy()].reset_index(drop=True)
        if table.pending_outcome:
            outcome, decided = table.pending_outcome
            later = (_as_dates(frame[decided]) > cut).fillna(False).to_numpy()
            frame.loc[later, outcome] = "pending"
        for col in table.later_dates:
            later = (_as_dates(frame[col]) > cut).fillna(False).to_numpy()
            frame.loc[later, col] = ""
        out[name] = frame
    return out


def add_future(
    tables: dict[str, pd.DataFrame], as_of: date, seed: int = 7
) -> dict[str, pd.DataFrame]:
    """The same world with facts dated after `as_of` added to every table and every
    later date (end, grant, lapse, revocation, decision) that lies after `as_of` or is
    empty moved to another date after `as_of`."""
    rng = np.random.default_rng(seed)
    cut = pd.Timestamp(as_of)

    def future_dates(k: int) -> list[str]:
        days = rng.integers(1, 900, size=k)
        return [(cut + pd.Timedelta(days=int(d))).strftime("%Y-%m-%d") for d in days]

    out = {}
    for name, frame in tables.items():
        table = TABLES[name]
        frame = frame.astype(str).replace({"nan": "", "<NA>": ""}).reset_index(drop=True)
        for col in table.later_dates:
            dates = _as_dates(frame[col])
            movable = (dates.isna() | (dates > cut)).to_numpy()
            frame.loc[movable, col] = future_dates(int(movable.sum()))
            # an order rule (e.g. granted_on >= filed_on) still holds: the new date is after as_of
        if table.pending_outcome:
            outcome, decided = table.pending_outcome
            later = (_as_dates(frame[decided]) > cut).to_numpy()
            choices = [v for v in table.column(outcome).values if v != "pending"]
            frame.loc[later, outcome] = rng.choice(choices, size=int(later.sum()))
        # copies of every row moved wholesale after as_of (all its dates shifted alike,
        # so the contract's date order still holds), with fresh keys
        extra = frame.copy()
        target = _as_dates(pd.Series(future_dates(len(extra))))
        shift = target - _as_dates(extra[table.known_on])
        for col in table.date_columns:
            moved = _as_dates(extra[col]) + shift
            extra[col] = moved.dt.strftime("%Y-%m-%d").fillna("")
        for key in table.key:
            kind = table.column(key).kind
            if kind == "uscc" and name == "companies":
                extra[key] = [code(100 + i, prefix="914403990") for i in range(len(extra))]
            elif kind == "str":
                extra[key] = extra[key] + "-later"
            elif kind == "int":
                extra[key] = (extra[key].astype(int) + 10).astype(str)
        merged = pd.concat([frame, extra], ignore_index=True)
        # a random later date may collide with an existing key: the original row stays
        out[name] = merged.drop_duplicates(list(table.key), keep="first", ignore_index=True)
    return out
