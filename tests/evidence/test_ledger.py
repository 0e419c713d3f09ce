"""The ledger: records sealed in one transaction, chained per controller, holds due on their date."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from config.holds import Hold
from evidence.chain import ChainReport
from evidence.documents import canonical_json, sha256
from evidence.ledger import (
    FAILED,
    HELD,
    RELEASED,
    REVIEW,
    Ledger,
    NewRecord,
    append,
    hold_key,
    hold_row,
    holds,
    open_ledger,
    records,
    unreleased,
)
from evidence.verify import verify_ledger, verify_records

BOOKKEEPING = Hold("exceline", "bookkeeping", ("invoices", "payments"), "bokforingsloven-13",
                   "bokføringsloven § 13", date(2031, 12, 31), False, records_through=date(2026, 1, 1))
JOURNAL = Hold("physica", "journal", ("physiotherapy journal",), "pasientjournalloven-25",
               "pasientjournalloven § 25", date(2035, 11, 20), True)


@pytest.fixture
async def ledger(tmp_path: Path) -> Ledger:
    """A fresh ledger in SQLite under the test's folder."""
    return await open_ledger(f"sqlite:///{tmp_path}/ledger.sqlite3")


def erasure(request_id: str, *held: Hold, controller: str = "demo") -> NewRecord:
    rows = tuple(hold_row(h, request_id, controller, "M1", HELD, "run-1") for h in held)
    return NewRecord(controller, "erasure", request_id, "run-1", {"request": {"request_id": request_id}}, rows)


async def reports(ledger: Ledger) -> dict[str, tuple[bool, list[tuple[str, str]]]]:
    stored = await ledger.records(with_holds=True)
    return {r.controller: (r.intact, [(p.request_id, p.reason) for p in r.problems]) for r in verify_records(stored)}


async def test_records_chain_per_controller_and_verify(ledger):
    """Each controller's records are numbered from 1 and each links to the digest of the one before."""
    first = await ledger.seal(erasure("r1"))
    second = await ledger.seal(erasure("r2"))
    other = await ledger.seal(erasure("k1", controller="k24"))

    assert (1, 2, 1) == (first.sealed.sequence, second.sealed.sequence, other.sealed.sequence)
    assert first.sealed.digest == second.sealed.body["previous"]
    assert {"demo": (True, []), "k24": (True, [])} == await reports(ledger)


async def test_concurrent_seals_of_one_controller_form_one_chain(ledger):
    """Twenty requests sealing at once get twenty places in one unbroken chain."""
    await asyncio.gather(*(ledger.seal(erasure(f"r{n}")) for n in range(20)))

    stored = await ledger.records(controller="demo")
    assert list(range(1, 21)) == [r.sealed.sequence for r in stored]
    assert {"demo": (True, [])} == await reports(ledger)


async def test_a_record_changed_in_the_database_is_named(ledger):
    """Evidence edited in place no longer matches its SHA-256: its request is named."""
    await ledger.seal(erasure("r1"))
    await ledger.seal(erasure("r2"))
    async with ledger.transaction() as connection:
        body = json.dumps({"request": {"request_id": "r1"}, "status": "edited"})
        stored = (await ledger.records(request_id="r1"))[0]
        changed = {**stored.sealed.body, "evidence": json.loads(body)}
        await connection.execute(update(records).where(records.c.request_id == "r1").values(body=json.dumps(changed)))

    assert {"demo": (False, [("r1", "its evidence does not match its SHA-256: changed after sealing")])} == (
        await reports(ledger))


async def test_a_hold_row_changed_or_deleted_is_named(ledger):
    """A hold's date moved, or a hold row deleted, in the database no longer matches its record."""
    await ledger.seal(erasure("r1", BOOKKEEPING))
    await ledger.seal(erasure("r2", BOOKKEEPING))
    async with ledger.transaction() as connection:
        await connection.execute(update(holds).where(holds.c.request_id == "r1").values(retain_until=date(2040, 1, 1)))
        await connection.execute(delete(holds).where(holds.c.request_id == "r2"))

    reason = "its hold rows differ from the ones it sealed (changed, added or deleted after sealing)"
    assert {"demo": (False, [("r1", reason), ("r2", reason)])} == await reports(ledger)


async def test_a_deleted_record_is_named_where_the_chain_resumes(ledger):
    """A record deleted from the middle leaves a gap the next record names."""
    for n in (1, 2, 3):
        await ledger.seal(erasure(f"r{n}"))
    async with ledger.transaction() as connection:
        await connection.execute(delete(records).where(records.c.request_id == "r2"))

    assert {"demo": (False, [("r3", "record #2 before it is missing (deleted)")])} == await reports(ledger)


