"""The scale configuration end to end: Prefect server on PostgreSQL, two process workers on one pool."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType

from config.settings import PROJECT_ROOT
from flows.catalog import DEPLOYMENTS, load
from sandbox.people import SYSTEMS
from tasks.runs import settle, start_erasure

pytestmark = pytest.mark.slow
POOL = "slett-scale"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ScaleStack:
    api_url: str
    sandbox_url: str
    logs: Path
    database: str


async def count_flow_runs(database_url: str) -> int:
    """Flow runs stored in the PostgreSQL database itself (not some other server's SQLite)."""
    import asyncpg

    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM flow_run WHERE state_name = 'Completed'"))
    finally:
        await connection.close()


def wait_up(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"process for {url} exited with {process.returncode}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise AssertionError(f"{url} not up within {seconds} s")


@pytest.fixture(scope="module")
def scale_stack(postgres_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleStack]:
    """Server on PostgreSQL, the sandbox, a process work pool with two workers; all stopped afterwards."""
    home = tmp_path_factory.mktemp("prefect-home-pg")
    api_port, sandbox_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SLETT_"))}
    env.update({
        "PREFECT_HOME": str(home), "PREFECT_API_URL": api_url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": postgres_database,
        "PREFECT_SERVER_API_STARTUP_TIMEOUT": "180", "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "slett",
        "SLETT_SUBJECT_KEY": "scale-test-subject-key-0123456789", "SLETT_JOB_POLL_INTERVAL_S": "0.2",
    })
    for system in SYSTEMS:
        env[f"SLETT_PROCESSORS__{system.upper()}__BASE_URL"] = f"http://127.0.0.1:{sandbox_port}/{system}"
        env[f"SLETT_PROCESSORS__{system.upper()}__API_KEY"] = "scale-test"
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        out = (home / f"{name}.log").open("wb")
        process = subprocess.Popen(args, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        processes.append(process)
        return process

    try:
        server = start("server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                       "--port", str(api_port))
        sandbox = start("sandbox", str(BIN / "slett"), "sandbox", "--port", str(sandbox_port))
        wait_up(f"http://127.0.0.1:{sandbox_port}/_sandbox/health", sandbox, 60)
        wait_up(f"{api_url}/health", server, 240)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            asyncio.run(register_deployments())
        for name in ("worker-a", "worker-b"):
            start(name, str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--name", name, "--limit", "3")
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield ScaleStack(api_url, f"http://127.0.0.1:{sandbox_port}", home, postgres_database)
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


async def register_deployments() -> None:
    async with get_client() as client:
        await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
    for name in DEPLOYMENTS:
        flow = load(name)
        deployment = await flow.ato_deployment(name=name, work_pool_name=POOL,
                                               entrypoint_type=EntrypointType.MODULE_PATH)
        await deployment.apply(work_pool_name=POOL)  # type: ignore[misc]


async def wait_final(run_ids: list[Any], seconds: float) -> dict[Any, str]:
    deadline = time.monotonic() + seconds
    async with get_client() as client:
        while True:
            runs = {rid: await client.read_flow_run(rid) for rid in run_ids}
            names = {rid: str(run.state.name) for rid, run in runs.items() if run.state}
            if all(run.state and run.state.is_final() for run in runs.values()) or time.monotonic() > deadline:
                return names
            await asyncio.sleep(1)


async def test_erasures_complete_on_postgres_with_two_workers(scale_stack):
    """Erasures (one waiting for settlement) complete with the server on PostgreSQL, and both workers of
    the pool run some of them."""
    members = ["M1001", "M1003", "M1004"]
    for _ in range(5):
        added = httpx.post(f"{scale_stack.sandbox_url}/_sandbox/members", json={}, timeout=10)
        members.append(added.raise_for_status().json()["memberId"])
    runs = [await start_erasure("demo", member, "termination", f"pg-{member.lower()}") for member in members]
    waiting = await start_erasure("demo", "M1002", "termination", "pg-m1002")

    states = await wait_final([run.id for run in runs], seconds=300)
    async with get_client() as client:
        deadline = time.monotonic() + 120
        while (await client.read_flow_run(waiting.id)).state.name != "Suspended":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "M1002 never suspended"
            await asyncio.sleep(1)
    httpx.post(f"{scale_stack.sandbox_url}/_sandbox/members/M1002/settle", timeout=10).raise_for_status()
    assert 1 == len(await settle("M1002", "demo", confirmed_by="scale test"))
    resumed = await wait_final([waiting.id], seconds=120)

    assert ["Completed"] * len(runs) == list(states.values())
    assert ["Completed"] == list(resumed.values())
    worker_logs = {name: (scale_stack.logs / f"{name}.log").read_text() for name in ("worker-a", "worker-b")}
    submitted = {name: log.count(f"Worker '{name}' submitting flow run") for name, log in worker_logs.items()}
    assert all(count > 0 for count in submitted.values()), submitted
    assert len(runs) + 1 <= sum(submitted.values())
    assert len(runs) + 1 <= await count_flow_runs(scale_stack.database)
