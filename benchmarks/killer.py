"""kill -9 at chosen moments: a flow run's process inside a step, right after a processor applied a
destructive call (before the task could finish), or a whole worker with every run it had started."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType

from benchmarks.procs import flow_run_pids, flow_run_processes, kill_hard
from benchmarks.stack import ProofStack
from sandbox.journal import Call, Journal

AFTER_APPLY, IN_STEP, WORKER = "after-apply", "in-step", "worker"


@dataclass
class Killer:
    """Kills flow processes on a plan and keeps count of where each kill landed."""

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
        """Kill the process of the next run whose destructive call a processor applies, right then."""
        self._armed = True

    def _on_call(self, call: Call) -> None:
        # Runs on the sandbox's thread, inside the processor's handler: the call is applied and its
        # answer not yet sent, so the task cannot have recorded its outcome.
        run_id = self.runs_by_member.get(call.member_id)
        if not (self._armed and call.applied and run_id):
            return
        pids = flow_run_pids(str(run_id))
        with self._lock:
            if not self._armed or not pids:
                return
            self._armed = False
            kill_hard(pids)
            self._count(f"{AFTER_APPLY}: {call.system} {call.action}", run_id)

    async def kill_in_step(self, running: list[UUID], hit: set[str]) -> bool:
        """Kill one running run's process while a task runs, preferring a step not hit yet; whether one was."""
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
        pids = flow_run_pids(str(run_id))
        if not pids:
            return False
        kill_hard(pids)
        hit.add(step)
        self._count(f"{IN_STEP}: {step}", run_id)
        return True

    async def kill_worker(self, running: list[UUID]) -> None:
        """kill -9 a worker and all it started, as if its machine died, then start it again."""
        name = self.rng.choice(sorted(n for n in self.stack.processes if n.startswith("worker")))
        before = set(flow_run_processes()) & {str(run) for run in running}
        self.stack.kill_worker(name)
        gone = before - set(flow_run_processes())
        self._count(f"{WORKER}: {name}", *(UUID(run) for run in gone))
        await asyncio.sleep(2)
        self.stack.start_worker(name)

    def _count(self, where: str, *runs: UUID) -> None:
        self.kills += 1
        self.by_step[where.split(": ")[0] if where.startswith(WORKER) else where] += 1
        self.killed_runs.update(runs)
