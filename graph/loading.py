"""Ingest a data directory into a store: validate everything, write the rejects, load the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from graph.errors import DiscoveryError, UsageError, relabelled
from graph.store import LoadResult, Progress, Store
from graph.validation import REJECT_COLUMNS, Batch, read_directory


@dataclass
class IngestReport:
    batch: Batch
    result: LoadResult
    rejects_path: Path

    @property
    def loaded_rows(self) -> int:
        return sum(len(tb.frame) for tb in self.batch.tables.values())

    @property
    def rejected_rows(self) -> int:
        return sum(tb.rows_rejected for tb in self.batch.tables.values())

    def as_dict(self) -> dict:
        return {
            "directory": str(self.batch.directory),
            "tables": self.batch.summary(),
            "changed": self.result.changed,
            "version": self.result.version,
            "rows_after": self.result.after,
            "rejects": str(self.rejects_path),
        }


def ingest(
    directory: Path,
    store: Store,
    rejects_path: Path,
    on_table: Callable[[str], None] | None = None,
    progress: Progress | None = None,
    *,
    shown_as: str | None = None,
) -> IngestReport:
    """Validate `directory` and load its valid rows into `store`.

    A structural problem raises `ContractError` before anything is written, so
    the store and the previous rejects file stay as they were. With `shown_as`,
    errors name the directory by that label instead of its path ('' names files
    alone), so a server's temporary paths never reach the caller.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"The data directory {shown_as or directory} does not exist.")
    try:
        batch = read_directory(directory, progress=on_table)
    except DiscoveryError as exc:
        if shown_as is None:
            raise
        raise relabelled(exc, directory, shown_as) from None
    write_rejects(batch.rejects, rejects_path)
    result = store.load(batch, progress=progress)
    return IngestReport(batch, result, rejects_path)


def write_rejects(rejects: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rejects.reindex(columns=REJECT_COLUMNS).to_csv(path, index=False, encoding="utf-8")
