"""Settings slett gives every Prefect server it starts itself (the demo stack, the test session, the proofs)."""

from __future__ import annotations

# Prefect's task-run recorder writes each task-run event in a transaction of its own by default; on SQLite
# those writes hold the one write lock so often that creating a flow run from inside a task waits about
# 2 s for it, sometimes the whole 60 s busy timeout (measured on Prefect 3.8.8). Batched, they do not.
SQLITE_SERVER_ENV = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}

# A server slett starts itself asks for no CSRF token (Prefect's default); told so, its clients ask for none. Left
# to ask, each new API client fetches /csrf-token before its first write and learns protection is off: about
# two requests per erasure. A server run with CSRF protection on needs both settings on.
NO_CSRF_ENV = {
    "PREFECT_SERVER_CSRF_PROTECTION_ENABLED": "false",
    "PREFECT_CLIENT_CSRF_SUPPORT_ENABLED": "false",
}
