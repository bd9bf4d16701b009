"""A coded history kept on disk reads back as the very tables, and is only used where
it answers: the next process skips reading and coding the store, nothing else."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from features import History, build_features, build_features_at, history_files
from graph.contract import TABLES
from graph.embedded import EmbeddedStore
from tests.features.test_history import SPECS, assert_same
from tests.features.worlds import AS_OF, add_future, load_store, small_world, write_world

EARLIER = date(2023, 6, 30)


@pytest.fixture
def later(tmp_path: Path) -> EmbeddedStore:
    """The small world with facts dated after `AS_OF` (rows an earlier copy must not hold)."""
    world = add_future(small_world(), AS_OF)
    return load_store(write_world(world, tmp_path / "data"), tmp_path / "store")


def unread(store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables `store` is asked for from now on (recorded, then answered)."""
    asked: list[str] = []
    read_once = store.read_once

    def recorded(name, as_of=None):
        asked.append(name)
        return read_once(name, as_of)

    monkeypatch.setattr(store, "read_once", recorded)
    return asked


def assert_same_history(ours: History, reference: History) -> None:
    pd.testing.assert_index_equal(ours.universe, reference.universe, exact=True)
    for name in TABLES:
        pd.testing.assert_frame_equal(ours.frames[name], reference.frames[name], check_exact=True)


def test_a_kept_history_reads_back_as_the_same_tables_without_the_store(
    later, tmp_path, monkeypatch
):
    keep = tmp_path / "kept"
    first = History(later, AS_OF, keep).load()
    assert [p.name for p in keep.iterdir()] == [f"history-{AS_OF.isoformat()}"]
    asked = unread(later, monkeypatch)
    again = History(later, AS_OF, keep).load()
    assert asked == []  # neither read nor coded: the copy answered
    assert_same_history(again, first)
    assert_same_history(again, History(later, AS_OF).load())
    built = build_features_at(later, [EARLIER, AS_OF], SPECS, history=History(later, AS_OF, keep))
    for as_of in (EARLIER, AS_OF):
        assert_same(built[as_of], build_features(later, as_of, SPECS))


def test_a_later_copy_answers_an_earlier_date_and_an_earlier_one_never_a_later(
    later, tmp_path, monkeypatch
):
    keep = tmp_path / "kept"
    History(later, EARLIER, keep).load()
    asked = unread(later, monkeypatch)
    # a copy made at EARLIER lacks what was learned until AS_OF: the store is read
    History(later, AS_OF, keep).load()
    assert set(asked) == set(TABLES)
    assert [p.name for p in keep.iterdir()] == [f"history-{AS_OF.isoformat()}"]
    asked.clear()
    found = History(later, date(2024, 3, 31), keep).load()
    assert asked == []
    assert found.latest == AS_OF  # the earliest copy not before the date asked
    at = date(2024, 3, 31)
    built = build_features_at(later, [at], SPECS, history=found)
    assert_same(built[at], build_features(later, at, SPECS))
    # a copy of every row answers any date; none made at a date answers every row
    History(later, None, keep).load()
    assert set(asked) == set(TABLES)
    # and it replaces the copies it answers for
    assert [p.name for p in keep.iterdir()] == ["history-all"]


def test_a_damaged_copy_is_coded_again_with_a_warning(later, tmp_path, caplog):
    keep = tmp_path / "kept"
    History(later, AS_OF, keep).load()
    damaged = keep / f"history-{AS_OF.isoformat()}" / "patents.arrow"
    damaged.write_bytes(damaged.read_bytes()[:100])
    with caplog.at_level(logging.WARNING, logger="features.history_files"):
        again = History(later, AS_OF, keep).load()
    assert "unreadable, coded again" in caplog.text
    assert_same_history(again, History(later, AS_OF).load())
    assert damaged.stat().st_size > 100  # the copy made again


def test_codes_pointing_outside_their_values_are_coded_again_not_read(later, tmp_path, caplog):
    keep = tmp_path / "kept"
    History(later, AS_OF, keep).load()
    path = keep / f"history-{AS_OF.isoformat()}" / "supply_links.arrow"
    table = history_files._read_table(path)
    universe = len(History(later, AS_OF).load().universe)
    codes = table.column("supplier_uscc").to_numpy().copy()
    codes[0] = universe  # one past the last credit code: a readable file, a wrong value
    table = table.set_column(0, "supplier_uscc", pa.array(codes, pa.int32()))
    history_files._write_table(path, table)
    with caplog.at_level(logging.WARNING, logger="features.history_files"):
        again = History(later, AS_OF, keep).load()
    assert "supply_links.supplier_uscc: codes outside its" in caplog.text
    assert_same_history(again, History(later, AS_OF).load())


def test_an_interrupted_write_leaves_nothing_that_is_read(later, tmp_path, monkeypatch):
    keep = tmp_path / "kept"
    written: list[Path] = []
    write_table = history_files._write_table

    def failing(path, table):
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        written.append(path)
        write_table(path, table)

    monkeypatch.setattr(history_files, "_write_table", failing)
    first = History(later, AS_OF, keep).load()  # the answer does not depend on the disk
    assert_same_history(first, History(later, AS_OF).load())
    assert list(keep.iterdir()) == []  # neither a copy nor its temporary folder
    monkeypatch.setattr(history_files, "_write_table", write_table)
    asked = unread(later, monkeypatch)
    History(later, AS_OF, keep).load()
    assert set(asked) == set(TABLES)


def test_writers_at_once_leave_one_copy_and_no_temporary_folder(later, tmp_path):
    keep = tmp_path / "kept"
    history = History(later, AS_OF).load()
    coded = (history.frames, history.universe)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: history_files.write(keep, AS_OF, coded), range(4)))
    assert [p.name for p in keep.iterdir()] == [f"history-{AS_OF.isoformat()}"]
    assert_same_history(History(later, AS_OF, keep).load(), history)
