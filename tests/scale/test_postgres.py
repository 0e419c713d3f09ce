"""The scale configuration end to end: the Prefect server on PostgreSQL, split in an API process and a services
process with Redis between them, and two slett workers on one process pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.settings import PREFECT_API_URL, temporary_settings

from benchmarks.stack import REDIS, ProofStack, postgres_reachable, proof_stack, redis_reachable, register
from queries.runs import settle, start_erasure
from sandbox.world import Sandbox
from tests.scale.conftest import unavailable
from workers.in_process import WORKER_LABEL

pytestmark = pytest.mark.slow
DEPLOYED = ("erase-member", "release-holds", "recover-crashed")


@pytest.fixture(scope="module")
def scale_stack() -> Iterator[tuple[ProofStack, Sandbox]]:
    """A fresh PostgreSQL database and Redis database, the split server, two workers of three runs each."""
    if not postgres_reachable():
        unavailable("PostgreSQL is not reachable at 127.0.0.1:5432")
    if not redis_reachable():
        unavailable("Redis is not reachable at 127.0.0.1:6379")
    sandbox = Sandbox()
    with proof_stack(sandbox, workers=2, worker_limit=3, db="postgres", messaging="redis",
                     settings={"SLETT_JOB_POLL_INTERVAL_S": "0.2", "PREFECT_WORKER_QUERY_SECONDS": "1"}) as stack, \
            temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        asyncio.run(register(DEPLOYED, silence_s=120))
        yield stack, sandbox


async def count_completed(database_url: str) -> int:
    """Completed flow runs stored in the PostgreSQL database itself (not in some other server's SQLite)."""
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM flow_run WHERE state_name = 'Completed'"))
    finally:
        await connection.close()


async def read(run_ids: list[Any]) -> list[FlowRun]:
    async with get_client() as client:
        return await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)))


async def wait_final(run_ids: list[Any], seconds: float) -> list[FlowRun]:
    deadline = time.monotonic() + seconds
    while True:
        runs = await read(run_ids)
        if all(run.state and run.state.is_final() for run in runs) or time.monotonic() > deadline:
            return runs
        await asyncio.sleep(1)


async def wait_suspended(run_id: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (await read([run_id]))[0].state_name != "Suspended":
        assert time.monotonic() < deadline, "the run never suspended"
        await asyncio.sleep(1)


async def test_erasures_complete_on_the_split_server_with_two_workers(scale_stack):
    """Erasures (one waiting for settlement) complete with the server on PostgreSQL and Redis, both workers of
    the pool run some of them, and the server's events went through the stack's Redis database."""
    stack, sandbox = scale_stack
    members = ["M1001", "M1003", "M1004", *(sandbox.add_member().member_id for _ in range(5))]
    runs = [await start_erasure("demo", member, "termination", f"pg-{member.lower()}") for member in members]
    waiting = await start_erasure("demo", "M1002", "termination", "pg-m1002")

    finished = await wait_final([run.id for run in runs], seconds=300)
    await wait_suspended(waiting.id, seconds=120)
    sandbox.settle("M1002")
    resumed_runs = await settle("M1002", "demo", confirmed_by="scale test")
    [resumed] = await wait_final([waiting.id], seconds=120)
    streams = redis.Redis(*REDIS, db=int(stack.env["PREFECT_REDIS_MESSAGING_DB"])).keys("*")

    assert ["Completed"] * len(runs) == [run.state_name for run in finished]
    assert (1, "Completed") == (len(resumed_runs), resumed.state_name)
    assert {"worker-1", "worker-2"} == {run.labels.get(WORKER_LABEL) for run in [*finished, resumed]}
    assert len(runs) + 1 <= await count_completed(stack.database_url)
    assert stack.split and streams, "the server's events went through Redis"
