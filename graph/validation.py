"""Read a data directory and validate every row against the contract.

Structural problems (a missing required file or column, an unreadable file) raise
a `ContractError` before anything is returned, so a caller never stores half a
directory. Row problems never stop the read: each bad value becomes one rejects
row (`file, line, column, value, reason`) and the row is left out; every other
row is returned in canonical dtypes. All checks are column-wise (pandas), so a
file of ten million rows validates in seconds.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from graph import keys, uscc
from graph.contract import TABLES, Column, Table
from graph.digest import frame_fingerprint
from graph.errors import MissingColumnError, MissingTableError, UnreadableFileError
from graph.reading import read_raw

REJECT_COLUMNS = ["file", "line", "column", "value", "reason"]
#: the first data row is line 2 of a CSV file (the header is line 1); Parquet rows count the same way
FIRST_LINE = 2

_TRUE = {"true", "t", "1", "yes", "y", "是"}
_FALSE = {"false", "f", "0", "no", "n", "否"}
_DATE_SHAPE = r"\d{4}-\d{2}-\d{2}"


#: inputs at least this large (bytes, all files) are validated by one process per core
PARALLEL_FROM_BYTES = 64 * 2**20
#: a text value longer than this (characters) is rejected with its row
MAX_CELL_CHARS = 4000
#: characters a text value may not hold (tab, line breaks are allowed inside quoted cells)
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
#: values shown in the rejects report are cut to this many characters (then "…")
SHOWN_CHARS = 200


@dataclass
class TableBatch:
    """The valid rows of one input file, in canonical dtypes, sorted by the natural key."""

    table: Table
    source: Path
    frame: pd.DataFrame
    rows_read: int
    rows_rejected: int
    #: `frame_fingerprint(frame)`, computed where the frame was validated (None: not yet)
    fingerprint: str | None = None

    @classmethod
    def of(
        cls,
        table: Table,
        source: Path,
        valid: pd.DataFrame,
        rows_read: int,
        rows_rejected: int,
        in_key_order: bool = False,
    ) -> TableBatch:
        """A batch of valid rows: conformed, sorted by the natural key (unless they come
        `in_key_order`) and fingerprinted."""
        frame = conform(table, valid)
        frame = frame if in_key_order else sort_by_key(table, frame)
        return cls(table, source, frame, rows_read, rows_rejected, frame_fingerprint(frame))


@dataclass
class Batch:
    """A validated data directory: valid rows per table plus the rejects report."""

    directory: Path
    tables: dict[str, TableBatch] = field(default_factory=dict)
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    #: processes that validated the files
    workers: int = 1

    def summary(self) -> dict[str, dict[str, int]]:
        return {
            name: {"read": b.rows_read, "loaded": len(b.frame), "rejected": b.rows_rejected}
            for name, b in self.tables.items()
        }


def find_table_file(directory: Path, table: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = directory / f"{table}{suffix}"
        if path.is_file():
            return path
    return None


def read_directory(
    directory: Path,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> Batch:
    """Validate every contract table found in `directory` (only `companies` is required).

    Files are independent, so a large directory is validated by `workers` processes
    (by default one per core once the files reach `PARALLEL_FROM_BYTES`), largest
    file first. The result is the same either way.
    """
    directory = Path(directory)
    files = {name: find_table_file(directory, name) for name in TABLES}
    for name, table in TABLES.items():
        if table.required and files[name] is None:
            raise MissingTableError(directory, name)
    present = {name: path for name, path in files.items() if path is not None}
    sizes = {name: path.stat().st_size for name, path in present.items()}
    if workers is None:
        big = sum(sizes.values()) >= PARALLEL_FROM_BYTES
        workers = min(os.cpu_count() or 1, len(present)) if big else 1
    results: dict[str, tuple[TableBatch, pd.DataFrame]] = {}
    if workers > 1:
        largest_first = sorted(present, key=lambda n: -sizes[n])
        context = multiprocessing.get_context("spawn")  # no inherited threads or locks
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {n: pool.submit(validate_file, present[n], TABLES[n]) for n in largest_first}
            for name, future in futures.items():
                results[name] = future.result()
                if progress:
                    progress(name)
    else:
        for name, path in present.items():
            if progress:
                progress(name)
            results[name] = validate_file(path, TABLES[name])
    batch = Batch(directory, workers=workers)
    for name in present:  # contract order, whatever order the files finished in
        batch.tables[name] = results[name][0]
    nonempty = [results[name][1] for name in present if len(results[name][1])]
    if nonempty:
        batch.rejects = pd.concat(nonempty, ignore_index=True)
    return batch


def _check_header(path: Path, frame: pd.DataFrame, table: Table) -> None:
    """Refuse a header that names one column twice (directly, or by a name and its alias)."""
    if path.suffix == ".parquet":
        names = [str(c).strip() for c in frame.columns]
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            names = [c.strip() for c in next(csv.reader(handle), [])]
    canonical = {alias: col.name for col in table.columns for alias in col.aliases}
    seen: set[str] = set()
    for name in names:
        meant = canonical.get(name, name)
        if meant in seen:
            raise UnreadableFileError(
                path, f"the header names column '{meant}' twice (表头列重复); keep one"
            )
        seen.add(meant)


def _rename_aliases(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    renames = {}
    for col in table.columns:
        if col.name in frame.columns:
            continue
        for alias in col.aliases:
            if alias in frame.columns:
                renames[alias] = col.name
                break
    return frame.rename(columns=renames) if renames else frame


def validate_file(path: Path, table: Table) -> tuple[TableBatch, pd.DataFrame]:
    """Validate one file; returns its valid rows and its rejects."""
    raw = read_raw(path)
    _check_header(path, raw, table)
    raw = _rename_aliases(raw, table)
    for col in table.columns:
        if col.name not in raw.columns and not col.nullable:
            raise MissingColumnError(path, col.name, list(raw.columns))
    n = len(raw)
    lines = np.arange(FIRST_LINE, FIRST_LINE + n)
    bad = np.zeros(n, dtype=bool)
    problems: list[pd.DataFrame] = []
    values: dict[str, pd.Series] = {}
    coded: dict[str, keys.Coded] = {}

    def report(mask: np.ndarray, column: str, shown: pd.Series, why: str | pd.Series) -> None:
        nonlocal bad
        if not mask.any():
            return
        idx = np.flatnonzero(mask)
        reasons = why.to_numpy()[idx] if isinstance(why, pd.Series) else why
        problems.append(
            pd.DataFrame(
                {
                    "file": path.name,
                    "line": lines[idx],
                    "column": column,
                    "value": _shown(shown.iloc[idx]),
                    "reason": reasons,
                }
            )
        )
        bad |= mask

    for col in table.columns:
        if col.name not in raw.columns:
            values[col.name] = _null_column(col, n)
            continue
        source = raw[col.name].reset_index(drop=True)
        text = _text(source) if _is_texty(source) else None
        if (
            text is not None
            and (col.kind in _KEPT_AS_TEXT)
            and (col.kind == "uscc" or col.name in table.key)
        ):  # encoded once: the credit-code check and the key order both read it
            coded[col.name] = keys.code(text)
        converted, invalid, why = _convert(col, source, text, coded.get(col.name))
        empty = text.isna().to_numpy() if text is not None else source.isna().to_numpy()
        if not col.nullable:
            report(empty, col.name, source, "required value is empty (必填项为空)")
        long = np.zeros(n, dtype=bool)
        if text is not None:
            long, control_rows = _text_flags(text, coded.get(col.name))
            why_long = f"longer than {MAX_CELL_CHARS} characters (内容过长)"
            report(long, col.name, source, why_long)
            long = long | control_rows
            if control_rows.any():  # shown with the characters replaced: made only then
                report(
                    control_rows,
                    col.name,
                    source.astype(str).str.replace(CONTROL_CHARS, "?", regex=True),
                    "contains control characters (含有控制字符)",
                )
        report(invalid & ~empty & ~long, col.name, source, why)
        values[col.name] = converted

    frame = pd.DataFrame(values)
    for earlier, later in table.order:
        wrong = (frame[later] < frame[earlier]).fillna(False).to_numpy(dtype=bool)
        if not wrong.any():
            continue
        report(
            wrong,
            later,
            frame[later].dt.strftime("%Y-%m-%d"),
            f"{later} is before {earlier} (日期先后顺序错误)",
        )

    # A natural key given twice in one file is ambiguous: the first row stands.
    order, repeat = keys.key_order(frame, table.key, coded)
    del coded
    dup = np.zeros(n, dtype=bool)
    dup[order] = repeat
    dup &= ~bad
    if dup.any():
        run_start = np.flatnonzero(~repeat)[np.cumsum(~repeat) - 1]  # per place in the order
        first_line = np.zeros(n, dtype=np.int64)
        first_line[order] = lines[order[run_start]]
        rows = np.flatnonzero(dup)
        key_text = pd.Series(np.full(n, "", dtype=object))
        shown = frame[list(table.key)].iloc[rows].astype("str").agg("|".join, axis=1)
        key_text.iloc[rows] = shown.to_numpy()
        why = pd.Series(
            [f"duplicate key {'+'.join(table.key)} of line {x} (重复记录)" for x in first_line]
        )
        report(dup, "+".join(table.key), key_text, why)

    rejected = pd.concat(problems, ignore_index=True) if problems else _empty_rejects()
    rejected = rejected.sort_values(["line", "column"], kind="stable", ignore_index=True)
    valid = frame.take(order[~bad[order]])  # key order, as a stable sort of the valid rows
    del raw, values, frame  # the file as read, let go before the batch is made
    return TableBatch.of(table, path, valid, n, int(bad.sum()), in_key_order=True), rejected


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="int64" if c == "line" else "str") for c in REJECT_COLUMNS}
    )


def _shown(values: pd.Series) -> np.ndarray:
    """Values as text for the rejects report, each cut to `SHOWN_CHARS` characters."""
    text = values.astype("str").fillna("")
    cut = text.str.len() > SHOWN_CHARS
    if cut.any():
        text = text.where(~cut, text.str.slice(0, SHOWN_CHARS) + "…")
    return text.to_numpy(dtype=object)


def _is_texty(source: pd.Series) -> bool:
    return source.dtype == object or isinstance(source.dtype, pd.StringDtype)


def _text_flags(text: pd.Series, coded: keys.Coded | None) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `text`: longer than `MAX_CELL_CHARS`, and holding a control character
    (NUL and the like are never part of a name or a code). A column coded already
    (`keys.code` of `text`) is checked on its distinct values: a link table repeats each
    credit code many times."""
    values = text if coded is None else pd.Series(coded.uniques, dtype=text.dtype)
    long = (values.str.len() > MAX_CELL_CHARS).fillna(False).to_numpy(dtype=bool)
    control = values.str.contains(CONTROL_CHARS, regex=True).fillna(False).to_numpy(dtype=bool)
    if coded is None:
        return long, control
    # a missing value (position -1) reads the appended False
    return np.append(long, False)[coded.positions], np.append(control, False)[coded.positions]


