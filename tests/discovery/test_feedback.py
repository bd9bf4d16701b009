"""Invitation outcomes recorded by the service become training evidence."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from discovery.labels import Round, outcomes
from discovery.records import feed_outcomes, invite, open_records, record_outcome
from graph.embedded import EmbeddedStore
from graph.settings import Settings
from graph.validation import read_directory
from tests.factories import codes


def test_recorded_outcomes_reach_the_labels(tiny_dir: Path, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    store = EmbeddedStore(settings.home / "store")
    store.load(read_directory(tiny_dir))
    assert feed_outcomes(store, settings) == 0
    assert not (settings.home / "records.db").exists()  # nothing created when the service never ran

    company = codes(10)[4]
    records = open_records(settings)
    with records.session() as session:
        (row,) = invite(
            session, [(company, "440305")], "specialized_sme", date(2025, 3, 1), "official-1"
        )
        record_outcome(session, row, "applied", date(2025, 5, 1), "platform")
        record_outcome(session, row, "approved", date(2025, 9, 1), "platform")
    records.close()

    assert feed_outcomes(store, settings) == 1
    stored = store.read("invitations").set_index("uscc")
    assert stored.loc[company, "outcome"] == "approved"
    evidence = outcomes(store, "specialized_sme", Round(date(2024, 12, 31), date(2025, 12, 31)))
    assert evidence.loc[company, "label"] == 1
    assert evidence.loc[company, "source"] == "invitation"
    # feeding again changes nothing
    version = store.current_version()
    feed_outcomes(store, settings)
    assert store.current_version() == version


@pytest.mark.parametrize("outcome", ["declined"])
def test_declined_invitations_stay_unlabeled(tiny_dir: Path, tmp_path: Path, outcome: str) -> None:
    settings = Settings(home=tmp_path / "home")
    store = EmbeddedStore(settings.home / "store")
    store.load(read_directory(tiny_dir))
    company = codes(10)[4]
    records = open_records(settings)
    with records.session() as session:
        (row,) = invite(session, [(company, "440305")], "specialized_sme", date(2025, 3, 1), "o")
        record_outcome(session, row, outcome, date(2025, 4, 1), "o")
    records.close()
    feed_outcomes(store, settings)
    evidence = outcomes(store, "specialized_sme", Round(date(2024, 12, 31), date(2025, 12, 31)))
    assert company not in evidence.index
