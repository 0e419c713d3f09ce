"""recover-crashed against the session's Prefect server: reruns within the budget, escalation past it,
silent runs marked Crashed; the crash itself is a process death right after a processor applied a call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import yaml
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.events import emit_event
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.events.schemas.automations import Automation
from prefect.states import Cancelling, Crashed, Pending, Running

from cli.automations import RECOVERY, ZOMBIES
from cli.main import main
from config.deployments import ESCALATED
from config.settings import PROJECT_ROOT
from flows.recover_crashed import recover_crashed
from sandbox.journal import Call
from tasks.recovery import HEARTBEAT, mark_crashed, silent
from tests.flows.conftest import execute

pytestmark = pytest.mark.slow


class ProcessDied(BaseException):
    """What kill -9 looks like from inside the process: nothing after it runs (not an Exception)."""


def die_after(system: str, sandbox) -> Callable[[Call], None]:
    """A journal listener that kills the run (once) right after `system` applied a destructive call."""

    def die(call: Call) -> None:
        if call.system == system and call.applied:
            sandbox.journal.listeners.clear()
            raise ProcessDied

    return die


async def new_run(deployments, member_id: str) -> FlowRun:
    async with get_client() as client:
        return await client.create_flow_run_from_deployment(
            deployments["erase-member"], parameters={"controller": "demo", "member_id": member_id,
                                                     "kind": "termination", "request_id": f"rc-{uuid4().hex[:10]}"})


async def history(run: FlowRun) -> list[str]:
    async with get_client() as client:
        return [state.name or "" for state in await client.read_flow_run_states(run.id)]


async def test_a_run_killed_after_a_processor_applied_a_call_is_rerun_and_harms_nothing_twice(sandbox,
                                                                                            deployments):
    """The process dies right after Nets restricted the payments; the sweep reschedules the crashed
    run, and the rerun completes with every destructive call applied once."""
    sandbox.journal.listeners.append(die_after("nets", sandbox))
    run = await new_run(deployments, "M1001")
    with pytest.raises(ProcessDied):
        await execute(run)
    async with get_client() as client:
        crashed = await client.read_flow_run(run.id)

    swept = await recover_crashed(budget=3, silence_s=90)
    async with get_client() as client:
        rerun = await execute(await client.read_flow_run(run.id))

    assert StateType.CRASHED == crashed.state_type
    assert swept["rescheduled"] >= 1
    assert "COMPLETED" == rerun.state_name
    assert ["Crashed", "AwaitingRecovery", "Completed"] == [n for n in await history(run) if n in
                                                           {"Crashed", "AwaitingRecovery", "Completed"}]
    assert {} == sandbox.journal.applied_twice()
    assert ["mailchimp", "ibooking", "nets", "exceline"] == sandbox.destructive_calls_for("M1001")


async def test_a_run_crashed_more_often_than_the_budget_is_escalated_and_left_alone(sandbox, deployments):
    """The crash after the last rerun leaves the run Crashed, tagged escalated, with the reason; later
    sweeps do not touch it again."""
    run = await new_run(deployments, "M1003")
    async with get_client() as client:
        for _ in range(3):
            await client.set_flow_run_state(run.id, Running(), force=True)
            await client.set_flow_run_state(run.id, Crashed(message="process died"), force=True)

    await recover_crashed(budget=2, silence_s=90)
    await recover_crashed(budget=2, silence_s=90)
    async with get_client() as client:
        escalated = await client.read_flow_run(run.id)

    assert StateType.CRASHED == escalated.state_type
    assert ESCALATED in escalated.tags
    assert escalated.state is not None
    assert "crashed 3 times without finishing a step in between, more than the 2 reruns allowed" in (
        escalated.state.message or "")
    assert 4 == (await history(run)).count("Crashed")


async def test_crashes_after_which_the_run_had_finished_steps_do_not_count_against_the_budget(sandbox, deployments):
    """A run that finished steps before it crashed (its worker died under it, for another run's sake) is rerun
    although it crashed more often than the budget: only crashes with no step finished since count."""
    sandbox.journal.listeners.append(die_after("nets", sandbox))
    run = await new_run(deployments, "M1004")
    with pytest.raises(ProcessDied):
        await execute(run)
    await steps_recorded(run)
    async with get_client() as client:
        for _ in range(2):  # crashed again twice, with nothing finished in between
            await client.set_flow_run_state(run.id, Running(), force=True)
            await client.set_flow_run_state(run.id, Crashed(message="process died"), force=True)

    swept = await recover_crashed(budget=2, silence_s=90)
    async with get_client() as client:
        rerun = await client.read_flow_run(run.id)

    assert (1, 0) == (swept["rescheduled"], swept["escalated"])
    assert "AwaitingRecovery" == rerun.state_name
    assert "fruitless crash 2 of 2 allowed" in (rerun.state.message or "")  # type: ignore[union-attr]


async def test_a_crash_that_cut_short_a_cancellation_leaves_the_run_cancelled(deployments):
    """An operator cancelled the run and it crashed on the way out: the sweep finishes the cancellation and
    never reruns it."""
    run = await new_run(deployments, "M1003")
    states: list[State] = [Running(), Cancelling(message="operator"), Crashed(message="cancelled in flight")]
    async with get_client() as client:
        for state in states:
            await client.set_flow_run_state(run.id, state, force=True)

    swept = await recover_crashed(budget=3, silence_s=90)

    assert 1 == swept["cancelled"]
    assert ["Running", "Cancelling", "Crashed", "Cancelled"] == (await history(run))[-4:]


async def test_a_running_run_without_a_heartbeat_for_longer_than_the_silence_is_marked_crashed(deployments):
    """A Running run with no heartbeat for the whole silence lost its process: it is found silent and marked
    Crashed, and a sweep reschedules it."""
    run = await new_run(deployments, "M1004")
    async with get_client() as client:
        await client.set_flow_run_state(run.id, Running(), force=True)
        running = await client.read_flow_run(run.id)

    quiet = await silent([running], timedelta(seconds=90), now=datetime.now(UTC) + timedelta(minutes=10))
    marked = await mark_crashed.fn(run.id, 90)
    await recover_crashed(budget=3, silence_s=90)

    assert [run.id] == [found.id for found in quiet]
    assert marked
    assert ["Running", "Crashed", "AwaitingRecovery"] == (await history(run))[-3:]


async def test_a_run_pending_for_longer_than_allowed_is_marked_crashed_and_rerun(deployments):
    """A run that went Pending and never started (its worker died while starting it) is marked Crashed by
    the sweep once it has been Pending longer than allowed, and rescheduled in the same sweep."""
    run = await new_run(deployments, "M1003")
    async with get_client() as client:
        await client.set_flow_run_state(run.id, Pending(), force=True)

    swept = await recover_crashed(budget=3, silence_s=90, stuck_pending_s=0)

    assert swept["silent_marked_crashed"] >= 1
    assert ["Pending", "Crashed", "AwaitingRecovery"] == (await history(run))[-3:]


async def steps_recorded(run: FlowRun, timeout_s: float = 30) -> None:
    """Wait until the server has recorded the run's finished steps (task runs arrive as events)."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    async with get_client() as client:
        while datetime.now(UTC) < deadline:
            steps = await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
            if any(step.state_name == "Completed" for step in steps):
                return
            await asyncio.sleep(0.2)
    raise AssertionError("the run's steps never reached the server")


async def test_a_run_with_a_recent_heartbeat_is_not_silent(deployments):
    """A heartbeat inside the silence proves the process lives: the run is left alone."""
    run = await new_run(deployments, "M1001")
    async with get_client() as client:
        await client.set_flow_run_state(run.id, Running(), force=True)
        running = await client.read_flow_run(run.id)
    emit_event(event=HEARTBEAT, resource={"prefect.resource.id": f"prefect.flow-run.{run.id}"})
    await heard_of(run)

    quiet = await silent([running], timedelta(seconds=90), now=datetime.now(UTC) + timedelta(seconds=60))

    assert [] == quiet


async def heard_of(run: FlowRun, timeout_s: float = 30) -> None:
    """Wait until the server has stored a heartbeat of the run (events arrive asynchronously)."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    async with get_client() as client:
        while datetime.now(UTC) < deadline:
            page = await client.read_events(EventFilter(
                event=EventNameFilter(name=[HEARTBEAT]),
                resource=EventResourceFilter(id=[f"prefect.flow-run.{run.id}"])), limit=1)
            if page.events:
                return
            await asyncio.sleep(0.2)
    raise AssertionError("the heartbeat never reached the server")


def test_setup_automations_makes_crash_detection_once_and_updates_it_in_place(deployments, capsys):
    """`slett setup-automations` creates the zombie and recovery automations; run again, it updates them (a
    new silence) instead of adding copies."""
    asyncio.run(delete_automations())  # another module of the session (tests/cli) may have made them already
    first = main(["setup-automations", "--silence-s", "90"])
    second = main(["setup-automations", "--silence-s", "120", "--stuck-pending-s", "300"])
    automations = asyncio.run(read_automations())

    out = capsys.readouterr().out
    assert (0, 0) == (first, second)
    assert out.count("created") == 2 and out.count("updated") == 2
    assert [1, 1] == [len(automations[name]) for name in (ZOMBIES, RECOVERY)]
    assert timedelta(seconds=120) == automations[ZOMBIES][0].trigger.within  # type: ignore[union-attr]
    sweep = automations[RECOVERY][0].actions[0]
    assert {"silence_s": 120, "stuck_pending_s": 300} == sweep.parameters  # type: ignore[union-attr]


def test_the_sweep_runs_on_an_interval_schedule_whatever_the_events_say():
    """recover-crashed is served and deployed with an interval schedule: the backstop that needs no event,
    which a server restart cannot hold back."""
    from config.deployments import DEPLOYMENTS, RECOVER_CRASHED, SWEEP_EVERY_S

    deployed = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())["deployments"]
    recovery = next(d for d in deployed if d["name"] == RECOVER_CRASHED)

    assert SWEEP_EVERY_S == DEPLOYMENTS[RECOVER_CRASHED].interval_s
    assert [{"interval": SWEEP_EVERY_S}] == recovery["schedules"]


async def read_automations() -> dict[str, list[Automation]]:
    async with get_client() as client:
        return {name: await client.read_automations_by_name(name) for name in (ZOMBIES, RECOVERY)}


async def delete_automations() -> None:
    """No crash detection on the server, as before a first `slett setup-automations`."""
    async with get_client() as client:
        for automation in [a for name in (ZOMBIES, RECOVERY) for a in await client.read_automations_by_name(name)]:
            await client.delete_automation(automation.id)
