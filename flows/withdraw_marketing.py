"""The withdraw-marketing flow: a member withdraws marketing consent or objects to direct marketing (GDPR Art. 7(3),
21(2)-(3)); marketing stops everywhere at once, a suppression entry keeps them from being added again, and nothing
else is touched."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from prefect import flow, runtime

from connectors.contract import Status, UnknownMember
from domain.categories import marketing_of
from domain.values import MEMBER_ID, Evidence, Kind, Step
from flows.erase_member import erase_each, verify_each
from flows.manual_steps import confirm_by_person, with_confirmations
from flows.setup import chain_policy, flow_settings
from tasks.deadlines import register_request
from tasks.erasure import open_request, plan_in
from tasks.marketing import stop_marketing
from tasks.suppression import enter_suppression
from tasks.withdrawal import record_withdrawal


class WithdrawalIncomplete(Exception):
    """Marketing did not stop at some processor; the evidence names which and why."""


@flow(name="withdraw-marketing", persist_result=True, validate_parameters=True)
async def withdraw_marketing(controller: str, member_id: str, request_id: str | None = None) -> Evidence:
    """Stop all marketing to one member in every system at once and keep them from being added again; nothing else
    is touched.

    Args:
        controller: the chain, as named in config/controllers (e.g. "demo").
        member_id: the member's id at the chain's membership system; never an e-mail or a name.
        request_id: the request's id; leave empty to use this run's id.
    """
    if not MEMBER_ID.match(member_id):
        raise ValueError("member_id must be the membership system's id (letters, digits, . _ -)")
    settings = flow_settings()
    policy = chain_policy(controller, settings)
    request = await open_request(controller, member_id, Kind.WITHDRAWAL, request_id or str(runtime.flow_run.id),
                                 settings)
    await register_request(request, settings.ledger_url)
    # The first step of erase-member, and only it: the membership system's lookup proves the member exists.
    found = await plan_in(request, policy, [*(p.key for p in policy.marketing()), policy.membership], "request",
                          settings, member_must_exist=True)
    if not found[-1].holdings.found:
        raise UnknownMember(policy.membership, member_id)
    channels = await enter_suppression(request, policy, settings)
    marketing = found[:-1]
    erased = await erase_each(request, marketing, settings)
    withdrawn = [await stop_marketing(request, replace(plan, erasures=marketing_of(policy, plan.step, plan.holdings)),
                                      settings)
                 for plan in found[-1:] if plan.step in {p.key for p in policy.first_step()}]
    stopped, confirmed = await confirm_by_person(request, policy, marketing, erased, settings)
    steps = [*with_confirmations(await verify_each(request, marketing, stopped, settings), confirmed), *withdrawn]
    acted = {p.key for p in policy.marketing()}
    untouched: list[tuple[str, str]] = [(p.role, p.key) for p in policy.processors if p.key not in acted]
    evidence = Evidence(request, "done" if all(map(_stopped, steps)) else "failed",
                        tuple(steps), (), datetime.now(UTC), str(runtime.flow_run.id),
                        notes=(f"suppressed by keyed reference: {', '.join(channels) or 'no contact on record'}",
                               "nothing else was touched: " + ", ".join(
                                   f"{key} (its marketing consents only)" if key == policy.membership else key
                                   for _, key in untouched)))
    await record_withdrawal(evidence, policy.name, untouched, channels, settings)
    if evidence.status != "done":
        raise WithdrawalIncomplete(f"request {request.request_id}: marketing not stopped at "
                                   + ", ".join(s.system for s in steps if not _stopped(s)))
    return evidence


def _stopped(step: Step) -> bool:
    return Status(step.status).is_done and bool(step.verified)
