"""The CLI on the Neo4j store: `discovery ingest` and `discovery status --json` with
DISCOVERY_STORE=neo4j report what they report with the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from discovery.cli import app
from tests.graph.conftest import empty_neo4j_store
from tests.neo4j_server import Neo4jServer

pytestmark = pytest.mark.neo4j

runner = CliRunner()


def use_neo4j(monkeypatch: pytest.MonkeyPatch, server: Neo4jServer, uri: str | None = None) -> None:
    monkeypatch.setenv("DISCOVERY_STORE", "neo4j")
    monkeypatch.setenv("NEO4J_URI", uri or server.uri)
    monkeypatch.setenv("NEO4J_USER", server.user)
    monkeypatch.setenv("NEO4J_PASSWORD", server.password)
    monkeypatch.setenv("NEO4J_DATABASE", server.database)
    monkeypatch.setenv("DISCOVERY_NEO4J_BATCH_SIZE", "50")


def ingest_and_status(data: Path) -> tuple[str, dict]:
    result = runner.invoke(app, ["ingest", "--data", str(data)])
    assert result.exit_code == 0, result.output
    status = runner.invoke(app, ["status", "--json"])
    assert status.exit_code == 0, status.output
    return result.stdout, json.loads(status.stdout)


def test_ingest_and_status_report_the_same_counts_as_the_embedded_store(
    home: Path, tiny_dir: Path, neo4j_server: Neo4jServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, embedded = ingest_and_status(tiny_dir)
    assert embedded["store"]["kind"] == "embedded"

    empty_neo4j_store(neo4j_server).close()
    use_neo4j(monkeypatch, neo4j_server)
    out, status = ingest_and_status(tiny_dir)
    assert "neo4j store" in out and "stored as n000001" in out
    assert status["store"]["kind"] == "neo4j"
    assert status["store"]["tables"] == embedded["store"]["tables"]
    assert status["store"]["uri"] == neo4j_server.uri

    again = runner.invoke(app, ["ingest", "--data", str(tiny_dir)])
    assert again.exit_code == 0 and "no change" in again.stdout


def test_ingest_into_an_empty_database_can_use_the_offline_importer(
    home: Path,
    tiny_dir: Path,
    launcher_neo4j_server: Neo4jServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, embedded = ingest_and_status(tiny_dir)
    empty_neo4j_store(launcher_neo4j_server).close()
    use_neo4j(monkeypatch, launcher_neo4j_server)
    monkeypatch.setenv("NEO4J_IMPORT", "offline")
    monkeypatch.setenv("NEO4J_LAUNCHER_HOME", str(launcher_neo4j_server.home))
    out, status = ingest_and_status(tiny_dir)
    assert "stored as n000001" in out
    assert status["store"]["tables"] == embedded["store"]["tables"]
    # the database now holds data: the offline importer refuses, and says what to do
    again = runner.invoke(app, ["ingest", "--data", str(tiny_dir)])
    assert again.exit_code == 2
    assert "only fills an empty database" in again.stderr
    assert "NEO4J_IMPORT=auto or online" in again.stderr
    monkeypatch.setenv("NEO4J_IMPORT", "auto")
    auto = runner.invoke(app, ["ingest", "--data", str(tiny_dir)])
    assert auto.exit_code == 0 and "no change" in auto.stdout


def test_a_server_that_is_down_exits_1_with_one_plain_line(
    home: Path, neo4j_server: Neo4jServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_neo4j(monkeypatch, neo4j_server, uri="bolt://127.0.0.1:9")
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach Neo4j at bolt://127.0.0.1:9: ")
    assert "Traceback" not in result.output
