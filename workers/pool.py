"""slett's deployments (config/deployments.py) on a process work pool, as prefect.yaml declares them: the pool,
its work queues in their order, and each deployment on its queue with its schedule."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect.schedules import Cron, Interval, Schedule
from prefect.types.entrypoint import EntrypointType

from config.deployments import DEPLOYMENTS, QUEUES, TAG, TIMEZONE, Deployment
from flows.catalog import load


def schedules_of(deployment: Deployment, interval_s: int | None = None) -> list[Schedule]:
    """The deployment's schedule: its cron in Oslo time, or its interval (`interval_s` in place of it)."""
    every = interval_s or deployment.interval_s
    if every is not None:
        return [Interval(every)]
    return [Cron(deployment.cron, timezone=TIMEZONE)] if deployment.cron else []


async def deploy_to_pool(pool: str, names: Iterable[str] = DEPLOYMENTS, schedules: bool = True,
                         intervals: Mapping[str, int] | None = None,
                         parameters: Mapping[str, dict[str, Any]] | None = None) -> dict[str, UUID]:
    """Make the pool and its queues if they are missing and put the named deployments on it; their ids.

    `schedules` gives each deployment its schedule; `intervals` gives a deployment an interval schedule of
    that many seconds whatever `schedules` says, `parameters` its default parameters.
    """
    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        for queue, priority in QUEUES.items():
            try:
                await client.create_work_queue(queue, work_pool_name=pool, priority=priority)
            except ObjectAlreadyExists:
                found = await client.read_work_queue_by_name(queue, work_pool_name=pool)
                if found.priority != priority:
                    await client.update_work_queue(found.id, priority=priority)
    ids = {}
    for name in names:
        deployment, given = DEPLOYMENTS[name], (intervals or {}).get(name)
        plan = schedules_of(deployment, given) if schedules or given else []
        runner = await load(name).ato_deployment(
            name=name, description=deployment.description, tags=[TAG, *deployment.tags], work_pool_name=pool,
            work_queue_name=deployment.queue, entrypoint_type=EntrypointType.MODULE_PATH, schedules=plan,
            parameters=dict((parameters or {}).get(name, {})))
        ids[name] = await runner.apply(work_pool_name=pool)  # type: ignore[misc]
    return ids
