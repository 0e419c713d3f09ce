"""Chaos tests: the sandbox in-process for the recovery flow's tests (the suite itself serves it over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.http import use_transports
from sandbox.world import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox, every processor routed to it in-process."""
    world = Sandbox()
    with use_transports(world.transports()):
        yield world
