"""slett serve."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """How many flow runs at once."""
    parser.add_argument("--limit", type=int, default=10)


def run(args: argparse.Namespace) -> int:
    """Serve the deployments until stopped (SIGINT or SIGTERM)."""
    from workers.shutdown import stop_on_sigterm

    stop_on_sigterm()  # first, before Prefect starts a thread
    from cli.serve import serve_deployments
    from flows.setup import flow_settings

    flow_settings()  # read once, logging configured, before the first run
    serve_deployments(limit=args.limit)
    return 0
