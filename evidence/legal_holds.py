"""Legal holds in the ledger: set and lifted by a person, each sealed into the controller's chain."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select

from config.legal_holds import LegalHold, LegalHoldRefused, after_lift, check_legal_hold
from config.policy import Policy
from evidence.documents import plain
from evidence.ledger import HELD, Ledger, NewRecord, StoredRecord, append, holds, legal_holds, records

SET, LIFTED = "set", "lifted"


@dataclass(frozen=True, kw_only=True)
class SealedLegalHold(LegalHold):
    """A legal hold's newest state as its record sealed it, for the register: the member by subject reference only
    (its member id is empty)."""

    subject_ref: str
    sequence: int  # the record of the controller's chain that sealed this state

    @classmethod
    def of(cls, controller: str, sequence: int, document: dict[str, Any]) -> SealedLegalHold:
        """The legal hold in a sealed record's `legal_hold` document."""
        def day(name: str) -> date | None:
            return date.fromisoformat(document[name]) if document.get(name) else None
        return cls(controller=controller, member_id="", system=str(document["system"]),
                   category=str(document["category"]), reason=str(document["reason"]),
                   set_by=str(document["set_by"]), set_at=datetime.fromisoformat(document["set_at"]),
                   ends_on=day("ends_on"), lifted_by=document.get("lifted_by"), lifted_on=day("lifted_on"),
                   subject_ref=str(document["subject_ref"]), sequence=sequence)


async def sealed_legal_holds(ledger: Ledger, controller: str | None = None) -> list[SealedLegalHold]:
    """Every legal hold's newest state as sealed (of one chain), lifted ones included, oldest first."""
    newest = select(func.max(legal_holds.c.id)).group_by(legal_holds.c.controller, legal_holds.c.member_id,
                                                         legal_holds.c.system, legal_holds.c.category)
    query = (select(legal_holds.c.controller, records.c.sequence, records.c.body)
             .join(records, records.c.id == legal_holds.c.record_id).where(legal_holds.c.id.in_(newest)))
    if controller is not None:
        query = query.where(legal_holds.c.controller == controller)
    async with ledger.reader.connect() as connection:
        rows = (await connection.execute(query.order_by(legal_holds.c.id))).all()
    return [SealedLegalHold.of(row.controller, row.sequence, json.loads(row.body)["evidence"]["legal_hold"])
            for row in rows]


def legal_hold_request(subject_ref: str, system: str, category: str) -> str:
    """The id a legal hold's records are sealed under: the subject by reference, the processor and category."""
    return f"legal-hold-{subject_ref}-{system}-{category}"


def legal_hold_document(legal: LegalHold, subject_ref: str, status: str) -> dict[str, Any]:
    """The legal hold as its record seals it: the member by subject reference only."""
    document = {k: v for k, v in plain(legal).items() if k != "member_id"}
    return {**document, "subject_ref": subject_ref, "status": status, "words": legal.words()}


def _row(legal: LegalHold, status: str, record_id: int) -> dict[str, Any]:
    return {"record_id": record_id, "controller": legal.controller, "member_id": legal.member_id,
            "system": legal.system, "category": legal.category, "reason": legal.reason, "set_by": legal.set_by,
            "set_at": legal.set_at, "ends_on": legal.ends_on, "lifted_by": legal.lifted_by,
            "lifted_on": legal.lifted_on, "status": status}


async def read_legal_holds(ledger: Ledger, controller: str, member_id: str | None = None,
                           system: str | None = None) -> list[LegalHold]:
    """The newest state of every legal hold of a chain (one member's, at one processor), lifted ones included."""
    newest = select(func.max(legal_holds.c.id)).group_by(legal_holds.c.controller, legal_holds.c.member_id,
                                                         legal_holds.c.system, legal_holds.c.category)
    query = select(legal_holds).where(legal_holds.c.id.in_(newest), legal_holds.c.controller == controller)
    if member_id is not None:
        query = query.where(legal_holds.c.member_id == member_id)
    if system is not None:
        query = query.where(legal_holds.c.system == system)
    async with ledger.reader.connect() as connection:
        rows = (await connection.execute(query.order_by(legal_holds.c.id))).all()
    return [LegalHold(r.controller, r.member_id, r.system, r.category, r.reason, r.set_by, r.set_at, r.ends_on,
                      r.lifted_by, r.lifted_on) for r in rows]


