"""The one way this service talks to Neo4j: a small query runner over the official driver.

Every Cypher statement goes through `QueryRunner`. Values always travel as
parameters (`$rows`, `$as_of`); the query text holds only our own labels,
relationship types and property names (see `graph.neo4j_queries`). Driver errors
are translated here, in one place, into our errors with plain messages that say
what to do.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import neo4j
from neo4j import GraphDatabase
from neo4j import exceptions as nx

from graph.errors import ConstraintViolationError, StoreError, StoreUnavailableError

log = logging.getLogger(__name__)

#: How long the driver keeps retrying a transaction that failed for a transient reason
#: (a leader switch, a lock timeout). A server that is down fails fast anyway: the runner
#: checks that it can reach it before the first transaction.
MAX_RETRY_SECONDS = 15.0


class Neo4jAuthError(StoreError):
    def __init__(self, uri: str, user: str) -> None:
        super().__init__(
            f"Neo4j at {uri} refused the login of user '{user}': "
            "check NEO4J_USER and NEO4J_PASSWORD."
        )


class Neo4jDatabaseNotFoundError(StoreError):
    def __init__(self, uri: str, database: str) -> None:
        super().__init__(
            f"Neo4j at {uri} has no database '{database}': set NEO4J_DATABASE to an existing "
            "database (Community edition has just one, normally 'neo4j')."
        )


class Neo4jUnavailableError(StoreUnavailableError):
    def __init__(self, uri: str, why: str) -> None:
        super().__init__(
            f"cannot reach Neo4j at {uri}: is the server running? "
            f"Set NEO4J_URI to its bolt:// address. ({why})"
        )


class Neo4jConstraintError(ConstraintViolationError):
    """A write met a uniqueness constraint: names the label (or type), property and value."""

    _SHAPE = re.compile(
        r"(?P<what>Node|Relationship)\(\d+\) already exists with (?:label|type) "
        r"`(?P<label>[^`]+)` and property `(?P<prop>[^`]+)` = (?P<value>.+)",
        re.DOTALL,
    )

    def __init__(self, message: str) -> None:
        match = self._SHAPE.search(message)
        if match is None:
            super().__init__(
                f"Neo4j refused a write that breaks a uniqueness constraint: {message}"
            )
            self.label = self.property = self.value = None
            return
        self.label, self.property, self.value = match["label"], match["prop"], match["value"]
        thing = "node" if match["what"] == "Node" else "relationship"
        super().__init__(
            f"Neo4j refused the load: a {self.label} {thing} with {self.property} = {self.value} "
            f"already exists elsewhere in the graph (uniqueness constraint on "
            f"{self.label}.{self.property}). It was not written by this service's loader; remove "
            "or correct it in Neo4j, then rerun the load (the batches already written are kept)."
        )


class Neo4jMemoryError(StoreError):
    def __init__(self, message: str) -> None:
        super().__init__(
            "Neo4j ran out of transaction memory: if this was a load, lower "
            f"DISCOVERY_NEO4J_BATCH_SIZE or raise the server's transaction memory. ({message})"
        )


T = TypeVar("T")


@dataclass(frozen=True)
class Statement:
    """A Cypher text (our constants only) and its parameters (every value)."""

    query: str
    parameters: dict[str, Any] = field(default_factory=dict)


#: runs one statement inside a transaction and returns its records (see `QueryRunner.transaction`)
Run = Callable[[Statement], list[dict[str, Any]]]


class QueryRunner:
    """Runs Cypher on one database of one server; all driver errors leave it translated."""

    def __init__(
        self,
        uri: str,
        user: str,
        password: str,
        database: str,
        *,
        max_retry_seconds: float = MAX_RETRY_SECONDS,
    ) -> None:
        self.uri = uri
        self.user = user
        self.database = database
        self._new_driver = lambda: GraphDatabase.driver(
            uri,
            auth=(user, password),
            max_transaction_retry_time=max_retry_seconds,
            notifications_min_severity="OFF",
        )
        self._driver = self._new_driver()
        self._checked = False

    # -- the three ways to run Cypher ---------------------------------------------------
    def read(self, statement: Statement) -> tuple[list[str], list[list[Any]]]:
        """(column names, rows) of one read query, in one read transaction."""

        def work(tx: neo4j.ManagedTransaction) -> tuple[list[str], list[list[Any]]]:
            result = tx.run(statement.query, statement.parameters)
            keys = list(result.keys())
            return keys, result.values()

        with self._session() as session:
            return session.execute_read(work)

    def read_many(self, statements: Sequence[Statement]) -> list[list[dict[str, Any]]]:
        """The records (as dicts) of several read queries, in one read transaction."""

        def work(tx: neo4j.ManagedTransaction) -> list[list[dict[str, Any]]]:
            return [tx.run(s.query, s.parameters).data() for s in statements]

        with self._session() as session:
            return session.execute_read(work)

    def write(self, statements: Sequence[Statement]) -> list[list[dict[str, Any]]]:
        """Run `statements` in order in ONE write transaction; their records as dicts.

        The transaction commits only if every statement succeeds; a transient failure
        retries the whole function, which is safe because our writes are MERGEs.
        """

        def work(tx: neo4j.ManagedTransaction) -> list[list[dict[str, Any]]]:
            return [tx.run(s.query, s.parameters).data() for s in statements]

        with self._session() as session:
            return session.execute_write(work)

    def transaction(self, work: Callable[[Run], T]) -> T:
        """`work(run)` in ONE write transaction, where `run(statement)` returns its records.

        For writes whose later statements depend on earlier results. `work` may be run
        again after a transient failure, so it must be safe to repeat (MERGEs are).
        """

        def tx_work(tx: neo4j.ManagedTransaction) -> T:
            return work(lambda s: tx.run(s.query, s.parameters).data())

        with self._session() as session:
            return session.execute_write(tx_work)

    def schema(self, query: str) -> None:
        """A schema statement (constraint, index) in its own auto-commit transaction."""
        with self._session() as session:
            session.run(query).consume()  # type: ignore[arg-type]  # our constant text

    def schema_many(self, queries: Sequence[str]) -> None:
        """Schema statements in ONE transaction: Neo4j then fills their indexes together."""
        with self._session() as session, session.begin_transaction() as tx:
            for query in queries:
                tx.run(query).consume()  # type: ignore[arg-type]  # our constant text
            tx.commit()

    # -- plumbing -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _session(self) -> Iterator[neo4j.Session]:
        with self.translated_errors():
            if not self._checked:
                self._check()
            with self._driver.session(database=self.database) as session:
                yield session

    def _check(self) -> None:
        """Reach the server, log in and find the database once, so failures are fast and plain.

        Without this a server that is down would be retried for `max_retry_seconds`.
        """
        self._driver.verify_connectivity()
        with self._driver.session(database=self.database) as session:
            session.run("RETURN 1").consume()
        self._checked = True

    @contextlib.contextmanager
    def translated_errors(self) -> Iterator[None]:
        """Turn the driver's errors about the server, login, database and constraints into ours.

        Anything else (a Cypher syntax error, say) is a bug of ours and keeps its traceback.
        """
        try:
            yield
        except nx.AuthError as exc:
            raise Neo4jAuthError(self.uri, self.user) from exc
        except nx.ConstraintError as exc:
            raise Neo4jConstraintError(exc.message or str(exc)) from exc
        except (nx.ServiceUnavailable, nx.SessionExpired) as exc:
            why = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise Neo4jUnavailableError(self.uri, why) from exc
        except nx.Neo4jError as exc:
            code = exc.code or ""
            if code == "Neo.ClientError.Database.DatabaseNotFound":
                raise Neo4jDatabaseNotFoundError(self.uri, self.database) from exc
            if "MemoryPoolOutOfMemoryError" in code or "TransactionOutOfMemoryError" in code:
                raise Neo4jMemoryError(exc.message or code) from exc
            if code.startswith("Neo.TransientError.") or code.startswith("Neo.DatabaseError."):
                raise StoreError(f"Neo4j at {self.uri} failed: {code}: {exc.message}") from exc
            raise

    def reconnect(self) -> None:
        """Drop every pooled connection (the server was restarted) and check the server again."""
        self._driver.close()
        self._driver = self._new_driver()
        self._checked = False

    def close(self) -> None:
        self._driver.close()
