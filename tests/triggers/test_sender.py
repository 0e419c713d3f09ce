"""The sandbox's membership system as a webhook sender: signed, re-signed per attempt, retried on non-2xx."""

from __future__ import annotations

import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox.server import sandbox_app
from sandbox.webhooks import WebhookSender
from sandbox.world import Sandbox
from tests.triggers.conftest import NOW, PATH, SECRET, Clock, key
from triggers.app import create_app
from triggers.signature import verify

URL = f"http://receiver{PATH}"


class Scripted:
    """An endpoint answering the scripted statuses in turn (then 202), recording what it received."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], bytes]] = []

    def app(self) -> Starlette:
        """The endpoint as an ASGI app."""

        async def receive(request: Request) -> JSONResponse:
            self.received.append((dict(request.headers), await request.body()))
            status = self.statuses.pop(0) if self.statuses else 202
            return JSONResponse({"status": "started" if status == 202 else "no"}, status)

        return Starlette(routes=[Route(PATH, receive, methods=["POST"])])


class Waits:
    """The sender's sleep, recorded instead of slept; each wait also moves the clock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        """Record the wait."""
        self.seconds.append(seconds)
        self.clock.now += seconds


def sender(app, clock: Clock, waits: Waits | None = None, **options) -> WebhookSender:
    """A sender posting into `app` in this process."""
    return WebhookSender(URL, SECRET, "demo", transport=httpx.ASGITransport(app=app), clock=clock,
                         sleep=waits or Waits(clock), **options)


async def test_termination_reaches_the_receiver_signed(settings, dispatcher, clock):
    """Terminating a member in the sandbox sends member.terminated, which the receiver verifies and
    dispatches; the delivery records the receiver's answer."""
    world = Sandbox()
    world.webhooks = sender(create_app(settings, dispatcher, clock), clock)

    delivery = world.terminate("M1001")
    await world.webhooks.drain()
    assert delivery is not None and delivery.answer is not None

    assert ([202], "started") == (delivery.statuses, delivery.answer["status"])
    assert [(delivery.webhook_id, "member.terminated", "demo", "M1001")] == [
        (webhook_id, e.type, e.data.controller, e.data.member_id) for webhook_id, e in dispatcher.erasures]


async def test_paying_sends_invoice_settled_for_each_open_invoice(settings, dispatcher, clock):
    """Paying a member's open invoice sends invoice.settled with that invoice's id."""
    world = Sandbox()
    world.webhooks = sender(create_app(settings, dispatcher, clock), clock)
    unpaid = [i.invoice_id for i in world.exceline.members["M1002"].invoices if i.open_amount_ore]

    world.settle("M1002")
    await world.webhooks.drain()

    assert 1 == len(unpaid)
    assert [("M1002", unpaid[0])] == [(e.data.member_id, e.data.invoice_id) for _, e in dispatcher.settlements]


async def test_without_a_sender_the_sandbox_sends_nothing():
    """A sandbox with no webhook target still terminates and settles, and sends nothing."""
    world = Sandbox()

    assert (None, 1) == (world.terminate("M1002"), world.settle("M1002"))


async def test_non_2xx_is_retried_with_growing_waits_same_id_new_signature(clock):
    """503, 500 and 429 are retried after 0.5, 1 and 2 s; every attempt carries the same id and body, signed
    anew with that attempt's timestamp, and each signature verifies."""
    endpoint = Scripted(503, 500, 429)
    waits = Waits(clock)
    outbox = sender(endpoint.app(), clock, waits)

    delivery = outbox.emit("member.terminated", "M1001")
    await outbox.drain()

    ids = {headers["webhook-id"] for headers, _ in endpoint.received}
    stamps = [int(headers["webhook-timestamp"]) for headers, _ in endpoint.received]
    assert ([503, 500, 429, 202], True) == (delivery.statuses, delivery.delivered)
    assert [0.5, 1.0, 2.0] == waits.seconds
    assert ({delivery.webhook_id}, 1) == (ids, len({body for _, body in endpoint.received}))
    assert [NOW, NOW, NOW + 1, NOW + 3] == stamps
    for headers, body in endpoint.received:
        verify([key(SECRET)], headers, body, stamps[-1], 300)