async def test_a_hold_goes_to_a_row_and_back_unchanged(ledger):
    """A hold written to the ledger reads back as the same Hold, with its request and member."""
    await ledger.seal(erasure("r1", BOOKKEEPING, JOURNAL))

    states = await ledger.hold_states(["r1"])

    assert [BOOKKEEPING, JOURNAL] == [s.hold for s in states]
    assert {("r1", "demo", "M1", HELD, "run-1")} == {(s.request_id, s.controller, s.member_id, s.status,
                                                     s.flow_run_id) for s in states}


async def test_a_hold_is_due_on_its_date_not_before(ledger):
    """'Deleted after N' is kept on or before that day: the sweep takes a hold on its own date."""
    await ledger.seal(erasure("r1", BOOKKEEPING))

    before = await ledger.due_holds(date(2031, 12, 30))
    on = await ledger.due_holds(date(2031, 12, 31))

    assert ([], ["r1"]) == (before, [s.request_id for s in on])


async def test_a_released_hold_is_not_due_and_a_failed_one_stays_due(ledger):
    """The newest row of a hold decides: released leaves the sweep's list, failed stays on it."""
    await ledger.seal(erasure("r1", BOOKKEEPING))
    await ledger.seal(erasure("r2", BOOKKEEPING))
    day = date(2032, 1, 1)
    [one, two] = await ledger.due_holds(day)

    await ledger.seal(NewRecord("demo", "release", "r1", "run-2", {}, (one.row(RELEASED, "run-2"),)))
    await ledger.seal(NewRecord("demo", "release", "r2", "run-2", {}, (two.row(FAILED, "run-2", "500"),)))

    due = await ledger.due_holds(day)
    assert [("r2", FAILED, "500")] == [(s.request_id, s.status, s.detail) for s in due]
    assert {"demo": (True, [])} == await reports(ledger)


async def test_a_moved_hold_is_due_on_its_new_date(ledger):
    """A hold held again until a later day (a newer invoice) leaves the sweep's list until that day."""
    await ledger.seal(erasure("r1", BOOKKEEPING))
    [state] = await ledger.due_holds(date(2031, 12, 31))
    moved = state.row(HELD, "run-2", "held again", replace(BOOKKEEPING, retain_until=date(2032, 12, 31)))

    await ledger.seal(NewRecord("demo", "release", "r1", "run-2", {}, (moved,)))

    assert [] == await ledger.due_holds(date(2032, 12, 30))
    assert [date(2032, 12, 31)] == [s.hold.retain_until for s in await ledger.due_holds(date(2032, 12, 31))]


async def test_a_claim_hold_is_due_on_its_check_day_and_comes_back_with_its_fields(ledger):
    """A claim hold (one category, its kept fields, a check day before its limitation) is due on its check day,
    and the ledger gives it back as written: category, fields and check day."""
    claim = Hold("exceline", "claim", ("claim",), "foreldelsesloven-3", "foreldelsesloven § 3", date(2029, 3, 1),
                 False, until_settled=True, category="claim", fields=("debtor_name", "amount"),
                 check_on=date(2027, 1, 7))
    await ledger.seal(erasure("r1", claim))

    before = await ledger.due_holds(date(2027, 1, 6))
    [state] = await ledger.due_holds(date(2027, 1, 7))

    assert ([], claim) == (before, state.hold)


async def test_a_hold_from_before_data_maps_and_its_per_category_successor_are_one_hold(ledger):
    """A bookkeeping hold imported from the code before data maps (its rule's categories, no fields) and the same
    records held again per category (invoices, buyer's name and address) share the ledger's key: one hold."""
    await ledger.seal(erasure("r1", BOOKKEEPING))
    [old] = await ledger.due_holds(date(2031, 12, 31))
    now = replace(BOOKKEEPING, categories=("invoices",), category="invoices", fields=("buyer_name", "buyer_address"),
                  retain_until=date(2032, 12, 31))

    await ledger.seal(NewRecord("demo", "release", "r1", "run-2", {}, (hold_row(now, "r1", "demo", "M1", HELD, "r2"),)))

    [state] = await ledger.hold_states(["r1"])
    assert (old.hold_key, now) == (state.hold_key, state.hold)


