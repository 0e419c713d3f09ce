"""Every destructive call is idempotent: a replay, or a retry after a lost answer, applies nothing new."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Action, Status
from tests.connectors.plans import APPLIED, KEYED, PLANS, REPLAYED, SYSTEMS


@pytest.mark.parametrize("system", SYSTEMS)
async def test_replayed_erase_applies_once(system, sandbox, open_connector, subject):
    """Erasing again with the same key applies nothing more; the replayed calls are journalled unapplied."""
    member_id, action = PLANS[system]
    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(member_id))
        await connector.erase(holdings, action, "slett:req-1")
        applied = sandbox.applied_calls(member_id)
        await connector.erase(holdings, action, "slett:req-1")

    assert APPLIED[system] == len(applied)
    assert applied == sandbox.applied_calls(member_id)
    replayed = sandbox.journal.calls_for(member_id)[len(applied):]
    assert [False] * REPLAYED[system] == [call.applied for call in replayed]


@pytest.mark.parametrize("system", KEYED)
async def test_replay_returns_the_same_answer(system, sandbox, open_connector, subject):
    """With an Idempotency-Key the processor answers a replay as it answered the first call."""
    member_id, action = PLANS[system]
    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(member_id))
        first = await connector.erase(holdings, action, "slett:req-1")
        second = await connector.erase(holdings, action, "slett:req-1")

    assert first == second
    keys = [call.key for call in sandbox.journal.calls_for(member_id)]
    assert all(key and key.startswith("slett:req-1") for key in keys)


@pytest.mark.parametrize("system", KEYED)
async def test_retry_after_a_lost_answer_applies_once(system, sandbox, open_connector, subject, sleep):
    """When the processor applied a call but the answer was lost, the retry (same key) applies nothing new
    and the outcome is the one the first answer carried."""
    member_id, action = PLANS[system]
    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(member_id))
        sandbox.faults[system].script("lost")
        outcome = await connector.erase(holdings, action, "slett:req-1")

    assert 1 == len(sleep.waits)
    assert APPLIED[system] == len(sandbox.applied_calls(member_id))
    assert outcome.count == APPLIED[system]


async def test_mailchimp_lost_answer_is_still_success(sandbox, open_connector, subject):
    """Mailchimp takes no key: a retry after a lost answer meets a 404, and every audience is still gone."""
    async with open_connector("mailchimp") as (mailchimp, _):
        holdings = await mailchimp.lookup(subject("M1001"))
        sandbox.faults["mailchimp"].script("lost")
        outcome = await mailchimp.erase(holdings, Action.DELETE, "slett:req-1")
        check = await mailchimp.verify(holdings, Action.DELETE)

    assert (Status.ERASED, True) == (outcome.status, check.verified)
    assert 2 == len(sandbox.applied_calls("M1001"))
