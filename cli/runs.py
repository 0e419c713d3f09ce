"""Wait for erasure runs and read their evidence through the Prefect API."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import ArtifactSort

from domain.values import artifact_key

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


async def wait_for(run_id: UUID, until: set[str], timeout_s: float) -> FlowRun:
    """Poll a run until its state is one of `until` (type names, or 'SUSPENDED')."""
    deadline = time.monotonic() + timeout_s
    async with get_client() as client:
        while True:
            run = await client.read_flow_run(run_id)
            name = "SUSPENDED" if run.state and run.state.name == "Suspended" else (
                run.state.type.value if run.state else "PENDING")
            if name in until or time.monotonic() > deadline:
                return run
            await asyncio.sleep(1)


def state_label(run: FlowRun) -> str:
    """SUSPENDED for a suspended run, else the state type."""
    if run.state is None:
        return "PENDING"
    return "SUSPENDED" if run.state.name == "Suspended" else run.state.type.value


async def evidence_rows(request_id: str) -> list[dict[str, Any]]:
    """The newest evidence table of a request, read back from the Prefect API."""
    import json

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[artifact_key("erasure", request_id)])),
            sort=ArtifactSort.CREATED_DESC, limit=1)
    if not found or found[0].data is None:
        return []
    data = found[0].data
    rows = json.loads(data) if isinstance(data, str) else data
    return list(rows)
