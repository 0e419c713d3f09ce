"""CPU seconds per erasure: counted by role, over every process of the stack and what each started."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from benchmarks.cpu import cpu_by_role, per_erasure, role_of, spent
from benchmarks.stack import ProofStack

# A parent that starts a child which burns CPU: the child's time counts for the parent's role.
BURNING_CHILD = ("import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
                 "'import time\\nend = time.process_time() + 0.6\\nwhile time.process_time() < end: pass\\n"
                 "time.sleep(60)']); time.sleep(60)")


def test_every_worker_counts_as_workers_and_the_server_as_the_api():
    """The two server processes, the receiver and all workers each have one role."""
    assert (["api", "services", "receiver", "workers", "workers"]
            == [role_of(name) for name in ("server", "services", "receiver", "worker-1", "worker-12")])


def test_a_process_started_by_a_stack_process_counts_for_its_role(tmp_path: Path):
    """CPU time a child process used is charged to the role of the stack process that started it."""
    stack = ProofStack(tmp_path, 0, {}, "", 1)
    process = subprocess.Popen([sys.executable, "-c", BURNING_CHILD])
    stack.processes["worker-1"] = process
    try:
        time.sleep(2.0)
        used = cpu_by_role(stack)
    finally:
        process.kill()
        process.wait()

    assert ["workers"] == list(used)
    assert used["workers"] >= 0.6


def test_the_figure_is_the_cpu_of_every_role_divided_by_the_erasures():
    """Per erasure: the sum over roles, each role's share, and the part above what the idle stack used."""
    before = {"api": 10.0, "services": 5.0, "workers": 2.0, "receiver": 1.0}
    after = {"api": 30.0, "services": 15.0, "workers": 12.0, "receiver": 3.0}
    idle = {"api": 1.0, "services": 1.0}  # 2 CPU-s in a 10 s idle window: 0.2 CPU-s a second

    figures = per_erasure(spent(before, after), idle, idle_s=10.0, window_s=50.0, erasures=20)

    assert 2.1 == figures["cpu_s_per_erasure"]
    assert {"api": 1.0, "receiver": 0.1, "services": 0.5, "workers": 0.5} == figures["by_role"]
    assert 0.2 == figures["idle_cpu_s_per_s"]
    assert 1.6 == figures["cpu_s_per_erasure_above_idle"]
