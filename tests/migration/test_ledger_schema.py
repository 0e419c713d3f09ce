"""The ledger's schema by alembic: a new ledger is made by the revisions, and a ledger the code before them
wrote (main at 15e2780, `create_all`) is upgraded in place, on SQLite and PostgreSQL, and still verifies."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from evidence.ledger import NewRecord, metadata, open_ledger
from evidence.schema import HEAD, VERSION_TABLE, alembic_config, current_revision
from evidence.verify import verify_ledger
from tests.evidence.conftest import ledger_url as ledger_url

ROOT = Path(__file__).resolve().parents[2]
BEFORE_MIGRATIONS = "15e2780"  # main whose ledger made its tables with create_all
DAY = date(2031, 12, 31)
OLD_WRITER = """
import asyncio, json, sys
from datetime import date
from config.holds import Hold
from evidence.ledger import FAILED, HELD, RELEASED, REVIEW, NewRecord, hold_row, open_ledger

BOOKKEEPING = Hold("exceline", "bookkeeping", ("invoices", "payments"), "bokforingsloven-13", "bokføringsloven § 13",
                   date(2031, 12, 31), False, records_through=date(2026, 1, 1))
JOURNAL = Hold("physica", "journal", ("physiotherapy journal",), "pasientjournalloven-25",
               "pasientjournalloven § 25", date(2035, 11, 20), True)

async def main(url, day):
    ledger = await open_ledger(url)
    for n in range(5):
        rows = tuple(hold_row(h, f"old-{n}", "demo", f"M{n}", HELD, f"run-{n}") for h in (BOOKKEEPING, JOURNAL))
        await ledger.seal(NewRecord("demo", "erasure", f"old-{n}", f"run-{n}", {"request": {"request_id": f"old-{n}"}},
                                    rows))
    await ledger.seal(NewRecord("k24", "erasure", "k-1", "run-k", {"request": {"request_id": "k-1"}},
                                (hold_row(BOOKKEEPING, "k-1", "k24", "K1", HELD, "run-k"),)))
    due = await ledger.due_holds(date.fromisoformat(day))
    rows = (due[0].row(RELEASED, "sweep"), due[1].row(FAILED, "sweep", "500"))
    await ledger.seal(NewRecord("demo", "release", "old-0", "sweep", {}, rows))
    journals = await ledger.due_holds(date(2035, 11, 20), request_id="old-2")
    await ledger.seal(NewRecord("demo", "release", "old-2", "sweep", {},
                                tuple(s.row(REVIEW, "sweep", "a clinician decides") for s in journals)))
    due = await ledger.due_holds(date.fromisoformat(day))
    states = await ledger.hold_states()
    print(json.dumps({"due": [[s.hold_key, s.status, s.id] for s in due],
                      "states": [[s.hold_key, s.status, s.id] for s in states]}))

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def old_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The code before migrations, from the repository's history."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BEFORE_MIGRATIONS], capture_output=True, check=True)
    folder = tmp_path_factory.mktemp("before-migrations")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def write_with_old_code(old_code: Path, url: str) -> dict[str, list[list[object]]]:
    """Records and holds sealed, released, failed and put in review by the old code; what it then saw as due on DAY
    and as each hold's state."""
    env = {**os.environ, "PYTHONPATH": str(old_code)}
    done = subprocess.run([sys.executable, "-c", OLD_WRITER, url, DAY.isoformat()], cwd=old_code, env=env,
                          capture_output=True, text=True, timeout=300)
    assert 0 == done.returncode, done.stderr[-3000:]
    answer: dict[str, list[list[object]]] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def differences(connection: Connection) -> list[object]:
    """What differs between the schema in the database and the tables evidence/ledger.py declares."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return list(compare_metadata(context, metadata))


def test_head_is_the_newest_revision():
    """The revision the ledger checks for at each opening is the newest of the revisions."""
    assert [HEAD] == ScriptDirectory.from_config(alembic_config()).get_heads()


async def test_a_new_ledger_is_made_by_the_revisions_as_the_code_declares_it(ledger_url):
    """A ledger opened for the first time is at the newest revision, and its schema is the tables and indexes the
    code declares, with nothing missing or left over."""
    ledger = await open_ledger(ledger_url)

    async with ledger.writer.connect() as connection:
        revision = await connection.run_sync(current_revision)
        found = await connection.run_sync(differences)

    assert (HEAD, []) == (revision, found)


async def test_a_ledger_written_before_migrations_is_upgraded_in_place_and_verifies(old_code, ledger_url):
    """A ledger the code before migrations wrote (records and holds held, released, failed, in review) is
    upgraded in place when the new code opens it: its schema is the code's, its chains verify with nothing in the
    unreleased holds amiss, the sweep sees the same due holds and every hold the same state, and a new record
    follows the old chain's head."""
    old = write_with_old_code(old_code, ledger_url)

    ledger = await open_ledger(ledger_url)
    async with ledger.writer.connect() as connection:
        revision = await connection.run_sync(current_revision)
        found = await connection.run_sync(differences)
    reports = await verify_ledger(ledger)
    due = await ledger.due_holds(DAY)
    states = await ledger.hold_states()
    unreleased = await ledger.hold_states(unreleased_only=True)
    stored = await ledger.seal(NewRecord("demo", "erasure", "new-1", "run-new", {"request": {"request_id": "new-1"}}))

    assert (HEAD, []) == (revision, found)
    assert [("demo", True, 7, []), ("k24", True, 1, [])] == [
        (r.controller, r.intact, r.records, list(r.problems)) for r in reports]
    assert old["due"] == [[s.hold_key, s.status, s.id] for s in due]
    assert old["states"] == [[s.hold_key, s.status, s.id] for s in states]
    assert [s for s in old["states"] if s[1] != "released"] == [[s.hold_key, s.status, s.id] for s in unreleased]
    assert 8 == stored.sealed.sequence
    assert [("demo", True, 8, [])] == [(r.controller, r.intact, r.records, list(r.problems))
                                       for r in await verify_ledger(ledger, controller="demo")]

