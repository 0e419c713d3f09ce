"""slett letter <request> [--lang nb|en] [--kind answer|acknowledgment|delay]."""

from __future__ import annotations

import argparse
import asyncio

# The answer's artifact is `letter-<request>`; the letters before it are named by their kind (evidence/interim.py).
KINDS = {"answer": "letter", "acknowledgment": "acknowledgment", "delay": "delay"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which request, which letter, in which language."""
    parser.add_argument("request_id")
    parser.add_argument("--lang", choices=("nb", "en", "both"), default="both")
    parser.add_argument("--kind", choices=tuple(KINDS), default="answer",
                        help="the answer (default), the acknowledgment when the request was registered, or the "
                        "letter sent when it waited past its deadline")


async def read_letter(request_id: str, kind: str = "answer") -> str | None:
    """The newest letter of a kind to a request, from its run's artifacts."""
    from prefect import get_client

    from domain.values import artifact_key
    from queries.history import latest_artifact

    async with get_client() as client:
        artifact = await latest_artifact(client, artifact_key(KINDS[kind], request_id))
    return str(artifact.data) if artifact and artifact.data else None


def run(args: argparse.Namespace) -> int:
    """Print the member's letter as markdown."""
    letter = asyncio.run(read_letter(args.request_id, args.kind))
    if letter is None:
        why = "its run has not recorded evidence yet" if args.kind == "answer" else "none was sent"
        named = "letter" if args.kind == "answer" else f"{args.kind} letter"
        print(f"no {named} for request {args.request_id}: {why}")
        return 1
    nb, _, en = letter.partition("\n---\n")
    print({"nb": nb.strip() + "\n", "en": en.strip() + "\n", "both": letter}[args.lang], end="")
    return 0
