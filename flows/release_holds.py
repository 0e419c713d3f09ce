"""The release-holds sweep: once a day, every hold due in the ledger is checked again, released, verified, sealed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from prefect import flow, get_run_logger, runtime

from config.holds import Hold, clocks_of, ended_by_settlement, holds_for, moved_hold, planned_action
from config.legal_holds import KEPT, LegalHold, kept_by_legal_holds, lasting
from config.legal_holds import RULE as LEGAL_HOLD_RULE
from config.policy import Policy
from config.settings import Settings
from connectors.contract import Action, Outcome, Status
from domain.categories import erasures_for
from domain.values import OSLO, Kind, Request, SystemPlan
from evidence.ledger import FAILED, HELD, RELEASED, REVIEW, HoldState, hold_row
from flows.erase_member import verify_each
from flows.manual_steps import confirm_release_by_person
from flows.setup import chain_policy, flow_settings
from tasks.erasure import await_job, erase_in_system, failed, open_request, plan_in
from tasks.legal_holds import legal_holds_on
from tasks.migration import import_request
from tasks.release import (
    Release,
    ask_a_person,
    due_holds,
    left_after_release,
    record_release,
    release_in_system,
    show_sweep,
)


class ReleaseFailed(Exception):
    """Some due holds were not released; the message names each with its reason. They stay due."""


@flow(name="release-holds", persist_result=True)
async def release_holds(as_of: date | None = None, controller: str | None = None, request_id: str | None = None,
                        system: str | None = None, rule: str | None = None,
                        member_id: str | None = None) -> dict[str, str]:
    """Release every hold whose date has come: check again at the processor, release, verify, seal the outcome.

    Scheduled once a day; a hold is due on its date. The other parameters narrow the sweep to one chain, one
    request, or one request's processor and rule (a retry by hand, or a release run scheduled before the
    ledger, whose request is imported into the ledger first).

    Args:
        as_of: the day to act as of; empty for today in Europe/Oslo.
        controller: one chain only; empty for all.
        request_id: one request only.
        system: with request_id, one processor only.
        rule: with request_id, one retention rule only.
        member_id: given only by a release run scheduled before the ledger; not used.
    """
    log = get_run_logger()
    settings = flow_settings()
    today = as_of or datetime.now(OSLO).date()
    if request_id and member_id:
        await import_request(request_id, settings)
    due = [state for state in await due_holds(today, settings, controller, request_id)
           if system in (None, state.hold.system) and rule in (None, state.hold.rule)]
    # One rule may hold a request's records until several dates: the newest due one releases the older too.
    groups: dict[tuple[str, str, str], list[HoldState]] = {}
    for state in due:
        groups.setdefault((state.request_id, state.hold.system, state.hold.rule), []).append(state)
    # Narrowed to one hold, the run may wait for a person (a processor with no API); the daily sweep never does.
    narrowed = bool(request_id and system and rule)
    # A legal hold a person set (the police, a legal claim) keeps its category past the hold's own date.
    legal = await legal_holds_on(due, today, settings) if due else []
    releases = [await _release_group(states, today, settings, narrowed, legal) for states in groups.values()]
    await show_sweep(today, releases)
    failures = [r for r in releases if r.status == "failed"]
    log.info("release-holds as of %s: %d due hold(s), %d taken, %d failed", today, len(due), len(releases),
             len(failures))
    if failures:
        raise ReleaseFailed(f"{len(failures)} of {len(releases)} due hold(s) not released, still due: "
                            + "; ".join(f"request {r.request_id} {r.rule} at {r.system}: {r.detail}" for r in failures))
    return {f"{r.request_id}:{r.system}-{r.rule}": _outcome(r) for r in releases}


def _outcome(release: Release) -> str:
    """What became of a hold, in a word: released, held_again, review, already_absent or asked_a_person."""
    if release.action == "review":
        return "review"
    if release.status == "manual":
        return "asked_a_person"
    if release.status in ("already_absent", "pending"):
        return "already_absent" if release.status == "already_absent" else "held_again"
    return "released"


async def _release_group(states: list[HoldState], today: date, settings: Settings, narrowed: bool,
                         legal: list[LegalHold] | None = None) -> Release:
    """Take one request's due holds under one processor and rule; seal what became of each."""
    first = states[0]
    request_id, system, rule = first.request_id, first.hold.system, first.hold.rule
    run_id = str(runtime.flow_run.id)
    mine = [h for h in legal or [] if (h.controller, h.member_id) == (first.controller, first.member_id)]
    try:
        if lasting(mine, system, first.hold.categories, today):
            release, rows = _kept(states, mine, today, run_id)
        else:
            release, rows = await _release(states, today, settings, narrowed)
    except Exception as error:
        # Whatever went wrong is this hold's: sealed as its failure, and the sweep fails at its end.
        release = Release(request_id, system, rule, first.hold.categories, first.hold.citation,
                          max(s.hold.retain_until for s in states), today, "release", "failed", False,
                          detail=f"{type(error).__name__}: {error}")
        rows = [s.row(FAILED, run_id, release.detail) for s in states]
    if rows:  # none while a person is asked in a run of its own, which seals the release
        await record_release(release, rows, run_id, settings)
    return release


