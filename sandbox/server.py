"""The sandbox over real HTTP: every system under /{system}, the control endpoints under /_sandbox."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from sandbox.admin import admin_app
from sandbox.faults import DROPPED
from sandbox.people import SYSTEMS
from sandbox.world import Sandbox

DEFAULT_PORT = 8910


def sandbox_app(sandbox: Sandbox) -> Starlette:
    """One ASGI app serving every system and the control endpoints."""
    mounts = [Mount(f"/{system}", app=app) for system, app in sandbox.apps.items()]
    return Starlette(routes=[*mounts, Mount("/_sandbox", app=admin_app(sandbox))])


def base_urls(port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> dict[str, str]:
    """Each system's base URL on a sandbox served at host:port."""
    return {system: f"http://{host}:{port}/{system}" for system in SYSTEMS}


class _QuietDrops(logging.Filter):
    """Leaves out the traceback uvicorn logs for each connection the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, ConnectionResetError) and str(exc) == DROPPED)


def _server(sandbox: Sandbox, host: str, port: int) -> uvicorn.Server:
    uvicorn_errors = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in uvicorn_errors.filters):
        uvicorn_errors.addFilter(_QuietDrops())
    config = uvicorn.Config(sandbox_app(sandbox), host=host, port=port, log_level="warning",
                            timeout_graceful_shutdown=1)
    return uvicorn.Server(config)


def serve_sandbox(host: str = "127.0.0.1", port: int = DEFAULT_PORT, sandbox: Sandbox | None = None) -> None:
    """Serve the sandbox until interrupted."""
    _server(sandbox or Sandbox(), host, port).run()


@contextlib.contextmanager
def running_sandbox(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0,
                    start_timeout: float = 10.0) -> Iterator[dict[str, str]]:
    """Serve the sandbox on a background thread (port 0: any free port); yield each system's base URL."""
    server = _server(sandbox, host, port)
    thread = threading.Thread(target=server.run, name="slett-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield base_urls(bound, host)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
