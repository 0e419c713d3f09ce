"""kill -9 at chosen moments: the worker process running a flow run inside a step, right after a processor
applied one of the run's destructive calls (before the task could finish), or a worker chosen at random.
slett's workers run their flow runs in their own process, so each kill takes every run the worker held."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

import httpx
from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from benchmarks.stack import ProofStack
from sandbox.journal import Call, Journal

AFTER_APPLY, IN_STEP, WORKER = "after-apply", "in-step", "worker"


@dataclass
class Killer:
    """Kills workers on a plan and keeps count of where each kill landed."""

    stack: ProofStack
    journal: Journal
    runs_by_member: dict[str, UUID]
    rng: random.Random
    kills: int = 0
    by_step: Counter[str] = field(default_factory=Counter)
    killed_runs: set[UUID] = field(default_factory=set)
    _armed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.journal.listeners.append(self._on_call)

    @property
    def armed(self) -> bool:
        """Whether a kill waits for the next applied destructive call."""
        return self._armed

    def arm_after_apply(self) -> None:
        """Kill the worker of the next run whose destructive call a processor applies, right then."""
        self._armed = True

    def worker_running(self, run_id: UUID) -> str | None:
        """The stack's worker that runs the flow run now (by the run's infrastructure_pid), if one does."""
        answer = httpx.get(f"{self.stack.api_url}/flow_runs/{run_id}", timeout=10)
        if answer.status_code != 200:
            return None
        pid = str(answer.json().get("infrastructure_pid") or "")
        return self.stack.worker_with_pid(int(pid)) if pid.isdigit() else None

    def _on_call(self, call: Call) -> None:
        # Runs on the sandbox's thread, inside the processor's handler: the call is applied and its
        # answer not yet sent, so the task cannot have recorded its outcome.
        run_id = self.runs_by_member.get(call.member_id)
        if not (self._armed and call.applied and run_id):
            return
        worker = self.worker_running(run_id)
        with self._lock:
            if not self._armed or worker is None:
                return
            self._armed = False
            self.stack.kill_worker(worker)
            self._count(f"{AFTER_APPLY}: {call.system} {call.action}", run_id)

    async def kill_in_step(self, running: list[UUID], hit: set[str]) -> bool:
        """Kill the worker of a running run while one of its tasks runs, preferring a step not hit yet; whether
        one was."""
        if not running:
            return False
        async with get_client() as client:
            tasks = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=running)),
                task_run_filter=TaskRunFilter(state=TaskRunFilterState(
                    type=TaskRunFilterStateType(any_=[StateType.RUNNING]))))
        steps = {(t.flow_run_id, t.name.rsplit("-", 1)[0]) for t in tasks if t.flow_run_id}
        # A step not hit yet, in a run not killed yet, if there is one.
        spared = [s for s in steps if s[0] not in self.killed_runs] or list(steps)
        fresh = [s for s in spared if s[1] not in hit] or spared
        run_id, step = self.rng.choice(fresh) if fresh else (self.rng.choice(running), "between steps")
        worker = await asyncio.to_thread(self.worker_running, run_id)
        if worker is None:
            return False
        self.stack.kill_worker(worker)
        hit.add(step)
        self._count(f"{IN_STEP}: {step}", run_id)
        return True

    async def kill_worker(self) -> None:
        """kill -9 a worker chosen at random, as if its machine died; the supervisor starts it again."""
        name = self.rng.choice(sorted(n for n in self.stack.processes if n.startswith("worker")))
        self.stack.kill_worker(name)
        self._count(f"{WORKER}: {name}")

    def _count(self, where: str, *runs: UUID) -> None:
        self.kills += 1
        self.by_step[where.split(": ")[0] if where.startswith(WORKER) else where] += 1
        self.killed_runs.update(runs)
