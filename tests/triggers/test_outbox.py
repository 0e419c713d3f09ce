"""The outbox: a verified delivery is acknowledged once on disk, and reaches Prefect in order, once, even
after a restart or while Prefect is down."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from triggers.app import create_app
from triggers.dispatch import DispatchUnavailable, Receipt
from triggers.events import MemberEvent
from triggers.outbox import Outbox, QueuedDispatcher

from .conftest import PATH, RecordingDispatcher, event, signed


def terminated(member_id: str = "M7001") -> MemberEvent:
    """A member.terminated event for a demo member."""
    return MemberEvent.model_validate({"type": "member.terminated", "timestamp": datetime(2026, 12, 1, tzinfo=UTC),
                                       "data": {"controller": "demo", "member_id": member_id}})


@dataclass
class GatedDispatcher(RecordingDispatcher):
    """A RecordingDispatcher that holds every call until the test opens the gate (a busy Prefect)."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def request_erasure(self, webhook_id: str, event: MemberEvent) -> Receipt:
        """Wait for the gate, then record."""
        await self.gate.wait()
        return await super().request_erasure(webhook_id, event)


@dataclass
class Sleeps:
    """The drainer's waits between tries: recorded, and over only when the test says so."""

    asked: list[float] = field(default_factory=list)
    _over: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, seconds: float) -> None:
        """Record the wait and block until `end`."""
        self.asked.append(seconds)
        await self._over.wait()
        self._over.clear()

    def end(self) -> None:
        """End the current wait."""
        self._over.set()


@pytest.fixture
def outbox_path(tmp_path: Path) -> Path:
    """Where the test's outbox lives."""
    return tmp_path / "outbox.sqlite3"


async def drained(queued: QueuedDispatcher) -> None:
    """Return once every accepted delivery has been handed over (a few seconds at most)."""
    async with asyncio.timeout(10):
        while queued.waiting:
            await asyncio.sleep(0.01)


def on_disk(path: Path) -> bytes:
    """The outbox's file and its write-ahead log, as bytes."""
    return b"".join(part.read_bytes() for part in (path, path.with_name(path.name + "-wal")) if part.exists())


async def test_an_idle_receiver_answers_with_the_run_prefect_started(outbox_path):
    """With nothing queued ahead, the answer is Prefect's receipt, and the outbox is empty after."""
    prefect = RecordingDispatcher()
    queued = QueuedDispatcher(prefect, Outbox(outbox_path), answer_within_s=5)

    receipt = await queued.request_erasure("msg_1", terminated())
    await queued.aclose()

    assert await RecordingDispatcher().request_erasure("msg_1", terminated()) == receipt
    assert [] == Outbox(outbox_path).waiting()


async def test_a_busy_prefect_gets_deliveries_in_order_after_they_were_acknowledged_queued(outbox_path):
    """The first delivery waits the answer window, the next one none (another is ahead); both reach Prefect
    when it answers again, oldest first."""
    prefect = GatedDispatcher()
    queued = QueuedDispatcher(prefect, Outbox(outbox_path), answer_within_s=0.05)

    first = await queued.request_erasure("msg_1", terminated("M7001"))
    second = await queued.request_erasure("msg_2", terminated("M7002"))
    prefect.gate.set()
    await drained(queued)
    await queued.aclose()

    assert (Receipt("queued"), Receipt("queued")) == (first, second)
    assert ["msg_1", "msg_2"] == [webhook_id for webhook_id, _ in prefect.erasures]


async def test_queued_deliveries_survive_a_restart_and_are_handed_over_once(outbox_path):
    """Deliveries acknowledged by a receiver that then stops reach Prefect from the next receiver, once each."""
    stalled = QueuedDispatcher(GatedDispatcher(), Outbox(outbox_path), answer_within_s=0.01)
    for number in (1, 2):
        await stalled.request_erasure(f"msg_{number}", terminated(f"M700{number}"))
    await stalled.aclose()
    with contextlib.closing(Outbox(outbox_path)) as kept:
        kept_after_stop = len(kept)

    prefect = RecordingDispatcher()
    restarted = QueuedDispatcher(prefect, Outbox(outbox_path), answer_within_s=5)
    restarted.start()
    await drained(restarted)
    await restarted.aclose()

    assert 2 == kept_after_stop
    assert [("msg_1", "M7001"), ("msg_2", "M7002")] == [(w, e.data.member_id) for w, e in prefect.erasures]
    assert [] == Outbox(outbox_path).waiting()


