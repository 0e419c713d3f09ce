"""slett evidence [<request>] | [--since D] [--until D] [--controller C] --format json|csv|html [--out F] | --verify."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime
from pathlib import Path


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


def run(args: argparse.Namespace) -> int:
    """Print what was asked for, from the Prefect API."""
    request_id = args.request_id or args.request_option
    if args.verify:
        return verify(args.controller)
    if request_id:
        return one_request(request_id)
    return register(args)


def one_request(request_id: str) -> int:
    """Print the request's newest evidence table."""
    from cli.demo import table
    from cli.runs import evidence_rows

    rows = asyncio.run(evidence_rows(request_id))
    print(table(rows) if rows else f"no evidence for request {request_id}")
    return 0 if rows else 1


def verify(controller: str | None) -> int:
    """Print each controller's chain: intact, or the first request whose evidence was changed."""
    from evidence.chain import verify as verify_chains

    reports = asyncio.run(verify_chains(controller))
    for report in reports:
        if report.intact:
            print(f"{report.controller}: {report.records} evidence records, chain intact; "
                  f"head #{report.head_sequence} sha256 {report.head_digest}")
            continue
        first = report.problems[0]
        print(f"{report.controller}: CHANGED: request {first.request_id}{_record(first.sequence)}: {first.reason}")
        for problem in report.problems[1:]:
            print(f"  also: request {problem.request_id}{_record(problem.sequence)}: {problem.reason}")
    if not reports:
        print("no evidence recorded yet")
    return 0 if all(report.intact for report in reports) else 1


def _record(sequence: int) -> str:
    """Where in the chain a problem is; nowhere for an artifact that no record seals."""
    return f" (record #{sequence})" if sequence else ""


def register(args: argparse.Namespace) -> int:
    """Compile the register and print it, or write it to --out."""
    from cli.commands.record_of_processing import policies_dir
    from domain.values import OSLO
    from evidence.register import compile_register
    from evidence.register_html import render_html
    from evidence.register_render import dumps, register_csv
    from tasks.report import bound

    since = bound(args.since) if args.since else None
    until = bound(args.until, end=True) if args.until else None
    today = args.today or datetime.now(OSLO).date()
    compiled = asyncio.run(compile_register(policies_dir(), today, since, until, args.controller))
    text = {"json": lambda: dumps(compiled) + "\n", "csv": lambda: register_csv(compiled),
            "html": lambda: render_html(compiled)}[args.format]()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        counts = ", ".join(f"{n} {label}" for label, n in compiled.counts().items())
        print(f"wrote {args.out}: {counts}")
    else:
        print(text, end="")
    return 0
