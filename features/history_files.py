"""A coded `History` kept on disk, so the next process reads it instead of coding it.

Each `discovery train` is a process of its own, and the little giants' rounds reach
dates the specialized SMEs' do not: without a copy on disk the second call reads and
codes the whole store again (10 to 17 s at a million companies). A copy is a folder
`history-<latest>` (`history-all` for every row) holding one uncompressed Arrow IPC
file per table, with every text column as integer codes: the credit codes into the
universe, which has a file of its own (`universe.arrow`), each other text column
into its categories, in a file beside it. A folder is written under a temporary name
and renamed, so an interrupted write leaves nothing that is read.

The copy is only as fresh as the folder it is kept in: its caller keys that folder on
the store's content and the feature code (`discovery.snapshots.SnapshotCache`).
A copy made at a later date answers an earlier one (`History.at` cuts it there).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.memory import release_memory
from graph.contract import TABLES

log = logging.getLogger(__name__)

PREFIX = "history-"
UNIVERSE = "universe.arrow"
#: a text column's categories: `<table>.<column>.categories.arrow`
CATEGORIES = ".categories.arrow"
#: the contract's kinds held as categoricals (`features.history._coded_tables`)
TEXT = ("uscc", "str", "enum")

Coded = tuple[dict[str, pd.DataFrame], pd.Index]


def _name(latest: date | None) -> str:
    return PREFIX + ("all" if latest is None else latest.isoformat())


def _latest_of(folder: Path) -> date | None:
    text = folder.name.removeprefix(PREFIX)
    return None if text == "all" else date.fromisoformat(text)


def find(directory: Path, latest: date | None) -> tuple[Coded, date | None] | None:
    """The coded tables kept in `directory` that answer for `latest` (a copy of every
    row, or of the earliest date not before it), with the copy's own date; None if
    none does or it cannot be read (it is then removed, and made again by the caller)."""
    if not directory.is_dir():
        return None
    answers: list[tuple[date, Path]] = []
    for folder in directory.glob(PREFIX + "*"):
        try:
            kept = _latest_of(folder)
        except ValueError:
            continue
        if kept is None or (latest is not None and kept >= latest):
            answers.append((kept or date.max, folder))
    if not answers:
        return None
    _, folder = min(answers)
    try:
        return _read(folder), _latest_of(folder)
    except (pa.ArrowException, OSError, KeyError, ValueError) as exc:
        log.warning("coded tables in %s unreadable, coded again: %s", folder, exc)
        shutil.rmtree(folder, ignore_errors=True)
        return None


def write(directory: Path, latest: date | None, coded: Coded) -> None:
    """Keep `coded` (the tables as known at `latest`) in `directory`; a disk that
    refuses costs the next process the coding, not this one its answer."""
    frames, universe = coded
    final = directory / _name(latest)
    if final.is_dir():
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # a name of its own for each writer, process or thread
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=directory))
    except OSError as exc:
        log.warning("coded tables not kept on disk in %s: %s", directory, exc)
        return
    try:
        _write_texts(tmp / UNIVERSE, universe)
        for name, table in TABLES.items():
            frame = frames[name]
            # text as integer codes (-1 for missing): the credit codes into the
            # universe, each other column into its categories, kept in a file of its
            # own; the other dtypes are restored from the pandas metadata Arrow keeps
            out = {}
            for col in table.columns:
                values = frame[col.name]
                if col.kind in TEXT:
                    out[col.name] = values.cat.codes.to_numpy(dtype=np.int32)
                    if col.kind != "uscc":
                        _write_texts(tmp / f"{name}.{col.name}{CATEGORIES}", values.cat.categories)
                else:
                    out[col.name] = values
            plain = pa.Table.from_pandas(pd.DataFrame(out, copy=False), preserve_index=False)
            _write_table(tmp / f"{name}.arrow", plain)
            del out, plain
        os.rename(tmp, final)
        _drop_answered(directory, latest)
    except OSError as exc:
        if not final.is_dir():  # not another process's copy, renamed there first
            log.warning("coded tables not kept on disk in %s: %s", directory, exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # left over by a failed write or a lost race
        release_memory()


def _drop_answered(directory: Path, latest: date | None) -> None:
    """Copies made at earlier dates, now answered by the one at `latest`, removed (a
    service ranking at new dates would otherwise keep one per date)."""
    for folder in directory.glob(PREFIX + "*"):
        try:
            kept = _latest_of(folder)
        except ValueError:
            continue
        if kept is not None and (latest is None or kept < latest):
            shutil.rmtree(folder, ignore_errors=True)


def _write_texts(path: Path, texts: pd.Index) -> None:
    _write_table(path, pa.table({"text": pa.array(texts, pa.large_string())}))


def _read_texts(path: Path) -> pd.CategoricalDtype:
    """Categories written by `_write_texts`, as the dtype of the columns coded into them
    (text kept in Arrow: a dictionary column of millions of rights converted to pandas
    makes Python strings of them, 1.7 s at a million companies)."""
    texts = _read_table(path).column("text").to_pandas()
    return pd.CategoricalDtype(pd.Index(texts, dtype="str").rename(None))


def _write_table(path: Path, table: pa.Table) -> None:
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_table(path: Path) -> pa.Table:
    # read into memory (not mapped): the frames live as long as the history
    with pa.OSFile(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def _read(folder: Path) -> Coded:
    universe = _read_texts(folder / UNIVERSE)  # one dtype: the universe checked once
    frames = {}
    for name, table in TABLES.items():
        frame = _read_table(folder / f"{name}.arrow").to_pandas()
        for col in table.columns:
            if col.kind in TEXT:
                categories = (
                    universe
                    if col.kind == "uscc"
                    else _read_texts(folder / f"{name}.{col.name}{CATEGORIES}")
                )
                frame[col.name] = _categorical(frame[col.name], categories, f"{name}.{col.name}")
        frames[name] = frame
    release_memory()
    return frames, universe.categories


def _categorical(codes: pd.Series, dtype: pd.CategoricalDtype, where: str) -> pd.Categorical:
    """A text column from its codes, which pandas checks to point into its categories
    (-1: missing): a copy damaged there would otherwise read as other companies' rows."""
    try:
        return pd.Categorical.from_codes(codes.to_numpy(), dtype=dtype)
    except ValueError as exc:
        raise ValueError(
            f"{where}: codes outside its {len(dtype.categories):,} values ({exc})"
        ) from exc
