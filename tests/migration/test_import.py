"""`slett ledger import` on a Prefect database written by the code before the ledger: its evidence and holds
move into the ledger once, the release runs it replaced are cancelled, and in-flight work finishes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from prefect import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName, FlowRunFilter, FlowRunFilterTags
from prefect.settings import PREFECT_API_URL

from config.settings import load_settings
from connectors.http import use_transports
from domain.values import OSLO
from evidence.ledger import HELD, open_ledger
from evidence.verify import verify_records
from sandbox.world import Sandbox
from tasks.migration import REPLACED
from tests.evidence.test_register import slett
from tests.flow_driver import Flows, Held, execute

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
day_zero = datetime(2000, 1, 1, tzinfo=UTC)
# main before the ledger (Prefect 3.9.1): its code scheduled a release run per hold and sealed evidence artifacts.
BEFORE_LEDGER = "1dd89a4caaac230b54c326b3c41942d78b7e2672"
OLD_RUNS = """
import asyncio, json, sys
from uuid import UUID
from prefect import get_client
from connectors.http import use_transports
from sandbox.world import Sandbox
from tests.flows.conftest import execute

async def main(deployment, done_id, open_id, fired_id):
    world, out = Sandbox(), {}
    with use_transports(world.transports()):
        for member, request_id in (("M1001", done_id), ("M1002", open_id), ("M1003", fired_id)):
            async with get_client() as client:
                run = await client.create_flow_run_from_deployment(
                    UUID(deployment), idempotency_key=request_id,
                    parameters={"controller": "demo", "member_id": member, "kind": "termination",
                                "request_id": request_id})
            done = await execute(run)
            out[request_id] = [str(done.flow_run.id), done.state_name]
    print(json.dumps(out))

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def old_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The code before the ledger, from the repository's history."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE_LEDGER], capture_output=True, check=True)
    folder = tmp_path_factory.mktemp("before-ledger")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_old_code(old_code: Path, deployment: UUID, *request_ids: str) -> dict[str, list[str]]:
    """Erase two members to the end and one with an open invoice (it suspends) with the old code, against
    this session's Prefect server; the old code's run ids and states."""
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PYTHONPATH": str(old_code)}
    done = subprocess.run([sys.executable, "-c", OLD_RUNS, str(deployment), *request_ids], cwd=old_code,
                          env=env, capture_output=True, text=True, timeout=300)
    assert 0 == done.returncode, done.stderr[-3000:]
    answer: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


async def imported(capsys: pytest.CaptureFixture[str]) -> str:
    """`slett ledger import` as a person runs it; what it printed."""
    assert 0 == await slett("ledger", "import")
    return capsys.readouterr().out


