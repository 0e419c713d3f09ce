"""Connectors by processor name: one module each, registered as it is imported."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from pydantic import HttpUrl, SecretStr

from config.policy import OFFLINE
from config.settings import ProcessorSettings, Settings
from connectors.contract import Connector
from connectors.http import ProcessorClient, RetryPolicy, processor_client

ConnectorFactory = Callable[[ProcessorClient], Connector]
C = TypeVar("C")

CONNECTORS: dict[str, ConnectorFactory] = {}
DESCRIBED: dict[str, ConnectorFactory] = {}
# Coded connectors: processors with real logic (jobs to wait for, anonymisation with rules, no API at all).
MODULES = ("exceline", "mailchimp", "nets", "eziteq", "stripe", "credicare", "manual")
# Processors with no API (config/policy.py, OFFLINE) need no address or credential: their client is given this.
NO_ADDRESS = ProcessorSettings(base_url=HttpUrl("http://offline.invalid"), api_key=SecretStr("none"))


def register(system: str) -> Callable[[C], C]:
    """Class decorator: make a connector available under its processor's name."""

    def add(cls: C) -> C:
        CONNECTORS[system] = cls  # type: ignore[assignment]
        return cls

    return add


def known_systems() -> frozenset[str]:
    """Every processor slett has a connector for."""
    for module in MODULES:
        importlib.import_module(f"connectors.{module}")
    if not DESCRIBED:
        # Plain REST processors: described in connectors/described/*.yaml, run by one connector.
        DESCRIBED.update(importlib.import_module("connectors.described").described_connectors())
        CONNECTORS.update(DESCRIBED)
    return frozenset(CONNECTORS)


def erases_by_category(system: str) -> bool:
    """Whether the processor's connector erases and reads back one category of a member's data at a time."""
    return system in known_systems() and hasattr(CONNECTORS[system], "erase_category")


@contextlib.asynccontextmanager
async def connect(system: str, settings: Settings,
                  policy: RetryPolicy | None = None) -> AsyncIterator[tuple[Connector, ProcessorClient]]:
    """The connector for `system` with its HTTP client, closed on exit."""
    if system not in known_systems():
        raise KeyError(f"no connector for processor {system!r}; known: {sorted(CONNECTORS)}")
    reached = NO_ADDRESS if system in OFFLINE else settings.processor(system)
    # A processor that is not reached by a base URL and a bearer key says how (connector.address).
    address = getattr(CONNECTORS[system], "address", None)
    async with processor_client(system, reached, policy, address(reached) if address else None) as client:
        yield CONNECTORS[system](client), client
