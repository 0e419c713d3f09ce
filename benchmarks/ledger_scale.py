"""The ledger at scale on PostgreSQL: a million synthetic holds, the sweep's selection of one day's due holds,
and `slett evidence --format json` for one chain's month.

    python -m benchmarks.ledger_scale [--holds 1000000]    # alone; make bench runs it as one section
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks.stack import POSTGRES, _postgres, proof_stack
from evidence.chain import GENESIS
from evidence.ledger import HELD, RELEASED, open_ledger
from sandbox.world import Sandbox

CONTROLLERS = ("aktiv365", "k24", "mova", "spenst", "vekstly")
RULES = (("exceline", "bookkeeping", ("invoices", "payments")), ("nets", "bookkeeping", ("transactions",)),
         ("exceline", "contract", ("contracts",)), ("physica", "journal", ("physiotherapy journal",)))
FIRST, LAST = date(2021, 1, 1), date(2026, 11, 30)  # when the synthetic requests were sealed
DAY = date(2029, 6, 15)  # the sweep's day: holds before it were released, holds on it are due
MONTH = (date(2025, 3, 1), date(2025, 3, 31))


def _canonical(value: object) -> str:
    """evidence.documents.canonical_json for values that are plain JSON already (a million times, fast)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def synthetic(holds: int, seed: int = 14) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Records (4 holds each) sealed into five chains over six years, each hold row as `hold_row` writes it."""
    rng = random.Random(seed)
    heads: dict[str, tuple[int, str]] = {}
    requests = holds // len(RULES)
    span = (LAST - FIRST).days
    for n in range(requests):
        controller = CONTROLLERS[n % len(CONTROLLERS)]
        day = FIRST + timedelta(days=span * n // requests)
        recorded = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        request_id, run_id = f"req-{n:07d}", str(uuid.UUID(int=n))
        rows: list[dict[str, Any]] = []
        for system, rule, categories in RULES:
            until = day + timedelta(days=rng.randint(365, 3650))
            extra = {"holds_record": False, "records_through": day.isoformat(), "review_only": rule == "journal",
                     "until_settled": False}
            rows.append({"hold_key": f"{request_id}:{system}:{rule}:{day.isoformat()}",
                         "request_id": request_id, "controller": controller, "member_id": f"M{n:07d}",
                         "system": system, "rule": rule, "categories": json.dumps(list(categories)), "fields": "[]",
                         "basis": "bokforingsloven-13", "citation": "bokføringsloven § 13", "retain_until": until,
                         "due_on": until, "status": HELD, "flow_run_id": run_id, "detail": "",
                         "extra": _canonical(extra)})
        evidence = {"request": {"request_id": request_id, "controller": controller, "subject_ref": f"sr-{n:024x}",
                                "kind": "termination", "received": recorded.isoformat(),
                                "deadline": (day + timedelta(days=30)).isoformat(), "deadline_reason": "one month"},
                    "status": "done", "finished": recorded.isoformat(), "steps": [], "holds": []}
        sequence, previous = heads.get(controller, (0, GENESIS))
        held = [{**row, "retain_until": row["retain_until"].isoformat(), "due_on": row["due_on"].isoformat()}
                for row in rows]
        body = {"kind": "erasure", "request_id": request_id, "flow_run_id": run_id, "recorded": recorded.isoformat(),
                "evidence": evidence, "holds": held,
                "controller": controller, "sequence": sequence + 1, "previous": previous}
        text = _canonical(body)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        heads[controller] = (sequence + 1, digest)
        yield ({"controller": controller, "sequence": sequence + 1, "kind": "erasure", "request_id": request_id,
                "flow_run_id": run_id, "recorded": recorded, "previous": previous, "digest": digest, "body": text},
               rows)


async def fill(url: str, holds: int) -> dict[str, int]:
    """Create the ledger's tables at `url` and copy the synthetic records and holds in (COPY, not INSERT), with
    the unreleased holds derived from them."""
    import asyncpg

    await open_ledger(url)
    record_columns = ("id", "controller", "sequence", "kind", "request_id", "flow_run_id", "recorded", "previous",
                      "digest", "body")
    hold_columns = ("id", "record_id", "hold_key", "request_id", "controller", "member_id", "system", "rule",
                    "categories", "fields", "basis", "citation", "retain_until", "due_on", "status", "flow_run_id",
                    "detail", "extra")
    unreleased_columns = ("hold_key", "hold_id", "controller", "request_id", "status", "due_on")
    records: list[tuple[Any, ...]] = []
    rows: list[tuple[Any, ...]] = []
    released: list[dict[str, Any]] = []
    standing: list[tuple[Any, ...]] = []  # as the sealing transaction keeps `unreleased_hold`
    for number, (record, written) in enumerate(synthetic(holds), 1):
        records.append((number, *(record[c] for c in record_columns[1:])))
        for row in written:
            rows.append((len(rows) + 1, number, *(row[c] for c in hold_columns[2:])))
            if row["retain_until"] < DAY:  # released by an earlier sweep: a second, newer row
                released.append({**row, "status": RELEASED, "detail": "released"})
            else:
                standing.append((row["hold_key"], len(rows), *(row[c] for c in unreleased_columns[2:])))
    rows += [(len(rows) + 1 + i, 1, *(row[c] for c in hold_columns[2:])) for i, row in enumerate(released)]
    connection = await asyncpg.connect(url, timeout=10)
    try:
        await connection.copy_records_to_table("evidence_record", records=records, columns=record_columns)
        await connection.copy_records_to_table("hold", records=rows, columns=hold_columns)
        await connection.copy_records_to_table("unreleased_hold", records=standing, columns=unreleased_columns)
        await connection.execute("SELECT setval('evidence_record_id_seq', (SELECT max(id) FROM evidence_record))")
        await connection.execute("SELECT setval('hold_id_seq', (SELECT max(id) FROM hold))")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return {"records": len(records), "holds": holds, "hold_rows": len(rows)}


async def due_selection(url: str) -> dict[str, Any]:
    """The sweep's query for DAY, timed (best of three, the first warms the cache)."""
    ledger = await open_ledger(url)
    times, due = [], []
    for _ in range(3):
        started = time.perf_counter()
        due = await ledger.due_holds(DAY)
        times.append(time.perf_counter() - started)
    return {"due_select_s": round(min(times), 3), "due_select_first_s": round(times[0], 3), "due_holds": len(due)}


