"""The letters a waiting request gets before its answer (GDPR Art. 12(3)-(4)): each sent once, sealed, shown."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from uuid import UUID

from prefect import get_client, runtime, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.actions import ArtifactCreate

from config.policy import Policy
from config.settings import Settings
from config.workdays import expected_after_wait, tell_of_delay
from connectors.contract import RetentionFacts, Status
from domain.values import OSLO, Request, Step, artifact_key
from evidence.documents import sha256
from evidence.interim import ACKNOWLEDGMENT, DELAY, LETTER, MEMBERSHIP, PERSON, SETTLEMENT, Interim, render_interim
from evidence.ledger import Ledger, NewRecord, open_ledger
from evidence.register import WAITING_PERSON, WAITING_SETTLEMENT, Entry
from queries.runs import step_of_key
from tasks.deadlines import read_extension

# What a waiting run in the register waits for, in the letters' words.
WAITS_FOR = {WAITING_SETTLEMENT: SETTLEMENT, WAITING_PERSON: PERSON}


async def send_once(ledger: Ledger, letter: Interim, flow_run_id: str) -> Interim | None:
    """Seal the letter into the ledger unless the request has one of its kind, then show it on the request's
    run; the letter, or None when it was sent before."""
    key = artifact_key(letter.kind, letter.request_id)
    markdown = render_interim(letter)
    stored = await ledger.seal_once(
        NewRecord(letter.controller, LETTER, letter.request_id, flow_run_id,
                  {"letter": letter.document(), "artifacts": {key: sha256(markdown)}}),
        lambda sealed: sealed.body["evidence"]["letter"]["kind"] == letter.kind)
    if stored is None:
        return None
    async with get_client() as client:
        await client.create_artifact(ArtifactCreate(
            key=key, type="markdown", flow_run_id=UUID(flow_run_id), data=markdown,
            description=f"{letter.kind.capitalize()} letter to {letter.subject_ref} (nb, en), sent {letter.sent}; "
            f"sealed as record #{stored.sealed.sequence} of {letter.controller}"))
    return letter


async def due_by(ledger: Ledger, request: Request) -> date:
    """The request's deadline: extended, if an extension was sealed."""
    extension = await read_extension(ledger, request.request_id)
    return extension.deadline if extension else request.deadline


def waits_at_registration(policy: Policy, stopped: Iterable[Step], facts: RetentionFacts,
                          membership_until: date | None = None) -> tuple[str, ...]:
    """What a request waits for once marketing has stopped: its final invoice, a person at a supplier, or (kept
    while the membership runs) the membership's end."""
    by_person = [PERSON] if any(step.status == Status.MANUAL.value for step in stopped) else []
    if membership_until:
        return (MEMBERSHIP, *by_person)
    owed = policy.waits_for_settlement(facts.open_invoices, facts.in_collection)
    return (*([SETTLEMENT] if owed else []), *by_person)


@task(name="acknowledge-request", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
async def acknowledge(request: Request, policy: Policy, stopped: list[Step], facts: RetentionFacts,
                      settings: Settings, membership_until: date | None = None) -> Interim | None:
    """Send the acknowledgment once, when marketing has stopped: received, stopped where, what waits and why,
    and the day the answer comes by (the deadline)."""
    ledger = await open_ledger(settings.ledger_url)
    deadline = await due_by(ledger, request)
    letter = Interim.of(ACKNOWLEDGMENT, request, policy.name, deadline, deadline,
                        waits_at_registration(policy, stopped, facts, membership_until), datetime.now(OSLO).date(),
                        tuple(stopped), membership_until=membership_until)
    return await send_once(ledger, letter, str(runtime.flow_run.id))


@task(name="tell-of-delay", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
async def tell_if_late(request: Request, chain: str, waits_for: tuple[str, ...], settings: Settings,
                       at: tuple[str, ...] = (), marketing_waits: bool = False) -> Interim | None:
    """Send the delay letter once if the run, about to wait, will wait past the request's deadline: why (naming
    the suppliers `at` which a person's step waits), the new expected date, and the right to complain to
    Datatilsynet (GDPR Art. 12(4))."""
    ledger = await open_ledger(settings.ledger_url)
    today = datetime.now(OSLO).date()
    deadline = await due_by(ledger, request)
    if not tell_of_delay(deadline, today):
        return None
    letter = Interim.of(DELAY, request, chain, deadline, expected_after_wait(request.received.date(), today),
                        waits_for, today, at=at, marketing_waits=marketing_waits)
    return await send_once(ledger, letter, str(runtime.flow_run.id))


def waiting_at(entry: Entry, policy: Policy | None) -> tuple[tuple[str, ...], bool]:
    """The supplier a request waiting for a person's step waits at (its suspension key names the step, the chain's
    policy the supplier), and whether the step stops marketing; ((), False) when not known."""
    step = step_of_key(entry.waiting_for) if entry.status == WAITING_PERSON else None
    processor = next((p for p in policy.processors if p.key == step), None) if policy and step else None
    if processor is None:
        return (), False
    return (processor.supplier or processor.system,), processor.role == "marketing"


def delay_of(entry: Entry, today: date, policy: Policy | None = None) -> Interim | None:
    """The delay letter a waiting request in the register is owed today, if it is owed one; with the chain's
    policy, a person's step is named by its supplier."""
    waits = WAITS_FOR.get(entry.status)
    if waits is None or not tell_of_delay(entry.deadline, today):
        return None
    received = entry.received.date()
    at, marketing_waits = waiting_at(entry, policy)
    return Interim(DELAY, entry.request_id, entry.controller, entry.chain, entry.subject_ref, received,
                   entry.deadline, expected_after_wait(received, today), (waits,), today, at=at,
                   marketing_waits=marketing_waits)


@task(name="send-delay-letters", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def send_delay_letters(entries: list[Entry], today: date, settings: Settings,
                             policies: dict[str, Policy] | None = None) -> list[Interim]:
    """Send each waiting request on or past its deadline its delay letter, once; the letters sent now. `policies`
    (by controller) name the supplier a person's step waits at."""
    ledger = await open_ledger(settings.ledger_url)
    owed = [(entry, letter) for entry in entries
            if (letter := delay_of(entry, today, (policies or {}).get(entry.controller))) is not None]
    sent = [await send_once(ledger, letter, entry.flow_run_id) for entry, letter in owed]
    return [letter for letter in sent if letter is not None]
