"""The flows behind config/deployments.py, and prefect.yaml written from it.

    python -m flows.catalog > prefect.yaml       # after a change to config/deployments.py
"""

from __future__ import annotations

import importlib
import sys

import yaml
from prefect import Flow

from config.deployments import DEPLOYMENTS, POOL, QUEUES, TAG, TIMEZONE

NL = "\n"
HEADER = f"""\
# slett's deployments for a process work pool (production), written by `python -m flows.catalog` from
# config/deployments.py: change them there, then write this file again (a test fails while they differ).
# `make demo` puts the same deployments on a local pool and runs them in one process (cli/serve.py).
#   prefect work-pool create {POOL} --type process
{"".join(f"#   prefect work-queue create {q} --pool {POOL} --priority {p}{NL}" for q, p in QUEUES.items())}\
#   prefect deploy --all
#   slett worker --pool {POOL} --name <its own name> --limit 16
#       (one or more, on one or more machines, each under a supervisor that starts it again; it runs its
#       flow runs in its own process. `prefect worker start --pool {POOL}` also serves the pool, one
#       process per flow run.)
# Secrets never go here: workers read SLETT_* from their environment or a secrets directory.
"""


def load(name: str) -> Flow[..., object]:
    """The flow behind a deployment name."""
    module, function = DEPLOYMENTS[name].entrypoint.split(":")
    flow: Flow[..., object] = getattr(importlib.import_module(module), function)
    return flow


def prefect_yaml() -> str:
    """prefect.yaml for the deployments of config/deployments.py."""
    import prefect

    blocks = []
    for d in DEPLOYMENTS.values():
        entry: dict[str, object] = {"name": d.name, "description": d.description, "entrypoint": d.path,
                                    "tags": [TAG, *d.tags], "work_pool": {"name": POOL, "work_queue_name": d.queue}}
        if d.interval_s is not None:
            entry["schedules"] = [{"interval": d.interval_s}]
        if d.cron is not None:
            entry["schedules"] = [{"cron": d.cron, "timezone": TIMEZONE}]
        lines = [f"# {d.name}: {d.why}", *yaml.safe_dump([entry], sort_keys=False, width=120).splitlines()]
        blocks.append("\n".join(f"  {line}" for line in lines))
    head = yaml.safe_dump({"name": "slett", "prefect-version": prefect.__version__, "pull": [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $SLETT_PROJECT_DIR }}"}}]},
        sort_keys=False)
    return f"{HEADER}{head}\ndeployments:\n" + "\n\n".join(blocks) + "\n"


if __name__ == "__main__":
    sys.stdout.write(prefect_yaml())
