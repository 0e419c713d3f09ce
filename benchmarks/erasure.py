"""single_erasure_s: from the receiver's 202 to the run verified complete, one settled member at a time."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from benchmarks.ack import percentile
from sandbox.webhooks import signature
from sandbox.world import Sandbox
from triggers.dispatch import run_of_webhook

DEMO = ("exceline", "ibooking", "mailchimp", "nets", "physica")


def deliver(url: str, secret: str, member_id: str, tries: int = 10) -> tuple[float, str, UUID | None]:
    """Send member.terminated for a member; when the receiver accepted it, the webhook id and the run it
    started (None when the receiver answered `queued`). A 503 is delivered again after its Retry-After, re-signed,
    as a sender does (a loaded machine's Prefect can be slower than the receiver's patience)."""
    body = json.dumps({"type": "member.terminated", "timestamp": datetime.now(UTC).isoformat(),
                       "data": {"controller": "demo", "member_id": member_id}}).encode()
    webhook_id = f"msg_single_{member_id}"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    for _ in range(tries):
        stamp = int(time.time())
        answer = httpx.post(f"{url}/webhooks/membership", content=body, timeout=30, headers={
            "webhook-id": webhook_id, "webhook-timestamp": str(stamp),
            "webhook-signature": signature(key, webhook_id, stamp, body), "content-type": "application/json"})
        if answer.status_code != 503:
            break
        time.sleep(min(30.0, float(answer.headers.get("retry-after", "1"))))
    accepted = time.time()
    answer.raise_for_status()
    run_id = answer.json()["flow_run_id"]
    return accepted, webhook_id, UUID(run_id) if run_id else None


async def finished(run_id: UUID, timeout_s: float) -> tuple[str, float]:
    """Wait for the run to end; its state and when it ended (Unix seconds)."""
    deadline = time.monotonic() + timeout_s
    async with get_client() as client:
        while time.monotonic() < deadline:
            run = await client.read_flow_run(run_id)
            if run.state and run.state.is_final():
                return run.state.name or run.state.type.value, (run.end_time or run.state.timestamp).timestamp()
            await asyncio.sleep(0.25)
    return "TIMED OUT", time.time()


class Endings:
    """Waits for many runs to end with one API call a second for all of them: the load's own polling must not be
    what the server spends its CPU on (a read per run every 0.25 s was the API's largest cost in the CPU section)."""

    def __init__(self, poll_s: float = 1.0) -> None:
        self.poll_s = poll_s
        self._waiting: dict[UUID, asyncio.Future[tuple[str, float]]] = {}
        self._loop: asyncio.Task[None] | None = None

    async def ended(self, run_id: UUID, timeout_s: float) -> tuple[str, float]:
        """The run's final state and when it ended (Unix seconds), or TIMED OUT."""
        future = self._waiting[run_id] = asyncio.get_running_loop().create_future()
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._watch())
        try:
            return await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return "TIMED OUT", time.time()
        finally:
            self._waiting.pop(run_id, None)

    async def _watch(self) -> None:
        async with get_client() as client:
            while self._waiting:
                await asyncio.sleep(self.poll_s)
                ids = list(self._waiting)
                runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)),
                                                   limit=len(ids))
                for run in runs:
                    future = self._waiting.get(run.id)
                    if future is not None and not future.done() and run.state and run.state.is_final():
                        ended = (run.end_time or run.state.timestamp).timestamp()
                        future.set_result((run.state.name or run.state.type.value, ended))


async def single_erasures(sandbox: Sandbox, url: str, secret: str, count: int, at_once: int,
                          latency_s: float) -> dict[str, Any]:
    """`count` settled members with a journal (all five processors), `at_once` in flight; latency per call."""
    for system in DEMO:
        sandbox.faults[system].configure(latency=(latency_s, latency_s))
    members = [sandbox.add_member(journal=True).member_id for _ in range(count)]
    gate = asyncio.Semaphore(at_once)
    seconds: list[float] = []
    states: list[str] = []
    endings = Endings()

    async def one(member_id: str) -> None:
        async with gate:
            accepted, webhook_id, run_id = await asyncio.to_thread(deliver, url, secret, member_id)
            run_id = run_id or (await run_of_webhook(webhook_id, 120)).id
            state, ended = await endings.ended(run_id, 300)
            states.append(state)
            # Every request counts, a failed or timed-out one as long as it took: the percentiles hide nothing.
            seconds.append(ended - accepted)

    await asyncio.gather(*(one(member) for member in members))
    for system in DEMO:
        sandbox.faults[system].configure(latency=(0.0, 0.0))
    return {"p50": round(percentile(seconds, 0.50), 2) if seconds else None,
            "p95": round(percentile(seconds, 0.95), 2) if seconds else None,
            "max": round(max(seconds), 2) if seconds else None, "requests": count, "at_once": at_once,
            "completed": states.count("Completed"), "states": {s: states.count(s) for s in set(states)},
            "processors": list(DEMO), "sandbox_latency_ms": round(latency_s * 1000)}
