"""webhook_ack_ms: signed POST /webhooks/membership at a fixed rate (open loop), with Prefect behind it.

The load is plain asyncio streams, one connection per delivery as a membership system's webhook sender
opens them: a pooled HTTP client juggling thousands of waiting requests costs more CPU than the receiver.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchmarks.procs import cpu_seconds
from benchmarks.profile import wrapped
from benchmarks.stack import ProofStack, free_port
from sandbox.webhooks import signature
from triggers.outbox import Outbox

PATH = "/webhooks/membership"


@dataclass(frozen=True)
class Load:
    """A fixed request rate for a fixed time."""

    rate_per_s: float = 100.0
    seconds: float = 30.0
    timeout_s: float = 15.0

    @property
    def requests(self) -> int:
        """How many requests the load sends."""
        return int(self.rate_per_s * self.seconds)


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def delivery(secret: str, number: int, port: int) -> bytes:
    """One signed member.terminated delivery for a member of its own, as HTTP/1.1 bytes."""
    body = json.dumps({"type": "member.terminated", "timestamp": datetime.now(UTC).isoformat(),
                       "data": {"controller": "demo", "member_id": f"B{number:06d}"}}).encode()
    webhook_id, stamp = f"msg_bench_{number:06d}", int(time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nwebhook-id: {webhook_id}\r\nwebhook-timestamp: {stamp}\r\n"
            f"webhook-signature: {signature(key, webhook_id, stamp, body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body


def start_receiver(stack: ProofStack, secret: str, profile: Path | None = None) -> str:
    """Start `slett receiver` (profiled into `profile` if given) against the stack's Prefect API; its base URL
    once it answers."""
    port = free_port()
    stack.env.update({"SLETT_WEBHOOK_SECRETS": secret, "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore"})
    process = stack.start("receiver", *wrapped("cli.main", profile), "receiver", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the receiver exited ({process.returncode}); see {stack.logs}/receiver.log")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the receiver did not answer /healthz within 60 s")


def percentile(values: list[float], share: float) -> float:
    """The value at `share` (0-1) of the sorted values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


async def _post(port: int, request: bytes, timeout_s: float) -> str:
    """Send one delivery; the answer's status code, or what went wrong."""
    async def exchange() -> str:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
        finally:
            writer.close()
        return status_line.split()[1].decode() if status_line.count(b" ") >= 1 else "no answer"

    try:
        return await asyncio.wait_for(exchange(), timeout_s)
    except TimeoutError:
        return "timeout"
    except OSError as error:
        return type(error).__name__


async def hammer(url: str, secret: str, load: Load, pids: dict[str, int]) -> dict[str, Any]:
    """Send the load open loop (each delivery at its own moment, answered or not); latency from that moment
    to the status line, of every delivery (one that timed out counts at the timeout, so a failure cannot
    hide from the percentiles). Also the CPU the named processes used per delivery."""
    port = int(url.rsplit(":", 1)[1])
    latencies: list[float] = []
    answers: Counter[str] = Counter()
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.perf_counter() + 0.5

    async def one(number: int) -> None:
        request = delivery(secret, number, port)
        due = start + number / load.rate_per_s
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        answer = await _post(port, request, load.timeout_s)
        answers[answer] += 1
        latencies.append((time.perf_counter() - due) * 1000)

    await asyncio.gather(*(one(number) for number in range(load.requests)))
    took = time.perf_counter() - start
    cpu = {name: round((cpu_seconds(pid) - cpu_before[name]) * 1000 / load.requests, 1)
           for name, pid in pids.items()}
    return {"p50": round(percentile(latencies, 0.50), 1) if latencies else None,
            "p99": round(percentile(latencies, 0.99), 1) if latencies else None,
            "max": round(max(latencies), 1) if latencies else None,
            "requests": load.requests, "accepted": answers["202"], "answers": dict(answers),
            "rate_per_s": load.rate_per_s, "seconds": load.seconds, "took_s": round(took, 1),
            "cpu_ms_per_delivery": cpu}


async def handed_over(outbox: Path, expected: int, within_s: float) -> dict[str, Any]:
    """After the load: wait (bounded) until the receiver's outbox is empty; how long that took, how many runs
    Prefect then holds and how many deliveries are still queued (a 202 must never be lost)."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    started = time.monotonic()
    erase_member = DeploymentFilter(name=DeploymentFilterName(any_=["erase-member"]))
    async with get_client() as client:
        while True:
            runs = await client.count_flow_runs(deployment_filter=erase_member)
            if runs >= expected or time.monotonic() - started > within_s:
                break
            await asyncio.sleep(1)
    with contextlib.closing(Outbox(outbox)) as kept:
        queued = len(kept)
    return {"runs_started": runs, "still_queued": queued, "drained_in_s": round(time.monotonic() - started, 1)}
