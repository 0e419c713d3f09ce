"""Seal, with the code at e521070 (before the Art. 19 `told` list), one Aktiv365 erasure; dump its row as JSON."""
import asyncio
import json
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from domain.values import Evidence, Kind, Request, Step
from evidence.ledger import NewRecord, open_ledger, records
from tasks.evidence import evidence_document


async def main(out: Path) -> None:
    ledger = await open_ledger(f"sqlite:///{tempfile.mkdtemp()}/ledger.sqlite3")
    request = Request("old-aktiv365-0", "aktiv365", "A7000", Kind.TERMINATION, "sr-00000000000000000000000a",
                      datetime(2026, 3, 2, 8, 0, tzinfo=UTC), date(2026, 3, 4))
    steps = (Step("ibooking", "booking", "delete", "erased", True, 1, reference="cust/16"),
             Step("exceline", "membership", "anonymise", "anonymised", True, 1))
    evidence = Evidence(request, "done", steps, (), datetime(2026, 3, 3, 12, 0, tzinfo=UTC),
                        "00000000-0000-0000-0000-000000000000")
    await ledger.seal(NewRecord("aktiv365", "erasure", request.request_id, evidence.flow_run_id,
                                evidence_document(evidence)))
    async with ledger.reader.connect() as connection:
        rows = [dict(r) for r in (await connection.execute(select(records))).mappings()]
    out.write_text(json.dumps({"evidence_record": rows}, indent=1, default=str) + "\n")


asyncio.run(main(Path(sys.argv[1])))
