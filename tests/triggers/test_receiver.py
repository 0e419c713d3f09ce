"""POST /webhooks/membership: signed events start or resume erasures; everything else is refused cleanly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from prefect.settings import PREFECT_API_URL
from structlog.testing import capture_logs

from tests.triggers.conftest import (
    NOW,
    OLD_SECRET,
    OTHER_SECRET,
    PATH,
    SECRET,
    SIGNERS,
    event,
    key,
    reference,
    signed,
    subject_of,
)
from triggers.app import create_app
from triggers.dispatch import PrefectDispatcher
from triggers.signature import sign


@pytest.mark.parametrize("signer", SIGNERS)
async def test_signed_termination_starts_an_erasure(receiver, dispatcher, signer):
    """A member.terminated signed by either signer is accepted with 202, the run id, and one dispatch."""
    body = event("member.terminated", "M1001")

    answer = await receiver.post(PATH, content=body, headers=signed(body, webhook_id="msg_1", signer=SIGNERS[signer]))

    assert 202 == answer.status_code
    assert {"status": "started", "flow_run_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "M1001")),
            "request_id": f"demo-{subject_of('demo', 'M1001')}-1", "resumed": []} == answer.json()
    assert [("msg_1", "member.terminated", "demo", "M1001")] == [
        (webhook_id, e.type, e.data.controller, e.data.member_id) for webhook_id, e in dispatcher.erasures]


async def test_erasure_request_is_dispatched_as_erasure(receiver, dispatcher):
    """erasure.requested is dispatched with its own type, so the run's kind is erasure."""
    body = event("erasure.requested", "M1003")

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert 202 == answer.status_code
    assert [("erasure.requested", "M1003")] == [(e.type, e.data.member_id) for _, e in dispatcher.erasures]


async def test_invoice_settled_resumes(receiver, dispatcher):
    """invoice.settled goes to the dispatcher's settle with the invoice id; the answer lists resumed runs."""
    body = event("invoice.settled", "M1002", invoice_id="INV-1002-202601")

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert 202 == answer.status_code
    assert "resumed" == answer.json()["status"]
    assert [("M1002", "INV-1002-202601")] == [(e.data.member_id, e.data.invoice_id) for _, e in dispatcher.settlements]


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
async def test_missing_header_is_401(receiver, dispatcher, header):
    """Without any one of the three headers the delivery is refused with 401 and nothing is dispatched."""
    body = event()
    headers = signed(body)
    del headers[header]

    answer = await receiver.post(PATH, content=body, headers=headers)

    assert (401, f"missing header(s): {header}") == (answer.status_code, answer.json()["detail"])
    assert [] == dispatcher.erasures


@pytest.mark.parametrize(("header", "value"), [
    ("webhook-timestamp", "yesterday"), ("webhook-timestamp", "1.79e9"), ("webhook-timestamp", "-1790000000"),
    ("webhook-timestamp", "9" * 40), ("webhook-timestamp", " "),
    ("webhook-signature", "garbage"), ("webhook-signature", "v1"), ("webhook-signature", "v1,"),
    ("webhook-signature", "v1,not base64 at all!"), ("webhook-signature", "v2,c2lnbmF0dXJl"),
    ("webhook-signature", " ".join(["v1,c2lnbmF0dXJl"] * 9)), ("webhook-signature", "v1,,,,"),
    ("webhook-id", "has spaces in it"), ("webhook-id", "x" * 129), ("webhook-id", "msg/../../etc"),
    ("webhook-id", b"msg_\xff\xfe".decode("latin-1")),
])
async def test_malformed_header_is_401_not_500(receiver, dispatcher, header, value):
    """A malformed header is refused with 401, never a server error, and nothing is dispatched."""
    body = event()
    headers = signed(body)
    headers[header] = value

    answer = await receiver.post(PATH, content=body, headers={k: v.encode("latin-1") for k, v in headers.items()})

    assert 401 == answer.status_code
    assert [] == dispatcher.erasures


async def test_wrong_secret_is_401(receiver, dispatcher):
    """A signature made with a secret the receiver does not hold is refused."""
    body = event()

    answer = await receiver.post(PATH, content=body, headers=signed(body, secret=OTHER_SECRET))

    assert (401, "webhook-signature: no signature matches") == (answer.status_code, answer.json()["detail"])
    assert [] == dispatcher.erasures


async def test_tampered_body_is_401(receiver, dispatcher):
    """A body changed after signing (another member) no longer matches its signature."""
    headers = signed(event(member_id="M1001"))

    answer = await receiver.post(PATH, content=event(member_id="M1004"), headers=headers)

    assert 401 == answer.status_code
    assert [] == dispatcher.erasures


async def test_signature_of_another_message_id_is_401(receiver):
    """The id is part of what is signed: a valid signature moved to another webhook-id is refused."""
    body = event()
    headers = signed(body, webhook_id="msg_original")
    headers["webhook-id"] = "msg_replayed"

    answer = await receiver.post(PATH, content=body, headers=headers)

    assert 401 == answer.status_code


