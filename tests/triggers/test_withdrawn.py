"""marketing.withdrawn: a signed event starts withdraw-marketing; a bad, forged, stale or duplicate one is handled as
a member.terminated is."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path

import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_URL
from prefect.states import Completed

from config.deployments import WITHDRAW_MARKETING
from queries.runs import member_runs
from tests.triggers.conftest import NOW, OTHER_SECRET, PATH, RecordingDispatcher, event, signed, subject_of
from triggers.app import create_app
from triggers.dispatch import PrefectDispatcher
from triggers.events import WithdrawnEvent
from triggers.outbox import Outbox, QueuedDispatcher

WITHDRAWN = "marketing.withdrawn"


async def test_a_signed_marketing_withdrawn_starts_a_withdrawal_not_an_erasure(receiver, dispatcher):
    """A signed marketing.withdrawn is accepted with 202 and its own request id, and goes to withdraw_marketing."""
    body = event(WITHDRAWN, "M1001")

    answer = await receiver.post(PATH, content=body, headers=signed(body, webhook_id="msg_w1"))

    assert 202 == answer.status_code
    assert ("started", f"demo-{subject_of('demo', 'M1001')}-withdrawal-1") == (
        answer.json()["status"], answer.json()["request_id"])
    assert [("msg_w1", WITHDRAWN, "demo", "M1001")] == [
        (webhook_id, e.type, e.data.controller, e.data.member_id) for webhook_id, e in dispatcher.withdrawals]
    assert [] == dispatcher.erasures


async def test_a_forged_marketing_withdrawn_is_401_and_starts_nothing(receiver, dispatcher):
    """Signed with a secret slett does not have: refused, nothing dispatched."""
    body = event(WITHDRAWN)

    answer = await receiver.post(PATH, content=body, headers=signed(body, secret=OTHER_SECRET))

    assert 401 == answer.status_code
    assert [] == dispatcher.withdrawals


async def test_a_tampered_marketing_withdrawn_is_401_and_starts_nothing(receiver, dispatcher):
    """The body changed after signing (another member): refused, nothing dispatched."""
    headers = signed(event(WITHDRAWN, "M1001"))

    answer = await receiver.post(PATH, content=event(WITHDRAWN, "M1002"), headers=headers)

    assert 401 == answer.status_code
    assert [] == dispatcher.withdrawals


@pytest.mark.parametrize(("signed_at", "status"), [(NOW - 300, 202), (NOW - 301, 401), (NOW + 301, 401)])
async def test_a_stale_marketing_withdrawn_is_401(receiver, dispatcher, signed_at, status):
    """Accepted up to 300 s either side of the receiver's clock, not beyond."""
    body = event(WITHDRAWN)

    answer = await receiver.post(PATH, content=body, headers=signed(body, timestamp=signed_at))

    assert (status, status == 202) == (answer.status_code, bool(dispatcher.withdrawals))


@pytest.mark.parametrize(("data", "field"), [
    (b'{"controller": "demo"}', "data.member_id"),
    (b'{"member_id": "M1001"}', "data.controller"),
    (b'{"controller": "demo", "member_id": "kari.testesen@example.no"}', "data.member_id"),
])
async def test_a_marketing_withdrawn_without_a_valid_member_is_422_naming_the_field_not_its_value(
        receiver, dispatcher, data, field):
    """A signed marketing.withdrawn whose data is not a member id of a chain is refused with 422; an e-mail
    where the id belongs is never repeated."""
    body = b'{"type": "marketing.withdrawn", "timestamp": "2026-09-21T12:00:00Z", "data": ' + data + b"}"

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert 422 == answer.status_code
    assert field in [".".join(error["loc"]) for error in answer.json()["errors"]]
    assert "kari.testesen" not in answer.text
    assert [] == dispatcher.withdrawals


async def test_a_marketing_withdrawn_for_an_unknown_chain_is_422(receiver, dispatcher):
    """A chain with no policy is refused before anything starts."""
    body = event(WITHDRAWN, controller="no-such-chain")

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert 422 == answer.status_code
    assert [] == dispatcher.withdrawals


