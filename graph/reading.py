"""Reading an input file into a frame, in bounded memory, before any validation.

CSV lines over `MAX_LINE_BYTES` are refused before parsing; Parquet files are
decoded batch by batch with their expanded size bounded (`_read_parquet`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from graph.errors import UnreadableFileError

#: a CSV line longer than this (bytes) makes the file unreadable: it is refused before parsing
MAX_LINE_BYTES = 2**20
#: a Parquet file may decode to at most this many times its size (plus the slack below)
PARQUET_MAX_RATIO = 100
PARQUET_SLACK_BYTES = 64 * 2**20
#: rows decoded at a time from a Parquet file. Text arrives dictionary-encoded, and each
#: batch carries its row group's whole dictionary (a million credit codes in a link
#: table's): batches of a common writer's row group (2**20 rows) take the dictionary
#: once, not sixteen times (supply links at a million companies read in 2.7 s, not 6.3).
#: A batch's memory stays bounded all the same: its indices, and dictionaries the file's
#: metadata has already been checked for.
PARQUET_BATCH_ROWS = 2**20
_SCAN_BLOCK = 16 * 2**20


def read_raw(path: Path) -> pd.DataFrame:
    """The file as a frame; CSV cells stay text so codes keep their leading zeros."""
    try:
        if path.suffix == ".parquet":
            frame = _read_parquet(path)
        else:
            check_line_lengths(path)
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=False
            )
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            path, f"not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UnreadableFileError(path, str(exc).strip().splitlines()[0]) from exc
    except (OSError, pyarrow.ArrowException, ValueError) as exc:
        raise UnreadableFileError(path, str(exc).strip().splitlines()[0]) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_parquet(path: Path, max_ratio: int = PARQUET_MAX_RATIO) -> pd.DataFrame:
    """Parquet as a frame, decoded in bounded memory.

    Parquet compresses, and repeated text is stored once in a dictionary: a small
    file may stand for gigabytes of text. The file is refused (unread) when its
    encoded pages exceed `max_ratio` times its size, and while reading when the
    text it decodes to does: text columns are read as dictionaries batch by batch
    and their decoded size is counted before any value is expanded. Date columns
    arrive as datetime64 rather than Python date objects.
    """
    size = path.stat().st_size
    budget = max_ratio * size + PARQUET_SLACK_BYTES
    parquet = pq.ParquetFile(path)
    meta = parquet.metadata
    encoded = sum(
        meta.row_group(r).column(c).total_uncompressed_size
        for r in range(meta.num_row_groups)
        for c in range(meta.num_columns)
    )
    if encoded > budget:
        raise _bomb(path, encoded, size, max_ratio)
    schema = parquet.schema_arrow
    text = [f.name for f in schema if _is_text(f.type)]
    parquet = pq.ParquetFile(path, read_dictionary=text)
    batches, decoded = [], 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        decoded += _decoded_bytes(batch)
        if decoded > budget:
            raise _bomb(path, decoded, size, max_ratio)
        batches.append(batch)
    table = pa.Table.from_batches(batches) if batches else schema.empty_table()
    for i, col in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_dictionary(col.type):
            column = pa.chunked_array(
                [c.dictionary_decode() for c in column.chunks], type=col.type.value_type
            )
            table = table.set_column(i, col.name, column)
        if pa.types.is_date(column.type):
            table = table.set_column(i, col.name, column.cast(pa.timestamp("us")))
        elif pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            # some writers store text as plain binary: accepted when it is UTF-8, else refused
            try:
                table = table.set_column(i, col.name, column.cast(pa.large_string()))
            except pyarrow.ArrowInvalid:
                raise UnreadableFileError(
                    path, f"column '{col.name}' holds binary data, not UTF-8 text (列含二进制数据)"
                ) from None
    return table.to_pandas()


def _is_text(kind: pa.DataType) -> bool:
    return any(
        check(kind) for check in (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary)
    ) or pa.types.is_large_binary(kind)


def _decoded_bytes(batch: pa.RecordBatch) -> int:
    """Bytes the batch holds once every dictionary column is expanded (vectorized)."""
    total = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            lengths = pc.binary_length(column.dictionary).fill_null(0).to_numpy()
            indices = column.indices.fill_null(0).to_numpy(zero_copy_only=False)
            total += int(lengths[indices].sum()) + 8 * len(column) if len(lengths) else 0
        else:
            total += column.nbytes
    return total


def _bomb(path: Path, decoded: int, size: int, ratio: int) -> UnreadableFileError:
    return UnreadableFileError(
        path,
        f"it expands to more than {decoded / 2**20:,.0f} MB from {size / 2**20:,.1f} MB, "
        f"over {ratio} times its size (疑似压缩炸弹 a compression bomb)",
    )


def check_line_lengths(path: Path, limit: int = MAX_LINE_BYTES) -> None:
    """Refuse a CSV file with a line over `limit` bytes, naming its line and column, unparsed."""
    start, line, offset = 0, 1, 0  # where the current line starts, its number, bytes scanned
    with path.open("rb") as fh:
        while block := fh.read(_SCAN_BLOCK):
            ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10) + offset
            starts = np.concatenate(([start], ends[:-1] + 1))
            long = np.flatnonzero(ends - starts > limit)
            if long.size:
                start, line = int(starts[long[0]]), line + int(long[0])
                break
            if ends.size:
                start, line = int(ends[-1]) + 1, line + ends.size
            offset += len(block)
            if offset - start > limit:
                break
        else:
            return
        fh.seek(start)
        prefix = np.frombuffer(fh.read(limit), np.uint8)
    # commas outside quotes before the cut tell which column runs long
    outside = np.cumsum(prefix == ord('"')) % 2 == 0
    index = int(((prefix == ord(",")) & outside).sum())
    header = [] if line == 1 else _header(path)
    column = f", column '{header[index]}'" if index < len(header) else ""
    raise UnreadableFileError(
        path, f"line {line}{column} is longer than {limit / 2**20:g} MB (单行过长)"
    )


def _header(path: Path) -> list[str]:
    try:
        return [str(c).strip() for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns]
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return []
