"""The offline importer's files, read back without a server: ids, keys and relationship ends.

Every node gets a number as its importer id (not stored) beside its key property; a
relationship names its two ends by those numbers. Read back, each relationship must
end at the nodes whose keys its row names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from graph import neo4j_queries as q
from graph.neo4j_import import ID_TYPE, ImportFile, importer_arguments, write_import_files
from graph.neo4j_values import key_text
from graph.validation import read_directory
from tests.factories import tiny_tables, write_tables

ID_HEADER = re.compile(r":(ID|START_ID|END_ID)\((\w+)\)")


def read_file(f: ImportFile) -> pd.DataFrame:
    names = f.header.read_text(encoding="utf-8").strip().split(",")
    ends = {n for n in names if ID_HEADER.fullmatch(n)}
    dtypes = {n: ("int64" if n in ends else "string") for n in names}
    return pd.read_csv(f.data, header=None, names=names, dtype=dtypes, keep_default_na=False)


def test_relationships_end_at_the_numbered_nodes_their_rows_name(tmp_path: Path) -> None:
    batch = read_directory(write_tables(tiny_tables(), tmp_path / "tiny"))
    files = write_import_files(batch, tmp_path / "import", "tiny")
    assert f"--id-type={ID_TYPE}" in importer_arguments(files)

    # nodes: the id column first, the key property (text, same name as before) next
    keys: dict[str, pd.Series] = {}
    numbers: list[int] = []
    for f in (f for f in files if f.section == "nodes"):
        frame = read_file(f)
        label = f.group.split(":")[0]
        id_column, key_column = frame.columns[:2]
        assert id_column == f":ID({label})"
        ref = next(r for r in q.node_refs() if r.label == label)
        assert key_column == ref.key
        assert frame[key_column].notna().all() and (frame[key_column] != "").all()
        numbers += frame[id_column].tolist()
        keys[label] = pd.concat(
            [keys.get(label, pd.Series(dtype="string")), frame.set_index(id_column)[key_column]]
        )
    assert len(numbers) == len(set(numbers)), "a node id is given twice"
    assert all(k.is_unique for k in keys.values()), "a node is written twice"
    assert sorted(numbers) == list(range(len(numbers))), "node ids leave gaps"
    companies = batch.tables["companies"].frame
    assert set(keys[q.COMPANY.label]) >= set(companies["uscc"])

    # relationships: both ends are numbers of nodes holding the keys the row names
    rels = {f.group: read_file(f) for f in files if f.section == "relationships"}
    expected: dict[str, tuple[str, str, pd.Series, pd.Series]] = {
        rel: (
            q.COMPANY.label,
            ref.label,
            companies["uscc"].astype("string"),
            companies[ref.columns[0]].astype("string"),
        )
        for ref, rel in ((q.REGION, "IN_REGION"), (q.INDUSTRY, "IN_INDUSTRY"))
    }
    for name, rt in q.REL_TABLES.items():
        frame = batch.tables[name].frame
        ends = [key_text(rt.contract, frame, r.columns).to_pandas() for r in (rt.source, rt.target)]
        expected[rt.rel] = (rt.source.label, rt.target.label, *ends)
    assert set(rels) == set(expected)
    for rel, (start, end, start_keys, end_keys) in expected.items():
        frame = rels[rel]
        assert len(frame) == len(start_keys) > 0, rel
        for label, column, want in ((start, "START", start_keys), (end, "END", end_keys)):
            ids = frame[f":{column}_ID({label})"]
            got = keys[label].reindex(ids.to_numpy())
            assert got.notna().all(), f"{rel} ends at a {label} id no node has"
            assert got.tolist() == want.astype(str).tolist(), f"{rel} {column}"
