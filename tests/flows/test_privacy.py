"""After real runs, nothing the orchestration keeps holds a member's personal data."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from prefect.settings import get_current_settings

from cli.audit import scan, scan_database
from cli.demo import hold_arguments
from cli.main import main
from domain.values import OSLO
from sandbox.demo_requests import DEMO_REQUESTS, DemoRequest
from sandbox.mailchimp import AUDIENCES, subscriber_hash
from sandbox.world import Sandbox
from tests.conftest import PREFECT_HOME
from tests.flow_driver import Flows, release_runs
from tests.flows.conftest import Run

pytestmark = pytest.mark.slow
CAMPAIGNS = list(AUDIENCES)[1]


def prefect_database() -> Path:
    """The SQLite file of the session's Prefect test server."""
    url = get_current_settings().server.database.connection_url
    assert url is not None
    return Path(url.get_secret_value().split("///", 1)[1])


async def run_demo_request(flows: Flows, sandbox: Sandbox, request: DemoRequest) -> Run:
    """One chain's demo request, as `slett demo` runs it: its legal hold set first, paid when it waits, each manual
    step confirmed."""
    if request.legal_hold:
        assert 0 == await asyncio.to_thread(main, hold_arguments(request, datetime.now(OSLO).date()))
    if request.kind == "withdrawal":
        return await flows.withdraw(request.controller, request.member_id)
    run = await flows.erase(request.controller, request.member_id, kind=request.kind)
    if request.settles and run.state_name == "SUSPENDED":
        sandbox.settle(request.member_id)
        run = await flows.resume(run, {"confirmed_by": "membership-webhook"})
    if request.confirms:
        run, _ = await flows.confirm_all(run, by="Drift Operatør", what="done at the supplier")
    return run


async def test_no_personal_data_under_prefect_home_or_in_the_database(sandbox, run_erasure, resume, deployments):
    """With every demo-chain member and one request per chain erased (Eziteq, LifeVision, Stripe, Fixit,
    Credicare and the suppliers confirmed by a person among them), a withdrawal of marketing, a legal hold set with
    `slett hold`, an active member's request, an unknown member's, a release run and a sweep that removed a member a
    re-sync added back, no name, e-mail, phone, address or MD5 of an e-mail appears
    in the Prefect database, result storage or logs."""
    for member_id in ("M1001", "M1003", "M1004"):
        assert "COMPLETED" == (await run_erasure(member_id)).state_name
    suspended = await run_erasure("M1002")
    sandbox.settle("M1002")
    assert "COMPLETED" == (await resume(suspended, {"confirmed_by": "audit test"})).state_name
    flows = Flows(deployments)
    for request in DEMO_REQUESTS:
        run = await run_demo_request(flows, sandbox, request)
        assert (request.member_id, request.ends) == (request.member_id, run.state_name)
        if request.controller == "mova":
            for scheduled in (await release_runs(run.flow_run.parameters["request_id"])).values():
                await flows.release(scheduled, datetime.now(OSLO).date())
    # A re-sync adds an erased member back; the sweep reads every audience member's address to find them.
    assert sandbox.mailchimp.resync(sandbox.member("M1003"), CAMPAIGNS)
    assert {"demo": 1} == await (await flows.sweep("demo")).result()
    erased = ("M1001", "M1002", "M1003", "M1004", *(r.member_id for r in DEMO_REQUESTS if r.ends == "COMPLETED"))
    people = [sandbox.member(member_id) for member_id in erased]
    values = ({value for person in people for value in person.personal_values()}
              | {subscriber_hash(person.email) for person in people} | sandbox.all_personal_values())
    assert {"lifevision", "stripe", "eziteq", "fixit", "mailchimp"} <= {
        call.system for r in DEMO_REQUESTS for call in sandbox.applied_calls(r.member_id)}
    database = prefect_database()

    hits = scan([Path(PREFECT_HOME), database, Path(f"{database}-wal")], values)
    rows = await scan_database(f"sqlite+aiosqlite:///{database}", values)

    assert database.stat().st_size > 0
    assert any(Path(PREFECT_HOME, "storage").rglob("*")), "result storage should hold cached task results"
    assert [] == hits
    assert [] == rows


def test_scan_finds_a_planted_value(tmp_path):
    """The scan finds a value in plain, JSON-escaped and lowercased form (so a zero means zero)."""
    (tmp_path / "plain.txt").write_text("x Kari Testesen y")
    (tmp_path / "escaped.json").write_text('{"n": "Torbj\\u00f8rn"}')
    (tmp_path / "lower.log").write_text("kari.testesen@example.no")

    hits = scan([tmp_path], ["Kari Testesen", "Torbjørn", "Kari.Testesen@example.no"])

    assert {("plain.txt", 0), ("escaped.json", 1), ("lower.log", 2)} == {
        (Path(hit.path).name, hit.value_index) for hit in hits}
