"""slett ledger import."""

from __future__ import annotations

import argparse
import asyncio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """What to do with the ledger."""
    actions = parser.add_subparsers(dest="action", required=True)
    actions.add_parser("import", help="import the evidence artifacts and scheduled release runs written before the "
                       "ledger, once (idempotent), and cancel the release runs it replaced")


def run(args: argparse.Namespace) -> int:
    """Import what slett wrote before the ledger, and say how much."""
    from prefect import get_client

    from cli.commands.evidence import open_ledger_of_settings
    from tasks.migration import import_all

    async def imported() -> dict[str, int]:
        ledger = await open_ledger_of_settings()
        async with get_client() as client:
            return await import_all(ledger, client)

    counts = asyncio.run(imported())
    print(f"imported {counts['records']} evidence record(s) of {counts['requests']} request(s) into the ledger; "
          "scheduled release runs whose holds it now keeps are cancelled")
    return 0
