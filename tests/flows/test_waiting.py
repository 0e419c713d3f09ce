"""Suspending for an answer when Prefect has declared the run crashed meanwhile."""

from __future__ import annotations

import pytest
from prefect import flow, get_client
from prefect.context import FlowRunContext
from prefect.exceptions import Abort
from prefect.flow_engine import run_flow
from prefect.states import Crashed

from flows.erase_member import Settlement
from flows.waiting import suspend_for


@flow(name="waits-after-being-declared-crashed")
async def waits_after_being_declared_crashed() -> None:
    """Stand in for a stalled run: zombie detection marks it Crashed, then it reaches its wait."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    async with get_client() as client:
        await client.set_flow_run_state(context.flow_run.id, Crashed(message="no heartbeat"), force=True)
    await suspend_for(Settlement, "settlement-1")


async def test_a_run_declared_crashed_before_it_suspends_stays_crashed_for_the_sweep(prefect_server):
    """The run stops without a state of its own, so it stays Crashed (the sweep reruns it), not Failed."""
    deployment_id = await (await waits_after_being_declared_crashed.ato_deployment(name="test")).apply()  # type: ignore[misc]
    async with get_client() as client:
        flow_run = await client.create_flow_run_from_deployment(deployment_id)
        with pytest.raises(Abort):
            await run_flow(waits_after_being_declared_crashed, flow_run=flow_run,  # type: ignore[misc]
                           return_type="state")
        state = (await client.read_flow_run(flow_run.id)).state_type

    assert "CRASHED" == getattr(state, "value", None)
