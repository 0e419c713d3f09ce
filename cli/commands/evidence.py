"""slett evidence [<request>] | [--since D] [--until D] [--controller C] --format json|csv|html [--out F] | --verify."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from evidence.chain import ChainReport
    from evidence.ledger import Ledger


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One request's table, the register, or the verification of the evidence chains."""
    parser.add_argument("request_id", nargs="?", help="print this request's evidence table")
    parser.add_argument("--request", dest="request_option", metavar="REQUEST", help="the same as the argument")
    parser.add_argument("--since", help="requests received from this day (Oslo) or moment (ISO 8601)")
    parser.add_argument("--until", help="requests received up to this day (included) or moment")
    parser.add_argument("--controller", help="one chain, as named in config/controllers")
    parser.add_argument("--format", choices=("json", "csv", "html"), default="json")
    parser.add_argument("--out", help="write the register to this file instead of printing it")
    parser.add_argument("--today", type=date.fromisoformat, help="count deadlines to this day (default: today)")
    parser.add_argument("--verify", action="store_true",
                        help="recompute every evidence chain and name the first request whose evidence changed")


async def open_ledger_of_settings() -> Ledger:
    """The ledger the settings name (SLETT_LEDGER_URL)."""
    from config.settings import load_settings
    from evidence.ledger import open_ledger

    # The subject key only makes references; reading the ledger needs none.
    return await open_ledger(load_settings(subject_key="not-used-for-reading-evidence").ledger_url)


def run(args: argparse.Namespace) -> int:
    """Print what was asked for, from the ledger (and the Prefect API for runs still in flight)."""
    request_id = args.request_id or args.request_option
    if args.verify:
        return verify(args.controller)
    if request_id:
        return one_request(request_id)
    return register(args)


def one_request(request_id: str) -> int:
    """Print the request's evidence as the ledger sealed it: each processor's step, each hold's state, and each
    removal of the member after a re-sync added them again."""
    from cli.demo import table
    from evidence.ledger import HoldState, StoredRecord

    async def read() -> tuple[list[StoredRecord], list[HoldState]]:
        ledger = await open_ledger_of_settings()
        return await ledger.records(request_id=request_id), await ledger.hold_states([request_id])

    stored, holds = asyncio.run(read())
    erasures = [r for r in stored if r.kind in ("erasure", "withdrawal")]
    if not erasures:
        print(f"no evidence for request {request_id}")
        return 1
    print(table(erasures[-1].sealed.body["evidence"]["steps"]))
    readded = [r.sealed.body["evidence"] for r in stored if r.kind == "readded"]
    if readded:
        print("\nadded again by a re-sync, and removed again:")
        print(table([{**step, "found_on": found["found_on"]} for found in readded for step in found["steps"]],
                     ("found_on", "system", "action", "status", "verified", "detail")))
    if holds:
        print()
        print(table([{"system": h.hold.system, "rule": h.hold.rule, "retain_until": h.hold.retain_until.isoformat(),
                      "status": h.status, "detail": h.detail} for h in holds],
                    ("system", "rule", "retain_until", "status", "detail")))
    return 0


def verify(controller: str | None) -> int:
    """Print each controller's chain: intact, or the first request whose evidence was changed."""
    reports = asyncio.run(_verify(controller))
    for report in reports:
        vacuumed = f"; {report.vacuumed} of their runs vacuumed from Prefect" if report.vacuumed else ""
        if report.intact:
            print(f"{report.controller}: {report.records} evidence records, chain intact; "
                  f"head #{report.head_sequence} sha256 {report.head_digest}{vacuumed}")
            continue
        first = report.problems[0]
        print(f"{report.controller}: CHANGED: request {first.request_id}{_record(first.sequence)}: {first.reason}")
        for problem in report.problems[1:]:
            print(f"  also: request {problem.request_id}{_record(problem.sequence)}: {problem.reason}")
    if not reports:
        print("no evidence recorded yet")
    return 0 if all(report.intact for report in reports) else 1


async def _verify(controller: str | None) -> list[ChainReport]:
    """The ledger's chains verified, each record's run looked up in Prefect."""
    from prefect import get_client

    from evidence.verify import verify_ledger
    from queries.history import existing_runs

    ledger = await open_ledger_of_settings()
    async with get_client() as client:
        return await verify_ledger(ledger, lambda ids: existing_runs(client, ids), controller)


def _record(sequence: int) -> str:
    """Where in the chain a problem is; nowhere for an artifact that no record seals."""
    return f" (record #{sequence})" if sequence else ""


def register(args: argparse.Namespace) -> int:
    """Compile the register and print it, or write it to --out."""
    from cli.commands.record_of_processing import policies_dir
    from domain.values import OSLO
    from evidence.register import Register, compile_register
    from evidence.register_html import render_html
    from evidence.register_render import dumps, register_csv
    from tasks.report import bound

    since = bound(args.since) if args.since else None
    until = bound(args.until, end=True) if args.until else None
    today = args.today or datetime.now(OSLO).date()
    async def compile_() -> Register:
        return await compile_register(await open_ledger_of_settings(), policies_dir(), today, since, until,
                                      args.controller)

    compiled = asyncio.run(compile_())
    text = {"json": lambda: dumps(compiled) + "\n", "csv": lambda: register_csv(compiled),
            "html": lambda: render_html(compiled)}[args.format]()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        counts = ", ".join(f"{n} {label}" for label, n in compiled.counts().items())
        print(f"wrote {args.out}: {counts}")
    else:
        print(text, end="")
    return 0
