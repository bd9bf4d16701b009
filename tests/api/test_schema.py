"""Schemathesis against the running service, from its own OpenAPI schema: no server errors.

The service runs in uvicorn on 127.0.0.1 over a copy of the trained world (so
generated uploads and promotions touch nothing else), with an admin key. Examples
are bounded so the run takes a minute or two; ranked lists are kept short
(`list_size`) because every generated `as_of` ranks afresh.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.main import create_app
from tests.api.conftest import LiveServer, make_keys, settings_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def live(world_copy: Path) -> Iterator[tuple[LiveServer, str]]:
    app = create_app(settings_for(world_copy, list_size=60, max_upload_mb=5))
    keys, _ = make_keys(app, "3205")
    with LiveServer(app) as server:
        yield server, keys["admin"]


def own_schema() -> dict[str, Any]:
    """The app's OpenAPI document (it does not depend on the data, so an empty home will do)."""
    with tempfile.TemporaryDirectory(prefix="openapi-") as tmp:
        app = create_app(settings_for(Path(tmp)))
        document = app.openapi()
        app.state.service.close()
    return document


# the lazy `schemathesis.pytest.from_fixture` loader fails under pytest 9; the document is
# loaded at import instead, and a test proves the running service serves the same one
DOCUMENT = own_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT)
CHECKS = [not_a_server_error, response_schema_conformance]
BOUNDED = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


def test_the_running_service_serves_this_schema(live: tuple[LiveServer, str]) -> None:
    server, _ = live
    assert httpx.get(f"{server.url}/openapi.json").json() == DOCUMENT


@schema.exclude(path="/v1/models/train").parametrize()
@BOUNDED
def test_no_server_errors(case: schemathesis.Case, live: tuple[LiveServer, str]) -> None:
    server, key = live
    case.call_and_validate(
        base_url=server.url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS
    )


@schema.include(path="/v1/models/train").parametrize()
@settings(BOUNDED, max_examples=3)
def test_training_has_no_server_errors(
    case: schemathesis.Case, live: tuple[LiveServer, str]
) -> None:
    server, key = live
    case.call_and_validate(
        base_url=server.url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS
    )
