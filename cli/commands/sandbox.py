"""slett sandbox."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Where to listen, and where the membership system sends its webhooks."""
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--webhook-url", help="the receiver's POST /webhooks/membership; no webhooks if unset")
    parser.add_argument("--webhook-secret-file", type=Path, help="a file holding the whsec_ secret to sign with")
    parser.add_argument("--controller", default="demo", help="the chain named in the webhooks")


def run(args: argparse.Namespace) -> int:
    """Serve the sandbox processors until stopped."""
    from sandbox.server import serve_sandbox
    from sandbox.webhooks import WebhookSender
    from sandbox.world import Sandbox

    sandbox = Sandbox()
    if args.webhook_url:
        if args.webhook_secret_file is None:
            print("--webhook-url needs --webhook-secret-file")
            return 2
        secret = args.webhook_secret_file.read_text().split()[0]
        sandbox.webhooks = WebhookSender(args.webhook_url, secret, args.controller)
    serve_sandbox(port=args.port, sandbox=sandbox)
    return 0
