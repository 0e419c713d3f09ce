"""`slett evidence --verify` against the run history: untouched, tampered through the API, and raced."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from prefect import flow, get_client
from prefect.client.schemas.actions import ArtifactCreate, ArtifactUpdate
from prefect.client.schemas.objects import Artifact

from connectors.http import use_transports
from sandbox.world import Sandbox
from tasks.chain import Sealed, record_markdown, verify
from tasks.documents import sha256, unfenced
from tasks.evidence import evidence_rows, record_evidence
from tasks.history import latest_artifact
from tasks.models import Evidence, Kind, Request, Step, artifact_key
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
