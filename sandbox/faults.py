"""Fault switches for one stand-in processor, and the ASGI middleware that obeys them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SPECIAL = frozenset({"ok", "drop", "lost", "hang"})
DROPPED = "sandbox dropped the connection"


def _checked_step(step: str) -> str:
    if step in SPECIAL or (step.isdigit() and 400 <= int(step) <= 599):
        return step
    raise ValueError(f"unknown fault {step!r}: use an HTTP status 400-599 or one of {sorted(SPECIAL)}")


@dataclass
class Throttled:
    """One 429/503 sent with Retry-After, and when the same client next asked for the same resource."""

    resource: str
    status: int
    retry_after: float
    sent_at: float
    next_at: float | None = None

    @property
    def waited(self) -> float | None:
        """Seconds between the refusal and the client's next request for the resource; None if none came."""
        return None if self.next_at is None else self.next_at - self.sent_at

    @property
    def violated(self) -> bool:
        """Whether the client came back before Retry-After had passed."""
        # Both marks come from one monotonic clock, the refusal's taken before it is sent: a patient
        # client can never come back sooner, so there is no tolerance.
        return self.waited is not None and self.waited < self.retry_after


@dataclass
class Faults:
    """Switches that make one processor slow, flaky or unreachable; a script goes before the dice."""

    seed: int = 0
    latency: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    throttle_status: int = 429
    retry_after: int = 1
    drop_rate: float = 0.0
    lost_rate: float = 0.0
    hang: bool = False
    hang_s: float = 3600.0
    rng: random.Random = field(init=False, repr=False)
    _script: deque[str] = field(default_factory=deque, init=False, repr=False)
    # What was done to requests: faults by kind, and every Retry-After refusal with the client's next try.
    injected: Counter[str] = field(default_factory=Counter, init=False, repr=False)
    throttles: list[Throttled] = field(default_factory=list, init=False, repr=False)
    _waiting: dict[str, Throttled] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def script(self, *steps: str) -> Faults:
        """Queue one fault per coming request: a status ("500", "429"...), "drop", "lost", "hang" or "ok"."""
        self._script.extend(_checked_step(step) for step in steps)
        return self

    @property
    def scripted(self) -> tuple[str, ...]:
        """The scripted faults not yet used."""
        return tuple(self._script)

    def configure(self, **switches: Any) -> Faults:
        """Set switches by name (the admin endpoint's JSON); `script` queues steps."""
        for name, value in switches.items():
            if name == "script":
                self.script(*value)
            elif name == "latency":
                low, high = value
                self.latency = (float(low), float(high))
            elif name in {"error_rate", "throttle_rate", "drop_rate", "lost_rate", "hang_s"}:
                setattr(self, name, float(value))
            elif name in {"throttle_status", "retry_after"}:
                setattr(self, name, int(value))
            elif name == "hang":
                self.hang = bool(value)
            else:
                raise ValueError(f"unknown fault switch {name!r}")
        if self.throttle_status not in (429, 503):
            raise ValueError("throttle_status must be 429 or 503")
        return self

    def reset(self) -> None:
        """Back to a healthy processor, the dice re-seeded."""
        healthy = Faults(seed=self.seed)
        for switch in fields(self):
            setattr(self, switch.name, getattr(healthy, switch.name))

    def switches(self) -> dict[str, Any]:
        """The switches as JSON-ready values."""
        return {"latency": list(self.latency), "error_rate": self.error_rate,
                "throttle_rate": self.throttle_rate, "throttle_status": self.throttle_status,
                "retry_after": self.retry_after, "drop_rate": self.drop_rate, "lost_rate": self.lost_rate,
                "hang": self.hang,
                "script": list(self._script)}

    def next_fault(self) -> str:
        """The fault for the next request: the script's next step, else one roll of the dice."""
        if self._script:
            return self._script.popleft()
        if self.hang:
            return "hang"
        roll = self.rng.random()
        for fault, rate in (("drop", self.drop_rate), ("lost", self.lost_rate), ("500", self.error_rate),
                            (str(self.throttle_status), self.throttle_rate)):
            if roll < rate:
                return fault
            roll -= rate
        return "ok"

    def delay(self) -> float:
        """Seconds of latency for the next request."""
        low, high = self.latency
        return self.rng.uniform(low, high) if high > 0 else 0.0

    def arrived(self, resource: str, now: float) -> None:
        """Note a request: if this client was refused this resource with Retry-After, it is the next try."""
        if waiting := self._waiting.pop(resource, None):
            waiting.next_at = now

    def refused(self, resource: str, status: int, retry_after: float, now: float) -> None:
        """Note a 429/503 with Retry-After sent for a resource."""
        self.throttles.append(throttled := Throttled(resource, status, retry_after, now))
        self._waiting[resource] = throttled

    def retry_after_violations(self) -> list[Throttled]:
        """The refusals whose client came back before Retry-After had passed."""
        return [throttle for throttle in self.throttles if throttle.violated]


class FaultInjector:
    """ASGI middleware: applies a processor's faults to each HTTP request before (or after) the app."""

    def __init__(self, app: ASGIApp, faults: Faults, body: Callable[[int], bytes] | None = None) -> None:
        self.app = app
        self.faults = faults
        self.body = body or fault_body  # the processor's own error body for a status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, or fail it as the switches say."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        resource = _resource(scope)
        self.faults.arrived(resource, time.monotonic())
        if delay := self.faults.delay():
            await asyncio.sleep(delay)
        fault = self.faults.next_fault()
        if fault != "ok":
            self.faults.injected[fault] += 1
        if fault == "ok":
            await self.app(scope, receive, send)
        elif fault == "drop":
            await _drop(send)
        elif fault == "lost":
            await self.app(scope, receive, _swallow)
            await _drop(send)
        elif fault == "hang":
            await self._hang(receive, send)
        else:
            if int(fault) in (429, 503):
                # Marked before the answer leaves: the client cannot start its wait any earlier, so a
                # busy sandbox's own delay never makes a patient client look impatient.
                self.faults.refused(resource, int(fault), self.faults.retry_after, time.monotonic())
            await _fail(send, int(fault), self.faults.retry_after, self.body)

    async def _hang(self, receive: Receive, send: Send) -> None:
        # Wait for the client to give up (uvicorn reports a disconnect; in-process, the transport's
        # timeout cancels us), so a hung request never outlives its client.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.faults.hang_s):
                while (await receive())["type"] != "http.disconnect":
                    pass
                return
        await _fail(send, 504, None, self.body)


def _resource(scope: Scope) -> str:
    # Keyed by the client's address too: a retry reuses its keep-alive connection after a complete 429/503
    # answer, while concurrent callers of the same path come on other connections.
    host, port = scope.get("client") or ("", 0)
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{host}:{port} {scope['method']} {scope['path']}?{query}"


async def _swallow(message: Message) -> None:
    """Discard the app's answer: the work was done, the reply is lost on the way."""


async def _drop(send: Send) -> None:
    # Starting the response and then raising makes uvicorn cut the connection mid-answer;
    # under httpx.ASGITransport the error reaches the client as an OSError.
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise ConnectionResetError(DROPPED)


def fault_body(status: int) -> bytes:
    """The plain error body of an injected fault."""
    return json.dumps({"error": "sandbox fault", "status": status}).encode()


async def _fail(send: Send, status: int, retry_after: int | None, answer: Callable[[int], bytes]) -> None:
    body = answer(status)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status in (429, 503) and retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
