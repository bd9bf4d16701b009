"""The snapshot cache holds few dates while it builds, and reads back what it wrote."""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from discovery.quality import ESTIMATE_COLUMN, SCORE_COLUMN
from discovery.snapshots import SUFFIX, SnapshotCache
from tests.discovery.conftest import TrainedWorld

DATES = [date(2021, 12, 31), date(2022, 12, 31), date(2023, 12, 31), date(2024, 12, 31)]


def test_a_build_holds_no_date_beside_later_builds_and_reads_back_the_two_that_stay(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = trained_world
    cache = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    assert cache.keep == 2
    held_while_building: list[set[date]] = []
    settled: dict[date, bool] = {}
    finish, settle, read = SnapshotCache._finish, SnapshotCache._settle, SnapshotCache._read
    read_back: list[tuple[date, int]] = []

    def watched(self, as_of, frame, *args):
        held_while_building.append(set(self._frames))
        return finish(self, as_of, frame, *args)

    def settling(self, pending):
        as_of = next(iter(pending))
        settled[as_of] = pending[as_of][0].result() is not None
        return settle(self, pending)

    def reading(self, as_of):
        read_back.append((as_of, len(self._frames)))
        return read(self, as_of)

    monkeypatch.setattr(SnapshotCache, "_finish", watched)
    monkeypatch.setattr(SnapshotCache, "_settle", settling)
    monkeypatch.setattr(SnapshotCache, "_read", reading)
    cache.prefetch(DATES)
    assert len(held_while_building) == len(DATES)
    # no date is held while a later one builds: each is let go once written (its
    # future, pending until the next date is built, holds no snapshot), but the last
    assert settled == {as_of: as_of == DATES[-1] for as_of in DATES}
    assert held_while_building == [set()] * len(DATES)
    # and the other date that stays is read back once the build is done, beside the last
    assert read_back == [(DATES[-2], 1)]
    assert list(cache._frames) == DATES[-2:]  # in the order they were made
    assert sorted(p.stem for p in (tmp_path / "snaps").glob(f"*/*{SUFFIX}")) == [
        d.isoformat() for d in DATES
    ]

    # every date on disk: a new cache reads back the two that stay, not all four
    reads: list[date] = []
    held_while_reading: list[int] = []

    def counted(self, as_of):
        reads.append(as_of)
        held_while_reading.append(len(self._frames))
        return read(self, as_of)

    monkeypatch.setattr(SnapshotCache, "_read", counted)
    again = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    again.prefetch(DATES)
    assert reads == DATES[-2:]
    for as_of in DATES[-2:]:
        pd.testing.assert_frame_equal(again(as_of), cache(as_of))
    assert list(again(DATES[0]).columns) == list(cache(DATES[-1]).columns)  # read when asked
    assert reads == [*DATES[-2:], DATES[0]]
    # the date a read pushes out goes first: one kept beside the one being read
    assert held_while_reading == [0, 1, 1]


def test_a_date_that_stays_but_cannot_be_written_is_held_not_lost(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = trained_world

    def full(self, as_of, frame):
        raise OSError("No space left on device")

    monkeypatch.setattr(SnapshotCache, "_write", full)
    cache = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    cache.prefetch(DATES)
    assert list(cache._frames) == DATES[-2:]  # held, since they cannot be read back
    assert not list((tmp_path / "snaps").glob(f"*/*{SUFFIX}"))
    monkeypatch.undo()
    fresh = SnapshotCache(w.store, w.criteria, tmp_path / "other")
    for as_of in DATES[-2:]:
        pd.testing.assert_frame_equal(cache(as_of), fresh(as_of), check_exact=True)


def test_a_snapshot_written_and_read_back_in_slices_is_the_one_built_in_small_blocks(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = trained_world
    monkeypatch.setattr(SnapshotCache, "WRITE_ROWS", 97)
    built = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")(DATES[-1])
    [path] = (tmp_path / "snaps").glob(f"*/*{SUFFIX}")
    with pa.OSFile(str(path)) as source:
        batches = pa.ipc.open_file(source).num_record_batches
    assert batches == -(-len(built) // 97) > 3
    monkeypatch.setattr(SnapshotCache, "READ_COLUMNS", 7)
    back = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")(DATES[-1])
    assert built.shape[1] > 7 * 3  # several slices
    pd.testing.assert_frame_equal(back, built, check_exact=True)
    # the categoricals keep their categories (those no row of a slice uses too)
    categorical = built.select_dtypes("category").columns
    assert len(categorical) >= 3
    for column in categorical:
        assert back[column].dtype == built[column].dtype
    # a round's two quality columns hold their slices' blocks, not every float column
    mgr = back._mgr
    held = {mgr.blknos[back.columns.get_loc(c)] for c in (SCORE_COLUMN, ESTIMATE_COLUMN)}
    assert sum(len(mgr.blocks[b].mgr_locs) for b in held) <= 2 * 7
    assert back.select_dtypes("float64").shape[1] > 2 * 7
    # and training's `reset_index` finds few enough blocks to warn of no fragmentation
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        back.reset_index()


def test_snapshots_too_large_for_the_budget_are_held_one_at_a_time_and_not_overlapped(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import discovery.snapshots as snapshots_module

    w = trained_world
    roomy = SnapshotCache(w.store, w.criteria, tmp_path / "roomy")
    roomy.prefetch(DATES)
    assert roomy.keep == 2 and roomy.overlap  # a test world's snapshots are small
    tight = SnapshotCache(w.store, w.criteria, tmp_path / "tight")
    tight.budget = 1  # no snapshot fits: as a national one on a small machine
    events: list[tuple[str, date, int]] = []
    iterate, finish = snapshots_module.features.iter_features_at, SnapshotCache._finish

    def built(*args, **kwargs):
        for as_of, table in iterate(*args, **kwargs):
            events.append(("built", as_of, len(tight._frames)))
            yield as_of, table

    def watched(self, as_of, frame, threads, *args):
        events.append(("estimate", as_of, threads or 0))
        out = finish(self, as_of, frame, threads, *args)
        events.append(("written", as_of, len(self._frames)))
        return out

    monkeypatch.setattr(snapshots_module.features, "iter_features_at", built)
    monkeypatch.setattr(SnapshotCache, "_finish", watched)
    tight.prefetch(DATES)
    assert (tight.keep, tight.overlap) == (1, False)
    # each date is estimated and written before the next is built, with every core
    # (None: LightGBM's default), and nothing else is held meanwhile
    assert [(kind, as_of) for kind, as_of, _ in events] == [
        (kind, as_of) for as_of in DATES for kind in ("built", "estimate", "written")
    ]
    assert [n for kind, _, n in events if kind != "estimate"] == [0] * (2 * len(DATES))
    assert {n for kind, _, n in events if kind == "estimate"} == {0}
    assert list(tight._frames) == DATES[-1:]
    # the same snapshots as when memory is plenty
    for as_of in DATES:
        pd.testing.assert_frame_equal(tight(as_of), roomy(as_of), check_exact=True)
        assert len(tight._frames) == 1


def test_a_few_columns_of_a_date_on_disk_are_read_alone_and_equal_the_snapshots(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = trained_world
    cache = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    cache.prefetch(DATES)
    whole = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")(DATES[0])  # read back whole
    statuses = [c for c in whole.columns if c.startswith("std_")][:3]
    wanted = [statuses[2], "not_a_column", statuses[0]]
    read, reads = SnapshotCache._read, []

    def counted(self, as_of, only=None):
        reads.append((as_of, only))
        return read(self, as_of, only)

    monkeypatch.setattr(SnapshotCache, "_read", counted)
    fresh = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    part = fresh.columns(DATES[0], wanted)
    # only those columns, in the order asked, the unknown one left out, read from the file
    assert reads == [(DATES[0], wanted)]
    assert not fresh._frames  # a few columns are not a snapshot kept
    pd.testing.assert_frame_equal(part, whole[[statuses[2], statuses[0]]], check_exact=True)
    # a date held in memory answers from memory, with the same values
    held = cache.columns(DATES[-1], wanted)
    assert len(reads) == 1
    pd.testing.assert_frame_equal(held, cache(DATES[-1])[[statuses[2], statuses[0]]])


def test_a_damaged_snapshot_on_disk_is_built_again_not_fatal(
    trained_world: TrainedWorld, tmp_path: Path
) -> None:
    w = trained_world
    built = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")(DATES[-1])
    [path] = (tmp_path / "snaps").glob(f"*/*{SUFFIX}")
    whole = path.read_bytes()
    # cut short, as by a failing disk; then a message in the middle overwritten
    for damaged in (whole[:1000], whole[:4096] + b"\xff" * 4096 + whole[8192:]):
        path.write_bytes(damaged)
        again = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
        pd.testing.assert_frame_equal(again(DATES[-1]), built, check_exact=True)
    # a readable file whose category index points past its categories
    path.write_bytes(with_index_out_of_range(whole))
    again = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    pd.testing.assert_frame_equal(again(DATES[-1]), built, check_exact=True)
    # and written whole again, so the next reader finds it
    fresh = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    assert fresh._read(DATES[-1]) is not None


def with_index_out_of_range(snapshot: bytes) -> bytes:
    """`snapshot` (an Arrow IPC file) with its first categorical's first known index set past
    the end of its categories."""
    table = pa.ipc.open_file(pa.BufferReader(snapshot)).read_all()
    i = next(i for i, f in enumerate(table.schema) if pa.types.is_dictionary(f.type))
    column = table.column(i).combine_chunks()
    missing = column.indices.is_null().to_numpy(zero_copy_only=False)
    indices = pc.fill_null(column.indices, 0).to_numpy(zero_copy_only=False).copy()
    indices[np.flatnonzero(~missing)[0]] = len(column.dictionary) + 5
    damaged = pa.DictionaryArray.from_arrays(
        pa.array(indices, column.indices.type, mask=missing),
        column.dictionary,
        ordered=column.type.ordered,
        safe=False,
    )
    table = table.set_column(i, table.schema.field(i), damaged)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_the_last_date_may_finish_beside_the_caller_and_lands_when_asked(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    w = trained_world
    reference = SnapshotCache(w.store, w.criteria, tmp_path / "reference")
    reference.prefetch(DATES)
    finish = SnapshotCache._finish
    release = threading.Event()
    finishing: list[tuple[date, str]] = []

    def held_back(self, as_of, frame, *args):
        finishing.append((as_of, threading.current_thread().name))
        if as_of == DATES[-1]:
            assert release.wait(60), "the caller never let the last date finish"
        return finish(self, as_of, frame, *args)

    monkeypatch.setattr(SnapshotCache, "_finish", held_back)
    cache = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    # returns while the last date's estimate is still held back in its thread
    cache.prefetch(DATES, behind=[DATES[-1]])
    assert list(cache._inflight) == [DATES[-1]]
    assert DATES[-1] not in cache._frames
    # the earlier dates are there meanwhile, the same as without waiting
    pd.testing.assert_frame_equal(cache(DATES[0]), reference(DATES[0]), check_exact=True)
    release.set()
    # asked for, the last date lands: the frame a cache that waited has, and on disk
    pd.testing.assert_frame_equal(cache(DATES[-1]), reference(DATES[-1]), check_exact=True)
    assert not cache._inflight
    assert (next((tmp_path / "snaps").iterdir()) / f"{DATES[-1]}{SUFFIX}").is_file()
    assert all(name.startswith("estimate") for _, name in finishing)

    # a few columns of it land it too; without room for one snapshot more, nothing waits
    release.clear()
    again = SnapshotCache(w.store, w.criteria, tmp_path / "again")
    again.prefetch(DATES, behind=[DATES[-1]])
    release.set()
    part = again.columns(DATES[-1], [SCORE_COLUMN, ESTIMATE_COLUMN])
    pd.testing.assert_frame_equal(part, reference(DATES[-1])[[SCORE_COLUMN, ESTIMATE_COLUMN]])
    assert not again._inflight
    tight = SnapshotCache(w.store, w.criteria, tmp_path / "tight")
    tight.budget = 2 * 10**6  # not one snapshot more than the two it keeps
    tight.prefetch(DATES, behind=[DATES[-1]])
    assert not tight._inflight and DATES[-1] in tight._frames


def test_a_new_build_waits_for_the_date_still_finishing(
    trained_world: TrainedWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    w = trained_world
    finish = SnapshotCache._finish
    release = threading.Event()
    events: list[tuple[str, date]] = []

    def ordered(self, as_of, frame, *args):
        events.append(("start", as_of))
        if as_of == DATES[1]:  # held back a while: long enough for a build to overtake it
            assert release.wait(60)
        try:
            return finish(self, as_of, frame, *args)
        finally:
            events.append(("end", as_of))

    monkeypatch.setattr(SnapshotCache, "_finish", ordered)
    cache = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    cache.prefetch(DATES[:2], behind=[DATES[1]])
    assert list(cache._inflight) == [DATES[1]]
    threading.Timer(3.0, release.set).start()
    cache.prefetch(DATES[2:])  # lands the date in flight before it builds
    assert not cache._inflight
    # the date in flight finished before the new build's first date began to finish
    assert events.index(("end", DATES[1])) < events.index(("start", DATES[2]))
    assert DATES[1] in cache._frames or cache(DATES[1]) is not None


def test_a_date_that_fails_while_finishing_behind_is_logged_and_raises_when_asked(
    trained_world: TrainedWorld,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    w = trained_world
    finish = SnapshotCache._finish

    def failing(self, as_of, frame, *args):
        if as_of == DATES[-1]:
            raise MemoryError("the estimate ran out of memory")
        return finish(self, as_of, frame, *args)

    monkeypatch.setattr(SnapshotCache, "_finish", failing)
    cache = SnapshotCache(w.store, w.criteria, tmp_path / "snaps")
    import time

    def said() -> bool:
        return any(
            str(DATES[-1]) in r.getMessage() and "out of memory" in r.getMessage()
            for r in caplog.records
        )

    with caplog.at_level("WARNING", logger="discovery.snapshots"):
        cache.prefetch(DATES, behind=[DATES[-1]])
        # logged by the finishing thread as it fails, before anybody asks for the date
        deadline = time.monotonic() + 60
        while not said() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert said()
    with pytest.raises(MemoryError, match="out of memory"):
        cache(DATES[-1])
    assert not cache._inflight
    monkeypatch.undo()
    assert ESTIMATE_COLUMN in cache(DATES[-1])  # asked again: built again
