"""Session set-up shared by every test: a private Prefect home and slett's settings for the sandbox."""

from __future__ import annotations

import os
import tempfile

# Before Prefect is imported anywhere: cached task results live under PREFECT_HOME and would
# otherwise leak between sessions.
PREFECT_HOME = tempfile.mkdtemp(prefix="slett-test-prefect-")
from config.server import NO_CSRF_ENV, SQLITE_SERVER_ENV  # noqa: E402 - plain modules: they import no Prefect
from sandbox.people import SYSTEMS  # noqa: E402

os.environ.update({
    "PREFECT_HOME": PREFECT_HOME,
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "slett",
    # slett also logs outside flow runs here (the webhook receiver): nothing to send to the API then.
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "SLETT_SUBJECT_KEY": "test-subject-key-not-a-secret-0123456789",
    "SLETT_LOG_FORMAT": "json",
    # The session's ledger: SQLite beside the session's Prefect database.
    "SLETT_LEDGER_URL": f"sqlite:///{PREFECT_HOME}/ledger.sqlite3",
    **SQLITE_SERVER_ENV,  # the session's test server is on SQLite
    **NO_CSRF_ENV,
})
for _system in SYSTEMS:
    os.environ[f"SLETT_PROCESSORS__{_system.upper()}__BASE_URL"] = f"http://{_system}.sandbox"
    os.environ[f"SLETT_PROCESSORS__{_system.upper()}__API_KEY"] = f"test-key-{_system}"
    os.environ[f"SLETT_PROCESSORS__{_system.upper()}__READ_TIMEOUT"] = "2"
    # Short waits: a test proves the retry, not the patience.
    os.environ[f"SLETT_PROCESSORS__{_system.upper()}__MAX_ATTEMPTS"] = "3"
    os.environ[f"SLETT_PROCESSORS__{_system.upper()}__MAX_DELAY_S"] = "0.2"
os.environ["SLETT_JOB_POLL_INTERVAL_S"] = "0.01"

# One Prefect test server for the session, shared by every folder that needs it.
pytest_plugins = ["tests.prefect_fixtures"]
