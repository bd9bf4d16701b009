"""The embedded store: contract tables as Parquet files under the state directory.

Each load writes a complete new version beside the current one and switches the
`CURRENT` pointer only when every file is on disk, so an interrupted or refused
load leaves the store exactly as it was. Reads are point-in-time filters over
in-memory frames.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from graph.contract import TABLES
from graph.fsutil import (
    atomic_write_text,
    exclusive_lock,
    fsync_dir,
    fsync_tree,
    remove_staging,
)
from graph.store import LoadResult, Progress, Store, frame_fingerprint, known_at, table_of, upsert
from graph.validation import Batch, conform

KEEP_VERSIONS = 3
#: the version of a store that has never been loaded
EMPTY_VERSION = "v000000"


class EmbeddedStore(Store):
    kind = "embedded"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}

    # -- layout -------------------------------------------------------------------------
    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    def current_version(self) -> str | None:
        pointer = self.root / "CURRENT"
        if not pointer.exists():
            return None
        return pointer.read_text(encoding="utf-8").strip() or None

    def manifest(self) -> dict:
        version = self.current_version()
        if version is None:
            return {"version": None, "tables": {}, "fingerprints": {}}
        path = self.versions_dir / version / "manifest.json"
        return json.loads(path.read_text(encoding="utf-8"))

    # -- reads --------------------------------------------------------------------------
    def _full(self, name: str, keep: bool = True) -> pd.DataFrame:
        table = table_of(name)
        version = self.current_version()
        if version is None:
            return conform(table, pd.DataFrame(columns=table.column_names))
        key = (version, name)
        frame = self._cache.get(key)
        if frame is None:
            path = self.versions_dir / version / f"{name}.parquet"
            if path.exists():
                frame = conform(table, pd.read_parquet(path))
            else:
                frame = conform(table, pd.DataFrame(columns=table.column_names))
            # keep only the current version's frames in memory
            self._cache = {k: v for k, v in self._cache.items() if k[0] == version}
            if keep:
                self._cache[key] = frame
        return frame

    def read(self, table: str, as_of: date | None = None) -> pd.DataFrame:
        return known_at(table_of(table), self._full(table), as_of)

    def read_where(
        self, table: str, column: str, values: Iterable[str], as_of: date | None = None
    ) -> pd.DataFrame:
        # a table held already is filtered in memory; otherwise only the matching rows are
        # read from the file (Arrow filters each row group as it decodes it), so a few
        # companies' facts do not bring a national table into memory
        contract = table_of(table)
        contract.column(column)  # a column the table has
        version = self.current_version()
        path = self.versions_dir / str(version) / f"{table}.parquet"
        if version is None or (version, table) in self._cache or not path.exists():
            return super().read_where(table, column, values, as_of)
        wanted = sorted({str(v) for v in values if isinstance(v, str)})
        if wanted:
            frame = pd.read_parquet(path, filters=[(column, "in", wanted)])
        else:
            frame = pd.DataFrame(columns=contract.column_names)
        return known_at(contract, conform(contract, frame), as_of)

    def read_once(self, table: str, as_of: date | None = None) -> pd.DataFrame:
        # a table held already is shared; one read for a feature history is not kept
        # (at a million companies the tables' text alone is about 1.5 GB)
        return known_at(table_of(table), self._full(table, keep=False), as_of)

    def counts(self) -> dict[str, int]:
        held = self.manifest().get("tables", {})
        return {name: int(held.get(name, 0)) for name in TABLES}

    def fingerprint(self) -> str:
        return self.manifest().get("fingerprint") or super().fingerprint()

    def version(self) -> str:
        """The current version id (`v000003`); `v000000` before the first load.

        A load that changes content writes a new version; one that changes nothing,
        or stops midway, keeps the current one.
        """
        return self.current_version() or EMPTY_VERSION

    def describe(self) -> dict:
        return {**super().describe(), "version": self.current_version(), "path": str(self.root)}

    # -- loads --------------------------------------------------------------------------
    def load(self, batch: Batch, progress: Progress | None = None) -> LoadResult:
        with exclusive_lock(self.root / "load.lock"):
            return self._load_locked(batch, progress)

    def _load_locked(self, batch: Batch, progress: Progress | None) -> LoadResult:
        self._remove_leftovers()
        before = self.counts()
        old = self.manifest()
        merged: dict[str, pd.DataFrame] = {}
        fingerprints = dict(old.get("fingerprints", {}))
        total = len(batch.tables)
        for i, (name, tb) in enumerate(batch.tables.items()):
            if progress:
                progress(f"merge {name}", i, total)
            table = TABLES[name]
            stored = self._full(name) if before[name] else None
            frame = upsert(table, stored, tb.frame)
            fp = (
                tb.fingerprint if frame is tb.frame and tb.fingerprint else frame_fingerprint(frame)
            )
            if fp != fingerprints.get(name):
                merged[name] = frame
                fingerprints[name] = fp
        if not merged:
            return LoadResult(before, before, False, old.get("version"))

        previous = old.get("version")
        version = self._next_version(previous)
        staging = self.versions_dir / f".staging-{version}-{os.getpid()}"
        staging.mkdir(parents=True)
        for name in TABLES:
            target = staging / f"{name}.parquet"
            if name in merged:
                merged[name].to_parquet(target, index=False)
            elif previous and (self.versions_dir / previous / f"{name}.parquet").exists():
                # unchanged tables are shared with the previous version, not copied
                os.link(self.versions_dir / previous / f"{name}.parquet", target)
        after = {**before, **{name: len(frame) for name, frame in merged.items()}}
        combined = frame_fingerprint(
            pd.DataFrame({"fp": [fingerprints.get(n, "") for n in TABLES]})
        )
        manifest = {
            "version": version,
            "previous": previous,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": str(batch.directory),
            "tables": after,
            "fingerprints": fingerprints,
            "fingerprint": combined,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        fsync_tree(staging)
        final = self.versions_dir / version
        os.replace(staging, final)
        fsync_dir(self.versions_dir)
        atomic_write_text(self.root / "CURRENT", version + "\n")
        self._prune(keep=version)
        return LoadResult(before, after, True, version)

    def _next_version(self, previous: str | None) -> str:
        number = int(previous[1:]) + 1 if previous else 1
        return f"v{number:06d}"

    def _remove_leftovers(self) -> None:
        """Remove what an interrupted load left (called under the load lock).

        Staging folders, and versions newer than the one `CURRENT` names: a load that
        died after renaming its version into place but before moving the pointer left
        one, never read, and the next load must be free to write that number again.
        """
        if not self.versions_dir.exists():
            return
        remove_staging(self.versions_dir)
        current = int((self.current_version() or EMPTY_VERSION)[1:])
        for item in self.versions_dir.glob("v*"):
            if item.name[1:].isdigit() and int(item.name[1:]) > current:
                shutil.rmtree(item)

    def _prune(self, keep: str) -> None:
        versions = sorted(p.name for p in self.versions_dir.iterdir() if p.name.startswith("v"))
        for name in versions[:-KEEP_VERSIONS]:
            if name != keep:
                shutil.rmtree(self.versions_dir / name, ignore_errors=True)
