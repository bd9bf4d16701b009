"""`benchmarks/blank_figures.py`: the lists with a blank figure read from past approvals."""

from __future__ import annotations

from benchmarks.blank_figures import blank_figure_lists
from benchmarks.plan import TOPS
from discovery.ranking import rank
from tests.discovery.conftest import AS_OF


def test_as_trained_is_the_service_list_and_decisions_only_lowers_blank_chances(trained_world):
    w = trained_world
    shipped = {t.id for t in w.criteria.thresholds if t.when_unknown == "decisions"}
    assert shipped == {"ss_niche_years", "lg_niche_years"}
    plain = blank_figure_lists(w.store, w.registry, w.criteria, w.snapshots, w.truth, shipped)
    assert [r["tier"] for r in plain] == list(TOPS)
    for r in plain:
        listed = rank(w.store, r["tier"], AS_OF, w.registry, w.criteria, top=TOPS[r["tier"]]).frame[
            "uscc"
        ]
        assert r["as trained listed"] == listed.astype(str).tolist()
        # the file's own settings read again: the same list
        assert r["decisions listed"] == r["as trained listed"] and r["decisions"] == r["as trained"]
        assert all(0 < v < 0.999 for v in r["odds ratios below 1"].values())
    learned = blank_figure_lists(w.store, w.registry, w.criteria, w.snapshots, w.truth, set())
    (sme,) = [r for r in learned if r["tier"] == "specialized_sme"]
    # this simulator leaves a niche date blank for companies with no niche market
    assert sme["odds ratios below 1"]["std_ss_niche_years"] < 0.1
    assert len(sme["decisions listed"]) == TOPS["specialized_sme"]
