"""A Prefect worker that runs its flow runs inside its own long-lived process.

Prefect's process worker starts a new Python process for every flow run, and again for every resumption of
a suspended one: importing Prefect and slett costs about 1.5 s of CPU each time, more than the erasure
itself. This worker imports slett's flows once and runs each flow run on its event loop, up to its limit at
once. Its death takes all its runs with it, as a lost machine would: zombie detection and recover-crashed
rerun them, and a worker restarted under its name marks the runs its previous life held Crashed at once.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
import anyio.abc
import structlog
from prefect import Flow
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    WorkPoolFilter,
    WorkPoolFilterName,
)
from prefect.client.schemas.objects import Flow as APIFlow
from prefect.client.schemas.objects import FlowRun, StateType, WorkPool
from prefect.client.schemas.responses import DeploymentResponse
from prefect.exceptions import Abort, InfrastructureNotFound, Pause
from prefect.flow_engine import run_flow
from prefect.logging.loggers import flow_run_logger
from prefect.settings import PREFECT_WORKER_ENABLE_CANCELLATION, temporary_settings
from prefect.states import Cancelled, Crashed
from prefect.workers.base import BaseWorkerResult
from prefect.workers.process import ProcessJobConfiguration, ProcessVariables

from flows.catalog import load
from prefect_compat import PendingHook, lighter_engine, mark_suspension_requested

WORKER_LABEL = "prefect.worker.name"  # the label BaseWorker gives every run it submits
WATCH_EVERY_S = 5.0  # between looks for runs an operator cancelled
PAGE = 200  # runs per call: the API's page limit
log = structlog.get_logger("slett.worker")


class UnknownDeployment(Exception):
    """The run belongs to a deployment this worker does not run; the message says which."""


class InProcessResult(BaseWorkerResult):
    """How a flow run ended here: 0 when the engine reported its final state, 1 when it raised."""


class InProcessJobConfiguration(ProcessJobConfiguration):
    """The process pool's job configuration, prepared for a run that starts no process."""

    def prepare_for_flow_run(self, flow_run: FlowRun, deployment: DeploymentResponse | None = None,
                             flow: APIFlow | None = None, work_pool: WorkPool | None = None,
                             worker_name: str | None = None, worker_id: UUID | None = None) -> None:
        """Name the job after the run, and build no environment or command for a process."""
        # Prefect's preparation writes every current setting out as environment variables for the process it
        # would start (about 18 ms of CPU per run); a run here has them already, in this process.
        self.name = self.name or flow_run.name


# Prefect keeps one worker class per pool type and warns when a second one claims a type. This worker takes
# process pools as they are (same job template, interchangeable with `prefect worker start`), so in its own
# process it is the "process" worker.
warnings.filterwarnings("ignore", message="Type 'InProcessWorker' .* matches existing registered type")


