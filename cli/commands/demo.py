"""slett demo."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the demo sets everything up itself."""


def run(args: argparse.Namespace) -> int:
    """Run the demo on a fresh local stack."""
    from cli.demo import demo

    return demo()
