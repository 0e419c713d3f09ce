"""What connectors say about actions: which a processor offers, and what a read-back found."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import quote

from connectors.contract import Action, CategoryCheck, CategoryErasure, Outcome, Permanent, Status
from connectors.http import ProcessorClient

T = TypeVar("T")
Unwrap = Callable[[Any], dict[str, Any]]  # a processor's answer to its body (Eziteq wraps it in "data")

# A patient journal is never deleted, anonymised or de-identified by slett, whatever a policy says
# (helsepersonelloven §§ 39-40; § 43 sets the only conditions): only restricted as written, for a clinician.
JOURNALS = frozenset({"journal", "journal notes", "physiotherapy journal"})
JOURNAL_LAW = "a patient journal is kept by law (helsepersonelloven §§ 39-40, pasientjournalloven § 25)"

CATEGORY_STATUS = {Action.DELETE: Status.ERASED, Action.ANONYMISE: Status.ANONYMISED,
                   Action.RESTRICT: Status.RESTRICTED, Action.RELEASE: Status.ERASED}


async def together(*calls: Awaitable[T]) -> list[T]:
    """Await the calls at once; their results in order, or the first error once every call has ended."""
    # Each call ends before the error leaves: none is left running on a client its connector is about to close.
    answers = await asyncio.gather(*calls, return_exceptions=True)
    if error := next((a for a in answers if isinstance(a, BaseException)), None):
        raise error
    return answers  # type: ignore[return-value]


def require(system: str, action: Action, *offered: Action, why: str = "") -> None:
    """Raise Permanent unless the processor offers `action`; the message says what it does offer."""
    if action not in offered:
        use = " or ".join(a.value for a in offered)
        raise Permanent(system, f"{action.value} is not offered{f' ({why})' if why else ''}; plan {use}")


def done(system: str, action: Action, status: Status, count: int, detail: str = "") -> Outcome:
    """The outcome of a destructive step: `status` when something changed, else already absent."""
    if not count:
        return Outcome.already_absent(system, action)
    return Outcome(system, status, action, count=count, detail=detail)


def read_back(system: str, action: Action, status: Status, left: int, what: str) -> Outcome:
    """The outcome of a verify: verified when nothing the action should remove is left."""
    if not left:
        return Outcome(system, status, action, verified=True)
    return Outcome(system, Status.FAILED, action, count=left, verified=False,
                   detail=f"read-back: {left} {what} still held")


def category_read_back(system: str, erasure: CategoryErasure, checks: list[CategoryCheck]) -> Outcome:
    """Whether a category is as its erasure left it: gone (deleted), stripped of every personal field
    (anonymised), or still there, restricted, with its kept fields and no other (held)."""
    wrong: list[str] = []
    for check in checks:
        if erasure.action in (Action.DELETE, Action.RELEASE) and check.present:
            wrong.append(f"{check.present} record(s) left")
        elif erasure.action is Action.ANONYMISE and check.fields:
            wrong.append(f"personal field(s) left: {', '.join(check.fields)}")
        elif erasure.action is Action.RESTRICT and check.present:
            if not check.restricted:
                wrong.append("not restricted")
            if extra := sorted(set(check.fields) - set(erasure.keeps)) if not erasure.review else []:
                wrong.append(f"field(s) the hold does not keep: {', '.join(extra)}")
            if lost := sorted(set(erasure.keeps) & set(check.personal) - set(check.fields)):
                wrong.append(f"kept field(s) gone: {', '.join(lost)}")
    status = CATEGORY_STATUS[erasure.action]
    if not wrong:
        return Outcome(system, status, erasure.action, verified=True)
    return Outcome(system, Status.FAILED, erasure.action, verified=False,
                   detail=f"read-back of {erasure.category}: {'; '.join(wrong)}")


def as_journal_allows(system: str, erasure: CategoryErasure) -> CategoryErasure:
    """The erasure as the law allows it: a journal only restricted as written (refused before any call), the rest
    as planned."""
    if erasure.category not in JOURNALS:
        return erasure
    if erasure.action is not Action.RESTRICT:
        raise Permanent(system, f"{erasure.category} is never {erasure.action.value}d by slett: {JOURNAL_LAW}; "
                                "it is restricted for a clinician's review")
    return replace(erasure, review=True)


async def erase_by_category(client: ProcessorClient, system: str, members: list[str], erasure: CategoryErasure,
                            key: str, unwrap: Unwrap = dict) -> Outcome:
    """POST one category's action (a journal's review by name) and kept fields to each member's category."""
    erasure = as_journal_allows(system, erasure)
    body = {"action": "review" if erasure.review else erasure.action.value, "keeps": list(erasure.keeps)}
    changed = 0
    for member in members:
        answer = await client.post(f"{member}/categories/{quote(erasure.category)}", json=body,
                                   headers={"Idempotency-Key": key})
        changed += 0 if answer.status_code == 404 else int(unwrap(answer.json())["changed"])
    return done(system, erasure.action, CATEGORY_STATUS[erasure.action], changed)


async def verify_by_category(client: ProcessorClient, system: str, members: list[str], erasure: CategoryErasure,
                             unwrap: Unwrap = dict) -> Outcome:
    """GET each member's category back and check it against what its erasure planned."""
    erasure = as_journal_allows(system, erasure)
    checks = []
    for member in members:
        found = await client.get(f"{member}/categories/{quote(erasure.category)}")
        if found.status_code != 404:
            body = unwrap(found.json())
            checks.append(CategoryCheck(erasure.category, int(body["present"]), bool(body["restricted"]),
                                        tuple(body["fields"]), tuple(body["personal"])))
    return category_read_back(system, erasure, checks)
