"""The `slett` command: the user's way in. Each subcommand is a module in cli/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> one-line help; the module cli/commands/<name with _>.py has add_arguments(parser) and run(args).
COMMANDS = {
    "demo": "erase the seeded members on a local stack, print the evidence",
    "sandbox": "serve the stand-in processors on loopback",
    "serve": "serve the deployments from this process (the embedded default)",
    "worker": "run a work pool's flow runs inside this process (production)",
    "settle": "resume a member's runs waiting for settlement",
    "evidence": "the DPO's register (json, csv, html), one request's evidence, or --verify the ledger's chains",
    "letter": "print a request's letter to the member (nb and en): the answer, or --kind acknowledgment or delay",
    "ledger": "import what slett wrote before the ledger (evidence artifacts, scheduled release runs)",
    "hold": "set, lift or list a legal hold on a member's category at a processor (the police, a legal claim)",
    "extend": "extend a request's deadline by two months with its reason (GDPR Art. 12(3))",
    "record-of-processing": "print a chain's record of processing activities (GDPR Art. 30(1))",
    "receiver": "serve the signed-webhook receiver (POST /webhooks/membership)",
    "up": "start the whole local stack and keep it running until Ctrl-C",
    "audit-pii": "scan a Prefect home or database for members' personal data",
    "check-processors": "read each of a chain's processors once: address, key and a harmless lookup",
    "setup-automations": "create the crash detection (zombie automation, recovery limit) on the server",
}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(prog="slett", description="GDPR erasure for fitness chains, on Prefect")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"cli.commands.{name.replace('-', '_')}")
        module.add_arguments(commands.add_parser(name, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    module = importlib.import_module(f"cli.commands.{args.command.replace('-', '_')}")
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
