"""release-holds, the daily sweep over the ledger: each record is released on its own date and never before; a
newer entry keeps only itself longer; a failed release stays due and fails the sweep; journals stay."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest
from prefect import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_URL

from benchmarks.rows import prefect_rows
from config.dates import add_years
from config.holds import Hold
from sandbox.exceline import Invoice
from sandbox.people import JOURNAL_LAST_ENTRY
from tests.chains.releases import release_time, releases_of, runs_by_start
from tests.flow_driver import Flows, release_runs

pytestmark = pytest.mark.slow


@pytest.fixture
def flows(deployments: dict[str, UUID]) -> Flows:
    """slett's deployments, driven from the test."""
    return Flows(deployments)


async def erased_with_holds(flows: Flows, member_id: str, request_id: str) -> dict[str, object]:
    run = await flows.erase("demo", member_id, request_id=request_id)
    assert "COMPLETED" == run.state_name
    return {hold.key: hold for hold in (await run.result()).holds}


async def holds_of(flows: Flows, member_id: str, request_id: str, key: str) -> list[Hold]:
    """The request's holds under one processor and rule, oldest date first."""
    run = await flows.erase("demo", member_id, request_id=request_id)
    assert "COMPLETED" == run.state_name
    return [hold for hold in (await run.result()).holds if hold.key == key]


async def test_each_years_invoices_are_released_on_their_own_date_and_the_newer_kept_until_theirs(sandbox, flows):
    """Bokføringsloven § 13 counts from each entry's own financial year: the 2025 invoices are kept through
    30 December 2030 and deleted on 31 December 2030, their date ("deleted after N" is kept on or before that
    day), while the January 2026 invoice stays, held in the ledger until 31 December 2031, and goes on that
    day; never before. Each release is sealed into the request's evidence."""
    older, newer = await holds_of(flows, "M1001", "hold-dates-m1001", "exceline-bookkeeping")
    assert ((date(2030, 12, 31), date(2025, 12, 1)), (date(2031, 12, 31), date(2026, 1, 1))) == (
        (older.retain_until, older.records_through), (newer.retain_until, newer.records_through))
    runs = await runs_by_start("hold-dates-m1001", "exceline-bookkeeping")
    first, second = runs[release_time(older.retain_until)], runs[release_time(newer.retain_until)]
    invoices = sandbox.exceline.members["M1001"].invoices

    for early in (date(2027, 6, 1), older.retain_until - timedelta(days=1)):
        run = await flows.release(first, early)
        assert ("nothing due", 12) == (await run.result(), len(invoices))

    run = await flows.release(first, older.retain_until)

    remaining = sandbox.exceline.members["M1001"].invoices
    assert ("released", [date(2026, 1, 1)]) == (await run.result(), [i.invoice_date for i in remaining])
    kept = await flows.release(second, newer.retain_until - timedelta(days=1))
    assert ("nothing due", 1) == (await kept.result(), len(sandbox.exceline.members["M1001"].invoices))

    last = await flows.release(second, newer.retain_until)

    assert ("released", []) == (await last.result(), sandbox.exceline.members["M1001"].invoices)
    done = [r for r in await releases_of("hold-dates-m1001") if r["status"] == "erased"]
    assert [("yes", "2025-12-01", "2031-12-31"), ("yes", "2026-01-01", "")] == [
        (r["verified"], r["records_through"], r["kept_until"]) for r in done]


async def test_no_flow_run_is_scheduled_for_a_hold(sandbox, flows):
    """Holds go to the ledger, not to Prefect: an erasure with holds schedules no release-holds run."""
    run = await flows.erase("demo", "M1001", request_id="hold-runs-m1001")
    async with get_client() as client:
        scheduled = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["release-holds"])))

    assert "COMPLETED" == run.state_name
    assert 2 == len(await runs_by_start("hold-runs-m1001", "exceline-bookkeeping"))
    assert [] == [r for r in scheduled if r.parameters.get("request_id") == "hold-runs-m1001"]


