"""The store contract, run against every store implementation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from graph.contract import TABLES
from graph.errors import UsageError
from graph.store import Progress, Store, known_at, sort_by_key
from graph.validation import read_directory
from tests.factories import CUT, tiny_tables, write_tables

AS_OF = date.fromisoformat(CUT)


def test_empty_store_reads_empty_tables(store: Store) -> None:
    assert store.counts() == dict.fromkeys(TABLES, 0)
    frame = store.read("patents", AS_OF)
    assert frame.empty
    assert list(frame.columns) == TABLES["patents"].column_names


def test_load_then_read_everything(store: Store, tiny_dir: Path) -> None:
    batch = read_directory(tiny_dir)
    result = store.load(batch)
    assert result.changed
    assert store.counts() == {n: len(batch.tables[n].frame) for n in TABLES}
    for name in TABLES:
        expected = sort_by_key(TABLES[name], batch.tables[name].frame)
        pd.testing.assert_frame_equal(store.read(name), expected)


def test_reads_are_point_in_time(store: Store, tiny_dir: Path) -> None:
    store.load(read_directory(tiny_dir))
    cut = pd.Timestamp(AS_OF)
    for name, table in TABLES.items():
        frame = store.read(name, AS_OF)
        assert (frame[table.known_on] <= cut).all(), name
        for col in table.later_dates:
            assert not (frame[col] > cut).any(), (name, col)
    # the company established in 2025 does not exist yet
    assert len(store.read("companies", AS_OF)) == 11
    # the application decided 2024-09-01 was still pending at the cut
    apps = store.read("applications", AS_OF).set_index("applied_on")
    assert apps.loc[pd.Timestamp("2024-05-01"), "outcome"] == "pending"
    assert pd.isna(apps.loc[pd.Timestamp("2024-05-01"), "decided_on"])
    # the revocation of 2024-08-01 is not known at the cut
    certs = store.read("certifications", AS_OF)
    assert certs["revoked_on"].isna().all()
    assert store.read("certifications", date(2024, 8, 1))["revoked_on"].notna().sum() == 1
    # the invitation declined on 2024-08-01 was pending at the cut
    assert store.read("invitations", AS_OF)["outcome"].tolist() == ["pending"]


def test_point_in_time_matches_the_shared_rule(store: Store, tiny_dir: Path) -> None:
    store.load(read_directory(tiny_dir))
    for as_of in (date(2019, 12, 31), AS_OF, date(2026, 1, 1)):
        for name, table in TABLES.items():
            expected = known_at(table, store.read(name), as_of)
            pd.testing.assert_frame_equal(store.read(name, as_of), expected, obj=f"{name}@{as_of}")


def test_loading_twice_changes_nothing(store: Store, tiny_dir: Path) -> None:
    batch = read_directory(tiny_dir)
    store.load(batch)
    counts, fingerprint = store.counts(), store.fingerprint()
    before = {name: store.read(name) for name in TABLES}
    again = store.load(read_directory(tiny_dir))
    assert not again.changed
    assert store.counts() == counts
    assert store.fingerprint() == fingerprint
    for name in TABLES:
        pd.testing.assert_frame_equal(store.read(name), before[name])


def test_a_later_load_updates_rows_by_natural_key(store: Store, tmp_path: Path) -> None:
    tables = tiny_tables()
    store.load(read_directory(write_tables(tables, tmp_path / "a")))
    fingerprint = store.fingerprint()
    update = {"financials": tables["financials"].iloc[[0]].copy(), "companies": tables["companies"]}
    update["financials"].loc[0, "revenue_wan"] = "4100"
    result = store.load(read_directory(write_tables(update, tmp_path / "b")))
    assert result.changed
    assert store.counts()["financials"] == len(tables["financials"])
    fin = store.read("financials").set_index("year")
    assert fin.loc[2022, "revenue_wan"] == 4100.0
    assert store.fingerprint() != fingerprint


def test_version_changes_with_the_content_and_only_with_it(store: Store, tmp_path: Path) -> None:
    tables = tiny_tables()
    empty = store.version()
    assert isinstance(empty, str) and empty
    first = store.load(read_directory(write_tables(tables, tmp_path / "a")))
    assert first.changed
    assert store.version() == first.version != empty
    again = store.load(read_directory(write_tables(tables, tmp_path / "a")))
    assert not again.changed
    assert store.version() == again.version == first.version
    update = {"financials": tables["financials"].iloc[[0]].copy(), "companies": tables["companies"]}
    update["financials"].loc[0, "revenue_wan"] = "4100"
    second = store.load(read_directory(write_tables(update, tmp_path / "b")))
    assert second.changed
    assert store.version() == second.version
    assert second.version not in (empty, first.version)


def test_unknown_table_is_a_plain_error(store: Store) -> None:
    with pytest.raises(UsageError, match="no table 'patent'"):
        store.read("patent", AS_OF)


class Interrupted(Exception):
    """Stands for a crash, a lost connection or Ctrl-C in the middle of a load."""


def crash_on_step(n: int) -> Progress:
    """A progress callback that interrupts the load at its `n`-th step."""
    calls = 0

    def progress(step: str, done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls == n:
            raise Interrupted(step)

    return progress


def test_an_interrupted_load_completes_when_rerun(store: Store, tiny_dir: Path) -> None:
    batch = read_directory(tiny_dir)
    with pytest.raises(Interrupted):
        store.load(batch, progress=crash_on_step(5))
    assert store.load(read_directory(tiny_dir)).changed
    assert store.counts() == {n: len(batch.tables[n].frame) for n in TABLES}
    for name in TABLES:
        expected = sort_by_key(TABLES[name], batch.tables[name].frame)
        pd.testing.assert_frame_equal(store.read(name), expected, obj=name)
    assert not store.load(read_directory(tiny_dir)).changed


def test_an_interrupted_load_that_wrote_rows_changes_the_version(
    store: Store, tiny_dir: Path
) -> None:
    """The embedded store writes nothing until the end; Neo4j keeps the batches it committed."""
    before, fingerprint = store.version(), store.fingerprint()
    with pytest.raises(Interrupted):
        store.load(read_directory(tiny_dir), progress=crash_on_step(5))
    interrupted = store.version()
    assert (interrupted == before) == (store.fingerprint() == fingerprint)
    assert store.load(read_directory(tiny_dir)).changed
    assert store.version() not in (before, interrupted)


def test_counterparties_are_kept_but_are_not_companies(store: Store, tiny_dir: Path) -> None:
    store.load(read_directory(tiny_dir))
    companies = set(store.read("companies")["uscc"])
    links = store.read("supply_links")
    outsiders = set(links["customer_uscc"]) - companies
    assert len(outsiders) == 1  # the counterparty with no profile
    assert store.counts()["companies"] == 12


def test_a_later_load_can_blank_a_value_and_move_a_row(store: Store, tmp_path: Path) -> None:
    tables = tiny_tables()
    store.load(read_directory(write_tables(tables, tmp_path / "a")))
    patents = tables["patents"].iloc[[0]].copy()
    patents.loc[patents.index[0], "granted_on"] = ""  # the grant was recorded by mistake
    invitations = tables["invitations"].copy()
    invitations.loc[0, ["uscc", "tier"]] = [tables["companies"].loc[4, "uscc"], "little_giant"]
    companies = tables["companies"].copy()
    companies.loc[0, ["main_product", "region_code"]] = ["", "440306"]
    update = {"companies": companies, "patents": patents, "invitations": invitations}
    assert store.load(read_directory(write_tables(update, tmp_path / "b"))).changed

    assert store.counts()["patents"] == len(tables["patents"])
    first = (
        store.read("patents")
        .set_index(["ip_id", "uscc"])
        .loc[(patents["ip_id"].iloc[0], patents["uscc"].iloc[0])]
    )
    assert pd.isna(first["granted_on"])
    moved = store.read("invitations")
    assert len(moved) == 1
    assert moved.loc[0, ["uscc", "tier"]].tolist() == invitations.loc[0, ["uscc", "tier"]].tolist()
    profile = store.read("companies").set_index("uscc").loc[companies.loc[0, "uscc"]]
    assert pd.isna(profile["main_product"])
    assert profile["region_code"] == "440306"


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("supply_links", "supplier_uscc"),
        ("supply_links", "customer_uscc"),
        ("investments", "investee_uscc"),
        ("awards", "uscc"),
        ("talents", "uscc"),
        ("companies", "uscc"),
    ],
)
def test_some_companies_rows_are_the_whole_reads_rows(
    store: Store, tiny_dir: Path, name: str, column: str
) -> None:
    """`read_where` gives exactly the rows of `read` at the date that name the codes, in
    the same order and dtypes, whether or not the store holds the table already."""
    batch = read_directory(tiny_dir)
    store.load(batch)
    codes = sorted(set(batch.tables[name].frame[column].dropna().astype(str)))
    # some of the table's codes, a code it lacks, and a missing value (never matched)
    wanted = [*codes[::2], "91110000000000000X", None]
    dates = (date(2019, 12, 31), AS_OF, None)
    # asked first, before anything has read the whole table
    got = {as_of: store.read_where(name, column, wanted, as_of) for as_of in dates}
    for as_of in dates:
        assert store.read_where(name, column, [], as_of).empty
        whole = store.read(name, as_of)
        expected = whole.loc[whole[column].isin(codes[::2]).to_numpy()].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[as_of], expected, obj=f"{name}.{column}@{as_of}")
        # and again once the store may hold the table
        again = store.read_where(name, column, wanted, as_of)
        pd.testing.assert_frame_equal(again, expected, obj=f"{name}.{column}@{as_of}, held")
    assert len(codes) > 1 and len(expected) > 0
    with pytest.raises(UsageError):
        store.read_where("no_such_table", column, codes)
