"""What the sandbox records for the chaos suite: faults by kind, Retry-After honoured or not, harm done twice."""

from __future__ import annotations

from collections import Counter

import httpx
from starlette.requests import Request
from starlette.responses import Response

from sandbox.faults import Faults
from sandbox.journal import Call, Journal
from sandbox.world import Sandbox

CUSTOMER = "/customers/71001"  # M1001 at Ibooking


async def ask(world: Sandbox, times: int) -> list[int | str]:
    """GET M1001's Ibooking customer `times` times on one client (one connection, as a retrying client)."""
    answers: list[int | str] = []
    async with httpx.AsyncClient(transport=world.transports()["ibooking"], base_url="http://ibooking.sandbox",
                                 headers={"Authorization": "Bearer test"}) as client:
        for _ in range(times):
            try:
                answers.append((await client.get(CUSTOMER)).status_code)
            except OSError:
                answers.append("dropped")
    return answers


async def test_each_injected_fault_is_counted_by_kind():
    """Every request the switches fail is counted under its fault; healthy ones are not counted."""
    world = Sandbox()
    world.faults["ibooking"].script("500", "429", "drop", "lost", "ok", "503")

    answers = await ask(world, 6)

    assert [500, 429, "dropped", "dropped", 200, 503] == answers
    assert Counter({"500": 1, "429": 1, "drop": 1, "lost": 1, "503": 1}) == world.faults["ibooking"].injected


async def test_a_client_that_comes_back_before_retry_after_is_a_violation():
    """A refusal with Retry-After: 5 followed at once by the same request from the same client is recorded
    as a violation, with how long the client waited."""
    world = Sandbox()
    world.faults["ibooking"].configure(retry_after=5).script("429")

    await ask(world, 2)

    [throttle] = world.faults["ibooking"].throttles
    assert (429, 5, True) == (throttle.status, throttle.retry_after, throttle.violated)
    assert throttle.waited is not None and throttle.waited < 5
    assert [throttle] == world.faults["ibooking"].retry_after_violations()


async def test_a_client_that_waits_out_retry_after_is_no_violation():
    """With Retry-After: 0 any later try has waited long enough; a refusal never retried is not judged."""
    world = Sandbox()
    world.faults["ibooking"].configure(retry_after=0).script("503", "ok", "503")

    await ask(world, 2)
    await ask(world, 1)

    first, unanswered = world.faults["ibooking"].throttles[0], world.faults["ibooking"].throttles[-1]
    assert [] == world.faults["ibooking"].retry_after_violations()
    assert (False, False, None) == (first.violated, unanswered.violated, unanswered.waited)


def test_lost_rate_applies_the_call_then_drops_the_answer():
    """`lost_rate` rolls "lost" like the other rates, and resets with the rest."""
    faults = Faults(seed=3).configure(lost_rate=1.0)

    assert "lost" == faults.next_fault()
    faults.reset()
    assert "ok" == faults.next_fault()


def test_a_destructive_call_that_changes_the_same_record_twice_is_reported_and_heard():
    """Two applied calls on one record (no idempotency key to replay the first) are harm done twice; each
    recorded call is handed to the journal's listeners as it happens."""
    journal, heard = Journal(), list[Call]()
    journal.listeners.append(heard.append)
    request = Request({"type": "http", "method": "DELETE", "path": CUSTOMER, "headers": []})

    for _ in range(2):
        journal.once("ibooking", request, "M1001", "delete", lambda: (Response(status_code=204), True))

    assert {("M1001", "ibooking", "delete", f"DELETE {CUSTOMER}"): 2} == journal.applied_twice()
    assert [Call("ibooking", "M1001", "delete", None, True, f"DELETE {CUSTOMER}")] * 2 == heard
