"""SIGTERM stops `slett worker` while it hosts flow runs, as SIGINT does: systemd and Kubernetes stop it so."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from prefect.settings import PREFECT_API_URL

from tests.workers.fakes import start, until

ROOT = Path(__file__).resolve().parents[2]

WORKER = textwrap.dedent("""
    import signal, sys
    from workers.shutdown import run_until_stopped, stop_on_sigterm

    stop_on_sigterm()
    from prefect.utilities.engine import _prefect_sigterm_handler
    from tests.workers.fakes import worker_on

    # As Prefect's engine may leave it among runs that overlap: its handler raises in whichever run computes.
    signal.signal(signal.SIGTERM, _prefect_sigterm_handler)
    sys.exit(run_until_stopped(worker_on(sys.argv[1], name="worker-sigterm").start(printer=lambda *_: None)))
""")


async def terminate_while_running(pool: str) -> tuple[str, int | None]:
    """Run a busy flow run on a worker process, SIGTERM the worker; the run's state then and the worker's exit
    code (None: still alive after 30 s)."""
    run = await start("keeps-busy", label="sigterm")
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, pool], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert "Running" == await until(run.id, "Running", seconds=60)
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(_exit_code, worker, 30)
    finally:
        worker.kill()
        worker.wait()
    return await until(run.id, "Crashed", seconds=10), code


def _exit_code(process: subprocess.Popen[bytes], seconds: float) -> int | None:
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None


async def test_sigterm_stops_a_busy_worker_and_its_run_ends_crashed(pool):
    """The worker shuts down cleanly (exit 0) though the signal lands while a run computes under the engine's
    own SIGTERM handler (which crashes that run alone and leaves the worker running, or ends the worker with
    the run's traceback, exit 1); its run ends Crashed, for recover-crashed."""
    state, code = await terminate_while_running(pool)

    assert ("Crashed", 0) == (state, code)