async def test_a_newer_invoice_keeps_only_itself_longer(sandbox, flows):
    """An invoice dated after the erasure (a late credit note in 2027) is held until the end of 2032: at the
    older date the older invoices go and the late one stays, held in the ledger until its own date."""
    holds = await holds_of(flows, "M1001", "hold-moves-m1001", "exceline-bookkeeping")
    old = holds[-1]
    record = sandbox.exceline.members["M1001"]
    late = date(2027, 1, 10)
    record.invoices.append(Invoice("INV-1001-LATE", late, late + timedelta(days=14), -59_900, 0, "paid", "0"))
    first = (await release_runs("hold-moves-m1001"))["exceline-bookkeeping"]

    run = await flows.release(first, old.retain_until)

    moved = await runs_by_start("hold-moves-m1001", "exceline-bookkeeping")
    new = date(late.year + 5, 12, 31)
    assert ("released", [late]) == (await run.result(), [i.invoice_date for i in record.invoices])
    assert date(2032, 12, 31) == new
    assert release_time(new) in moved


async def test_a_failed_release_stays_due_and_fails_the_sweep_with_its_reason(sandbox, flows):
    """When the processor refuses to delete (an AvtaleGiro mandate active again at Nets: the payments are in
    use), the sweep ends Failed, its message names the request, processor and reason, the failure is sealed in
    the evidence, and the hold is still due the next day."""
    holds = await holds_of(flows, "M1004", "release-fails-m1004", "nets-bookkeeping")
    scheduled = (await release_runs("release-fails-m1004"))["nets-bookkeeping"]
    payer = sandbox.nets.payers["NC-1004"]
    payer.mandates["000010040"] = {"kid": "000010040", "status": "active", "createdAt": "2030-01-02"}

    run = await flows.release(scheduled, holds[-1].retain_until)

    assert "FAILED" == run.state_name
    message = str(run.state.message)
    assert "release-fails-m1004" in message and "nets" in message and "HTTP 409" in message
    [row] = await releases_of("release-fails-m1004")
    assert ("failed", "no", "nets") == (row["status"], row["verified"], row["system"])
    assert 12 == len(payer.transactions)
    assert "nets-bookkeeping" in await release_runs("release-fails-m1004")


async def test_a_journal_is_never_deleted_automatically(sandbox, flows):
    """On its review date a journal's hold is handed to a clinician (a manual outcome) and nothing is
    deleted; a newer entry in the journal moves the review instead."""
    holds = await erased_with_holds(flows, "M1003", "journal-m1003")
    review = holds["physica-journal"].retain_until  # type: ignore[attr-defined]
    assert add_years(JOURNAL_LAST_ENTRY, 10) == review
    scheduled = (await release_runs("journal-m1003"))["physica-journal"]
    patient = sandbox.physica.patients["P-1003"]
    patient.entries.append({"date": (review - timedelta(days=30)).isoformat(), "author": "fysioterapeut"})

    moved = await flows.release(scheduled, review)
    assert ("held_again", 4) == (await moved.result(), len(patient.entries))

    later = (await release_runs("journal-m1003"))["physica-journal"]
    run = await flows.release(later, later.retain_until)

    assert "review" == await run.result()
    assert (True, 4) == (patient.restricted, len(patient.entries))
    assert [] == [c for c in sandbox.applied_calls("M1003") if c.system == "physica" and c.action != "restrict"]
    row = (await releases_of("journal-m1003"))[-1]
    assert ("manual", "review") == (row["status"], row["action"])


async def test_the_bench_counts_prefect_rows_and_no_scheduled_release_run(sandbox, flows):
    """`make bench`'s figure: after an erasure with holds Prefect has its runs, task runs and artifacts, and
    no release-holds run scheduled (0 a request, where the code before the ledger scheduled 4.4)."""
    run = await flows.erase("demo", "M1001", request_id=f"rows-{uuid4().hex[:8]}")

    rows = await prefect_rows(str(PREFECT_API_URL.value()), 1)

    assert "COMPLETED" == run.state_name
    assert 0 == rows["scheduled_flow_runs_per_request_for_holds"]
    assert all(rows["total"][name] >= 1 for name in ("flow_runs", "task_runs", "artifacts"))