async def test_one_right_signature_among_several_is_enough(receiver, dispatcher):
    """A header listing a wrong signature, another version and the right one is accepted."""
    body = event()
    headers = signed(body, webhook_id="msg_several")
    wrong = sign(key(OTHER_SECRET), "msg_several", NOW, body)
    headers["webhook-signature"] = f"{wrong} v1a,c2lnbmF0dXJl v1,%%% {headers['webhook-signature']}"

    answer = await receiver.post(PATH, content=body, headers=headers)

    assert 202 == answer.status_code
    assert ["msg_several"] == [webhook_id for webhook_id, _ in dispatcher.erasures]


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
async def test_both_secrets_are_accepted_while_rotating(receiver, secret):
    """During a rotation a message signed with the new or the old secret is accepted."""
    body = event()

    answer = await receiver.post(PATH, content=body, headers=signed(body, secret=secret))

    assert 202 == answer.status_code


async def test_sender_signing_with_both_secrets_is_accepted_by_a_receiver_with_either(settings, dispatcher, clock):
    """A sender that signs with both secrets (two v1 entries) is accepted by a receiver holding only one."""
    import httpx

    body = event()
    headers = signed(body, webhook_id="msg_both")
    headers["webhook-signature"] = " ".join(reference(s, "msg_both", NOW, body) for s in (OLD_SECRET, SECRET))
    rotated = settings.model_copy(update={"webhook_secrets": settings.webhook_secrets[1:]})
    app = create_app(rotated, dispatcher, clock)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
        answer = await client.post(PATH, content=body, headers=headers)

    assert 202 == answer.status_code


@pytest.mark.parametrize(("signed_at", "status"), [
    (NOW - 300, 202), (NOW + 300, 202), (NOW - 301, 401), (NOW + 301, 401), (NOW - 86_400, 401),
])
async def test_timestamps_more_than_five_minutes_off_are_401(receiver, dispatcher, signed_at, status):
    """A correctly signed message is accepted up to 300 s either side of the receiver's clock, not beyond."""
    body = event()

    answer = await receiver.post(PATH, content=body, headers=signed(body, timestamp=signed_at))

    assert status == answer.status_code
    assert (status == 202) == bool(dispatcher.erasures)


