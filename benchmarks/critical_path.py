"""Processor calls per erasure and their critical path, per chain and kind of member: what makes an erasure slow
under a slow processor, counted the same on a loaded machine as on an idle one.

Every processor answers after the same fixed latency, without faults; a run is driven here (no worker), its
person's steps confirmed and its invoice settled at once. The critical path is the time some call was in flight
divided by the latency: how many calls one erasure makes one after the other. Under the chaos suite's faults each
of those costs about a second of latency plus its retries' waits.

    python -m benchmarks.critical_path                  # every chain's kinds of member in the chaos suite
    python -m benchmarks.critical_path --chains demo,k24 --out /tmp/critical-path.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

LATENCY_S = 0.1


class Recorded(httpx.AsyncBaseTransport):
    """A transport that notes each call to a processor: system, method, path and when it was in flight."""

    def __init__(self, system: str, inner: httpx.AsyncBaseTransport, calls: list[tuple[str, str, float, float]]):
        self.system, self.inner, self.calls = system, inner, calls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request on; note it once answered (or failed)."""
        began = time.monotonic()
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.calls.append((self.system, request.method, began, time.monotonic()))


def sequential_calls(spans: Iterable[tuple[float, float]], latency_s: float) -> float:
    """How many calls in a row the spans amount to: the time at least one was in flight over one call's latency."""
    covered, reached = 0.0, float("-inf")
    for began, ended in sorted(spans):
        covered += max(0.0, ended - max(began, reached))
        reached = max(reached, ended)
    return covered / latency_s


def _environment(home: str) -> None:
    """Settings for the in-process sandbox and a throwaway Prefect home (before Prefect is imported)."""
    from config.server import SQLITE_SERVER_ENV
    from sandbox.people import SYSTEMS

    os.environ.update({"PREFECT_HOME": home, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                       "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore", "PREFECT_LOGGING_LEVEL": "WARNING",
                       "SLETT_SUBJECT_KEY": "critical-path-subject-key-not-a-secret-0123",
                       "SLETT_LEDGER_URL": f"sqlite:///{home}/ledger.sqlite3", "SLETT_JOB_POLL_INTERVAL_S": "0.01",
                       **SQLITE_SERVER_ENV})
    for system in SYSTEMS:
        os.environ[f"SLETT_PROCESSORS__{system.upper()}__BASE_URL"] = f"http://{system}.sandbox"
        os.environ[f"SLETT_PROCESSORS__{system.upper()}__API_KEY"] = f"bench-key-{system}"


async def measure(chains: list[str], kinds: tuple[str, ...]) -> dict[str, Any]:
    """Per chain, kind of member and kind of request: calls, sequential calls, suspensions and what they wait for."""
    from uuid import uuid4

    from prefect import get_client
    from prefect.exceptions import Pause
    from prefect.flow_engine import run_flow

    from benchmarks.chaos import CONFIRMATION, PROFILES
    from connectors.http import use_transports
    from flows.catalog import load
    from sandbox.world import Sandbox

    deployment = await (await load("erase-member").ato_deployment(name="erase-member")).apply()  # type: ignore[misc]
    world = Sandbox()
    for faults in world.faults.values():
        faults.configure(latency=(LATENCY_S, LATENCY_S))
    calls: list[tuple[str, str, float, float]] = []
    found: dict[str, Any] = {}

    async def run_once(flow_run: Any) -> Any:
        try:
            state = await run_flow(load("erase-member"), flow_run=flow_run, return_type="state")  # type: ignore[misc]
        except Pause as pause:
            state = pause.state
        return state

    with use_transports({system: Recorded(system, transport, calls) for system, transport in
                         world.transports().items()}):
        async with get_client() as client:
            for chain in chains:
                for profile, _, options in PROFILES[chain]:
                    for kind in kinds:
                        member = world.add_member(chain=chain, **options)
                        request_id = f"path-{chain}-{uuid4().hex[:8]}"
                        flow_run = await client.create_flow_run_from_deployment(deployment, parameters={
                            "controller": chain, "member_id": member.member_id, "kind": kind,
                            "request_id": request_id}, idempotency_key=request_id)
                        calls.clear()
                        state, segments, waits = await run_once(flow_run), [], []
                        while state.is_paused():
                            segments.append(list(calls))
                            calls.clear()
                            key = str(state.state_details.pause_key or "")
                            waits.append(key)
                            if key.startswith("settlement"):
                                world.settle(member.member_id)
                                answer: dict[str, Any] = {"confirmed_by": "critical path"}
                            else:
                                answer = {**CONFIRMATION, "done_on": time.strftime("%Y-%m-%d")}
                            await client.resume_flow_run(flow_run.id, run_input=answer)
                            state = await run_once(await client.read_flow_run(flow_run.id))
                        segments.append(list(calls))
                        made = [call for segment in segments for call in segment]
                        name = f"{chain}/{profile}/{kind}"
                        found[name] = {
                            "state": state.name, "calls": len(made),
                            "sequential_calls": round(sum(sequential_calls(((c[2], c[3]) for c in segment),
                                                                           LATENCY_S) for segment in segments), 1),
                            "suspensions": waits,
                            "calls_by_system": dict(sorted(Counter(f"{c[0]} {c[1]}" for c in made).items()))}
                        sys.stdout.write(f"{name}: {len(made)} calls, {found[name]['sequential_calls']} in a row, "
                                         f"{len(waits)} suspension(s) {waits}\n")
                        sys.stdout.flush()
    return found


def main(argv: list[str] | None = None) -> int:
    """Measure and write the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.critical_path", description=__doc__.split("\n")[0])
    parser.add_argument("--chains", default="all", help="all, or some of demo,k24,aktiv365,spenst,mova,vekstly")
    parser.add_argument("--kinds", default="termination,erasure")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    home = tempfile.mkdtemp(prefix="slett-critical-path-")
    _environment(home)
    import asyncio

    from prefect.testing.utilities import prefect_test_harness

    from benchmarks.chaos import PROFILES

    chains = list(PROFILES) if args.chains == "all" else args.chains.split(",")
    with prefect_test_harness(server_startup_timeout=180):
        found = asyncio.run(measure(chains, tuple(args.kinds.split(","))))
    result = {"latency_s": LATENCY_S, "erasures": found,
              "command": "python -m benchmarks.critical_path " + " ".join(argv if argv is not None else sys.argv[1:])}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(r["state"] == "Completed" for r in found.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
