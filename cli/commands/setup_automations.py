"""slett setup-automations."""

from __future__ import annotations

import argparse
import asyncio
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """How long a silent run may stay Running, and how long to wait for the server."""
    parser.add_argument("--silence-s", type=int,
                        help="seconds without a heartbeat before a run is marked Crashed "
                             "(default: four times PREFECT_FLOWS_HEARTBEAT_FREQUENCY)")
    parser.add_argument("--stuck-pending-s", type=int, default=600,
                        help="a run Pending this long lost its process before it started: rerun it")
    parser.add_argument("--notify", metavar="BLOCK",
                        help="tell the DPO of escalations, failed erasures and near deadlines through this "
                             "Prefect notification block, as type-slug/name (e.g. slack-webhook/dpo)")
    parser.add_argument("--wait-s", type=float, default=0.0,
                        help="keep trying this long while the server starts and the deployments register")


def run(args: argparse.Namespace) -> int:
    """Create or update the zombie, recovery and (with --notify) the DPO's automations on the Prefect server."""
    from cli.automations import SetupError

    try:
        done = asyncio.run(_patiently(args.silence_s, args.stuck_pending_s, args.notify, args.wait_s))
    except SetupError as error:
        print(error)
        return 1
    for name, what in done.items():
        print(f"{name}: {what}")
    return 0


async def _patiently(silence_s: int | None, stuck_pending_s: int, notify: str | None,
                     wait_s: float) -> dict[str, str]:
    import httpx

    from cli.automations import SetupError, ensure_crash_detection

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await ensure_crash_detection(silence_s, stuck_pending_s, notify)
        except (httpx.HTTPError, OSError, SetupError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(2)
