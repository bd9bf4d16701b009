"""One store fixture per implementation: the conformance suite runs against each.

The `neo4j` kind talks to the session's real server (see `tests/neo4j_server.py`),
over a database emptied before each test, with small batches so that every load
spans several transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.embedded import EmbeddedStore
from graph.neo4j_runner import QueryRunner
from graph.neo4j_store import Neo4jStore
from graph.store import Store
from tests.neo4j_server import Neo4jServer

STORE_KINDS = [
    pytest.param("embedded", id="embedded"),
    pytest.param("neo4j", id="neo4j", marks=pytest.mark.neo4j),
]
#: rows per transaction in the conformance suite: small, so loads are multi-batch
TEST_BATCH_SIZE = 4


def empty_neo4j_store(server: Neo4jServer, batch_size: int = TEST_BATCH_SIZE) -> Neo4jStore:
    """A store over the server's database, emptied (constraints are kept)."""
    runner = QueryRunner(server.uri, server.user, server.password, server.database)
    store = Neo4jStore(runner, batch_size=batch_size)
    store.clear()
    return store


@pytest.fixture
def neo4j_store(neo4j_server: Neo4jServer) -> Iterator[Neo4jStore]:
    store = empty_neo4j_store(neo4j_server)
    yield store
    store.close()


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    kind = request.param
    if kind == "embedded":
        s: Store = EmbeddedStore(tmp_path / "store")
    elif kind == "neo4j":
        s = empty_neo4j_store(request.getfixturevalue("neo4j_server"))
    else:  # pragma: no cover - further kinds register themselves above
        raise AssertionError(kind)
    yield s
    s.close()
