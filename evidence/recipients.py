"""GDPR Art. 19: every recipient of the member's data a chain's policy names, and how and when each was told."""

from __future__ import annotations

from datetime import date

from config.policy import OFFLINE, Policy
from connectors.contract import Status
from domain.values import Step, Told

API, PERSON, NOT_TOLD = "api", "person", "not told"


def recipients_told(policy: Policy, steps: tuple[Step, ...], finished: date,
                    unreached: str = "not reached in this request") -> tuple[Told, ...]:
    """Each processor of the policy, as the request's steps told it: by the erasure call itself (an API), by a
    person's notice (no API: who confirmed it, and the day), or not, and why (`unreached`, for one with no step)."""
    by_step = {step.system: step for step in steps}
    told = []
    for processor in policy.processors:
        name = processor.supplier or processor.system
        step = by_step.get(processor.key)
        if step is None:
            why = ("only for a claim in debt collection; the member had none" if processor.when == "in_collection"
                   else unreached)
            told.append(Told(name, "", NOT_TOLD, detail=why))
        elif processor.system in OFFLINE:
            done = step.status == Status.CONFIRMED
            told.append(Told(name, step.system, PERSON if done else NOT_TOLD, step.confirmed_on if done else None,
                             step.confirmed_by, f"{processor.action} notice confirmed" if done else step.status))
        elif Status(step.status).is_done:
            what = ("held nothing of the member" if step.status == Status.ALREADY_ABSENT
                    else f"{step.action} {step.status}")
            told.append(Told(name, step.system, API, finished, detail=f"the erasure call itself: {what}"))
        else:
            told.append(Told(name, step.system, NOT_TOLD, detail=f"its step ended {step.status}: told once it is done"))
    # Where only the marketing consents went (a membership that still runs), the consents' own call told it.
    for step in steps:
        named = step.system.removesuffix("-marketing")
        if step.system != named and Status(step.status).is_done:
            told = [Told(named, step.system, API, finished, detail=f"marketing consents {step.status}")
                    if t.recipient == named and t.how == NOT_TOLD else t for t in told]
    return tuple(told)
