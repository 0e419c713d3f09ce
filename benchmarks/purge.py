"""bulk_purge: purge-guests over 100,000 guests at three rate-limited processors, against the floor the
rate limits set and against a plain asyncio + httpx script doing the same HTTP work."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from benchmarks.baseline import purge_all
from benchmarks.erasure import finished
from benchmarks.stack import ProcessMeter, ProofStack
from sandbox.world import Sandbox

SYSTEMS = ("exceline", "fixit", "ibooking")  # Aktiv365's guest purge (config/controllers/aktiv365.yaml)
AS_OF = date(2026, 6, 1)
LAST_VISIT = date(2025, 6, 1)  # a year before AS_OF: past Aktiv365's six months


@dataclass(frozen=True)
class Bulk:
    """The purge's size and the processors' limits (the same for slett's client and the sandbox)."""

    guests: int = 100_000
    per_second: float = 2.0
    page: int = 1000
    batch: int = 500
    in_flight: int = 2

    def share(self, number: int) -> int:
        """How many of the guests processor `number` holds (they add up to `guests`)."""
        return self.guests // len(SYSTEMS) + (1 if number < self.guests % len(SYSTEMS) else 0)

    def requests(self, guests: int) -> int:
        """The fewest calls one processor needs: listing pages, then bulk deletes."""
        return max(1, math.ceil(guests / self.page)) + math.ceil(guests / self.batch)

    def floor_s(self) -> float:
        """The least time the rate limits allow: the busiest processor's calls, one token each (burst 1)."""
        return max((self.requests(self.share(n)) - 1) / self.per_second for n in range(len(SYSTEMS)))

    def settings(self) -> dict[str, str]:
        """slett's client paces itself to the same limits, batches and pages."""
        env = {f"SLETT_PROCESSORS__{s.upper()}__RATE_LIMIT_PER_S": str(self.per_second) for s in SYSTEMS}
        env.update({"SLETT_PURGE_PAGE_SIZE": str(self.page), "SLETT_PURGE_BATCH_SIZE": str(self.batch),
                    "SLETT_PURGE_CONCURRENCY": str(self.in_flight)})
        return env


def seed_guests(sandbox: Sandbox, bulk: Bulk) -> None:
    """Give each processor its share of stale guests, and its rate limit (burst 1) and batch cap."""
    for number, system in enumerate(SYSTEMS):
        sandbox.add_guests(system, bulk.share(number), LAST_VISIT)
    sandbox.limit(list(SYSTEMS), bulk.per_second, burst=1, max_batch=bulk.batch)


async def task_runs_of(run_id: UUID) -> int:
    """How many task runs a flow run used."""
    total, offset = 0, 0
    async with get_client() as client:
        while True:
            page = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
                                               limit=200, offset=offset)
            total, offset = total + len(page), offset + 200
            if len(page) < 200:
                return total


async def slett_purge(stack: ProofStack, sandbox: Sandbox, bulk: Bulk) -> dict[str, Any]:
    """Run purge-guests for Aktiv365 from its deployment on a worker; timings, task runs and peak memory."""
    seed_guests(sandbox, bulk)
    async with get_client() as client:
        deployment = await client.read_deployment_by_name("purge-guests/purge-guests")
        asked = time.monotonic()
        run = await client.create_flow_run_from_deployment(
            deployment.id, parameters={"controller": "aktiv365", "as_of": AS_OF.isoformat()})
    with ProcessMeter(stack) as memory:
        state, _ = await finished(run.id, 900)
    took = time.monotonic() - asked
    async with get_client() as client:
        done = (await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))))[0]
    in_run = (done.end_time - done.start_time).total_seconds() if done.end_time and done.start_time else took
    left = {system: len(sandbox.guests[system]) for system in SYSTEMS}
    floor = bulk.floor_s()
    # The wall time is from asking for the purge to its end: the flow run's start-up is part of the price.
    return {"guests": bulk.guests, "processors": list(SYSTEMS), "state": state, "guests_left": left,
            "rate_limit_per_s": bulk.per_second, "wall_s": round(took, 1), "run_s": round(in_run, 1),
            "floor_s": round(floor, 1), "ratio": round(took / floor, 3), "task_runs": await task_runs_of(run.id),
            "peak_rss_mb": {role: round(mb, 1) for role, mb in sorted(memory.peaks.items())}}


async def baseline_purge(sandbox: Sandbox, bulk: Bulk, urls: dict[str, str]) -> dict[str, Any]:
    """The same guests again, purged by the plain script at the same limits."""
    seed_guests(sandbox, bulk)
    before = AS_OF - timedelta(days=182)
    result = await purge_all({s: urls[s] for s in SYSTEMS}, before, bulk.per_second, bulk.page, bulk.batch,
                             bulk.in_flight)
    result["guests_left"] = {system: len(sandbox.guests[system]) for system in SYSTEMS}
    return result
