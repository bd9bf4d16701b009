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
    if progress:
        progress("write", 0, 1)
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
    #: (type, file name, {end: (label, part of `nodes[label]`, or PROFILED_PART)}, properties)
    relationships: list[tuple[str, str, dict[str, tuple[str, int]], Columns]] = []
    first: dict[str, tuple[pa.Array, np.ndarray]] = {}
    if companies is not None:
        profiles = _profiles(companies)
        numbers = ids.number(len(companies))
        first[q.COMPANY.label] = (profiles[q.COMPANY.key], numbers)
        label = f"{q.COMPANY.label}:{q.PROFILED}"
        yield "nodes", label, "companies", _with_id(q.COMPANY.label, numbers, profiles)
        for ref, rel in ((q.REGION, "IN_REGION"), (q.INDUSTRY, "IN_INDUSTRY")):
            codes = _text(companies[ref.columns[0]])
            nodes.setdefault(ref.label, []).append({ref.key: codes})
            ends = {
                "START": (q.COMPANY.label, PROFILED_PART),
                "END": (ref.label, len(nodes[ref.label]) - 1),
            }
            relationships.append((rel, rel.lower(), ends, {}))
    for name, rt in q.REL_TABLES.items():
        frame = frames.get(name)
        if frame is None:
            continue
        table = rt.contract
        ends = {}
        for ref, end in ((rt.source, "START"), (rt.target, "END")):
            node = {ref.key: _key_text(table, frame, ref.columns)}
            for prop, column in ref.attributes.items():
                node[_header(table, column, prop)] = _values(table, column, frame[column])
            nodes.setdefault(ref.label, []).append(node)
            ends[end] = (ref.label, len(nodes[ref.label]) - 1)
        row = {"key": _key_text(table, frame, table.key)}
        row |= {_header(table, c, c): _values(table, c, frame[c]) for c in rt.rel_columns}
        relationships.append((rt.rel, name, ends, row))

    #: label -> the ids of each part's rows (PROFILED_PART: the profiled companies)
    part_ids: dict[str, dict[int, np.ndarray]] = {}
    for label, parts in nodes.items():
        # the profiled companies are written above; the rest are met only as a counterparty
        # and have no profile label
        columns, numbered = _last_of_each(label, parts, first.get(label), ids)
        part_ids[label] = numbered
        yield "nodes", label, label.lower(), _with_id(label, numbered[WRITTEN], columns)
    label, columns = _store_state(source)
    yield "nodes", label, "store_state", _with_id(label, ids.number(1), columns)
    for label, (_, numbers) in first.items():
        part_ids.setdefault(label, {})[PROFILED_PART] = numbers
    for rel, name, ends, row in relationships:
        named: Columns = {
            f":{end}_ID({label})": pa.array(part_ids[label][part])
            for end, (label, part) in ends.items()
        }
        yield "relationships", rel, f"rel_{name}", named | row


#: in `_plan`'s bookkeeping, the part that stands for the profiled companies' own file
PROFILED_PART = -1
#: in `_last_of_each`'s answer, the ids of the rows it returns
WRITTEN = -2


class _Ids:
    """The importer's node ids: every node file's rows numbered on from the last file's.

    Numbers are unique across all labels and leave no gaps, since they become the
    store's node ids (`--id-type=actual`).
    """

    def __init__(self) -> None:
        self.next = 0

    def number(self, rows: int) -> np.ndarray:
        """The ids of a node file's `rows` rows."""
        numbers = np.arange(self.next, self.next + rows, dtype=np.int64)
        self.next += rows
        return numbers


def _profiles(companies: pd.DataFrame) -> Columns:
    table = TABLES["companies"]
    return {_header(table, c, c): _values(table, c, companies[c]) for c in table.column_names}


def _with_id(label: str, numbers: np.ndarray, columns: Columns) -> Columns:
    """The importer's id column first: not stored (`:ID(label)` names no property)."""
    return {f":ID({label})": pa.array(numbers)} | columns


def _last_of_each(
    label: str, parts: list[Columns], first: tuple[pa.Array, np.ndarray] | None, ids: _Ids
) -> tuple[Columns, dict[int, np.ndarray]]:
    """One row per key not in `first`: the last written wins, as `SET n += ...` in load order.

    Parts of one label carry the same attributes (they come from the same `NodeRef`s);
    their first column is the key. `first` holds keys written in another file (unique)
    and their ids. Returns the rows to write, and the ids of every part's rows (by
    part number) and of the rows to write (`WRITTEN`): one hash pass over the keys.
    """
    names = list(parts[0])
    if any(list(p) != names for p in parts):
        raise AssertionError(f"the {label} nodes are described differently by two tables")
    columns = {n: pa.concat_arrays([p[n] for p in parts]) for n in names}
    known, known_ids = first if first is not None else (pa.array([], pa.string()), None)
    keys = pa.concat_arrays([known, columns[names[0]]])
    encoded = pc.dictionary_encode(keys)
    codes = encoded.indices.to_numpy()
    rows = codes[len(known) :]
    keep = ~pd.Series(rows).duplicated(keep="last").to_numpy() & (rows >= len(known))
    written = ids.number(int(keep.sum()))
    id_of_code = np.empty(len(encoded.dictionary), dtype=np.int64)
    if known_ids is not None:
        id_of_code[codes[: len(known)]] = known_ids
    id_of_code[rows[keep]] = written
    ends = np.cumsum([len(p[names[0]]) for p in parts])[:-1]
    numbered = dict(enumerate(np.split(id_of_code[rows], ends)))
    numbered[WRITTEN] = written
    keep_array = pa.array(keep)
    return {n: values.filter(keep_array) for n, values in columns.items()}, numbered


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
