"""The scheduled deployments: Prefect's scheduler turns each one's schedule into flow runs on our pins, a cron at
its hour in Oslo whatever the season."""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import StateType

from config.deployments import DEPLOYMENTS, TIMEZONE
from flows.catalog import load
from workers.pool import schedules_of

SCHEDULED = sorted(name for name, d in DEPLOYMENTS.items() if d.cron or d.interval_s)


@pytest.mark.parametrize("name", SCHEDULED)
async def test_the_scheduler_makes_the_runs_of_every_scheduled_deployment(prefect_server, name):
    """Asking the server to schedule a deployment's runs makes Scheduled runs (with SQLAlchemy 2.1 Prefect
    3.8.8's scheduler failed on its bulk insert, so no cron or interval run would ever start; 3.9.1's does not),
    and a cron's runs start at its hour and minute in Oslo time."""
    deployment = DEPLOYMENTS[name]
    runner = await load(name).ato_deployment(name=f"{name}-{uuid.uuid4().hex[:6]}", schedules=schedules_of(deployment))
    deployment_id = await runner.apply()  # type: ignore[misc]
    async with get_client() as client:
        answer = await client.request("POST", "/deployments/{id}/schedule", path_params={"id": deployment_id},
                                      json={"min_runs": 3})
        mine = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        runs = await client.read_flow_runs(deployment_filter=mine)
    oslo = [run.expected_start_time.astimezone(ZoneInfo(TIMEZONE)) for run in runs if run.expected_start_time]

    assert 200 == answer.status_code
    assert len(runs) >= 3
    assert {StateType.SCHEDULED} == {run.state.type for run in runs if run.state}
    if deployment.cron:
        assert {" ".join(deployment.cron.split()[:2])} == {f"{start.minute} {start.hour}" for start in oslo}
