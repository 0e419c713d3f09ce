"""The purge-guests flow: everyone past a chain's rolling limit, deleted in batches, in ONE flow run.

Guests with no paying agreement (Aktiv365: six months after the last visit) and course participants
whose course has ended (Vekstly, unless they asked to be kept) are many: one flow run per person would
make Prefect the bottleneck. Here each processor is listed once, then purged one task per batch.

Concurrency is limited per processor by an asyncio semaphore in this flow run, not a Prefect global
concurrency limit: the batches of a purge all run in this one process, so a semaphore bounds them
without a server round trip per slot or limits to create beforehand, and the processor's own rate limit
(SLETT_PROCESSORS__<SYSTEM>__RATE_LIMIT_PER_S) is one limiter per process (connectors/http.py) that every
batch in flight shares, so the processors' limits, not Prefect, set the pace.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact

from config.dates import stale_before
from config.policy import Policy, PolicyError, PurgeRule
from config.settings import Settings
from domain.values import OSLO
from flows.setup import chain_policy, flow_settings
from tasks.legal_holds import held_at
from tasks.purge import batch_key, list_past_limit, purge_batch, start_course_over_erasures


@flow(name="purge-guests", persist_result=True)
async def purge_guests(controller: str | None = None, as_of: date | None = None) -> dict[str, int]:
    """Delete, in batches, every guest and course participant past their chain's limit; counts per processor.

    Args:
        controller: one chain, or empty for every chain whose policy has purges.
        as_of: the day to purge as of; empty for today in Europe/Oslo.
    """
    log = get_run_logger()
    settings = flow_settings()
    today = as_of or datetime.now(OSLO).date()
    gates: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(settings.purge_concurrency))
    work = [(policy, rule, system) for policy in _policies(controller, settings)
            for rule in policy.purges for system in rule.systems]
    counts = await asyncio.gather(*(_purge(policy, rule, system, today, settings, gates[system])
                                    for policy, rule, system in work))
    result = {f"{policy.controller}/{rule.name}/{system}": count
              for (policy, rule, system), (count, _) in zip(work, counts, strict=True)}
    # Processors that cannot list who is past the limit: one erase-member run per person the listing found.
    result |= {f"{policy.controller}/{rule.name}/{'+'.join(rule.erase_at)}": started
               for (policy, rule, _), (_, started) in zip(work, counts, strict=True) if started is not None}
    await acreate_table_artifact(
        key=f"purge-{today.isoformat()}",
        table=[{"purge": name, "deleted": str(count)} for name, count in result.items()],
        description=f"Rolling purges as of {today}: how many were deleted at each processor (counts only).")
    log.info("Purged %d in total as of %s", sum(result.values()), today)
    return result


async def _purge(policy: Policy, rule: PurgeRule, system: str, today: date, settings: Settings,
                 gate: asyncio.Semaphore) -> tuple[int, int | None]:
    """List one processor's people past the rule's limit, then purge them one batch per task; how many, and how
    many erase-member runs were started for them at the rule's `erase_at` (None: it names none, or not here)."""
    before = stale_before(today, rule.period)
    async with gate:
        listed = await list_past_limit(rule.kind, system, before, settings)
    # A legal hold a person set (a guest in a case, footage for the police) keeps the person at that processor. It
    # names them by the id `slett hold` was given: the processor's own (a guest), or the membership system's (a
    # course participant, whom the listing names by both).
    held = await held_at(policy.controller, system, today, settings)
    ids = tuple(i for i, member in zip(listed.ids, listed.members or listed.ids, strict=True)
                if i not in held and member not in held)
    started = None
    if rule.erase_at and system == rule.systems[0]:
        # Before the bulk delete: the erase-member runs find the participant at the membership system.
        started = await start_course_over_erasures(policy.controller, listed.members, today)
    size = settings.purge_batch_size
    batches = [ids[start:start + size] for start in range(0, len(ids), size)]

    async def one(batch: tuple[str, ...]) -> int:
        async with gate:
            key = batch_key(f"{policy.controller}-{rule.name}", system, today, batch)
            return await purge_batch(rule.kind, system, batch, key, settings)

    return sum(await asyncio.gather(*(one(batch) for batch in batches))), started


def _policies(controller: str | None, settings: Settings) -> list[Policy]:
    """The named chain's policy, or every chain's that has purges."""
    if controller:
        return [chain_policy(controller, settings)]
    found = []
    for path in sorted(settings.controllers_dir.glob("*.yaml")):
        try:
            policy = chain_policy(path.stem, settings)
        except PolicyError as error:
            # A broken file fails its own chain's erasures loudly; it must not stop the other chains' purges.
            get_run_logger().error("Skipping %s: %s", path.name, error)
            continue
        if policy.purges:
            found.append(policy)
    return found
