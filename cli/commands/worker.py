"""slett worker."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which pool, under which name, how many runs at once."""
    parser.add_argument("--pool", required=True, help="the work pool to take flow runs from")
    parser.add_argument("--name", required=True,
                        help="this worker's name, the same after every restart (it takes back its runs)")
    parser.add_argument("--limit", type=int, default=16, help="flow runs at once")
    parser.add_argument("--work-queue", dest="work_queues", action="append",
                        help="a queue of the pool to take runs from (repeat; default: all)")


def run(args: argparse.Namespace) -> int:
    """Run the pool's flow runs in this process until stopped (SIGINT or SIGTERM)."""
    from workers.shutdown import run_until_stopped, stop_on_sigterm

    stop_on_sigterm()  # first, before Prefect starts a thread
    from prefect.settings import PREFECT_API_URL

    from flows.catalog import DEPLOYMENTS
    from flows.setup import flow_settings
    from workers.in_process import InProcessWorker

    if not PREFECT_API_URL.value():
        print("slett worker: set PREFECT_API_URL to the Prefect server's API (e.g. http://127.0.0.1:4200/api)")
        return 2
    flow_settings()  # read once, logging configured, before the first run
    worker = InProcessWorker(work_pool_name=args.pool, name=args.name, limit=args.limit,
                             work_queues=args.work_queues)
    print(f"slett worker {args.name}: pool {args.pool}, {args.limit} runs at once, "
          f"deployments {', '.join(DEPLOYMENTS)}", flush=True)
    return run_until_stopped(worker.start())
