"""The in-process worker: flow runs of a work pool run as tasks of the worker's own process."""

from __future__ import annotations

import asyncio
import os
from typing import Any
from uuid import uuid4

from prefect import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.settings import PREFECT_WORKER_QUERY_SECONDS, temporary_settings
from prefect.states import Cancelling, Running, Scheduled, Suspended

from tests.workers.fakes import (
    ALL_STARTED,
    FAKES,
    SEEN,
    STARTED,
    notes_its_process,
    start,
    state_of,
    until,
    worker_on,
)
from workers.in_process import WORKER_LABEL, InProcessJobConfiguration, InProcessWorker


async def test_a_run_of_the_pool_completes_in_the_workers_own_process(pool):
    """The run is taken from the pool and run here: no process is started for it."""
    run = await start("notes-its-process", label="own-process")

    await worker_on(pool).start(run_once=True, printer=lambda *_: None)

    assert "Completed" == await state_of(run.id)
    assert os.getpid() == SEEN["own-process"]


async def test_runs_up_to_the_limit_run_at_once_in_one_process(pool):
    """Three runs that each wait for the other two all complete: the worker ran them side by side."""
    STARTED.clear()
    ALL_STARTED.clear()
    runs = [await start("waits-for-company", label=f"company-{n}", company=3) for n in range(3)]

    await worker_on(pool, limit=3).start(run_once=True, printer=lambda *_: None)

    assert ["Completed"] * 3 == [await state_of(run.id) for run in runs]


async def test_a_suspended_run_frees_its_slot_and_a_resumed_one_finishes_here(pool):
    """Suspending ends the run's turn on the worker; once resumed, the next poll finishes it with the answer."""
    run = await start("waits-for-settlement", label="settled-by")
    await worker_on(pool).start(run_once=True, printer=lambda *_: None)
    suspended = await state_of(run.id)
    async with get_client() as client:
        await client.resume_flow_run(run.id, run_input={"confirmed_by": "a test"})

    await worker_on(pool).start(run_once=True, printer=lambda *_: None)

    assert "Suspended" == suspended
    assert "Completed" == await state_of(run.id)
    assert "a test" == SEEN["settled-by"]


async def test_a_failing_run_fails_and_the_worker_goes_on(pool):
    """A flow that raises ends Failed; the next run of the same poll still completes."""
    failing = await start("fails", label="failing")
    fine = await start("notes-its-process", label="after-a-failure")

    await worker_on(pool).start(run_once=True, printer=lambda *_: None)

    assert ("Failed", "Completed") == (await state_of(failing.id), await state_of(fine.id))


async def test_an_operator_cancels_a_running_run_and_it_stops(pool):
    """Cancelling a run in the UI (state Cancelling) stops it on the worker and leaves it Cancelled."""
    run = await start("runs-long", label="cancelled")
    worker = asyncio.create_task(worker_on(pool).start(printer=lambda *_: None))
    try:
        running = await until(run.id, "Running")
        async with get_client() as client:
            await client.set_flow_run_state(run.id, Cancelling(message="operator"), force=True)
        ended = await until(run.id, "Cancelled")
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    assert ("Running", "Cancelled") == (running, ended)
    assert "started" == SEEN["cancelled"]


async def test_a_run_suspended_from_outside_stops_at_its_next_step_and_frees_its_slot(pool):
    """A run set Suspended by someone else (the API, the UI) stops taking steps and leaves the worker, as
    Prefect's own per-run observer would have made it."""
    run = await start("steps-slowly", label="suspended-from-outside")
    worker = worker_on(pool)
    serving = asyncio.create_task(worker.start(printer=lambda *_: None))
    try:
        await until(run.id, "Running")
        async with get_client() as client:
            await client.set_flow_run_state(run.id, Suspended(timeout_seconds=None, pause_key="outside"))
        for _ in range(100):
            if run.id not in worker._hosted:
                break
            await asyncio.sleep(0.1)
        steps = SEEN["suspended-from-outside"]
        await asyncio.sleep(1)
        still = run.id in worker._hosted
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)

    assert (False, "Suspended") == (still, await state_of(run.id))
    assert steps == SEEN["suspended-from-outside"]
    assert "suspended-from-outside-end" not in SEEN


async def test_a_restarted_worker_marks_crashed_what_its_last_process_left_running(pool):
    """Runs labelled with the worker's name and running since before it started are Crashed at start; a run
    of another worker, and one that changed state after the worker was made, are left alone."""
    async with get_client() as client:
        mine, theirs, newer = [await start("runs-long", label=f"orphan-{n}") for n in range(3)]
        for run, holder in ((mine, "worker-restarted"), (theirs, "worker-other")):
            await client.set_flow_run_state(run.id, Running(), force=True)
            await client.update_flow_run_labels(run.id, {WORKER_LABEL: holder})
        restarted = worker_on(pool, name="worker-restarted")
        await client.set_flow_run_state(newer.id, Running(), force=True)
        await client.update_flow_run_labels(newer.id, {WORKER_LABEL: "worker-restarted"})

        async with restarted:
            states = [(await client.read_flow_run(run.id)).state for run in (mine, theirs, newer)]

    assert [StateType.CRASHED, StateType.RUNNING, StateType.RUNNING] == [s.type for s in states if s]
    assert "worker worker-restarted stopped while it ran this run" in (states[0].message or "")  # type: ignore[union-attr]


