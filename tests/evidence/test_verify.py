"""`slett evidence --verify` against the run history: untouched, tampered through the API, and raced."""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from prefect import flow, get_client
from prefect.client.schemas.actions import ArtifactCreate, ArtifactUpdate
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.objects import Artifact
from prefect.states import Cancelled

from connectors.http import use_transports
from domain.values import Evidence, Kind, Request, Step, artifact_key
from evidence.chain import Sealed, chain_head, record_markdown, verify
from evidence.documents import sha256, unfenced
from queries.history import latest_artifact
from sandbox.world import Sandbox
from tasks.deadlines import extend_request, extension_markdown
from tasks.evidence import evidence_rows, record_evidence
from tests.evidence.conftest import create
from tests.evidence.test_register import slett
from tests.flows.conftest import execute

pytestmark = pytest.mark.slow


async def sealed(client, key: str) -> tuple[Artifact, Sealed]:
    """The newest version of a request's evidence artifact and the record in it."""
    artifact = await latest_artifact(client, key)
    assert artifact is not None
    record = Sealed.of(unfenced(artifact.data))
    assert record is not None
    return artifact, record


async def verify_output(capsys) -> tuple[int, str]:
    code = await slett("evidence", "--verify", "--controller", "demo")
    return code, capsys.readouterr().out


async def test_untouched_history_verifies(finished, capsys):
    """With nothing changed, the demo chain verifies and the command says so with its head digest."""
    code, out = await verify_output(capsys)

    assert 0 == code
    assert out.startswith("demo: ") and "chain intact; head #" in out


async def test_altered_new_version_of_evidence_is_named(finished, capsys):
    """A newer version of a request's evidence artifact with altered content, created through the API, is
    detected and that request named; with the forgery deleted the chain verifies again."""
    key = artifact_key("evidence", finished.request_id)
    async with get_client() as client:
        original, record = await sealed(client, key)
        body = copy.deepcopy(record.body)
        body["evidence"]["steps"][0]["status"] = "failed"
        forged = await client.create_artifact(ArtifactCreate(
            key=key, type="markdown", data=record_markdown(Sealed(body, record.digest)),
            flow_run_id=original.flow_run_id))
        try:
            code, out = await verify_output(capsys)
            register = json.loads(await register_output(capsys))
        finally:
            await client.delete_artifact(forged.id)

    assert 1 == code
    assert out.startswith(f"demo: CHANGED: request {finished.request_id} (record #{record.sequence}): ")
    assert "does not match its SHA-256" in out
    chain = next(c for c in register["evidence_chains"] if c["controller"] == "demo")
    assert (False, finished.request_id) == (chain["intact"], chain["first_changed"]["request_id"])
    assert 1 == register["counts"]["broken evidence chains"]
    assert 0 == (await verify_output(capsys))[0]


async def register_output(capsys) -> str:
    """The register of no request (received from now on), which still reports the evidence chains."""
    assert 0 == await slett("evidence", "--since", datetime.now(UTC).isoformat(), "--format", "json")
    out: str = capsys.readouterr().out
    return out


async def test_evidence_edited_in_place_and_resealed_is_named(finished, deployments, capsys):
    """Evidence edited in place with a freshly computed digest is caught by the record sealed after it,
    and the edited request is named."""
    world = Sandbox()
    with use_transports(world.transports()):
        later = await execute(await create(deployments["erase-member"], "M1001", f"ev-later-{uuid4().hex[:8]}"))
    assert "COMPLETED" == later.state_name
    key = artifact_key("evidence", finished.request_id)
    async with get_client() as client:
        original, record = await sealed(client, key)
        body = copy.deepcopy(record.body)
        body["evidence"]["holds"] = []
        await client.update_artifact(original.id, ArtifactUpdate(data=record_markdown(Sealed(body, sha256(body)))))
        try:
            code, out = await verify_output(capsys)
        finally:
            await client.update_artifact(original.id, ArtifactUpdate(data=original.data))

    assert 1 == code
    assert out.startswith(f"demo: CHANGED: request {finished.request_id} (record #{record.sequence}): ")
    assert "changed and sealed again" in out


async def test_changed_evidence_table_is_named(finished, capsys):
    """A newer version of a request's evidence table with other rows is detected against what was sealed."""
    key = artifact_key("erasure", finished.request_id)
    evidence = await finished.run.result()
    rows = evidence_rows(evidence)
    rows[-1] = {**rows[-1], "status": "erased"}
    async with get_client() as client:
        original = await latest_artifact(client, key)
        assert original is not None
        forged = await client.create_artifact(ArtifactCreate(key=key, type="table", data=json.dumps(rows),
                                                              flow_run_id=original.flow_run_id))
        try:
            code, out = await verify_output(capsys)
        finally:
            await client.delete_artifact(forged.id)

    assert 1 == code
    assert f"request {finished.request_id}" in out and f"its artifact {key} was changed after sealing" in out


