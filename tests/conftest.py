"""Fixtures shared by every layer's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import tiny_world

pytest_plugins = ["tests.neo4j_server"]


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    return tiny_world(tmp_path / "tiny")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh state directory, selected through the environment as operators do."""
    path = tmp_path / "home"
    monkeypatch.setenv("DISCOVERY_HOME", str(path))
    monkeypatch.setenv("DISCOVERY_STORE", "embedded")
    return path
