"""One HTTP client for every processor: explicit timeouts, one retry policy, failures sorted."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from config.settings import ProcessorSettings, SettingsError
from connectors.contract import Permanent, Retryable

log = structlog.get_logger("slett.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_HEADROOM = 0.05  # how far below a processor's rate limit its requests are spaced
Sleep = Callable[[float], Awaitable[None]]

_transports: dict[str, httpx.AsyncBaseTransport] = {}


@contextlib.contextmanager
def use_transports(transports: Mapping[str, httpx.AsyncBaseTransport]) -> Iterator[None]:
    """Route each named processor through the given transport (tests, the in-process sandbox)."""
    before = dict(_transports)
    _transports.update(transports)
    try:
        yield
    finally:
        _transports.clear()
        _transports.update(before)


@dataclass(frozen=True)
class RetryPolicy:
    """Full-jitter exponential backoff that honours Retry-After, capped per wait and in total."""

    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    total: float = 120.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False)
    jitter: Callable[[float, float], float] = field(default=random.uniform, compare=False)

    @classmethod
    def of(cls, settings: ProcessorSettings) -> RetryPolicy:
        """The policy a processor's settings ask for."""
        return cls(attempts=settings.max_attempts, max_delay=settings.max_delay_s,
                   total=settings.total_retry_s)

    def wait_for(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before the next try: jittered backoff, never less than Retry-After."""
        backoff = self.jitter(0.0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))
        return max(backoff, retry_after or 0.0)

    def worth_waiting(self, exc: BaseException) -> bool:
        """Retry a Retryable whose Retry-After fits under the cap; surface a longer one at once."""
        if not isinstance(exc, Retryable):
            return False
        return exc.retry_after is None or exc.retry_after <= self.max_delay


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date) into seconds; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RateLimiter:
    """Spaces requests evenly so a processor's rate limit is never exceeded."""

    def __init__(self, per_second: float | None) -> None:
        # Requests spaced exactly at the limit arrive a few milliseconds early whenever the one before was
        # delayed on its way: a gateway with no burst refuses them, and every retry adds to a stream that
        # has no room left, until one call runs out of tries (make bench's purge failed so). 5% below the
        # limit absorbs 25 ms of jitter per request at 2 requests a second.
        self._interval = (1.0 + RATE_HEADROOM) / per_second if per_second else 0.0
        self._next = 0.0
        # A thread lock, not an asyncio one: nothing awaits inside it, and one limiter serves every event
        # loop of the process (an asyncio.Lock binds to the first loop that waits on it).
        self._lock = threading.Lock()

    async def wait(self) -> None:
        """Return when the next request may go."""
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


_limiters: dict[tuple[str, float | None], RateLimiter] = {}
_limiters_lock = threading.Lock()


def rate_limiter(system: str, per_second: float | None) -> RateLimiter:
    """The one limiter of this process for a processor: every client to it, in any task, shares its rate."""
    with _limiters_lock:
        return _limiters.setdefault((system, per_second), RateLimiter(per_second))


class ConnectionCap:
    """At most `limit` requests in flight to a processor from this process, across tasks and event loops."""

    def __init__(self, limit: int | None) -> None:
        # A thread semaphore polled, not an asyncio one: one cap serves every event loop of the process.
        self._slots = threading.BoundedSemaphore(limit) if limit else None

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold one of the slots while the body runs."""
        if self._slots is None:
            yield
            return
        while not self._slots.acquire(blocking=False):
            await asyncio.sleep(0.005)
        try:
            yield
        finally:
            self._slots.release()


_caps: dict[tuple[str, int | None], ConnectionCap] = {}


def connection_cap(system: str, limit: int | None) -> ConnectionCap:
    """The one connection cap of this process for a processor."""
    with _limiters_lock:
        return _caps.setdefault((system, limit), ConnectionCap(limit))


def no_detail(response: httpx.Response) -> str:
    """Nothing read from an error answer: the status says it all."""
    return ""


@dataclass(frozen=True)
class Address:
    """How a processor is reached: base URL, credential, fixed headers, connections at once, its error reader."""

    base_url: str
    auth: httpx.Auth | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    max_connections: int | None = None
    versions: Mapping[str, str] = field(default_factory=dict)  # other API versions its connector asks for, by name
    # A summary of an error answer with no personal data in it (Stripe: its error object's type and code).
    describe: Callable[[httpx.Response], str] = no_detail


def bearer(settings: ProcessorSettings, default_url: str | None = None) -> Address:
    """The usual address: the configured base URL (else the processor's own) and the key as a bearer token."""
    url = str(settings.base_url) if settings.base_url is not None else default_url
    if url is None:
        raise SettingsError("no base URL is set")
    return Address(url, headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"})


class ProcessorClient:
    """HTTP to one processor: sends, retries what is worth retrying, sorts the rest."""

    def __init__(self, system: str, client: httpx.AsyncClient, policy: RetryPolicy,
                 limiter: RateLimiter | None = None, *, address: Address | None = None,
                 cap: ConnectionCap | None = None) -> None:
        self.system = system
        self.address = address or Address(str(client.base_url))
        self._client = client
        self._policy = policy
        self._limiter = limiter or RateLimiter(None)
        self._cap = cap or ConnectionCap(None)
        self.attempts = 0

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET `path`."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST `path`."""
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        """PATCH `path`."""
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        """DELETE `path`."""
        return await self.request("DELETE", path, **kwargs)

    async def request(self, method: str, path: str, *, allow: frozenset[int] = frozenset({404}),
                      shown: str | None = None, **kwargs: Any) -> httpx.Response:
        """Send with retries; return 2xx and the statuses in `allow`, raise the rest sorted.

        `shown` stands for `path` in errors and logs when the path holds something that must not be shown.
        """
        policy = self._policy
        retrying = AsyncRetrying(
            retry=retry_if_exception(policy.worth_waiting),
            stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.total),
            wait=self._wait,
            sleep=policy.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(method, path, allow, kwargs, shown or path)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, Retryable) else None
        return self._policy.wait_for(state.attempt_number, retry_after)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("processor call retried", system=self.system, attempt=state.attempt_number,
                    wait_s=round(wait, 3), reason=str(exc))

    async def _send_once(self, method: str, path: str, allow: frozenset[int],
                         kwargs: dict[str, Any], shown: str) -> httpx.Response:
        where = f"{method} {shown}"  # never the query string: it may hold an e-mail address
        await self._limiter.wait()
        self.attempts += 1
        try:
            async with self._cap.held():
                response = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise Retryable(self.system, f"{where}: timed out") from None
        except (httpx.TransportError, OSError) as exc:
            raise Retryable(self.system, f"{where}: connection failed ({why_unreached(exc)})") from None
        status = response.status_code
        if status < 300 or status in allow:
            return response
        detail = self.address.describe(response)
        failure = f"{where}: HTTP {status}" + (f" ({detail})" if detail else "")
        if status in RETRY_STATUSES:
            delay = retry_after_seconds(response.headers.get("Retry-After"))
            raise Retryable(self.system, failure, retry_after=delay, status=status)
        raise Permanent(self.system, failure, status)


def why_unreached(exc: BaseException) -> str:
    """Why no answer came, from the error and its causes: the host's name, a refused connection, TLS, else its type."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in chain:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, socket.gaierror) for c in chain):
        return "the host name does not resolve (DNS)"
    if any(isinstance(c, ConnectionRefusedError) or "Connection refused" in str(c) for c in chain):
        return "connection refused (nothing listens at that host and port)"
    if any(isinstance(c, ssl.SSLError) for c in chain):
        return f"TLS failed ({next(c for c in chain if isinstance(c, ssl.SSLError)).__class__.__name__})"
    return type(exc).__name__


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one TLS context for processor calls, with httpx's default trust store."""
    # Building a context loads the whole CA bundle: a quarter of a flow run's CPU when every task's
    # client built its own (py-spy of the chaos suite's workers).
    return httpx.create_ssl_context()


@contextlib.asynccontextmanager
async def processor_client(system: str, settings: ProcessorSettings, policy: RetryPolicy | None = None,
                           address: Address | None = None) -> AsyncIterator[ProcessorClient]:
    """A ProcessorClient for `system` at `address` (by default the base URL with a bearer key), closed on exit."""
    if address is None and settings.base_url is None:
        raise SettingsError(f"no base URL for processor {system!r}: set SLETT_PROCESSORS__{system.upper()}__BASE_URL")
    where = address or bearer(settings)
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    # httpx's default pool unless the processor caps its connections.
    limits = httpx.Limits(max_connections=where.max_connections or 100, max_keepalive_connections=20)
    async with httpx.AsyncClient(base_url=where.base_url, timeout=timeout, auth=where.auth, limits=limits,
                                 headers={"User-Agent": "slett", **where.headers}, verify=tls_context(),
                                 transport=_transports.get(system)) as client:
        yield ProcessorClient(system, client, policy or RetryPolicy.of(settings),
                              rate_limiter(system, settings.rate_limit_per_s),
                              address=where, cap=connection_cap(system, where.max_connections))