async def test_the_sender_gives_up_after_its_attempts(clock):
    """An endpoint that never answers 2xx gets max_attempts tries, the waits capped, and then no more."""
    endpoint = Scripted(*[500] * 10)
    waits = Waits(clock)
    outbox = sender(endpoint.app(), clock, waits, max_attempts=6, max_backoff_s=3)

    delivery = outbox.emit("member.terminated", "M1001")
    await outbox.drain()

    assert ([500] * 6, False) == (delivery.statuses, delivery.delivered)
    assert [0.5, 1.0, 2.0, 3, 3] == waits.seconds


async def test_connection_errors_are_retried(clock):
    """When the receiver cannot be reached the attempt has no status and is retried."""
    calls = []

    def refuse_twice(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= 2:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(202, json={"status": "started"})

    outbox = WebhookSender(URL, SECRET, transport=httpx.MockTransport(refuse_twice), clock=clock,
                           sleep=Waits(clock))

    delivery = outbox.emit("member.terminated", "M1001")
    await outbox.drain()

    assert [None, None, 202] == delivery.statuses


async def test_control_api_terminates_and_lists_deliveries(settings, dispatcher, clock):
    """POST /_sandbox/members/{id}/terminate answers 202 with the webhook id; GET /_sandbox/webhooks shows
    its delivery with the receiver's answer, and ids only."""
    world = Sandbox()
    world.webhooks = sender(create_app(settings, dispatcher, clock), clock)
    transport = httpx.ASGITransport(app=sandbox_app(world))

    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as control:
        sent = await control.post("/_sandbox/members/M1003/terminate", json={"controller": "demo"})
        await world.webhooks.drain()
        listed = (await control.get("/_sandbox/webhooks")).json()["deliveries"]
        missing = await control.post("/_sandbox/members/M9999/terminate")

    assert 202 == sent.status_code
    assert [(sent.json()["webhookId"], "M1003", True, "started")] == [
        (d["webhookId"], d["memberId"], d["delivered"], d["answer"]["status"]) for d in listed]
    assert not any(value in json.dumps(listed) for value in world.member("M1003").personal_values())
    assert 404 == missing.status_code


async def test_a_member_asking_to_be_forgotten_sends_erasure_requested_for_their_chain(settings, dispatcher, clock):
    """A K24 member asking to be forgotten makes the membership system send erasure.requested naming K24."""
    world = Sandbox()
    world.webhooks = sender(create_app(settings, dispatcher, clock), clock)

    world.forget("M1101")
    await world.webhooks.drain()

    assert [("erasure.requested", "k24", "M1101")] == [
        (e.type, e.data.controller, e.data.member_id) for _, e in dispatcher.erasures]


async def test_paying_at_eziteq_sends_invoice_settled_for_the_members_chain(settings, dispatcher, clock):
    """Paying a K24 member's open invoice in Eziteq sends invoice.settled naming K24 and the invoice."""
    world = Sandbox()
    world.webhooks = sender(create_app(settings, dispatcher, clock), clock)
    unpaid = [str(i.invoice_no) for i in world.eziteq.members["M1102"].invoices if i.balance_ore]

    world.settle("M1102")
    await world.webhooks.drain()

    assert [("k24", "M1102", unpaid[0])] == [
        (e.data.controller, e.data.member_id, e.data.invoice_id) for _, e in dispatcher.settlements]


async def test_a_member_withdrawing_marketing_sends_marketing_withdrawn_for_their_chain(settings, dispatcher, clock):
    """POST /_sandbox/members/{id}/withdraw-marketing makes the membership system send marketing.withdrawn naming
    the member's chain, which the receiver hands to the withdrawal (not the erasure)."""
    world = Sandbox()
    world.webhooks = sender(create_app(settings, dispatcher, clock), clock)
    transport = httpx.ASGITransport(app=sandbox_app(world))

    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as control:
        sent = await control.post("/_sandbox/members/M1103/withdraw-marketing")
        await world.webhooks.drain()
        listed = (await control.get("/_sandbox/webhooks")).json()["deliveries"]

    assert 202 == sent.status_code
    assert [("marketing.withdrawn", "k24", "M1103")] == [
        (e.type, e.data.controller, e.data.member_id) for _, e in dispatcher.withdrawals]
    assert [(sent.json()["webhookId"], True, "started")] == [
        (d["webhookId"], d["delivered"], d["answer"]["status"]) for d in listed]
    assert [] == dispatcher.erasures
