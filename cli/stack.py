"""Start and stop the local stack's processes: Prefect server, sandbox, webhook receiver, served deployments."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config.deployments import DEPLOYMENTS
from config.server import NO_CSRF_ENV, SQLITE_SERVER_ENV
from config.settings import PROJECT_ROOT
from sandbox.people import SYSTEMS

EXE = Path(sys.executable).parent


def free_port(preferred: int) -> int:
    """`preferred` if nothing listens there, else any free loopback port (preferred 0: any)."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            # As the servers themselves do: a port in TIME_WAIT from the last run is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1")


def wait_until_up(url: str, what: str, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
    """Poll `url` until it answers 200; fail with the process's log if it dies or takes too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before it was up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout_s:.0f} s")


@dataclass
class Stack:
    """The processes of a local slett stack, where they keep their state, and the environment they share."""

    home: Path
    api_port: int
    sandbox_port: int
    receiver_port: int
    env: dict[str, str]
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    _stop_signals: dict[int, signal.Signals] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        """The Prefect API."""
        return f"http://127.0.0.1:{self.api_port}/api"

    @property
    def ui_url(self) -> str:
        """The Prefect UI."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sandbox_url(self) -> str:
        """The sandbox processors' root."""
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def receiver_url(self) -> str:
        """The webhook receiver's root."""
        return f"http://127.0.0.1:{self.receiver_port}"

    @property
    def logs(self) -> Path:
        """Where each process writes its output, one file per process."""
        return self.home / ".slett" / "logs"

    @contextlib.contextmanager
    def as_client(self) -> Iterator[None]:
        """Point this process's Prefect client at the stack's server (settings are read at import)."""
        from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: self.api_url, PREFECT_HOME: self.env["PREFECT_HOME"]}):
            yield

    def start(self, name: str, *args: str, stop_with: signal.Signals = signal.SIGTERM,
              **env: str) -> subprocess.Popen[bytes]:
        """Start a child process in its own process group, its output in <home>/.slett/logs/<name>.log."""
        self.logs.mkdir(parents=True, exist_ok=True)
        out = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(args, env={**self.env, **env}, stdout=out, stderr=subprocess.STDOUT,
                                   cwd=PROJECT_ROOT, start_new_session=True, preexec_fn=_hear_interrupts)
        self.processes.append((name, process))
        self._stop_signals[process.pid] = stop_with
        return process

    def run_once(self, name: str, *args: str, timeout_s: float = 120) -> int:
        """Run a one-off child to its end (its output in the logs too); its exit code. It is not watched."""
        process = self.start(name, *args)
        try:
            return process.wait(timeout=timeout_s)
        finally:
            self.processes.remove((name, process))
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def watch(self, poll_s: float = 1.0) -> str:
        """Block until one of the stack's processes exits (or Ctrl-C); its name."""
        while True:
            for name, process in self.processes:
                if process.poll() is not None:
                    return name
            time.sleep(poll_s)

    def stop(self, patience_s: float = 15) -> None:
        """Stop every process this stack started, newest first, so that none loses the server under it."""
        for _, process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, self._stop_signals.get(process.pid, signal.SIGTERM))
            try:
                process.wait(timeout=patience_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()


def _hear_interrupts() -> None:
    """In the child: SIGINT back to its default, even when the stack was started in the background (where
    the shell ignores SIGINT, and children inherit that), so that SIGINT can stop Prefect's runner."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stack_env(home: Path, api_port: int, sandbox_port: int, subject_key: str, webhook_secret: str) -> dict[str, str]:
    """The environment every process of the local stack runs with."""
    prefect_home = home / ".prefect"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PREFECT_", "SLETT_"))}
    env.update({
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_API_URL": f"http://127.0.0.1:{api_port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{prefect_home}/prefect.db",
        **SQLITE_SERVER_ENV,
        **NO_CSRF_ENV,
        # A 2-core machine: the server's first start migrates the database and builds the UI.
        "PREFECT_SERVER_API_STARTUP_TIMEOUT": "180",
        "PREFECT_API_REQUEST_TIMEOUT": "120",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "slett",
        # Heartbeats every 30 s feed crash detection (slett setup-automations); leases on disk survive a
        # server restart (in memory, a slot held at the restart stays taken for ever).
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        "PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE": "prefect.server.concurrency.lease_storage.filesystem",
        # The local worker looks for new runs every 2 s rather than 10: a webhook's run starts sooner.
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{api_port}/api",
        "SLETT_SUBJECT_KEY": subject_key,
        "SLETT_WEBHOOK_SECRETS": webhook_secret,
        "SLETT_WEBHOOK_OUTBOX": str(home / ".slett" / "webhook-outbox.sqlite3"),
        "SLETT_LEDGER_URL": f"sqlite:///{home / '.slett' / 'ledger.sqlite3'}",
        # This checkout's code, even a top-level folder added since the editable install was made.
        "PYTHONPATH": str(PROJECT_ROOT),
    })
    for system in SYSTEMS:
        env[f"SLETT_PROCESSORS__{system.upper()}__BASE_URL"] = f"http://127.0.0.1:{sandbox_port}/{system}"
        env[f"SLETT_PROCESSORS__{system.upper()}__API_KEY"] = f"sandbox-{system}"
    return env


def local_secret(home: Path, name: str, make: bytes | None = None) -> Path:
    """A secret of the local stack, made once in <home>/.slett/secrets (mode 600), never committed."""
    path = home / ".slett" / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = make or os.urandom(32)
        path.write_text(raw.decode() if make else raw.hex())
        path.chmod(0o600)
    return path


def webhook_secret(home: Path) -> Path:
    """The file holding the whsec_ secret the sandbox signs with and the receiver checks."""
    made = b"whsec_" + base64.b64encode(os.urandom(32))
    return local_secret(home, "slett_webhook_secrets", made)


@contextlib.contextmanager
def local_stack(home: Path = PROJECT_ROOT, serve: bool = True, any_ports: bool = False,
                extra_env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """Start the Prefect server (SQLite under <home>/.prefect), the sandbox, the receiver and the deployments.

    The sandbox plays the membership system: it sends signed webhooks to the receiver, which starts and
    resumes erase-member runs that the served deployments execute.
    """
    (home / ".prefect").mkdir(parents=True, exist_ok=True)
    api_port, sandbox_port, receiver_port = (free_port(0 if any_ports else p) for p in (4200, 8700, 8800))
    secret_file = webhook_secret(home)
    subject_key = local_secret(home, "slett_subject_key").read_text().strip()
    env = stack_env(home, api_port, sandbox_port, subject_key, secret_file.read_text().strip()) | dict(extra_env or {})
    stack = Stack(home, api_port, sandbox_port, receiver_port, env)
    try:
        server = stack.start("prefect-server", str(EXE / "prefect"), "server", "start",
                             "--host", "127.0.0.1", "--port", str(api_port))
        sandbox = stack.start("sandbox", str(EXE / "slett"), "sandbox", "--port", str(sandbox_port),
                              "--webhook-url", f"{stack.receiver_url}/webhooks/membership",
                              "--webhook-secret-file", str(secret_file))
        # The receiver logs outside flow runs: Prefect's API log handler has no run to send them to.
        receiver = stack.start("receiver", str(EXE / "slett"), "receiver", "--port", str(receiver_port),
                               PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW="ignore")
        wait_until_up(f"{stack.sandbox_url}/_sandbox/health", "the sandbox", 60, sandbox)
        wait_until_up(f"{stack.receiver_url}/healthz", "the webhook receiver", 60, receiver)
        wait_until_up(f"{stack.api_url}/health", "the Prefect server", 240, server)
        if serve:
            # The worker shuts down cleanly on SIGINT (runs in flight end Crashed; the next start reruns them).
            served = stack.start("deployments", str(EXE / "slett"), "serve", stop_with=signal.SIGINT)
            for name in DEPLOYMENTS:
                wait_until_up(f"{stack.api_url}/deployments/name/{name}/{name}", f"deployment {name}", 120, served)
            if stack.run_once("setup-automations", str(EXE / "slett"), "setup-automations") != 0:
                raise RuntimeError(f"slett setup-automations failed; see {stack.logs}/setup-automations.log")
        yield stack
    finally:
        stack.stop()
