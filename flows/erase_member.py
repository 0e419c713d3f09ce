"""The erase-member flow: the procedure a DPO would write on a whiteboard."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime

from prefect import flow, get_run_logger, runtime
from prefect.input import RunInput
from pydantic import Field

from config.holds import Hold, clocks_of, holds_for, latest_erasure_day, live_holds, membership_runs_until
from config.legal_holds import RULE as LEGAL_HOLD_RULE
from config.legal_holds import case_hold, kept_by_legal_holds
from config.policy import Policy, WhileMember
from config.settings import Settings
from connectors.contract import Outcome, RetentionFacts, Status, UnknownMember
from domain.categories import marketing_of
from domain.values import MEMBER_ID, OSLO, Evidence, Kind, Request, Step, SystemPlan
from evidence.interim import SETTLEMENT
from evidence.recipients import recipients_told
from flows.manual_steps import ManualConfirmation, confirm_by_person, with_confirmations
from flows.setup import chain_policy, flow_settings
from flows.waiting import suspend_for
from tasks.deadlines import register_request
from tasks.erasure import (
    await_job,
    check_settlement,
    erase_in_system,
    failed,
    note_settlement,
    open_request,
    plan_in,
    verify_everywhere,
)
from tasks.evidence import record_evidence, with_holds
from tasks.legal_holds import member_legal_holds
from tasks.letters import acknowledge, tell_if_late
from tasks.marketing import stop_marketing
from tasks.suppression import enter_suppression


class Settlement(RunInput):
    """An operator's or the membership system's word that the final invoice is settled."""

    invoice_id: str | None = Field(None, description="the settled invoice, if known")
    confirmed_by: str = Field("operator", description="who says so: a person or 'membership-webhook'")


class ErasureIncomplete(Exception):
    """Some processor did not finish; the evidence names which and why."""


@flow(name="erase-member", persist_result=True, validate_parameters=True)
async def erase_member(controller: str, member_id: str, kind: Kind = Kind.TERMINATION,
                       request_id: str | None = None) -> Evidence:
    """Erase one member across the chain's processors, holding what the law keeps.

    Args:
        controller: the chain, as named in config/controllers (e.g. "demo").
        member_id: the member's id at the chain's membership system; never an e-mail or a name.
        kind: "termination" (membership ended), "erasure" (the member asked to be forgotten) or "course_over"
            (a course ended: started by purge-guests, erases where the chain's course purge says).
        request_id: the request's id (the webhook id); leave empty to use this run's id.
    """
    if not MEMBER_ID.match(member_id):
        raise ValueError("member_id must be the membership system's id (letters, digits, . _ -)")
    if kind is Kind.WITHDRAWAL:  # the member asked for marketing to stop, not to be erased
        raise ValueError("a withdrawal of marketing consent is the withdraw-marketing deployment; nothing was erased")
    settings = flow_settings()
    policy = chain_policy(controller, settings)
    request = await open_request(controller, member_id, kind, request_id or str(runtime.flow_run.id),
                                 settings)
    await register_request(request, settings.ledger_url)
    # A course's end erases only where its purge says (Vekstly's Stripe customer): the newsletter the
    # participant signed up to stays until they leave it ("Etter endt kurs kan du ... melde deg av alle lister").
    scope = policy.course_over() if kind is Kind.COURSE_OVER else None
    # Marketing stops at once, whatever the other processors' state; the membership system's lookup
    # proves the member exists before anything is touched.
    found = await plan_in(request, policy, [*(p.key for p in policy.marketing() if _in(scope, p.key)),
                                            policy.membership], "request", settings, member_must_exist=True)
    if not found[-1].holdings.found:
        raise UnknownMember(policy.membership, member_id)
    # Before anything is erased: the contact's keyed references, so the sweep-readded flow finds a re-sync's re-add.
    await enter_suppression(request, policy, settings)
    marketing = found[:-1]
    erased = await erase_each(request, marketing, settings)
    # Consents the membership system holds stop now too, before any wait (a person's confirmation, settlement).
    withdrawn = [await stop_marketing(request, replace(plan, erasures=marketing_of(policy, plan.step, plan.holdings)),
                                      settings)
                 for plan in found[-1:] if plan.step in {p.key for p in policy.first_step()} and scope is None]
    runs_until = membership_runs_until(found[-1].holdings.facts.contract_end_dates, datetime.now(OSLO).date())
    kept_while_member = request.kind is Kind.ERASURE and runs_until and policy.while_member
    # The member hears within the deadline, before any wait: received, marketing stopped, what waits and why.
    await acknowledge(request, policy, [*map(Step.of, marketing, erased), *withdrawn], found[-1].holdings.facts,
                      settings, runs_until if kept_while_member else None)
    stopped, confirmed = await confirm_by_person(request, policy, marketing, erased, settings)
    notes = []
    if request.kind is Kind.ERASURE and runs_until:
        if rule := policy.while_member:
            # The chain keeps what the membership needs while it runs: the member is answered, never erased silently.
            return await answer_while_member(request, policy, rule, marketing, stopped, confirmed, withdrawn,
                                             runs_until, settings)
        notes.append(f"the membership still ran until {runs_until} when the member asked to be forgotten; "
                     "the chain's policy keeps nothing for it, so it was ended and erased as asked")
    facts = await wait_for_settlement(request, policy, settings)
    settled_on = await note_settlement(request)
    # A legal hold a person set (the police, a legal claim) keeps its category restricted, as it is, not erased.
    legal = await member_legal_holds(controller, member_id, datetime.now(OSLO).date(), settings)
    plan = await plan_in(request, policy, [p.key for p in policy.erasure_order(facts.in_collection)
                                           if _in(scope, p.key)], "settled", settings, legal=legal)
    # Suppliers with no API are confirmed by a person before the membership system, which goes last.
    outcomes, by_person = await confirm_by_person(request, policy, plan[:-1],
                                                  await erase_each(request, plan[:-1], settings), settings)
    outcomes += await erase_each(request, plan[-1:], settings, earlier=outcomes)
    steps = with_confirmations(await verify_each(request, [*marketing, *plan], [*stopped, *outcomes], settings),
                               {**confirmed, **by_person})
    steps = [*steps[:len(marketing)], *withdrawn, *steps[len(marketing):]]
    today = datetime.now(OSLO).date()
    holds = [kept_by_legal_holds(hold, legal, today) for p in plan if p.holdings.found
             for hold in live_holds(holds_for(policy, p.step, clocks_of(p.holdings.facts), today), p.action.value)]
    holds += [case_hold(p.system, cases, legal, today) for p in plan
              if (cases := tuple(e.category for e in p.erasures if e.rule == LEGAL_HOLD_RULE))]
    # Each hold goes to the ledger with the evidence; the daily release-holds sweep releases it on its date
    # (a claim's on its check day, if it was paid by then).
    evidence = _with_buffer(_evidence(request, policy, with_holds(steps, holds), holds,
                                      [*notes, *(h.words() for h in legal)]),
                            latest_erasure_day(policy, settled_on, request.received.astimezone(OSLO).date()))
    await record_evidence(evidence, settings, policy)
    if evidence.status != "done":
        raise ErasureIncomplete(f"request {request.request_id}: not finished at "
                                + ", ".join(s.system for s in evidence.steps if not _finished(s)))
    return evidence


async def answer_while_member(request: Request, policy: Policy, rule: WhileMember, marketing: list[SystemPlan],
                              stopped: list[Outcome], confirmed: dict[str, ManualConfirmation], withdrawn: list[Step],
                              runs_until: date, settings: Settings) -> Evidence:
    """Answer an erasure request while the membership runs, as the chain's policy says: marketing has stopped,
    the rest is kept until the membership ends, and the member is told why."""
    steps = with_confirmations(await verify_each(request, marketing, stopped, settings), confirmed)
    note = (f"the membership runs until {runs_until}: only marketing was erased now, the rest is kept while it runs "
            f"({rule.law}); the policy: \"{rule.citation}\"" + (" (assumption)" if rule.assumption else ""))
    answered = _evidence(request, policy, [*steps, *withdrawn], [], [note],
                         f"nothing erased there: the membership runs until {runs_until}")
    evidence = replace(answered, kept_while_member=runs_until)
    await record_evidence(evidence, settings, policy)
    if evidence.status != "done":
        raise ErasureIncomplete(f"request {request.request_id}: marketing not stopped at "
                                + ", ".join(s.system for s in evidence.steps if not _finished(s)))
    return evidence


async def erase_each(request: Request, plans: list[SystemPlan], settings: Settings,
                     earlier: list[Outcome] | None = None) -> list[Outcome]:
    """Erase in every processor at once; the membership system only once all others are done."""
    others = [plan for plan in plans if plan.role != "membership"]
    outcomes = dict(zip((p.step for p in others),
                        await asyncio.gather(*(_erase_one(request, p, settings) for p in others)), strict=True))
    for plan in (p for p in plans if p.role == "membership"):
        # The membership system is where contact details are looked up: keep it until the rest is done.
        if any(not o.status.is_done for o in [*(earlier or []), *outcomes.values()]):
            outcomes[plan.step] = Outcome(plan.system, Status.PENDING, plan.action,
                                          detail="waiting: an earlier processor did not finish", verified=False)
        else:
            outcomes[plan.step] = await _erase_one(request, plan, settings)
    return [outcomes[plan.step] for plan in plans]


async def _erase_one(request: Request, plan: SystemPlan, settings: Settings) -> Outcome:
    """Erase in one processor and wait for its job, if it runs one; a failure becomes a failed outcome."""
    if plan.nothing_to_erase:
        # Nothing there to erase, so no call: a task run would cost the server and the worker for nothing.
        return Outcome.already_absent(plan.system, plan.action)
    try:
        outcome = await erase_in_system(request, plan, settings)
        # A task run costs the server and the worker tens of milliseconds: only a job gets one to poll it.
        return await await_job(request, outcome, settings) if outcome.job_running else outcome
    except Exception as error:
        return failed(plan, error)


async def wait_for_settlement(request: Request, policy: Policy, settings: Settings) -> RetentionFacts:
    """Return once nothing is owed; while an invoice is open, suspend the run (freeing the process).

    A claim in collection does not wait where the chain keeps claims (GDPR 17(3)(e)): the membership
    record is restricted under that hold instead, and the collector is told (Art. 19).
    """
    log = get_run_logger()
    round_ = 0
    while True:
        round_ += 1
        facts = await check_settlement(request, policy, settings)
        if not policy.waits_for_settlement(facts.open_invoices, facts.in_collection):
            if facts.in_collection:
                log.info("Subject %s has a claim in collection: restricted under its hold, not waited for",
                         request.subject_ref)
            return facts
        log.info("Subject %s owes %d invoice(s); suspending until settlement (round %d)",
                 request.subject_ref, facts.open_invoices, round_)
        # A resumed run starts from the top: an answered key returns its input at once, so the
        # loop checks again and only a new key suspends again. Art. 12(4): a wait that runs past the
        # deadline is told to the member, with why and until when, before the run suspends.
        await suspend_for(Settlement, f"settlement-{round_}",
                          lambda: tell_if_late(request, policy.name, (SETTLEMENT,), settings))


async def verify_each(request: Request, plans: list[SystemPlan], outcomes: list[Outcome],
                      settings: Settings) -> list[Step]:
    """Read back from every processor at once; each step becomes an evidence row."""
    checked = await verify_everywhere(request, plans, outcomes, settings)
    return [Step.of(plan, outcome) for plan, outcome in zip(plans, checked, strict=True)]


def _in(scope: frozenset[str] | None, key: str) -> bool:
    """Whether a request of this scope (None: every processor) reaches the processor."""
    return scope is None or key in scope


def _finished(step: Step) -> bool:
    return Status(step.status).is_done and bool(step.verified)


def _with_buffer(evidence: Evidence, act_by: date | None) -> Evidence:
    """The evidence with the chain's latest day, and a note for the DPO if the erasure came later."""
    late = act_by is not None and evidence.finished is not None and evidence.finished.astimezone(OSLO).date() > act_by
    notes = (*evidence.notes, f"finished after the chain's latest day {act_by}") if late else evidence.notes
    return replace(evidence, act_by=act_by, notes=notes)


def _evidence(request: Request, policy: Policy, steps: list[Step], holds: list[Hold],
              notes: list[str] | None = None, unreached: str = "not reached in this request") -> Evidence:
    status = "done" if all(_finished(s) for s in steps) else "failed"
    finished = datetime.now(UTC)
    # GDPR Art. 19: every recipient the policy names, and how and when the erasure reached it.
    told = recipients_told(policy, tuple(steps), finished.astimezone(OSLO).date(), unreached)
    return Evidence(request, status, tuple(steps), tuple(holds), finished, str(runtime.flow_run.id),
                    tuple(notes or ()), told=told)