WRITER = """
import asyncio, sys, time
from datetime import date
from config.holds import Hold
from evidence.ledger import HELD, NewRecord, append, hold_row, open_ledger

HOLD = Hold("exceline", "bookkeeping", ("invoices", "payments"), "bokforingsloven-13", "bokføringsloven § 13",
            date(2031, 12, 31), False, records_through=date(2026, 1, 1))

async def main():
    ledger = await open_ledger(sys.argv[1])
    n = 0
    while True:
        async with ledger.transaction() as connection:
            for _ in range(3):
                rows = (hold_row(HOLD, f"w{n}", "demo", "M1", HELD, None),)
                await append(connection, NewRecord("demo", "erasure", f"w{n}", None, {"n": n}, rows))
                n += 1
            print("inside", flush=True)
            time.sleep(0.01 if n < 30 else 60)

asyncio.run(main())
"""


async def test_a_writer_killed_mid_transaction_leaves_a_chain_that_verifies(ledger_url):
    """kill -9 while a writer is inside a transaction that has appended records with their hold rows (SQLite and
    PostgreSQL): the database rolls the transaction back, so no record, hold row or unreleased hold of it is
    left; every chain verifies as `slett evidence --verify` does, and the next record follows the last committed
    one."""
    ledger = await open_ledger(ledger_url)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, ledger.url], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2], env={**os.environ})
    assert writer.stdout is not None
    for _ in range(10):  # nine transactions committed, the tenth appended and waiting to commit
        assert "inside" == writer.stdout.readline().strip()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)

    committed = await ledger.records(controller="demo", with_holds=True)
    due = await ledger.due_holds(date(2031, 12, 31))
    after = await ledger.seal(erasure("after"))
    verified = await verify_ledger(ledger)

    assert [f"w{n}" for n in range(27)] == [r.request_id for r in committed]
    assert [1] * 27 == [len(r.holds) for r in committed]
    assert [f"w{n}" for n in range(27)] == [s.request_id for s in due]
    assert 28 == after.sealed.sequence
    assert [("demo", True, 28, [])] == [(r.controller, r.intact, r.records, list(r.problems)) for r in verified]


async def test_a_stretch_of_the_chain_verifies_linked_to_the_record_before_it(ledger):
    """The register verifies only the records sealed in its period, each linked back to the one before the
    first: an untouched stretch verifies; a record before the stretch deleted is named at the stretch's start."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    async with ledger.transaction() as connection:
        for n in range(1, 5):
            await append(connection, erasure(f"r{n}"), now=start + timedelta(days=30 * n))
    since = start + timedelta(days=60)

    intact = await verify_ledger(ledger, controller="demo", since=since)
    async with ledger.transaction() as connection:
        await connection.execute(delete(records).where(records.c.request_id == "r1"))
    anchored = await verify_ledger(ledger, controller="demo", since=since)

    assert [(True, 3)] == [(r.intact, r.records) for r in intact]
    assert [[("r2", "record #1 before it is missing (deleted)")]] == [
        [(p.request_id, p.reason) for p in r.problems] for r in anchored]


async def test_a_stretch_that_starts_at_the_chains_start_needs_no_record_before_it(ledger):
    """A period that holds a chain's first records verifies them from the start (no record before them)."""
    for n in (1, 2, 3):
        await ledger.seal(erasure(f"r{n}"))

    reports = await verify_ledger(ledger, since=datetime(2000, 1, 1, tzinfo=UTC))

    assert [(True, 3)] == [(r.intact, r.records) for r in reports]


async def test_the_unreleased_holds_follow_each_holds_newest_row(ledger):
    """The sweep's list of unreleased holds is replaced with each newer row in the sealing transaction: held and
    failed holds are on it, a released one leaves it, a hold in review stays on it (not due), and every chain and
    the list verify."""
    await ledger.seal(erasure("r1", BOOKKEEPING, JOURNAL))
    await ledger.seal(erasure("r2", BOOKKEEPING))
    await ledger.seal(erasure("r3", BOOKKEEPING))
    day = date(2035, 11, 20)
    [one, two, _, journal] = await ledger.due_holds(day)

    await ledger.seal(NewRecord("demo", "release", "r1", "run-2", {},
                                (one.row(RELEASED, "run-2"), journal.row(REVIEW, "run-2", "a clinician decides"))))
    await ledger.seal(NewRecord("demo", "release", "r2", "run-2", {}, (two.row(FAILED, "run-2", "500"),)))

    standing = await ledger.hold_states(["r1", "r2", "r3"], unreleased_only=True)
    assert [("r1", REVIEW), ("r2", FAILED), ("r3", HELD)] == sorted((s.request_id, s.status) for s in standing)
    assert [("r2", FAILED), ("r3", HELD)] == sorted((s.request_id, s.status) for s in await ledger.due_holds(day))
    assert [("demo", True, [])] == [(r.controller, r.intact, list(r.problems)) for r in await verify_ledger(ledger)]


