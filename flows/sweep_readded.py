"""The sweep-readded flow: a withdrawn or erased member that a re-sync (newsletter, SMS) added again is found by
their keyed references and removed again, with evidence."""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow

from config.policy import Policy
from domain.values import OSLO
from flows.setup import chain_policy, flow_settings
from tasks.suppression import find_readded, record_readded, remove_readded


class ReaddedNotRemoved(Exception):
    """A member found added again could not be removed; the message names the processor and request."""


@flow(name="sweep-readded", persist_result=True, validate_parameters=True)
async def sweep_readded(as_of: date | None = None, controller: str | None = None) -> dict[str, int]:
    """List every chain's marketing processors, remove each contact whose keyed e-mail or phone reference is on the
    ledger's suppression list, read it back and seal the evidence; per chain, how many members were removed.

    Args:
        as_of: the day to act as of; empty for today in Europe/Oslo.
        controller: one chain only; empty for all.
    """
    settings = flow_settings()
    today = as_of or datetime.now(OSLO).date()
    names = [controller] if controller else sorted(p.stem for p in settings.controllers_dir.glob("*.yaml"))
    removed: dict[str, int] = {}
    failures: list[str] = []
    for name in names:
        policy = chain_policy(name, settings)
        done = await _sweep(policy, today)
        removed[name] = sum(1 for ok in done if ok)
        failures += [name for ok in done if not ok]
    if failures:
        raise ReaddedNotRemoved(f"members found added again were not all removed at: {', '.join(failures)}; "
                                "see the readded-<chain>-<day> artifact")
    return removed


async def _sweep(policy: Policy, today: date) -> list[bool]:
    """One chain's sweep; per member found again, whether they are gone again (read back)."""
    settings = flow_settings()
    listings = [await find_readded(policy, rule.key, settings) for rule in policy.marketing()]
    removed = [(found, await remove_readded(found, today, settings)) for listing in listings
               for found in listing.readded]
    if any(listing.suppressed for listing in listings):
        await record_readded(policy.controller, removed, listings, today, settings)
    return [bool(step.verified) for _, step in removed]
