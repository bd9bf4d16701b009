"""The offline importer path of the Neo4j store, against a real server run by tools/neo4j.

The whole store conformance suite runs again here with a store whose first load into
the (emptied) database goes through `neo4j-admin database import full`; later loads in
the same test go through UNWIND transactions, so both paths meet in every test. Then:
the two paths build the same graph, an import never touches a database that holds
anything, and a server we cannot stop is loaded with transactions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from graph.contract import TABLES
from graph.embedded import EmbeddedStore
from graph.errors import UsageError
from graph.neo4j_control import LauncherControl, Neo4jImportError
from graph.neo4j_runner import QueryRunner, Statement
from graph.neo4j_store import ImportMode, Neo4jStore
from graph.store import Store
from graph.validation import read_directory
from tests.factories import tiny_tables, write_tables
from tests.graph import test_store_conformance as conformance
from tests.graph.conftest import empty_neo4j_store
from tests.graph.test_neo4j_store import (  # noqa: F401 - fixtures
    SIMULATED_COMPANIES,
    assert_same_reads,
    simulated_dir,
    simulated_embedded,
)
from tests.neo4j_server import Neo4jServer

pytestmark = pytest.mark.neo4j

# the conformance suite, run with the `store` fixture below
globals().update({n: getattr(conformance, n) for n in dir(conformance) if n.startswith("test_")})


def import_store(
    server: Neo4jServer, batch_size: int = 4, import_mode: ImportMode = "auto"
) -> Neo4jStore:
    """A store over the launcher's emptied database whose first load uses the offline importer."""
    runner = QueryRunner(server.uri, server.user, server.password, server.database)
    store = Neo4jStore(
        runner,
        batch_size=batch_size,
        import_mode=import_mode,
        launcher_home=server.home,
        offline_min_rows=0,
    )
    store.clear()
    return store


@pytest.fixture
def store(launcher_neo4j_server: Neo4jServer) -> Iterator[Store]:
    s = import_store(launcher_neo4j_server)
    yield s
    s.close()


def offline_loads(store: Neo4jStore) -> list[int]:
    """Count the offline imports `store` runs from now on (rows of each)."""
    seen: list[int] = []
    real = store._import_offline

    def counted(batch: Any, control: Any, progress: Any) -> Any:
        seen.append(sum(len(tb.frame) for tb in batch.tables.values()))
        return real(batch, control, progress)

    store._import_offline = counted  # type: ignore[method-assign]
    return seen


def graph_dump(store: Neo4jStore) -> tuple[list[str], list[str]]:
    """Every node (labels, properties) and relationship (type, ends, properties), sorted text.

    The bookkeeping nodes are left out (`StoreState` holds the load's time and source).
    """
    [nodes, rels] = store.runner.read_many(
        [
            Statement(
                "MATCH (n) WHERE NOT n:StoreState AND NOT n:LoadState "
                "RETURN labels(n) AS labels, properties(n) AS props"
            ),
            Statement(
                "MATCH (a)-[r]->(b) RETURN type(r) AS type, labels(a) AS a_labels, "
                "properties(a) AS a, labels(b) AS b_labels, properties(b) AS b, "
                "properties(r) AS props"
            ),
        ]
    )

    def text(row: dict[str, Any]) -> str:
        return repr(
            sorted((k, sorted(v.items()) if isinstance(v, dict) else v) for k, v in row.items())
        )

    return sorted(map(text, nodes)), sorted(map(text, rels))


def awkward_tables() -> dict[str, pd.DataFrame]:
    """The tiny world with text that CSV must quote: commas, quotes, a line break."""
    tables = tiny_tables()
    tables["companies"].loc[0, "name"] = '深圳市"光年",测试\n科技有限公司'
    tables["companies"].loc[1, "main_product"] = 'a "quoted", comma; semicolon'
    return tables


