"""One store fixture per implementation: the conformance suite runs against each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.embedded import EmbeddedStore
from graph.store import Store

STORE_KINDS = [pytest.param("embedded", id="embedded")]


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    kind = request.param
    if kind == "embedded":
        s: Store = EmbeddedStore(tmp_path / "store")
    else:  # pragma: no cover - further kinds register themselves above
        raise AssertionError(kind)
    yield s
    s.close()
