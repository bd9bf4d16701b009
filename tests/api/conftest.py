"""A simulated world served by the app, built once per session, and a key per role.

The world is simulated, ingested into an embedded store under a temporary
`DISCOVERY_HOME` and trained for both tiers; the app is the real one
(`create_app`), driven through real HTTP clients.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.config import ServiceSettings
from api.main import create_app
from api.views import full_list
from discovery import records
from discovery.criteria import default_criteria
from discovery.registry import Registry
from discovery.simulation import simulate
from discovery.training import SnapshotCache, train_tier
from graph.embedded import EmbeddedStore
from graph.loading import ingest

AS_OF = date(2025, 12, 31)
COMPANIES = 3000
SEED = 5


@dataclass
class World:
    home: Path
    data: Path
    companies: pd.DataFrame  # every company, indexed by uscc
    links: pd.DataFrame
    investments: pd.DataFrame


@dataclass
class Served:
    """The app over the world, its client, and a key per role (official bound to `city`)."""

    world: World
    app: FastAPI
    client: TestClient
    keys: dict[str, str]
    city: str
    key_ids: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def build_world(base: Path) -> World:
    data = base / "data"
    simulate(COMPANIES, SEED, data, base / "truth.csv", end=AS_OF)
    home = base / "home"
    store = EmbeddedStore(home / "store")
    ingest(data, store, home / "rejects.csv")
    registry = Registry(home / "models")
    criteria = default_criteria()
    snapshots = SnapshotCache(store, criteria)
    for tier in ("specialized_sme", "little_giant"):
        train_tier(store, tier, AS_OF, criteria, registry, snapshots=snapshots)
    return World(
        home,
        data,
        store.read("companies").set_index("uscc"),
        store.read("supply_links"),
        store.read("investments"),
    )


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("api-world"))


def settings_for(home: Path, **overrides: object) -> ServiceSettings:
    base: dict[str, object] = {"home": home, "store": "embedded", "database_url": None}
    base.update({"rate_per_second": 10_000.0, "rate_burst": 10_000})
    # the suite sends many keyless calls from one address on purpose
    base.update({"failed_auth_burst": 100_000})
    base.update(overrides)
    return ServiceSettings.model_validate(base)


def make_keys(app: FastAPI, city: str) -> tuple[dict[str, str], dict[str, str]]:
    keys, ids = {}, {}
    with app.state.service.records.session() as session:
        for role in ("official", "analyst", "platform", "admin"):
            made = records.create_key(session, role, [city] if role == "official" else None)
            keys[role], ids[role] = made.secret, made.key_id
    return keys, ids


def busiest_city(app: FastAPI) -> str:
    """The city (4-digit prefix) with the most listed specialized-SME candidates."""
    ranked = full_list(app.state.service, "specialized_sme", AS_OF)
    return str(ranked.frame["region_code"].str.slice(0, 4).value_counts().index[0])


@pytest.fixture(scope="session")
def served(world: World) -> Iterator[Served]:
    app = create_app(settings_for(world.home))
    city = busiest_city(app)
    keys, ids = make_keys(app, city)
    with TestClient(app) as client:
        yield Served(world, app, client, keys, city, ids)


@pytest.fixture(scope="session")
def world_copy(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the world's state directory, for tests that change it (uploads, training)."""
    home = tmp_path_factory.mktemp("api-copy") / "home"
    shutil.copytree(world.home, home, ignore=shutil.ignore_patterns("records.db*"))
    return home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the test server did not start within 30 s")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