async def seal_legal_hold(ledger: Ledger, legal: LegalHold, subject_ref: str,
                          flow_run_id: str | None = None) -> StoredRecord:
    """Seal a new legal hold (or a new end for one already set) into the controller's chain."""
    request_id = legal_hold_request(subject_ref, legal.system, legal.category)
    async with ledger.transaction() as connection:
        stored = await append(connection, NewRecord(legal.controller, "legal-hold", request_id, flow_run_id,
                                                    {"legal_hold": legal_hold_document(legal, subject_ref, SET)}))
        await connection.execute(legal_holds.insert().values(**_row(legal, SET, stored.id)))
    return stored


async def lift_legal_hold(ledger: Ledger, controller: str, member_id: str, system: str, category: str,
                          lifted_by: str, lifted_on: date, subject_ref: str,
                          flow_run_id: str | None = None) -> tuple[LegalHold, StoredRecord]:
    """Lift a legal hold: seal who lifted it and when, and make each hold it kept due again under its own rule."""
    found = [h for h in await read_legal_holds(ledger, controller, member_id, system) if h.category == category]
    if not found or found[0].lifted_on is not None:
        raise LegalHoldRefused(f"no legal hold is set on {category} at {system} for this member at {controller}")
    lifted = replace(found[0], lifted_by=lifted_by, lifted_on=lifted_on)
    states = await ledger.hold_states(await _requests_of(ledger, controller, member_id))
    again = tuple(s.row(HELD, flow_run_id, f"legal hold lifted on {lifted_on} by {lifted_by}: due under its own "
                        "rule", after_lift(s.hold, lifted_on))
                  for s in states if s.status == HELD and s.hold.legal_until is not None
                  and lifted.covers(s.hold.system, s.hold.categories))
    request_id = legal_hold_request(subject_ref, system, category)
    async with ledger.transaction() as connection:
        stored = await append(connection, NewRecord(controller, "legal-hold", request_id, flow_run_id,
                                                    {"legal_hold": legal_hold_document(lifted, subject_ref, LIFTED),
                                                     "due_again": len(again)}, again))
        await connection.execute(legal_holds.insert().values(**_row(lifted, LIFTED, stored.id)))
    return lifted, stored


async def set_or_lift(ledger: Ledger, policy: Policy, member_id: str, system: str, category: str, reason: str,
                      by: str, until: date | None, lift: bool, today: date, subject_ref: str,
                      flow_run_id: str | None = None, by_category: bool = True) -> tuple[LegalHold, StoredRecord]:
    """A person's legal hold, checked against the chain's policy and sealed, or lifted (`slett hold`, the form)."""
    if lift:
        return await lift_legal_hold(ledger, policy.controller, member_id, system, category, by.strip() or "operator",
                                     today, subject_ref, flow_run_id)
    check_legal_hold(policy, system, category, until, today, reason, by, by_category)
    legal = LegalHold(policy.controller, member_id, system, category, reason.strip(), by.strip(), datetime.now(UTC),
                      until)
    return legal, await seal_legal_hold(ledger, legal, subject_ref, flow_run_id)


async def _requests_of(ledger: Ledger, controller: str, member_id: str) -> list[str]:
    """The requests whose holds name this member."""
    query = select(holds.c.request_id).where(holds.c.controller == controller,
                                             holds.c.member_id == member_id).distinct()
    async with ledger.reader.connect() as connection:
        return [row.request_id for row in (await connection.execute(query)).all()]
