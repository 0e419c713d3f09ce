"""A processor's rate limit, enforced like a real API gateway: over it, 429 with Retry-After."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

Refusal = Callable[[int], Response]


def too_many_requests(retry_after: int) -> Response:
    """The plain 429 most processors send."""
    return JSONResponse({"error": "rate limit exceeded", "retryAfter": retry_after}, 429,
                        headers={"Retry-After": str(retry_after)})


@dataclass
class RateLimit:
    """A token bucket: `per_second` requests a second on average, `burst` at once; None means no limit."""

    per_second: float | None = None
    burst: int | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    refused: int = 0
    _tokens: float = field(default=0.0, repr=False)
    _stamp: float | None = field(default=None, repr=False)

    def configure(self, per_second: float | None, burst: int | None = None) -> RateLimit:
        """Set the limit (None lifts it); the bucket starts full."""
        if per_second is not None and per_second <= 0:
            raise ValueError(f"per_second must be positive or None (got {per_second})")
        if burst is not None and burst < 1:
            raise ValueError(f"burst must be at least 1 (got {burst})")
        self.per_second, self.burst, self._stamp, self.refused = per_second, burst, None, 0
        return self

    @property
    def capacity(self) -> int:
        """How many requests may come at once: `burst`, else one second's worth."""
        return self.burst or max(1, math.ceil(self.per_second or 1))

    def wait(self) -> float:
        """0 when a request may go now (it spends a token), else the seconds until one may."""
        if self.per_second is None:
            return 0.0
        now = self.clock()
        elapsed = 0.0 if self._stamp is None else now - self._stamp
        self._tokens = self.capacity if self._stamp is None else min(
            self.capacity, self._tokens + elapsed * self.per_second)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        self.refused += 1
        return (1 - self._tokens) / self.per_second


class Throttle:
    """ASGI middleware: a request over the processor's rate limit gets the processor's 429 and Retry-After."""

    def __init__(self, app: ASGIApp, limit: RateLimit, refuse: Refusal = too_many_requests) -> None:
        self.app = app
        self.limit = limit
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, or refuse it while the bucket is empty."""
        if scope["type"] == "http" and (wait := self.limit.wait()):
            # Retry-After is whole seconds (RFC 9110); round up so a client that honours it succeeds.
            await self.refuse(max(1, math.ceil(wait)))(scope, receive, send)
            return
        await self.app(scope, receive, send)
