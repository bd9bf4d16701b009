"""Neo4j-store specifics, against a real server: parity with the embedded store, resumed
loads, the graph model, and plain errors for a server that is down, a wrong password,
a wrong database and a constraint that refuses a write."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TypeVar

import neo4j
import pandas as pd
import pytest

from graph import neo4j_queries as q
from graph.contract import TABLES
from graph.embedded import EmbeddedStore
from graph.errors import ConstraintViolationError, StoreError, StoreUnavailableError
from graph.neo4j_batches import RowBatch
from graph.neo4j_runner import QueryRunner, Run, Statement
from graph.neo4j_store import Neo4jStore
from graph.settings import get_settings
from graph.store import Progress, Store
from graph.validation import read_directory
from tests.factories import CUT, codes
from tests.graph.conftest import empty_neo4j_store
from tests.neo4j_server import Neo4jServer

pytestmark = pytest.mark.neo4j
T = TypeVar("T")

AS_OFS = (None, date(2019, 12, 31), date(2022, 6, 30), date.fromisoformat(CUT), date(2025, 12, 31))
SIMULATED_COMPANIES = 2000


@pytest.fixture(scope="module")
def simulated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated world of 2,000 companies (about 29,000 rows of every table)."""
    from discovery.simulation import simulate

    out = tmp_path_factory.mktemp("simulated") / "data"
    simulate(SIMULATED_COMPANIES, 11, out, None, fmt="parquet")
    return out


@pytest.fixture(scope="module")
def simulated_embedded(
    simulated_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path_factory.mktemp("embedded") / "store")
    store.load(read_directory(simulated_dir))
    return store


@pytest.fixture
def sim_store(neo4j_server: Neo4jServer) -> Iterator[Neo4jStore]:
    """An empty Neo4j store with batches of 500 rows (a simulated world is ~60 batches)."""
    store = empty_neo4j_store(neo4j_server, batch_size=500)
    yield store
    store.close()


def assert_same_reads(actual: Store, expected: Store, as_ofs: tuple[date | None, ...]) -> None:
    assert actual.counts() == expected.counts()
    for as_of in as_ofs:
        for name in TABLES:
            pd.testing.assert_frame_equal(
                actual.read(name, as_of), expected.read(name, as_of), obj=f"{name} at {as_of}"
            )


