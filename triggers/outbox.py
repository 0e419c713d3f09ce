"""A durable outbox between the receiver and Prefect: a delivery is acknowledged once it is on disk.

Creating a run costs the Prefect server tens of milliseconds; under a burst (a chain's year-end
terminations) a receiver that waited for Prefect would answer in seconds and the sender would time out
and deliver again. So a verified delivery is written to a SQLite file (fsync'd, a fraction of a
millisecond) and handed to Prefect by one drainer in arrival order:
  - nothing queued ahead: the receiver waits up to `answer_within_s` for Prefect and answers with the run;
  - otherwise, or when Prefect is slower: 202 `queued`; the run appears (tagged `webhook:<id>`) when its turn comes;
  - Prefect unreachable at the last try: 503, so the sender keeps the delivery (what is queued stays queued
    and is retried with growing waits);
  - a restart drains what the file still holds.
A row holds a controller and a member id (as the run's parameters do), never more. It is deleted, zeroed in
the file, once Prefect has it, and the write-ahead log is emptied whenever nothing is left queued.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from triggers.dispatch import Dispatcher, DispatchUnavailable, Receipt, dispatch
from triggers.events import Event, MemberEvent, SettledEvent, Verified, WithdrawnEvent, typed

log = structlog.get_logger("slett.receiver")
Sleep = Callable[[float], Awaitable[None]]


class Outbox:
    """Verified deliveries not yet handed to Prefect, in a SQLite file that outlives the process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        # FULL: a 202 promises the delivery survives a power cut, not only a killed process.
        # secure_delete: a dispatched member id is overwritten, not left in free pages.
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "secure_delete=ON"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "webhook_id TEXT UNIQUE NOT NULL, event TEXT NOT NULL)")

    def put(self, webhook_id: str, event: Verified) -> None:
        """Keep the delivery (once per webhook id) until `remove`."""
        self._db.execute("INSERT OR IGNORE INTO deliveries (webhook_id, event) VALUES (?, ?)",
                         (webhook_id, event.model_dump_json()))

    def waiting(self) -> list[tuple[str, Verified]]:
        """The deliveries kept, oldest first."""
        rows = self._db.execute("SELECT webhook_id, event FROM deliveries ORDER BY seq").fetchall()
        return [(webhook_id, event) for webhook_id, text in rows
                if (event := typed(Event.model_validate_json(text))) is not None]

    def remove(self, webhook_id: str) -> None:
        """Forget a delivery Prefect has; when none is left, empty the write-ahead log too."""
        self._db.execute("DELETE FROM deliveries WHERE webhook_id = ?", (webhook_id,))
        if not len(self):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def __len__(self) -> int:
        """How many deliveries are kept."""
        return int(self._db.execute("SELECT count(*) FROM deliveries").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        self._db.close()


class QueuedDispatcher:
    """A Dispatcher that acknowledges from the outbox and feeds `inner` (Prefect) behind it."""

    def __init__(self, inner: Dispatcher, outbox: Outbox, answer_within_s: float, *, retry_max_s: float = 30.0,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._inner = inner
        self._outbox = outbox
        self._answer_within_s = answer_within_s
        self._retry_max_s = retry_max_s
        self._sleep = sleep
        self._queue: asyncio.Queue[tuple[str, Verified]] = asyncio.Queue()
        self._answers: dict[str, asyncio.Future[Receipt]] = {}
        self._unreachable: str | None = None
        self._drainer: asyncio.Task[None] | None = None

    async def request_erasure(self, webhook_id: str, event: MemberEvent) -> Receipt:
        """Queue the delivery; the run's receipt if Prefect gives it in time, else `queued`."""
        return await self._accept(webhook_id, event)

    async def settle(self, webhook_id: str, event: SettledEvent) -> Receipt:
        """Queue the delivery; the resumed runs if Prefect gives them in time, else `queued`."""
        return await self._accept(webhook_id, event)

    async def withdraw_marketing(self, webhook_id: str, event: WithdrawnEvent) -> Receipt:
        """Queue the delivery; the run's receipt if Prefect gives it in time, else `queued`."""
        return await self._accept(webhook_id, event)

    def start(self) -> None:
        """Drain what an earlier process left in the outbox, then what arrives (idempotent)."""
        if self._drainer is None:
            for webhook_id, event in self._outbox.waiting():
                self._enqueue(webhook_id, event)
            self._drainer = asyncio.get_running_loop().create_task(self._drain(), name="webhook-outbox")

    @property
    def waiting(self) -> int:
        """Deliveries accepted and not yet handed to Prefect."""
        return len(self._answers)

    async def aclose(self) -> None:
        """Stop draining (what is left stays on disk) and close the inner dispatcher."""
        if self._drainer is not None:
            self._drainer.cancel()
            await asyncio.gather(self._drainer, return_exceptions=True)
        self._outbox.close()
        close = getattr(self._inner, "aclose", None)
        if close is not None:
            await close()

    async def _accept(self, webhook_id: str, event: Verified) -> Receipt:
        if self._unreachable is not None:
            raise DispatchUnavailable(self._unreachable)
        self.start()
        answer = self._answers.get(webhook_id)
        ahead = len(self._answers) - (answer is not None)
        if answer is None:
            self._outbox.put(webhook_id, event)  # on disk before the 202
            answer = self._enqueue(webhook_id, event)
        if ahead:
            return Receipt("queued")
        try:
            return await asyncio.wait_for(asyncio.shield(answer), self._answer_within_s)
        except TimeoutError:
            return Receipt("queued")

    def _enqueue(self, webhook_id: str, event: Verified) -> asyncio.Future[Receipt]:
        answer = self._answers[webhook_id] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((webhook_id, event))
        return answer

    async def _drain(self) -> None:
        while True:
            webhook_id, event = await self._queue.get()
            receipt = await self._hand_over(webhook_id, event)
            self._outbox.remove(webhook_id)
            self._answers.pop(webhook_id).set_result(receipt)

    async def _hand_over(self, webhook_id: str, event: Verified) -> Receipt:
        """Give Prefect the delivery, waiting longer after each failure (never giving up: it is promised)."""
        wait = 1.0
        while True:
            try:
                receipt = await dispatch(self._inner, webhook_id, event)
            except Exception as error:
                # Unreachable or a fault of ours: either way new deliveries get 503 until one gets through.
                self._unreachable = str(error) if isinstance(error, DispatchUnavailable) else (
                    f"the receiver could not hand a delivery to Prefect: {type(error).__name__}")
                log.warning("queued webhook waits for Prefect", webhook_id=webhook_id, reason=self._unreachable,
                            retry_in_s=wait, queued=len(self._answers), exc_info=not isinstance(
                                error, DispatchUnavailable))
                await self._sleep(wait)
                wait = min(self._retry_max_s, wait * 2)
            else:
                self._unreachable = None
                return receipt
