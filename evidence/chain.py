"""The evidence chain: each record sealed with SHA-256 and linked to its controller's record before it.

A record's body is `{controller, sequence, previous, ...}` (its kind, request, flow run, evidence and the hold
rows it wrote); `digest` is the SHA-256 of the body's canonical JSON. `previous` is the digest of the
controller's record before it, so changing any sealed record, or removing one, breaks the links after it.
The records live in the ledger (evidence/ledger.py); this module is the arithmetic, with no storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evidence.documents import fenced, sha256

GENESIS = "0" * 64
PREFIX = "evidence-"
UNREADABLE = "(unreadable)"


@dataclass(frozen=True)
class Sealed:
    """One stored evidence record: its body, the digest it claims, and when the server stored it."""

    body: dict[str, Any]
    digest: str
    created: datetime | None = None
    text: str | None = field(default=None, compare=False, repr=False)  # the body as the ledger stores it

    @classmethod
    def of(cls, document: dict[str, Any] | None, created: datetime | None = None) -> Sealed | None:
        """The record in an evidence artifact's JSON, or None if it holds none."""
        if not document or "digest" not in document or "sequence" not in document:
            return None
        body = {k: v for k, v in document.items() if k != "digest"}
        return cls(body, str(document["digest"]), created)

    @classmethod
    def unreadable(cls, key: str, created: datetime | None) -> Sealed:
        """An evidence artifact that holds no record any more: it can never verify."""
        return cls({"controller": UNREADABLE, "evidence": {"request": {"request_id": key.removeprefix(PREFIX)}}},
                   "", created)

    @property
    def controller(self) -> str:
        """The controller whose chain this record is in."""
        return str(self.body.get("controller"))

    @property
    def sequence(self) -> int:
        """The record's place in its controller's chain, from 1."""
        return int(self.body.get("sequence", 0))

    @property
    def request_id(self) -> str:
        """The request whose evidence this is."""
        if "request_id" in self.body:
            return str(self.body["request_id"])
        # A record sealed before the ledger (an evidence artifact) names it inside its evidence.
        return str(self.body.get("evidence", {}).get("request", {}).get("request_id", "?"))

    @property
    def intact(self) -> bool:
        """Whether the body still has the digest it was sealed with."""
        # The ledger stores the canonical text the digest was taken over: hashing it spares its re-serialising.
        if self.text is not None and hashlib.sha256(self.text.encode("utf-8")).hexdigest() == self.digest:
            return True
        return sha256(self.body) == self.digest

    def document(self) -> dict[str, Any]:
        """The record as stored."""
        return {**self.body, "digest": self.digest}


def seal(controller: str, fields: Mapping[str, Any], head: tuple[int, str] | None) -> Sealed:
    """The next record of a controller's chain after its head (its sequence and digest; None for the first)."""
    body = {**fields, "controller": controller, "sequence": head[0] + 1 if head else 1,
            "previous": head[1] if head else GENESIS}
    return Sealed(body, sha256(body))


def record_markdown(record: Sealed) -> str:
    """The evidence artifact: the seal in words, then the record as JSON, its hold rows without the member's id
    (the ledger keeps it to look the member up again; Prefect's database never holds it in evidence)."""
    shown = {**record.document(), "holds": [{k: v for k, v in row.items() if k != "member_id"}
                                            for row in record.body.get("holds", [])]}
    return (f"Evidence record #{record.sequence} of {record.controller}'s chain, request "
            f"`{record.request_id}`.\n\n- sha256: `{record.digest}`\n- previous: `{record.body['previous']}`\n\n"
            + fenced(shown) + "\n")


@dataclass(frozen=True)
class Problem:
    """Where a chain fails to verify: the request whose evidence was changed, and how we know."""

    sequence: int
    request_id: str
    reason: str


