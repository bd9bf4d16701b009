"""A simulated world, ingested and trained once per test session, for the model and ranking tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from discovery.criteria import Criteria, default_criteria
from discovery.registry import Registry
from discovery.simulation import simulate
from discovery.training import SnapshotCache, TrainResult, train_tier
from graph.embedded import EmbeddedStore
from graph.validation import read_directory

AS_OF = date(2025, 12, 31)


@dataclass
class TrainedWorld:
    data: Path
    truth: pd.DataFrame
    store: EmbeddedStore
    registry: Registry
    criteria: Criteria
    snapshots: SnapshotCache
    results: dict[str, TrainResult]


@pytest.fixture(scope="session")
def trained_world(tmp_path_factory: pytest.TempPathFactory) -> TrainedWorld:
    base = tmp_path_factory.mktemp("trained")
    simulate(4000, 21, base / "data", base / "truth.csv", end=AS_OF)
    store = EmbeddedStore(base / "home" / "store")
    store.load(read_directory(base / "data"))
    registry = Registry(base / "home" / "models")
    criteria = default_criteria()
    snapshots = SnapshotCache(store, criteria)
    results = {
        tier: train_tier(store, tier, AS_OF, criteria, registry, snapshots=snapshots)
        for tier in ("specialized_sme", "little_giant")
    }
    truth = pd.read_csv(base / "truth.csv", dtype={"uscc": str}).set_index("uscc")
    return TrainedWorld(base / "data", truth, store, registry, criteria, snapshots, results)
