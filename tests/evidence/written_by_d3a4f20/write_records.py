"""Seal, with the code at d3a4f20, what the register reads: an Aktiv365 erasure (its Art. 19 `told` list) and a
legal hold set then lifted and one still in force; dump the ledger's rows as JSON (records.json)."""
import asyncio
import json
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from config.legal_holds import LegalHold
from config.policy import load_policy
from connectors.registry import known_systems
from domain.values import Evidence, Kind, Request, Step
from evidence.ledger import NewRecord, legal_holds, open_ledger, records
from evidence.legal_holds import lift_legal_hold, seal_legal_hold
from evidence.recipients import recipients_told
from tasks.evidence import evidence_document

CONTROLLERS = Path(__file__).resolve().parents[3] / "config" / "controllers"
SUBJECT = "sr-0123456789abcdef01234567"  # a subject reference as the HMAC makes one (no member behind it)
OTHER = "sr-fedcba9876543210fedcba98"


async def main(out: Path) -> None:
    policy = load_policy("aktiv365", CONTROLLERS, known_systems())
    ledger = await open_ledger(f"sqlite:///{tempfile.mkdtemp()}/ledger.sqlite3")
    received = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    request = Request("old-aktiv365-1", "aktiv365", "A7001", Kind.TERMINATION, SUBJECT, received, date(2026, 3, 4))
    finished = datetime(2026, 3, 3, 14, 5, tzinfo=UTC)
    steps = (Step("manual-kalibrert-as", "marketing", "delete", "confirmed", True, 1, supplier="Kalibrert AS",
                  confirmed_by="Ola Drift", confirmed_on=date(2026, 3, 2)),
             Step("ibooking", "booking", "delete", "erased", True, 1, reference="cust/17"),
             Step("credicare", "invoicing", "restrict", "confirmed", True, 1, supplier="Credicare AS",
                  confirmed_by="Kari Drift", confirmed_on=date(2026, 3, 3)),
             Step("exceline", "membership", "anonymise", "anonymised", True, 1, reference="A7001"))
    told = recipients_told(policy, steps, finished.date())
    evidence = Evidence(request, "done", steps, (), finished, "00000000-0000-0000-0000-000000000001", told=told)
    await ledger.seal(NewRecord("aktiv365", "erasure", request.request_id, evidence.flow_run_id,
                                evidence_document(evidence)))
    lifted = LegalHold("aktiv365", "A7001", "ibooking", "bookings", "Tvist om en booking, sak 12", "Kari Drift",
                       datetime(2026, 2, 20, 8, 0, tzinfo=UTC), None)
    await seal_legal_hold(ledger, lifted, SUBJECT)
    await lift_legal_hold(ledger, "aktiv365", "A7001", "ibooking", "bookings", "Ola Jurist", date(2026, 3, 1),
                          SUBJECT)
    standing = LegalHold("aktiv365", "A7001", "exceline", "visits", "Politiet ba om besøksloggen, sak 2026-44",
                         "Kari Drift", datetime(2026, 3, 2, 10, 0, tzinfo=UTC), date(2027, 3, 2))
    await seal_legal_hold(ledger, standing, SUBJECT)
    other = LegalHold("aktiv365", "A7002", "ibooking", "profile", "Skade under prøvetime, sak 7", "Kari Drift",
                      datetime(2026, 3, 5, 12, 0, tzinfo=UTC), None)
    await seal_legal_hold(ledger, other, OTHER)
    async with ledger.reader.connect() as connection:
        rows = {name: [dict(r) for r in (await connection.execute(select(table).order_by(table.c.id))).mappings()]
                for name, table in (("evidence_record", records), ("legal_hold", legal_holds))}
    out.write_text(json.dumps(rows, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


asyncio.run(main(Path(sys.argv[1])))
