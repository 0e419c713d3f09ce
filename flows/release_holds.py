"""The release-holds flow: when a hold's date comes, check again, then release, re-hold, or hand to a person."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from prefect import flow, get_run_logger

from config.holds import Hold, checked, ended_by_settlement, holds_for, moved_hold, planned_action
from config.policy import Policy
from config.settings import Settings
from connectors.contract import Action, Outcome, Status
from domain.values import OSLO, Kind, Request, SystemPlan
from flows.erase_member import verify_each
from flows.setup import chain_policy, flow_settings
from tasks.erasure import await_job, erase_in_system, failed, open_request, plan_in
from tasks.holds import clocks_of, schedule_releases
from tasks.release import Release, left_after_release, record_release, release_in_system


class ReleaseFailed(Exception):
    """A hold's release did not finish; its row in the request's evidence says where and why."""


@flow(name="release-holds", persist_result=True)
async def release_holds(controller: str, member_id: str, request_id: str, system: str, rule: str,
                        as_of: date | None = None) -> str:
    """Release what a hold kept once its date has passed: re-check, keep what is not due yet, release the rest.

    Args:
        controller: the chain.
        member_id: the member's id at the membership system.
        request_id: the erasure request that placed the hold.
        system: the processor that keeps the records.
        rule: the retention rule of the chain's policy that keeps them.
        as_of: the day to act as of; empty for today in Europe/Oslo.
    """
    log = get_run_logger()
    settings = flow_settings()
    policy = chain_policy(controller, settings)
    today = as_of or datetime.now(OSLO).date()
    release = await open_request(controller, member_id, Kind.ERASURE, f"{request_id}-release-{system}-{rule}",
                                 settings)
    [plan] = await plan_in(release, policy, [system], f"release-{today.isoformat()}", settings)
    facts = plan.holdings.facts
    every = holds_for(policy, system, clocks_of(facts))
    # One rule may hold records until several dates (each financial year's invoices, each day's footage).
    owed = facts.open_invoices > 0 or facts.in_collection
    holds = [moved_hold(h, policy, owed, today) for h in every if h.rule == rule]
    if not holds or not plan.holdings.found:
        log.info("Nothing held at %s under %s any more", system, rule)
        await record_release(Release(request_id, system, rule, (), "", None, today, "none", "already_absent",
                                     detail="the processor holds nothing under this rule any more"))
        return "already_absent"
    root = replace(release, request_id=request_id)
    # A claim paid before its limitation ends its hold now (foreldelsesloven: nothing left to pursue).
    due = [h for h in holds if h.retain_until < today or ended_by_settlement(h, policy, owed)]
    later = [h for h in holds if h not in due]
    if not due:
        # Not yet: a newer invoice or journal entry, or an amount still owed, moved the date.
        hold = checked(later[0], policy.rule(rule), today)
        [run] = await schedule_releases(root, [hold], settings)
        log.info("Hold %s at %s runs until %s; rescheduled", rule, system, hold.retain_until)
        await record_release(_row(request_id, hold, today, "none", Outcome(system, Status.PENDING), run,
                                  f"held again until {hold.retain_until}"))
        return "rescheduled"
    hold = due[-1]  # the newest expired date: its release takes every older record of the rule too
    if hold.review_only:
        review = Outcome(system, Status.MANUAL, Action.RESTRICT, verified=True,
                         detail=f"review due since {hold.retain_until}: a clinician decides; never deleted by slett")
        await record_release(_row(request_id, hold, today, "review", review))
        return "review"
    if hold.holds_record:
        outcome = await _carry_out(release, policy, plan, [h for h in every if h.rule != rule], today, settings)
    else:
        outcome = await _release(release, policy, plan, hold, today, settings)
    finished = outcome.status.is_done and bool(outcome.verified)
    next_run = (await schedule_releases(root, later[:1], settings))[0] if finished and later else None
    kept = f"; newer records kept until {later[0].retain_until}" if next_run else ""
    await record_release(_row(request_id, hold, today, outcome.action.value if outcome.action else "release",
                              outcome, next_run, (outcome.detail + kept).lstrip("; ")))
    if not finished:
        raise ReleaseFailed(f"release of {rule} at {system} for request {request_id} did not finish "
                            f"({outcome.status.value}): {outcome.detail or 'no read-back'}")
    return "done"


async def _carry_out(release: Request, policy: Policy, plan: SystemPlan, others: list[Hold], today: date,
                     settings: Settings) -> Outcome:
    """The record was kept whole (a claim, a withdrawal period): now do what the policy asked at erasure."""
    action = Action(planned_action(policy, plan.step, others, today))
    erasure = replace(plan, action=action)
    outcome = await await_job(release, await erase_in_system(release, erasure, settings), settings)
    [step] = await verify_each(release, [erasure], [outcome], settings)
    return outcome.with_(verified=step.verified, detail=step.detail)


async def _release(release: Request, policy: Policy, plan: SystemPlan, hold: Hold, today: date,
                   settings: Settings) -> Outcome:
    """Delete what the hold kept, then look again: none of the records it covered may be left."""
    try:
        # A processor that releases by a job (Stripe's redaction) is polled as an erasure's job is.
        outcome = await await_job(release, await release_in_system(release, plan, hold, settings), settings)
    except Exception as error:
        return failed(replace(plan, action=Action.RELEASE), error)
    if not outcome.status.is_done:
        return outcome.with_(verified=False)
    [after] = await plan_in(release, policy, [plan.step], f"released-{today.isoformat()}", settings)
    if left := left_after_release(hold, policy, after):
        return outcome.with_(verified=False, detail=f"read-back: still held: {', '.join(left)}")
    # A record an older slett kept whole (a claim restricted all of it) holds more than its data map allows:
    # what no rule holds goes now, and what a rule holds keeps only its fields (a no-op for newer records).
    if after.holdings.found and any(e.rule is None for e in after.erasures):
        erased = await erase_in_system(release, after, settings)
        [step] = await verify_each(release, [after], [erased], settings)
        if not step.verified:
            return outcome.with_(verified=False, detail=f"bringing the rest to the data map: {step.detail}")
        return outcome.with_(verified=True, detail=f"{outcome.detail}; also erased, as no rule holds it: "
                             + ", ".join(e.category for e in after.erasures if e.rule is None))
    return outcome.with_(verified=True)


def _row(request_id: str, hold: Hold, today: date, action: str, outcome: Outcome, next_run: str | None = None,
         detail: str = "") -> Release:
    return Release(request_id, hold.system, hold.rule, hold.categories, hold.citation, hold.retain_until, today,
                   action, outcome.status.value, outcome.verified, next_run, detail or outcome.detail,
                   hold.records_through)
