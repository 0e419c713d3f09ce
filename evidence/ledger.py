"""The ledger: slett's own append-only record of evidence and holds, in SQLite or PostgreSQL (SQLAlchemy).

Tables written only with a sealed record (`append`), never updated or deleted:
- `evidence_record`: each controller's chain. A record's body names its controller, place (`sequence`),
  the digest of the record before it (`previous`), its kind, request and flow run, the evidence, and the
  hold rows it wrote; `digest` is the SHA-256 of the body's canonical JSON.
- `hold`: one row per state of a hold (held, released, failed, review), written by the record that
  sealed it; a hold's newest row is its state.
- `suppression`: a withdrawn or erased member's contact values as keyed HMAC references (never the address
  or number), written by the record that sealed them: what keeps the member from being added again.
- `legal_hold`: one row per state of a person's legal hold (set, lifted), written with the record that sealed
  it (evidence/legal_holds.py).

`unreleased_hold` is derived from `hold`, not evidence: each hold's newest row while it is not released,
replaced in the transaction that seals a newer one. The daily sweep selects its due holds from it and the
register a request's standing holds, so neither grows with the rows of holds released long ago;
`unreleased_faults` checks it against `hold`. The schema is made and upgraded by alembic (evidence/schema.py).

A record is sealed inside one database transaction (the chain's head read, the record and its hold rows
written, then committed): SQLite takes its write lock at BEGIN IMMEDIATE, PostgreSQL a transaction-scoped
advisory lock per controller. A writer killed mid-transaction leaves nothing: the database rolls it back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    event,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from config.holds import Hold
from evidence.chain import Sealed, seal
from evidence.documents import canonical_json, plain
from evidence.schema import upgrade

ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite numbers rows itself only for INTEGER keys
metadata = MetaData()
records = Table(
    "evidence_record", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("controller", String(100), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("request_id", String(300), nullable=False),
    Column("flow_run_id", String(36)),
    Column("recorded", DateTime(timezone=True), nullable=False),
    Column("previous", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("controller", "sequence", name="evidence_record_place"),
    Index("evidence_record_request", "request_id"),
    Index("evidence_record_month", "controller", "recorded"),
)
holds = Table(
    "hold", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("record_id", ID, ForeignKey("evidence_record.id"), nullable=False),
    Column("hold_key", String(500), nullable=False),
    Column("request_id", String(300), nullable=False),
    Column("controller", String(100), nullable=False),
    # The membership system's id (never a name or contact): the sweep looks the member up again by it.
    Column("member_id", String(100), nullable=False),
    Column("system", String(100), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("categories", Text, nullable=False),  # JSON list
    Column("fields", Text, nullable=False),  # JSON list: the fields the hold keeps
    Column("basis", String(200), nullable=False),
    Column("citation", Text, nullable=False),
    Column("retain_until", Date, nullable=False),
    # The day the sweep takes the hold: its last day, or before it the day to look whether a claim was paid.
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("flow_run_id", String(36)),
    Column("detail", Text, nullable=False),
    Column("extra", Text, nullable=False),  # JSON object: the rest of the Hold
    Index("hold_versions", "hold_key", "id"),
    Index("hold_due", "due_on", "status"),
    Index("hold_request", "request_id"),
    Index("hold_record", "record_id"),
)
unreleased = Table(
    "unreleased_hold", metadata,
    Column("hold_key", String(500), primary_key=True),
    Column("hold_id", ID, ForeignKey("hold.id"), nullable=False, unique=True),
    Column("controller", String(100), nullable=False),
    Column("request_id", String(300), nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_on", Date, nullable=False),
    Index("unreleased_hold_due", "status", "due_on"),
    Index("unreleased_hold_request", "request_id"),
)
suppressions = Table(
    "suppression", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("record_id", ID, ForeignKey("evidence_record.id"), nullable=False),
    Column("controller", String(100), nullable=False),
    Column("request_id", String(300), nullable=False),
    Column("subject_ref", String(100), nullable=False),
    Column("channel", String(16), nullable=False),  # email or phone
    Column("reference", String(100), nullable=False),  # domain.values.contact_reference: a keyed HMAC
    Column("reason", String(20), nullable=False),  # withdrawal or erasure
    Index("suppression_reference", "controller", "reference"),
    Index("suppression_request", "request_id"),
)
# A person's legal hold on one member's category at one processor (config/legal_holds.py): one row per state
# (set, lifted), written by the record that sealed it; a legal hold's newest row is its state.
legal_holds = Table(
    "legal_hold", metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("record_id", ID, ForeignKey("evidence_record.id"), nullable=False),
    Column("controller", String(100), nullable=False),
    Column("member_id", String(100), nullable=False),  # the membership system's id, as in `hold`
    Column("system", String(100), nullable=False),
    Column("category", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("set_by", String(200), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    Column("ends_on", Date),
    Column("lifted_by", String(200)),
    Column("lifted_on", Date),
    Column("status", String(16), nullable=False),
    Index("legal_hold_member", "controller", "member_id", "system", "category", "id"),
)
HELD, RELEASED, FAILED, REVIEW = "held", "released", "failed", "review"
OPEN = (HELD, FAILED)  # a hold in these states is due on its date, and stays due until released
HOLD_COLUMNS = ("system", "rule", "categories", "fields", "basis", "citation", "retain_until")


def hold_key(request_id: str, hold: Hold) -> str:
    """The one hold among a request's: its processor and rule, and the newest record it covers."""
    # Not its categories: a hold written before data maps names all its rule's categories, its successor only
    # the one category the data map gives the rule at that processor; both are the same hold.
    return ":".join((request_id, hold.system, hold.rule,
                     hold.records_through.isoformat() if hold.records_through else "-"))


