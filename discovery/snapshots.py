"""Feature snapshots per date, kept in memory and (optionally) on disk.

Training needs the snapshots of up to five past dates and ranking the one of today;
each CLI call is its own process, so without a disk cache every call would
rebuild them. A cached snapshot is keyed by everything it depends on: the
store's content fingerprint, the criteria version and the code that computes
features, so a new load, new criteria or new code never reads a stale one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from functools import cache, partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import features
from discovery import model, quality
from discovery.criteria import Criteria
from discovery.model import add_estimate, threshold_specs
from features.history import History
from features.memory import machine_memory, release_memory
from graph.settings import Settings
from graph.store import Store


@cache
def code_fingerprint() -> str:
    """A digest of the source of the feature families and of the snapshot code."""
    digest = hashlib.sha256()
    paths = sorted(Path(features.__file__).parent.glob("*.py"))
    for path in [*paths, Path(quality.__file__), Path(model.__file__)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


log = logging.getLogger(__name__)


def _report(as_of: date, future: Future[pd.DataFrame | None]) -> None:
    """Log the failure of a date finished behind its caller (it raises when asked for)."""
    error = None if future.cancelled() else future.exception()
    if error is not None:
        log.warning("feature snapshot of %s failed while finishing: %s", as_of, error)


#: snapshots on disk are Arrow IPC files, uncompressed: read back by mapping the file,
#: in a third of a Parquet file's time (0.65 against 2.2 s at a million companies), and
#: a few columns in a tenth of a second; they take about 1 GB per million companies
#: and date, three times Parquet's
SUFFIX = ".arrow"


class SnapshotCache:
    """Feature snapshots per date; shared by every tier trained or ranked with it.

    At most `keep` snapshots stay in memory (the oldest made leaves first): by default
    `KEEP_WITH_DISK` when the disk holds every date of the current data (a snapshot of
    a million companies is about a gigabyte in memory, and reads back in a second or
    two), `KEEP_IN_MEMORY` when there is no disk. A date about to be read or built
    pushes the oldest out first, so memory never holds more than `keep` snapshots
    beside the one being made (and, while many are built, the one being finished).
    Safe to call from several threads: one builds, the others wait for its result.
    """

    KEEP_WITH_DISK = 2
    KEEP_IN_MEMORY = 8
    #: with a disk, the snapshots held in memory at once (kept, being finished) take at
    #: most this share of the machine's memory (`features.memory.machine_memory`): a
    #: national snapshot is gigabytes, so fewer are kept, down to one, and the build of
    #: the next date waits for the estimate of the last instead of running beside it
    MEMORY_SHARE = 0.25
    #: columns read back at a time (see `_read`)
    READ_COLUMNS = 30
    #: rows converted to Arrow and written at a time: a snapshot converted whole is a
    #: second copy of it (1.2 GB at a million companies), made while the next date builds
    WRITE_ROWS = 65_536

    def __init__(
        self,
        store: Store,
        criteria: Criteria,
        directory: Path | None = None,
        keep: int | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.store = store
        #: the workspace's settings (the feature engine); None: the environment's
        self.settings = settings
        self.criteria = criteria
        self.directory = Path(directory) if directory else None
        if keep is None:
            keep = self.KEEP_WITH_DISK if self.directory else self.KEEP_IN_MEMORY
        #: the snapshots asked to stay in memory; `keep` is fewer once they prove large
        self.asked = self.keep = max(keep, 1)
        #: whether a date's estimate may run beside the build of the next one
        self.overlap = True
        #: bytes the snapshots held in memory may take (with a disk; see MEMORY_SHARE)
        self.budget = int(machine_memory() * self.MEMORY_SHARE)
        self._frames: dict[date, pd.DataFrame] = {}
        #: dates whose estimate and write still run after `prefetch` returned (`behind`)
        self._inflight: dict[date, Future[pd.DataFrame | None]] = {}
        #: a snapshot's bytes in memory, once one was made or read (0: none yet)
        self._bytes = 0
        self._key: str | None = None
        self._lock = threading.RLock()

    def _folder(self) -> Path:
        assert self.directory is not None
        if self._key is None:
            self._key = f"{self.store.fingerprint()}-{self.criteria.version}-{code_fingerprint()}"
        return self.directory / self._key

    def __call__(self, as_of: date) -> pd.DataFrame:
        frame = self._frames.get(as_of)
        if frame is None:
            with self._lock:
                self.prefetch([as_of])
                frame = self._frames[as_of]
        return frame

    def columns(self, as_of: date, names: list[str]) -> pd.DataFrame:
        """The columns `names` of the snapshot of `as_of` (those it has), every company's
        rows: from memory when the date is held, else only those columns read from disk
        (a tenth of a snapshot's read for the standard check's few status columns), the
        whole date made and kept as `__call__` does when it is not on disk either."""
        frame = self._frames.get(as_of)
        if frame is None:
            with self._lock:
                self._land([as_of])
                frame = self._frames.get(as_of)
                if frame is None:
                    part = self._read(as_of, names)
                    if part is not None:
                        return part
                    self.prefetch([as_of])
                    frame = self._frames[as_of]
        return frame[[c for c in names if c in frame.columns]]

    def _keep(self, as_of: date, frame: pd.DataFrame) -> None:
        self._frames[as_of] = frame
        self._size(frame)
        self._make_room(0)

    def _size(self, frame: pd.DataFrame) -> None:
        """Fit `keep` and `overlap` to a snapshot's size: with a disk (where a date let go
        is read back, not rebuilt), at most `budget` bytes of snapshots are held at once."""
        if self.directory is None:
            return
        size = max(int(frame.memory_usage(index=True, deep=False).sum()), 1)
        self._bytes = size
        self.keep = max(1, min(self.asked, self.budget // size))
        self.overlap = 2 * size <= self.budget

    def _make_room(self, coming: int) -> None:
        """Let the oldest dates go until `coming` more fit within `keep`."""
        while self._frames and len(self._frames) + coming > self.keep:
            self._frames.pop(next(iter(self._frames)))

    def prefetch(
        self,
        dates: Iterable[date],
        progress: Callable[[str, int, int], None] | None = None,
        behind: Collection[date] = (),
    ) -> None:
        """Make the snapshots of `dates` ready, overlapping the two halves of each.

        Features are built date after date in this thread (all from one read of the
        store) while a second thread adds
        the quality estimate (LightGBM, which releases the GIL) to the previous date
        and writes it to disk, so the two cores work at once without a second copy of
        the store in memory.

        A date of `behind` built last may still be finished (estimated and written) when
        this returns, so the caller works beside its estimate until it asks for that
        date, which then waits for it; only when a snapshot more than the cache keeps
        fits its memory budget.
        """
        with self._lock:
            self._prefetch(list(dict.fromkeys(dates)), progress, set(behind))

    def _land(self, dates: Iterable[date] | None = None) -> None:
        """Wait for the in-flight dates among `dates` (all: None) and keep them."""
        for as_of in list(self._inflight) if dates is None else list(dates):
            future = self._inflight.pop(as_of, None)
            if future is not None:
                frame = future.result()  # raises what the estimate raised
                if frame is not None:
                    self._keep(as_of, frame)
                del frame

    def _prefetch(
        self,
        dates: list[date],
        progress: Callable[[str, int, int], None] | None,
        behind: Collection[date] = (),
    ) -> None:
        self._land(dates)
        todo: list[date] = []
        found: list[date] = []
        for as_of in dates:
            if as_of not in self._frames:
                (found if self._path(as_of).is_file() else todo).append(as_of)
        # the dates on disk are read now only if they stay in memory beside those to build
        room = self.keep - min(len(todo), self.keep)
        for as_of in found[max(len(found) - room, 0) :]:
            self._make_room(1)  # the date it pushes out goes before it is read, not after
            frame = self._read(as_of)
            if frame is None:  # gone since: built instead
                todo.append(as_of)
            else:
                self._keep(as_of, frame)
            del frame
        if not todo:
            return
        self._land()  # a date still finishing does not run beside a new build
        # Only the last `keep` dates built stay in memory (the others would leave as the
        # later ones come in, and with a disk they are read back when asked for); the
        # dates those push out leave before the build instead of after it. With a disk
        # the dates that stay are read back once the last is built, so the build holds
        # the date being built and the one being finished; without, the dates that stay.
        held = min(len(todo), self.keep)
        self._make_room(held)
        pending: dict[date, tuple[Future[pd.DataFrame | None], bool]] = {}
        later: list[date] = []  # dates that stay, written and let go, to read back
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="estimate")
        try:
            # every date from one read of the store (let go once they are built)
            # the coded store kept beside the snapshots for the next process (the other
            # tier's training reaches dates this one did not); not named here, so it
            # goes with the generator
            built = features.iter_features_at(
                self.store,
                todo,
                threshold_specs(self.criteria),
                history=History(self.store, max(todo), self._folder() if self.directory else None),
                settings=self.settings,
                busy_between=self.overlap,  # the estimate of each date beside the next build
            )
            for i, as_of in enumerate(todo):
                if progress:
                    progress(f"features {as_of}", i, len(todo))
                _, table = next(built)
                if i == len(todo) - 1:
                    built.close()  # the coded store goes before the last estimate is made
                # the key becomes the index (pandas copies no column either way)
                table.index = pd.Index(table.pop("uscc").astype("str"), name="uscc")
                self._size(table)
                held = min(held, self.keep)  # fewer stay once the snapshots prove large
                # one thread while the other core builds the next date's features
                last = i == len(todo) - 1
                threads = 1 if not last and self.overlap else None
                stays = i >= len(todo) - held
                # with a disk, a date that stays but is not the last is let go once
                # written and read back after the build: held, it sat beside the build
                # of every later date, the build's peak (2.9 GB at 3,000,000 companies)
                hold = stays and (last or self.directory is None)
                future = pool.submit(self._finish, as_of, table, threads, hold, stays)
                pending[as_of] = (future, hold)
                if stays and not hold:
                    later.append(as_of)
                del table, future
                # the date before is kept (or let go) as soon as it is finished, so at
                # most two built dates are held here beside the ones the cache keeps;
                # one, when two snapshots would not fit the budget
                while len(pending) > (1 if self.overlap else 0):
                    self._settle(pending)
                # room for the dates still to stay (pending or to come), within `keep`
                coming = sum(holds for _, holds in pending.values())
                self._make_room(coming + max(0, min(held, len(todo) - 1 - i)))
            final = todo[-1]
            # the last date finished beside the caller's work, when one snapshot more
            # than the cache keeps fits the budget (it lands when asked for)
            deferred = (
                final in behind
                and final in pending
                and self.directory is not None
                and self._bytes * (self.keep + 1) <= self.budget
            )
            while len(pending) > (1 if deferred else 0):
                self._settle(pending)
            if deferred:
                self._inflight[final] = pending.pop(final)[0]
                # said at once if it fails: it raises only when the date is asked for
                self._inflight[final].add_done_callback(partial(_report, final))
        finally:
            pool.shutdown(wait=not self._inflight)
        # the dates that stay and were let go, read back (one whose write failed is held)
        for as_of in later:
            if as_of not in self._frames:
                self._make_room(1)
                frame = self._read(as_of)
                if frame is not None:
                    self._keep(as_of, frame)
                del frame
        for as_of in todo:  # in the order they were made: the oldest made leaves first
            if as_of in self._frames:
                self._frames[as_of] = self._frames.pop(as_of)

    def _settle(self, pending: dict[date, tuple[Future[pd.DataFrame | None], bool]]) -> None:
        """The oldest pending date finished, and kept if its `_finish` returned it."""
        as_of = next(iter(pending))
        future, _ = pending.pop(as_of)
        frame = future.result()  # raises what the estimate raised
        if frame is not None:
            self._keep(as_of, frame)

    def _finish(
        self,
        as_of: date,
        frame: pd.DataFrame,
        threads: int | None,
        hold: bool = True,
        stays: bool = True,
    ) -> pd.DataFrame | None:
        """The snapshot with its quality estimate, written to disk; returned if it is to
        be held (`hold`), or if it `stays` and could not be written.

        A date not held is let go here, as soon as it is written: its future is settled
        only once the next date is built, and held the whole snapshot until then (at
        3,000,000 companies 2.9 GB beside that build, at the driver's peak)."""
        frame = add_estimate(frame, self.criteria, threads)
        written = False
        if self.directory:
            try:
                self._write(as_of, frame)
                written = True
            except OSError as exc:  # a read-only or full disk costs speed, not the answer
                log.warning("feature snapshot of %s not kept on disk: %s", as_of, exc)
        kept = frame if hold or (stays and not written) else None
        del frame
        release_memory()  # in this thread, whose allocations Arrow made for the write
        return kept

    def _path(self, as_of: date) -> Path:
        """Where the snapshot of `as_of` is kept (a path that never exists without a disk)."""
        if self.directory is None:
            return Path(os.devnull) / as_of.isoformat()
        return self._folder() / f"{as_of.isoformat()}{SUFFIX}"

    def _read(self, as_of: date, only: list[str] | None = None) -> pd.DataFrame | None:
        """The snapshot of `as_of` from disk, `READ_COLUMNS` columns at a time (None if
        absent); with `only`, just those of its columns.

        A slice's columns of one type share a block, so a few columns taken from the
        snapshot (a round's quality scores) hold their slice's block, not one block of
        every float column (and the frame has few enough blocks for pandas to insert a
        column without copying them all).
        """
        path = str(self._path(as_of))
        try:
            return self._read_file(path, only)
        except FileNotFoundError:
            return None
        # damaged on disk (cut short, overwritten, a category's index out of its
        # range): built again, not fatal. Arrow's errors are OSError or its own.
        except (pa.ArrowException, OSError) as exc:
            log.warning("feature snapshot of %s unreadable, built again: %s", as_of, exc)
            return None

    def _read_file(self, path: str, only: list[str] | None) -> pd.DataFrame:
        with pa.memory_map(path) as source:
            schema = pa.ipc.open_file(source).schema
        meta = schema.pandas_metadata or {}
        index = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
        keys = set(index)
        names = [n for n in schema.names if n not in keys]
        if only is not None:
            present = set(names)
            names = [n for n in only if n in present]
        parts: list[pd.DataFrame] = []
        for start in range(0, max(len(names), 1), self.READ_COLUMNS):
            columns = names[start : start + self.READ_COLUMNS]
            # the file is mapped for one slice and let go: what `to_pandas` does not copy
            # (the keys' text) would otherwise hold every page read in memory
            with pa.memory_map(path) as source:
                table = pa.ipc.open_file(source).read_all()
                if parts:  # the keys are the first slice's
                    parts.append(table.select(columns).to_pandas())
                    parts[-1].index = parts[0].index
                else:
                    table = table.select([*index, *columns])
                    for i, key in enumerate(index):  # copied out of the mapped file
                        rows = pa.array(np.arange(len(table)))
                        table = table.set_column(i, key, pc.take(table.column(key), rows))
                    parts.append(table.to_pandas())
                del table
            release_memory()  # what the slice's conversion allocated and let go
        return parts[0] if len(parts) == 1 else pd.concat(parts, axis=1)

    def _write(self, as_of: date, frame: pd.DataFrame) -> None:
        folder = self._folder()
        folder.mkdir(parents=True, exist_ok=True)
        # snapshots of older data or code are never read again
        for other in self.directory.iterdir() if self.directory else ():
            if other.is_dir() and other != folder:
                shutil.rmtree(other, ignore_errors=True)
        path = folder / f"{as_of.isoformat()}{SUFFIX}"
        tmp = folder / f".{as_of.isoformat()}.{os.getpid()}.tmp"
        # `WRITE_ROWS` rows at a time, one record batch each, all with the first slice's
        # schema (a categorical keeps its categories in every slice, so they agree)
        step = self.WRITE_ROWS
        schema = pa.Schema.from_pandas(frame.iloc[:step], preserve_index=True)
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            for start in range(0, max(len(frame), 1), step):
                rows = frame.iloc[start : start + step]
                writer.write_table(pa.Table.from_pandas(rows, schema=schema, preserve_index=True))
                del rows
        os.replace(tmp, path)