def _text(source: pd.Series) -> pd.Series:
    """Values as stripped text, with empty cells as missing (computed once per column)."""
    text = source if isinstance(source.dtype, pd.StringDtype) else source.astype("str")
    text = text.str.strip()
    return text.mask(text == "")


def _null_column(col: Column, n: int) -> pd.Series:
    return pd.Series([None] * n, dtype=CANONICAL_DTYPES[col.kind])


def _convert(
    col: Column, source: pd.Series, text: pd.Series | None, coded: keys.Coded | None = None
) -> tuple[pd.Series, np.ndarray, str | pd.Series]:
    """(converted values, invalid mask, reason) for one column; empty cells are never invalid here.

    `text` is the column as stripped text when it arrived as text (CSV, or strings in
    Parquet), else None (native Parquet numbers, dates, booleans); `coded`, that text
    encoded by `graph.keys.code` when the caller has it.
    """
    kind = col.kind
    n = len(source)
    valid_all = np.zeros(n, dtype=bool)
    if kind == "date":
        if text is None and pd.api.types.is_datetime64_any_dtype(source):
            return source.astype("datetime64[us]").dt.normalize(), valid_all, ""
        if text is None:
            text = _text(source)
        shaped = text.str.fullmatch(_DATE_SHAPE).fillna(False).to_numpy(dtype=bool)
        out = pd.to_datetime(text.where(shaped), format="%Y-%m-%d", errors="coerce")
        invalid = out.isna().to_numpy() & text.notna().to_numpy()
        return out.astype("datetime64[us]"), invalid, "not a valid date YYYY-MM-DD (日期无效)"
    if kind in ("int", "decimal"):
        if (
            text is None
            and pd.api.types.is_numeric_dtype(source)
            and not pd.api.types.is_bool_dtype(source)
        ):
            num = source.astype("float64")
            present = source.notna().to_numpy()
        else:
            text = text if text is not None else _text(source)
            num = pd.to_numeric(text, errors="coerce").astype("float64")
            present = text.notna().to_numpy()
        values = num.to_numpy()
        finite = ~np.isnan(values)
        # each rule's rows, the later rule's reason standing where several apply
        rules = [(~finite & present, "not a number (非数字)")]
        if kind == "int":
            whole = np.nan_to_num(values)
            rules.append((finite & (np.floor(whole) != whole), "not a whole number (非整数)"))
        if col.low is not None:
            low = finite & (np.nan_to_num(values, nan=col.low) < col.low)
            rules.append((low, f"below the minimum {col.low:g} (小于下限)"))
        if col.high is not None:
            high = finite & (np.nan_to_num(values, nan=col.high) > col.high)
            rules.append((high, f"above the maximum {col.high:g} (超过上限)"))
        invalid = np.logical_or.reduce([rows for rows, _ in rules])
        out = num.where(~invalid)
        if kind == "int":
            out = out.round().astype("Int64")
        if not invalid.any():
            return out, invalid, ""
        reason = np.full(n, "", dtype=object)
        for rows, why in rules:
            reason[rows] = why
        return out, invalid, pd.Series(reason)
    if kind == "bool":
        if text is None and pd.api.types.is_bool_dtype(source):
            return source.astype("boolean"), valid_all, ""
        lowered = (text if text is not None else _text(source)).str.lower()
        out = pd.Series(pd.NA, index=source.index, dtype="boolean")
        out[lowered.isin(_TRUE).to_numpy()] = True
        out[lowered.isin(_FALSE).to_numpy()] = False
        invalid = out.isna().to_numpy() & lowered.notna().to_numpy()
        return out, invalid, "not true or false (布尔值无效)"
    text = text if text is not None else _text(source)
    present = text.notna().to_numpy()
    if kind == "uscc":
        ok = uscc.valid_mask(text, coded)
        invalid = present & ~ok
        if not invalid.any():
            return text, invalid, ""
        reasons = np.full(n, "", dtype=object)
        reasons[invalid] = [uscc.reason(v) for v in source.astype("str").to_numpy()[invalid]]
        return text, invalid, pd.Series(reasons)
    if kind == "enum":
        invalid = present & ~text.isin(col.values).to_numpy()
        return text, invalid, f"not one of {', '.join(col.values)} (取值不在允许范围)"
    if col.pattern:
        invalid = present & ~text.str.fullmatch(col.pattern).fillna(False).to_numpy(dtype=bool)
        return text, invalid, f"does not match the pattern {col.pattern} (格式错误)"
    return text, valid_all, ""


