"""The offline bulk import: a validated batch as the files of `neo4j-admin database import full`.

Neo4j's offline importer fills an empty database far faster than transactions can
(it writes the store files directly), but it needs the database stopped and every
node and relationship spelled out. This module turns a `Batch` into exactly the
graph the transactional loader (`graph.neo4j_queries`) builds from it: the same
labels, relationship types, properties and property types, so reads, fingerprints
and later `UNWIND` loads cannot tell which path wrote a row.

Each node label or relationship type is one header file (`<name>.header.csv`) and
one data file (`<name>.csv`), written column-wise by Arrow's CSV writer: no Python
loop over rows. Strings are always quoted and missing values are empty, unquoted
fields, which the importer leaves out (as the transactional loader does).

The importer finds a relationship's ends by their import ids. Those are numbers
given here (`_Ids`): 0, 1, 2, ... across every node file, one per node, not stored
as a property (the node's key is an ordinary text property beside it). With
`--id-type=actual` they are the store's own node ids, so the importer neither
sorts nor searches ids: the relationship files name their ends by these numbers,
looked up column-wise from the keys. (At 200,000 companies the relationship phase
took 40 s with text ids, 25 s with `integer` ids and 17 s with `actual` ones.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from graph import neo4j_queries as q
from graph.contract import TABLES, Table
from graph.neo4j_values import key_text as _key_text
from graph.neo4j_values import text as _text
from graph.neo4j_values import values as _values
from graph.store import Progress
from graph.validation import Batch

#: the importer's type of each contract column kind (text kinds are strings, the default)
PROPERTY_TYPES: dict[str, str] = {
    "date": "date",
    "int": "long",
    "decimal": "double",
    "bool": "boolean",
}
#: rows Arrow's CSV writer formats at a time
WRITE_BATCH_ROWS = 65_536
#: the importer's node ids: the store's node ids, numbered here without gaps (see `_Ids`)
ID_TYPE = "actual"


@dataclass(frozen=True)
class ImportFile:
    """One node label group or relationship type: its header file and its data file."""

    section: Literal["nodes", "relationships"]
    #: labels (`Company:Profiled`) or a relationship type (`SUPPLIES`)
    group: str
    header: Path
    data: Path
    rows: int
    #: whether a text value holds a line break (the importer must then parse it slowly)
    multiline: bool

    @property
    def argument(self) -> str:
        return f"--{self.section}={self.group}={self.header},{self.data}"


def importer_arguments(files: Iterable[ImportFile], max_memory: str | None = None) -> list[str]:
    """The arguments of `neo4j-admin database import full` for `files` (database name aside)."""
    files = list(files)
    args = [f.argument for f in files]
    args += [f"--id-type={ID_TYPE}", "--bad-tolerance=0", "--skip-bad-entries-logging=true"]
    multiline = [str(f.data) for f in files if f.multiline]
    if multiline:
        args += ["--multiline-fields-format=v2", f"--multiline-fields={','.join(multiline)}"]
    if max_memory:
        args.append(f"--max-off-heap-memory={max_memory}")
    return args


def write_import_files(
    batch: Batch, folder: Path, source: str, progress: Progress | None = None
) -> list[ImportFile]:
    """Write the node and relationship files of `batch` into `folder` (created, must be new).

    The graph also gets its `(:StoreState)` node at version 1, so the database reads
    as loaded once the import has run, in the same step as the data.
    """
    folder.mkdir(parents=True)
    frames = {
        name: batch.tables[name].frame
        for name in ("companies", *q.REL_TABLES)
        if name in batch.tables
    }
    plan = list(_plan(frames, source))
    files = []
    for i, (section, group, name, columns) in enumerate(plan):
        if progress:
            progress(f"write {name}", i, len(plan))
        files.append(_write(folder, section, group, name, columns))
    if progress:
        progress("write", len(plan), len(plan))
    return files


# -- what is written ----------------------------------------------------------------------
#: header entry -> values; a file's columns in order
Columns = dict[str, pa.Array]


def _plan(
    frames: dict[str, pd.DataFrame], source: str
) -> Iterable[tuple[Literal["nodes", "relationships"], str, str, Columns]]:
    """(section, group, file name, columns) of every file, nodes first."""
    companies = frames.get("companies")
    ids = _Ids()
    nodes: dict[str, list[Columns]] = {}
    #: (type, file name, {end: (label, keys)}, properties)
    relationships: list[tuple[str, str, dict[str, tuple[str, pa.Array]], Columns]] = []
    if companies is not None:
        profiles = _profiles(companies)
        label = f"{q.COMPANY.label}:{q.PROFILED}"
        yield "nodes", label, "companies", _with_id(ids, q.COMPANY.label, profiles)
        for ref, rel in ((q.REGION, "IN_REGION"), (q.INDUSTRY, "IN_INDUSTRY")):
            codes = _text(companies[ref.columns[0]])
            nodes.setdefault(ref.label, []).append({ref.key: codes})
            ends = {
                "START": (q.COMPANY.label, profiles[q.COMPANY.key]),
                "END": (ref.label, codes),
            }
            relationships.append((rel, rel.lower(), ends, {}))
    for name, rt in q.REL_TABLES.items():
        frame = frames.get(name)
        if frame is None:
            continue
        table = rt.contract
        ends = {}
        for ref, end in ((rt.source, "START"), (rt.target, "END")):
            keys = _key_text(table, frame, ref.columns)
            node = {ref.key: keys}
            for prop, column in ref.attributes.items():
                node[_header(table, column, prop)] = _values(table, column, frame[column])
            nodes.setdefault(ref.label, []).append(node)
            ends[end] = (ref.label, keys)
        row = {"key": _key_text(table, frame, table.key)}
        row |= {_header(table, c, c): _values(table, c, frame[c]) for c in rt.rel_columns}
        relationships.append((rt.rel, name, ends, row))

    profiled = _text(companies["uscc"]) if companies is not None else pa.array([], pa.string())
    for label, parts in nodes.items():
        columns = _last_of_each(label, parts)
        if label == q.COMPANY.label:
            # companies met only as a counterparty: a node without the profile label
            keep = pc.invert(pc.is_in(columns[q.COMPANY.key], value_set=profiled))
            columns = {k: v.filter(keep) for k, v in columns.items()}
        yield "nodes", label, label.lower(), _with_id(ids, label, columns)
    yield "nodes", q.STORE_STATE.label, "store_state", _with_id(ids, *_store_state(source))
    for rel, name, ends, row in relationships:
        columns = {
            f":{end}_ID({label})": ids.of(label, keys) for end, (label, keys) in ends.items()
        }
        yield "relationships", rel, f"rel_{name}", columns | row


class _Ids:
    """The importer's node ids: every node file's rows numbered on from the last file's.

    Numbers are unique across all labels and leave no gaps, since they become the
    store's node ids (`--id-type=actual`); a label's keys (its files in the order
    written) and their numbers are kept to name relationship ends.
    """

    def __init__(self) -> None:
        self.next = 0
        self.parts: dict[str, list[tuple[pa.Array, pa.Array]]] = {}
        self.known: dict[str, tuple[pa.Array, pa.Array]] = {}

    def number(self, label: str, keys: pa.Array) -> pa.Array:
        """Ids of a node file's rows (`keys`: the node keys, unique in the label)."""
        numbers = pa.array(np.arange(self.next, self.next + len(keys), dtype=np.int64))
        self.next += len(keys)
        self.parts.setdefault(label, []).append((keys, numbers))
        self.known.pop(label, None)
        return numbers

    def of(self, label: str, keys: pa.Array) -> pa.Array:
        """Ids of the `label` nodes with `keys` (each must have been numbered)."""
        if label not in self.known:
            parts = self.parts.get(label, [])
            self.known[label] = (
                pa.concat_arrays([k for k, _ in parts] or [pa.array([], pa.string())]),
                pa.concat_arrays([n for _, n in parts] or [pa.array([], pa.int64())]),
            )
        known, numbers = self.known[label]
        at = pc.index_in(keys, value_set=known)
        if at.null_count:
            raise AssertionError(f"a relationship ends at a {label} node that is not written")
        return numbers.take(at)


