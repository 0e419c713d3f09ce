"""slett letter <request> [--lang nb|en]."""

from __future__ import annotations

import argparse
import asyncio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which request, in which language."""
    parser.add_argument("request_id")
    parser.add_argument("--lang", choices=("nb", "en", "both"), default="both")


async def read_letter(request_id: str) -> str | None:
    """The newest letter of a request, from its run's artifacts."""
    from prefect import get_client

    from domain.values import artifact_key
    from queries.history import latest_artifact

    async with get_client() as client:
        artifact = await latest_artifact(client, artifact_key("letter", request_id))
    return str(artifact.data) if artifact and artifact.data else None


def run(args: argparse.Namespace) -> int:
    """Print the member's letter as markdown."""
    letter = asyncio.run(read_letter(args.request_id))
    if letter is None:
        print(f"no letter for request {args.request_id}: its run has not recorded evidence yet")
        return 1
    nb, _, en = letter.partition("\n---\n")
    print({"nb": nb.strip() + "\n", "en": en.strip() + "\n", "both": letter}[args.lang], end="")
    return 0