async def test_twenty_identical_deliveries_are_queued_once_and_share_one_answer(outbox_path):
    """The same webhook-id delivered 20 times at once is handed to Prefect once; every delivery gets its receipt."""
    prefect = GatedDispatcher()
    queued = QueuedDispatcher(prefect, Outbox(outbox_path), answer_within_s=5)

    deliveries = [asyncio.create_task(queued.request_erasure("msg_same", terminated())) for _ in range(20)]
    await asyncio.sleep(0.05)
    prefect.gate.set()
    receipts = set(await asyncio.gather(*deliveries))
    await queued.aclose()

    assert 1 == len(prefect.erasures)
    assert {await RecordingDispatcher().request_erasure("msg_same", terminated())} == receipts


async def test_while_prefect_is_down_the_queued_delivery_waits_and_new_ones_get_503(outbox_path):
    """A delivery acknowledged before Prefect went down is retried after a wait; meanwhile new deliveries are
    refused (the sender keeps them); once Prefect answers, both the queued and new deliveries go through."""
    prefect = RecordingDispatcher(unavailable=True)
    sleeps = Sleeps()
    queued = QueuedDispatcher(prefect, Outbox(outbox_path), answer_within_s=0.05, sleep=sleeps)

    acknowledged = await queued.request_erasure("msg_1", terminated("M7001"))
    with pytest.raises(DispatchUnavailable, match="ConnectError"):
        await queued.request_erasure("msg_2", terminated("M7002"))
    prefect.unavailable = False
    sleeps.end()
    await drained(queued)
    after = await queued.request_erasure("msg_3", terminated("M7003"))
    await queued.aclose()

    assert (Receipt("queued"), "started") == (acknowledged, after.status)
    assert [1.0] == sleeps.asked
    assert ["msg_1", "msg_3"] == [webhook_id for webhook_id, _ in prefect.erasures]


async def test_the_waits_between_tries_grow_to_a_cap(outbox_path):
    """Each failed try doubles the wait, up to retry_max_s."""
    sleeps = Sleeps()
    queued = QueuedDispatcher(RecordingDispatcher(unavailable=True), Outbox(outbox_path), answer_within_s=0,
                              retry_max_s=5, sleep=sleeps)

    await queued.request_erasure("msg_1", terminated())
    for _ in range(5):
        await asyncio.sleep(0.01)
        sleeps.end()
    await asyncio.sleep(0.01)
    await queued.aclose()

    assert [1.0, 2.0, 4.0, 5.0, 5.0, 5.0] == sleeps.asked


async def test_a_handed_over_delivery_leaves_no_member_id_on_disk(outbox_path):
    """While queued, the member id is in the file; once Prefect has it, the row is gone from the file and the
    log (zeroed, not merely unlinked)."""
    prefect = GatedDispatcher()
    queued = QueuedDispatcher(prefect, Outbox(outbox_path), answer_within_s=0.01)

    await queued.request_erasure("msg_1", terminated("M7654"))
    while_queued = b"M7654" in on_disk(outbox_path)
    prefect.gate.set()
    await drained(queued)
    after = b"M7654" in on_disk(outbox_path)
    await queued.aclose()

    assert (True, False) == (while_queued, after)


async def test_the_receiver_answers_202_queued_without_a_run_id_while_prefect_is_busy(settings, clock, outbox_path):
    """Through the app: a verified delivery behind a busy Prefect is acknowledged at once as queued."""
    prefect = GatedDispatcher()
    queued = QueuedDispatcher(prefect, Outbox(outbox_path), answer_within_s=0.01)
    app = create_app(settings, queued, clock)
    body = event()

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
        answer = await client.post(PATH, content=body, headers=signed(body, webhook_id="msg_busy"))
    prefect.gate.set()
    await drained(queued)
    await queued.aclose()

    assert (202, "queued", None) == (answer.status_code, answer.json()["status"], answer.json()["flow_run_id"])
    assert ["msg_busy"] == [webhook_id for webhook_id, _ in prefect.erasures]
