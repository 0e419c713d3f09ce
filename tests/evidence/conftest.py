"""Evidence tests: erasure runs made in the session, in every state the register knows.

The session's Prefect server is shared with every other folder, whose flows sweep suspended runs
(settlement webhooks, reconcile-settlements). So the runs that wait are made per test module, which
pytest runs without interruption, and cancelled when the module is done; a finished run is left as is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect import get_client
from prefect.states import Cancelled, Suspended

from config.dates import gdpr_deadline
from config.settings import load_settings
from connectors.http import use_transports
from domain.values import Extension
from evidence.ledger import Ledger, open_ledger
from flows.manual_steps import confirmation_key
from sandbox.world import Sandbox
from tasks.deadlines import extend_request
from tests.flows.conftest import Run, execute

EXTENSION_REASON = "many processors to coordinate during the holiday season"


async def session_ledger() -> Ledger:
    """The ledger the session's flows write (SLETT_LEDGER_URL of tests/conftest.py)."""
    return await open_ledger(load_settings().ledger_url)


@dataclass
class Finished:
    """One request erased end to end, with holds: its run never changes again."""

    run: Run
    request_id: str
    personal_values: set[str] = field(default_factory=set)


@dataclass
class Scenario:
    """Five requests of the demo chain, one per register status, made between `started` and `ended`."""

    started: datetime
    ended: datetime
    done: Run
    settlement: Run
    failed: Run
    person: UUID
    queued: UUID
    ids: dict[str, str]
    extension: Extension
    personal_values: set[str] = field(default_factory=set)

    @property
    def deadline(self) -> date:
        """The one-month deadline of the requests made today."""
        return gdpr_deadline(self.started.date())


async def create(deployment: UUID, member_id: str, request_id: str) -> Any:
    """An erase-member run from the deployment, not started."""
    async with get_client() as client:
        return await client.create_flow_run_from_deployment(
            deployment, idempotency_key=request_id,
            parameters={"controller": "demo", "member_id": member_id, "kind": "erasure", "request_id": request_id})


@pytest.fixture(scope="session")
async def finished(deployments: dict[str, UUID]) -> Finished:
    """A member with invoices and a physiotherapy journal, erased: evidence, letter and holds on the run."""
    world = Sandbox()
    request_id = f"ev-finished-{uuid4().hex[:8]}"
    with use_transports(world.transports()):
        run = await execute(await create(deployments["erase-member"], "M1003", request_id))
    assert "COMPLETED" == run.state_name
    return Finished(run, request_id, world.all_personal_values())


@pytest.fixture(scope="module")
async def scenario(deployments: dict[str, UUID]) -> AsyncIterator[Scenario]:
    """done (with holds), waiting for settlement (and extended), failed, waiting for a person, in progress."""
    tag = uuid4().hex[:8]
    ids = {name: f"ev-{name}-{tag}" for name in ("done", "settlement", "failed", "person", "queued")}
    world = Sandbox()
    started = datetime.now(UTC)
    deployment = deployments["erase-member"]
    with use_transports(world.transports()):
        done = await execute(await create(deployment, "M1003", ids["done"]))
        settlement = await execute(await create(deployment, "M1002", ids["settlement"]))
        # Ibooking answers the look-ups, then 500 to the delete and every retry of it.
        world.faults["ibooking"].script("ok", "ok", "500", "500", "500")
        failed = await execute(await create(deployment, world.add_member().member_id, ids["failed"]))
        world.faults["ibooking"].reset()
    person = await create(deployment, "M1004", ids["person"])
    async with get_client() as client:
        # As a run waiting at a manual step is: suspended with its form until a person confirms in the UI.
        await client.set_flow_run_state(person.id, Suspended(pause_key=confirmation_key("credicare")), force=True)
    queued = await create(deployment, "M1001", ids["queued"])
    extension = await extend_request(await session_ledger(), ids["settlement"], EXTENSION_REASON, "test dpo",
                                     started.date())
    assert ("COMPLETED", "SUSPENDED", "FAILED") == (done.state_name, settlement.state_name, failed.state_name)
    yield Scenario(started, datetime.now(UTC), done, settlement, failed, person.id, queued.id, ids, extension,
                   world.all_personal_values())
    async with get_client() as client:
        for run_id in (settlement.flow_run.id, person.id, queued.id):
            await client.set_flow_run_state(run_id, Cancelled(message="evidence test module done"), force=True)


@pytest.fixture(params=["sqlite", "postgresql"])
async def ledger_url(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[str]:
    """An empty ledger's URL: SQLite under the test's folder, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/ledger.sqlite3"
        return
    from benchmarks.stack import POSTGRES, _postgres, postgres_reachable
    from tests.scale.conftest import unavailable

    if not await asyncio.to_thread(postgres_reachable):
        unavailable("PostgreSQL is not reachable at 127.0.0.1:5432")
    name = f"slett_ledger_test_{uuid4().hex[:10]}"
    await _postgres(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        await _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
