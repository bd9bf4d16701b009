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
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd

import features
from discovery import model, quality
from discovery.criteria import Criteria
from discovery.model import add_estimate, threshold_specs
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


class SnapshotCache:
    """Feature snapshots per date; shared by every tier trained or ranked with it.

    At most `keep` snapshots stay in memory (the oldest made leaves first): by default
    `KEEP_WITH_DISK` when the disk holds every date of the current data (a snapshot of
    a million companies is about a gigabyte in memory, and reads back in a second or
    two), `KEEP_IN_MEMORY` when there is no disk. Safe to call from several threads:
    one builds, the others wait for its result.
    """

    KEEP_WITH_DISK = 2
    KEEP_IN_MEMORY = 8

    def __init__(
        self,
        store: Store,
        criteria: Criteria,
        directory: Path | None = None,
        keep: int | None = None,
    ) -> None:
        self.store = store
        self.criteria = criteria
        self.directory = Path(directory) if directory else None
        if keep is None:
            keep = self.KEEP_WITH_DISK if self.directory else self.KEEP_IN_MEMORY
        self.keep = max(keep, 1)
        self._frames: dict[date, pd.DataFrame] = {}
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

    def _keep(self, as_of: date, frame: pd.DataFrame) -> None:
        self._frames[as_of] = frame
        while len(self._frames) > self.keep:
            self._frames.pop(next(iter(self._frames)))

    def prefetch(
        self, dates: Iterable[date], progress: Callable[[str, int, int], None] | None = None
    ) -> None:
        """Make the snapshots of `dates` ready, overlapping the two halves of each.

        Features are built date after date in this thread (all from one read of the
        store) while a second thread adds
        the quality estimate (LightGBM, which releases the GIL) to the previous date
        and writes it to disk, so the two cores work at once without a second copy of
        the store in memory.
        """
        with self._lock:
            self._prefetch(list(dict.fromkeys(dates)), progress)

    def _prefetch(
        self, dates: list[date], progress: Callable[[str, int, int], None] | None
    ) -> None:
        todo = []
        for as_of in dates:
            if as_of in self._frames:
                continue
            frame = self._read(as_of) if self.directory else None
            if frame is None:
                todo.append(as_of)
            else:
                self._keep(as_of, frame)
        if not todo:
            return
        pending: dict[date, Future[pd.DataFrame]] = {}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="estimate") as pool:
            # every date from one read of the store (let go once they are built)
            built = features.iter_features_at(self.store, todo, threshold_specs(self.criteria))
            for i, as_of in enumerate(todo):
                if progress:
                    progress(f"features {as_of}", i, len(todo))
                _, table = next(built)
                frame = table.set_index(pd.Index(table["uscc"].astype("str"), name="uscc"))
                frame = frame.drop(columns=["uscc"])
                # one thread while the other core builds the next date's features
                threads = 1 if i < len(todo) - 1 else None
                pending[as_of] = pool.submit(self._finish, as_of, frame, threads)
                del frame, table
                # the date before is kept (or let go) as soon as it is finished, so at
                # most two built dates are held here beside the ones the cache keeps
                while len(pending) > 1:
                    done = next(iter(pending))
                    self._keep(done, pending.pop(done).result())
            for as_of, future in pending.items():
                self._keep(as_of, future.result())

    def _finish(self, as_of: date, frame: pd.DataFrame, threads: int | None) -> pd.DataFrame:
        frame = add_estimate(frame, self.criteria, threads)
        if self.directory:
            try:
                self._write(as_of, frame)
            except OSError as exc:  # a read-only or full disk costs speed, not the answer
                log.warning("feature snapshot of %s not kept on disk: %s", as_of, exc)
        return frame

    def _read(self, as_of: date) -> pd.DataFrame | None:
        path = self._folder() / f"{as_of.isoformat()}.parquet"
        if not path.is_file():
            return None
        return pd.read_parquet(path)

    def _write(self, as_of: date, frame: pd.DataFrame) -> None:
        folder = self._folder()
        folder.mkdir(parents=True, exist_ok=True)
        # snapshots of older data or code are never read again
        for other in self.directory.iterdir() if self.directory else ():
            if other.is_dir() and other != folder:
                shutil.rmtree(other, ignore_errors=True)
        path = folder / f"{as_of.isoformat()}.parquet"
        tmp = folder / f".{as_of.isoformat()}.{os.getpid()}.tmp"
        frame.to_parquet(tmp)
        os.replace(tmp, path)
