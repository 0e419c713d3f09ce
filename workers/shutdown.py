"""SIGTERM stops a worker as SIGINT does, whatever handler a flow run's engine has installed meanwhile."""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import signal
import threading
from collections.abc import Coroutine
from typing import Any


def stop_on_sigterm() -> None:
    """Deliver SIGTERM to a thread of its own, which interrupts the main thread as SIGINT would.

    Call it first thing, before any other thread starts: threads inherit the blocked signal.
    """
    # Prefect's engine may install its own SIGTERM handler while a flow runs, made for one process per run: it
    # raises in whichever hosted run is computing, which crashes alone while the worker runs on, deaf to the
    # supervisor, or takes the worker down with its traceback (exit 1). Blocked in every thread, SIGTERM
    # reaches only the waiting thread below.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    def wait() -> None:
        signal.sigwait({signal.SIGTERM})
        _thread.interrupt_main(signal.SIGINT)

    threading.Thread(target=wait, name="sigterm", daemon=True).start()


def run_until_stopped(main: Coroutine[Any, Any, object]) -> int:
    """Run a worker's main coroutine until it ends or SIGINT (or SIGTERM, after stop_on_sigterm) stops it; 0."""
    # The runs in flight end Crashed on the way out: the next start takes them back.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main)
    return 0
