"""Settings slett gives every Prefect server it starts itself (the demo stack, the test session, the proofs)."""

from __future__ import annotations

# Prefect's task-run recorder writes each task-run event in a transaction of its own by default; on SQLite
# those writes hold the one write lock so often that creating a flow run from inside a task waits about
# 2 s for it, sometimes the whole 60 s busy timeout (measured on Prefect 3.8.8). Batched, they do not.
SQLITE_SERVER_ENV = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
}
