"""The recover-crashed flow: rerun erasures whose process died, within a budget; escalate the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import flow
from prefect.client.schemas.objects import StateType
from prefect.settings import get_current_settings

from config.deployments import ERASE_MEMBER, RELEASE_HOLDS, WITHDRAW_MARKETING
from tasks.recovery import (
    escalate,
    finish_cancelling,
    mark_crashed,
    read_crashes,
    reschedule,
    runs_in,
    silent,
)

RECOVERABLE = (ERASE_MEMBER, RELEASE_HOLDS, WITHDRAW_MARKETING)


@flow(name="recover-crashed", persist_result=False)
async def recover_crashed(budget: int = 3, silence_s: int | None = None, stuck_pending_s: int = 600,
                          deployments: tuple[str, ...] = RECOVERABLE) -> dict[str, int]:
    """Mark silent runs Crashed, rerun the crashed erasure runs within `budget`, escalating the rest.

    A worker marks a run Crashed when the run's process exits badly, or, started again, the runs its last
    process held; the zombie automation (`slett setup-automations`) when its heartbeats stop. This sweep
    checks heartbeats itself as well, for the runs the automation lost track of (a server restart forgets
    its recent watch). A rerun is safe: every step is cached by request and every destructive call carries
    its idempotency key. A crash that cut short a cancellation leaves the run Cancelled, never rerun. Sweeps
    may overlap (a burst of crashes starts several): each reschedule names its transition after the
    crash it answers, so Prefect takes it once.

    Args:
        budget: fruitless crashes allowed per run (no cached step finished since the last one: the run
            itself kills its process); the one after is escalated to a person. A run crashed by its
            worker's death for another run's sake, or a lost machine's, finishes steps in between.
        silence_s: seconds a Running run may go without a heartbeat; by default four heartbeats at
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY.
        stuck_pending_s: seconds a run may stay Pending (its process starting) before it counts as lost;
            a busy machine takes minutes to start a process.
        deployments: the deployments whose runs are rerun (their steps must be idempotent).
    """
    heartbeat_s = get_current_settings().flows.heartbeat_frequency
    silence = silence_s or 4 * (heartbeat_s or 0)
    now = datetime.now(UTC)
    stuck = [run for run in await runs_in([StateType.PENDING], deployments)
             if run.state and now - run.state.timestamp > timedelta(seconds=stuck_pending_s)]
    running = await runs_in([StateType.RUNNING], deployments)
    # Without heartbeats (PREFECT_FLOWS_HEARTBEAT_FREQUENCY unset) silence proves nothing.
    quiet = await silent(running, timedelta(seconds=silence), now) if heartbeat_s and silence else []
    marked = [await mark_crashed(run.id, stuck_pending_s) for run in stuck]
    marked += [await mark_crashed(run.id, silence) for run in quiet]
    rescheduled = escalated = cancelled = 0
    for run in await runs_in([StateType.CRASHED], deployments):
        crashes = await read_crashes(run.id)
        if crashes.cancelling:
            cancelled += await finish_cancelling(run.id)
        elif crashes.fruitless <= budget:
            rescheduled += await reschedule(run.id, crashes.fruitless, budget)
        else:
            await escalate(run.id, crashes.fruitless, budget)
            escalated += 1
    return {"silent_marked_crashed": sum(marked), "rescheduled": rescheduled, "escalated": escalated,
            "cancelled": cancelled}
