"""Connector tests: a fresh sandbox, settings that point at it, and retries that record their waits."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from config.settings import Settings, load_settings
from connectors.contract import Subject
from connectors.http import ProcessorClient, RetryPolicy, use_transports
from connectors.registry import connect
from sandbox.people import SYSTEMS
from sandbox.world import Sandbox
from tests.stripe_spec import SpecCheck, spec_checked


class RecordingSleep:
    """A RetryPolicy sleep that records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def sandbox_settings(**processor: Any) -> Settings:
    """Settings with every processor at its in-process sandbox address; `processor` overrides each."""
    return load_settings(subject_key="x" * 32, processors={
        system: {"base_url": f"http://{system}.sandbox", "api_key": "test", "read_timeout": 5.0, **processor}
        for system in SYSTEMS})


@pytest.fixture
def sandbox() -> Sandbox:
    """A fresh sandbox with the seeded demo members."""
    return Sandbox()


@pytest.fixture
def settings() -> Settings:
    """Settings pointing every processor at the sandbox."""
    return sandbox_settings()


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    """Settings for the sandbox with each processor's settings overridden (e.g. read_timeout=0.05)."""
    return sandbox_settings


@pytest.fixture
def sleep() -> RecordingSleep:
    """The waits the retry policy would have slept."""
    return RecordingSleep()


@pytest.fixture
def policy(sleep: RecordingSleep) -> RetryPolicy:
    """Four attempts, the usual caps, no real sleeping."""
    return RetryPolicy(attempts=4, max_delay=30.0, total=120.0, sleep=sleep)


@pytest.fixture
def stripe_spec() -> Iterator[SpecCheck]:
    """Stripe's spec, holding every request to the Stripe twin and every answer it gives; none may stray."""
    check = SpecCheck()
    yield check
    assert [] == check.problems, "\n".join(check.problems)


@pytest.fixture
def open_connector(sandbox: Sandbox, settings: Settings, policy: RetryPolicy,
                   stripe_spec: SpecCheck) -> Callable[..., Any]:
    """Open `system`'s connector (through the registry) on the sandbox; yields (connector, client)."""

    @contextlib.asynccontextmanager
    async def opened(system: str, settings: Settings = settings,
                     policy: RetryPolicy = policy) -> AsyncIterator[tuple[Any, ProcessorClient]]:
        with use_transports(spec_checked(sandbox.transports(), stripe_spec)):
            async with connect(system, settings, policy) as pair:
                yield pair

    return opened


@pytest.fixture
def subject(sandbox: Sandbox) -> Callable[[str], Subject]:
    """The Subject of a demo member, contact details included, as the membership system gives it."""

    def of(member_id: str) -> Subject:
        member = sandbox.member(member_id)
        return Subject("demo", member.member_id, email=member.email, phone=member.phone, name=member.name)

    return of
