"""Two costs of Prefect's flow engine that a worker running many flow runs in one process need not pay.

Both were found with py-spy in the chaos suite's workers and the API, and both are undone on exit.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import prefect.client.orchestration
import prefect.flow_engine
from prefect._flow_run_suspension import FlowRunSuspensionRequest


@contextlib.contextmanager
def _watched_by_the_worker(flow_run_id: UUID, suspension_request: FlowRunSuspensionRequest,
                           polling_interval: float = 10) -> Iterator[None]:
    """Stands in for the engine's per-run suspension observer: the worker looks for its runs' suspension."""
    yield


class SharedTrust:
    """The ssl module as Prefect's client module sees it: one verified TLS context per CA file, built once."""

    def __init__(self) -> None:
        self._made: dict[tuple[ssl.Purpose, str], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(ssl, name)

    def create_default_context(self, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, *, cafile: str | None = None,
                               capath: str | None = None, cadata: str | bytes | None = None) -> ssl.SSLContext:
        """A verified context for `cafile`, the same one each time; any other kind is built anew."""
        if cafile is None or capath is not None or cadata is not None:
            # Prefect changes an unverified context after building it: never share one.
            return ssl.create_default_context(purpose, cafile=cafile, capath=capath, cadata=cadata)
        with self._lock:
            if (purpose, cafile) not in self._made:
                self._made[purpose, cafile] = ssl.create_default_context(purpose, cafile=cafile)
            return self._made[purpose, cafile]


@contextlib.contextmanager
def lighter_engine() -> Iterator[None]:
    """Run flows without the engine's per-run suspension observer, and with one TLS context for API clients."""
    # For each flow run of a deployment, Prefect's engine starts a thread with its own event loop, API client
    # and events subscription, only to notice a suspension set from outside. Forty runs at once made forty
    # subscriptions, and the API filtered every event of the workspace for each: a tenth of the API's CPU.
    # The in-process worker looks for its runs' suspension itself, in one query (_suspension_requested).
    # Every Prefect API client Prefect makes for itself (the result storage's lookup, a lease's renewal)
    # loads the whole CA bundle again: a fifth of a worker's CPU. The context is only read once built.
    engine: Any = prefect.flow_engine
    client: Any = prefect.client.orchestration
    observer, module = engine.observe_flow_run_suspension, client.ssl
    engine.observe_flow_run_suspension, client.ssl = _watched_by_the_worker, SharedTrust()
    try:
        yield
    finally:
        engine.observe_flow_run_suspension, client.ssl = observer, module