async def test_a_captured_message_replayed_later_is_401(receiver, clock):
    """The same signed message, delivered again ten minutes later, is refused as stale."""
    body = event()
    headers = signed(body)
    first = await receiver.post(PATH, content=body, headers=headers)
    clock.now += 600

    replayed = await receiver.post(PATH, content=body, headers=headers)

    assert (202, 401) == (first.status_code, replayed.status_code)


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe\x00", b"[1, 2"])
async def test_signed_body_that_is_not_json_is_400(receiver, dispatcher, body):
    """A correctly signed body that is not JSON is refused with 400."""
    answer = await receiver.post(PATH, content=body, headers=signed(body, signer=SIGNERS["ours"]))

    assert (400, "the body is not JSON") == (answer.status_code, answer.json()["detail"])
    assert [] == dispatcher.erasures


@pytest.mark.parametrize(("body", "field"), [
    (b'{"type": "member.terminated", "timestamp": "2026-09-21T12:00:00Z"}', "data"),
    (b'{"type": "member.terminated", "data": {"controller": "demo", "member_id": "M1"}}', "timestamp"),
    (b'{"timestamp": "2026-09-21T12:00:00Z", "data": {}}', "type"),
    (b'{"type": "member.terminated", "timestamp": "2026-09-21T12:00:00", '
     b'"data": {"controller": "demo", "member_id": "M1"}}', "timestamp"),
    (b'{"type": "member.terminated", "timestamp": "2026-09-21T12:00:00Z", "data": {"controller": "demo"}}',
     "data.member_id"),
    (b'{"type": "invoice.settled", "timestamp": "2026-09-21T12:00:00Z", '
     b'"data": {"controller": "demo", "member_id": "M1"}}', "data.invoice_id"),
    (b'{"type": "member.terminated", "timestamp": "2026-09-21T12:00:00Z", '
     b'"data": {"controller": "../etc", "member_id": "M1"}}', "data.controller"),
    (b"[]", ""),
])
async def test_signed_body_that_is_not_a_valid_event_is_422(receiver, dispatcher, body, field):
    """A correctly signed JSON body that is not a valid event is refused with 422 naming the field."""
    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert 422 == answer.status_code
    assert field in [".".join(error["loc"]) for error in answer.json()["errors"]]
    assert [] == dispatcher.erasures


async def test_invalid_value_is_not_echoed(receiver):
    """A 422 names the field but never repeats its value: a sender may put an e-mail where an id belongs."""
    body = event(member_id="kari.testesen@example.no")

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert 422 == answer.status_code
    assert "kari.testesen" not in answer.text


async def test_unknown_controller_is_422(receiver, dispatcher):
    """A chain with no policy in config/controllers is refused before anything starts."""
    body = event(controller="no-such-chain")

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert 422 == answer.status_code
    assert "unknown controller" in answer.json()["detail"]
    assert [] == dispatcher.erasures


async def test_unknown_type_is_acknowledged_and_ignored_with_a_log_line(receiver, dispatcher):
    """A signed event of a type slett does not act on gets 202 'ignored', one log line, and no dispatch."""
    body = event("member.birthday", data_is="ignored")

    with capture_logs() as logs:
        answer = await receiver.post(PATH, content=body, headers=signed(body, webhook_id="msg_bday"))

    assert (202, "ignored") == (answer.status_code, answer.json()["status"])
    assert [("webhook ignored", "msg_bday", "member.birthday")] == [
        (log["event"], log["webhook_id"], log["type"]) for log in logs if log["event"] == "webhook ignored"]
    assert ([], []) == (dispatcher.erasures, dispatcher.settlements)


async def test_body_over_the_limit_is_413(receiver, settings, dispatcher):
    """A body over the limit is refused with 413 before its signature is even checked."""
    body = event(padding="x" * settings.webhook_max_body_bytes)

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert 413 == answer.status_code
    assert [] == dispatcher.erasures


async def test_streamed_body_over_the_limit_is_413(receiver, settings):
    """A chunked body with no Content-Length is cut off as soon as it passes the limit."""
    chunk = b"x" * 4096
    chunks = settings.webhook_max_body_bytes // len(chunk) + 2

    async def stream() -> AsyncIterator[bytes]:
        for _ in range(chunks):
            yield chunk

    answer = await receiver.post(PATH, content=stream(), headers=signed(b"irrelevant"))

    assert 413 == answer.status_code


async def test_prefect_down_is_503_with_retry_after(receiver, dispatcher):
    """When Prefect cannot be reached the delivery gets 503 and Retry-After, so the sender delivers again."""
    dispatcher.unavailable = True
    body = event()

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert (503, "30") == (answer.status_code, answer.headers["retry-after"])


async def test_real_dispatcher_with_unreachable_prefect_is_503(settings, clock):
    """The Prefect dispatcher turns a refused connection to the Prefect API into 503, quickly."""
    import httpx

    from cli.stack import free_port

    closed = f"http://127.0.0.1:{free_port(0)}/api"
    app = create_app(settings, PrefectDispatcher(closed, timeout_s=5, subject_key=settings.subject_key), clock)
    body = event()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
        answer = await client.post(PATH, content=body, headers=signed(body))

    assert 503 == answer.status_code
    assert closed in answer.json()["detail"]
    assert closed != PREFECT_API_URL.value()


async def test_healthz(receiver):
    """GET /healthz answers 200 without a signature."""
    answer = await receiver.get("/healthz")

    assert (200, {"status": "ok"}) == (answer.status_code, answer.json())


async def test_accepted_delivery_is_logged_by_subject_reference(receiver):
    """The receiver's log line for an accepted delivery names the subject reference, never the member id."""
    body = event("member.terminated", "M1001")

    with capture_logs() as logs:
        await receiver.post(PATH, content=body, headers=signed(body, webhook_id="msg_logged"))

    [accepted] = [log for log in logs if log["event"] == "webhook accepted"]
    assert (subject_of("demo", "M1001"), "msg_logged") == (accepted["subject_ref"], accepted["webhook_id"])
    assert "M1001" not in repr(logs)


@pytest.mark.parametrize(("declared", "status"), [
    ("\N{SUPERSCRIPT TWO}", 202), ("1\N{SUPERSCRIPT THREE}", 202), ("99999999", 413)])
async def test_declared_length_counts_only_ascii_digits(receiver, declared, status):
    """A Content-Length of Unicode digits ('²') is no number: the body is read and checked as it comes, not a
    500; a Content-Length of ASCII digits over the limit is still refused at once."""
    body = event()
    headers = {**signed(body), "content-length": declared}

    answer = await receiver.post(PATH, content=body, headers={k: v.encode("latin-1") for k, v in headers.items()})

    assert status == answer.status_code


async def test_prefect_refusing_a_call_is_503_with_retry_after_and_a_log_line(settings, clock):
    """A 4xx from the Prefect API (here 422 to every call) becomes 503 with Retry-After, logged, not a 500."""
    import httpx

    refusing = httpx.MockTransport(lambda request: httpx.Response(422, json={"detail": "refused"}))
    dispatcher = PrefectDispatcher("http://prefect.invalid/api", timeout_s=5, subject_key=settings.subject_key,
                                   httpx_settings={"transport": refusing})
    app = create_app(settings, dispatcher, clock)
    body = event()

    with capture_logs() as logs:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
            answer = await client.post(PATH, content=body, headers=signed(body))
    await dispatcher.aclose()

    assert (503, "30", "the Prefect API answered 422; deliver again") == (
        answer.status_code, answer.headers.get("retry-after"), answer.json()["detail"])
    assert [422] == [log["status"] for log in logs if log["event"] == "prefect refused a webhook's call"]