async def test_a_marketing_withdrawn_while_prefect_is_down_is_503_with_retry_after(receiver, dispatcher):
    """Prefect unreachable: 503 with Retry-After, so the sender delivers the withdrawal again."""
    dispatcher.unavailable = True
    body = event(WITHDRAWN)

    answer = await receiver.post(PATH, content=body, headers=signed(body))

    assert (503, "30") == (answer.status_code, answer.headers["retry-after"])


async def test_a_queued_marketing_withdrawn_survives_a_restart_and_is_handed_over_once(tmp_path: Path):
    """A withdrawal acknowledged by a receiver that stopped before Prefect had it reaches Prefect from the next
    receiver, as a withdrawal, once."""
    path = tmp_path / "outbox.sqlite3"
    withdrawn = WithdrawnEvent.model_validate({"type": WITHDRAWN, "timestamp": "2026-12-01T10:00:00Z",
                                               "data": {"controller": "demo", "member_id": "M7101"}})
    Outbox(path).put("msg_w", withdrawn)

    prefect = RecordingDispatcher()
    restarted = QueuedDispatcher(prefect, Outbox(path), answer_within_s=5)
    restarted.start()
    async with asyncio.timeout(10):
        while restarted.waiting:
            await asyncio.sleep(0.01)
    await restarted.aclose()

    assert [("msg_w", "M7101")] == [(w, e.data.member_id) for w, e in prefect.withdrawals]
    with contextlib.closing(Outbox(path)) as left:
        assert [] == left.waiting()


@pytest.fixture
async def prefect_receiver(deployments, settings):
    """The receiver with the real Prefect dispatcher and the real clock."""
    import httpx

    dispatcher = PrefectDispatcher(PREFECT_API_URL.value(), timeout_s=60, subject_key=settings.subject_key)
    app = create_app(settings, dispatcher, time.time)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver",
                                 timeout=120) as client:
        yield client
    await dispatcher.aclose()


def now_signed(body: bytes, webhook_id: str) -> dict[str, str]:
    """Headers signed now, as a sender signs each attempt."""
    return signed(body, webhook_id=webhook_id, timestamp=int(time.time()))


@pytest.mark.slow
async def test_twenty_duplicate_marketing_withdrawn_deliveries_start_one_withdrawal(prefect_receiver):
    """The same marketing.withdrawn delivered 20 times at once starts one withdraw-marketing run, which every
    delivery is told about; no erase-member run is started."""
    member = f"W{uuid.uuid4().hex[:10]}"
    body = event(WITHDRAWN, member, at=time.time())

    answers = await asyncio.gather(*(
        prefect_receiver.post(PATH, content=body, headers=now_signed(body, f"msg_{member}")) for _ in range(20)))

    runs = await member_runs("demo", member, deployment=WITHDRAW_MARKETING)
    assert [202] * 20 == [answer.status_code for answer in answers]
    assert 1 == len(runs)
    assert {str(runs[0].id)} == {answer.json()["flow_run_id"] for answer in answers}
    assert f"demo-{subject_of('demo', member)}-withdrawal-1" == runs[0].parameters["request_id"]
    assert [] == await member_runs("demo", member)


@pytest.mark.slow
async def test_a_finished_withdrawal_answers_its_redelivery_and_a_later_withdrawal_starts_the_next(prefect_receiver):
    """Once a withdrawal has completed, its redelivery gets that run ('done'); a withdrawal that happens later
    starts request 2."""
    member = f"W{uuid.uuid4().hex[:10]}"
    body = event(WITHDRAWN, member, at=time.time())
    first = (await prefect_receiver.post(PATH, content=body, headers=now_signed(body, f"msg_{member}"))).json()
    async with get_client() as client:
        await client.set_flow_run_state(uuid.UUID(first["flow_run_id"]), Completed(), force=True)

    again = await prefect_receiver.post(PATH, content=body, headers=now_signed(body, f"msg_{member}"))
    later = event(WITHDRAWN, member, at=time.time() + 1)
    second = await prefect_receiver.post(PATH, content=later, headers=now_signed(later, f"msg_{member}_later"))

    assert ("started", "done", first["flow_run_id"]) == (first["status"], again.json()["status"],
                                                         again.json()["flow_run_id"])
    assert ("started", f"demo-{subject_of('demo', member)}-withdrawal-2") == (second.json()["status"],
                                                                             second.json()["request_id"])
