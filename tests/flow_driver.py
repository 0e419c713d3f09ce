"""Drive slett's deployments from a test: start a run, run it here as a worker would, resume, confirm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow
from prefect.states import Scheduled

from flows.catalog import load
from queries.runs import step_of_key
from tests.flows.conftest import Run


async def execute(name: str, flow_run: FlowRun, parameters: dict[str, Any] | None = None) -> Run:
    """Run a flow run of deployment `name` in this process, as a worker would, until it ends or suspends."""
    try:
        state = await run_flow(load(name), flow_run=flow_run, parameters=parameters,  # type: ignore[misc]
                               return_type="state")
    except Pause as pause:
        state = pause.state
    async with get_client() as client:
        return Run(await client.read_flow_run(flow_run.id), state)


@dataclass
class Flows:
    """Start and drive the chains' deployments from a test."""

    deployments: dict[str, UUID]

    async def start(self, name: str, parameters: dict[str, Any], key: str | None = None) -> Run:
        """Create a run of deployment `name` and run it here."""
        async with get_client() as client:
            flow_run = await client.create_flow_run_from_deployment(
                self.deployments[name], parameters=parameters, idempotency_key=key or uuid4().hex)
        return await execute(name, flow_run)

    async def erase(self, controller: str, member_id: str, kind: str = "termination",
                    request_id: str | None = None) -> Run:
        """Start erase-member for a chain's member."""
        request_id = request_id or f"test-{controller}-{uuid4().hex[:10]}"
        return await self.start("erase-member", {"controller": controller, "member_id": member_id, "kind": kind,
                                                 "request_id": request_id}, key=request_id)

    async def resume(self, run: Run, run_input: dict[str, Any]) -> Run:
        """Resume a suspended erase-member run with input and run it again here."""
        async with get_client() as client:
            await client.resume_flow_run(run.flow_run.id, run_input=run_input)
            flow_run = await client.read_flow_run(run.flow_run.id)
        return await execute("erase-member", flow_run)

    async def again(self, run: Run) -> Run:
        """Run an erase-member run again (after a reconcile resumed it, or an operator's retry)."""
        async with get_client() as client:
            flow_run = await client.read_flow_run(run.flow_run.id)
            if flow_run.state is not None and flow_run.state.is_final():
                await client.set_flow_run_state(flow_run.id, Scheduled(), force=True)
                flow_run = await client.read_flow_run(run.flow_run.id)
        return await execute("erase-member", flow_run)

    async def confirm_all(self, run: Run, by: str = "Kari Drift", what: str = "deleted at the supplier",
                          on: date | None = None) -> tuple[Run, list[str]]:
        """Confirm each manual step the run suspends for, until it ends; the steps confirmed, in order."""
        steps = []
        while run.state_name == "SUSPENDED" and (step := step_of_key(pause_key(run))):
            steps.append(step)
            run = await self.resume(run, {"confirmed_by": by, "what_was_done": what,
                                          "done_on": (on or date.today()).isoformat()})
        return run, steps

    async def release(self, scheduled: FlowRun, as_of: date) -> Run:
        """Run a scheduled release-holds run's parameters here, now, as of a day (the clock a worker injects)."""
        # The scheduled run itself would wait for its start time (Prefect's orchestration holds it back).
        return await self.start("release-holds", {**scheduled.parameters, "as_of": as_of.isoformat()})


def pause_key(run: Run) -> str:
    """The key the run suspended with ("settlement-1", "confirm-<step>")."""
    return str(run.state.state_details.pause_key or "")


async def release_runs(request_id: str) -> dict[str, FlowRun]:
    """The release-holds runs scheduled for a request, by "<system>-<rule>", newest last."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"request:{request_id}"])),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["release-holds"])))
    return {f"{r.parameters['system']}-{r.parameters['rule']}": r
            for r in sorted(runs, key=lambda r: str(r.created))}
