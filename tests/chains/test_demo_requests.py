"""The demo's requests: one per chain and a withdrawal of marketing consent, each member seeded, each story running
to completion."""

from __future__ import annotations

import pytest

from cli.demo import suppression
from config.settings import load_settings
from sandbox.demo_requests import DEMO_REQUESTS
from sandbox.people import CHAIN_SEEDED
from tests.flow_driver import pause_key


def test_every_chain_has_a_demo_request_for_a_seeded_member():
    """Aktiv365, K24, Spenst, MOVA and Vekstly each have a request, and its member is in the sandbox's seed."""
    assert {"aktiv365", "k24", "spenst", "mova", "vekstly"} == {r.controller for r in DEMO_REQUESTS}
    assert [] == [r for r in DEMO_REQUESTS if r.member_id not in CHAIN_SEEDED.get(r.controller, {})]


def test_the_demo_shows_one_withdrawal_of_marketing_consent():
    """Besides the erasures, the demo sends one marketing.withdrawn, for a member no other demo request erases."""
    withdrawals = [r for r in DEMO_REQUESTS if r.kind == "withdrawal"]

    assert 1 == len(withdrawals)
    assert [] == [r for r in DEMO_REQUESTS if r.kind != "withdrawal" and r.member_id == withdrawals[0].member_id]


async def test_the_demo_withdrawal_prints_its_suppression_entry_and_what_it_left_untouched(sandbox, flows):
    """The demo's withdrawal completes; what the demo prints of it names the keyed references entered (never the
    address or number) and every system left untouched."""
    [asked] = [r for r in DEMO_REQUESTS if r.kind == "withdrawal"]

    run = await flows.withdraw(asked.controller, asked.member_id)
    printed = await suppression(load_settings().ledger_url, run.flow_run.parameters["request_id"])

    assert "COMPLETED" == run.state_name
    assert ["email cr-", "phone cr-"] == [part.strip()[:9] for part in printed.split(": ", 1)[1].split("\n")[0]
                                          .split(",")]
    assert "not touched: physica, nets, manual-inkassoselskapet, eziteq" in printed
    assert [] == [value for value in sandbox.member(asked.member_id).personal_values() if value in printed]


@pytest.mark.parametrize("request_", [r for r in DEMO_REQUESTS if r.kind != "withdrawal"],
                         ids=lambda r: f"{r.controller}-{r.member_id}")
async def test_each_demo_request_completes_as_its_story_says(sandbox, flows, request_):
    """Run as the demo will: pay the open invoice when asked, confirm the manual steps when asked."""
    run = await flows.erase(request_.controller, request_.member_id, kind=request_.kind)
    if request_.settles:
        assert ("SUSPENDED", "settlement-1") == (run.state_name, pause_key(run))
        sandbox.settle(request_.member_id)
        run = await flows.resume(run, {"confirmed_by": "slett demo"})
    if request_.confirms:
        run, steps = await flows.confirm_all(run)
        assert steps

    assert "COMPLETED" == run.state_name
