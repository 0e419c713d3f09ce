"""slett settle <member>."""

from __future__ import annotations

import argparse
import asyncio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which member, and who says the invoice is settled."""
    parser.add_argument("member_id")
    parser.add_argument("--controller")
    parser.add_argument("--confirmed-by", default="operator")
    parser.add_argument("--invoice-id")


def run(args: argparse.Namespace) -> int:
    """Resume the member's suspended runs; each checks the invoice again itself."""
    from queries.runs import settle

    resumed = asyncio.run(settle(args.member_id, args.controller, args.confirmed_by, args.invoice_id))
    print(f"resumed {len(resumed)} run(s): {', '.join(map(str, resumed)) or '-'}")
    return 0 if resumed else 1
