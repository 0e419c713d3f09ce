"""The one door to Prefect's insides: every private name, replaced attribute and overridden private method slett
relies on, checked for the shape slett expects when this module is imported.

Prefect offers no public way to these ends (README, "Prefect's insides"); a Prefect that moves one fails here,
at import, naming it and Prefect's version, rather than in a run. tests/prefect_compat has a test per name.
"""

from __future__ import annotations

import abc
import contextlib
import inspect
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from uuid import UUID

import prefect
import prefect.client.orchestration
import prefect.flow_engine
import prefect.workers.base
from prefect import _flow_run_suspension
from prefect._internal.result_records import ResultRecordMetadata
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun, State
from prefect.context import AsyncClientContext
from prefect.utilities.engine import propose_state as _propose_state
from prefect.workers.base import BaseJobConfiguration, BaseVariables, BaseWorker, BaseWorkerResult

MADE_FOR = "3.9.1"  # the Prefect these insides were read in
C = TypeVar("C", bound=BaseJobConfiguration)
V = TypeVar("V", bound=BaseVariables)
R = TypeVar("R", bound=BaseWorkerResult)


class PrefectInsidesChanged(ImportError):
    """A Prefect inside slett relies on is gone or has changed shape; the message names it and the version."""


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters) if callable(function) else []


def _calls(function: object, call: str) -> bool:
    """Whether Prefect's function still makes this call (its source says so)."""
    try:
        return call in inspect.getsource(function)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return False


# name -> is it there, with the shape slett expects. Each is explained where it is used below.
EXPECTED: dict[str, Callable[[], bool]] = {
    "prefect.flow_engine.observe_flow_run_suspension": lambda: (
        _parameters(getattr(prefect.flow_engine, "observe_flow_run_suspension", None))
        == ["flow_run_id", "suspension_request", "polling_interval"]
        and _calls(prefect.flow_engine.BaseFlowRunEngine.setup_flow_run_suspension_request,
                   "observe_flow_run_suspension(")),
    "prefect._flow_run_suspension.mark_flow_run_suspension_requested": lambda: (
        _parameters(getattr(_flow_run_suspension, "mark_flow_run_suspension_requested", None))
        == ["flow_run_id", "state"]),
    "prefect.client.orchestration.ssl": lambda: (
        getattr(prefect.client.orchestration, "ssl", None) is ssl
        and _calls(PrefectClient.__init__, "ssl.create_default_context(cafile=")),
    "prefect.workers.base.BaseWorker._propose_pending_state": lambda: (
        inspect.iscoroutinefunction(getattr(BaseWorker, "_propose_pending_state", None))
        and _parameters(BaseWorker._propose_pending_state) == ["self", "flow_run"]
        and _calls(BaseWorker._submit_run, "self._propose_pending_state(flow_run)")),
    "prefect.context.AsyncClientContext.client": lambda: (
        "client" in AsyncClientContext.model_fields
        and _calls(prefect.client.orchestration.get_client, "AsyncClientContext.get()")),
    "prefect._internal.result_records.ResultRecordMetadata.storage_key": lambda: (
        "storage_key" in ResultRecordMetadata.model_fields),
    "prefect.utilities.engine.propose_state": lambda: (
        _parameters(_propose_state) == ["client", "state", "flow_run_id", "force"]),
}


def missing(expected: Mapping[str, Callable[[], bool]] = EXPECTED) -> list[str]:
    """The names of `expected` that this Prefect lacks or has in another shape."""
    return [name for name, there in expected.items() if not there()]


def check(expected: Mapping[str, Callable[[], bool]] = EXPECTED) -> None:
    """Raise PrefectInsidesChanged naming every inside of `expected` this Prefect lacks, and its version."""
    gone = missing(expected)
    if gone:
        raise PrefectInsidesChanged(
            f"Prefect {prefect.__version__} lacks, or has changed the shape of, {', '.join(gone)}: slett relies on "
            f"them (prefect_compat, read in Prefect {MADE_FOR}). Pin prefect=={MADE_FOR} or bring prefect_compat "
            "up to date.")


