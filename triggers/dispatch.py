"""From a verified event to Prefect: start (at most once) or resume a member's erasure.

One erasure request per member at a time. A delivery of member.terminated or erasure.requested
  1. reads the member's erase-member runs (tagged `member:<controller>:<id>`, however they were started);
  2. answers with the member's pending request if there is one (any state but Completed or
     Cancelled: a failed request waits for an operator's retry, not for a second run);
  3. answers with the run its webhook-id already started (tag `webhook:<id>`), or with the member's
     last finished request if the event happened before that request finished: it is covered;
  4. otherwise starts request number n + 1 (n: the highest number among the member's requests), with
     the request id `<controller>-<subject reference>-<n + 1>` as the flow run's idempotency key. The
     request id names every artifact and evidence record, so it carries the keyed-HMAC reference
     (`sr-...`), never the member id.
Concurrent deliveries (in one receiver or several) that pass step 3 compute the same n, so Prefect's
idempotency key (unique per flow) hands every one of them the same run: 20 identical deliveries start
one run, and so do a member.terminated and an erasure.requested for the same member arriving together.
A request that has finished no longer blocks: the member's next termination gets request n + 1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

import httpx
import structlog
from prefect import get_client
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from pydantic import SecretStr

from config.deployments import ERASE_MEMBER, WITHDRAW_MARKETING, member_tag, webhook_tag
from domain.values import subject_reference
from prefect_compat import sharing_client
from queries.runs import erasure_runs, member_runs, settle, start_erasure, start_withdrawal
from triggers.events import MEMBER_EVENTS, MemberEvent, SettledEvent, Verified, WithdrawnEvent

CLOSED = {StateType.COMPLETED, StateType.CANCELLED}
WEBHOOK_CONFIRMS = "membership-webhook"
log = structlog.get_logger("slett.receiver")


@dataclass(frozen=True)
class Receipt:
    """What a delivery did: the erasure run it started or found, or the runs it resumed."""

    status: Literal["started", "pending", "done", "resumed", "queued"]
    flow_run_id: UUID | None = None
    request_id: str | None = None
    resumed: tuple[UUID, ...] = field(default_factory=tuple)


class DispatchUnavailable(Exception):
    """Prefect could not be asked; nothing was started, and the sender should deliver again."""


class Dispatcher(Protocol):
    """Where verified events go: Prefect in production, a recording fake in tests."""

    async def request_erasure(self, webhook_id: str, event: MemberEvent) -> Receipt:
        """Start the member's erasure, or answer with the request that already covers it."""

    async def settle(self, webhook_id: str, event: SettledEvent) -> Receipt:
        """Resume the member's erasures that wait for settlement."""

    async def withdraw_marketing(self, webhook_id: str, event: WithdrawnEvent) -> Receipt:
        """Start the member's withdrawal of marketing, or answer with the request that already covers it."""


async def dispatch(dispatcher: Dispatcher, webhook_id: str, event: Verified) -> Receipt:
    """Hand a verified event to the dispatcher's method for its type."""
    if isinstance(event, SettledEvent):
        return await dispatcher.settle(webhook_id, event)
    if isinstance(event, WithdrawnEvent):
        return await dispatcher.withdraw_marketing(webhook_id, event)
    return await dispatcher.request_erasure(webhook_id, event)


async def run_of_webhook(webhook_id: str, timeout_s: float, poll_s: float = 0.5) -> FlowRun:
    """The erase-member or withdraw-marketing run a queued delivery started, once the outbox has handed it to
    Prefect."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        tagged = await erasure_runs(FlowRunFilter(tags=FlowRunFilterTags(all_=[webhook_tag(webhook_id)])),
                                    deployments=(ERASE_MEMBER, WITHDRAW_MARKETING))
        if tagged:
            return tagged[0]
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"webhook {webhook_id} started no run within {timeout_s:.0f} s")
        await asyncio.sleep(poll_s)


def covering_run(runs: Sequence[FlowRun], webhook_id: str, happened: datetime) -> FlowRun | None:
    """The member's run that already answers this delivery (steps 2 and 3 above), if any."""
    pending = [run for run in runs if _state(run) not in CLOSED]
    if pending:
        return min(pending, key=_started)
    same_webhook = [run for run in runs if webhook_tag(webhook_id) in run.tags]
    if same_webhook:
        return same_webhook[0]
    finished = [run for run in runs if _state(run) == StateType.COMPLETED and run.end_time]
    last = max(finished, key=_started, default=None)
    return last if last is not None and last.end_time is not None and happened <= last.end_time else None


def next_request_id(controller: str, subject_ref: str, runs: Sequence[FlowRun]) -> str:
    """The id of the member's next request, one past the highest so far: also its idempotency key, so
    concurrent deliveries share it."""
    prefix = f"{controller}-{subject_ref}-"
    numbers = [int(number) for run in runs if (request_id := _request_id(run) or "").startswith(prefix)
               and (number := request_id.removeprefix(prefix)).isascii() and number.isdigit()]
    return f"{controller}-{subject_ref}-{max(numbers, default=0) + 1}"


