"""Latency of POST /webhooks/membership: signed member.terminated deliveries against `slett receiver`
with a Prefect server behind it, on loopback, bounded in count, concurrency and time.

    python -m benchmarks.webhook_latency                    # starts a stack under a temporary folder
    python -m benchmarks.webhook_latency --count 1000 --concurrency 8 --budget-s 300
    python -m benchmarks.webhook_latency --url http://127.0.0.1:8800 --secret-file .slett/secrets/slett_webhook_secrets

Each delivery is for a new member, so each one becomes an erase-member run. The receiver answers once the
delivery is verified, validated and in its outbox (triggers/outbox.py); with a stack of its own the tool
then waits (bounded) until every accepted delivery is a run in Prefect. No flow runs execute.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from benchmarks.ack import handed_over
from cli.stack import Stack, local_stack, webhook_secret
from triggers.signature import sign

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WARM_UP = 10


def delivery(key: bytes, n: int, run_tag: str) -> tuple[bytes, dict[str, str]]:
    """The n-th member.terminated, signed now."""
    body = json.dumps({"type": "member.terminated", "timestamp": datetime.now(UTC).isoformat(),
                       "data": {"controller": "demo", "member_id": f"B{run_tag}{n:05d}"}}).encode()
    webhook_id, now = f"msg_bench_{run_tag}_{n}", int(time.time())
    return body, {"content-type": "application/json", "webhook-id": webhook_id,
                  "webhook-timestamp": str(now), "webhook-signature": sign(key, webhook_id, now, body)}


async def measure(url: str, key: bytes, count: int, concurrency: int, budget_s: float) -> dict[str, object]:
    """Send `count` deliveries, at most `concurrency` at once, within `budget_s`; latencies in ms."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    gate = asyncio.Semaphore(concurrency)
    run_tag = datetime.now(UTC).strftime("%H%M%S")

    async def one(client: httpx.AsyncClient, n: int) -> None:
        async with gate:
            body, headers = delivery(key, n, run_tag)  # signed when sent, as a sender signs each attempt
            started = time.perf_counter()
            answer = await client.post("/webhooks/membership", content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[answer.status_code] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        for n in range(WARM_UP):  # warm-up: connections, the deployment lookup, SQLite's caches
            await one(client, count + n)
        latencies.clear()
        statuses.clear()
        started = time.perf_counter()
        async with asyncio.timeout(budget_s):
            await asyncio.gather(*(one(client, n) for n in range(count)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {"requests": len(ordered), "concurrency": concurrency, "statuses": dict(statuses),
            "p50_ms": round(statistics.median(ordered), 1),
            "p90_ms": round(ordered[int(0.90 * (len(ordered) - 1))], 1),
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
            "max_ms": round(ordered[-1], 1), "per_s": round(len(ordered) / elapsed, 1)}


def main(argv: list[str] | None = None) -> int:
    """Measure, print one JSON line, exit 0 when every delivery got 202."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--budget-s", type=float, default=300, help="give up after this long")
    parser.add_argument("--url", help="a running receiver (default: start a stack under a temporary folder)")
    parser.add_argument("--secret-file", type=Path, help="its whsec_ secret, with --url")
    parser.add_argument("--home", type=Path, help="keep the started stack's database and logs here")
    parser.add_argument("--prefect-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the started stack's processes, e.g. a Prefect server service switch")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 10_000 or not 1 <= args.concurrency <= 64:
        parser.error("--count must be 1..10000 and --concurrency 1..64")
    with ExitStack() as cleanup:
        url, secret_file, stack = args.url, args.secret_file, None
        if url is None:
            extra = dict(setting.split("=", 1) for setting in args.prefect_env)
            stack = cleanup.enter_context(_receiver_with_prefect(args.home, extra))
            url, secret_file = stack.receiver_url, webhook_secret(stack.home)
        if urlsplit(url).hostname not in LOOPBACK or secret_file is None:
            parser.error("loopback only (--url http://127.0.0.1:PORT), with --secret-file")
        key = base64.b64decode(secret_file.read_text().split()[0].removeprefix("whsec_"))
        result: dict[str, object] = asyncio.run(measure(url, key, args.count, args.concurrency, args.budget_s))
        if stack is not None:
            with stack.as_client():
                result["after_load"] = asyncio.run(handed_over(
                    Path(stack.env["SLETT_WEBHOOK_OUTBOX"]), args.count + WARM_UP, args.budget_s))
    sys.stdout.write(json.dumps(result) + "\n")
    return 0 if result["statuses"] == {202: args.count} else 1


@contextlib.contextmanager
def _receiver_with_prefect(home: Path | None, extra_env: dict[str, str]) -> Iterator[Stack]:
    """A local stack under `home` (default: a temporary folder): Prefect server, receiver, sandbox, and
    erase-member registered but not served."""
    from flows.catalog import load

    async def register() -> None:
        deployment = await load("erase-member").ato_deployment(name="erase-member")
        await deployment.apply()  # type: ignore[misc]

    with tempfile.TemporaryDirectory(prefix="slett-bench-") as folder:
        where = home or Path(folder)
        with local_stack(where, serve=False, any_ports=True, extra_env=extra_env) as stack:
            with stack.as_client():
                asyncio.run(register())
            yield stack


if __name__ == "__main__":
    sys.exit(main())
