"""Suspending a run for an answer, safely across reruns."""

from __future__ import annotations

from typing import TypeVar

from prefect import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import Abort
from prefect.flow_runs import asuspend_flow_run
from prefect.input import RunInput, keyset_from_paused_state
from prefect.input.actions import adelete_flow_run_input, aread_flow_run_input
from prefect.states import Suspended

Answer = TypeVar("Answer", bound=RunInput)


async def suspend_for(form: type[Answer], key: str) -> Answer:
    """Suspend the run until `key` is answered with `form`; an answer given before comes back at once."""
    # Prefect forgets the keys a run has used when it leaves a terminal state (a crashed run rerun, a
    # retry from the UI) and would suspend again on a key already answered: every resume is then
    # refused (the answer exists, 409) and the request waits for ever. The chaos suite found this.
    keyset = keyset_from_paused_state(Suspended(pause_key=key))
    if await aread_flow_run_input(keyset["response"]) is not None:
        return await form.aload(keyset)
    # A run that suspended on this key, unanswered, and was rerun left the form behind; Prefect writes
    # it again after suspending and a 409 would fail the run. The form is the same: write it afresh.
    for stale in (keyset["schema"], keyset["description"]):
        if await aread_flow_run_input(stale) is not None:
            await adelete_flow_run_input(stale)
    try:
        return await asuspend_flow_run(wait_for_input=form, key=key, timeout=None)
    except RuntimeError as refused:
        await _stop_if_declared_crashed(refused)
        raise


async def _stop_if_declared_crashed(refused: RuntimeError) -> None:
    """Leave the run Crashed, for the sweep to rerun, when zombie detection declared it so meanwhile."""
    # A run silent past the heartbeat window (a stalled worker) is marked Crashed by the automation
    # while this process still runs it; failing it here would turn a recoverable crash into a failure.
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return
    async with get_client() as client:
        state = (await client.read_flow_run(context.flow_run.id)).state
    if state is not None and state.is_crashed():
        raise Abort(f"run was declared crashed while it ran; the sweep reruns it ({refused})") from refused