@flow(name="record-at-once")
async def record_at_once(controller: str, count: int) -> None:
    """Record evidence for `count` requests of one controller, all at the same moment."""
    await asyncio.gather(*(record_evidence(evidence_for(controller, n)) for n in range(count)))


def evidence_for(controller: str, n: int) -> Evidence:
    now = datetime.now(UTC)
    request = Request(f"race-{n}-{uuid4().hex[:6]}", controller, f"M{n}", Kind.ERASURE, f"sr-race{n}", now,
                      date(2026, 12, 1))
    step = Step("ibooking", "booking", "delete", "erased", True, 1)
    return Evidence(request, "done", (step,), (), now)


async def test_concurrent_records_of_one_controller_form_one_chain(prefect_server):
    """Eight requests of one controller recording evidence at the same moment still form one unbroken
    chain, numbered 1 to 8: sealing holds the controller's lock from reading the head to storing."""
    controller = f"race{uuid4().hex[:8]}"

    await record_at_once(controller, 8)

    [report] = await verify(controller)
    assert (True, 8, 8) == (report.intact, report.records, report.head_sequence)


async def test_the_head_is_found_behind_more_newer_records_of_others_than_a_first_page_holds(prefect_server):
    """A controller's newest record is found however many records other controllers sealed since: the search
    reads a few records first, then larger pages."""
    quiet, busy = f"quiet{uuid4().hex[:8]}", f"busy{uuid4().hex[:8]}"
    await record_at_once(quiet, 1)
    for _ in range(3):  # eight at once, as the race test does: the lock's waiters stay few
        await record_at_once(busy, 8)

    async with get_client() as client:
        head = await chain_head(client, quiet)

    assert (quiet, 1) == ((head.controller, head.sequence) if head else None)


async def test_deleted_newest_record_is_named_by_its_table(prefect_server):
    """Every version of a controller's newest evidence record deleted through the API leaves no gap for the
    chain to show, but its evidence table is still there: the request is named as missing its record."""
    controller = f"del{uuid4().hex[:8]}"
    await record_at_once(controller, 2)
    async with get_client() as client:
        head = await chain_head(client, controller)
        assert head is not None
        key = artifact_key("evidence", head.request_id)
        for version in await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))):
            await client.delete_artifact(version.id)

    [report] = await verify(controller)

    assert (1, [head.request_id]) == (report.records, [p.request_id for p in report.problems])
    assert (f"its evidence table {artifact_key('erasure', head.request_id)} is in no sealed evidence record "
            "(deleted, or never sealed)") == report.problems[0].reason


async def test_changed_or_forged_extension_is_named(deployments, capsys):
    """An extension is sealed into the chain when it is recorded: a newer version with a later deadline, or
    an extension artifact made through the API for a request that had none, is named by --verify."""
    extended_id, other_id = f"ev-ext-{uuid4().hex[:8]}", f"ev-forged-{uuid4().hex[:8]}"
    extended = await create(deployments["erase-member"], "M1001", extended_id)
    other = await create(deployments["erase-member"], "M1004", other_id)
    extension = await extend_request(extended_id, "the supplier needs more time", "test dpo", date.today())
    intact = await verify_output(capsys)
    later = extension_markdown(replace(extension, deadline=date(2099, 1, 1)))
    async with get_client() as client:
        changed = await client.create_artifact(ArtifactCreate(
            key=artifact_key("extension", extended_id), type="markdown", data=later, flow_run_id=extended.id))
        forged = await client.create_artifact(ArtifactCreate(
            key=artifact_key("extension", other_id), type="markdown", data=later, flow_run_id=other.id))
        try:
            code, out = await verify_output(capsys)
        finally:
            for artifact in (changed, forged):
                await client.delete_artifact(artifact.id)
            for run in (extended, other):
                await client.set_flow_run_state(run.id, Cancelled(), force=True)

    assert 0 == intact[0]
    assert 1 == code
    assert (f"request {extended_id} (record #" in out
            and f"its artifact {artifact_key('extension', extended_id)} was changed after sealing" in out)
    assert (f"request {other_id}: its deadline extension {artifact_key('extension', other_id)} "
            "is in no sealed evidence record") in out
    assert 0 == (await verify_output(capsys))[0]
