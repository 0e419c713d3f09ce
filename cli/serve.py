"""Serve the deployments from this process: the embedded default instead of a work pool."""

from __future__ import annotations

from prefect import serve

from flows.catalog import CRONS, DEPLOYMENTS, INTERVALS, load


def serve_deployments(limit: int = 10) -> None:
    """Register every deployment in flows/catalog.py and run their flow runs until stopped."""
    deployments = []
    for name in DEPLOYMENTS:
        flow = load(name)
        deployments.append(flow.to_deployment(name=name, description=flow.description, tags=["slett"],
                                              interval=INTERVALS.get(name), cron=CRONS.get(name)))
    serve(*deployments, limit=limit, print_starting_message=True)  # type: ignore[arg-type]
