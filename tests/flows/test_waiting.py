"""Suspending for an answer when Prefect has declared the run crashed, or rescheduled it, meanwhile."""

from __future__ import annotations

import pytest
from prefect import flow, get_client
from prefect.context import FlowRunContext
from prefect.exceptions import Abort
from prefect.flow_engine import run_flow
from prefect.input import keyset_from_paused_state
from prefect.input.actions import aread_flow_run_input
from prefect.states import Crashed, Scheduled, Suspended

from flows.erase_member import Settlement
from flows.waiting import suspend_for
from tasks.runs import ResumeRefused, resume_settled


@flow(name="waits-after-being-declared-crashed")
async def waits_after_being_declared_crashed() -> None:
    """Stand in for a stalled run: zombie detection marks it Crashed, then it reaches its wait."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    async with get_client() as client:
        await client.set_flow_run_state(context.flow_run.id, Crashed(message="no heartbeat"), force=True)
    await suspend_for(Settlement, "settlement-1")


@flow(name="waits-after-being-rescheduled")
async def waits_after_being_rescheduled() -> None:
    """Stand in for a stalled run declared crashed and already rescheduled by recover-crashed, then its wait."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    async with get_client() as client:
        await client.set_flow_run_state(context.flow_run.id, Crashed(message="no heartbeat"), force=True)
        await client.set_flow_run_state(context.flow_run.id, Scheduled(name="AwaitingRecovery"), force=True)
    await suspend_for(Settlement, "settlement-1")


async def test_a_run_rescheduled_for_its_rerun_before_it_suspends_is_left_to_the_rerun_with_its_form(prefect_server):
    """The run stops without a state of its own, so its rerun stays scheduled, not Failed; the form was written
    before the suspension was asked for, so the rerun's suspension has it even if that process dies at once."""
    deployment_id = await (await waits_after_being_rescheduled.ato_deployment(name="test")).apply()  # type: ignore[misc]
    async with get_client() as client:
        flow_run = await client.create_flow_run_from_deployment(deployment_id)
        with pytest.raises(Abort):
            await run_flow(waits_after_being_rescheduled, flow_run=flow_run,  # type: ignore[misc]
                           return_type="state")
        state = (await client.read_flow_run(flow_run.id)).state
    form = await aread_flow_run_input(keyset_from_paused_state(Suspended(pause_key="settlement-1"))["schema"],
                                      flow_run_id=flow_run.id)

    assert ("SCHEDULED", "AwaitingRecovery") == (getattr(state, "type", None) and state.type.value,
                                                 getattr(state, "name", None))
    assert "Settlement" == form["title"]


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


async def test_a_resume_prefect_refuses_is_an_error_not_a_resume(prefect_server):
    """Resuming a run that is not suspended raises with Prefect's reason; it is never counted as resumed."""
    deployment_id = await (await waits_after_being_rescheduled.ato_deployment(name="test")).apply()  # type: ignore[misc]
    async with get_client() as client:
        flow_run = await client.create_flow_run_from_deployment(deployment_id)

    with pytest.raises(ResumeRefused, match="not paused"):
        await resume_settled(flow_run, confirmed_by="a test")
