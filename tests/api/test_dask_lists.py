"""The service's lists on the dask engine: the same companies, order, scores and checks.

The session's trained world is copied without its snapshot cache, so each engine
builds the list's feature snapshot itself; the dask engine's is built on a
two-worker `LocalCluster` the service starts for the build (as in a deployment
with `DISCOVERY_ENGINE=dask` and no scheduler), closed once the snapshot is made.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import distributed
import pytest
from distributed.core import Status
from fastapi.testclient import TestClient

from api.main import create_app
from discovery.snapshots import SUFFIX
from tests.api.conftest import AS_OF, World, make_keys, settings_for
from tests.recorded_cluster import RecordedCluster

#: a cluster that stops answering fails the test instead of holding CI up
#: (the session's world, trained once for every API test, is not counted)
pytestmark = pytest.mark.timeout(300, func_only=True)

LIST = "/v1/invitations"
PAGE = 200


def fresh_home(world: World, base: Path) -> Path:
    """The world's models and store, without a cached snapshot."""
    home = base / "home"
    shutil.copytree(world.home, home, ignore=shutil.ignore_patterns("records.db*", "cache"))
    assert not (home / "cache").exists()
    return home


def whole_list(home: Path, engine: str, tier: str) -> list[dict[str, Any]]:
    """Every page of the tier's list at `AS_OF`, served by a new app over `home` whose
    settings (read from the environment, as a deployment's) name `engine`."""
    app = create_app(settings_for(home))
    assert app.state.service.settings.engine == engine
    keys, _ = make_keys(app, "1100")
    pages: list[dict[str, Any]] = []
    with TestClient(app) as client:
        while not pages or pages[-1]["offset"] + PAGE < pages[-1]["count"]:
            query = {
                "tier": tier,
                "as_of": AS_OF.isoformat(),
                "limit": PAGE,
                "offset": PAGE * len(pages),
            }
            answer = client.get(
                LIST, params=query, headers={"Authorization": f"Bearer {keys['analyst']}"}
            )
            assert answer.status_code == 200, answer.text
            pages.append(answer.json())
    return pages


def test_a_list_on_the_dask_engine_is_the_pandas_list(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tier = "specialized_sme"
    monkeypatch.setenv("DISCOVERY_ENGINE", "pandas")
    monkeypatch.delenv("DISCOVERY_DASK_SCHEDULER", raising=False)
    monkeypatch.setattr(distributed, "LocalCluster", RecordedCluster)
    RecordedCluster.started.clear()
    reference = whole_list(fresh_home(world, tmp_path / "pandas"), "pandas", tier)
    assert RecordedCluster.started == []

    monkeypatch.setenv("DISCOVERY_ENGINE", "dask")
    monkeypatch.setenv("DISCOVERY_DASK_WORKERS", "2")
    monkeypatch.setenv("DISCOVERY_DASK_MEMORY_LIMIT", "1GB")
    home = fresh_home(world, tmp_path / "dask")
    built = whole_list(home, "dask", tier)

    # the snapshot was built on a two-worker cluster, which the service closed after it
    [cluster] = RecordedCluster.started
    assert cluster.workers_seen == 2
    assert {"own_rows_at", "track_record"} <= cluster.tasks_seen
    assert cluster.status == Status.closed
    assert distributed.client._get_global_client() is None
    assert list((home / "cache" / "snapshots").rglob(f"*{SUFFIX}"))

    rows = [row for page in reference for row in page["data"]]
    assert 50 < len(rows) == reference[0]["count"]
    assert all(row["checks"] for row in rows)
    assert len({c["status"] for row in rows for c in row["checks"]}) > 1
    assert len({row["score"] for row in rows}) > len(rows) // 2
    dask_rows = [row for page in built for row in page["data"]]
    # same companies in the same order, same scores, same threshold checks and reasons
    assert [(r["uscc"], r["rank"]) for r in dask_rows] == [(r["uscc"], r["rank"]) for r in rows]
    assert [r["score"] for r in dask_rows] == [r["score"] for r in rows]
    assert [r["checks"] for r in dask_rows] == [r["checks"] for r in rows]
    assert built == reference
