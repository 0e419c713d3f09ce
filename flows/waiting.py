"""Suspending a run for an answer, safely across reruns."""

from __future__ import annotations

from typing import TypeVar

from prefect.flow_runs import asuspend_flow_run
from prefect.input import RunInput, keyset_from_paused_state
from prefect.input.actions import aread_flow_run_input
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
    return await asuspend_flow_run(wait_for_input=form, key=key, timeout=None)