def hold_row(hold: Hold, request_id: str, controller: str, member_id: str, status: str, flow_run_id: str | None,
             detail: str = "") -> dict[str, Any]:
    """A hold as a row of the hold table: its queried fields as columns, the rest as JSON in `extra`."""
    values = plain(hold)
    values.setdefault("fields", [])  # a Hold that names no fields keeps the rule's categories whole
    columns = {name: values.pop(name) for name in HOLD_COLUMNS}
    return {"hold_key": hold_key(request_id, hold), "request_id": request_id, "controller": controller,
            "member_id": member_id, **columns, "categories": json.dumps(columns["categories"]),
            "fields": json.dumps(columns["fields"]),
            "retain_until": hold.retain_until, "due_on": hold.release_day, "status": status, "flow_run_id": flow_run_id,
            "detail": detail,
            "extra": canonical_json(values)}


_HOLD_FIELDS = frozenset(f.name for f in dataclasses.fields(Hold))


@dataclass(frozen=True)
class HoldState:
    """A hold's newest row in the ledger: the hold itself, its request, state and the run that wrote it."""

    id: int
    hold_key: str
    request_id: str
    controller: str
    member_id: str
    hold: Hold
    status: str
    flow_run_id: str | None
    detail: str
    record_id: int

    @classmethod
    def of(cls, row: Any) -> HoldState:
        """The state in a row of the hold table."""
        names = _HOLD_FIELDS
        values = {**json.loads(row.extra), "categories": tuple(json.loads(row.categories)),
                  "fields": tuple(json.loads(row.fields))}
        values |= {name: getattr(row, name) for name in HOLD_COLUMNS if name not in values}
        for name in ("records_through", "check_on", "legal_until"):  # dates in the JSON of `extra` are ISO text
            value = values.get(name)
            values[name] = date.fromisoformat(value) if isinstance(value, str) else value
        hold = Hold(**{name: value for name, value in values.items() if name in names})
        return cls(row.id, row.hold_key, row.request_id, row.controller, row.member_id, hold, row.status,
                   row.flow_run_id, row.detail, row.record_id)

    def row(self, status: str, flow_run_id: str | None, detail: str = "", hold: Hold | None = None) -> dict[str, Any]:
        """A further row of this hold: a new state, or (a newer record found) a new date."""
        row = hold_row(hold or self.hold, self.request_id, self.controller, self.member_id, status, flow_run_id,
                       detail)
        return {**row, "hold_key": self.hold_key}


