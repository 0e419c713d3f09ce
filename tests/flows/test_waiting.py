"""Suspending for an answer when Prefect has declared the run crashed, or rescheduled it, meanwhile."""

from __future__ import annotations

from typing import Any

import pytest
from prefect import flow, get_client
from prefect.client.schemas.objects import FlowRun, State
from prefect.context import FlowRunContext
from prefect.exceptions import Abort
from prefect.flow_engine import run_flow
from prefect.input import keyset_from_paused_state
from prefect.input.actions import aread_flow_run_input
from prefect.states import Crashed, Scheduled, Suspended

from flows.erase_member import Settlement
from flows.waiting import suspend_for
from queries.runs import ResumeRefused, resume_settled


@flow(name="waits-after-being-taken-over")
async def waits_after_being_taken_over(rescheduled: bool) -> None:
    """Stand in for a stalled run: zombie detection marks it Crashed (and recover-crashed reschedules it, if
    `rescheduled`), then it reaches its wait."""
    context = FlowRunContext.get()
    assert context is not None and context.flow_run is not None
    async with get_client() as client:
        await client.set_flow_run_state(context.flow_run.id, Crashed(message="no heartbeat"), force=True)
        if rescheduled:
            await client.set_flow_run_state(context.flow_run.id, Scheduled(name="AwaitingRecovery"), force=True)
    await suspend_for(Settlement, "settlement-1")


async def _new_run(rescheduled: bool) -> FlowRun:
    deployment_id = await (await waits_after_being_taken_over.ato_deployment(name="test")).apply()  # type: ignore[misc]
    async with get_client() as client:
        return await client.create_flow_run_from_deployment(deployment_id, parameters={"rescheduled": rescheduled})


async def _taken_over_at_its_wait(rescheduled: bool) -> tuple[FlowRun, State | None]:
    """Run the stand-in until it stops at its wait (it must stop with Abort); the run and its state then."""
    flow_run = await _new_run(rescheduled)
    with pytest.raises(Abort):
        await run_flow(waits_after_being_taken_over, flow_run=flow_run, parameters={"rescheduled": rescheduled},
                       return_type="state")  # type: ignore[misc]
    async with get_client() as client:
        return flow_run, (await client.read_flow_run(flow_run.id)).state


async def test_a_run_rescheduled_for_its_rerun_before_it_suspends_is_left_to_the_rerun_with_its_form(prefect_server):
    """The run stops without a state of its own, so its rerun stays scheduled, not Failed; the form was written
    before the suspension was asked for, so the rerun's suspension has it even if that process dies at once."""
    flow_run, state = await _taken_over_at_its_wait(rescheduled=True)
    form: Any = await aread_flow_run_input(keyset_from_paused_state(Suspended(pause_key="settlement-1"))["schema"],
                                      flow_run_id=flow_run.id)

    assert ("SCHEDULED", "AwaitingRecovery") == (state and state.type.value, state and state.name)
    assert "Settlement" == form["title"]


async def test_a_run_declared_crashed_before_it_suspends_stays_crashed_for_the_sweep(prefect_server):
    """The run stops without a state of its own, so it stays Crashed (the sweep reruns it), not Failed."""
    _, state = await _taken_over_at_its_wait(rescheduled=False)

    assert "CRASHED" == (state and state.type.value)


async def test_a_resume_prefect_refuses_is_an_error_not_a_resume(prefect_server):
    """Resuming a run that is not suspended raises with Prefect's reason; it is never counted as resumed."""
    flow_run = await _new_run(rescheduled=False)

    with pytest.raises(ResumeRefused, match="not paused"):
        await resume_settled(flow_run, confirmed_by="a test")
