"""slett extend <request> --reason TEXT [--by WHO]."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.values import Extension


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which request, why, and who decided."""
    parser.add_argument("request_id")
    parser.add_argument("--reason", required=True,
                        help="why more time is needed (told to the member; write no personal data)")
    parser.add_argument("--by", default="dpo", help="who decided the extension")


def run(args: argparse.Namespace) -> int:
    """Extend the request's deadline by two months (GDPR Art. 12(3)) and record why on its run."""
    from cli.commands.evidence import open_ledger_of_settings
    from domain.values import OSLO, artifact_key
    from tasks.deadlines import ExtensionRefused, extend_request

    async def extend() -> Extension:
        ledger = await open_ledger_of_settings()
        return await extend_request(ledger, args.request_id, args.reason, args.by, datetime.now(OSLO).date())

    try:
        extension = asyncio.run(extend())
    except ExtensionRefused as refused:
        print(f"not extended: {refused}")
        return 1
    print(f"request {extension.request_id}: deadline {extension.original_deadline} -> {extension.deadline} "
          f"(GDPR Art. 12(3)); the reason and the notice to the member are in the artifact "
          f"{artifact_key('extension', extension.request_id)}.")
    return 0
