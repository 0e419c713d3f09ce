"""Tasks for one erasure: each builds a connector, calls it once, returns ids and statuses."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext, TaskRunContext

from config.holds import clocks_of, holds_for, planned_action
from config.legal_holds import LegalHold
from config.policy import OFFLINE, Policy, check_categories, load_policy
from config.settings import Settings
from config.workdays import answer_deadline
from connectors.categories import as_block, by_category, erase_categories, verify_categories
from connectors.contract import (
    Action,
    ConnectorError,
    Holdings,
    Outcome,
    RetentionFacts,
    Status,
    Subject,
    UnknownMember,
)
from connectors.registry import connect
from domain.categories import erasures_for, under_legal_holds
from domain.values import OSLO, STEP_KEY, Kind, Request, SystemPlan, subject_reference
from tasks.retry import not_connector_error


def request_key(step: str, *names: str) -> Any:
    """A cache key function: the request id, the step and the named parameters' values (a list's joined)."""

    def part(value: object) -> str:
        if isinstance(value, list | tuple):
            return "+".join(map(part, value))
        return str(getattr(value, "step", value))

    def key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
        request: Request = parameters["request"]
        return STEP_KEY + "-".join([request.request_id, step, *(part(parameters[n]) for n in names)])

    return key


@task(name="open-request", cache_key_fn=lambda _, p: f"{STEP_KEY}{p['request_id']}-open", persist_result=True)
async def open_request(controller: str, member_id: str, kind: Kind, request_id: str,
                       settings: Settings, received: datetime | None = None) -> Request:
    """Record the request once: its subject reference, when it came (its run's creation) and its deadline."""
    if received is None:
        # The run was created when the request arrived; a worker may start it hours or days later.
        context = FlowRunContext.get()
        created = context.flow_run.created if context is not None and context.flow_run is not None else None
        received = created or datetime.now(UTC)
    received = datetime.fromtimestamp(received.timestamp(), UTC)
    policy = load_policy(controller, settings.controllers_dir)
    deadline, reason = answer_deadline(received.date(), policy.answer_within_working_days, policy.name)
    return Request(request_id, controller, member_id, kind,
                   subject_reference(settings.subject_key, controller, member_id),
                   received, deadline, reason)


async def _subject(policy: Policy, member_id: str, settings: Settings, must_exist: bool) -> Subject:
    """The member's contact details from the membership system; never leaves the task."""
    async with connect(policy.membership, settings) as (membership, _):
        found = await membership.contact(member_id)  # type: ignore[attr-defined]
    if found is None and must_exist:
        raise UnknownMember(policy.membership, member_id)
    return found or Subject(policy.controller, member_id)


@task(name="plan", cache_key_fn=request_key("plan", "stage", "keys"), persist_result=True,
      retries=1, retry_condition_fn=not_connector_error)
async def plan_in(request: Request, policy: Policy, keys: list[str], stage: str,
                  settings: Settings, member_must_exist: bool = False,
                  legal: list[LegalHold] | None = None) -> list[SystemPlan]:
    """Find what each named processor holds on the member, all at once, and plan the action there, holds
    considered; the plans in the order of `keys`. With `member_must_exist`, a member the membership system
    does not know raises UnknownMember before any other processor is asked. A category a legal hold in `legal`
    keeps is restricted as it is, not erased."""
    subject = await _subject(policy, request.member_id, settings, member_must_exist)
    return list(await asyncio.gather(*(_plan_one(policy, subject, key, settings, legal or []) for key in keys)))


async def _plan_one(policy: Policy, subject: Subject, key: str, settings: Settings,
                    legal: list[LegalHold]) -> SystemPlan:
    rule = policy.processor(key)
    async with connect(rule.system, settings) as (connector, _):
        holdings = await connector.lookup(subject)
    if rule.dates_from == "membership" and holdings.found:
        # A copy at a processor with no API (Credicare's invoicing data): its records carry the membership
        # system's dates, so its holds count from those.
        async with connect(policy.membership, settings) as (membership, _):
            holdings = replace(holdings, facts=(await membership.lookup(subject)).facts)
    check_categories(policy, key, holdings.categories)
    holds = holds_for(policy, key, clocks_of(holdings.facts))
    today = datetime.now(OSLO).date()
    action = planned_action(policy, key, holds, today)
    # A record kept whole (a withdrawal period running) is restricted as a block, its categories after it.
    # A rule that keeps the whole record whose hold is over (or never began) keeps nothing of its category.
    ended = frozenset(name for name in rule.holds if policy.rule(name).holds_record) - {
        h.rule for h in holds if h.holds_record and h.retain_until >= today}
    erasures = erasures_for(policy, key, holdings, ended) if action == rule.action else ()
    if by_category(connector):
        erasures = under_legal_holds(erasures, rule.system, legal, datetime.now(OSLO).date(),
                                     getattr(connector, "taken_with", dict)())
    return SystemPlan(rule.system, rule.role, Action(action), holdings, rule.supplier, key, erasures)


@task(name="check-settlement", cache_policy=NO_CACHE, retries=1, retry_condition_fn=not_connector_error)
async def check_settlement(request: Request, policy: Policy, settings: Settings) -> RetentionFacts:
    """Ask the membership system, now, whether the member owes anything."""
    async with connect(policy.membership, settings) as (membership, _):
        facts: RetentionFacts = await membership.settlement(request.member_id)  # type: ignore[attr-defined]
    return facts


@task(name="note-settlement", cache_key_fn=lambda _, p: f"{STEP_KEY}{p['request'].request_id}-settled",
      persist_result=True)
async def note_settlement(request: Request) -> date:
    """The day this request found nothing more to wait for, recorded once: a chain's buffer counts from it."""
    return datetime.now(OSLO).date()


@task(name="erase-in-system", cache_key_fn=request_key("erase", "plan"), persist_result=True,
      retries=1, retry_condition_fn=not_connector_error)
async def erase_in_system(request: Request, plan: SystemPlan, settings: Settings) -> Outcome:
    """Erase the member in one processor as planned; idempotent by (request, step, action)."""
    if plan.nothing_to_erase:
        return Outcome.already_absent(plan.system, plan.action)
    async with connect(plan.system, settings) as (connector, client):
        key = plan.idempotency_key(request.request_id)
        if plan.erasures and (categorised := by_category(connector)):
            outcome = await erase_categories(categorised, plan, key)
        else:
            outcome = await connector.erase(plan.holdings, plan.action, key)
    return outcome.with_(attempts=client.attempts)


@task(name="await-job", cache_policy=NO_CACHE, retries=1, retry_condition_fn=not_connector_error)
async def await_job(request: Request, outcome: Outcome, settings: Settings) -> Outcome:
    """Poll a processor's asynchronous job until it ends, or return it still accepted."""
    if not outcome.job_running or outcome.reference is None:
        return outcome
    async with connect(outcome.system, settings) as (connector, _):
        for _ in range(settings.job_poll_limit):
            polled = await connector.poll(outcome.reference)
            if polled.status is not Status.ACCEPTED:
                return polled.with_(reference=outcome.reference, attempts=outcome.attempts,
                                    action=outcome.action)
            await asyncio.sleep(settings.job_poll_interval_s)
    return outcome.with_(detail=f"job {outcome.reference} still running after {settings.job_poll_limit} polls")


@task(name="verify", cache_policy=NO_CACHE)
async def verify_everywhere(request: Request, plans: list[SystemPlan], outcomes: list[Outcome],
                            settings: Settings) -> list[Outcome]:
    """Read back from every processor at once that the member is gone, anonymised or restricted as planned."""
    return list(await asyncio.gather(*(_verify_one(plan, outcome, settings)
                                       for plan, outcome in zip(plans, outcomes, strict=True))))


async def _verify_one(plan: SystemPlan, outcome: Outcome, settings: Settings) -> Outcome:
    if not outcome.status.is_done:
        return outcome.with_(verified=False)
    if outcome.status is Status.CONFIRMED and plan.system in OFFLINE:
        # A person's confirmation is the only read-back a processor with no API has.
        return outcome.with_(categories=outcome.categories or as_block(plan, outcome.status, True))
    if not plan.holdings.found:
        return outcome.with_(verified=True)
    try:
        async with connect(plan.system, settings) as (connector, _):
            # Read back as it was erased: a block erasure (by the code before a processor erased per category,
            # cached for a run in flight) is read back as a block.
            if plan.erasures and outcome.categories and (categorised := by_category(connector)):
                return await verify_categories(categorised, plan, outcome)
            check = await connector.verify(plan.holdings, plan.action)
    except Exception as error:  # one processor's silence must not hide the others' read-backs
        return outcome.with_(verified=False, detail=f"read-back failed: {failed(plan, error).detail}")
    return outcome.with_(verified=bool(check.verified),
                         detail=outcome.detail if check.verified else check.detail or "read-back failed",
                         categories=outcome.categories or as_block(plan, outcome.status, bool(check.verified)))


def failed(plan: SystemPlan, error: BaseException) -> Outcome:
    """The outcome of a step that raised: the error's words, which never hold personal data."""
    reason = str(error) if isinstance(error, ConnectorError) else type(error).__name__
    return Outcome(plan.system, Status.FAILED, plan.action, detail=reason, verified=False)


__all__ = ["Holdings", "await_job", "check_settlement", "erase_in_system", "failed", "note_settlement",
           "open_request", "plan_in", "verify_everywhere"]
