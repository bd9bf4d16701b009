"""`benchmarks/forecast.py`: a list's hits against the sum of the chances it shows."""

from __future__ import annotations

from benchmarks.forecast import forecast_lists
from benchmarks.plan import TOPS
from discovery.ranking import rank
from tests.discovery.conftest import AS_OF


def test_the_forecast_scores_the_lists_the_service_ranks(trained_world):
    w = trained_world
    snapshot = w.snapshots(AS_OF)
    rows = forecast_lists(w.store, w.registry, w.criteria, snapshot, w.truth)
    assert [r["tier"] for r in rows] == list(TOPS)
    for r in rows:
        tier = r["tier"]
        listed = rank(
            w.store, tier, AS_OF, w.registry, w.criteria, top=TOPS[tier], features=snapshot
        ).frame
        truth = w.truth.loc[listed["uscc"].astype(str)]
        assert r["listed"] == len(listed) > 0
        assert r["hits"] == int(truth[f"qualifies_{tier}"].sum())
        fresh = ~truth[f"applied_{tier}"].astype(bool).to_numpy()
        assert r["non_applicants"] == int(fresh.sum())
        assert r["non_applicant_hits"] == int(truth[f"qualifies_{tier}"].to_numpy()[fresh].sum())
        assert abs(r["forecast"] - listed["score"].sum()) < 1e-9
        assert 0 < r["non_applicant_forecast"] <= r["forecast"] <= r["listed"]
    # the specialized-SME list of this world finds qualifiers: the counts are not all zero
    assert rows[0]["hits"] > 0
