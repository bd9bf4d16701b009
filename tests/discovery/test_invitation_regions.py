"""Invitations follow their company to its current region, in one batched update."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from discovery import records
from discovery.records.invitations import refresh_regions
from graph.settings import Settings


def test_moved_companies_take_their_invitations_along(tmp_path: Path) -> None:
    db = open_db(tmp_path)
    companies = [(f"9144030{i:011d}", "440305") for i in range(300)]
    with db.session() as session:
        records.invite(session, companies, "specialized_sme", date(2026, 1, 5), "k1")
        records.invite(session, companies[:10], "little_giant", date(2026, 1, 5), "k1")
        now = pd.Series({u: r for u, r in companies})
        now.iloc[:5] = "320214"  # five companies moved to Wuxi
        now.iloc[5:7] = "440306"  # two within Shenzhen
        unknown = companies[-1][0]
        now = now.drop(unknown)  # the store no longer knows one: it keeps its region
        assert refresh_regions(session, now) == 7
        rows = session.execute(
            select(records.Invitation.uscc, records.Invitation.tier, records.Invitation.region_code)
        ).all()
        got = {(u, t): r for u, t, r in rows}
        for i, (uscc, _) in enumerate(companies):
            expected = "320214" if i < 5 else "440306" if i < 7 else "440305"
            assert got[(uscc, "specialized_sme")] == expected
            if i < 10:
                assert got[(uscc, "little_giant")] == expected
        assert got[(unknown, "specialized_sme")] == "440305"
        # nothing left to move, and a mapping works as well as a Series
        assert refresh_regions(session, now.to_dict()) == 0


def open_db(tmp_path: Path) -> records.Records:
    return records.open_records(Settings(home=tmp_path, database_url=None))