def evidence_month(url: str, api_url: str) -> dict[str, Any]:
    """`slett evidence --format json` for one chain's month, as a person runs it, timed."""
    env = {**os.environ, "SLETT_LEDGER_URL": url, "PREFECT_API_URL": api_url,
           "SLETT_SUBJECT_KEY": "scale-subject-key-not-a-secret-0123456789"}
    command = [sys.executable, "-m", "cli.main", "evidence", "--format", "json", "--controller", CONTROLLERS[0],
               "--since", MONTH[0].isoformat(), "--until", MONTH[1].isoformat(), "--today", MONTH[1].isoformat()]
    started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)  # noqa: S603 - our own CLI
    took, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"slett evidence failed: {done.stderr[-2000:]}")
    register = json.loads(done.stdout)
    # Its CPU seconds too: on a machine shared with other work, the wall time is mostly waiting for a core.
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    return {"evidence_month_s": round(took, 3), "evidence_month_cpu_s": round(cpu_s, 3),
            "evidence_month_requests": len(register["requests"]),
            "evidence_month_chain_records": register["evidence_chains"][0]["records"],
            "evidence_month_chain_intact": register["evidence_chains"][0]["intact"],
            "evidence_month_active_holds": len(register["sections"]["active_holds"])}


def scale_figure(holds: int) -> dict[str, Any]:
    """The whole figure on a fresh PostgreSQL database, dropped afterwards."""
    name = f"slett_ledger_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    url = f"{POSTGRES}/{name}"
    try:
        started = time.perf_counter()
        result: dict[str, Any] = asyncio.run(fill(url, holds))
        result["fill_s"] = round(time.perf_counter() - started, 1)
        result |= asyncio.run(due_selection(url))
        with proof_stack(Sandbox(), workers=0, db="sqlite") as stack:
            result |= evidence_month(url, stack.api_url)
    finally:
        asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    result["targets"] = {"due_select_s": 2.0, "evidence_month_s": 5.0}
    return result


def main(argv: list[str] | None = None) -> int:
    """Measure the scale figure alone and print it as JSON."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ledger_scale", description=__doc__.split("\n")[0])
    parser.add_argument("--holds", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    sys.stdout.write(json.dumps(scale_figure(args.holds), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