check()

# The engine's answer to a suspension it did not make itself, as Prefect's own suspension gives it.
mark_suspension_requested: Callable[[UUID, State], bool] = _flow_run_suspension.mark_flow_run_suspension_requested
# Propose a state and wait out the API's WAIT answers; Abort on ABORT, the API's state on REJECT.
propose_state = _propose_state


def _watched_by_the_worker(flow_run_id: UUID, suspension_request: object,
                           polling_interval: float = 10) -> contextlib.AbstractContextManager[None]:
    """Stands in for the engine's per-run suspension observer: the worker looks for its runs' suspension."""
    return contextlib.nullcontext()


class SharedTrust:
    """The ssl module as Prefect's client module sees it: one verified TLS context per CA file, built once."""

    def __init__(self) -> None:
        self.made: dict[tuple[ssl.Purpose, str], ssl.SSLContext] = {}
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
            if (purpose, cafile) not in self.made:
                self.made[purpose, cafile] = ssl.create_default_context(purpose, cafile=cafile)
            return self.made[purpose, cafile]


@contextlib.contextmanager
def lighter_engine(trust: SharedTrust | None = None) -> Iterator[None]:
    """Run flows without the engine's per-run suspension observer, and with one TLS context for API clients."""
    # For each flow run of a deployment, Prefect's engine starts a thread with its own event loop, API client
    # and events subscription, only to notice a suspension set from outside; no setting turns it off. Forty runs
    # at once made forty subscriptions, and the API filtered every event of the workspace for each: a tenth of
    # the API's CPU. The in-process worker looks for its runs' suspension itself, in one query.
    # Every Prefect API client Prefect makes for itself (the result storage's lookup, a lease's renewal) loads
    # the whole CA bundle again (PrefectClient.__init__; only a client given httpx_settings with a context of
    # its own is spared, and Prefect's own clients are not): a fifth of a worker's CPU.
    engine: Any = prefect.flow_engine
    client: Any = prefect.client.orchestration
    observer, module = engine.observe_flow_run_suspension, client.ssl
    engine.observe_flow_run_suspension, client.ssl = _watched_by_the_worker, trust or SharedTrust()
    try:
        yield
    finally:
        engine.observe_flow_run_suspension, client.ssl = observer, module


class PendingHook(BaseWorker[C, V, R], abc.ABC):  # abc.ABC: Prefect registers no worker type for it
    """A worker told, through `on_pending`, of each run the moment Prefect has set it Pending for this worker."""

    async def _propose_pending_state(self, flow_run: FlowRun) -> bool:
        # Prefect's next step after Pending resolves the run's job (API calls) before it labels the run as the
        # worker's: no public hook runs in between (setup and run() come before and after).
        pending = bool(await super()._propose_pending_state(flow_run))
        if pending:
            await self.on_pending(flow_run)
        return pending

    async def on_pending(self, flow_run: FlowRun) -> None:
        """Called once Prefect has accepted Pending for this worker; nothing by default."""


@contextlib.contextmanager
def sharing_client(client: PrefectClient) -> Iterator[None]:
    """Within, get_client() hands out `client` (already entered) instead of making a new one."""
    # AsyncClientContext's constructor makes a client of its own (and keeps its httpx settings, which
    # get_client() must then be given again); model_construct takes the one we have, connected once.
    with AsyncClientContext.model_construct(client=client):
        yield


def stored_key(state: State | None) -> str | None:
    """The storage key of a state's persisted result: for a task with a cache key, that key."""
    # Prefect 3 records no cache key on a task run (TaskRun.cache_key and StateDetails.cache_key stay empty);
    # the key shows only as the name its result was stored under.
    data = state.data if state is not None else None
    key = data.storage_key if isinstance(data, ResultRecordMetadata) else None
    return str(key) if key else None
