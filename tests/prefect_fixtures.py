"""Session fixtures for tests that need Prefect: one test server, the catalogue's deployments registered.

Registered for the whole suite by tests/conftest.py, so tests/flows/ and tests/triggers/ share one server.
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
from prefect.testing.utilities import prefect_test_harness

from config.deployments import DEPLOYMENTS
from flows.catalog import load


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A temporary Prefect server on SQLite under the session's PREFECT_HOME."""
    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture(scope="session")
async def deployments(prefect_server: None) -> dict[str, UUID]:
    """Every deployment in config/deployments.py, registered once."""
    ids = {}
    for name in DEPLOYMENTS:
        deployment = await load(name).ato_deployment(name=name)
        ids[name] = await deployment.apply()  # type: ignore[misc]
    return ids