async def test_an_unreleased_hold_removed_or_changed_in_the_database_is_named(ledger):
    """The list the sweep selects from is derived, not sealed: a hold deleted from it (never taken by the sweep)
    or given another date there is named by the verification, with its request."""
    await ledger.seal(erasure("r1", BOOKKEEPING))
    await ledger.seal(erasure("r2", BOOKKEEPING))
    async with ledger.transaction() as connection:
        await connection.execute(delete(unreleased).where(unreleased.c.request_id == "r1"))
        await connection.execute(update(unreleased).where(unreleased.c.request_id == "r2")
                                 .values(due_on=date(2040, 1, 1)))

    [report] = await verify_ledger(ledger)

    key1, key2 = (hold_key(r, BOOKKEEPING) for r in ("r1", "r2"))
    [first, second] = sorted(report.problems, key=lambda p: p.request_id)
    assert (False, "r1", "r2") == (report.intact, first.request_id, second.request_id)
    assert f"its hold {key1} is not released, yet missing from the unreleased holds" in first.reason
    assert f"its hold {key2} is listed unreleased as row #2, held, due 2040-01-01, where its newest row is #2, " \
           "held, due 2031-12-31" == second.reason
def withdrawal(request_id: str, *channels: str) -> NewRecord:
    rows = tuple({"controller": "demo", "request_id": request_id, "subject_ref": "sr-1", "channel": channel,
                  "reference": f"cr-{channel}-{request_id}", "reason": "withdrawal"} for channel in channels)
    return NewRecord("demo", "withdrawal", request_id, "run-1", {"request": {"request_id": request_id}},
                     suppressions=rows)


async def test_a_suppression_entry_is_sealed_with_its_record_and_read_back_by_chain_and_request(ledger):
    """A record's suppression rows are written in its transaction, sealed in its body and listed per chain and
    request; a record without any seals the body it sealed before the suppression table existed."""
    plain = await ledger.seal(erasure("r0"))
    await ledger.seal(withdrawal("w1", "email", "phone"))
    await ledger.seal(withdrawal("w2", "email"))

    assert "suppressions" not in plain.sealed.body
    assert [("w1", "email"), ("w1", "phone"), ("w2", "email")] == [
        (row.request_id, row.channel) for row in await ledger.suppressed("demo")]
    assert ["cr-email-w2"] == [row.reference for row in await ledger.suppressed(request_id="w2")]
    assert {"demo": (True, [])} == await reports(ledger)


async def test_a_suppression_row_changed_or_deleted_is_named(ledger):
    """A suppression entry changed or deleted in the database no longer matches its record."""
    from evidence.ledger import suppressions

    await ledger.seal(withdrawal("w1", "email"))
    await ledger.seal(withdrawal("w2", "email"))
    async with ledger.transaction() as connection:
        await connection.execute(update(suppressions).where(suppressions.c.request_id == "w1").values(reference="x"))
        await connection.execute(delete(suppressions).where(suppressions.c.request_id == "w2"))

    reason = "its suppression rows differ from the ones it sealed (changed, added or deleted after sealing)"
    assert {"demo": (False, [("w1", reason), ("w2", reason)])} == await reports(ledger)


Summary = list[tuple[str, bool, int, int, int, list[tuple[str, str]]]]


def summary(reports: list[ChainReport]) -> Summary:
    return [(r.controller, r.intact, r.records, r.head_sequence, r.vacuumed, [(p.request_id, p.reason)
                                                                              for p in r.problems]) for r in reports]


