"""The ledger at scale on PostgreSQL: a million synthetic holds, the sweep's selection of one day's due holds,
`slett evidence --format json` for one chain's month, and `slett evidence --verify` of the whole ledger (its
time and its peak memory).

    python -m benchmarks.ledger_scale [--holds 1000000]    # alone; make bench runs it as one section
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import heapq
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchmarks.stack import POSTGRES, _postgres, proof_stack
from evidence.chain import GENESIS
from evidence.ledger import HELD, RELEASED, open_ledger
from evidence.verify import PAGE
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
    """Records sealed into five chains, in the order of their days: an erasure per request (4 holds each) over six
    years, and each day's sweep of the holds whose day came before DAY, a release record per hold sealing its
    released row, as the sweep seals each request's hold at one processor under one rule. Each hold row as
    `hold_row` writes it."""
    rng = random.Random(seed)
    heads: dict[str, tuple[int, str]] = {}
    due: dict[date, list[dict[str, Any]]] = {}  # a sweep's day: the hold rows it releases
    days: list[date] = []  # the days in `due`, as a heap
    requests = holds // len(RULES)
    span = (LAST - FIRST).days

    def sealed(controller: str, fields: dict[str, Any], rows: list[dict[str, Any]]) -> tuple[dict[str, Any],
                                                                                             list[dict[str, Any]]]:
        """The next record of a controller's chain, with its hold rows, as the ledger stores it."""
        held = [{**row, "retain_until": row["retain_until"].isoformat(), "due_on": row["due_on"].isoformat()}
                for row in rows]
        sequence, previous = heads.get(controller, (0, GENESIS))
        body = {**fields, "recorded": fields["recorded"].isoformat(), "holds": held, "controller": controller,
                "sequence": sequence + 1, "previous": previous}
        text = _canonical(body)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        heads[controller] = (sequence + 1, digest)
        return ({"controller": controller, "sequence": sequence + 1, "kind": fields["kind"],
                 "request_id": fields["request_id"], "flow_run_id": fields["flow_run_id"],
                 "recorded": fields["recorded"], "previous": previous, "digest": digest, "body": text}, rows)

    def sweeps(through: date) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """The sweeps of the days up to `through`, in order."""
        while days and days[0] <= through:
            day = heapq.heappop(days)
            run_id = str(uuid.UUID(int=(1 << 64) + day.toordinal()))
            recorded = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=3)
            for row in sorted(due.pop(day), key=lambda row: (row["controller"], row["hold_key"])):
                released = {**row, "status": RELEASED, "flow_run_id": run_id, "detail": "released"}
                evidence = {"request_id": row["request_id"], "system": row["system"], "rule": row["rule"],
                            "as_of": day.isoformat(), "status": "released"}
                yield sealed(row["controller"], {"kind": "release", "request_id": row["request_id"],
                                                 "flow_run_id": run_id, "recorded": recorded, "evidence": evidence},
                             [released])

    for n in range(requests):
        controller = CONTROLLERS[n % len(CONTROLLERS)]
        day = FIRST + timedelta(days=span * n // requests)
        yield from sweeps(day - timedelta(days=1))
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
            if until < DAY:  # released by the sweep of its day
                if until not in due:
                    heapq.heappush(days, until)
                due.setdefault(until, []).append(rows[-1])
        evidence = {"request": {"request_id": request_id, "controller": controller, "subject_ref": f"sr-{n:024x}",
                                "kind": "termination", "received": recorded.isoformat(),
                                "deadline": (day + timedelta(days=30)).isoformat(), "deadline_reason": "one month"},
                    "status": "done", "finished": recorded.isoformat(), "steps": [], "holds": []}
        yield sealed(controller, {"kind": "erasure", "request_id": request_id, "flow_run_id": run_id,
                                  "recorded": recorded, "evidence": evidence}, rows)
    yield from sweeps(DAY)


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
    standing: list[tuple[Any, ...]] = []  # as the sealing transaction keeps `unreleased_hold`
    for number, (record, written) in enumerate(synthetic(holds), 1):
        records.append((number, *(record[c] for c in record_columns[1:])))
        for row in written:
            rows.append((len(rows) + 1, number, *(row[c] for c in hold_columns[2:])))
            if row["status"] == HELD and row["retain_until"] >= DAY:  # a release record writes a newer row
                standing.append((row["hold_key"], len(rows), *(row[c] for c in unreleased_columns[2:])))
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


def cli_env(url: str, api_url: str) -> dict[str, str]:
    """The environment `slett` runs in against the ledger at `url` and the Prefect API at `api_url`."""
    return {**os.environ, "SLETT_LEDGER_URL": url, "PREFECT_API_URL": api_url,
            "SLETT_SUBJECT_KEY": "scale-subject-key-not-a-secret-0123456789"}


def evidence_month(url: str, api_url: str) -> dict[str, Any]:
    """`slett evidence --format json` for one chain's month, as a person runs it, timed."""
    env = cli_env(url, api_url)
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


# `python -m cli.main` that writes its peak resident memory to the file named first on exit. Read from the process
# itself (VmHWM, which starts anew at exec): getrusage's maxrss of a child counts the parent it was forked from.
PEAK_RSS = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(out, "w") as written:
        written.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
atexit.register(peak)
sys.argv[0] = "slett"
runpy.run_module("cli.main", run_name="__main__", alter_sys=True)
"""


def verify_whole(url: str, api_url: str) -> dict[str, Any]:
    """`slett evidence --verify` of the whole ledger, as a person runs it: its time, CPU seconds and peak memory.
    The synthetic records' runs were never in this Prefect: every one is looked up, and counted vacuumed."""
    with tempfile.NamedTemporaryFile("r") as peak:
        command = [sys.executable, "-c", PEAK_RSS, peak.name, "evidence", "--verify"]
        started, cpu = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(command, env=cli_env(url, api_url), capture_output=True, text=True,  # noqa: S603
                              timeout=3600)
        took, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kb = peak.read().strip()
    lines = done.stdout.splitlines()
    if done.returncode != 0:
        raise RuntimeError(f"slett evidence --verify exited {done.returncode}: {lines[:5]} {done.stderr[-2000:]}")
    # "<controller>: <n> evidence records, chain intact; head #<n> sha256 <digest>; <n> of their runs vacuumed ..."
    counted = [line.split(": ", 1)[1].split() for line in lines]
    return {"verify_s": round(took, 3),
            "verify_cpu_s": round(after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime, 3),
            "verify_peak_rss_mb": round(int(peak_kb) / 1024, 1), "verify_page": PAGE,
            "verify_chains_intact": sum(1 for line in lines if "chain intact" in line),
            "verify_records": sum(int(words[0]) for words in counted),
            "verify_runs_vacuumed": sum(int(words[words.index("of") - 1]) for words in counted if "vacuumed" in words)}


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
            result |= verify_whole(url, stack.api_url)
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
