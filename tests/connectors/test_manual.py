"""Processors with no API (Kalibrert, Apility, Relisec): every step is a person's, confirmed in the Prefect UI."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Action, Holdings, Permanent, Status


async def test_lookup_sees_nothing(open_connector, subject):
    """Lookup reports no ids and no categories, and makes no call."""
    async with open_connector("manual") as (manual, client):
        holdings = await manual.lookup(subject("M1201"))

    assert (Holdings.of("manual"), 0) == (holdings, client.attempts)


@pytest.mark.parametrize("action", [Action.DELETE, Action.ANONYMISE, Action.RESTRICT, Action.NOTIFY])
async def test_every_action_is_a_manual_step(open_connector, action):
    """Whatever the policy plans, the outcome is manual: a person must confirm it; nothing is sent."""
    async with open_connector("manual") as (manual, client):
        outcome = await manual.erase(Holdings.of("manual"), action, "k")

    assert (Status.MANUAL, action, 0) == (outcome.status, outcome.action, client.attempts)
    assert outcome.detail.startswith("a person must")
    assert ("Art. 19 notice" in outcome.detail) == (action is Action.NOTIFY)


async def test_verify_is_unknown_until_confirmed(open_connector):
    """No read-back is possible: verified is None, not True and not False."""
    async with open_connector("manual") as (manual, _):
        check = await manual.verify(Holdings.of("manual"), Action.DELETE)

    assert (Status.MANUAL, None) == (check.status, check.verified)


async def test_there_are_no_jobs(open_connector):
    """A manual step is confirmed in the UI, never polled."""
    async with open_connector("manual") as (manual, _):
        with pytest.raises(Permanent, match="no asynchronous jobs"):
            await manual.poll("anything")
