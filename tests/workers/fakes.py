"""Stand-in flows for the worker tests, known by deployment name, and helpers to start and watch their runs."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any
from uuid import UUID

from prefect import Flow, flow, get_client, task
from prefect.client.schemas.objects import FlowRun

from flows.erase_member import Settlement
from flows.waiting import suspend_for
from workers.in_process import InProcessWorker

SEEN: dict[str, Any] = {}  # what the stand-in flows saw, by their `label` parameter
ALL_STARTED = asyncio.Event()
STARTED: set[str] = set()


@flow(name="notes-its-process")
async def notes_its_process(label: str) -> None:
    """Record which process ran it."""
    SEEN[label] = os.getpid()


@flow(name="waits-for-company")
async def waits_for_company(label: str, company: int) -> None:
    """Finish only once `company` runs of it have started: run one at a time, it times out and fails."""
    STARTED.add(label)
    if len(STARTED) >= company:
        ALL_STARTED.set()
    await asyncio.wait_for(ALL_STARTED.wait(), timeout=30)


@flow(name="waits-for-settlement")
async def waits_for_settlement(label: str) -> None:
    """Suspend until settled; record who settled it."""
    SEEN[label] = (await suspend_for(Settlement, "settlement-1")).confirmed_by


@flow(name="runs-long")
async def runs_long(label: str) -> None:
    """Run until cancelled (a minute at most)."""
    SEEN[label] = "started"
    await asyncio.sleep(60)
    SEEN[label] = "ran to the end"


@flow(name="keeps-busy")
async def keeps_busy(label: str) -> None:
    """Compute without pause, yielding to the event loop between rounds (a minute at most)."""
    SEEN[label] = "started"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sum(range(20_000))
        await asyncio.sleep(0)


@task
async def one_step() -> None:
    """A step of steps-slowly: each is where the engine stops a run that was suspended meanwhile."""


@flow(name="steps-slowly")
async def steps_slowly(label: str) -> None:
    """Take a step every tenth of a second, counting them (a minute at most)."""
    SEEN[label] = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        await one_step()
        SEEN[label] += 1
        await asyncio.sleep(0.1)
    SEEN[f"{label}-end"] = "ran to the end"


@flow(name="fails")
async def fails(label: str) -> None:
    """Raise."""
    raise RuntimeError(f"{label} failed on purpose")


FAKES: dict[str, Flow[..., Any]] = {f.name: f for f in (notes_its_process, waits_for_company, waits_for_settlement,
                                                        runs_long, keeps_busy, steps_slowly, fails)}


def worker_on(pool: str, name: str = "worker-test", limit: int = 4) -> InProcessWorker:
    """A worker on `pool` that knows the stand-in flows by deployment name."""
    return InProcessWorker(work_pool_name=pool, name=name, limit=limit, flows=FAKES.__getitem__, watch_every_s=0.5)


async def start(deployment: str, **parameters: Any) -> FlowRun:
    """A new run of one of the stand-in deployments."""
    async with get_client() as client:
        found = await client.read_deployment_by_name(f"{deployment}/{deployment}")
        return await client.create_flow_run_from_deployment(found.id, parameters=parameters)


async def state_of(run_id: UUID) -> str:
    async with get_client() as client:
        state = (await client.read_flow_run(run_id)).state
    return str(state.name) if state else "?"


async def until(run_id: UUID, name: str, seconds: float = 30) -> str:
    """Wait for a run to reach the named state; the state it has at the end."""
    deadline = time.monotonic() + seconds
    while (current := await state_of(run_id)) != name and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return current
