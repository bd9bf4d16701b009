"""A workspace builds its features on the engine of its own settings, not the environment's."""

from __future__ import annotations

import socket

import pytest

import discovery
from features import engine
from graph.errors import UsageError
from graph.settings import Settings
from tests.features.worlds import AS_OF, load_store, small_world, write_world


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> str:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setattr(engine, "CONNECT_SECONDS", 1.0)
    return address


@pytest.fixture
def home(tmp_path):
    load_store(write_world(small_world(), tmp_path / "data"), tmp_path / "home" / "store")
    return tmp_path / "home"


def test_the_workspaces_dask_setting_is_used_without_the_environment(
    home, unreachable, monkeypatch
):
    for name in ("DISCOVERY_ENGINE", "DISCOVERY_DASK_SCHEDULER"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(engine="dask", dask_scheduler=unreachable)
    ws = discovery.load(home, settings=settings, disk_cache=False)
    with pytest.raises(UsageError, match=f"No Dask scheduler answers at {unreachable}"):
        ws.features(AS_OF)


def test_the_workspaces_pandas_setting_wins_over_the_environment(home, unreachable, monkeypatch):
    monkeypatch.setenv("DISCOVERY_ENGINE", "dask")
    monkeypatch.setenv("DISCOVERY_DASK_SCHEDULER", unreachable)
    ws = discovery.load(home, settings=Settings(engine="pandas"), disk_cache=False)
    table = ws.features(AS_OF)  # built here: the unreachable cluster is never asked
    assert len(table) == len(ws.table("companies", AS_OF)) > 0
