"""slett receiver."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Where to listen."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8800)


def run(args: argparse.Namespace) -> int:
    """Serve POST /webhooks/membership until stopped; runs start and resume through PREFECT_API_URL."""
    import uvicorn
    from prefect.settings import PREFECT_API_URL

    from config.logging import configure_logging
    from config.settings import SettingsError, load_settings
    from triggers.app import create_app
    from triggers.dispatch import PrefectDispatcher
    from triggers.outbox import Outbox, QueuedDispatcher

    api_url = PREFECT_API_URL.value()
    if not api_url:
        print("slett receiver: set PREFECT_API_URL to the Prefect server's API (e.g. http://127.0.0.1:4200/api)")
        return 2
    try:
        settings = load_settings()
        prefect = PrefectDispatcher(api_url, settings.webhook_dispatch_timeout_s, subject_key=settings.subject_key)
        app = create_app(settings, QueuedDispatcher(prefect, Outbox(settings.webhook_outbox),
                                                    settings.webhook_answer_within_s))
    except SettingsError as error:
        print(f"slett receiver: {error}")
        return 2
    configure_logging(settings.log_level, settings.log_format)
    print(f"slett receiver: POST http://{args.host}:{args.port}/webhooks/membership -> {api_url}", flush=True)
    # log_config=None: slett's structlog set-up stays in charge of the output (and of redaction).
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, timeout_graceful_shutdown=5)
    return 0
