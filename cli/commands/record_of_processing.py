"""slett record-of-processing --controller C [--format md|json]."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which chain, in which form."""
    parser.add_argument("--controller", required=True, help="the chain, as named in config/controllers")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.add_argument("--out", help="write to this file instead of printing")


def policies_dir() -> Path:
    """Where the chains' policy files are (SLETT_CONTROLLERS_DIR, through the settings)."""
    from config.settings import load_settings

    # Reading policies derives no subject reference, so these commands need no HMAC key.
    return load_settings(subject_key="not-used-for-reading-policies").controllers_dir


def run(args: argparse.Namespace) -> int:
    """Print the chain's Art. 30(1) record, derived from its policy file."""
    from config.policy import PolicyError, load_policy
    from connectors.registry import known_systems
    from evidence.processing_record import processing_record, processing_record_markdown

    directory = policies_dir()
    try:
        # Checked against slett's connectors, as a run loads it: a record must not list a processor slett cannot reach.
        policy = load_policy(args.controller, directory, known_systems())
    except PolicyError as error:
        print(error)
        return 2
    record = processing_record(policy, directory / f"{args.controller}.yaml")
    text = (json.dumps(record, indent=2, ensure_ascii=False) + "\n" if args.format == "json"
            else processing_record_markdown(record))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
