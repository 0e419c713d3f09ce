"""Suspending a run for an answer, safely across reruns and crashes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar
from uuid import UUID

from prefect import get_client, get_run_logger
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.exceptions import Abort, Pause
from prefect.input import RunInput, keyset_from_paused_state
from prefect.input.actions import adelete_flow_run_input, aread_flow_run_input
from prefect.states import Suspended

from prefect_compat import mark_suspension_requested, propose_state
from queries.runs import spare_keyset

Answer = TypeVar("Answer", bound=RunInput)


async def suspend_for(form: type[Answer], key: str, before: Callable[[], Awaitable[object]] | None = None) -> Answer:
    """Suspend the run until `key` is answered with `form`; an answer given before comes back at once. `before` is
    awaited only when the run is to suspend, before it does (a letter the member gets first)."""
    # Prefect forgets the keys a run has used when it leaves a terminal state (a crashed run rerun, a
    # retry from the UI) and would suspend again on a key already answered: every resume is then
    # refused (the answer exists, 409) and the request waits for ever. The chaos suite found this.
    suspended: State[Any] = Suspended(timeout_seconds=None, pause_key=key)
    keyset = keyset_from_paused_state(suspended)
    if await aread_flow_run_input(keyset["response"]) is not None:
        return await form.aload(keyset)
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("only a flow run can suspend for an answer")
    if before is not None:
        await before()
    # A spare of the form first, then the state, then the form. Prefect (3.9) deletes whatever is stored under
    # the keyset when it accepts a suspension, so the form can only be written after the state; a process
    # killed between the two left a run suspended without a form, whose every resume was refused ("Run input
    # schema not found": the chaos suite). The spare, under keys of its own, outlives the suspension:
    # queries/runs.py resume_with writes the form from it when Prefect refuses a resume for want of one.
    spare = spare_keyset(key)
    for stale in (spare["schema"], spare["description"]):  # a rerun's, or an earlier form's
        if await aread_flow_run_input(stale) is not None:
            await adelete_flow_run_input(stale)
    await form.asave(spare)
    suspended.state_details.run_input_keyset = {str(name): value for name, value in keyset.items()}
    get_run_logger().info("Suspending flow run until %s is answered; a resume runs it again from the top", key)
    async with get_client() as client:
        try:
            state = await propose_state(client, suspended, flow_run_id=context.flow_run.id)
        except Abort as refused:
            await _refused(context.flow_run.id, str(refused))
    if state.is_running():
        return await form.aload(keyset)  # answered and resumed in the meantime
    if not state.is_paused():
        await _refused(context.flow_run.id, f"the API answered {state.name}")
    await form.asave(keyset)
    mark_suspension_requested(context.flow_run.id, state)
    raise Pause(state=state)


async def _refused(run_id: UUID, why: str) -> NoReturn:
    """A refused suspension: stop without a state of our own if the run is no longer ours (declared crashed,
    or already rescheduled for its rerun, while this process still ran it); else fail with the reason."""
    # A run silent past the heartbeat window (a stalled or overloaded worker) is marked Crashed by the
    # automation and rescheduled by recover-crashed while this process still runs it. Failing it here would
    # turn a recoverable crash into a failure and cancel the rerun: the chaos suite saw both.
    async with get_client() as client:
        state: State | None = (await client.read_flow_run(run_id)).state
    if state is not None and not state.is_running():
        raise Abort(f"run was taken over while it ran (now {state.name}); its rerun finishes it ({why})")
    raise RuntimeError(f"flow run cannot be suspended: {why}")
