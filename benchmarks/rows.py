"""What one request leaves in Prefect's database: flow runs, task runs, artifacts, log lines, events, scheduled runs."""

from __future__ import annotations

from typing import Any

import httpx

PAGE = 200


async def prefect_rows(api_url: str, requests: int) -> dict[str, Any]:
    """Prefect's rows after `requests` erasures, in total and per request, through its REST API."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        counts = {name: int((await api.post(f"/{name}/count", json={})).json())
                  for name in ("flow_runs", "task_runs", "artifacts")}
        scheduled = {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}}},
                     "deployments": {"name": {"any_": ["release-holds"]}}}
        counts["scheduled_release_runs"] = int((await api.post("/flow_runs/count", json=scheduled)).json())
        logs, offset = 0, 0
        while True:
            page = (await api.post("/logs/filter", json={"limit": PAGE, "offset": offset})).json()
            logs, offset = logs + len(page), offset + len(page)
            if len(page) < PAGE:
                break
        counts["logs"] = logs
        # The events of the last day (the API's default window): what the event persister wrote.
        counts["events"] = int((await api.post("/events/filter", json={"limit": 1})).json()["total"])
    per = {name: round(count / requests, 2) for name, count in counts.items()}
    return {"requests": requests, "total": counts, "per_request": per,
            "scheduled_flow_runs_per_request_for_holds": per["scheduled_release_runs"]}
