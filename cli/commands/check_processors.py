"""slett check-processors: read each of a chain's processors once before the first real request."""

from __future__ import annotations

import argparse
import asyncio


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The chain whose processors to check."""
    parser.add_argument("--controller", required=True, help="the chain (config/controllers/<name>.yaml)")


def run(args: argparse.Namespace) -> int:
    """Print what answers and what does not, with the reason; 1 when any processor fails."""
    from config.policy import PolicyError, load_policy
    from config.settings import SettingsError, load_settings
    from connectors.check import check_processors
    from connectors.registry import known_systems

    try:
        settings = load_settings()
        policy = load_policy(args.controller, settings.controllers_dir, known_systems())
    except (SettingsError, PolicyError) as exc:
        print(f"cannot check: {exc}")
        return 2
    systems = list(dict.fromkeys(p.system for p in policy.processors))
    checks = asyncio.run(check_processors(systems, settings))
    for check in checks:
        print(f"{'ok  ' if check.answered else 'FAIL'} {check.system}: {check.reason}")
    failed = [c.system for c in checks if not c.answered]
    print(f"{len(checks) - len(failed)} of {len(checks)} processors answer" +
          (f"; fix {', '.join(failed)} before the first real request" if failed else ""))
    return 1 if failed else 0
