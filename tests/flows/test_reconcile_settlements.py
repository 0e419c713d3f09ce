"""reconcile-settlements: a settlement the webhook never told about still resumes the erasure; owing ones wait."""

from __future__ import annotations

from uuid import UUID

import pytest
from prefect import get_client
from prefect.input.actions import adelete_flow_run_input

from queries.runs import settle
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


async def _without_its_form(run_id: UUID) -> None:
    """Leave a suspended run as a process killed mid-suspension under Prefect's own order left it: no form."""
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
    assert run.state is not None and run.state.state_details.run_input_keyset is not None
    await adelete_flow_run_input(run.state.state_details.run_input_keyset["schema"], flow_run_id=run_id)


async def test_a_settled_run_prefect_will_not_resume_is_escalated_and_the_others_still_resumed(sandbox, flows):
    """One run without its form (every resume refused) is escalated with Prefect's reason; the webhook's
    settle skips it without failing, and the reconcile run still resumes the member who is fine."""
    broken, fine = sandbox.add_member(open_invoice=True), sandbox.add_member(open_invoice=True)
    stuck = await flows.erase("demo", broken.member_id)
    waiting = await flows.erase("demo", fine.member_id)
    await _without_its_form(stuck.flow_run.id)
    sandbox.exceline.settle(broken.member_id)
    sandbox.exceline.settle(fine.member_id)

    by_webhook = await settle(broken.member_id, "demo", "membership-webhook")
    counts = await (await flows.start("reconcile-settlements", {"controller": "demo"})).result()

    async with get_client() as client:
        escalated = await client.read_flow_run(stuck.flow_run.id)
    assert [] == by_webhook
    assert counts["resumed"] >= 1 and counts["escalated"] >= 1
    assert escalated.state is not None and "FAILED" == escalated.state.type.value
    assert "Prefect refused to resume the run" in (escalated.state.message or "")
    assert "escalated" in escalated.tags
    assert "COMPLETED" == (await flows.again(waiting)).state_name
