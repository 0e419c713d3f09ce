"""Spenst's promises (seed 002), each proven by the chain's own erase-member and release-holds runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from config.dates import add_months, bookkeeping_last_day, purchase_last_day
from sandbox.exceline_records import add_record
from tasks.holds import OSLO, release_time
from tests.flow_driver import release_runs

PURCHASED = date(2026, 3, 14)


def today() -> date:
    return datetime.now(OSLO).date()


async def test_spenst_deletes_personal_data_incl_visit_history_within_3_months_after_settlement(sandbox, flows):
    """"innen tre (3) måneder etter at siste faktura og eventuelt annen utestående er gjort opp": while the
    last invoice is open only marketing goes; once it is paid the profile and visit history go at once,
    well inside the three months the evidence states as the latest day."""
    member = sandbox.add_member(chain="spenst", open_invoice=True)

    waiting = await flows.erase("spenst", member.member_id)

    assert "SUSPENDED" == waiting.state_name
    assert ["lifevision"] == sandbox.destructive_calls_for(member.member_id)
    assert 3 == len(sandbox.exceline.members[member.member_id].visits)

    sandbox.settle(member.member_id)
    run = await flows.resume(waiting, {"confirmed_by": "test"})

    evidence = await run.result()
    record = sandbox.exceline.members[member.member_id]
    assert "COMPLETED" == run.state_name
    assert ([], None, None, True) == (record.visits, record.first_name, record.email, record.anonymised)
    assert member.member_id not in {c.external_id for c in sandbox.ibooking.customers.values()}
    assert add_months(today(), 3) == evidence.act_by
    assert evidence.finished.astimezone(OSLO).date() <= evidence.act_by
    assert "exceline" == sandbox.destructive_calls_for(member.member_id)[-1]


async def test_spenst_deletes_purchase_data_after_2_years(sandbox, flows, artifacts):
    """"Kjøpsdata slettes etter 2 år": purchases with the membership card stay, restricted, to two years
    after the purchase, and are deleted by the release run the day after."""
    member = sandbox.add_member(chain="spenst")
    record = sandbox.exceline.members[member.member_id]
    add_record(record, "purchases", PURCHASED)

    run = await flows.erase("spenst", member.member_id, request_id=f"spenst-purchases-{member.member_id}")

    holds = {hold.key: hold for hold in (await run.result()).holds}
    last_day = purchase_last_day(PURCHASED)
    assert date(2028, 3, 14) == last_day == holds["exceline-purchases"].retain_until
    assert [True] == [r["restricted"] for r in record.records["purchases"]]
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))["exceline-purchases"]
    assert scheduled.expected_start_time is not None
    assert release_time(last_day) == scheduled.expected_start_time.astimezone(OSLO)

    early = await flows.release(scheduled, last_day)
    assert ("rescheduled", 1) == (await early.result(), len(record.records["purchases"]))

    due = await flows.release(scheduled, last_day + timedelta(days=1))

    assert "done" == await due.result()
    assert "purchases" not in record.records
    assert 12 == len(record.invoices)  # bookkeeping keeps the invoices for three more years
    [row] = await artifacts(f"release-spenst-purchases-{member.member_id.lower()}-exceline-purchases")
    assert ("erased", "yes", str(last_day)) == (row["status"], row["verified"], row["retain_until"])


async def test_spenst_keeps_bookkeeping_5_years(sandbox, flows):
    """"for tiden 5 år": invoice lines at the membership system and transactions at Nets are kept,
    restricted, until 31 December five years after the last entry's year, and deleted after that."""
    member = sandbox.add_member(chain="spenst")

    run = await flows.erase("spenst", member.member_id)

    holds = {hold.key: hold for hold in (await run.result()).holds}
    last_invoice = sandbox.exceline_last_invoice_date(member.member_id)
    assert date(last_invoice.year + 5, 12, 31) == bookkeeping_last_day(last_invoice)
    assert bookkeeping_last_day(last_invoice) == holds["exceline-bookkeeping"].retain_until
    assert holds["nets-bookkeeping"].retain_until.year - 5 >= 2025
    invoices = sandbox.exceline.members[member.member_id].invoices
    assert all(invoice.restricted for invoice in invoices)

    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))["exceline-bookkeeping"]
    kept = await flows.release(scheduled, holds["exceline-bookkeeping"].retain_until)
    assert ("rescheduled", 12) == (await kept.result(), len(invoices))

    released = await flows.release(scheduled, holds["exceline-bookkeeping"].retain_until + timedelta(days=1))

    assert "done" == await released.result()
    assert [] == sandbox.exceline.members[member.member_id].invoices