@dataclass(frozen=True)
class NewRecord:
    """What is to be sealed into a controller's chain: the evidence, and the hold rows it writes."""

    controller: str
    kind: str  # erasure, extension, release, import, letter
    request_id: str
    flow_run_id: str | None
    evidence: dict[str, Any]
    holds: tuple[dict[str, Any], ...] = ()
    suppressions: tuple[dict[str, Any], ...] = ()  # rows of the suppression table, without their record


@dataclass(frozen=True)
class Suppressed:
    """One suppression row: a keyed reference to a contact value, whose request and subject it came from."""

    controller: str
    request_id: str
    subject_ref: str
    channel: str
    reference: str
    reason: str


@dataclass(frozen=True)
class StoredRecord:
    """A record as the ledger holds it: its columns, and the hold rows it wrote."""

    id: int
    sealed: Sealed
    kind: str
    request_id: str
    flow_run_id: str | None
    columns: dict[str, Any]
    holds: tuple[dict[str, Any], ...] = ()
    suppressions: tuple[dict[str, Any], ...] = ()


def sealed_hold(row: Mapping[str, Any]) -> dict[str, Any]:
    """A hold row as a record's body seals it: without its row and record numbers, dates as ISO text."""
    # The same as `plain` for the flat values a hold row holds (text, dates, None), without its walk per value.
    return {k: v if v is None or isinstance(v, str) else v.isoformat() if isinstance(v, date) else plain(v)
            for k, v in row.items() if k not in ("id", "record_id")}


async def _lock_chain(connection: AsyncConnection, controller: str) -> None:
    """PostgreSQL: one writer per chain until commit (SQLite's BEGIN IMMEDIATE locks the whole file already)."""
    if connection.dialect.name == "postgresql":
        # Released by the server if the writer dies; taken again in the same transaction, it is held twice.
        await connection.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:c, 0))"), {"c": controller})


async def append(connection: AsyncConnection, new: NewRecord, now: datetime | None = None) -> StoredRecord:
    """Seal a record after its controller's head, within the caller's transaction; its hold rows with it."""
    await _lock_chain(connection, new.controller)
    head = (await connection.execute(
        select(records.c.sequence, records.c.digest).where(records.c.controller == new.controller)
        .order_by(records.c.sequence.desc()).limit(1))).first()
    recorded = now or datetime.now(UTC)
    body = {"kind": new.kind, "request_id": new.request_id, "flow_run_id": new.flow_run_id,
            "recorded": recorded.isoformat(), "evidence": new.evidence,
            "holds": [sealed_hold(row) for row in new.holds]}
    if new.suppressions:  # only then: a record without any seals the same body as before the table was added
        body["suppressions"] = [sealed_hold(row) for row in new.suppressions]
    sealed = seal(new.controller, body, (head.sequence, head.digest) if head else None)
    columns = {"controller": new.controller, "sequence": sealed.sequence, "kind": new.kind,
               "request_id": new.request_id, "flow_run_id": new.flow_run_id, "recorded": recorded,
               "previous": sealed.body["previous"], "digest": sealed.digest, "body": canonical_json(sealed.body)}
    record_id = (await connection.execute(records.insert().values(**columns).returning(records.c.id))).scalar_one()
    if new.holds:
        written = (await connection.execute(holds.insert().returning(holds.c.id, sort_by_parameter_order=True),
                                            [{**row, "record_id": record_id} for row in new.holds])).scalars().all()
        await _replace_unreleased(connection, zip(written, new.holds, strict=True))
    if new.suppressions:
        await connection.execute(suppressions.insert(), [{**row, "record_id": record_id} for row in new.suppressions])
    return StoredRecord(record_id, sealed, new.kind, new.request_id, new.flow_run_id, columns, new.holds,
                        new.suppressions)


