"""The sandbox over HTTP: systems mounted by name, control endpoints free of faults, a real server."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import httpx
import pytest

from config.settings import load_settings
from connectors.contract import Retryable, Subject
from connectors.http import RetryPolicy
from connectors.registry import connect
from sandbox.people import SYSTEMS
from sandbox.server import base_urls, running_sandbox, sandbox_app


@pytest.fixture
def server(sandbox):
    """An httpx client to the whole sandbox app, in-process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app(sandbox)), base_url="http://sandbox",
                             headers={"Authorization": "Bearer test"})


def test_base_urls_name_every_system():
    """base_urls gives each system's URL on the port."""
    assert {s: f"http://127.0.0.1:8123/{s}" for s in SYSTEMS} == base_urls(8123)


async def test_systems_are_mounted_by_name(server):
    """Each system answers under /{system}."""
    async with server:
        answer = await server.get("/exceline/api/v1/members/M1001")

    assert "M1001" == answer.json()["memberId"]


async def test_settle_endpoint(sandbox, server):
    """POST /_sandbox/members/{id}/settle pays the open invoices; an unknown member is 404."""
    async with server:
        paid = await server.post("/_sandbox/members/M1002/settle")
        unknown = await server.post("/_sandbox/members/M9999/settle")

    assert ({"memberId": "M1002", "paid": 1}, 404) == (paid.json(), unknown.status_code)
    assert not sandbox.exceline.members["M1002"].owes()


async def test_faults_endpoint_sets_switches(sandbox, server):
    """POST /_sandbox/faults/{system} sets switches; a bad switch is 400, an unknown system 404."""
    async with server:
        set_ = await server.post("/_sandbox/faults/nets", json={"error_rate": 0.5, "script": ["drop"]})
        bad = await server.post("/_sandbox/faults/nets", json={"nonsense": 1})
        unknown = await server.post("/_sandbox/faults/visma", json={})

    assert (0.5, ["drop"]) == (set_.json()["error_rate"], set_.json()["script"])
    assert (400, 404) == (bad.status_code, unknown.status_code)
    assert 0.5 == sandbox.faults["nets"].error_rate


async def test_control_endpoints_are_never_faulted(sandbox, server):
    """With every system failing, the control endpoints still answer."""
    for faults in sandbox.faults.values():
        faults.configure(error_rate=1.0)

    async with server:
        failing = await server.get("/ibooking/customers/71001")
        calls = await server.get("/_sandbox/calls/M1001")

    assert (500, 200) == (failing.status_code, calls.status_code)


async def test_calls_endpoint_lists_the_journal(server):
    """GET /_sandbox/calls/{id} lists the member's destructive calls with applied flags."""
    async with server:
        await server.delete("/ibooking/customers/71001", headers={"Idempotency-Key": "k"})
        await server.delete("/ibooking/customers/71001", headers={"Idempotency-Key": "k"})
        calls = (await server.get("/_sandbox/calls/M1001")).json()["calls"]

    assert [True, False] == [call["applied"] for call in calls]
    expected = {"system": "ibooking", "member_id": "M1001", "action": "delete", "key": "k", "applied": True}
    assert expected == calls[0]


async def test_reset_and_add_member_endpoints(sandbox, server):
    """POST /_sandbox/members adds a member; POST /_sandbox/reset brings back only the seeded ones."""
    async with server:
        added = (await server.post("/_sandbox/members", json={"open_invoice": True})).json()["memberId"]
        bad = await server.post("/_sandbox/members", json={"absent_from": ["visma"]})
        reset = await server.post("/_sandbox/reset")

    assert 400 == bad.status_code
    assert ["M1001", "M1002", "M1003", "M1004"] == reset.json()["members"]
    assert added not in sandbox.exceline.members


@pytest.mark.slow
async def test_real_server_drops_and_hangs_are_retryable(sandbox):
    """Over real HTTP a dropped connection is retried and a hang times out as Retryable."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    policy = RetryPolicy(attempts=2, sleep=record)
    with running_sandbox(sandbox) as urls:
        settings = load_settings(subject_key="x" * 32, processors={
            s: {"base_url": url, "api_key": "test", "read_timeout": 0.3} for s, url in urls.items()})
        async with connect("ibooking", settings, policy) as (ibooking, _):
            sandbox.faults["ibooking"].script("drop")
            found = await ibooking.lookup(Subject("demo", "M1001"))
            sandbox.faults["ibooking"].hang = True
            with pytest.raises(Retryable, match="timed out"):
                await ibooking.lookup(Subject("demo", "M1001"))

    assert ("71001",) == found.ids
    assert 2 == len(waits)