def _kept(states: list[HoldState], legal: list[LegalHold], today: date,
          run_id: str) -> tuple[Release, list[dict[str, Any]]]:
    """Not released: a legal hold keeps the category, restricted, until it ends (or is lifted); nothing is asked of
    the processor."""
    first = states[0]
    kept = [kept_by_legal_holds(s.hold, legal, today) for s in states]
    detail = f"{KEPT}: " + "; ".join(h.words() for h in lasting(legal, first.hold.system, first.hold.categories,
                                                                   today))
    until = max(h.legal_until or h.retain_until for h in kept)
    release = Release(first.request_id, first.hold.system, first.hold.rule, first.hold.categories,
                      first.hold.citation, max(s.hold.retain_until for s in states), today, "none", "pending",
                      None, until, detail, first.hold.records_through, first.hold.fields)
    return release, [s.row(HELD, run_id, detail, hold) for s, hold in zip(states, kept, strict=True)]


async def _release(states: list[HoldState], today: date, settings: Settings,
                   narrowed: bool = False) -> tuple[Release, list[dict[str, Any]]]:
    """Check the holds again at the processor, then release the due records or move the hold's date."""
    first = states[0]
    request_id, system, rule = first.request_id, first.hold.system, first.hold.rule
    run_id = str(runtime.flow_run.id)
    policy = chain_policy(first.controller, settings)
    release = await open_request(first.controller, first.member_id, Kind.ERASURE,
                                 f"{request_id}-release-{system}-{rule}", settings)
    [plan] = await plan_in(release, policy, [system], f"release-{today.isoformat()}", settings)
    if plan.by_person:
        return await _release_by_person(states, release, policy, plan, today, settings, narrowed)
    if rule == LEGAL_HOLD_RULE:
        return await _after_legal_hold(states, release, plan, today, settings)
    facts = plan.holdings.facts
    # With today: a hold that ends when its claim is paid is given its next day to look again.
    every = holds_for(policy, system, clocks_of(facts), today)
    # One rule may hold records until several dates (each financial year's invoices, each day's footage).
    owed = facts.open_invoices > 0 or facts.in_collection
    # Only a hold whose date has come is moved for what is still owed; a claim looked at on its check day
    # keeps its date.
    holds = [moved_hold(h, policy, owed, today) if h.retain_until <= today else h for h in every if h.rule == rule]
    if not holds or not plan.holdings.found:
        detail = "the processor holds nothing under this rule any more"
        return (Release(request_id, system, rule, (), "", None, today, "none", "already_absent", detail=detail),
                [s.row(RELEASED, run_id, detail) for s in states])
    # A claim paid before its limitation ends its hold now (foreldelsesloven: nothing left to pursue).
    due = [h for h in holds if h.retain_until <= today or ended_by_settlement(h, policy, owed)]
    later = [h for h in holds if h not in due]
    if not due:
        # Not yet: a newer invoice or journal entry, or an amount still owed, moved the date (or the check day).
        hold = later[0]
        checks = f", looked at again on {hold.check_on}" if hold.check_on else ""
        detail = f"held again until {hold.retain_until}{checks}"
        return (_row(request_id, hold, today, "none", Outcome(system, Status.PENDING), hold.retain_until, detail),
                [s.row(HELD, run_id, detail, replace(s.hold, retain_until=hold.retain_until, check_on=hold.check_on))
                 for s in states])
    hold = due[-1]  # the newest due date: its release takes every older record of the rule too
    if hold.review_only:
        review = Outcome(system, Status.MANUAL, Action.RESTRICT, verified=True,
                         detail=f"review due since {hold.retain_until}: a clinician decides; never deleted by slett")
        return _row(request_id, hold, today, "review", review), [s.row(REVIEW, run_id, review.detail) for s in states]
    if hold.holds_record:
        outcome = await _carry_out(release, policy, plan, rule, [h for h in every if h.rule != rule], today, settings)
    else:
        outcome = await _release_records(release, policy, plan, hold, today, settings)
    finished = outcome.status.is_done and bool(outcome.verified)
    kept = f"; newer records kept until {later[0].retain_until}" if finished and later else ""
    row = _row(request_id, hold, today, outcome.action.value if outcome.action else "release", outcome,
               later[0].retain_until if kept else None, (outcome.detail + kept).lstrip("; "))
    if not finished:
        return (replace(row, status="failed", detail=f"{outcome.status.value}: {outcome.detail or 'no read-back'}"),
                [s.row(FAILED, run_id, outcome.detail or "no read-back") for s in states])
    # The newer records stay held, each until its own date (rows the erasure wrote already, or new ones).
    newer = [hold_row(h, request_id, first.controller, first.member_id, HELD, run_id, "newer records kept")
             for h in later]
    return row, [*(s.row(RELEASED, run_id, row.detail) for s in states), *newer]


