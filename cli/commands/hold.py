"""slett hold <controller> <member> --system S --category C --reason TEXT --by WHO [--until DAY] | --lift | --list."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which member, processor and category, why, who, and until when."""
    parser.add_argument("controller")
    parser.add_argument("member_id", nargs="?", help="the member's (or guest's) id at the membership system")
    parser.add_argument("--system", help="the processor that holds the category (e.g. exceline)")
    parser.add_argument("--category", help="the category of its data map (e.g. camera)")
    parser.add_argument("--reason", default="", help="why: the police's request, the case (write no personal data)")
    parser.add_argument("--by", default="", help="who sets or lifts the hold")
    parser.add_argument("--until", type=date.fromisoformat, help="the day it ends (YYYY-MM-DD); none: until lifted")
    parser.add_argument("--lift", action="store_true", help="lift the legal hold set before")
    parser.add_argument("--list", action="store_true", help="list the chain's legal holds (by subject reference)")


def run(args: argparse.Namespace) -> int:
    """Set, lift or list legal holds in the ledger; erasures, releases and purges keep a held category."""
    from config.legal_holds import LegalHoldRefused
    from config.policy import load_policy
    from config.settings import load_settings
    from connectors.registry import erases_by_category, known_systems
    from domain.values import OSLO, subject_reference
    from evidence.ledger import open_ledger
    from evidence.legal_holds import read_legal_holds, set_or_lift

    settings = load_settings()
    policy = load_policy(args.controller, settings.controllers_dir, known_systems())
    today = datetime.now(OSLO).date()

    async def act() -> list[str]:
        ledger = await open_ledger(settings.ledger_url)
        if args.list:
            return [f"{subject_reference(settings.subject_key, h.controller, h.member_id)}: {h.words()}"
                    for h in await read_legal_holds(ledger, policy.controller, args.member_id)]
        if not (args.member_id and args.system and args.category):
            raise LegalHoldRefused("name the member, --system and --category (or --list)")
        subject = subject_reference(settings.subject_key, policy.controller, args.member_id)
        legal, stored = await set_or_lift(ledger, policy, args.member_id, args.system, args.category, args.reason,
                                          args.by, args.until, args.lift, today, subject, None,
                                          erases_by_category(args.system))
        return [f"{subject}: {legal.words()} (ledger record #{stored.sealed.sequence} of {policy.controller})"]

    try:
        lines = asyncio.run(act())
    except LegalHoldRefused as refused:
        print(f"not done: {refused}")
        return 1
    print("\n".join(lines) or "no legal holds")
    return 0
