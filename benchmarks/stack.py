"""A production-shaped stack for the suites: Prefect server, one process work pool with workers, and the
sandbox served over loopback HTTP from this process (so the suite can read its journal and fault records)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import httpx
from prefect import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect.types.entrypoint import EntrypointType

from benchmarks.procs import descendants, kill_hard
from cli.automations import ensure_crash_detection
from config.server import SQLITE_SERVER_ENV
from config.settings import PROJECT_ROOT
from flows.catalog import load
from sandbox.server import running_sandbox
from sandbox.world import Sandbox

BIN = Path(sys.executable).parent
POOL = "slett-proof"
RECOVERY_QUEUE = "recovery"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
ENGINE = f"{sys.executable} -m prefect.engine"


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ProofStack:
    """The processes of one suite run, where they keep their state, and how to kill and restart them."""

    home: Path
    api_port: int
    env: dict[str, str]
    database_url: str
    worker_limit: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    killed: set[str] = field(default_factory=set)  # workers kill_worker took down, for the supervisor to start

    @property
    def api_url(self) -> str:
        """The Prefect API."""
        return f"http://127.0.0.1:{self.api_port}/api"

    @property
    def logs(self) -> Path:
        """One log file per process."""
        return self.home / "logs"

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start a process in its own process group, its output appended to logs/<name>.log."""
        self.logs.mkdir(parents=True, exist_ok=True)
        out = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(args, env=self.env, cwd=PROJECT_ROOT, stdout=out,  # noqa: S603
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def start_server(self, timeout_s: float = 240) -> None:
        """Start the Prefect server and wait until it answers."""
        server = self.start("server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                            "--port", str(self.api_port))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the Prefect server exited ({server.returncode}); see {self.logs}/server.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"the Prefect server did not answer within {timeout_s:.0f} s")

    def restart_server(self) -> float:
        """kill -9 the Prefect server and start it again on the same port and database; seconds it was away."""
        began = time.monotonic()
        self.kill_group("server")
        self.start_server()
        return time.monotonic() - began

    def start_worker(self, name: str) -> None:
        """Start a process worker on the pool."""
        self.start(name, str(BIN / "slett"), "worker", "--pool", POOL, "--name", name,
                   "--limit", str(self.worker_limit))

    def restart_exited_workers(self) -> dict[str, str]:
        """Start again every worker that is not running, as a supervisor (systemd, Kubernetes) would; for each
        that exited by itself rather than by `kill_worker`, the last error line of its log (why it went)."""
        exited = {}
        for name in sorted(n for n, p in self.processes.items() if n.startswith("worker") and p.poll() is not None):
            if name not in self.killed:
                lines = (self.logs / f"{name}.log").read_text(errors="replace").strip().splitlines()
                exited[name] = next((line.strip(" |") for line in reversed(lines) if "Error" in line),
                                    "no error logged")
            self.killed.discard(name)
            self.start_worker(name)
        return exited

    def worker_with_pid(self, pid: int) -> str | None:
        """The name of the stack's worker whose process has this pid, if it is alive."""
        return next((name for name, p in self.processes.items()
                     if name.startswith("worker") and p.pid == pid and p.poll() is None), None)

    def kill_worker(self, name: str) -> int:
        """kill -9 a worker and every process it started (as if its machine died); how many processes. The
        next `restart_exited_workers` starts it again."""
        process = self.processes[name]
        doomed = [process.pid, *descendants(process.pid)]
        killed = kill_hard(doomed)
        process.wait(timeout=10)
        self.killed.add(name)
        return killed

    def kill_group(self, name: str) -> None:
        """kill -9 a process and its process group."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def all_pids(self) -> list[int]:
        """Every process of the stack that is still alive, with everything they started."""
        alive = [p.pid for p in self.processes.values() if p.poll() is None]
        return [pid for root in alive for pid in (root, *descendants(root))]

    def stop(self) -> None:
        """Stop every process: SIGTERM to each group, then SIGKILL what is left, children included."""
        leftovers = self.all_pids()
        for process in self.processes.values():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        kill_hard(leftovers)  # flow-run processes live in groups of their own
        self.processes.clear()


async def _postgres(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(f"{POSTGRES}/postgres", timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def postgres_reachable() -> bool:
    """Whether PostgreSQL answers on 127.0.0.1:5432."""
    try:
        asyncio.run(_postgres("SELECT 1"))
    except (OSError, TimeoutError, ImportError):
        return False
    return True


@contextlib.contextmanager
def database(kind: str, home: Path) -> Iterator[str]:
    """A fresh Prefect database: SQLite in the stack's home, or a new PostgreSQL database dropped afterwards
    ("auto": PostgreSQL when it answers on 127.0.0.1:5432)."""
    if kind == "sqlite" or (kind == "auto" and not postgres_reachable()):
        yield f"sqlite+aiosqlite:///{home}/prefect.db"
        return
    name = f"slett_proof_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES.replace('postgresql', 'postgresql+asyncpg')}/{name}"
    finally:
        asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def stack_env(home: Path, api_port: int, database_url: str, urls: dict[str, str],
              settings: dict[str, str]) -> dict[str, str]:
    """The environment of the server and the workers: a private Prefect home, the sandbox's addresses."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "SLETT_"))}
    env.update({
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{api_port}/api",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url,
        **(SQLITE_SERVER_ENV if database_url.startswith("sqlite") else {}),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_STARTUP_TIMEOUT": "180",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        # Concurrency leases on disk, not in the server's memory: a server restart must not leave a slot
        # (say, the evidence chain's) taken for ever by a lease it forgot.
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
        # Heartbeats every 30 s (Prefect's minimum): the zombie automation waits for three to be missed.
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "slett",
        "SLETT_SUBJECT_KEY": "proof-subject-key-not-a-secret-0123456789",
        "SLETT_LOG_FORMAT": "json",
        "SLETT_WEBHOOK_OUTBOX": str(home / "webhook-outbox.sqlite3"),
        # This checkout's code, even a top-level folder added since the editable install was made.
        "PYTHONPATH": str(PROJECT_ROOT),
    })
    for system, url in urls.items():
        env[f"SLETT_PROCESSORS__{system.upper()}__BASE_URL"] = url
        env[f"SLETT_PROCESSORS__{system.upper()}__API_KEY"] = f"proof-{system}"
    env.update(settings)
    return env


@contextlib.contextmanager
def proof_stack(sandbox: Sandbox, workers: int = 2, worker_limit: int = 8, db: str = "sqlite",
                settings: dict[str, str] | None = None, keep_home: bool = False) -> Iterator[ProofStack]:
    """Serve the sandbox, start the server on a fresh database and `workers` workers on one pool; stop all after.

    The caller registers the deployments and crash detection (`register`) inside the context.
    """
    home = Path(tempfile.mkdtemp(prefix="slett-proof-"))
    try:
        with running_sandbox(sandbox) as urls, database(db, home) as database_url:
            api_port = free_port()
            stack = ProofStack(home, api_port, stack_env(home, api_port, database_url, urls, settings or {}),
                               database_url, worker_limit)
            try:
                stack.start_server()
                for number in range(workers):
                    stack.start_worker(f"worker-{number + 1}")
                yield stack
            finally:
                stack.stop()
    finally:
        if not keep_home:
            shutil.rmtree(home, ignore_errors=True)


async def register(names: tuple[str, ...], silence_s: int, sweep_every_s: int = 30, stuck_pending_s: int = 600,
                   commands: dict[str, str] | None = None, stuck_lock_s: int = 300) -> dict[str, UUID]:
    """The pool, the named deployments of flows/catalog.py on it (recover-crashed on its interval, the others
    without schedules), and crash detection; `commands` replaces the command that runs a deployment's flow
    runs (a profiler around the engine)."""
    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        # Recovery first: with the pool's slots full of erasures, a crashed run must not wait behind them.
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_queue(RECOVERY_QUEUE, work_pool_name=POOL, priority=1)
        default = await client.read_work_queue_by_name("default", work_pool_name=POOL)
        await client.update_work_queue(default.id, priority=10)
    sweep = {"silence_s": silence_s, "stuck_pending_s": stuck_pending_s, "stuck_lock_s": stuck_lock_s}
    ids = {}
    for name in names:
        recovery = name == "recover-crashed"
        # One process per flow run: the engine itself, without the workspace supervisor in front of it.
        deployment = await load(name).ato_deployment(
            name=name, work_pool_name=POOL, work_queue_name=RECOVERY_QUEUE if recovery else None,
            entrypoint_type=EntrypointType.MODULE_PATH, interval=sweep_every_s if recovery else None,
            parameters=sweep if recovery else None,
            job_variables={"command": (commands or {}).get(name, ENGINE)})
        ids[name] = await deployment.apply(work_pool_name=POOL)  # type: ignore[misc]
    await ensure_crash_detection(silence_s, stuck_pending_s)
    return ids
