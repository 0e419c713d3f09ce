"""Drive slett's deployments from a test: start a run, run it here as a worker would, resume, confirm."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow
from prefect.states import Scheduled

from domain.values import OSLO
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

    async def withdraw(self, controller: str, member_id: str, request_id: str | None = None) -> Run:
        """Start withdraw-marketing for a chain's member."""
        request_id = request_id or f"test-withdrawal-{controller}-{uuid4().hex[:10]}"
        return await self.start("withdraw-marketing", {"controller": controller, "member_id": member_id,
                                                       "request_id": request_id}, key=request_id)

    async def sweep(self, controller: str, as_of: date | None = None) -> Run:
        """Run the sweep-readded flow here for one chain."""
        return await self.start("sweep-readded", {"controller": controller,
                                                  **({"as_of": as_of.isoformat()} if as_of else {})})

    async def resume(self, run: Run, run_input: dict[str, Any]) -> Run:
        """Resume a suspended run (erase-member, withdraw-marketing) with input and run it again here."""
        async with get_client() as client:
            await client.resume_flow_run(run.flow_run.id, run_input=run_input)
            flow_run = await client.read_flow_run(run.flow_run.id)
        return await execute(self.name_of(flow_run), flow_run)

    def name_of(self, flow_run: FlowRun) -> str:
        """The deployment a run was started from (erase-member for a run started without one)."""
        return next((name for name, id_ in self.deployments.items() if id_ == flow_run.deployment_id),
                    "erase-member")

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
                                          "done_on": (on or datetime.now(OSLO).date()).isoformat()})
        return run, steps

    async def resume_release(self, run: Run, run_input: dict[str, Any]) -> Run:
        """Resume a suspended release-holds run (a person's confirmation) and run it again here."""
        async with get_client() as client:
            await client.resume_flow_run(run.flow_run.id, run_input=run_input)
            flow_run = await client.read_flow_run(run.flow_run.id)
        return await execute("release-holds", flow_run)

    async def waiting_release_runs(self, request_id: str) -> list[FlowRun]:
        """The release-holds runs a sweep started for a request's holds a person releases, not yet run."""
        from config.deployments import request_tag

        async with get_client() as client:
            found = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[request_tag(request_id)]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))))
        return [run for run in found if run.deployment_id == self.deployments["release-holds"]]

    async def release(self, held: Held, as_of: date) -> ReleaseRun:
        """Run the release-holds sweep here, now, as of a day (the clock a worker injects), narrowed to one
        request's processor and rule: the session's ledger holds every test's holds."""
        run = await self.start("release-holds", {"as_of": as_of.isoformat(), "request_id": held.request_id,
                                                 "system": held.system, "rule": held.rule})
        return ReleaseRun(run.flow_run, run.state, held)


@dataclass(frozen=True)
class Held:
    """One request's holds under one processor and rule, as the ledger has them."""

    request_id: str
    system: str
    rule: str
    retain_until: date

    @property
    def key(self) -> str:
        """"<system>-<rule>", as the release outcome names it."""
        return f"{self.system}-{self.rule}"


@dataclass
class ReleaseRun(Run):
    """A release-holds run narrowed to one request's processor and rule."""

    held: Held

    async def result(self) -> Any:
        """What the sweep did with the held records: released, held_again, review, already_absent, or
        "nothing due"."""
        done: dict[str, str] = await self.state.result()
        return done.get(f"{self.held.request_id}:{self.held.key}", "nothing due")


def pause_key(run: Run) -> str:
    """The key the run suspended with ("settlement-1", "confirm-<step>")."""
    return str(run.state.state_details.pause_key or "")


async def release_runs(request_id: str) -> dict[str, Held]:
    """A request's open holds in the ledger by "<system>-<rule>", at the rule's soonest open date."""
    from config.settings import load_settings
    from evidence.ledger import RELEASED, open_ledger

    ledger = await open_ledger(load_settings().ledger_url)
    found: dict[str, Held] = {}
    for state in await ledger.hold_states([request_id]):
        held = Held(request_id, state.hold.system, state.hold.rule, state.hold.retain_until)
        if state.status != RELEASED and held.key not in found:
            found[held.key] = held
    return found