#: kinds whose validated values are the stripped text itself
_KEPT_AS_TEXT = ("uscc", "str", "enum")

CANONICAL_DTYPES: dict[str, str] = {
    "uscc": "str",
    "str": "str",
    "enum": "str",
    "date": "datetime64[us]",
    "int": "Int64",
    "decimal": "float64",
    "bool": "boolean",
}


def conform(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """The contract's columns of `frame`, in contract order and canonical dtypes.

    Both stores return frames through this function, so their reads compare equal.
    """
    out = {}
    for col in table.columns:
        series = frame[col.name] if col.name in frame.columns else _null_column(col, len(frame))
        dtype = CANONICAL_DTYPES[col.kind]
        if col.kind == "date":
            series = pd.to_datetime(series).astype(dtype)
        elif col.kind == "decimal":
            series = pd.to_numeric(series).astype(dtype)
        else:
            series = series.astype(dtype)
        out[col.name] = series.reset_index(drop=True)
    return pd.DataFrame(out, columns=table.column_names)


def sort_by_key(table: Table, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` in the order of its natural key, missing values last, ties as they came.

    The order `DataFrame.sort_values(kind="stable")` gives (text by UTF-8 bytes, which
    is code-point order), found on one integer per row (`graph.keys.key_order`).
    """
    if len(frame) < 2:
        return frame.reset_index(drop=True)
    order, _ = keys.key_order(frame, table.key)
    return frame.take(order).reset_index(drop=True)
