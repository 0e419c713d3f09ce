"""Crashed and silent runs through the Prefect API: find them, count their crashes, rerun or escalate them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from uuid import UUID, uuid5

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateName,
)
from prefect.client.schemas.objects import FlowRun, StateType, TaskRun
from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
from prefect.events import emit_event
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventResourceFilter
from prefect.states import Cancelled, Crashed, Scheduled

from domain.values import STEP_KEY
from evidence.chain import CHAIN_LOCK

ESCALATED = "escalated"  # the tag on a run whose retry budget is spent: a person must look at it
HEARTBEAT = "prefect.flow-run.heartbeat"
PAGE = 200  # runs per sweep; the next sweep takes the rest
EVENTS_PAGE = 50  # the most events /events/filter returns at once


async def runs_in(states: list[StateType], deployments: tuple[str, ...]) -> list[FlowRun]:
    """Runs of the named deployments in the given state types, oldest first, escalated runs left out."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states))),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=list(deployments))),
            limit=PAGE)
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted((r for r in runs if ESCALATED not in r.tags), key=lambda r: r.created or epoch)


async def silent(runs: list[FlowRun], silence: timedelta, now: datetime | None = None) -> list[FlowRun]:
    """The runs that have been in their state for longer than `silence` with no heartbeat in it."""
    now = now or datetime.now(UTC)
    old = {run.id: run for run in runs if run.state and now - run.state.timestamp > silence}
    if not old:
        return []
    resources = [f"prefect.flow-run.{run_id}" for run_id in old]
    heard: set[str] = set()
    async with get_client() as client:
        # The newest heartbeat of each run, EVENTS_PAGE runs a call (the API's page limit).
        for start in range(0, len(resources), EVENTS_PAGE):
            page = await client.read_events(EventFilter(
                occurred=EventOccurredFilter(since=now - silence, until=now),
                event=EventNameFilter(name=[HEARTBEAT]),
                resource=EventResourceFilter(id=resources[start:start + EVENTS_PAGE], distinct=True)),
                limit=EVENTS_PAGE)
            heard.update(event.resource.id for event in page.events)
    return [run for run_id, run in old.items() if f"prefect.flow-run.{run_id}" not in heard]


@dataclass(frozen=True)
class Crashes:
    """What a crashed run's history says about its crashes."""

    fruitless: int  # crashes with no cached step finished since the run's start or its crash before
    cancelling: bool  # the last crash cut short a cancellation someone asked for


async def read_crashes(run_id: UUID) -> Crashes:
    """The run's crashes, from its state history and its finished steps.

    A worker runs many flow runs in its process, so one run's crash is often another's fault, or a lost
    machine's: such a run finishes steps between its crashes. A run that kills its process itself dies at the
    same step every time and finishes none; the budget counts those crashes only. Steps that are not kept
    under a step key (verification, evidence) are done again on every attempt, so they prove no progress.
    """
    async with get_client() as client:
        states = await client.read_flow_run_states(run_id)
        # "Completed", not "Cached": a step a rerun took from the cache was done before.
        steps = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])),
            task_run_filter=TaskRunFilter(state=TaskRunFilterState(name=TaskRunFilterStateName(any_=["Completed"]))),
            limit=PAGE)
    finished = [t.end_time for t in steps if t.end_time and _done_for_good(t)]
    states = sorted(states, key=lambda state: state.timestamp)
    fruitless, since = 0, datetime.min.replace(tzinfo=UTC)
    for crash in (state.timestamp for state in states if state.type is StateType.CRASHED):
        fruitless += not any(since < end <= crash for end in finished)
        since = crash
    last = max((n for n, state in enumerate(states) if state.type is StateType.CRASHED), default=0)
    return Crashes(fruitless, last > 0 and states[last - 1].type is StateType.CANCELLING)


def _done_for_good(step: TaskRun) -> bool:
    """Whether a finished step's result is kept under its step key, so a rerun will not do it again."""
    stored = getattr(step.state.data if step.state else None, "storage_key", None)
    return bool(stored) and PurePosixPath(str(stored)).name.startswith(STEP_KEY)


