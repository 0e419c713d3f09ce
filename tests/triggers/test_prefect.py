"""The receiver against the session's Prefect test server: one run per request, resumed on settlement."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prefect import get_client
from prefect.input.actions import aread_flow_run_input
from prefect.settings import PREFECT_API_URL
from prefect.states import Completed

from queries.runs import member_runs
from sandbox.webhooks import WebhookSender
from tests.flows.conftest import execute
from tests.triggers.conftest import PATH, SECRET, event, signed, subject_of
from tests.triggers.test_one_request import close_earlier_runs
from triggers.app import create_app
from triggers.dispatch import PrefectDispatcher

pytestmark = pytest.mark.slow


@pytest.fixture(params=[1, 20], ids=["queued", "racing"])
async def app(request, deployments, settings):
    """The receiver with the real Prefect dispatcher and the real clock; its calls to Prefect one at a time
    (the default) or 20 at once, so that concurrent deliveries race each other into Prefect."""
    dispatcher = PrefectDispatcher(PREFECT_API_URL.value(), timeout_s=60, at_once=request.param,
                                   subject_key=settings.subject_key)
    yield create_app(settings, dispatcher, time.time)
    await dispatcher.aclose()


@pytest.fixture
async def receiver(app) -> AsyncIterator[httpx.AsyncClient]:
    """A client to that receiver, in this process."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver",
                                 timeout=120) as client:
        yield client


def fresh(body: bytes, webhook_id: str) -> dict[str, str]:
    """Headers signed now, as a sender signs each attempt."""
    return signed(body, webhook_id=webhook_id, timestamp=int(time.time()))


async def delivered(receiver: httpx.AsyncClient, body: bytes, webhook_id: str, attempts: int = 4) -> httpx.Response:
    """Deliver as the membership system does: a 503 (Prefect too busy to answer in time) is delivered again
    after its Retry-After, each attempt signed anew."""
    for _ in range(attempts - 1):
        answer = await receiver.post(PATH, content=body, headers=fresh(body, webhook_id))
        if answer.status_code != 503:
            return answer
        await asyncio.sleep(min(5.0, float(answer.headers.get("Retry-After", "1"))))
    return await receiver.post(PATH, content=body, headers=fresh(body, webhook_id))


def new_member() -> str:
    """A member id no other test uses, so runs from earlier tests do not count."""
    return f"W{uuid.uuid4().hex[:10]}"


async def test_twenty_concurrent_identical_deliveries_start_one_run(receiver):
    """The same webhook delivered 20 times at once starts exactly one erase-member run; all get its id."""
    member = new_member()
    body = event("member.terminated", member, at=time.time())

    answers = await asyncio.gather(*(delivered(receiver, body, f"msg_{member}") for _ in range(20)))

    runs = await member_runs("demo", member)
    assert [202] * 20 == [answer.status_code for answer in answers]
    assert {str(runs[0].id)} == {answer.json()["flow_run_id"] for answer in answers}
    assert 1 == len(runs)
    assert (f"demo-{subject_of('demo', member)}-1", "termination") == (
        runs[0].idempotency_key, runs[0].parameters["kind"])
    assert f"webhook:msg_{member}" in runs[0].tags


async def test_different_webhooks_for_one_pending_member_start_one_run(receiver):
    """member.terminated and erasure.requested for the same member, ten each with their own ids, all at
    once: one run, which every delivery is told about."""
    member = new_member()
    now = int(time.time())
    deliveries = []
    for n in range(20):
        body = event("member.terminated" if n % 2 else "erasure.requested", member, at=now)
        deliveries.append((body, f"msg_{member}_{n}"))

    answers = await asyncio.gather(*(delivered(receiver, body, webhook_id) for body, webhook_id in deliveries))

    runs = await member_runs("demo", member)
    assert 1 == len(runs)
    assert {str(runs[0].id)} == {answer.json()["flow_run_id"] for answer in answers}


