"""cpu_s_per_erasure: the CPU time every slett and Prefect process spends on one erasure, without faults.

The stack is the scale configuration (PostgreSQL and Redis when they answer: the server split in an API and
a services process), two slett workers and the webhook receiver. Each erasure comes in as a signed webhook
for a settled member of the demo chain (five processors); the CPU time of each process and everything it
started is read from /proc before the first and after the last has ended.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect.settings import PREFECT_API_URL, temporary_settings

from benchmarks.ack import new_secret, start_receiver
from benchmarks.erasure import single_erasures
from benchmarks.procs import cpu_seconds, descendants
from benchmarks.rows import prefect_rows
from benchmarks.stack import ProofStack, proof_stack, register
from sandbox.world import Sandbox

# A process's name in the stack -> the role it is counted under.
ROLES = {"server": "api", "services": "services", "receiver": "receiver"}
WARM_UP = 2  # erasures before the count: the first runs import flows and read deployments once


@dataclass(frozen=True)
class CpuLoad:
    """How many erasures are counted, how many are in flight at once, and how long the stack rests after."""

    erasures: int = 40
    at_once: int = 8
    settle_s: float = 10.0  # after the last run ended: the services still record its events
    idle_s: float = 10.0  # an idle window before the load: what the stack costs doing nothing


def role_of(name: str) -> str:
    """The role a stack process counts under: api, services, receiver or workers."""
    return "workers" if name.startswith("worker") else ROLES.get(name, name)


def cpu_by_role(stack: ProofStack) -> dict[str, float]:
    """CPU seconds used so far by each role's processes and everything they started."""
    used: dict[str, float] = {}
    for name, process in stack.processes.items():
        if process.poll() is None:
            seconds = sum(cpu_seconds(pid) for pid in (process.pid, *descendants(process.pid)))
            used[role_of(name)] = used.get(role_of(name), 0.0) + seconds
    return used


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each role used between two readings."""
    return {role: after[role] - before.get(role, 0.0) for role in sorted(after)}


def per_erasure(used: dict[str, float], idle: dict[str, float], idle_s: float, window_s: float,
                erasures: int) -> dict[str, Any]:
    """The figures: CPU seconds per erasure in total and by role, and the share the idle stack would have used."""
    total = sum(used.values())
    idle_rate = sum(idle.values()) / idle_s if idle_s else 0.0
    return {"cpu_s_per_erasure": round(total / erasures, 3),
            "by_role": {role: round(seconds / erasures, 3) for role, seconds in used.items()},
            "cpu_s_total": round(total, 1), "window_s": round(window_s, 1),
            "idle_cpu_s_per_s": round(idle_rate, 3),
            "cpu_s_per_erasure_above_idle": round(max(0.0, total - idle_rate * window_s) / erasures, 3)}


def cpu_section(db: str, load: CpuLoad, profiles: Path | None = None) -> dict[str, Any]:
    """Erasures through receiver and workers on the scale stack; CPU seconds per erasure across its processes
    (with `profiles`, the server, services and workers run under cProfile into that folder: slower, for shares)."""
    secret, sandbox = new_secret(), Sandbox()
    with proof_stack(sandbox, workers=2, worker_limit=8, db=db, messaging="auto", profiles=profiles,
                     cprofile=profiles is not None) as stack, \
            temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
        asyncio.run(register(("erase-member", "release-holds", "recover-crashed"), 90))
        url = start_receiver(stack, secret)
        asyncio.run(single_erasures(sandbox, url, secret, WARM_UP, WARM_UP, 0.0))
        time.sleep(load.settle_s)
        rested = cpu_by_role(stack)
        time.sleep(load.idle_s)
        before, began = cpu_by_role(stack), time.monotonic()
        runs = asyncio.run(single_erasures(sandbox, url, secret, load.erasures, load.at_once, 0.0))
        time.sleep(load.settle_s)
        after, window_s = cpu_by_role(stack), time.monotonic() - began
        figures = per_erasure(spent(before, after), spent(rested, before), load.idle_s, window_s, load.erasures)
        # What the erasures (warm-up included) and the stack's own runs left in Prefect, per erasure.
        rows = asyncio.run(prefect_rows(stack.api_url, WARM_UP + load.erasures))["per_request"]
        return {**figures, "prefect_rows_per_erasure": rows,
                "erasures": load.erasures, "at_once": load.at_once, "completed": runs["completed"],
                "states": runs["states"], "database": stack.database_url.split(":", 1)[0].split("+", 1)[0],
                "server": "api and services over redis" if stack.split else "one process"}
