"""Serve the deployments from this process: the embedded default, on a local work pool."""

from __future__ import annotations

from workers.in_process import InProcessWorker
from workers.pool import deploy_to_pool
from workers.shutdown import run_until_stopped

LOCAL_POOL = "slett-local"
LOCAL_WORKER = "local"  # the same name at every start: a restarted serve takes back the runs it held


def serve_deployments(limit: int = 10, pool: str = LOCAL_POOL) -> None:
    """Put every deployment of config/deployments.py, with its schedule, on the pool and run their flow runs in this
    process until stopped."""

    async def serve() -> None:
        await deploy_to_pool(pool)
        print(f"slett serve: deployments on work pool {pool}; running their flow runs here, {limit} at once",
              flush=True)
        await InProcessWorker(work_pool_name=pool, name=LOCAL_WORKER, limit=limit).start()

    run_until_stopped(serve())
