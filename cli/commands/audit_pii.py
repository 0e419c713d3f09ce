"""slett audit-pii: look for members' personal data where the orchestration keeps things."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Where to look, and for what."""
    parser.add_argument("--identifiers", type=Path, required=True,
                        help="a file with one name, e-mail, phone or address per line")
    parser.add_argument("--prefect-home", type=Path, action="append", default=[],
                        help="a folder to scan byte for byte (PREFECT_HOME: results, logs, SQLite files)")
    parser.add_argument("--database", action="append", default=[],
                        help="a Prefect database URL to scan row by row "
                             "(sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db)")


def run(args: argparse.Namespace) -> int:
    """Print each place an identifier occurs, by its line number in the file (never the value); 1 on a hit."""
    from cli.audit import scan, scan_database

    values = [line.strip() for line in args.identifiers.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not values or not (args.prefect_home or args.database):
        print("nothing to do: give --identifiers with values and at least one --prefect-home or --database")
        return 2
    hits = scan(args.prefect_home, values)
    for url in args.database:
        hits += asyncio.run(scan_database(url, values))
    for hit in hits:
        print(f"identifier on line {hit.value_index + 1} found in {hit.path}")
    places = len(args.prefect_home) + len(args.database)
    print(f"{len(values)} identifiers, {places} place(s) scanned, {len(hits)} hit(s)")
    return 1 if hits else 0