def _profiles(companies: pd.DataFrame) -> Columns:
    table = TABLES["companies"]
    return {_header(table, c, c): _values(table, c, companies[c]) for c in table.column_names}


def _with_id(ids: _Ids, label: str, columns: Columns) -> Columns:
    """The importer's id column first, numbered from the first column (the node's unique key).

    The id is not stored (`:ID(label)` names no property); the key stays a property.
    """
    key = next(iter(columns))
    return {f":ID({label})": ids.number(label, columns[key])} | columns


def _last_of_each(label: str, parts: list[Columns]) -> Columns:
    """One row per key: the last written wins, as with `SET n += ...` in load order.

    Parts of one label carry the same attributes (they come from the same `NodeRef`s).
    """
    names = list(parts[0])
    if any(list(p) != names for p in parts):
        raise AssertionError(f"the {label} nodes are described differently by two tables")
    columns = {n: pa.concat_arrays([p[n] for p in parts]) for n in names}
    keys = columns[names[0]].to_pandas()
    keep = pa.array(~keys.duplicated(keep="last").to_numpy())
    return {n: values.filter(keep) for n, values in columns.items()}


def _store_state(source: str) -> tuple[str, Columns]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return q.STORE_STATE.label, {
        q.STORE_STATE.key: pa.array([q.STORE_STATE_ID]),
        "version:long": pa.array([1], pa.int64()),
        "loaded_at:datetime": pa.array([now]),
        "source": pa.array([source]),
    }


def _header(table: Table, column: str, prop: str) -> str:
    kind = PROPERTY_TYPES.get(table.column(column).kind)
    return f"{prop}:{kind}" if kind else prop


def _write(
    folder: Path,
    section: Literal["nodes", "relationships"],
    group: str,
    name: str,
    columns: Columns,
) -> ImportFile:
    header = folder / f"{name}.header.csv"
    data = folder / f"{name}.csv"
    header.write_text(",".join(columns) + "\n", encoding="utf-8")
    table = pa.table(list(columns.values()), names=[f"c{i}" for i in range(len(columns))])
    options = pacsv.WriteOptions(
        include_header=False, batch_size=WRITE_BATCH_ROWS, quoting_style="needed"
    )
    pacsv.write_csv(table, data, options)
    multiline = any(
        pc.any(pc.match_substring_regex(col, r"[\r\n]")).as_py()
        for col in table.columns
        if pa.types.is_string(col.type)
    )
    return ImportFile(section, group, header, data, table.num_rows, bool(multiline))