# The tasks take ids, not FlowRun objects: Prefect reads a task's arguments for upstream states.
@task(name="mark-silent-crashed", cache_policy=NO_CACHE)
async def mark_crashed(run_id: UUID, silence_s: int) -> bool:
    """Mark a run Crashed whose process went silent: no heartbeat (or no start) for `silence_s`."""
    async with get_client() as client:
        current = await client.read_flow_run(run_id)
        if current.state is None or current.state.type not in (StateType.PENDING, StateType.RUNNING):
            return False
        result: OrchestrationResult[object] = await client.set_flow_run_state(run_id, Crashed(
            message=f"{current.state.name} for over {silence_s} s with no sign of life: its process is gone"))
    return result.status is SetStateStatus.ACCEPT


@task(name="reschedule-crashed", cache_policy=NO_CACHE)
async def reschedule(run_id: UUID, crashes: int, budget: int) -> bool:
    """Put a crashed run back on the schedule; its cached steps return, idempotency keys guard the rest."""
    async with get_client() as client:
        current = await client.read_flow_run(run_id)
        if current.state is None or current.state.type is not StateType.CRASHED:
            return False  # someone (another sweep, an operator) got there first
        # Two sweeps that saw the same crash propose the same transition: Prefect accepts only the first.
        once = {"transition_id": uuid5(current.state.id, "reschedule")}
        # The rerun keeps its place in the queue (its first start time), ahead of requests that came later.
        result: OrchestrationResult[object] = await client.set_flow_run_state(run_id, Scheduled(
            scheduled_time=current.expected_start_time, name="AwaitingRecovery", state_details=once,
            message=f"fruitless crash {crashes} of {budget} allowed: rerun by recover-crashed"))
    get_run_logger().info("Rescheduled crashed run %s (fruitless crash %d of %d allowed)", current.name, crashes,
                          budget)
    return result.status is SetStateStatus.ACCEPT


@task(name="finish-cancelling", cache_policy=NO_CACHE)
async def finish_cancelling(run_id: UUID) -> bool:
    """Leave Cancelled a run whose crash cut short the cancellation someone asked for: never rerun it."""
    async with get_client() as client:
        result: OrchestrationResult[object] = await client.set_flow_run_state(run_id, Cancelled(
            message="crashed while being cancelled: left cancelled, as asked"))
    return result.status is SetStateStatus.ACCEPT


@task(name="escalate-crashed", cache_policy=NO_CACHE)
async def escalate(run_id: UUID, crashes: int, budget: int) -> str:
    """Leave a run Crashed with the reason in its state, tag it and emit an event for a person; the reason."""
    reason = (f"crashed {crashes} times without finishing a step in between, more than the {budget} reruns "
              "allowed: left for an operator (rerun it from the UI once the cause is fixed)")
    async with get_client() as client:
        current = await client.read_flow_run(run_id)
        await client.set_flow_run_state(run_id, Crashed(message=reason), force=True)
        await client.update_flow_run(run_id, tags=[*current.tags, ESCALATED])
    emit_event(event="slett.run.escalated", resource={"prefect.resource.id": f"prefect.flow-run.{run_id}",
                                                      "prefect.resource.name": current.name},
               payload={"crashes": crashes, "budget": budget, "reason": reason})
    get_run_logger().error("Escalated run %s: %s", current.name, reason)
    return reason


@task(name="free-stuck-chain-locks", cache_policy=NO_CACHE)
async def free_stuck_locks(stale_after_s: int, now: datetime | None = None) -> list[str]:
    """Free each evidence chain's lock that has stayed taken, untouched, for over `stale_after_s`; their names."""
    # A seal holds its lock for seconds, under a 60 s lease that Prefect takes back from a dead holder.
    # But Prefect counts the slot before it writes the lease: a server killed between the two leaves the
    # slot taken with no lease to expire, and every later request of that chain waits on it for ever.
    now = now or datetime.now(UTC)
    async with get_client() as client:
        limits = await client.read_global_concurrency_limits(limit=PAGE)
        stuck = [limit.name for limit in limits if limit.name.startswith(CHAIN_LOCK) and limit.active_slots
                 and limit.updated and now - limit.updated > timedelta(seconds=stale_after_s)]
        for name in stuck:
            await client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active_slots=0))
            emit_event(event="slett.evidence.lock-freed", resource={"prefect.resource.id": f"slett.lock.{name}"},
                       payload={"untouched_for_over_s": stale_after_s})
            get_run_logger().warning("Freed %s: taken and untouched for over %d s, with no holder left", name,
                                     stale_after_s)
    return stuck
