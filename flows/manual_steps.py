"""Steps a person carries out at a processor with no API: the run suspends with a form until confirmed.

A suspended run holds no process. Each step has its own suspension key (`confirm-<n>-<step>`), so a run
that resumes from the top gets each answer back at once and suspends only for the next unconfirmed step.
A step left unconfirmed past its policy's time is escalated by reconcile-settlements, never skipped: a
retried run finds that key used without an answer and asks again under the next number.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime

from prefect import get_run_logger
from prefect.input import RunInput
from pydantic import Field, ValidationError, field_validator

from config.policy import Policy
from config.settings import Settings
from connectors.contract import Outcome, Status
from domain.values import OSLO, Request, Step, SystemPlan
from evidence.interim import PERSON
from flows.waiting import suspend_for
from queries.runs import confirmation_key
from tasks.letters import tell_if_late

# A confirmation is evidence: it names the employee who acted, never the member. An e-mail address or a
# phone number typed by mistake is blanked rather than refused, so a resumed run never fails on its input.
CONTACT_LIKE = re.compile(r"\S+@\S+|\+?\d[\d ]{6,}\d")


class ManualConfirmation(RunInput):
    """A person's word that a step at a supplier with no API has been carried out."""

    confirmed_by: str = Field(min_length=2, max_length=80, description="who did it (the employee, not the member)")
    what_was_done: str = Field(min_length=3, max_length=300,
                               description="what was done at the supplier; never the member's name or contact details")
    done_on: date = Field(description="the day it was done")

    @field_validator("what_was_done", "confirmed_by")
    @classmethod
    def _no_contact_details(cls, value: str) -> str:
        return CONTACT_LIKE.sub("[redacted]", value)


async def confirm_by_person(request: Request, policy: Policy, plans: list[SystemPlan], outcomes: list[Outcome],
                            settings: Settings) -> tuple[list[Outcome], dict[str, ManualConfirmation]]:
    """Wait for a person to confirm each manual step; the outcomes with those steps confirmed. A step that is to
    wait past the request's deadline first sends the member the delay letter naming it, once (GDPR Art. 12(4))."""
    log = get_run_logger()
    confirmed: list[Outcome] = []
    answers: dict[str, ManualConfirmation] = {}
    for plan, outcome in zip(plans, outcomes, strict=True):
        if outcome.status is not Status.MANUAL:
            confirmed.append(outcome)
            continue
        processor = policy.processor(plan.step)
        within = processor.confirm_within
        due = within.after(datetime.now(OSLO).date()) if within else None
        form = ManualConfirmation.with_initial_data(
            description=f"**{plan.action.value} at {plan.supplier or plan.system}** for member `{request.member_id}` "
            f"(request `{request.request_id}`, {policy.name}).\n\n{outcome.detail}\n\n"
            f"Confirm once it is done{f', by {due}' if due else ''}. Name yourself, not the member.",
            done_on=datetime.now(OSLO).date())
        log.info("Waiting for a person to confirm %s at %s", plan.action.value, plan.supplier or plan.system)
        answer = await _ask(form, plan.step, _tell_if_late(request, policy, plan, settings))
        answers[plan.step] = answer
        confirmed.append(outcome.with_(status=Status.CONFIRMED, verified=True, detail=answer.what_was_done))
    return confirmed, answers


async def confirm_release_by_person(request: Request, step: str, supplier: str, detail: str,
                                   within: date | None) -> ManualConfirmation:
    """Wait for a person to confirm they released a hold at a supplier with no API (its own suspension key)."""
    form = ManualConfirmation.with_initial_data(
        description=f"**release at {supplier}** for member `{request.member_id}` (request "
        f"`{request.request_id}`).\n\n{detail}\n\nConfirm once it is done{f', by {within}' if within else ''}. "
        "Name yourself, not the member.",
        done_on=datetime.now(OSLO).date())
    get_run_logger().info("Waiting for a person to confirm the release at %s", supplier)
    return await _ask(form, f"release-{step}")


def _tell_if_late(request: Request, policy: Policy, plan: SystemPlan,
                  settings: Settings) -> Callable[[], Awaitable[object]]:
    """What the run does before it suspends for a person's step: the delay letter, if the wait runs late."""
    at = (plan.supplier or plan.system,)
    return lambda: tell_if_late(request, policy.name, (PERSON,), settings, at, plan.role == "marketing")


async def _ask(form: type[ManualConfirmation], step: str,
               before: Callable[[], Awaitable[object]] | None = None) -> ManualConfirmation:
    """Suspend until a person answers the form, awaiting `before` first if the run is to suspend; a key used
    without an answer (escalated) asks again anew."""
    for attempt in itertools.count(1):
        try:
            return await suspend_for(form, confirmation_key(step, attempt), before)
        except ValidationError:
            # Prefect hands back a used key's input at once; an empty or unusable one means the earlier
            # suspension ended without a confirmation (the run was escalated and retried): ask again.
            continue
    raise AssertionError("unreachable: the attempts never run out")


def with_confirmations(steps: list[Step], answers: dict[str, ManualConfirmation]) -> list[Step]:
    """The evidence rows with who confirmed each manual step, and when it was done."""
    return [replace(step, confirmed_by=answers[step.system].confirmed_by, confirmed_on=answers[step.system].done_on)
            if step.system in answers else step for step in steps]


# tests/evidence builds suspended runs with this key; queries/runs.py owns its format.
__all__ = ["ManualConfirmation", "confirm_by_person", "confirm_release_by_person", "confirmation_key",
           "with_confirmations"]