@dataclass(frozen=True)
class ChainReport:
    """One controller's chain as verified: its length, its head, and what is wrong with it."""

    controller: str
    records: int
    head_sequence: int
    head_digest: str
    problems: tuple[Problem, ...] = ()
    vacuumed: int = 0  # records whose flow run Prefect no longer has (vacuumed): the ledger keeps them

    @property
    def intact(self) -> bool:
        """Whether every record, link and sealed artifact checks out."""
        return not self.problems


def _link_problem(record: Sealed, before: Sealed | None) -> tuple[int, Problem] | None:
    """What is wrong with the link from `record` back to the record stored before it, and whether the
    fault lies with the record before (-1) or this one (0)."""
    expected_previous = before.digest if before else GENESIS
    expected_sequence = before.sequence + 1 if before else 1
    if record.body.get("previous") == expected_previous:
        if record.sequence == expected_sequence:
            return None
        return 0, Problem(record.sequence, record.request_id,
                          f"its sequence number was changed (expected #{expected_sequence})")
    if before is not None and before.intact and record.sequence == expected_sequence:
        # This record is intact and was sealed over a different digest of its predecessor: the
        # predecessor was changed and sealed again afterwards.
        return -1, Problem(before.sequence, before.request_id,
                           f"its evidence was changed and sealed again after record #{record.sequence} "
                           f"(request {record.request_id}) had sealed the original digest")
    if record.sequence > expected_sequence:
        missing = (f"record #{expected_sequence} before it is" if record.sequence == expected_sequence + 1
                   else f"records #{expected_sequence}-#{record.sequence - 1} before it are")
        return 0, Problem(record.sequence, record.request_id, f"{missing} missing (deleted)")
    return 0, Problem(record.sequence, record.request_id,
                      f"it was stored after record #{expected_sequence - 1} but claims place #{record.sequence}: "
                      "a copy or an altered new version, not a sealed record")


@dataclass
class ChainWalk:
    """A controller's chain walked one record at a time, in the order given: what it found so far, and its head.
    Holds only the record before the next one and the problems, so a chain can be read a page at a time."""

    controller: str
    before: Sealed | None = None  # the record before the next one (at first: before the stretch walked, if any)
    records: int = 0
    head: Sealed | None = None
    found: list[tuple[int, Problem]] = field(default_factory=list)

    def step(self, record: Sealed, fault: str | None = None) -> None:
        """Walk to the next record; `fault` is what else was found wrong with it (its ledger columns or hold rows
        no longer what it sealed)."""
        position = self.records
        if not record.digest:
            self.found.append((position, Problem(0, record.request_id, "its evidence holds no sealed record")))
        elif not record.intact:
            self.found.append((position, Problem(record.sequence, record.request_id,
                                                 "its evidence does not match its SHA-256: changed after sealing")))
        elif (link := _link_problem(record, self.before)) is not None:
            self.found.append((position + link[0], link[1]))
        elif fault is not None:
            self.found.append((position, Problem(record.sequence, record.request_id, fault)))
        self.before = self.head = record
        self.records += 1

    def report(self, vacuumed: int = 0) -> ChainReport:
        """The chain as verified up to here: its problems in chain order."""
        head = self.head
        return ChainReport(self.controller, self.records, head.sequence if head else 0,
                           head.digest if head else GENESIS,
                           tuple(problem for _, problem in sorted(self.found, key=lambda item: item[0])), vacuumed)


def verify_chain(controller: str, records: Iterable[Sealed], faults: Mapping[int, str] | None = None,
                 vacuumed: int = 0, after: Sealed | None = None) -> ChainReport:
    """Walk a controller's records in the order they were stored; `faults` names, by sequence, what else was
    found wrong with a record (its ledger columns or hold rows no longer what it sealed). `after` is the
    record before the first of them when only a stretch of the chain is walked (None: from its start)."""
    walk = ChainWalk(controller, after)
    for record in sorted(records, key=lambda r: (r.created is None, r.created, r.sequence)):
        walk.step(record, (faults or {}).get(record.sequence))
    return walk.report(vacuumed)
