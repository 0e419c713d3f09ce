"""The baseline for bulk_purge: the same HTTP work as purge-guests, by a plain asyncio + httpx script.

Per processor: list every guest past the date a page at a time, then delete them in batches, a few
batches in flight, requests spaced to the processor's rate limit (as slett's client spaces them), a
429 waited out for its Retry-After. No Prefect, no slett code: what the rate limits allow, done plainly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx


@dataclass(frozen=True)
class GuestApi:
    """One processor's guest endpoints, in its own dialect."""

    listing: str
    page_param: str
    cursor_param: str
    items: str
    id_field: str
    next_field: str
    delete: str
    ids_field: str
    deleted_field: str
    as_id: Callable[[str], Any] = str


APIS = {
    "exceline": GuestApi("/api/v1/guests", "limit", "after", "guests", "guestId", "nextCursor",
                         "/api/v1/guests/bulk-delete", "guestIds", "deleted"),
    "ibooking": GuestApi("/guests", "pageSize", "cursor", "items", "id", "nextCursor",
                         "/guests/bulk-delete", "ids", "deleted"),
    "fixit": GuestApi("/api/guests", "take", "after", "Guests", "CustomerId", "NextAfter",
                      "/api/guests/bulk-delete", "CustomerIds", "Deleted", lambda i: int(i) if i.isdigit() else i),
}


class Pace:
    """Requests evenly spaced at `per_second`."""

    def __init__(self, per_second: float) -> None:
        self._interval, self._next, self._lock = 1.0 / per_second, 0.0, asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next request may go."""
        async with self._lock:
            now = time.monotonic()
            delay, self._next = self._next - now, max(now, self._next) + self._interval
        if delay > 0:
            await asyncio.sleep(delay)


async def _send(client: httpx.AsyncClient, pace: Pace, counts: dict[str, int], method: str, path: str,
                **kwargs: Any) -> Any:
    while True:
        await pace.wait()
        counts["requests"] += 1
        answer = await client.request(method, path, **kwargs)
        if answer.status_code == 429:
            counts["throttled"] += 1
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
            continue
        answer.raise_for_status()
        return answer.json()


async def purge_one(url: str, api: GuestApi, before: date, per_second: float, page: int, batch: int,
                    in_flight: int) -> dict[str, int]:
    """List and delete one processor's stale guests; how many went and how many requests it took."""
    counts = {"requests": 0, "throttled": 0, "deleted": 0}
    pace = Pace(per_second)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer baseline"}, timeout=30) as client:
        ids: list[Any] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"lastVisitBefore": before.isoformat(), api.page_param: page}
            if cursor:
                params[api.cursor_param] = cursor
            found = await _send(client, pace, counts, "GET", api.listing, params=params)
            ids += [api.as_id(str(item[api.id_field])) for item in found[api.items]]
            cursor = found[api.next_field]
            if not cursor or not found[api.items]:
                break
        gate = asyncio.Semaphore(in_flight)

        async def delete(chunk: list[Any]) -> None:
            async with gate:
                answer = await _send(client, pace, counts, "POST", api.delete, json={api.ids_field: chunk},
                                     headers={"Idempotency-Key": f"baseline-{chunk[0]}-{len(chunk)}"})
                counts["deleted"] += int(answer[api.deleted_field])

        await asyncio.gather(*(delete(ids[i:i + batch]) for i in range(0, len(ids), batch)))
    return counts


async def purge_all(urls: dict[str, str], before: date, per_second: float, page: int, batch: int,
                    in_flight: int) -> dict[str, Any]:
    """Every processor at once; the wall time and each one's counts."""
    started = time.monotonic()
    systems = sorted(urls)
    counts = await asyncio.gather(*(purge_one(urls[s], APIS[s], before, per_second, page, batch, in_flight)
                                    for s in systems))
    return {"wall_s": round(time.monotonic() - started, 2), "per_processor": dict(zip(systems, counts, strict=True))}
