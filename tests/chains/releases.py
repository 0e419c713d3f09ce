"""Reading a request's release runs and its release evidence, for tests that release holds date by date."""

from __future__ import annotations

from datetime import datetime

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun

from domain.values import OSLO
from tasks.release import read_releases


async def runs_by_start(request_id: str, key: str) -> dict[datetime, FlowRun]:
    """A request's release runs for one processor and rule ("exceline-bookkeeping"), by the moment each starts."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"request:{request_id}"])),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["release-holds"])))
    return {r.expected_start_time.astimezone(OSLO): r for r in runs
            if f"{r.parameters['system']}-{r.parameters['rule']}" == key and r.expected_start_time}


async def releases_of(request_id: str) -> list[dict[str, str]]:
    """Every release row in a request's evidence, oldest first."""
    async with get_client() as client:
        return await read_releases(client, request_id)
