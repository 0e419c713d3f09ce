"""reconcile-settlements: a settlement the webhook never told about still resumes the erasure; owing ones wait."""

from __future__ import annotations

from uuid import UUID

import pytest
from prefect import get_client

from tests.flow_driver import Flows

pytestmark = pytest.mark.slow


@pytest.fixture
def flows(deployments: dict[str, UUID]) -> Flows:
    """slett's deployments, driven from the test."""
    return Flows(deployments)


async def test_settled_without_a_webhook_the_daily_reconcile_completes_the_erasure(sandbox, flows):
    """The member pays, no invoice.settled webhook arrives; the reconcile run finds it at the membership
    system and resumes the erasure, which completes. A member who still owes is left suspended."""
    paying = sandbox.add_member(open_invoice=True)
    owing = sandbox.add_member(open_invoice=True)
    waiting = await flows.erase("demo", paying.member_id)
    still = await flows.erase("demo", owing.member_id)
    assert ("SUSPENDED", "SUSPENDED") == (waiting.state_name, still.state_name)
    assert sandbox.webhooks is None  # no webhook will tell anyone

    sandbox.exceline.settle(paying.member_id)
    reconcile = await flows.start("reconcile-settlements", {"controller": "demo"})

    counts = await reconcile.result()
    assert counts["resumed"] >= 1 and counts["still_owing"] >= 1
    done = await flows.again(waiting)
    assert "COMPLETED" == done.state_name
    assert "anonymised" == {s.system: s.status for s in (await done.result()).steps}["exceline"]
    async with get_client() as client:
        left = await client.read_flow_run(still.flow_run.id)
    assert left.state is not None and "Suspended" == left.state.name
    assert ["mailchimp"] == sandbox.destructive_calls_for(owing.member_id)