async def _replace_unreleased(connection: AsyncConnection, written: Iterable[tuple[int, dict[str, Any]]]) -> None:
    """Each hold's newest row, just written, replaces its entry among the unreleased holds (none once released)."""
    newest = {row["hold_key"]: (hold_id, row) for hold_id, row in written}  # a later row of one hold wins
    await connection.execute(delete(unreleased).where(unreleased.c.hold_key.in_(list(newest))))
    standing = [{"hold_key": key, "hold_id": hold_id, "controller": row["controller"], "request_id": row["request_id"],
                 "status": row["status"], "due_on": row["due_on"]}
                for key, (hold_id, row) in newest.items() if row["status"] != RELEASED]
    if standing:
        await connection.execute(unreleased.insert(), standing)


@dataclass
class Ledger:
    """The ledger at one database: a writer (transactions that seal) and a reader."""

    url: str
    writer: AsyncEngine
    reader: AsyncEngine

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed when the block ends, rolled back if it raises."""
        async with self.writer.begin() as connection:
            yield connection

    async def seal(self, new: NewRecord) -> StoredRecord:
        """Seal one record (and its hold rows) in a transaction of its own."""
        async with self.transaction() as connection:
            return await append(connection, new)

    async def seal_once(self, new: NewRecord, same: Callable[[Sealed], bool]) -> StoredRecord | None:
        """Seal a record unless its request already has one of its kind that `same` matches (a letter sent once):
        looked for under the chain's write lock, so two writers never both seal it; None when it was there."""
        async with self.transaction() as connection:
            await _lock_chain(connection, new.controller)
            found = (await connection.execute(select(records).where(
                records.c.request_id == new.request_id, records.c.kind == new.kind))).all()
            if any(same(_stored(row, []).sealed) for row in found):
                return None
            return await append(connection, new)

    async def records(self, controller: str | None = None, request_id: str | None = None,
                      since: datetime | None = None, until: datetime | None = None,
                      with_holds: bool = False) -> list[StoredRecord]:
        """Records in chain order, of one controller, request or period (recorded in [since, until))."""
        query = select(records).order_by(records.c.controller, records.c.sequence)
        if controller is not None:
            query = query.where(records.c.controller == controller)
        if request_id is not None:
            query = query.where(records.c.request_id == request_id)
        if since is not None:
            query = query.where(records.c.recorded >= since)
        if until is not None:
            query = query.where(records.c.recorded < until)
        async with self.reader.connect() as connection:
            rows = (await connection.execute(query)).all()
            written: dict[int, list[dict[str, Any]]] = {}
            suppressed: dict[int, list[dict[str, Any]]] = {}
            if with_holds and rows:
                for table, found in ((holds, written), (suppressions, suppressed)):
                    rows_query = select(table).order_by(table.c.id)
                    if controller is not None or request_id is not None:
                        rows_query = rows_query.where(table.c.record_id.in_([row.id for row in rows]))
                    for written_row in (await connection.execute(rows_query)).mappings():
                        found.setdefault(written_row["record_id"], []).append(dict(written_row))
        return [_stored(row, written.get(row.id, []), suppressed.get(row.id, [])) for row in rows]

    async def suppressed(self, controller: str | None = None, request_id: str | None = None) -> list[Suppressed]:
        """Every suppression row (of one controller or request), oldest first."""
        query = select(suppressions).order_by(suppressions.c.id)
        if controller is not None:
            query = query.where(suppressions.c.controller == controller)
        if request_id is not None:
            query = query.where(suppressions.c.request_id == request_id)
        async with self.reader.connect() as connection:
            return [Suppressed(row.controller, row.request_id, row.subject_ref, row.channel, row.reference,
                               row.reason) for row in (await connection.execute(query)).all()]

    async def record_at(self, controller: str, sequence: int) -> Sealed | None:
        """The record at one place of a controller's chain, if it is there."""
        async with self.reader.connect() as connection:
            row = (await connection.execute(select(records).where(
                records.c.controller == controller, records.c.sequence == sequence))).first()
        return _stored(row, []).sealed if row is not None else None

    async def controllers(self, controller: str | None = None) -> list[str]:
        """The controllers with records in the ledger (or that one, if it has any)."""
        names: list[str] = []
        async with self.reader.connect() as connection:
            # One look into the index of places per controller, not a scan of every record (a loose index scan).
            while True:
                query = select(func.min(records.c.controller))
                if names:
                    query = query.where(records.c.controller > names[-1])
                if controller is not None:
                    query = query.where(records.c.controller == controller)
                name = (await connection.execute(query)).scalar()
                if name is None:
                    return names
                names.append(name)

    async def chain_page(self, controller: str, after: int = 0, limit: int = 1000) -> list[StoredRecord]:
        """Up to `limit` records of a controller's chain after place `after`, in order of place, with the hold and
        suppression rows they wrote: one page of the chain, found by the index of places (keyset pagination)."""
        query = (select(records).where(records.c.controller == controller, records.c.sequence > after)
                 .order_by(records.c.sequence).limit(limit))
        async with self.reader.connect() as connection:
            rows = (await connection.execute(query)).all()
            if not rows:
                return []
            ids = [row.id for row in rows]
            written = await _by_record(connection, holds, holds.c.record_id.in_(ids))
            # Suppression rows are indexed by request, not record: found by their requests, then their records.
            suppressed = await _by_record(connection, suppressions,
                                          suppressions.c.request_id.in_(sorted({row.request_id for row in rows})),
                                          suppressions.c.record_id.in_(ids))
        return [_stored(row, written.get(row.id, []), suppressed.get(row.id, [])) for row in rows]

    async def due_holds(self, today: date, controller: str | None = None,
                        request_id: str | None = None) -> list[HoldState]:
        """Every hold whose newest row is held or failed and whose day (its date, or its check day) is today or
        past: the sweep's work."""
        query = (select(holds).join(unreleased, unreleased.c.hold_id == holds.c.id)
                 .where(unreleased.c.status.in_(OPEN), unreleased.c.due_on <= today)
                 .order_by(unreleased.c.due_on, unreleased.c.hold_id))
        if controller is not None:
            query = query.where(unreleased.c.controller == controller)
        if request_id is not None:
            query = query.where(unreleased.c.request_id == request_id)
        async with self.reader.connect() as connection:
            return [HoldState.of(row) for row in (await connection.execute(query)).all()]

    async def hold_states(self, request_ids: Sequence[str] | None = None,
                          unreleased_only: bool = False) -> list[HoldState]:
        """The newest row of every hold (of these requests), by date; only those not released if asked."""
        if unreleased_only:
            query = select(holds).join(unreleased, unreleased.c.hold_id == holds.c.id)
            if request_ids is not None:
                query = query.where(unreleased.c.request_id.in_(list(request_ids)))
        else:
            newest = select(func.max(holds.c.id)).group_by(holds.c.hold_key)
            if request_ids is not None:
                newest = newest.where(holds.c.request_id.in_(list(request_ids)))
            query = select(holds).where(holds.c.id.in_(newest))
        query = query.order_by(holds.c.retain_until, holds.c.id)
        async with self.reader.connect() as connection:
            return [HoldState.of(row) for row in (await connection.execute(query)).all()]

    async def unreleased_faults(self, controller: str | None = None) -> list[tuple[str, str, str]]:
        """Where the unreleased holds differ from the hold rows they are derived from: (controller, request,
        what) each."""
        newest = select(func.max(holds.c.id).label("id")).group_by(holds.c.hold_key)
        listed_query = select(unreleased.c.hold_key, unreleased.c.hold_id, unreleased.c.status, unreleased.c.due_on,
                              unreleased.c.controller, unreleased.c.request_id)
        if controller is not None:
            newest = newest.where(holds.c.controller == controller)
            listed_query = listed_query.where(unreleased.c.controller == controller)
        last = newest.subquery()
        standing = (select(holds.c.hold_key, holds.c.id.label("hold_id"), holds.c.status, holds.c.due_on,
                           holds.c.controller, holds.c.request_id)
                    .join(last, last.c.id == holds.c.id).where(holds.c.status != RELEASED)).subquery()
        listed = listed_query.subquery()
        names = ("hold_key", "hold_id", "status", "due_on", "controller", "request_id")
        # Compared in the database, so that only the differences are read, not every hold of the ledger.
        differing = (select(*standing.c, *listed.c)
                     .select_from(standing.outerjoin(listed, listed.c.hold_key == standing.c.hold_key))
                     .where(or_(listed.c.hold_key.is_(None),
                                *(listed.c[name] != standing.c[name] for name in names[1:]))))
        stray = (select(*listed.c).select_from(listed.outerjoin(standing, standing.c.hold_key == listed.c.hold_key))
                 .where(standing.c.hold_key.is_(None)))
        async with self.reader.connect() as connection:
            compared = [(tuple(row[:6]), tuple(row[6:])) for row in await connection.execute(differing)]
            strays = [tuple(row) for row in await connection.execute(stray)]
        faults = [(row[4], row[5], f"its hold {row[0]} is not released, yet missing from the unreleased holds (the "
                                   "sweep would never take it)") for row, found in compared if found[0] is None]
        faults += [(found[4], found[5], f"its hold {found[0]} is listed unreleased as row #{found[1]}, {found[2]}, due "
                                        f"{found[3]}, where its newest row is #{row[1]}, {row[2]}, due {row[3]}")
                   for row, found in compared if found[0] is not None]
        faults += [(row[4], row[5], f"its hold {row[0]} is released, or has no rows, yet is listed unreleased")
                   for row in strays]
        return sorted(faults)

    async def dispose(self) -> None:
        """Close the ledger's connections."""
        await self.writer.dispose()
        await self.reader.dispose()


