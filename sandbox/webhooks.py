"""The stand-in membership system's webhooks: signed per Standard Webhooks 1.0, retried on non-2xx."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Delivery:
    """One message and how its delivery went; ids only, like the payload."""

    webhook_id: str
    type: str
    member_id: str
    attempts: int = 0
    statuses: list[int | None] = field(default_factory=list)
    answer: dict[str, Any] | None = None

    @property
    def delivered(self) -> bool:
        """Whether the receiver answered 2xx."""
        return bool(self.statuses) and self.statuses[-1] is not None and 200 <= (self.statuses[-1] or 0) < 300

    def as_json(self) -> dict[str, Any]:
        """The delivery as the sandbox's control API shows it."""
        return {"webhookId": self.webhook_id, "type": self.type, "memberId": self.member_id,
                "attempts": self.attempts, "statuses": self.statuses, "delivered": self.delivered,
                "answer": self.answer}


def signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookSender:
    """Sends events to one endpoint in the background; each attempt re-signed with its own timestamp."""

    def __init__(self, url: str, secret: str, controller: str = "demo", *,
                 transport: httpx.AsyncBaseTransport | None = None, max_attempts: int = 6,
                 first_backoff_s: float = 0.5, max_backoff_s: float = 8.0, timeout_s: float = 15.0,
                 clock: Callable[[], float] = time.time, sleep: Sleep = asyncio.sleep) -> None:
        self.url = url
        self.controller = controller
        self._key = base64.b64decode(secret.removeprefix("whsec_"))
        self._transport = transport
        self.max_attempts = max_attempts
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self._clock = clock
        self._sleep = sleep
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self._sending: set[asyncio.Task[None]] = set()
        self._queued: list[tuple[Delivery, bytes]] = []

    def emit(self, type_: str, member_id: str, controller: str | None = None, **data: str) -> Delivery:
        """Queue one event; it is sent at once when an event loop runs here, else on `drain()`."""
        delivery = Delivery(f"msg_{uuid.uuid4().hex}", type_, member_id)
        body = json.dumps({"type": type_, "timestamp": datetime.fromtimestamp(self._clock(), UTC).isoformat(),
                           "data": {"controller": controller or self.controller, "member_id": member_id, **data}},
                          separators=(",", ":")).encode()
        self.deliveries.append(delivery)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self._queued.append((delivery, body))
        else:
            self._start(delivery, body)
        return delivery

    async def drain(self) -> None:
        """Send what is queued and wait until every delivery has succeeded or given up."""
        queued, self._queued = self._queued, []
        for delivery, body in queued:
            self._start(delivery, body)
        while self._sending:
            await asyncio.gather(*self._sending)

    def _start(self, delivery: Delivery, body: bytes) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(delivery, body))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _deliver(self, delivery: Delivery, body: bytes) -> None:
        """Post until a 2xx or `max_attempts`, waiting longer each time (the same id, the same body)."""
        async with httpx.AsyncClient(transport=self._transport, timeout=self.timeout_s) as client:
            for attempt in range(self.max_attempts):
                if attempt:
                    await self._sleep(min(self.max_backoff_s, self.first_backoff_s * 2 ** (attempt - 1)))
                delivery.attempts += 1
                status, answer = await self._post(client, delivery.webhook_id, body)
                delivery.statuses.append(status)
                if status is not None and 200 <= status < 300:
                    delivery.answer = answer
                    return

    async def _post(self, client: httpx.AsyncClient, webhook_id: str,
                    body: bytes) -> tuple[int | None, dict[str, Any] | None]:
        timestamp = int(self._clock())
        headers = {"content-type": "application/json", "webhook-id": webhook_id,
                   "webhook-timestamp": str(timestamp),
                   "webhook-signature": signature(self._key, webhook_id, timestamp, body)}
        try:
            response = await client.post(self.url, content=body, headers=headers)
        except httpx.TransportError:
            return None, None
        answer = None
        with contextlib.suppress(ValueError):
            answer = response.json()
        return response.status_code, answer if isinstance(answer, dict) else None
