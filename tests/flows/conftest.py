"""Flow tests: the sandbox reached in-process; the session's Prefect server is in tests/prefect_fixtures.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, State, TaskRun
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow

from connectors.http import use_transports
from flows.erase_member import erase_member
from sandbox.world import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox, every processor routed to it in-process."""
    world = Sandbox()
    with use_transports(world.transports()):
        yield world


@dataclass
class Run:
    """A finished (or suspended) flow run as a test sees it."""

    flow_run: FlowRun
    state: State[Any]

    @property
    def state_name(self) -> str:
        """SUSPENDED, COMPLETED, FAILED, ..."""
        return "SUSPENDED" if self.state.name == "Suspended" else self.state.type.value

    async def result(self) -> Any:
        """The flow's return value."""
        return await self.state.result()


async def execute(flow_run: FlowRun) -> Run:
    """Run a flow run of erase-member in this process, as a worker would."""
    try:
        state = await run_flow(erase_member, flow_run=flow_run, return_type="state")  # type: ignore[misc]
    except Pause as pause:
        state = pause.state
    async with get_client() as client:
        return Run(await client.read_flow_run(flow_run.id), state)


RunErasure = Callable[..., Awaitable[Run]]


@pytest.fixture
def run_erasure(deployments: dict[str, UUID]) -> RunErasure:
    """Start erase-member from its deployment for a member and run it here until it ends or suspends."""

    async def start(member_id: str, controller: str = "demo", kind: str = "termination",
                    request_id: str | None = None, idempotency_suffix: str = "") -> Run:
        request_id = request_id or f"test-{uuid4().hex[:12]}"
        async with get_client() as client:
            flow_run = await client.create_flow_run_from_deployment(
                deployments["erase-member"], idempotency_key=request_id + idempotency_suffix,
                parameters={"controller": controller, "member_id": member_id, "kind": kind,
                            "request_id": request_id})
        return await execute(flow_run)

    return start


@pytest.fixture
def resume() -> Callable[[Run, dict[str, Any]], Awaitable[Run]]:
    """Resume a suspended run with run input and run it again here."""

    async def go(run: Run, run_input: dict[str, Any]) -> Run:
        async with get_client() as client:
            await client.resume_flow_run(run.flow_run.id, run_input=run_input)
            flow_run = await client.read_flow_run(run.flow_run.id)
        return await execute(flow_run)

    return go


def table_rows(artifact: Any) -> list[dict[str, str]]:
    """The rows of a table artifact, which the API returns as JSON text."""
    data = artifact.data
    return list(json.loads(data) if isinstance(data, str) else data)


@pytest.fixture
async def artifacts() -> AsyncIterator[Callable[[str], Awaitable[list[Any]]]]:
    """Read the artifacts with a key, newest first."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async with get_client() as client:

        async def read(key: str) -> list[Any]:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                                              sort=ArtifactSort.CREATED_DESC)

        yield read


async def recorded_task_runs(flow_run_id: UUID, enough: Callable[[list[TaskRun]], bool]) -> list[TaskRun]:
    """The flow run's task runs, once the server has recorded enough of them (Prefect records task runs
    from events, a moment after they ran)."""
    async with get_client() as client:
        # Up to a minute: with the suite's two workers busy, the recorder has been seen more than 10 s behind.
        for _ in range(600):
            tasks = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            if enough(tasks):
                break
            await asyncio.sleep(0.1)
    return tasks
