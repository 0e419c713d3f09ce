"""release-holds: a hold is released at its date and never before; a newer entry moves the date; journals stay."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pytest

from config.dates import bookkeeping_last_day, journal_review_day
from sandbox.exceline import Invoice
from sandbox.people import JOURNAL_LAST_ENTRY
from tasks.holds import OSLO, release_key, release_time
from tests.flow_driver import Flows, release_runs
from tests.flows.conftest import table_rows

pytestmark = pytest.mark.slow


@pytest.fixture
def flows(deployments: dict[str, UUID]) -> Flows:
    """slett's deployments, driven from the test."""
    return Flows(deployments)


async def erased_with_holds(flows: Flows, member_id: str, request_id: str) -> dict[str, object]:
    run = await flows.erase("demo", member_id, request_id=request_id)
    assert "COMPLETED" == run.state_name
    return {hold.key: hold for hold in (await run.result()).holds}


async def test_a_hold_is_never_released_before_its_date_and_always_at_it(sandbox, flows, artifacts):
    """On its last day (and any day before) the invoices stay and the run is put back on its date; on the
    day after, the same run deletes them and the release is in the request's evidence."""
    holds = await erased_with_holds(flows, "M1001", "hold-dates-m1001")
    last_day = holds["exceline-bookkeeping"].retain_until  # type: ignore[attr-defined]
    scheduled = (await release_runs("hold-dates-m1001"))["exceline-bookkeeping"]
    invoices = sandbox.exceline.members["M1001"].invoices

    for early in (date(2027, 6, 1), last_day - timedelta(days=1), last_day):
        run = await flows.release(scheduled, early)
        assert ("rescheduled", 12) == (await run.result(), len(invoices))

    run = await flows.release(scheduled, last_day + timedelta(days=1))

    assert "done" == await run.result()
    assert [] == sandbox.exceline.members["M1001"].invoices
    row = table_rows((await artifacts("release-hold-dates-m1001-exceline-bookkeeping"))[0])[0]
    assert ("erased", "yes", str(last_day + timedelta(days=1))) == (row["status"], row["verified"], row["as_of"])


async def test_a_newer_invoice_moves_the_date_and_the_hold_is_rescheduled_under_a_new_key(sandbox, flows):
    """An invoice dated after the erasure (a late credit note) keeps the records another year: at the old
    date nothing is deleted and a release run is scheduled for the new date, under its own idempotency key."""
    holds = await erased_with_holds(flows, "M1001", "hold-moves-m1001")
    old = holds["exceline-bookkeeping"].retain_until  # type: ignore[attr-defined]
    record = sandbox.exceline.members["M1001"]
    late = date(old.year - 4, 1, 10)
    record.invoices.append(Invoice("INV-1001-LATE", late, late + timedelta(days=14), -59_900, 0, "paid", "0"))
    first = (await release_runs("hold-moves-m1001"))["exceline-bookkeeping"]

    run = await flows.release(first, old + timedelta(days=1))

    moved = (await release_runs("hold-moves-m1001"))["exceline-bookkeeping"]
    new = bookkeeping_last_day(late)
    assert ("rescheduled", 13) == (await run.result(), len(record.invoices))
    assert (date(old.year + 1, 12, 31), True) == (new, moved.id != first.id)
    assert moved.expected_start_time is not None
    assert release_time(new) == moved.expected_start_time.astimezone(OSLO)
    assert release_key("hold-moves-m1001", holds["exceline-bookkeeping"]) != moved.idempotency_key  # type: ignore[arg-type]


async def test_a_journal_is_never_deleted_automatically(sandbox, flows, artifacts):
    """At its review date a journal's release run hands it to a clinician (a manual outcome) and deletes
    nothing; a newer entry in the journal moves the review instead."""
    holds = await erased_with_holds(flows, "M1003", "journal-m1003")
    review = holds["physica-journal"].retain_until  # type: ignore[attr-defined]
    assert journal_review_day(JOURNAL_LAST_ENTRY) == review
    scheduled = (await release_runs("journal-m1003"))["physica-journal"]
    patient = sandbox.physica.patients["P-1003"]

    run = await flows.release(scheduled, review + timedelta(days=1))

    assert "review" == await run.result()
    assert (True, 3) == (patient.restricted, len(patient.entries))
    assert [] == [c for c in sandbox.applied_calls("M1003") if c.system == "physica" and c.action != "restrict"]
    row = table_rows((await artifacts("release-journal-m1003-physica-journal"))[0])[0]
    assert ("manual", "review") == (row["status"], row["action"])

    patient.entries.append({"date": (review - timedelta(days=30)).isoformat(), "author": "fysioterapeut"})
    moved = await flows.release(scheduled, review + timedelta(days=2))
    assert ("rescheduled", 4) == (await moved.result(), len(patient.entries))