class InProcessWorker(PendingHook[InProcessJobConfiguration, ProcessVariables, InProcessResult]):
    """Runs slett's deployments' flow runs as tasks of this process, `limit` at once."""

    type = "process"
    job_configuration = InProcessJobConfiguration
    job_configuration_variables = ProcessVariables
    _description = "Runs slett's flow runs in the worker's own process: no process start per run."
    _display_name = "slett in-process"

    def __init__(self, work_pool_name: str, *args: Any, flows: Callable[[str], Flow[..., Any]] = load,
                 watch_every_s: float = WATCH_EVERY_S, **kwargs: Any) -> None:
        super().__init__(work_pool_name, *args, **kwargs)
        self._pool = work_pool_name
        self._flows = flows
        self._watch_every_s = watch_every_s
        self._by_deployment: dict[UUID, Flow[..., Any]] = {}
        self._hosted: dict[UUID, anyio.CancelScope] = {}  # runs this worker holds a slot for
        self._born = datetime.now(UTC)
        self._reclaimed = False
        self._watch: anyio.abc.TaskGroup | None = None

    async def start(self, *args: Any, **kwargs: Any) -> None:
        """Poll the pool and run its flow runs here until stopped."""
        # This worker watches the runs it holds for cancellation itself (_keep_watch): Prefect's observer would
        # subscribe to every cancellation of the pool, to cancel only runs that never started.
        with temporary_settings(updates={PREFECT_WORKER_ENABLE_CANCELLATION: False}), lighter_engine():
            await super().start(*args, **kwargs)

    async def __aenter__(self) -> InProcessWorker:
        await super().__aenter__()
        await self._reclaim_once()
        self._watch = anyio.create_task_group()
        await self._watch.__aenter__()
        self._watch.start_soon(self._keep_watch)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._watch is not None:
            self._watch.cancel_scope.cancel()
            await self._watch.__aexit__(None, None, None)
        await super().__aexit__(*exc_info)

    async def run(self, flow_run: FlowRun, configuration: InProcessJobConfiguration,
                  task_status: anyio.abc.TaskStatus[int] | None = None) -> InProcessResult:
        """Run one flow run on this event loop until it ends, suspends or is cancelled."""
        scope = self._hosted[flow_run.id] = anyio.CancelScope()
        try:
            flow = await self._flow_of(flow_run)
            current = await self.client.read_flow_run(flow_run.id)
            with scope:
                if task_status is not None:
                    task_status.started(os.getpid())  # the run's infrastructure_pid: this process
                code = await self._execute(flow, current)
            if scope.cancel_called:
                # The engine reports a cancelled run Crashed; an operator asked for Cancelled.
                await self.client.set_flow_run_state(flow_run.id, Cancelled(message="cancelled while it ran"),
                                                     force=True)
                code = 0
        finally:
            del self._hosted[flow_run.id]
        return InProcessResult(status_code=code, identifier=str(os.getpid()))

    async def on_pending(self, flow_run: FlowRun) -> None:
        """Label the run as this worker's the moment it is Pending for it: killed right after, its restart takes it
        back."""
        # Prefect labels a run only once its job is resolved: a worker killed in between left a Pending run
        # labelled nobody's, which waited out recover-crashed's stuck-pending limit (the chaos suite). Labelling
        # before Pending is no better: two workers racing for one run both label it, and the loser's name stays
        # on the winner's run (the chaos suite again, when the winner was then killed).
        await self.client.update_flow_run_labels(flow_run.id, {WORKER_LABEL: self.name})

    async def kill_infrastructure(self, infrastructure_pid: str, configuration: InProcessJobConfiguration,
                                  grace_seconds: int = 30) -> None:
        """A run cancelled before it started has nothing to kill: its engine's next proposal is refused."""
        raise InfrastructureNotFound(f"in-process run on {infrastructure_pid}: nothing to kill")

    async def _flow_of(self, flow_run: FlowRun) -> Flow[..., Any]:
        """The flow of the run's deployment, imported once: slett's deployments are known by name."""
        if flow_run.deployment_id is None:
            raise UnknownDeployment(f"flow run {flow_run.id} has no deployment: this worker runs deployments only")
        if flow_run.deployment_id not in self._by_deployment:
            deployment = await self.client.read_deployment(flow_run.deployment_id)
            try:
                self._by_deployment[flow_run.deployment_id] = self._flows(deployment.name)
            except KeyError:
                raise UnknownDeployment(f"deployment {deployment.name!r} is not one of slett's "
                                        "(config/deployments.py): run it with Prefect's process worker") from None
        return self._by_deployment[flow_run.deployment_id]

    async def _execute(self, flow: Flow[..., Any], flow_run: FlowRun) -> int:
        logger = flow_run_logger(flow_run=flow_run)
        try:
            running = run_flow(flow, flow_run=flow_run, return_type="state")
            if inspect.isawaitable(running):
                await running
        except (Abort, Pause):
            return 0  # suspended, or the server said stop: the run's state says which
        except Exception:
            logger.exception("flow run %s raised out of the engine", flow_run.id)
            return 1
        return 0

    async def _keep_watch(self) -> None:
        """Cancel the hosted runs an operator cancels, suspend those suspended from outside; take back orphans
        if the API was away at start."""
        while True:
            await anyio.sleep(self._watch_every_s)
            await self._reclaim_once()
            try:
                await self._cancel_requested()
                await self._suspension_requested()
            except Exception:
                log.warning("could not look for cancelled or suspended runs; trying again", worker=self.name,
                            exc_info=True)

    async def _reclaim_once(self) -> None:
        if self._reclaimed:
            return
        try:
            await self._reclaim_orphans()
        except Exception:
            log.warning("could not look for runs left by this worker's last process; trying again",
                        worker=self.name, exc_info=True)
        else:
            self._reclaimed = True

    async def _pool_runs(self, states: list[StateType]) -> list[FlowRun]:
        """Every run of this worker's pool in one of the states, page by page."""
        found: list[FlowRun] = []
        while True:
            page = await self.client.read_flow_runs(
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states))),
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[self._pool])),
                limit=PAGE, offset=len(found))
            found += page
            if len(page) < PAGE:
                return found

    async def _cancel_requested(self) -> None:
        """Stop the hosted runs an operator cancelled; leave Cancelled those of ours that never started here."""
        for run in await self._pool_runs([StateType.CANCELLING]):
            if run.id in self._hosted:
                self._hosted[run.id].cancel()  # run() leaves it Cancelled once its engine has stopped
            elif run.labels.get(WORKER_LABEL) == self.name:
                await self.client.set_flow_run_state(run.id, Cancelled(message="cancelled before it ran here"))

    async def _suspension_requested(self) -> list[UUID]:
        """Tell the engine of each hosted run suspended from outside to stop at its next step, as Prefect's own
        observer would; the runs told."""
        hosted = list(self._hosted)
        if not hosted:
            return []
        paused = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.PAUSED]))
        runs = await self.client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=hosted), state=paused), limit=len(hosted))
        return [run.id for run in runs if run.state is not None and run.state.name == "Suspended"
                and mark_suspension_requested(run.id, run.state)]

    async def _reclaim_orphans(self) -> list[UUID]:
        """Mark Crashed the runs this worker's name held before it started: that process is gone."""
        runs = await self._pool_runs([StateType.PENDING, StateType.RUNNING, StateType.CANCELLING])
        orphans = [run for run in runs if run.labels.get(WORKER_LABEL) == self.name and run.id not in self._hosted
                   and run.state is not None and run.state.timestamp < self._born]
        for run in orphans:
            await self.client.set_flow_run_state(run.id, Crashed(
                message=f"worker {self.name} stopped while it ran this run ({run.infrastructure_pid}); "
                        "it was started again and hands the run to recover-crashed"))
        if orphans:
            log.warning("marked the runs of this worker's previous process Crashed", worker=self.name,
                        runs=len(orphans))
        return [run.id for run in orphans]