async def test_a_chain_verified_in_pages_gives_the_report_it_gives_in_one(ledger_url):
    """Two chains, with hold and suppression rows, read two or three records at a time (SQLite and PostgreSQL):
    the same reports as read in one page, each page's runs looked up in Prefect at once, vacuumed runs counted."""
    ledger = await open_ledger(ledger_url)
    for n in range(1, 8):
        run = f"run-{n % 3}"
        rows = tuple(hold_row(BOOKKEEPING, f"r{n}", "demo", "M1", HELD, run) for _ in range(n % 2))
        await ledger.seal(replace(erasure(f"r{n}"), flow_run_id=run, holds=rows))
    await ledger.seal(withdrawal("w1", "email", "phone"))
    for n in (1, 2, 3):
        await ledger.seal(erasure(f"k{n}", JOURNAL, controller="k24"))
    lookups: list[set[str]] = []

    async def runs_known(runs: set[str]) -> set[str]:
        lookups.append(runs)
        return runs - {"run-2"}  # vacuumed

    lookups_by_page: dict[int, list[set[str]]] = {}
    reports_by_page: dict[int, Summary] = {}
    for page in (1000, 2, 3):
        lookups.clear()
        reports_by_page[page] = summary(await verify_ledger(ledger, runs_known, page=page))
        lookups_by_page[page] = list(lookups)

    expected: Summary = [("demo", True, 8, 8, 2, []), ("k24", True, 3, 3, 0, [])]
    assert {1000: expected, 2: expected, 3: expected} == reports_by_page
    every_run, run_1 = {"run-0", "run-1", "run-2"}, {"run-1"}
    assert {1000: [every_run, run_1],
            2: [{"run-1", "run-2"}, {"run-0", "run-1"}, {"run-2", "run-0"}, run_1, run_1, run_1],
            3: [every_run, every_run, run_1, run_1]} == lookups_by_page


async def reseal(ledger: Ledger, request_id: str, change: str) -> None:
    """Change one record's evidence in the database: in place, or sealed again with a fresh digest."""
    [stored] = await ledger.records(request_id=request_id)
    body = {**stored.sealed.body, "evidence": {**stored.sealed.body["evidence"], "status": "edited"}}
    digest = sha256(body) if change == "resealed" else stored.sealed.digest
    async with ledger.transaction() as connection:
        await connection.execute(update(records).where(records.c.id == stored.id)
                                 .values(body=canonical_json(body), digest=digest))


@pytest.mark.parametrize(("change", "named"), [
    ("resealed r3", ("r3", "its evidence was changed and sealed again after record #4 (request r4) had sealed the "
                           "original digest")),
    ("edited r4", ("r4", "its evidence does not match its SHA-256: changed after sealing")),
    ("hold row of r4 deleted", ("r4", "its hold rows differ from the ones it sealed (changed, added or deleted "
                                      "after sealing)")),
    ("r4 deleted", ("r5", "record #4 before it is missing (deleted)"))])
async def test_a_record_changed_on_a_page_boundary_is_named(ledger_url, change, named):
    """Read three records at a time, a change to the last record of a page (named by the first of the next,
    which sealed its digest) or to the first record of a page is named as when the chain is read in one page,
    or loaded whole into memory as --verify did before it read in pages."""
    ledger = await open_ledger(ledger_url)
    for n in range(1, 7):
        await ledger.seal(erasure(f"r{n}", BOOKKEEPING))
    if change.startswith(("resealed", "edited")):
        await reseal(ledger, change.split()[-1], change.split()[0])
    else:
        async with ledger.transaction() as connection:
            # The derived unreleased hold goes too (PostgreSQL keeps its key to the hold row): the chain is at fault.
            await connection.execute(delete(unreleased).where(unreleased.c.request_id == "r4"))
            await connection.execute(delete(holds).where(holds.c.request_id == "r4"))
            if change == "r4 deleted":
                await connection.execute(delete(records).where(records.c.request_id == "r4"))

    paged = summary(await verify_ledger(ledger, page=3))
    whole = summary(await verify_ledger(ledger))
    loaded = summary(verify_records(await ledger.records(with_holds=True)))

    expected: Summary = [("demo", False, 5 if change == "r4 deleted" else 6, 6, 0, [named])]
    assert (expected, expected, expected) == (paged, whole, loaded)


async def test_a_records_time_changed_in_its_row_is_named(ledger_url):
    """A record's `recorded` column moved in the database (out of the month a register reads) no longer matches
    the time it sealed: named, read in pages as in one."""
    ledger = await open_ledger(ledger_url)
    for n in range(1, 5):
        await ledger.seal(erasure(f"r{n}"))
    async with ledger.transaction() as connection:
        await connection.execute(update(records).where(records.c.request_id == "r2")
                                 .values(recorded=datetime(2020, 1, 1, tzinfo=UTC)))

    paged = summary(await verify_ledger(ledger, page=2))
    whole = summary(await verify_ledger(ledger))

    expected: Summary = [("demo", False, 4, 4, 0, [("r2", "its ledger row's recorded differ from what it sealed")])]
    assert (expected, expected) == (paged, whole)
