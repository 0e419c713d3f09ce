"""Tasks for legal holds: read the ones lasting today, set or lift one from the Prefect form."""

from __future__ import annotations

from datetime import date

from prefect import runtime, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE

from config.legal_holds import LegalHold
from config.policy import Policy
from config.settings import Settings
from connectors.registry import erases_by_category
from domain.values import artifact_key, subject_reference
from evidence.chain import record_markdown
from evidence.ledger import HoldState, open_ledger
from evidence.legal_holds import legal_hold_request, read_legal_holds, set_or_lift


@task(name="legal-holds", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=5)
async def legal_holds_on(states: list[HoldState], today: date, settings: Settings) -> list[LegalHold]:
    """The legal holds lasting today on the members whose holds these are."""
    ledger = await open_ledger(settings.ledger_url)
    found: list[LegalHold] = []
    for controller, member_id in sorted({(s.controller, s.member_id) for s in states}):
        found += [h for h in await read_legal_holds(ledger, controller, member_id) if h.lasts_on(today)]
    return found


@task(name="member-legal-holds", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=5)
async def member_legal_holds(controller: str, member_id: str, today: date, settings: Settings) -> list[LegalHold]:
    """The legal holds on one member lasting today: an erasure restricts what they keep."""
    legal = await read_legal_holds(await open_ledger(settings.ledger_url), controller, member_id)
    return [h for h in legal if h.lasts_on(today)]


@task(name="held-by-legal-holds", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=5)
async def held_at(controller: str, system: str, today: date, settings: Settings) -> frozenset[str]:
    """The ids a legal hold keeps at a processor today: a purge leaves them."""
    legal = await read_legal_holds(await open_ledger(settings.ledger_url), controller, system=system)
    return frozenset(h.member_id for h in legal if h.lasts_on(today))


@task(name="record-legal-hold", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=5)
async def record_legal_hold(policy: Policy, member_id: str, system: str, category: str, reason: str, by: str,
                            until: date | None, lift: bool, today: date, settings: Settings) -> str:
    """Seal a legal hold set or lifted into the ledger and show its record on the run; returns the record's
    words (the member by subject reference only)."""
    ledger = await open_ledger(settings.ledger_url)
    subject = subject_reference(settings.subject_key, policy.controller, member_id)
    run_id = str(runtime.flow_run.id)
    legal, stored = await set_or_lift(ledger, policy, member_id, system, category, reason, by, until, lift, today,
                                      subject, run_id, erases_by_category(system))
    words = f"{subject}: {legal.words()}"
    await acreate_markdown_artifact(key=artifact_key("legal-hold", legal_hold_request(subject, system, category)),
                                    markdown=record_markdown(stored.sealed),
                                    description=f"Legal hold record #{stored.sealed.sequence} of "
                                    f"{policy.controller}: {words}")
    return words