class DiesAfterPending(InProcessWorker):
    """A worker killed the moment it has set a run Pending: it neither resolves the run's job nor runs it."""

    async def _submit_run_and_capture_errors(self, flow_run: Any, task_status: Any = None) -> Any:
        died = RuntimeError("killed after Pending")
        if task_status is not None:
            task_status.started(died)
        return died


async def test_a_run_left_pending_by_a_worker_killed_at_once_is_taken_back_by_its_restart(pool):
    """The run carries the worker's name before it goes Pending, so the restarted worker marks it Crashed (for
    recover-crashed to rerun) instead of leaving it to wait out the stuck-pending limit."""
    run = await start("notes-its-process", label="left-pending")
    dying = DiesAfterPending(work_pool_name=pool, name="worker-dies", limit=4, flows=FAKES.__getitem__)
    await dying.start(run_once=True, printer=lambda *_: None)
    async with get_client() as client:
        left = await client.read_flow_run(run.id)

        async with worker_on(pool, name="worker-dies"):
            state = await state_of(run.id)

    assert ("Pending", "worker-dies") == (left.state and left.state.name, left.labels.get(WORKER_LABEL))
    assert "Crashed" == state


async def test_a_worker_that_loses_the_race_for_a_run_leaves_the_winners_name_on_it(pool):
    """Two workers polled the same run: only the one Prefect set it Pending for labels it, so a restart of the
    winner, not of the loser, takes it back."""
    run = await start("notes-its-process", label="raced")
    winner, loser = worker_on(pool, name="worker-winner"), worker_on(pool, name="worker-loser")
    async with winner, loser:
        won = await winner._propose_pending_state(run)
        lost = await loser._propose_pending_state(run)
    async with get_client() as client:
        labels = (await client.read_flow_run(run.id)).labels

    assert (True, False, "worker-winner") == (won, lost, labels.get(WORKER_LABEL))


async def test_a_run_of_a_deployment_it_does_not_know_is_crashed_with_the_reason(pool):
    """A deployment outside the worker's catalogue is not run; its run says why."""
    async with get_client() as client:
        stranger = await (await notes_its_process.ato_deployment(name="not-slett", work_pool_name=pool)).apply(  # type: ignore[misc]
            work_pool_name=pool)
        run = await client.create_flow_run_from_deployment(stranger, parameters={"label": "stranger"})

        await worker_on(pool).start(run_once=True, printer=lambda *_: None)
        state = (await client.read_flow_run(run.id)).state

    assert state is not None and StateType.CRASHED == state.type
    assert "deployment 'not-slett' is not one of slett's" in (state.message or "")
    assert "stranger" not in SEEN


async def test_a_run_due_again_while_the_worker_holds_it_is_left_and_the_worker_keeps_polling(pool):
    """A run rescheduled while it still runs here (its slot not given back) is not taken twice; the worker
    does not die of it (Prefect 3.8.8's worker raised out of its polling loop there; 3.9 skips such a run)."""
    run = await start("runs-long", label="due-again")
    with temporary_settings(updates={PREFECT_WORKER_QUERY_SECONDS: 0.2}):
        worker = asyncio.create_task(worker_on(pool).start(printer=lambda *_: None))
        try:
            running = await until(run.id, "Running")
            async with get_client() as client:
                await client.set_flow_run_state(run.id, Scheduled(name="AwaitingRetry"), force=True)
            await asyncio.sleep(2)  # ten polls that see the run due
            alive = not worker.done()
        finally:
            worker.cancel()
            outcome = (await asyncio.gather(worker, return_exceptions=True))[0]

    assert ("Running", True) == (running, alive), outcome


async def test_a_run_of_this_worker_cancelled_before_it_ran_here_is_left_cancelled(pool):
    """A run the worker took but does not hold (its start failed, or its process went) and that an operator
    cancels meanwhile does not stay Cancelling: the worker's watch leaves it Cancelled."""
    run = await start("runs-long", label="never-ran")
    async with get_client() as client:
        await client.update_flow_run_labels(run.id, {WORKER_LABEL: "worker-test"})
        await client.set_flow_run_state(run.id, Cancelling(message="operator"), force=True)
    worker = asyncio.create_task(worker_on(pool).start(printer=lambda *_: None))
    try:
        ended = await until(run.id, "Cancelled")
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)

    assert "Cancelled" == ended
    assert "never-ran" not in SEEN


def test_a_run_prepared_here_is_named_after_the_run_and_gets_no_process_environment():
    """Preparing a job for a run writes no settings out as environment variables and no command: no process is
    started for it."""
    configuration = InProcessJobConfiguration(env={}, labels={}, name=None, command=None)
    configuration.prepare_for_flow_run(FlowRun(id=uuid4(), name="brisk-otter", flow_id=uuid4()))

    assert ("brisk-otter", {}, None) == (configuration.name, configuration.env, configuration.command)