async def release_runs_of(request_id: str) -> dict[str, str]:
    """The old release runs of a request, by "<system>-<rule>-<start day>", with their state."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[f"request:{request_id}"])),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["release-holds"])))
    return {str(r.id): f"{r.state.type.value if r.state else ''}:{r.state.message if r.state else ''}"
            for r in runs}


async def test_old_evidence_and_holds_are_imported_once_and_finish(old_code, deployments, capsys):
    """What the old code wrote (a sealed evidence artifact, a release run per hold, a suspended run) is
    imported into the ledger once: the request's record keeps the old digest, each hold is held at its date,
    the replaced release runs are cancelled, a second import seals nothing, the chain verifies; the imported
    hold is released by the sweep on its date, and the suspended run, resumed, finishes with the new code,
    per category (its held invoices keep the buyer's name and address, restricted, and lose phone and e-mail).
    An old release run that starts before anyone imported imports its own request and releases its hold."""
    tag = uuid4().hex[:8]
    done_id, open_id, fired_id = f"old-done-{tag}", f"old-open-{tag}", f"old-fired-{tag}"
    runs = run_old_code(old_code, deployments["erase-member"], done_id, open_id, fired_id)
    assert {done_id: "COMPLETED", open_id: "SUSPENDED", fired_id: "COMPLETED"} == {k: v[1] for k, v in runs.items()}
    before = await release_runs_of(done_id)
    assert before and {"SCHEDULED"} == {state.split(":")[0] for state in before.values()}
    flows = Flows(deployments)
    world = Sandbox()
    async with get_client() as client:
        old_runs = [r for r in await client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"request:{fired_id}", "hold:bookkeeping"])))
            if r.parameters.get("system") == "exceline" and r.expected_start_time is not None]
    # The soonest of them, as its worker starts it on its day.
    old_run = min(old_runs, key=lambda r: r.expected_start_time or day_zero)
    day = old_run.expected_start_time.astimezone(OSLO).date() if old_run.expected_start_time else None
    assert day is not None
    with use_transports(world.transports()):
        # The old code's sandbox ended with its process: the processors are brought to the same state (the
        # member erased, the records held) by erasing the member again under another request.
        assert "COMPLETED" == (await flows.erase("demo", "M1003", request_id=f"{fired_id}-replayed")).state_name
        fired = await flows.start("release-holds", {**old_run.parameters, "as_of": day.isoformat()})

    assert ("COMPLETED", {f"{fired_id}:exceline-bookkeeping": "released"}) == (fired.state_name,
                                                                               await fired.result())
    assert {f"CANCELLED:{REPLACED}"} == set((await release_runs_of(fired_id)).values())

    first = await imported(capsys)
    second = await imported(capsys)

    ledger = await open_ledger(load_settings().ledger_url)
    stored = await ledger.records(request_id=done_id, with_holds=True)
    states = await ledger.hold_states([done_id])
    after = await release_runs_of(done_id)
    assert ["import"] == [r.kind for r in stored]
    assert ["import", "release"] == [r.kind for r in await ledger.records(request_id=fired_id)]
    assert stored[0].sealed.body["evidence"]["imported"]["digest"] and stored[0].flow_run_id == runs[done_id][0]
    assert len(before) == len(states) and {HELD} == {s.status for s in states}
    assert {f"CANCELLED:{REPLACED}"} == set(after.values())
    assert "imported 0 evidence record(s)" in second and "imported 0 evidence record(s)" not in first
    report = {r.controller: r for r in verify_records(await ledger.records(with_holds=True))}["demo"]
    assert (True, []) == (report.intact, list(report.problems))

    soonest = states[0]
    with use_transports(world.transports()):
        # The old code's sandbox ended with its process: the processors are brought to the same state (the
        # member erased, the records held) by erasing the member again under another request.
        assert "COMPLETED" == (await flows.erase("demo", "M1001", request_id=f"{done_id}-replayed")).state_name
        released = await flows.release(Held(done_id, soonest.hold.system, soonest.hold.rule,
                                            soonest.hold.retain_until), soonest.hold.retain_until)
        # What the old run did before it suspended (marketing stopped) is so in this sandbox too.
        for key in [k for k, member_id in world.mailchimp.member_ids.items() if member_id == "M1002"]:
            world.mailchimp.members.pop(key, None)
        world.exceline.settle("M1002")
        async with get_client() as client:
            await client.resume_flow_run(UUID(runs[open_id][0]), run_input={"confirmed_by": "test"})
            suspended = await client.read_flow_run(UUID(runs[open_id][0]))
        resumed = await execute("erase-member", suspended)

    assert ("COMPLETED", "released") == (released.state_name, await released.result())
    assert "COMPLETED" == resumed.state_name, resumed.state.message
    # Resumed by the new code from the top, the old run seals the suppression entry its first step now makes
    # (the member's contact is still at the membership system), then the acknowledgment it had not
    # sent, then its erasure.
    assert ["suppression", "letter", "erasure"] == [r.kind for r in await ledger.records(request_id=open_id)]
    # The old run suspended before data maps existed; resumed, it erases per category and field.
    [membership] = [s for s in (await resumed.result()).steps if s.system == "exceline"]
    invoices = {c.category: c for c in membership.categories}["invoices"]
    kept = world.exceline.members["M1002"].invoices
    assert ("restrict", "bookkeeping", True) == (invoices.action, invoices.rule, invoices.verified)
    assert kept and {(True, None, None)} == {(i.restricted, i.buyer_phone, i.buyer_email) for i in kept}
    assert all(i.buyer_name and i.buyer_address for i in kept)