async def _by_record(connection: AsyncConnection, table: Table, *where: Any) -> dict[int, list[dict[str, Any]]]:
    """The rows of the hold or suppression table that match, oldest first, by the record that wrote them."""
    found: dict[int, list[dict[str, Any]]] = {}
    for row in (await connection.execute(select(table).where(*where).order_by(table.c.id))).mappings():
        found.setdefault(row["record_id"], []).append(dict(row))
    return found


def _stored(row: Any, written: list[dict[str, Any]], suppressed: list[dict[str, Any]] | None = None) -> StoredRecord:
    body = json.loads(row.body)
    columns = {name: getattr(row, name) for name in ("controller", "sequence", "kind", "request_id", "flow_run_id",
                                                      "recorded", "previous", "digest")}
    recorded = columns["recorded"]
    created = recorded.replace(tzinfo=UTC) if recorded.tzinfo is None else recorded
    return StoredRecord(row.id, Sealed(body, row.digest, created, row.body), row.kind, row.request_id, row.flow_run_id,
                        columns, tuple(written), tuple(suppressed or ()))


def async_url(url: str) -> str:
    """The URL with the asyncio driver SQLAlchemy needs: aiosqlite for SQLite, asyncpg for PostgreSQL."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def _immediate(engine: AsyncEngine) -> None:
    """SQLite: every transaction takes the write lock at its start, so two sealers never read the same head."""
    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _: Any) -> None:
        # The driver's own BEGIN would be deferred; ours is issued at "begin" below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_OPEN: dict[str, Ledger] = {}


async def open_ledger(url: str) -> Ledger:
    """The ledger at `url`, its schema made or upgraded to the newest revision on first use; one per URL in a
    process."""
    if url in _OPEN:
        return _OPEN[url]
    full = async_url(url)
    sqlite = make_url(full).get_backend_name() == "sqlite"
    if sqlite and (database := make_url(full).database):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # No pool: a connection is opened per use, so the ledger works from any event loop (CLI, worker, tests).
    writer = create_async_engine(full, poolclass=NullPool)
    reader = create_async_engine(full, poolclass=NullPool) if sqlite else writer
    if sqlite:
        _immediate(writer)
    async with writer.begin() as connection:
        await connection.run_sync(upgrade)
    _OPEN[url] = ledger = Ledger(url, writer, reader)
    return ledger
