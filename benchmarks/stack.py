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
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import httpx

from benchmarks.procs import cpu_seconds, descendants, kill_hard, rss_mb
from benchmarks.profile import wrapped
from cli.automations import ensure_crash_detection
from config.deployments import RECOVER_CRASHED as SWEEPER
from config.server import NO_CSRF_ENV, SQLITE_SERVER_ENV
from config.settings import PROJECT_ROOT
from sandbox.server import running_sandbox
from sandbox.world import Sandbox
from workers.pool import deploy_to_pool

BIN = Path(sys.executable).parent
POOL = "slett-proof"
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS = ("127.0.0.1", 6379)
REDIS_CLAIM = "slett:proof-stack"  # the key by which a stack holds its Redis database


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
    profiles: Path | None = None  # where profiled workers write their profiles
    cprofile: bool = False  # with profiles: server, services and workers under cProfile (profiles/<name>.prof)

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

    @property
    def split(self) -> bool:
        """Whether the server runs as an API process and a services process, with Redis between them."""
        return "PREFECT_SERVER_EVENTS_MESSAGING_BROKER" in self.env

    def start_server(self, timeout_s: float = 240) -> None:
        """Start the Prefect server (its API and, when split, its services) and wait until it answers."""
        server = self.start("server", *self.prefect("server"), "server", "start", "--host", "127.0.0.1",
                            "--port", str(self.api_port), *(["--no-services"] if self.split else []))
        if self.split:
            self.start("services", *self.prefect("services"), "server", "services", "start")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the Prefect server exited ({server.returncode}); see {self.logs}/server.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"the Prefect server did not answer within {timeout_s:.0f} s")

    def prefect(self, name: str) -> list[str]:
        """The `prefect` command for a stack process, under cProfile into profiles/<name>.prof when asked."""
        if self.cprofile and self.profiles:
            self.profiles.mkdir(parents=True, exist_ok=True)
            return [sys.executable, "-m", "benchmarks.cprofiled", str(self.profiles / f"{name}.prof"), "prefect"]
        return [str(BIN / "prefect")]

    def restart_server(self) -> float:
        """kill -9 the Prefect server (API and services) and start it again on the same port and database; seconds
        it was away."""
        began = time.monotonic()
        for name in ("server", "services") if self.split else ("server",):
            self.kill_group(name)
        self.start_server()
        return time.monotonic() - began

    def start_worker(self, name: str, stage: str = "") -> None:
        """Start a slett worker on the pool (profiled into profiles/[<stage>-]<name>.txt when profiling)."""
        label = f"{stage}{'-' if stage else ''}{name}"
        if self.cprofile and self.profiles:
            command = [sys.executable, "-m", "benchmarks.cprofiled", str(self.profiles / f"{label}.prof"), "cli.main"]
        else:
            command = wrapped("cli.main", self.profiles / f"{label}.txt" if self.profiles else None)
        self.start(name, *command, "worker", "--pool", POOL, "--name", name,
                   "--limit", str(self.worker_limit))

    def stop_worker(self, name: str) -> None:
        """Stop a worker cleanly (SIGINT: its runs end as crashed, a profiler writes its profile)."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)

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


@dataclass
class ProcessMeter:
    """Samples the peak resident memory of every process of the stack, this one (the sandbox) included, and
    the CPU time each role used, across its restarts."""

    stack: ProofStack
    peaks: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    _seen: dict[int, float] = field(default_factory=dict)  # CPU seconds at the last sample, by pid
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        # The workers run the flow runs inside their own processes: a flow run has no process of its own.
        roles = {process.pid: name for name, process in self.stack.processes.items() if process.poll() is None}
        roles[os.getpid()] = "suite process (sandbox, load)"
        for pid, role in roles.items():
            self.peaks[role] = max(self.peaks.get(role, 0.0), rss_mb(pid))
            used = cpu_seconds(pid)
            self.cpu_s[role] = self.cpu_s.get(role, 0.0) + max(0.0, used - self._seen.get(pid, 0.0))
            self._seen[pid] = used

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __enter__(self) -> ProcessMeter:
        threading.Thread(target=self._loop, daemon=True, name="peak-rss").start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


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


def redis_reachable() -> bool:
    """Whether Redis answers on 127.0.0.1:6379."""
    import redis

    try:
        return bool(redis.Redis(*REDIS, socket_timeout=2, socket_connect_timeout=2).ping())
    except (redis.exceptions.RedisError, OSError):
        return False


@contextlib.contextmanager
def redis_database(kind: str) -> Iterator[int | None]:
    """A Redis database of this stack's own for the server's messages, emptied before and after; None for
    none ("auto": Redis when it answers on 127.0.0.1:6379).

    Prefect's stream names are fixed, so two stacks on one Redis database would read each other's events:
    each takes the first of databases 1-15 that no live stack holds (a claim lapses after a day).
    """
    if kind == "none" or (kind == "auto" and not redis_reachable()):
        yield None
        return
    import redis

    claim = uuid.uuid4().hex
    for number in range(1, 16):
        held = redis.Redis(*REDIS, db=number)
        if held.set(REDIS_CLAIM, claim, nx=True, ex=86_400):
            held.flushdb()
            held.set(REDIS_CLAIM, claim, ex=86_400)
            try:
                yield number
            finally:
                held.flushdb()
            return
    raise RuntimeError("Redis databases 1-15 are all held by other stacks")


def redis_env(number: int) -> dict[str, str]:
    """The server split in two processes, API and services, passing events through Redis database `number`:
    the production set-up for more than one core (README, "At scale")."""
    host, port = REDIS
    return {"PREFECT_SERVER_EVENTS_MESSAGING_BROKER": "prefect_redis.messaging",
            "PREFECT_SERVER_EVENTS_MESSAGING_CACHE": "prefect_redis.messaging",
            "PREFECT_SERVER_EVENTS_CAUSAL_ORDERING": "prefect_redis.ordering",
            "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect_redis.lease_storage",
            "PREFECT_REDIS_MESSAGING_HOST": host, "PREFECT_REDIS_MESSAGING_PORT": str(port),
            "PREFECT_REDIS_MESSAGING_DB": str(number),
            "PREFECT_SERVER_DOCKET_URL": f"redis://{host}:{port}/{number}"}


def stack_env(home: Path, api_port: int, database_url: str, urls: dict[str, str],
              settings: dict[str, str]) -> dict[str, str]:
    """The environment of the server and the workers: a private Prefect home, the sandbox's addresses."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "SLETT_"))}
    env.update({
        "PREFECT_HOME": str(home / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{api_port}/api",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": database_url,
        **SQLITE_SERVER_ENV,
        **NO_CSRF_ENV,
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
        "SLETT_LEDGER_URL": f"sqlite:///{home / 'ledger.sqlite3'}",
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
                settings: dict[str, str] | None = None, keep_home: bool = False,
                profiles: Path | None = None, messaging: str = "none", cprofile: bool = False) -> Iterator[ProofStack]:
    """Serve the sandbox, start the server on a fresh database and `workers` workers on one pool; stop all after.

    `messaging` "auto" or "redis" splits a PostgreSQL-backed server into API and services with Redis between
    them ("none": one process). The caller registers the deployments and crash detection (`register`) inside
    the context.
    """
    home = Path(tempfile.mkdtemp(prefix="slett-proof-"))
    try:
        with running_sandbox(sandbox) as urls, database(db, home) as database_url, \
                redis_database(messaging if database_url.startswith("postgresql") else "none") as redis_db:
            api_port = free_port()
            env = stack_env(home, api_port, database_url, urls, settings or {})
            env.update(redis_env(redis_db) if redis_db is not None else {})
            stack = ProofStack(home, api_port, env, database_url, worker_limit, profiles=profiles, cprofile=cprofile)
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
                   crash_budget: int = 3) -> dict[str, UUID]:
    """The pool, the named deployments of config/deployments.py on it (recover-crashed on its interval, the others
    without schedules), and crash detection."""
    sweep = {"budget": crash_budget, "silence_s": silence_s, "stuck_pending_s": stuck_pending_s}
    ids = await deploy_to_pool(POOL, names, schedules=False, intervals={SWEEPER: sweep_every_s},
                               parameters={SWEEPER: sweep})
    await ensure_crash_detection(silence_s, stuck_pending_s)
    return ids
