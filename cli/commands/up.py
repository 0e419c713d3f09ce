"""slett up."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the stack keeps its database, results, logs and local secrets, and on which ports."""
    parser.add_argument("--home", type=Path, help="folder for .prefect/ and .slett/ (default: the project)")
    parser.add_argument("--any-ports", action="store_true", help="free ports instead of 4200, 8700 and 8800")


def run(args: argparse.Namespace) -> int:
    """Start the whole local stack, print its addresses, and keep it until Ctrl-C."""
    import signal
    import sys

    from cli.stack import local_stack
    from config.settings import PROJECT_ROOT

    # `kill` stops the stack as Ctrl-C does, through the finally-blocks that stop every child; Ctrl-C
    # works even when started in the background, where the shell would have it ignored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("starting Prefect server, sandbox, webhook receiver and deployments ...", flush=True)
    try:
        with local_stack(home=args.home or PROJECT_ROOT, any_ports=args.any_ports) as stack:
            print(f"Prefect UI        {stack.ui_url}\n"
                  f"Prefect API       {stack.api_url}\n"
                  f"webhook receiver  {stack.receiver_url}/webhooks/membership  (OpenAPI: /docs)\n"
                  f"sandbox           {stack.sandbox_url}  (POST /_sandbox/members/M1001/terminate)\n"
                  f"logs              {stack.logs}\n"
                  "Ctrl-C stops everything started here.", flush=True)
            stopped = stack.watch()
            print(f"{stopped} exited; see {stack.logs / (stopped + '.log')}. Stopping the rest.")
            return 1
    except KeyboardInterrupt:
        print("\nstopped.")
        return 0
    except RuntimeError as error:  # a process did not come up; everything started was stopped again
        print(f"slett up: {error}; see the logs under {(args.home or PROJECT_ROOT) / '.slett' / 'logs'}")
        return 1
