"""The letters sent while a request waits (GDPR Art. 12(3)-(4)): the acknowledgment and the delay letter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.values import Request, Step
from evidence.documents import plain
from evidence.letter import words
from evidence.templates import render

ACKNOWLEDGMENT = "acknowledgment"  # when the request is registered: received, marketing stopped, what waits
DELAY = "delay"  # when the request will wait past its deadline: why, the new date, the right to complain
KINDS = (ACKNOWLEDGMENT, DELAY)
# What a request can wait for, each with its sentence in both letters' words.
SETTLEMENT = "settlement"  # the final invoice is open
PERSON = "person"  # a step at a supplier with no API waits for a person's confirmation
MEMBERSHIP = "membership"  # the membership still runs: the chain keeps what it needs until it ends (`while_member`)
LETTER = "letter"  # the ledger's kind of record for these letters


@dataclass(frozen=True)
class Interim:
    """A letter before the answer: the request by reference (never the member id), what waits, by when."""

    kind: str  # ACKNOWLEDGMENT or DELAY
    request_id: str
    controller: str
    chain: str
    subject_ref: str
    received: date
    deadline: date  # the day the request is due, extended if it was
    expected: date  # the day the member is told to expect the answer by
    waits_for: tuple[str, ...]  # SETTLEMENT, PERSON, MEMBERSHIP
    sent: date
    stopped: tuple[Step, ...] = ()  # marketing as the first step left it (in the acknowledgment)
    at: tuple[str, ...] = ()  # the suppliers whose step waits for a person, named in the reason (PERSON)
    marketing_waits: bool = False  # the step a person is to confirm stops marketing: it has not stopped there yet
    membership_until: date | None = None  # the day the membership ends (MEMBERSHIP)

    @classmethod
    def of(cls, kind: str, request: Request, chain: str, deadline: date, expected: date,
           waits_for: tuple[str, ...], sent: date, stopped: tuple[Step, ...] = (), at: tuple[str, ...] = (),
           marketing_waits: bool = False, membership_until: date | None = None) -> Interim:
        """The letter for a request as its run knows it."""
        return cls(kind, request.request_id, request.controller, chain, request.subject_ref,
                   request.received.date(), deadline, expected, waits_for, sent, stopped, at, marketing_waits,
                   membership_until)

    def document(self) -> dict[str, Any]:
        """The letter's facts as the ledger seals them."""
        document: dict[str, Any] = plain(self)
        return document


def render_interim(letter: Interim) -> str:
    """The letter in Norwegian, then English, addressed by reference: it names no personal data."""
    if letter.kind not in KINDS:
        raise ValueError(f"a letter before the answer is one of {', '.join(KINDS)} (got {letter.kind!r})")
    return render(f"{letter.kind}.md.jinja", nb=words("nb"), en=words("en"), letter=letter)
