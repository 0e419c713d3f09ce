"""Tasks for bulk purges: list who is past their limit at a processor, delete them a batch at a time.

Results are counts only: ids are listed inside a task and never persisted, deletions return how many went.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext

from config.policy import PurgeKind
from config.settings import Settings
from connectors.contract import CoursePurger, GuestPage, GuestPurger
from connectors.registry import connect
from domain.values import Kind
from queries.runs import start_erasure
from tasks.retry import not_connector_error


@dataclass(frozen=True)
class Listed:
    """Everyone past the limit at a processor: its ids, and the members' ids where the listing names them."""

    ids: tuple[str, ...]
    members: tuple[str, ...] = ()


def batch_key(rule: str, system: str, as_of: date, ids: tuple[str, ...]) -> str:
    """The idempotency key of one batch: the same guests purged the same day carry the same key."""
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:20]
    return f"slett:purge:{rule}:{system}:{as_of.isoformat()}:{digest}"


@task(name="list-past-limit", cache_policy=NO_CACHE, persist_result=False, retries=1,
      retry_condition_fn=not_connector_error)
async def list_past_limit(kind: PurgeKind, system: str, before: date, settings: Settings) -> Listed:
    """Every guest (or course participant) at the processor whose last visit (course) was before the day."""
    ids: list[str] = []
    members: list[str] = []
    cursor: str | None = None
    async with connect(system, settings) as (connector, _):
        while True:
            page = await _page(connector, kind, before, settings.purge_page_size, cursor)
            ids += page.ids
            members += page.members
            cursor = page.next_cursor
            if not cursor or not page.ids:
                return Listed(tuple(ids), tuple(members))


async def _page(connector: Any, kind: PurgeKind, before: date, limit: int, cursor: str | None) -> GuestPage:
    if kind == "guests":
        guests: GuestPurger = connector
        return await guests.stale_guests(before, limit, cursor)
    courses: CoursePurger = connector
    return await courses.expired_participants(before, limit, cursor)


@task(name="start-course-over-erasures", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def start_course_over_erasures(controller: str, members: tuple[str, ...], as_of: date) -> int:
    """Start an erase-member run (kind course_over) per participant whose course is over; how many. Each run's
    request id is the participant's and the day's, so a rerun of the purge starts none twice."""
    for member_id in members:
        await start_erasure(controller, member_id, Kind.COURSE_OVER.value,
                            f"course-over-{as_of.isoformat()}-{member_id}")
    return len(members)


def _batch_cache_key(context: TaskRunContext, parameters: dict[str, Any]) -> str:
    # Cached within one flow run, so its rerun skips the batches it finished; another run lists afresh
    # and trusts only the processor's idempotency key, never a count remembered from another run.
    return f"{context.task_run.flow_run_id}-" + str(parameters["key"]).replace(":", "-")


@task(name="purge-batch", cache_key_fn=_batch_cache_key, persist_result=True, retries=1,
      retry_condition_fn=not_connector_error)
async def purge_batch(kind: PurgeKind, system: str, ids: tuple[str, ...], key: str, settings: Settings) -> int:
    """Delete one batch at the processor; how many went (a replay of the same key deletes nothing twice)."""
    async with connect(system, settings) as (connector, _):
        if kind == "guests":
            guests: GuestPurger = connector  # type: ignore[assignment]
            outcome = await guests.purge(ids, key)
        else:
            courses: CoursePurger = connector  # type: ignore[assignment]
            outcome = await courses.purge_participants(ids, key)
    return outcome.count