# -- both paths build the same graph --------------------------------------------------------
def test_both_load_paths_build_the_same_graph(
    launcher_neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    data = write_tables(awkward_tables(), tmp_path / "awkward")
    online = empty_neo4j_store(launcher_neo4j_server)
    assert online.load(read_directory(data)).changed
    by_transactions = graph_dump(online)
    reads = {name: online.read(name) for name in TABLES}
    online.close()

    store = import_store(launcher_neo4j_server)
    imports = offline_loads(store)
    result = store.load(read_directory(data))
    assert imports and result.changed and result.version == "n000001"
    assert graph_dump(store) == by_transactions
    for name in TABLES:
        pd.testing.assert_frame_equal(store.read(name), reads[name], obj=name)
    name = store.read("companies").set_index("uscc")["name"]
    assert '深圳市"光年",测试\n科技有限公司' in set(name)
    # every property has the type the transactional loader gives it: nothing to rewrite
    again = store.load(read_directory(data))
    assert not again.changed and len(imports) == 1
    store.close()


def test_an_imported_simulated_world_reads_like_the_embedded_store(
    launcher_neo4j_server: Neo4jServer,
    simulated_dir: Path,  # noqa: F811
    simulated_embedded: EmbeddedStore,  # noqa: F811
) -> None:
    store = import_store(launcher_neo4j_server, batch_size=5_000, import_mode="offline")
    result = store.load(read_directory(simulated_dir))
    assert result.changed and result.before == dict.fromkeys(TABLES, 0)
    assert result.after == simulated_embedded.counts()
    assert sum(result.after.values()) > 10 * SIMULATED_COMPANIES
    assert_same_reads(store, simulated_embedded, (None, pd.Timestamp("2022-06-30").date()))
    assert store.fingerprint() == Store.fingerprint(simulated_embedded)
    [constraints] = store.runner.read_many([Statement("SHOW CONSTRAINTS YIELD name RETURN name")])
    assert {"company_uscc", "supplies_key", "invited_key"} <= {c["name"] for c in constraints}
    store.close()


# -- an import never touches a database that holds anything ---------------------------------
def test_offline_import_into_a_database_with_data_is_refused(
    launcher_neo4j_server: Neo4jServer, tiny_dir: Path
) -> None:
    store = import_store(launcher_neo4j_server, import_mode="offline")
    store.runner.write([Statement("CREATE (:Note {text: 'kept'})")])
    with pytest.raises(UsageError, match=r"only fills an empty database.*holds 1 nodes"):
        store.load(read_directory(tiny_dir))
    [[note]] = store.runner.read_many([Statement("MATCH (n:Note) RETURN n.text AS text")])
    assert note["text"] == "kept"
    assert store.counts() == dict.fromkeys(TABLES, 0)
    store.close()


def test_auto_loads_a_database_with_data_by_transactions(
    launcher_neo4j_server: Neo4jServer, tiny_dir: Path
) -> None:
    store = import_store(launcher_neo4j_server)
    store.runner.write([Statement("CREATE (:Note {text: 'kept'})")])
    imports = offline_loads(store)
    batch = read_directory(tiny_dir)
    assert store.load(batch).changed
    assert imports == []
    assert store.counts() == {n: len(batch.tables[n].frame) for n in TABLES}
    [[note]] = store.runner.read_many([Statement("MATCH (n:Note) RETURN n.text AS text")])
    assert note["text"] == "kept"
    store.close()


def test_the_launcher_itself_refuses_a_database_with_data(
    launcher_neo4j_server: Neo4jServer,
) -> None:
    store = import_store(launcher_neo4j_server)
    store.runner.write([Statement("CREATE (:Note {text: 'kept'})")])
    control = LauncherControl.find(launcher_neo4j_server.home, launcher_neo4j_server.uri)
    assert control is not None and control.ping()
    with pytest.raises(Neo4jImportError, match="holds 1 nodes: the offline import only fills"):
        control.import_full(["--nodes=Note=/nonexistent.csv"])
    # refused before stopping anything: the same connections still work
    [[note]] = store.runner.read_many([Statement("MATCH (n:Note) RETURN n.text AS text")])
    assert note["text"] == "kept"
    store.close()


def test_a_failed_import_leaves_an_empty_working_database(
    launcher_neo4j_server: Neo4jServer, tmp_path: Path
) -> None:
    store = import_store(launcher_neo4j_server)
    control = LauncherControl.find(launcher_neo4j_server.home, launcher_neo4j_server.uri)
    assert control is not None
    header = tmp_path / "bad.header.csv"
    header.write_text("id:ID(Bad),n:long\n", encoding="utf-8")
    rows = tmp_path / "bad.csv"
    rows.write_text('"a",12\n"b",not-a-number\n', encoding="utf-8")
    with pytest.raises(Neo4jImportError, match="importer exited with status"):
        control.import_full([f"--nodes=Bad={header},{rows}", "--bad-tolerance=0"])
    store.runner.reconnect()
    [[count]] = store.runner.read_many([Statement("MATCH (n) RETURN count(n) AS n")])
    assert count["n"] == 0
    store.ensure_schema()
    assert store.counts() == dict.fromkeys(TABLES, 0)
    store.close()


def test_a_wrong_control_token_is_refused(launcher_neo4j_server: Neo4jServer) -> None:
    control = LauncherControl.find(launcher_neo4j_server.home, launcher_neo4j_server.uri)
    assert control is not None
    forged = LauncherControl(control.home, control.bolt, control.port, "0" * len(control.token))
    assert not forged.ping()
    with pytest.raises(Neo4jImportError, match="wrong control token"):
        forged.import_full([])


# -- a server we cannot stop ------------------------------------------------------------------
def test_a_server_without_launcher_is_loaded_by_transactions_and_says_so(
    neo4j_server: Neo4jServer, tiny_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runner = QueryRunner(neo4j_server.uri, neo4j_server.user, neo4j_server.password, "neo4j")
    store = Neo4jStore(runner, batch_size=4, launcher_home=None, offline_min_rows=0)
    store.clear()
    imports = offline_loads(store)
    batch = read_directory(tiny_dir)
    with caplog.at_level(logging.INFO, logger="graph.neo4j_store"):
        assert store.load(batch).changed
    assert imports == []
    assert "cannot be stopped from here for the offline importer" in caplog.text
    rows = sum(len(tb.frame) for tb in batch.tables.values())
    assert f"loading {rows:,} rows with UNWIND transactions" in caplog.text
    store.close()


def test_offline_without_a_launcher_is_a_plain_error(
    neo4j_server: Neo4jServer, tiny_dir: Path, tmp_path: Path
) -> None:
    runner = QueryRunner(neo4j_server.uri, neo4j_server.user, neo4j_server.password, "neo4j")
    elsewhere = tmp_path / "not-a-launcher"
    store = Neo4jStore(runner, import_mode="offline", launcher_home=elsewhere)
    with pytest.raises(UsageError, match="needs a server run by tools/neo4j on this machine"):
        store.load(read_directory(tiny_dir))
    store.close()
