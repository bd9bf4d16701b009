"""A company's page for a tier: listed or not, the same checks as the list shows."""

from __future__ import annotations

import re

import pandas as pd

from api.views import full_list
from discovery.model import ScoringModel
from discovery.quality import ESTIMATE_COLUMN
from tests.api.conftest import AS_OF, Served

TIER = "specialized_sme"
PARAMS = {"as_of": AS_OF.isoformat()}
ESTIMATED = re.compile(r"未知 unknown \(估计 est\. (\d+)，达标把握 chance (\d+)%\)")


def _assessment(served: Served, uscc: str) -> dict:
    page = served.client.get(
        f"/v1/companies/{uscc}", params=PARAMS, headers=served.headers("analyst")
    )
    assert page.status_code == 200, page.text
    (tier,) = [t for t in page.json()["tiers"] if t["tier"] == TIER]
    return tier


def _eligible(served: Served) -> pd.DataFrame:
    """The feature rows of the companies that pass the tier's gate."""
    ws = served.app.state.service.workspace
    gates = ws.gate(TIER, AS_OF)
    return ws.snapshots(AS_OF).loc[gates.index[gates["eligible"].to_numpy()]]


def test_an_eligible_company_known_to_miss_a_threshold_is_shown_but_not_invitable(
    served: Served,
) -> None:
    service = served.app.state.service
    snap = _eligible(served)
    missing = snap.index[(snap["std_ss_quality_score"] == 0).to_numpy()]
    assert len(missing), "the test world should hold an eligible company below the score bar"
    listed = set(full_list(service, TIER, AS_OF).frame["uscc"])
    uscc = str(missing[0])
    assert uscc not in listed
    tier = _assessment(served, uscc)
    assert tier["eligible"] and tier["rank"] is None and not tier["invitable"]
    checks = {c["id"]: c for c in tier["checks"]}
    assert checks["ss_quality_score"] == {
        **checks["ss_quality_score"],
        "status": "not_met",
        "text": "未达标 not met",
    }
    # a published score below the bar: no chance of approval, whatever the booster says
    assert tier["quality_score_source"] == "公布 published"
    assert tier["score"] == 0.0


def test_an_unlisted_company_with_an_estimated_score_reads_like_a_listed_one(
    served: Served,
) -> None:
    service = served.app.state.service
    snap = _eligible(served)
    listed = full_list(service, TIER, AS_OF).frame.set_index("uscc")
    unknown = snap["std_ss_quality_score"].isna() & snap[ESTIMATE_COLUMN].notna()
    off_list = snap.index[unknown.to_numpy() & ~snap.index.isin(listed.index)]
    on_list = listed.index[listed["quality_score_source"].str.startswith("估计").to_numpy()]
    assert len(off_list) and len(on_list)
    bar = ScoringModel.load(service.workspace.serving(TIER)).bar
    for uscc in (str(off_list[0]), str(on_list[0])):
        text = {c["id"]: c for c in _assessment(served, uscc)["checks"]}["ss_quality_score"]
        m = ESTIMATED.fullmatch(text["text"])
        assert m and text["status"] == "unknown", text
        assert m[1] == f"{snap.at[uscc, ESTIMATE_COLUMN]:.0f}"
        assert m[2] == f"{100 * bar(snap.loc[[uscc]])[0]:.0f}"
