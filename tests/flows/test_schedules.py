"""The scheduled deployments: Prefect's scheduler can turn each one's schedule into flow runs on our pins."""

from __future__ import annotations

import uuid

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
from prefect.client.schemas.objects import StateType

from flows.catalog import CRONS, INTERVALS, load

SCHEDULED = sorted({*CRONS, *INTERVALS})


@pytest.mark.parametrize("name", SCHEDULED)
async def test_the_scheduler_makes_the_runs_of_every_scheduled_deployment(prefect_server, name):
    """Asking the server to schedule a deployment's runs makes Scheduled runs (with SQLAlchemy 2.1 Prefect
    3.8.8's scheduler fails on its bulk insert, so no cron or interval run would ever start)."""
    deployment = await load(name).ato_deployment(name=f"{name}-{uuid.uuid4().hex[:6]}", interval=INTERVALS.get(name),
                                                 cron=CRONS.get(name))
    deployment_id = await deployment.apply()  # type: ignore[misc]
    async with get_client() as client:
        answer = await client._client.post(f"/deployments/{deployment_id}/schedule", json={"min_runs": 3})
        mine = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        runs = await client.read_flow_runs(deployment_filter=mine)

    assert 200 == answer.status_code
    assert len(runs) >= 3
    assert {StateType.SCHEDULED} == {run.state.type for run in runs if run.state}
