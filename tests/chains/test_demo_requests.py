"""The demo's requests: one per chain, each member seeded, each story running to completion."""

from __future__ import annotations

import pytest

from sandbox.demo_requests import DEMO_REQUESTS
from sandbox.people import CHAIN_SEEDED
from tests.flow_driver import pause_key


def test_every_chain_has_a_demo_request_for_a_seeded_member():
    """Aktiv365, K24, Spenst, MOVA and Vekstly each have a request, and its member is in the sandbox's seed."""
    assert {"aktiv365", "k24", "spenst", "mova", "vekstly"} == {r.controller for r in DEMO_REQUESTS}
    assert [] == [r for r in DEMO_REQUESTS if r.member_id not in CHAIN_SEEDED.get(r.controller, {})]


@pytest.mark.parametrize("request_", DEMO_REQUESTS, ids=lambda r: f"{r.controller}-{r.member_id}")
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