def graph_shape(store: Neo4jStore) -> dict[str, int]:
    """Nodes per label and relationships per type: the graph beyond what reads show."""
    [labels, types] = store.runner.read_many(
        [
            Statement("MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS n"),
            Statement("MATCH ()-[r]->() RETURN type(r) AS label, count(*) AS n"),
        ]
    )
    return {row["label"]: row["n"] for row in labels + types if row["label"] != "LoadState"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- parity with the embedded store -------------------------------------------------------
def test_every_read_matches_the_embedded_store_on_the_tiny_world(
    neo4j_store: Neo4jStore, tiny_dir: Path, tmp_path: Path
) -> None:
    embedded = EmbeddedStore(tmp_path / "embedded")
    embedded.load(read_directory(tiny_dir))
    neo4j_store.load(read_directory(tiny_dir))
    assert_same_reads(neo4j_store, embedded, AS_OFS)


def test_every_read_matches_the_embedded_store_on_a_simulated_world(
    sim_store: Neo4jStore, simulated_dir: Path, simulated_embedded: EmbeddedStore
) -> None:
    result = sim_store.load(read_directory(simulated_dir))
    assert result.changed
    assert result.after == simulated_embedded.counts()
    assert sum(result.after.values()) > 10 * SIMULATED_COMPANIES
    assert_same_reads(sim_store, simulated_embedded, (None, date(2022, 6, 30), date(2025, 12, 31)))
    # same content, by the store-independent digest of every table
    assert sim_store.fingerprint() == Store.fingerprint(simulated_embedded)


def test_reloading_a_simulated_world_changes_nothing(
    sim_store: Neo4jStore, simulated_dir: Path
) -> None:
    sim_store.load(read_directory(simulated_dir))
    counts, fingerprint, shape = sim_store.counts(), sim_store.fingerprint(), graph_shape(sim_store)
    version = sim_store.version()
    again = sim_store.load(read_directory(simulated_dir))
    assert not again.changed
    assert again.before == again.after == counts
    assert again.version == version
    assert sim_store.fingerprint() == fingerprint
    assert graph_shape(sim_store) == shape


def test_tables_loaded_in_parallel_give_the_same_graph(
    neo4j_server: Neo4jServer, simulated_dir: Path, simulated_embedded: EmbeddedStore
) -> None:
    store = empty_neo4j_store(neo4j_server, batch_size=500)
    store.parallel = 3
    batch = read_directory(simulated_dir)
    assert store.load(batch).changed
    assert_same_reads(store, simulated_embedded, (None, date(2022, 6, 30)))
    assert not store.load(batch).changed
    store.close()


def test_a_failing_table_stops_the_tables_loaded_beside_it(
    neo4j_server: Neo4jServer, simulated_dir: Path
) -> None:
    store = empty_neo4j_store(neo4j_server, batch_size=500)
    store.parallel = 2

    def progress(step: str, done: int, total: int) -> None:
        if step == "load patents":
            raise Interrupted(step)

    batch = read_directory(simulated_dir)
    with pytest.raises(Interrupted):  # the failure itself, not a table stopped because of it
        store.load(batch, progress=progress)
    counts = store.counts()
    # the table beside it stopped at its next batch; the tables not started never began
    assert counts["companies"] == SIMULATED_COMPANIES
    assert counts["patents"] == 0
    assert counts["supply_links"] < len(batch.tables["supply_links"].frame)
    assert counts["talents"] == counts["awards"] == 0
    assert store.load(batch).changed
    assert store.counts()["patents"] == len(batch.tables["patents"].frame)
    store.close()


# -- resumable loads -----------------------------------------------------------------------
class Interrupted(Exception):
    pass


def crash_after(steps: int) -> Progress:
    calls = 0

    def progress(step: str, done: int, total: int) -> None:
        nonlocal calls
        calls += 1
        if calls > steps:
            raise Interrupted(f"{step} {done}/{total}")

    return progress


def test_a_resumed_load_ends_with_the_same_graph_as_an_uninterrupted_one(
    neo4j_server: Neo4jServer,
    sim_store: Neo4jStore,
    simulated_dir: Path,
    simulated_embedded: EmbeddedStore,
) -> None:
    batch = read_directory(simulated_dir)
    sim_store.load(batch)
    uninterrupted = graph_shape(sim_store)

    sim_store.clear()
    written = count_writes(sim_store)
    with pytest.raises(Interrupted):
        sim_store.load(batch, progress=crash_after(25))  # in the middle of supply_links
    partial = sim_store.counts()
    assert partial["companies"] == SIMULATED_COMPANIES
    assert 0 < partial["supply_links"] < simulated_embedded.counts()["supply_links"]
    assert partial["patents"] == 0

    # a new process reruns the same load: finished batches are skipped, not rewritten
    rerun = empty_store_without_clearing(neo4j_server, batch_size=500)
    writes = count_writes(rerun)
    result = rerun.load(batch)
    assert result.changed
    total_batches = sum(-(-len(tb.frame) // 500) for tb in batch.tables.values())
    assert 0 < written["batches"] < total_batches
    assert writes["batches"] == total_batches - written["batches"]
    assert_same_reads(rerun, simulated_embedded, (None, date.fromisoformat(CUT)))
    assert graph_shape(rerun) == uninterrupted
    rerun.close()


def test_a_resumed_load_is_right_without_its_progress_record(
    neo4j_store: Neo4jStore, tiny_dir: Path
) -> None:
    batch = read_directory(tiny_dir)
    with pytest.raises(Interrupted):
        neo4j_store.load(batch, progress=crash_after(9))
    neo4j_store.runner.write([Statement("MATCH (s:LoadState) DELETE s")])
    assert neo4j_store.load(batch).changed
    for name in TABLES:
        expected = batch.tables[name].frame.sort_values(list(TABLES[name].key), ignore_index=True)
        pd.testing.assert_frame_equal(neo4j_store.read(name), expected, obj=name)


def empty_store_without_clearing(server: Neo4jServer, batch_size: int) -> Neo4jStore:
    runner = QueryRunner(server.uri, server.user, server.password, server.database)
    return Neo4jStore(runner, batch_size=batch_size)


def count_writes(store: Neo4jStore) -> dict[str, int]:
    """Count the batch transactions `store` runs from now on."""
    seen = {"batches": 0}
    real = store.runner.transaction

    def transaction(work: Callable[[Run], T]) -> T:
        seen["batches"] += 1
        return real(work)

    store.runner.transaction = transaction  # type: ignore[method-assign]
    return seen


def test_a_batch_is_split_into_new_changed_and_moved_rows_and_identical_ones_are_left() -> None:
    """The client-side split of a batch by what the graph returned for its keys."""
    rows = {
        q.START_KEY: ["A", "A", "B", "C", "D"],
        q.END_KEY: ["X", "Y", "Z", "W", "V"],
        q.ROW_KEY: ["A|X|d1", "A|Y|d2", "B|Z|d3", "C|W|d4", "D|V|d5"],
        q.PROPS: [3, 3, 2, 2, 2],
        "start_on": ["d1", "d2", "d3", "d4", "d5"],
        "end_on": [None, "2025-01-01", None, None, None],
        "amount_wan": [1.5, 2.5, None, None, None],
    }
    # rows 1..4 are stored: 1 as it is, 2 with another amount, 3 between other nodes,
    # 4 with the same values but one property more (someone added it)
    stored = {
        "i": [3, 1, 2, 4],
        q.START_KEY: ["Q", "A", "B", "D"],
        q.END_KEY: ["W", "Y", "Z", "V"],
        q.REL_ID: ["r3", "r1", "r2", "r4"],
        q.PROPS: [2, 3, 3, 3],
        "start_on": ["d4", "d2", "d3", "d5"],
        "end_on": [None, "2025-01-01", None, None],
        "amount_wan": [None, 2.5, 9.0, None],
    }
    new, changed, other = RowBatch(q.REL_TABLES["supply_links"]).split(rows, stored)
    assert new == [0]
    assert changed == [(2, 2), (4, 3)]  # (row, its place in what was returned)
    assert other == [3]


# -- the graph model -------------------------------------------------------------------------
def test_the_graph_model(neo4j_store: Neo4jStore, tiny_dir: Path) -> None:
    neo4j_store.load(read_directory(tiny_dir))
    run = neo4j_store.runner.read_many
    [[counterparty], [unlinked], [link], ip_holders, [fiscal]] = run(
        [
            Statement("MATCH (c:Company) WHERE NOT c:Profiled RETURN c.uscc AS uscc, keys(c) AS k"),
            Statement(
                "MATCH (c:Company:Profiled) WHERE NOT (c)-[:IN_REGION]->(:Region) "
                "OR NOT (c)-[:IN_INDUSTRY]->(:Industry) RETURN count(c) AS n"
            ),
            Statement(
                "MATCH (:Company)-[r:SUPPLIES]->(:Company {uscc: $outsider}) "
                "RETURN properties(r) AS r",
                {"outsider": codes(1, region="110108", start=90)[0]},
            ),
            Statement(
                "MATCH (c:Company)-[h:HOLDS_IP]->(:IP {id: 'CN5'}) RETURN h.applicant_rank AS rank"
            ),
            Statement(
                "MATCH (:Company)-[r:REPORTED]->(f:FiscalYear) WITH f ORDER BY f.year LIMIT 1 "
                "RETURN f.key AS key, f.year AS year"
            ),
        ]
    )
    # a counterparty is a company node without a profile, never a profiled company
    assert counterparty["k"] == ["uscc"]
    assert unlinked["n"] == 0
    # relationships carry their dates as Neo4j dates; null values are not stored
    rel = link["r"]
    assert isinstance(rel["start_on"], neo4j.time.Date)
    assert "end_on" not in rel and "amount_wan" not in rel
    assert sorted(row["rank"] for row in ip_holders) == [1, 2]
    assert fiscal["key"].endswith("|2022") and fiscal["year"] == 2022
    [constraints] = run(
        [Statement("SHOW CONSTRAINTS YIELD type, labelsOrTypes AS on, properties RETURN *")]
    )
    unique = {
        (row["on"][0], row["properties"][0])
        for row in constraints
        if row["type"].endswith("UNIQUENESS") and len(row["properties"]) == 1
    }
    assert {
        ("Company", "uscc"),
        ("FiscalYear", "key"),
        ("IP", "id"),
        ("SUPPLIES", "key"),
        ("INVITED", "key"),
    } <= unique


# -- plain errors ----------------------------------------------------------------------------
def test_a_conflicting_relationship_is_reported_plainly(
    neo4j_store: Neo4jStore, tiny_dir: Path
) -> None:
    batch = read_directory(tiny_dir)
    link = batch.tables["supply_links"].frame.iloc[0]
    key = f"{link.supplier_uscc}|{link.customer_uscc}|{link.start_on:%Y-%m-%d}"
    neo4j_store.ensure_schema()
    # someone wired the link between two other nodes by hand
    neo4j_store.runner.write(
        [
            Statement(
                "CREATE (:Company {uscc: 'X1'})-[:SUPPLIES {key: $key}]->(:Company {uscc: 'X2'})",
                {"key": key},
            )
        ]
    )
    with pytest.raises(ConstraintViolationError) as caught:
        neo4j_store.load(batch)
    message = str(caught.value)
    assert "SUPPLIES relationship with key = " in message
    assert key in message and "rerun the load" in message
    assert (caught.value.label, caught.value.property) == ("SUPPLIES", "key")  # type: ignore[attr-defined]


def test_a_conflicting_node_is_reported_plainly(neo4j_store: Neo4jStore, tiny_dir: Path) -> None:
    neo4j_store.load(read_directory(tiny_dir))
    uscc = codes(1)[0]
    with pytest.raises(ConstraintViolationError, match=f"a Company node with uscc = '{uscc}'"):
        neo4j_store.runner.write([Statement("CREATE (:Company {uscc: $u})", {"u": uscc})])


def test_a_server_that_is_down_is_a_plain_error(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"bolt://127.0.0.1:{free_port()}"
    monkeypatch.setenv("NEO4J_URI", uri)
    monkeypatch.setenv("DISCOVERY_STORE", "neo4j")
    store = Neo4jStore.from_settings(get_settings())
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        store.counts()
    assert time.monotonic() - started < 10  # not retried for long
    message = str(caught.value)
    assert message.startswith(f"cannot reach Neo4j at {uri}: is the server running?")
    assert "NEO4J_URI" in message
    store.close()


def test_a_wrong_password_is_a_plain_error(neo4j_server: Neo4jServer) -> None:
    runner = QueryRunner(neo4j_server.uri, neo4j_server.user, "not-the-password", "neo4j")
    with pytest.raises(StoreError, match="refused the login of user") as caught:
        Neo4jStore(runner).read("companies")
    assert "NEO4J_PASSWORD" in str(caught.value)
    runner.close()


def test_a_wrong_database_is_a_plain_error(neo4j_server: Neo4jServer) -> None:
    runner = QueryRunner(
        neo4j_server.uri, neo4j_server.user, neo4j_server.password, "discovery_nope"
    )
    with pytest.raises(StoreError, match="has no database 'discovery_nope'") as caught:
        Neo4jStore(runner).counts()
    assert "NEO4J_DATABASE" in str(caught.value)
    runner.close()


def test_values_never_enter_the_query_text() -> None:
    """Every statement is built from our constants; values are `$parameters` only."""
    queries = [q.upsert_companies(), q.link_companies(), q.SET_LOAD_STATE]
    queries += [q.read_page(name) for name in TABLES]
    queries += [q.merge_nodes(ref) for ref in q.node_refs()]
    queries += [
        make(rt)
        for rt in q.REL_TABLES.values()
        for make in (q.upsert_rows, q.stored_rows, q.create_rows, q.update_rows)
    ]
    for query in queries:
        assert "$" in query
        assert "'" not in query and '"' not in query  # no literal strings at all