async def test_finished_request_answers_its_redelivery_and_a_new_termination_starts_the_next(receiver):
    """Once a request has completed, a redelivery of its webhook gets that run ('done'); a termination that
    happens later starts request 2."""
    member = new_member()
    body = event("member.terminated", member, at=time.time())
    first = (await receiver.post(PATH, content=body, headers=fresh(body, f"msg_{member}"))).json()
    async with get_client() as client:
        await client.set_flow_run_state(uuid.UUID(first["flow_run_id"]), Completed(), force=True)

    again = await receiver.post(PATH, content=body, headers=fresh(body, f"msg_{member}"))
    later = event("member.terminated", member, at=time.time() + 1)
    second = await receiver.post(PATH, content=later, headers=fresh(later, f"msg_{member}_later"))

    assert ("started", "done", first["flow_run_id"]) == (
        first["status"], again.json()["status"], again.json()["flow_run_id"])
    assert ("started", f"demo-{subject_of('demo', member)}-2") == (second.json()["status"],
                                                                  second.json()["request_id"])
    assert 2 == len(await member_runs("demo", member))


async def test_sandbox_webhooks_start_suspend_and_resume_an_erasure(app, sandbox):
    """The sandbox's membership system terminates M1002 (open invoice) and sends member.terminated; the run
    suspends; paying the invoice sends invoice.settled, which resumes the run with a Settlement as run input,
    and the run completes."""
    sandbox.webhooks = WebhookSender(f"http://receiver{PATH}", SECRET, "demo",
                                     transport=httpx.ASGITransport(app=app))
    # Every run for M1002 carries its member tag, also other tests' runs started by hand: close those.
    await close_earlier_runs("M1002")
    terminated = sandbox.terminate("M1002")
    await sandbox.webhooks.drain()
    async with get_client() as client:
        flow_run = await client.read_flow_run(uuid.UUID(terminated.answer["flow_run_id"]))
    suspended = await execute(flow_run)
    invoice = next(i.invoice_id for i in sandbox.exceline.members["M1002"].invoices if i.open_amount_ore)

    sandbox.settle("M1002")
    await sandbox.webhooks.drain()
    async with get_client() as client:
        resumed_run = await client.read_flow_run(flow_run.id)
    finished = await execute(resumed_run)

    settled = [d for d in sandbox.webhooks.deliveries if d.type == "invoice.settled"]
    assert "SUSPENDED" == suspended.state_name
    assert ([202], [202]) == (terminated.statuses, settled[0].statuses)
    assert [str(flow_run.id)] == settled[0].answer["resumed"]
    keyset = suspended.state.state_details.run_input_keyset
    assert keyset is not None
    assert {"confirmed_by": "membership-webhook", "invoice_id": invoice} == await aread_flow_run_input(
        keyset["response"], flow_run.id)
    assert "COMPLETED" == finished.state_name
    assert "exceline" == sandbox.destructive_calls_for("M1002")[-1]


async def test_deliveries_acknowledged_queued_become_runs_found_by_their_webhook(deployments, settings, tmp_path):
    """Through the outbox with the real Prefect dispatcher: each delivery answered `queued` becomes the
    member's run, tagged with its webhook id; a webhook that started nothing is reported, not waited on."""
    from triggers.dispatch import run_of_webhook
    from triggers.outbox import Outbox, QueuedDispatcher

    prefect = PrefectDispatcher(PREFECT_API_URL.value(), timeout_s=60, subject_key=settings.subject_key)
    queued = QueuedDispatcher(prefect, Outbox(tmp_path / "outbox.sqlite3"), answer_within_s=0)
    members = {f"msg_queued_{uuid.uuid4().hex[:8]}": f"M9{n}{uuid.uuid4().int % 1000:03d}" for n in range(2)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, queued, time.time)),
                                 base_url="http://receiver") as client:
        bodies = {webhook_id: event(member_id=member, at=time.time()) for webhook_id, member in members.items()}
        answers = [(await client.post(PATH, content=body, headers=fresh(body, webhook_id))).json()
                   for webhook_id, body in bodies.items()]
        runs = {webhook_id: await run_of_webhook(webhook_id, 60) for webhook_id in members}
    with pytest.raises(TimeoutError, match="msg_never"):
        await run_of_webhook("msg_never", 0)
    await queued.aclose()

    assert ["queued", "queued"] == [answer["status"] for answer in answers]
    assert members == {webhook_id: run.parameters["member_id"] for webhook_id, run in runs.items()}
