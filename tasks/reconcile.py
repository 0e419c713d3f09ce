"""Tasks for reconciling suspended erasures: ask the membership system, resume, or escalate a late person."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from prefect import get_client, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import FlowRun
from prefect.states import Failed

from config.policy import Policy
from config.settings import Settings
from connectors.contract import RetentionFacts
from connectors.registry import connect
from domain.values import OSLO
from queries.runs import resume_settled
from tasks.retry import not_connector_error

RECONCILER = "reconcile-settlements"


@task(name="ask-settlement", cache_policy=NO_CACHE, retries=1, retry_condition_fn=not_connector_error)
async def ask_settlement(policy: Policy, member_id: str, settings: Settings) -> RetentionFacts:
    """What the member owes now, according to the chain's membership system."""
    async with connect(policy.membership, settings) as (membership, _):
        facts: RetentionFacts = await membership.settlement(member_id)  # type: ignore[attr-defined]
    return facts


@task(name="resume-settled", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def resume(run_id: UUID) -> None:
    """Resume a run that waited for settlement; it checks the invoices again itself."""
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
    await resume_settled(run, confirmed_by=RECONCILER)


def asked_on(run: FlowRun) -> date | None:
    """The day the run suspended for its current step, in Oslo."""
    return run.state.timestamp.astimezone(OSLO).date() if run.state else None


@task(name="escalate", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def escalate(run_id: UUID, reason: str) -> None:
    """Fail a run whose manual step is overdue, with the reason as its state message and an `escalated` tag."""
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        await client.set_flow_run_state(run_id, Failed(message=reason), force=True)
        await client.update_flow_run(run_id, tags=[*run.tags, "escalated"])
