"""Embedded-store specifics: versions on disk and loads that are all or nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from graph.contract import TABLES
from graph.embedded import KEEP_VERSIONS, EmbeddedStore
from graph.validation import read_directory
from tests.factories import tiny_tables, write_tables


def test_an_interrupted_load_leaves_the_store_as_it_was(
    tmp_path: Path, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EmbeddedStore(tmp_path / "store")
    store.load(read_directory(tiny_dir))
    before = {name: store.read(name) for name in TABLES}
    version = store.current_version()

    tables = tiny_tables()
    tables["awards"].loc[0, "name"] = "改名"
    tables["patents"].loc[0, "applicant_rank"] = "3"
    batch = read_directory(write_tables(tables, tmp_path / "changed"))
    real = pd.DataFrame.to_parquet
    written: list[str] = []

    def crash_on_second(self: pd.DataFrame, path: Path, *a: object, **k: object) -> None:
        written.append(str(path))
        if len(written) == 2:
            raise KeyboardInterrupt("power cut")
        real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        store.load(batch)
    monkeypatch.undo()

    fresh = EmbeddedStore(tmp_path / "store")
    assert fresh.current_version() == version
    for name in TABLES:
        pd.testing.assert_frame_equal(fresh.read(name), before[name])
    # rerunning the same load completes it, and the leftover staging folder is gone
    assert fresh.load(batch).changed
    assert fresh.read("awards")["name"].iloc[0] == "改名"
    assert not list((tmp_path / "store" / "versions").glob(".staging-*"))


def test_old_versions_are_pruned(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "store")
    tables = tiny_tables()
    for i in range(KEEP_VERSIONS + 2):
        tables["awards"].loc[0, "name"] = f"奖{i}"
        store.load(read_directory(write_tables(tables, tmp_path / f"d{i}")))
    kept = sorted(p.name for p in (tmp_path / "store" / "versions").iterdir())
    assert len(kept) == KEEP_VERSIONS
    assert kept[-1] == store.current_version()
    assert store.read("awards")["name"].iloc[0] == f"奖{KEEP_VERSIONS + 1}"


def test_some_companies_rows_are_read_from_the_file_without_keeping_the_table(
    tmp_path: Path, tiny_dir: Path
) -> None:
    """A few companies' facts come from the Parquet file's matching rows alone; the
    table is not kept in memory, as a whole read keeps it."""
    data = tiny_dir
    EmbeddedStore(tmp_path / "store").load(read_directory(data))
    fresh = EmbeddedStore(tmp_path / "store")
    links = read_directory(data).tables["supply_links"].frame
    wanted = sorted(set(links["supplier_uscc"].astype(str)))[:2]
    got = fresh.read_where("supply_links", "supplier_uscc", wanted)
    assert not fresh._cache  # read from the file, not kept
    whole = fresh.read("supply_links")
    expected = whole.loc[whole["supplier_uscc"].isin(wanted).to_numpy()].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    assert 0 < len(got) < len(whole)
    with pytest.raises(KeyError):
        fresh.read_where("supply_links", "no_such_column", wanted)
