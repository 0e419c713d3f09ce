"""`slett evidence --verify` against the ledger: untouched, tampered in the database, raced, runs vacuumed."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from prefect import flow, get_client, runtime
from prefect.states import Cancelled
from sqlalchemy import update

from config.settings import load_settings
from connectors.http import use_transports
from domain.values import OSLO, Evidence, Kind, Request, Step
from evidence.documents import canonical_json, sha256
from evidence.ledger import Ledger, records
from evidence.verify import verify_ledger
from flows.deadline_check import deadline_check
from queries.history import existing_runs
from sandbox.world import Sandbox
from tasks.deadlines import extend_request, set_tags
from tasks.evidence import record_evidence
from tests.evidence.conftest import create, session_ledger
from tests.evidence.test_register import slett
from tests.flows.conftest import execute

pytestmark = pytest.mark.slow


async def verify_output(capsys) -> tuple[int, str]:
    code = await slett("evidence", "--verify", "--controller", "demo")
    return code, capsys.readouterr().out


async def rewrite(ledger: Ledger, record_id: int, body: dict[str, Any], digest: str) -> None:
    """Change a record in the database as someone with access to it could."""
    async with ledger.transaction() as connection:
        await connection.execute(update(records).where(records.c.id == record_id)
                                 .values(body=canonical_json(body), digest=digest))


async def test_untouched_ledger_verifies(finished, capsys):
    """With nothing changed, the demo chain verifies and the command says so with its head digest."""
    code, out = await verify_output(capsys)

    assert 0 == code
    assert out.startswith("demo: ") and "chain intact; head #" in out


async def test_evidence_edited_in_the_database_is_named_in_verify_and_register(finished, capsys):
    """A request's evidence edited in the ledger's database no longer matches its SHA-256: --verify names the
    request, the register counts a broken chain; put back, the chain verifies again."""
    ledger = await session_ledger()
    [stored] = [r for r in await ledger.records(request_id=finished.request_id) if r.kind == "erasure"]
    body = json.loads(canonical_json(stored.sealed.body))
    body["evidence"]["steps"][0]["status"] = "failed"
    await rewrite(ledger, stored.id, body, stored.sealed.digest)
    try:
        code, out = await verify_output(capsys)
        assert 0 == await slett("evidence", "--since", datetime.now(UTC).isoformat(), "--format", "json")
        register = json.loads(capsys.readouterr().out)
    finally:
        await rewrite(ledger, stored.id, stored.sealed.body, stored.sealed.digest)

    assert 1 == code
    assert out.startswith(f"demo: CHANGED: request {finished.request_id} (record #{stored.sealed.sequence}): ")
    assert "does not match its SHA-256" in out
    chain = next(c for c in register["evidence_chains"] if c["controller"] == "demo")
    assert (False, finished.request_id) == (chain["intact"], chain["first_changed"]["request_id"]), chain["problems"]
    assert 0 == (await verify_output(capsys))[0]


async def test_evidence_edited_and_resealed_is_named_by_the_next_record(finished, deployments, capsys):
    """Evidence edited with a freshly computed digest is caught by the record sealed after it, which sealed
    the old digest; the edited request is named."""
    world = Sandbox()
    with use_transports(world.transports()):
        later = await execute(await create(deployments["erase-member"], "M1001", f"ev-later-{uuid4().hex[:8]}"))
    assert "COMPLETED" == later.state_name
    ledger = await session_ledger()
    [stored] = [r for r in await ledger.records(request_id=finished.request_id) if r.kind == "erasure"]
    body = json.loads(canonical_json(stored.sealed.body))
    body["evidence"]["holds"] = []
    await rewrite(ledger, stored.id, body, sha256(body))
    try:
        code, out = await verify_output(capsys)
    finally:
        await rewrite(ledger, stored.id, stored.sealed.body, stored.sealed.digest)

    assert 1 == code
    assert out.startswith(f"demo: CHANGED: request {finished.request_id} (record #{stored.sealed.sequence}): ")
    assert "changed and sealed again" in out


@flow(name="record-at-once")
async def record_at_once(controller: str, count: int) -> None:
    """Record evidence for `count` requests of one controller, all at the same moment."""
    settings = load_settings()
    await asyncio.gather(*(record_evidence(evidence_for(controller, n), settings) for n in range(count)))


def evidence_for(controller: str, n: int) -> Evidence:
    now = datetime.now(UTC)
    request = Request(f"race-{n}-{uuid4().hex[:6]}", controller, f"M{n}", Kind.ERASURE, f"sr-race{n}", now,
                      date(2026, 12, 1))
    step = Step("ibooking", "booking", "delete", "erased", True, 1)
    return Evidence(request, "done", (step,), (), now, str(runtime.flow_run.id))


async def verified(controller: str):
    ledger = await session_ledger()
    async with get_client() as client:
        [report] = await verify_ledger(ledger, lambda ids: existing_runs(client, ids), controller)
    return report


async def test_concurrent_records_of_one_controller_form_one_chain(prefect_server):
    """Eight requests of one controller recording evidence at the same moment still form one unbroken
    chain, numbered 1 to 8: each seal reads the head and writes the record in one database transaction."""
    controller = f"race{uuid4().hex[:8]}"

    await record_at_once(controller, 8)

    report = await verified(controller)
    assert (True, 8, 8) == (report.intact, report.records, report.head_sequence)


async def test_a_vacuumed_run_is_reported_and_its_evidence_still_verifies(prefect_server, capsys):
    """A record whose flow run Prefect no longer has (vacuumed or deleted) still verifies: the ledger keeps
    the evidence, --verify counts the run as vacuumed, and the register still lists the request as done."""
    controller = f"vac{uuid4().hex[:8]}"
    ledger = await session_ledger()
    await record_at_once(controller, 1)
    [stored] = await ledger.records(controller=controller)
    async with get_client() as client:
        await client.delete_flow_run(UUID(str(stored.flow_run_id)))

    report = await verified(controller)
    assert 0 == await slett("evidence", "--controller", controller, "--format", "json")
    register = json.loads(capsys.readouterr().out)

    assert (True, 1, 1) == (report.intact, report.records, report.vacuumed)
    assert [(stored.request_id, "done", "run vacuumed")] == [
        (r["request_id"], r["status"], r["state"]) for r in register["requests"]]


async def test_the_daily_check_leaves_a_vacuumed_runs_tags_alone(prefect_server, capsys):
    """The daily deadline check finishes when the register holds a request whose run Prefect no longer has:
    it tags no missing run, and tagging one that vanished meanwhile reports it gone instead of failing."""
    controller = f"vacday{uuid4().hex[:8]}"
    ledger = await session_ledger()
    await record_at_once(controller, 1)
    [stored] = await ledger.records(controller=controller)
    run_id = UUID(str(stored.flow_run_id))
    async with get_client() as client:
        await client.delete_flow_run(run_id)
        tagged = await set_tags(client, run_id, ["deadline-2026-12-01"])

    counts = await deadline_check()
    assert 0 == await slett("evidence", "--controller", controller, "--format", "json")
    [entry] = json.loads(capsys.readouterr().out)["requests"]

    assert (False, "run vacuumed") == (tagged, entry["state"])
    assert counts["requests"] >= 1


async def test_changed_extension_is_named(deployments, capsys):
    """An extension is sealed into the chain when it is recorded: its deadline changed in the database is
    named by --verify."""
    extended_id = f"ev-ext-{uuid4().hex[:8]}"
    extended = await create(deployments["erase-member"], "M1001", extended_id)
    ledger = await session_ledger()
    await extend_request(ledger, extended_id, "the supplier needs more time", "test dpo", datetime.now(OSLO).date())
    intact = await verify_output(capsys)
    [stored] = await ledger.records(request_id=extended_id)
    body = json.loads(canonical_json(stored.sealed.body))
    body["evidence"]["extension"]["deadline"] = "2099-01-01"
    await rewrite(ledger, stored.id, body, stored.sealed.digest)
    try:
        code, out = await verify_output(capsys)
    finally:
        await rewrite(ledger, stored.id, stored.sealed.body, stored.sealed.digest)
        async with get_client() as client:
            await client.set_flow_run_state(extended.id, Cancelled(), force=True)

    assert 0 == intact[0]
    assert 1 == code
    assert f"request {extended_id} (record #{stored.sealed.sequence}): " in out
    assert 0 == (await verify_output(capsys))[0]


async def test_runs_still_in_prefect_are_told_from_deleted_ones_whether_a_batch_is_all_there_none_or_some(
        prefect_server):
    """Asked which runs Prefect still has, counted a batch at a time: a batch whose runs are all there, one whose
    runs are all gone (deleted, or never there) and one with some of each each give exactly the runs still there."""
    async with get_client() as client:
        runs = [str((await client.create_flow_run(record_at_once, parameters={"controller": "none", "count": 0})).id)
                for _ in range(3)]
        await client.delete_flow_run(UUID(runs[1]))
        never = str(uuid4())

        all_there = await existing_runs(client, [runs[0], runs[2]], counted=2)
        none_there = await existing_runs(client, [runs[1], never], counted=2)
        some_there = await existing_runs(client, [*runs, never], counted=4)
        one_at_a_time = await existing_runs(client, [*runs, never], counted=1)

    assert ({runs[0], runs[2]}, set(), {runs[0], runs[2]}, {runs[0], runs[2]}) == (
        all_there, none_there, some_there, one_at_a_time)
