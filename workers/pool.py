"""slett's deployments on a process work pool, as prefect.yaml declares them: the pool, the recovery queue
ahead of the others, and each deployment of flows/catalog.py."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect.types.entrypoint import EntrypointType

from flows.catalog import CRONS, DEPLOYMENTS, INTERVALS, load

RECOVERY_QUEUE = "recovery"
SWEEPER = "recover-crashed"


async def deploy_to_pool(pool: str, names: Iterable[str] = DEPLOYMENTS, schedules: bool = True,
                         intervals: Mapping[str, int] | None = None,
                         parameters: Mapping[str, dict[str, Any]] | None = None) -> dict[str, UUID]:
    """Make the pool if it is missing and put the named deployments on it; their ids.

    `schedules` gives each deployment its catalogue schedule (the sweep's interval, the crons); `intervals`
    replaces intervals by name, `parameters` gives a deployment its default parameters.
    """
    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        # Recovery first: with the pool's slots full of erasures, a crashed run must not wait behind them.
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_queue(RECOVERY_QUEUE, work_pool_name=pool, priority=1)
        default = await client.read_work_queue_by_name("default", work_pool_name=pool)
        await client.update_work_queue(default.id, priority=10)
    every = {**(INTERVALS if schedules else {}), **(intervals or {})}
    ids = {}
    for name in names:
        flow = load(name)
        deployment = await flow.ato_deployment(
            name=name, description=flow.description, tags=["slett"], work_pool_name=pool,
            work_queue_name=RECOVERY_QUEUE if name == SWEEPER else None,
            entrypoint_type=EntrypointType.MODULE_PATH, interval=every.get(name),
            cron=CRONS.get(name) if schedules else None, parameters=dict((parameters or {}).get(name, {})))
        ids[name] = await deployment.apply(work_pool_name=pool)  # type: ignore[misc]
    return ids