async def _release_by_person(states: list[HoldState], release: Request, policy: Policy, plan: SystemPlan,
                             today: date, settings: Settings, narrowed: bool) -> tuple[Release, list[dict[str, Any]]]:
    """A hold at a processor with no API (Credicare's copy): its date is the ledger's, as there is nothing to
    look at again; a person deletes the records and confirms. The daily sweep starts a run of its own for that
    (one per hold and date) and goes on; that run waits for the person and seals the release."""
    first = states[0]
    hold = max((s.hold for s in states), key=lambda h: h.retain_until)
    if not narrowed:
        asked = await ask_a_person(first, today)
        detail = f"a person is asked to release it at {plan.supplier} in flow run {asked}"
        return _row(first.request_id, hold, today, "release", Outcome(plan.system, Status.MANUAL), detail=detail), []
    outcome = await release_in_system(release, plan, hold, today, settings)
    if outcome.status is not Status.MANUAL:
        raise RuntimeError(f"{plan.system}: a release by a person ended {outcome.status.value}: {outcome.detail}")
    within = policy.processor(plan.step).confirm_within
    answer = await confirm_release_by_person(release, plan.step, plan.supplier or plan.system, outcome.detail,
                                             within.after(today) if within else None)
    detail = (f"released at {plan.supplier}: {answer.what_was_done}; confirmed by {answer.confirmed_by} "
              f"on {answer.done_on}")
    done = Outcome(plan.system, Status.CONFIRMED, Action.RELEASE, verified=True)
    row = _row(first.request_id, hold, today, "release", done, detail=detail)
    return row, [s.row(RELEASED, str(runtime.flow_run.id), detail) for s in states]


async def _after_legal_hold(states: list[HoldState], release: Request, plan: SystemPlan, today: date,
                            settings: Settings) -> tuple[Release, list[dict[str, Any]]]:
    """Categories only a legal hold kept: now that it has ended, erased as the data map says."""
    first = states[0]
    run_id = str(runtime.flow_run.id)
    held = {category for s in states for category in s.hold.categories}
    erasure = replace(plan, erasures=tuple(e for e in plan.erasures if e.category in held))
    if not plan.holdings.found or not erasure.erasures:
        detail = "the processor holds nothing the legal hold kept any more"
        return (_row(first.request_id, first.hold, today, "none", Outcome(plan.system, Status.ALREADY_ABSENT),
                     detail=detail), [s.row(RELEASED, run_id, detail) for s in states])
    erased = await erase_in_system(release, erasure, settings)
    [step] = await verify_each(release, [erasure], [erased], settings)
    outcome = erased.with_(verified=step.verified, detail=step.detail)
    row = _row(first.request_id, first.hold, today, outcome.action.value if outcome.action else "release", outcome)
    if not (outcome.status.is_done and step.verified):
        return (replace(row, status="failed", detail=f"{outcome.status.value}: {outcome.detail or 'no read-back'}"),
                [s.row(FAILED, run_id, outcome.detail or "no read-back") for s in states])
    return row, [s.row(RELEASED, run_id, row.detail) for s in states]


async def _carry_out(release: Request, policy: Policy, plan: SystemPlan, rule: str, others: list[Hold], today: date,
                     settings: Settings) -> Outcome:
    """The record was kept whole (a claim, a withdrawal period): now do what the policy asked at erasure, per
    category where the processor erases by category (what other rules hold is restricted, keeping its fields)."""
    action = Action(planned_action(policy, plan.step, others, today))
    # Only a rule that still keeps a whole record: an old claim hold (whole then, per category now) stays a block.
    whole = action.value == policy.processor(plan.step).action and policy.rule(rule).holds_record
    erasure = replace(plan, action=action,
                      erasures=erasures_for(policy, plan.step, plan.holdings, frozenset({rule})) if whole else ())
    outcome = await await_job(release, await erase_in_system(release, erasure, settings), settings)
    [step] = await verify_each(release, [erasure], [outcome], settings)
    return outcome.with_(verified=step.verified, detail=step.detail)


async def _release_records(release: Request, policy: Policy, plan: SystemPlan, hold: Hold, today: date,
                           settings: Settings) -> Outcome:
    """Delete what the hold kept, then look again: none of the records it covered may be left."""
    try:
        # A processor that releases by a job (Stripe's redaction) is polled as an erasure's job is.
        outcome = await await_job(release, await release_in_system(release, plan, hold, today, settings), settings)
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


def _row(request_id: str, hold: Hold, today: date, action: str, outcome: Outcome, kept_until: date | None = None,
         detail: str = "") -> Release:
    return Release(request_id, hold.system, hold.rule, hold.categories, hold.citation, hold.retain_until, today,
                   action, outcome.status.value, outcome.verified, kept_until, detail or outcome.detail,
                   hold.records_through, hold.fields)
