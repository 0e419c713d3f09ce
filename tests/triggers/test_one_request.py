"""One request per member, whoever started it, named by subject reference; against the session's Prefect server."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL
from prefect.states import Cancelled, Completed, Suspended

from connectors.http import use_transports
from queries.runs import member_runs, start_erasure, suspended_runs
from sandbox.world import Sandbox
from tests.flows.conftest import execute
from tests.triggers.conftest import PATH, event, signed, subject_of
from triggers.app import create_app
from triggers.dispatch import PrefectDispatcher

pytestmark = pytest.mark.slow


@pytest.fixture
async def receiver(deployments, settings) -> AsyncIterator[httpx.AsyncClient]:
    """The receiver with the real Prefect dispatcher and the real clock, in this process."""
    dispatcher = PrefectDispatcher(PREFECT_API_URL.value(), timeout_s=60, subject_key=settings.subject_key)
    app = create_app(settings, dispatcher, time.time)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver",
                                 timeout=120) as client:
        yield client
    await dispatcher.aclose()


async def deliver(receiver: httpx.AsyncClient, member_id: str, at: float | None = None) -> dict[str, str]:
    """Post a member.terminated for the member, signed now, and return the answer."""
    body = event("member.terminated", member_id, at=at or time.time())
    answer = await receiver.post(PATH, content=body, headers=signed(body, timestamp=int(time.time())))
    assert 202 == answer.status_code
    return dict(answer.json())


async def close_earlier_runs(member_id: str) -> set[uuid.UUID]:
    """Cancel what other tests left open for a sandbox member (every sandbox reuses the ids); their ids."""
    runs = await member_runs("demo", member_id)
    async with get_client() as client:
        for run in runs:
            if run.state is None or run.state.type not in (StateType.COMPLETED, StateType.CANCELLED):
                await client.set_flow_run_state(run.id, Cancelled(message="an earlier test's run"), force=True)
    return {run.id for run in runs}


async def test_a_webhook_joins_a_run_started_by_hand(deployments, receiver):
    """A run started by hand (no tags, its own request id) that suspends for an open invoice is the member's
    pending request: a member.terminated for the member joins it instead of starting a second erasure."""
    world = Sandbox()
    member = world.add_member(open_invoice=True).member_id
    earlier = await close_earlier_runs(member)
    async with get_client() as client:
        by_hand = await client.create_flow_run_from_deployment(
            deployments["erase-member"], idempotency_key=f"by-hand-{uuid.uuid4().hex}",
            parameters={"controller": "demo", "member_id": member, "kind": "termination",
                        "request_id": f"by-hand-{uuid.uuid4().hex[:8]}"})
    with use_transports(world.transports()):
        suspended = await execute(by_hand)
    try:
        answer = await deliver(receiver, member)
        runs = {run.id for run in await member_runs("demo", member)} - earlier
    finally:
        async with get_client() as client:
            await client.set_flow_run_state(by_hand.id, Cancelled(), force=True)

    assert "SUSPENDED" == suspended.state_name
    assert ("pending", str(by_hand.id)) == (answer["status"], answer["flow_run_id"])
    assert {by_hand.id} == runs


async def test_the_next_request_after_a_deleted_run_is_started_not_joined(receiver):
    """Requests 1 and 2 finished and request 1's run deleted: a later termination starts request 3 (not a
    second look at request 2's key, which Prefect would hand back finished)."""
    member = f"W{uuid.uuid4().hex[:10]}"
    subject = subject_of("demo", member)
    async with get_client() as client:
        first = await deliver(receiver, member)
        await client.set_flow_run_state(uuid.UUID(first["flow_run_id"]), Completed(), force=True)
        second = await deliver(receiver, member, at=time.time() + 1)
        await client.set_flow_run_state(uuid.UUID(second["flow_run_id"]), Completed(), force=True)
        await client.delete_flow_run(uuid.UUID(first["flow_run_id"]))

        third = await deliver(receiver, member, at=time.time() + 1)

    assert [f"demo-{subject}-1", f"demo-{subject}-2"] == [first["request_id"], second["request_id"]]
    assert ("started", f"demo-{subject}-3") == (third["status"], third["request_id"])
    assert third["flow_run_id"] != second["flow_run_id"]


async def test_a_finished_run_handed_back_for_the_key_is_done(deployments, receiver):
    """When Prefect hands back, for the next request's key, a run that has already finished (here one
    made under that key without the member's tag), the answer says done, not pending."""
    member = f"W{uuid.uuid4().hex[:10]}"
    request_id = f"demo-{subject_of('demo', member)}-1"
    async with get_client() as client:
        made = await client.create_flow_run_from_deployment(
            deployments["erase-member"], idempotency_key=request_id,
            parameters={"controller": "demo", "member_id": member, "kind": "termination", "request_id": request_id})
        await client.set_flow_run_state(made.id, Completed(), force=True)

    answer = await deliver(receiver, member)

    assert ("done", str(made.id), request_id) == (answer["status"], answer["flow_run_id"], answer["request_id"])


async def test_member_and_suspended_runs_read_every_page(deployments):
    """member_runs and suspended_runs read page after page: with pages of 2, all 5 runs and all 3
    suspended ones of a member are found."""
    member = f"W{uuid.uuid4().hex[:10]}"
    runs = [await start_erasure("demo", member, "termination", f"pager-{member}-{n}") for n in range(5)]
    async with get_client() as client:
        for run in runs[:3]:
            await client.set_flow_run_state(run.id, Suspended(pause_key="settlement-1"), force=True)
    try:
        found = await member_runs("demo", member, page=2)
        waiting = await suspended_runs(member, "demo", page=2)
    finally:
        async with get_client() as client:
            for run in runs:
                await client.set_flow_run_state(run.id, Cancelled(), force=True)

    assert {run.id for run in runs} == {run.id for run in found}
    assert {run.id for run in runs[:3]} == {run.id for run in waiting}


async def test_a_webhook_request_names_no_member_id_in_its_evidence(receiver):
    """A request that came in by webhook and was erased end to end carries the subject reference in its id:
    no artifact of its run (request, table, letter, sealed record) names the member id, in key or text."""
    world = Sandbox()
    member = world.add_member().member_id
    await close_earlier_runs(member)
    answer = await deliver(receiver, member)
    async with get_client() as client:
        flow_run = await client.read_flow_run(uuid.UUID(answer["flow_run_id"]))
    with use_transports(world.transports()):
        finished = await execute(flow_run)
    async with get_client() as client:
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run.id])))
    evidence = await finished.result()

    assert "COMPLETED" == finished.state_name
    assert answer["request_id"].startswith(f"demo-{subject_of('demo', member)}-")
    assert {"request", "erasure", "letter", "evidence"} <= {a.key.split("-")[0] for a in artifacts if a.key}
    texts = [f"{a.key} {a.description} {a.data}" for a in artifacts]
    assert [] == [text[:80] for text in texts if member.lower() in text.lower()]
    assert member not in evidence.request.request_id
