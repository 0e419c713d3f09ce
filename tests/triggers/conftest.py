"""Receiver tests: the app in-process through httpx.ASGITransport, a clock the test sets, a fake dispatcher."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import standardwebhooks

from config.settings import Settings, load_settings
from connectors.http import use_transports
from domain.values import subject_reference
from sandbox.world import Sandbox
from triggers.app import create_app
from triggers.dispatch import DispatchUnavailable, Receipt, next_request_id
from triggers.events import MemberEvent, SettledEvent, WithdrawnEvent
from triggers.signature import sign

SECRET = "whsec_" + base64.b64encode(b"slett-test-webhook-secret-0123456789").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"slett-old-webhook-secret-0123456789").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-else's-secret-0123456789ab").decode()
NOW = 1_790_000_000  # 2026-09-21, a fixed clock
PATH = "/webhooks/membership"


def subject_of(controller: str, member_id: str) -> str:
    """The member's subject reference under the test settings' key."""
    return subject_reference(load_settings().subject_key, controller, member_id)


def key(secret: str) -> bytes:
    """The HMAC key of a whsec_ secret."""
    return base64.b64decode(secret.removeprefix("whsec_"))


def event(type_: str = "member.terminated", member_id: str = "M1001", controller: str = "demo",
          at: float = NOW, **data: Any) -> bytes:
    """A webhook body as the membership system sends it."""
    return json.dumps({"type": type_, "timestamp": datetime.fromtimestamp(at, UTC).isoformat(),
                       "data": {"controller": controller, "member_id": member_id, **data}}).encode()


def ours(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """A signature by slett's own signer."""
    return sign(key(secret), webhook_id, timestamp, body)


def reference(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """A signature by the Standard Webhooks reference library (a client slett did not write)."""
    return standardwebhooks.Webhook(secret).sign(webhook_id, datetime.fromtimestamp(timestamp, UTC), body.decode())


SIGNERS = {"ours": ours, "standardwebhooks": reference}


def signed(body: bytes, secret: str = SECRET, webhook_id: str | None = None, timestamp: int = NOW,
           signer: Callable[[str, str, int, bytes], str] = reference) -> dict[str, str]:
    """The three Standard Webhooks headers for a body."""
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signer(secret, webhook_id, timestamp, body), "content-type": "application/json"}


@dataclass
class Clock:
    """Unix seconds, as the test sets them."""

    now: float = NOW

    def __call__(self) -> float:
        """The time now."""
        return self.now


@dataclass
class RecordingDispatcher:
    """A Dispatcher that records what it was asked; `unavailable` makes it behave like Prefect being down."""

    erasures: list[tuple[str, MemberEvent]] = field(default_factory=list)
    settlements: list[tuple[str, SettledEvent]] = field(default_factory=list)
    withdrawals: list[tuple[str, WithdrawnEvent]] = field(default_factory=list)
    unavailable: bool = False

    async def request_erasure(self, webhook_id: str, event: MemberEvent) -> Receipt:
        """Record the request; the run id is derived from the member so that tests can predict it."""
        if self.unavailable:
            raise DispatchUnavailable("the Prefect API did not answer: ConnectError")
        self.erasures.append((webhook_id, event))
        member = event.data
        return Receipt("started", uuid.uuid5(uuid.NAMESPACE_URL, member.member_id),
                       next_request_id(member.controller, subject_of(member.controller, member.member_id), []))

    async def settle(self, webhook_id: str, event: SettledEvent) -> Receipt:
        """Record the settlement."""
        if self.unavailable:
            raise DispatchUnavailable("the Prefect API did not answer: ConnectError")
        self.settlements.append((webhook_id, event))
        return Receipt("resumed", resumed=(uuid.uuid5(uuid.NAMESPACE_URL, event.data.member_id),))

    async def withdraw_marketing(self, webhook_id: str, event: WithdrawnEvent) -> Receipt:
        """Record the withdrawal; the run id is derived from the member, as for an erasure."""
        if self.unavailable:
            raise DispatchUnavailable("the Prefect API did not answer: ConnectError")
        self.withdrawals.append((webhook_id, event))
        member = event.data
        return Receipt("started", uuid.uuid5(uuid.NAMESPACE_URL, f"withdrawal/{member.member_id}"),
                       next_request_id(member.controller, f"{subject_of(member.controller, member.member_id)}"
                                       "-withdrawal", []))


@pytest.fixture
def clock() -> Clock:
    """The receiver's clock, at NOW."""
    return Clock()


@pytest.fixture
def dispatcher() -> RecordingDispatcher:
    """The fake dispatcher the receiver hands verified events to."""
    return RecordingDispatcher()


@pytest.fixture
def settings() -> Settings:
    """The test settings with the current webhook secret and the old one still accepted (a rotation)."""
    return load_settings(webhook_secrets=[SECRET, OLD_SECRET])


@pytest.fixture
async def receiver(settings, dispatcher, clock) -> AsyncIterator[httpx.AsyncClient]:
    """A client to the receiver app in this process."""
    app = create_app(settings, dispatcher, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as client:
        yield client


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox, every processor routed to it in-process."""
    world = Sandbox()
    with use_transports(world.transports()):
        yield world
