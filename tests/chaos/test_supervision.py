"""The suites' stack starts again a worker that exited by itself, as a supervisor would."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field

from benchmarks.stack import ProofStack


@dataclass
class RecordingStack(ProofStack):
    """A ProofStack whose workers are stand-in processes; records the workers it starts again."""

    started: list[str] = field(default_factory=list)

    def start_worker(self, name: str, stage: str = "") -> None:
        """Record the start instead of starting Prefect."""
        self.started.append(name)


def test_a_worker_that_exited_by_itself_is_started_again_with_its_last_error(tmp_path):
    """An exited worker is started again and its log's last error line given; a live one is left alone."""
    stack = RecordingStack(tmp_path, 0, {}, "sqlite://", 1)
    stack.logs.mkdir()
    (stack.logs / "worker-1.log").write_text(
        "Worker started\n      | RuntimeError: this borrower is already holding one of this "
        "CapacityLimiter's tokens\n      +------------------------------------\nAn exception occurred.\n")
    stack.processes["worker-1"] = subprocess.Popen([sys.executable, "-c", "pass"])
    stack.processes["worker-2"] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    stack.processes["worker-1"].wait(timeout=30)

    try:
        exited = stack.restart_exited_workers()
    finally:
        stack.processes["worker-2"].kill()
        stack.processes["worker-2"].wait()

    assert {"worker-1": "RuntimeError: this borrower is already holding one of this CapacityLimiter's tokens"} == exited
    assert ["worker-1"] == stack.started


def test_a_worker_the_suite_killed_is_started_again_without_being_reported_as_exiting_by_itself(tmp_path):
    """A worker taken down by kill_worker comes back at the next round, but is not counted among the workers
    that exited by themselves."""
    stack = RecordingStack(tmp_path, 0, {}, "sqlite://", 1)
    stack.logs.mkdir()
    stack.processes["worker-1"] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

    stack.kill_worker("worker-1")
    exited = stack.restart_exited_workers()

    assert {} == exited
    assert ["worker-1"] == stack.started
    assert set() == stack.killed