class PrefectDispatcher:
    """Starts and resumes erase-member runs through the Prefect API at `api_url`, over one client."""

    def __init__(self, api_url: str, timeout_s: float, at_once: int = 1, *, subject_key: SecretStr,
                 httpx_settings: dict[str, Any] | None = None) -> None:
        self.api_url = api_url
        self.timeout_s = timeout_s
        self._subject_key = subject_key
        self._httpx_settings = httpx_settings
        # Prefect on SQLite answers 503 ("database is locked") to concurrent writers: deliveries queue
        # here instead, one at a time by default, within the same deadline.
        self._gate = asyncio.Semaphore(at_once)
        self._client: PrefectClient | None = None

    async def request_erasure(self, webhook_id: str, event: MemberEvent) -> Receipt:
        """Steps 1 to 4 of the module's docstring."""
        member = event.data
        subject = subject_reference(self._subject_key, member.controller, member.member_id)
        async with self._prefect():
            runs = await member_runs(member.controller, member.member_id)
            found = covering_run(runs, webhook_id, event.timestamp)
            if found is not None:
                return Receipt(_pending_or_done(found), found.id, _request_id(found))
            run = await start_erasure(
                member.controller, member.member_id, MEMBER_EVENTS[event.type].value,
                next_request_id(member.controller, subject, runs),
                tags=(member_tag(member.controller, member.member_id), webhook_tag(webhook_id)))
        if webhook_tag(webhook_id) in run.tags:
            return Receipt("started", run.id, _request_id(run))
        # Prefect handed back the run another delivery started for this key, which may have finished since.
        return Receipt(_pending_or_done(run), run.id, _request_id(run))

    async def settle(self, webhook_id: str, event: SettledEvent) -> Receipt:
        """Resume with a Settlement as run input; each run checks the invoice again itself."""
        paid = event.data
        async with self._prefect():
            resumed = await settle(paid.member_id, paid.controller, WEBHOOK_CONFIRMS, paid.invoice_id)
        return Receipt("resumed", resumed=tuple(resumed))

    async def withdraw_marketing(self, webhook_id: str, event: WithdrawnEvent) -> Receipt:
        """Steps 1 to 4 of the module's docstring, for the member's withdraw-marketing runs: request ids
        `<controller>-<subject reference>-withdrawal-<n>`, so they never share an erasure's artifacts."""
        member = event.data
        subject = subject_reference(self._subject_key, member.controller, member.member_id)
        async with self._prefect():
            runs = await member_runs(member.controller, member.member_id, deployment=WITHDRAW_MARKETING)
            found = covering_run(runs, webhook_id, event.timestamp)
            if found is not None:
                return Receipt(_pending_or_done(found), found.id, _request_id(found))
            run = await start_withdrawal(
                member.controller, member.member_id, next_request_id(member.controller, f"{subject}-withdrawal", runs),
                tags=(member_tag(member.controller, member.member_id), webhook_tag(webhook_id)))
        if webhook_tag(webhook_id) in run.tags:
            return Receipt("started", run.id, _request_id(run))
        return Receipt(_pending_or_done(run), run.id, _request_id(run))

    async def aclose(self) -> None:
        """Close the client (at the receiver's shutdown)."""
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(None, None, None)

    @contextlib.asynccontextmanager
    async def _prefect(self) -> AsyncIterator[None]:
        """Talk to this dispatcher's Prefect API, and turn "cannot reach it" into DispatchUnavailable."""
        try:
            # Prefect's client retries with growing waits; the sender retries too, so give up early.
            async with asyncio.timeout(self.timeout_s), self._gate:
                # One client for every delivery (a new one costs tens of ms): within this context
                # queries/runs.py's get_client() hands out this client.
                with sharing_client(await self._connected()):
                    yield
        except (httpx.TransportError, TimeoutError) as error:
            raise DispatchUnavailable(f"the Prefect API at {self.api_url} did not answer: "
                                      f"{type(error).__name__}") from None
        except httpx.HTTPStatusError as error:
            status = error.response.status_code
            if status < 500:
                # A refusal is no reason to lose the delivery: the sender delivers again while someone looks.
                log.error("prefect refused a webhook's call", status=status, method=error.request.method,
                          path=error.request.url.path)
            raise DispatchUnavailable(f"the Prefect API answered {status}") from None
        except ObjectNotFound:
            raise DispatchUnavailable("the erase-member deployment is not registered yet") from None

    async def _connected(self) -> PrefectClient:
        if self._client is None:
            with temporary_settings(updates={PREFECT_API_URL: self.api_url}):
                client = get_client(httpx_settings=self._httpx_settings)
            await client.__aenter__()
            if self._client is None:
                self._client = client
            else:  # another delivery connected meanwhile
                await client.__aexit__(None, None, None)
        return self._client


def _pending_or_done(run: FlowRun) -> Literal["pending", "done"]:
    return "pending" if _state(run) not in CLOSED else "done"


def _state(run: FlowRun) -> StateType | None:
    return run.state.type if run.state else None


def _started(run: FlowRun) -> datetime:
    return run.created or datetime.min.replace(tzinfo=UTC)


def _request_id(run: FlowRun) -> str | None:
    value = run.parameters.get("request_id")
    return str(value) if value else None
