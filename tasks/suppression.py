"""Suppression: a withdrawn or erased member's contact values kept as keyed references, and a sweep that finds
and removes a member a re-sync added again (GDPR Art. 17, 21(3))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from prefect import runtime, task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from config.policy import Policy
from config.settings import Settings
from connectors.contract import Action, ConnectorError, ContactLister, Holdings, Outcome, Status
from connectors.registry import connect
from domain.values import STEP_KEY, Kind, Request, Step, artifact_key, contact_reference
from evidence.documents import plain
from evidence.ledger import NewRecord, Suppressed, open_ledger
from tasks.retry import not_connector_error

CHANNELS = ("email", "phone")


@dataclass(frozen=True)
class Readded:
    """A suppressed member found again at a marketing processor: by subject reference and processor ids only."""

    controller: str
    system: str
    step: str
    category: str
    subject_ref: str
    request_id: str
    reason: str
    ids: tuple[str, ...]


@dataclass(frozen=True)
class Listing:
    """What a sweep found at one marketing processor: how many contacts it read, and who was added again."""

    system: str
    listed: bool  # False: the processor cannot list its contacts, or the chain has nobody suppressed
    contacts: int
    readded: tuple[Readded, ...] = ()
    suppressed: int = 0  # the chain's keyed references looked for


def reason_of(kind: Kind) -> str:
    """Why a member is suppressed: they withdrew marketing, or they were erased."""
    return "withdrawal" if kind is Kind.WITHDRAWAL else "erasure"


@task(name="enter-suppression", cache_key_fn=lambda _, p: f"{STEP_KEY}{p['request'].request_id}-suppression",
      persist_result=True, retries=1, retry_condition_fn=not_connector_error)
async def enter_suppression(request: Request, policy: Policy, settings: Settings) -> tuple[str, ...]:
    """Seal into the ledger a keyed reference to each of the member's contact values (never the values), read
    from the membership system before anything is erased; the channels entered."""
    ledger = await open_ledger(settings.ledger_url)
    entered = await ledger.suppressed(request.controller, request.request_id)
    if entered:  # sealed by an earlier try of this request whose result was lost
        return tuple(dict.fromkeys(row.channel for row in entered))
    async with connect(policy.membership, settings) as (membership, _):
        subject = await membership.contact(request.member_id)  # type: ignore[attr-defined]
    values = {"email": subject.email if subject else None, "phone": subject.phone if subject else None}
    rows = tuple({"controller": request.controller, "request_id": request.request_id,
                  "subject_ref": request.subject_ref, "channel": channel, "reason": reason_of(request.kind),
                  "reference": contact_reference(settings.subject_key, request.controller, channel, value)}
                 for channel in CHANNELS if (value := values[channel]))
    if rows:
        await ledger.seal(NewRecord(request.controller, "suppression", request.request_id, _run_id(), {
            "request_id": request.request_id, "subject_ref": request.subject_ref,
            "reason": reason_of(request.kind), "channels": [row["channel"] for row in rows]}, suppressions=rows))
    return tuple(row["channel"] for row in rows)


@task(name="find-readded", cache_policy=NO_CACHE, retries=1, retry_condition_fn=not_connector_error)
async def find_readded(policy: Policy, step: str, settings: Settings) -> Listing:
    """List a marketing processor's contacts and keep those whose keyed e-mail or phone reference is suppressed;
    the contact values never leave this task."""
    rule = policy.processor(step)
    ledger = await open_ledger(settings.ledger_url)
    suppressed: dict[str, Suppressed] = {row.reference: row for row in await ledger.suppressed(policy.controller)}
    if not suppressed:
        return Listing(rule.system, False, 0)
    category = next((c.category for c in rule.data if c.marketing), rule.role)
    found: dict[str, list[str]] = {}
    by_request: dict[str, Suppressed] = {}
    read = 0
    async with connect(rule.system, settings) as (connector, _):
        if not hasattr(connector, "contacts"):
            return Listing(rule.system, False, 0, suppressed=len(suppressed))
        lister: ContactLister = connector  # type: ignore[assignment]
        async for contact in lister.contacts():
            read += 1
            references = {contact_reference(settings.subject_key, policy.controller, channel, value)
                          for channel in CHANNELS if (value := getattr(contact, channel))}
            hit = next((suppressed[r] for r in sorted(references) if r in suppressed), None)
            if hit is not None:
                found.setdefault(hit.request_id, []).append(contact.id)
                by_request[hit.request_id] = hit
    return Listing(rule.system, True, read, tuple(
        Readded(policy.controller, rule.system, step, category, by_request[r].subject_ref, r, by_request[r].reason,
                tuple(ids)) for r, ids in found.items()), len(suppressed))


@task(name="remove-readded", cache_policy=NO_CACHE, retries=1, retry_condition_fn=not_connector_error)
async def remove_readded(found: Readded, today: date, settings: Settings) -> Step:
    """Delete a member added again at one processor, and read it back; the evidence row."""
    holdings = Holdings.of(found.system, ids=found.ids, categories={found.category})
    key = f"slett:readded-{today.isoformat()}:{found.request_id}:{found.step}:delete"
    try:
        async with connect(found.system, settings) as (connector, client):
            outcome = await connector.erase(holdings, Action.DELETE, key)
            check = await connector.verify(holdings, Action.DELETE)
        outcome = outcome.with_(verified=bool(check.verified), attempts=client.attempts,
                                detail=f"added again by a re-sync ({len(found.ids)} contact(s)); deleted again"
                                if check.verified else check.detail or "read-back failed")
    except Exception as error:  # one processor's failure is evidence too, and must not hide the others'
        # A connector's words never hold personal data; any other error is named by its type only.
        reason = str(error) if isinstance(error, ConnectorError) else type(error).__name__
        outcome = Outcome(found.system, Status.FAILED, Action.DELETE, detail=reason, verified=False)
    return Step(found.step, "marketing", Action.DELETE.value, outcome.status.value, outcome.verified,
                outcome.attempts, None, outcome.detail)


@task(name="record-readded", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def record_readded(controller: str, removed: list[tuple[Readded, Step]], listings: list[Listing],
                         today: date, settings: Settings) -> str:
    """Seal, per request, the removal of a member found again into the ledger, and show the sweep's table on the
    run; the table's key."""
    ledger = await open_ledger(settings.ledger_url)
    run_id = _run_id()
    for found, step in removed:
        await ledger.seal(NewRecord(controller, "readded", found.request_id, run_id, {
            "request_id": found.request_id, "subject_ref": found.subject_ref, "reason": found.reason,
            "found_on": today.isoformat(), "found": len(found.ids), "steps": plain((step,)),
            "finished": datetime.now(UTC).isoformat(),
            "status": "done" if step.verified else "failed"}))
    rows = [{"system": found.system, "subject_ref": found.subject_ref, "request_id": found.request_id,
             "reason": found.reason, "contacts": str(len(found.ids)), "status": step.status,
             "verified": "yes" if step.verified else "no", "detail": step.detail} for found, step in removed]
    rows += [{"system": listing.system, "subject_ref": "", "request_id": "", "reason": "",
              "contacts": str(listing.contacts), "status": "read" if listing.listed else "cannot list contacts",
              "verified": "", "detail": f"{len(listing.readded)} suppressed member(s) found"}
             for listing in listings]
    key = artifact_key("readded", f"{controller}-{today.isoformat()}")
    await acreate_table_artifact(key=key, table=rows, description=(
        f"Sweep of {controller}'s marketing processors on {today}: {len(removed)} suppressed member(s) found "
        "added again and removed (by subject reference only)"))
    return key


def _run_id() -> str | None:
    run_id = runtime.flow_run.id
    return str(run_id) if run_id else None
