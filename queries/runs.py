"""Erasure runs through the Prefect API: start one for a request, find and resume those that wait."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import structlog
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateName,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.responses import SetStateStatus
from prefect.client.schemas.sorting import FlowRunSort
from prefect.input import Keyset, keyset_from_base_key
from prefect.input.actions import acreate_flow_run_input, aread_flow_run_input

from config.deployments import (
    DEPLOYMENTS,
    ERASE_MEMBER,
    RELEASE_HOLDS,
    TAG,
    WITHDRAW_MARKETING,
    controller_tag,
    member_tag,
    request_tag,
)
from queries.pages import PAGE, every_page

log = structlog.get_logger("slett.runs")


async def start_erasure(controller: str, member_id: str, kind: str, request_id: str,
                        tags: tuple[str, ...] = ()) -> FlowRun:
    """Create an erase-member run; the request id is its idempotency key, so a repeat starts nothing."""
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(DEPLOYMENTS[ERASE_MEMBER].full_name)
        return await client.create_flow_run_from_deployment(
            deployment.id, idempotency_key=request_id,
            parameters={"controller": controller, "member_id": member_id, "kind": kind,
                        "request_id": request_id},
            tags=[TAG, controller_tag(controller),
                  *dict.fromkeys([member_tag(controller, member_id), *tags])])


async def start_withdrawal(controller: str, member_id: str, request_id: str, tags: tuple[str, ...] = ()) -> FlowRun:
    """Create a withdraw-marketing run; the request id is its idempotency key, so a repeat starts nothing."""
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(DEPLOYMENTS[WITHDRAW_MARKETING].full_name)
        return await client.create_flow_run_from_deployment(
            deployment.id, idempotency_key=request_id,
            parameters={"controller": controller, "member_id": member_id, "request_id": request_id},
            tags=[TAG, controller_tag(controller), *dict.fromkeys([member_tag(controller, member_id), *tags])])


async def start_release_by_person(controller: str, request_id: str, system: str, rule: str, as_of: date,
                                  retain_until: date) -> FlowRun:
    """Create a release-holds run for one hold a person releases (a processor with no API); one per hold and
    date, whichever sweep asks first (the idempotency key), so a daily sweep never asks twice."""
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(DEPLOYMENTS[RELEASE_HOLDS].full_name)
        return await client.create_flow_run_from_deployment(
            deployment.id, idempotency_key=f"release-by-person:{request_id}:{system}:{rule}:{retain_until}",
            parameters={"as_of": as_of.isoformat(), "request_id": request_id, "system": system, "rule": rule},
            tags=[TAG, controller_tag(controller), request_tag(request_id)])


async def erasure_runs(run_filter: FlowRunFilter, page: int = PAGE,
                       deployments: tuple[str, ...] = (ERASE_MEMBER,)) -> list[FlowRun]:
    """Every run of these deployments (erase-member) the filter matches, read a page at a time (the API returns
    at most 200)."""
    deployment_filter = DeploymentFilter(name=DeploymentFilterName(any_=list(deployments)))
    async with get_client() as client:
        found = await every_page(lambda limit, offset: client.read_flow_runs(
            flow_run_filter=run_filter, sort=FlowRunSort.ID_DESC, limit=limit, offset=offset,
            deployment_filter=deployment_filter), page)
    # A run that changes state between two pages may be read twice: keep one per id.
    return list({run.id: run for run in found}.values())


async def suspended_runs(member_id: str | None = None, controller: str | None = None,
                         page: int = PAGE) -> list[FlowRun]:
    """erase-member runs that wait for settlement, for one member or all."""
    # By state only, then by parameters: a run from before every run carried its member's tag has none.
    runs = await erasure_runs(
        FlowRunFilter(state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Suspended"]))), page)
    return [r for r in runs if (member_id is None or r.parameters.get("member_id") == member_id)
            and (controller is None or r.parameters.get("controller") == controller)]


class ResumeRefused(Exception):
    """Prefect did not resume the run; the message says why."""


NO_FORM = "Run input schema not found."  # Prefect's reason for refusing a resume of a run without its form
SPARE_FORM = "slett-form-"


def spare_keyset(pause_key: str) -> Keyset:
    """Where a run keeps a spare of its form for a suspension: keys Prefect leaves alone when it suspends."""
    return keyset_from_base_key(f"{SPARE_FORM}{pause_key}")


async def resume_with(run_id: UUID, run_input: dict[str, Any]) -> None:
    """Resume a suspended run with its answer, or raise ResumeRefused: a refusal is never taken for a resume."""
    async with get_client() as client:
        result = await client.resume_flow_run(run_id, run_input=run_input)
        reason = getattr(result.details, "reason", None) or "no reason given"
        if result.status is not SetStateStatus.ACCEPT and reason == NO_FORM and await restore_form(run_id):
            result = await client.resume_flow_run(run_id, run_input=run_input)
            reason = getattr(result.details, "reason", None) or "no reason given"
    if result.status is not SetStateStatus.ACCEPT:
        raise ResumeRefused(f"run {run_id} was not resumed ({result.status.value}): {reason}")


async def restore_form(run_id: UUID) -> bool:
    """Write a suspended run's form from its spare (its process died between suspending and writing the form);
    whether there was a spare to write it from."""
    async with get_client() as client:
        state = (await client.read_flow_run(run_id)).state
    details = state.state_details if state is not None else None
    if details is None or not details.pause_key or not details.run_input_keyset:
        return False
    spare = spare_keyset(details.pause_key)
    schema = await aread_flow_run_input(spare["schema"], flow_run_id=run_id)
    if schema is None:
        return False
    await acreate_flow_run_input(details.run_input_keyset["schema"], schema, flow_run_id=run_id)
    description = await aread_flow_run_input(spare["description"], flow_run_id=run_id)
    if description is not None:
        await acreate_flow_run_input(details.run_input_keyset["description"], description, flow_run_id=run_id)
    log.warning("wrote a suspended run's missing form from its spare", flow_run_id=str(run_id))
    return True


async def resume_settled(run: FlowRun, confirmed_by: str, invoice_id: str | None = None) -> None:
    """Resume a suspended erasure with a Settlement; the run checks the invoice again itself."""
    await resume_with(run.id, {"confirmed_by": confirmed_by, "invoice_id": invoice_id})


async def settle(member_id: str, controller: str | None, confirmed_by: str,
                 invoice_id: str | None = None) -> list[UUID]:
    """Resume every erasure of a member that waits for settlement; returns the ids of those resumed."""
    # A run waiting for a person (a manual step) wants that person's confirmation, not a Settlement.
    resumed = []
    for run in await suspended_runs(member_id, controller):
        if waiting_for_person(run) is not None:
            continue
        try:
            await resume_settled(run, confirmed_by, invoice_id)
        except ResumeRefused as refused:
            # One run Prefect will not resume must not stop the member's others, nor the webhook intake behind
            # it; reconcile-settlements escalates it with the reason.
            log.warning("erasure not resumed on settlement", flow_run_id=str(run.id), reason=str(refused))
            continue
        resumed.append(run.id)
    return resumed


async def member_runs(controller: str, member_id: str, page: int = PAGE,
                      deployment: str = ERASE_MEMBER) -> list[FlowRun]:
    """The erase-member (or another deployment's) runs of one member: started by a webhook, or by hand and begun."""
    return await erasure_runs(FlowRunFilter(tags=FlowRunFilterTags(all_=[member_tag(controller, member_id)])), page,
                              (deployment,))


CONFIRM = "confirm-"


def confirmation_key(step: str, attempt: int = 1) -> str:
    """The suspension key of a manual step's confirmation, the `attempt`-th time it is asked for."""
    return f"{CONFIRM}{attempt}-{step}"


def step_of_key(key: str | None) -> str | None:
    """The manual step a suspension key waits for; None for any other suspension (settlement)."""
    if not key or not key.startswith(CONFIRM):
        return None
    return key.removeprefix(CONFIRM).partition("-")[2] or None


def waiting_for_person(run: FlowRun) -> str | None:
    """The manual step a suspended erasure waits for a person to confirm, if any."""
    return step_of_key(run.state.state_details.pause_key if run.state else None)


async def confirm_step(run: FlowRun, confirmed_by: str, what_was_done: str, done_on: date) -> None:
    """Resume an erasure waiting for a person, with their confirmation (the form the Prefect UI shows)."""
    await resume_with(run.id, {"confirmed_by": confirmed_by, "what_was_done": what_was_done,
                               "done_on": done_on.isoformat()})
