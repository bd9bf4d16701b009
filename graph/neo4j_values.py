"""Contract columns as the values Neo4j stores, column-wise: one conversion for both load paths.

The offline importer reads typed CSV columns (`graph.neo4j_import`); `UNWIND` loads send
one Python list per column (`graph.neo4j_store`). Both take their values from here, so
a key, a date or a missing value is written the same way by either path.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graph.contract import Table

KEY_SEPARATOR = "|"


def values(table: Table, column: str, series: pd.Series) -> pa.Array:
    """A contract column as Arrow values of its stored type; missing values are null."""
    return _one_chunk(_values(table.column(column).kind, series))


def _values(kind: str, series: pd.Series) -> pa.Array | pa.ChunkedArray:
    if kind == "date":
        return pa.array(series, type=pa.timestamp("us"), from_pandas=True).cast(pa.date32())
    if kind == "int":
        return pa.array(series, type=pa.int64(), from_pandas=True)
    if kind == "decimal":
        return pa.array(series, type=pa.float64(), from_pandas=True)
    if kind == "bool":
        return pa.array(series, type=pa.bool_(), from_pandas=True)
    return pa.array(series, type=pa.string(), from_pandas=True)


def text(series: pd.Series) -> pa.Array:
    return _one_chunk(pa.array(series, type=pa.string(), from_pandas=True))


def _one_chunk(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Text columns backed by Arrow arrive in chunks; the writers want one array."""
    if isinstance(array, pa.ChunkedArray):
        return array.combine_chunks()
    return array


def key_text(table: Table, frame: pd.DataFrame, columns: tuple[str, ...]) -> pa.Array:
    """The text of a node's or a row's key: the columns' values as text, joined by `|`.

    Dates read `2024-06-30`, numbers in plain digits.
    """
    parts = [values(table, c, frame[c]).cast(pa.string()) for c in columns]
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, KEY_SEPARATOR)


def parameter(table: Table, column: str, series: pd.Series) -> list[Any]:
    """A column as a Bolt parameter: plain Python values or None, dates as ISO text.

    Text dates (made Neo4j dates by `date()` in Cypher) pack several times faster in
    the driver than date objects, and packing is what limits a load's client side.
    """
    array = values(table, column, series)
    if pa.types.is_date(array.type):
        array = array.cast(pa.string())
    return array.to_pylist()
