"""Operator tests: the whole stack as `slett up` starts it (under the test's temporary folder) and Chromium
for the browser tests; the session's Prefect test server and an in-process sandbox for the others."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright
from prefect.settings import PREFECT_API_URL, temporary_settings

from cli.stack import EXE
from connectors.http import use_transports
from sandbox.world import Sandbox
from tests.browser import CHROMIUM_ARGS, chromium

ADDRESS = re.compile(r"^(Prefect UI|Prefect API|webhook receiver|sandbox) +(http://127\.0\.0\.1:\d+\S*)")
READY = "Ctrl-C stops everything started here."


@dataclass
class Up:
    """A running `slett up`: its process, what it printed, and the addresses it printed."""

    process: subprocess.Popen[str]
    home: Path
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    printed: list[str] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)

    @property
    def ui_url(self) -> str:
        """The Prefect UI."""
        return self.addresses["Prefect UI"]

    @property
    def api_url(self) -> str:
        """The Prefect API."""
        return self.addresses["Prefect API"]

    @property
    def server_log(self) -> Path:
        """What Prefect's server wrote."""
        return self.home / ".slett" / "logs" / "prefect-server.log"

    @property
    def sandbox_url(self) -> str:
        """The sandbox's root."""
        return self.addresses["sandbox"]

    def rest_of_output(self, timeout_s: float = 5) -> list[str]:
        """What it printed after the addresses, until its output closed (or `timeout_s` of silence)."""
        while True:
            try:
                self.printed.append(self.lines.get(timeout=timeout_s))
            except queue.Empty:
                return self.printed

    def ports(self) -> list[int]:
        """The ports of everything it printed an address for."""
        return sorted({int(re.findall(r":(\d+)", url)[0]) for url in self.addresses.values()})


def _read(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Up]:
    """`slett up --home <tmp> --any-ports`, once it has printed its addresses; the Prefect client points at it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SLETT_"))}
    home: Path = tmp_path_factory.mktemp("stack")
    process = subprocess.Popen([str(EXE / "slett"), "up", "--home", str(home), "--any-ports"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    up = Up(process, home)
    threading.Thread(target=_read, args=(process.stdout, up.lines), daemon=True).start()
    deadline = time.monotonic() + 300
    while READY not in up.printed:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("slett up did not come up:\n" + "\n".join(up.printed))
        try:
            up.printed.append(up.lines.get(timeout=1))
        except queue.Empty:
            continue
        if found := ADDRESS.match(up.printed[-1]):
            up.addresses[found[1]] = found[2].removesuffix("/webhooks/membership")
    try:
        with temporary_settings(updates={PREFECT_API_URL: up.api_url}):
            yield up
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGINT)
            process.wait(timeout=120)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless, driven by playwright."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(chromium()), headless=True,
                                                    args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """For the tests without a browser: a fresh sandbox, every processor routed to it in-process."""
    world = Sandbox()
    with use_transports(world.transports()):
        yield world
