"""Writing tables in the contract's shape: exact columns in contract order, CSV or Parquet.

Both formats go through one pyarrow table per file: dates become date32 (ISO in CSV),
booleans `true`/`false`, nulls empty cells. CSV is written without quoting, which is
safe because every text value comes from word lists checked to hold no separator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from graph.contract import TABLES

Format = Literal["csv", "parquet"]


def to_arrow(table: str, cols: dict[str, np.ndarray]) -> pa.Table:
    spec = TABLES[table]
    arrays = []
    for col in spec.columns:
        v = cols[col.name]
        if col.kind == "date":
            null = np.isnan(v)
            days = np.where(null, 0, v).astype(np.int32)
            arr = pa.array(days, type=pa.date32(), mask=null if null.any() else None)
        elif col.kind == "int":
            null = v < 0  # generators mark a missing count with -1
            arr = pa.array(v.astype(np.int64), type=pa.int64(), mask=null if null.any() else None)
        elif col.kind == "decimal":
            arr = pa.array(v.astype(np.float64), type=pa.float64(), from_pandas=True)
        elif col.kind == "bool":
            arr = pa.array(v.astype(bool), type=pa.bool_())
        else:  # uscc, str, enum: None is null
            arr = pa.array(v, type=pa.string(), from_pandas=True)
        if not col.nullable and arr.null_count:
            raise ValueError(f"{table}.{col.name} has nulls but the contract forbids them")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, names=spec.column_names)


def write_table(out: Path, table: str, cols: dict[str, np.ndarray], fmt: Format) -> int:
    data = to_arrow(table, cols)
    if fmt == "csv":
        opts = pacsv.WriteOptions(include_header=True, quoting_style="none", quoting_header="none")
        pacsv.write_csv(data, out / f"{table}.csv", opts)
    else:
        pq.write_table(data, out / f"{table}.parquet", compression="zstd")
    return data.num_rows
