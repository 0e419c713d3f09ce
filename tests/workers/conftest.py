"""The worker tests' work pool."""

from __future__ import annotations

import uuid

import pytest
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate

from tests.workers.fakes import FAKES


@pytest.fixture
async def pool(prefect_server) -> str:
    """A fresh process work pool with a deployment of every stand-in flow on it."""
    name = f"in-process-{uuid.uuid4().hex[:8]}"
    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name=name, type="process"))
    for fake in FAKES.values():
        await (await fake.ato_deployment(name=fake.name, work_pool_name=name)).apply(work_pool_name=name)  # type: ignore[misc]
    return name
