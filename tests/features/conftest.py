from __future__ import annotations

from pathlib import Path

import pytest

from graph.embedded import EmbeddedStore
from tests.features.worlds import load_store, small_world, write_world


@pytest.fixture
def small_store(tmp_path: Path) -> EmbeddedStore:
    directory = write_world(small_world(), tmp_path / "data")
    return load_store(directory, tmp_path / "store")
