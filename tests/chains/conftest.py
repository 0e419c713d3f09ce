"""Chain tests: each chain's real flows from their deployments, run here against a fresh sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from connectors.http import use_transports
from sandbox.world import Sandbox
from tests.flow_driver import Flows
from tests.flows.conftest import table_rows
from tests.stripe_spec import SpecCheck, spec_checked

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox, every processor routed to it in-process; every Stripe call held to Stripe's spec."""
    world, check = Sandbox(), SpecCheck()
    with use_transports(spec_checked(world.transports(), check)):
        yield world
    assert [] == check.problems, "\n".join(check.problems)


@pytest.fixture
def flows(deployments: dict[str, UUID]) -> Flows:
    """slett's deployments, driven from the test."""
    return Flows(deployments)


@pytest.fixture
async def artifacts() -> AsyncIterator[Callable[[str], Awaitable[list[dict[str, str]]]]]:
    """The rows of the newest table artifact with a key."""
    async with get_client() as client:

        async def read(key: str) -> list[dict[str, str]]:
            found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                                sort=ArtifactSort.CREATED_DESC, limit=1)
            return table_rows(found[0]) if found else []

        yield read
