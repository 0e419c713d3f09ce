"""Tasks for a hold's release: delete what it kept at the processor, and record the release on the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from prefect import task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from config.holds import Hold
from config.settings import Settings
from connectors.contract import Action, Outcome, Releaser, Status
from connectors.registry import connect
from tasks.erasure import request_key
from tasks.models import Request, SystemPlan, artifact_key
from tasks.retry import not_connector_error


@dataclass(frozen=True)
class Release:
    """How one hold's release ended, for the request's evidence: dates and statuses only."""

    request_id: str
    system: str
    rule: str
    categories: tuple[str, ...]
    basis: str
    retain_until: date | None
    as_of: date
    action: str
    status: str
    verified: bool | None = None
    next_run: str | None = None
    detail: str = ""


@task(name="release-in-system", cache_key_fn=request_key("release", "plan"), persist_result=True,
      retries=1, retry_condition_fn=not_connector_error)
async def release_in_system(request: Request, plan: SystemPlan, hold: Hold, settings: Settings) -> Outcome:
    """Delete, for good, the records of the hold's categories that the processor kept."""
    if not plan.holdings.found:
        return Outcome.already_absent(plan.system, Action.RELEASE)
    async with connect(plan.system, settings) as (connector, client):
        if not hasattr(connector, "release"):
            return Outcome(plan.system, Status.FAILED, Action.RELEASE, verified=False,
                           detail=f"{plan.system} cannot release held records; a person must delete them")
        releaser: Releaser = connector  # type: ignore[assignment]
        outcome = await releaser.release(plan.holdings, hold.categories,
                                         f"slett:{request.request_id}:{plan.step}:release:{hold.rule}")
    return outcome.with_(attempts=client.attempts)


def left_after_release(hold: Hold, found: SystemPlan) -> tuple[str, ...]:
    """The hold's categories a fresh lookup still finds at the processor."""
    return tuple(sorted(set(hold.categories) & found.holdings.categories))


@task(name="record-release", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def record_release(release: Release) -> str:
    """Leave the release on the run as a table artifact keyed by request, system and rule; returns the key."""
    key = artifact_key("release", f"{release.request_id}-{release.system}-{release.rule}")
    row = {name: "" if value is None else ("yes" if value is True else "no" if value is False else
                                          ", ".join(value) if isinstance(value, tuple) else str(value))
           for name, value in release.__dict__.items()}
    until = f", kept until {release.retain_until}" if release.retain_until else ""
    await acreate_table_artifact(key=key, table=[row], description=(
        f"Hold {release.rule} at {release.system} for request {release.request_id}{until}: "
        f"{release.status} on {release.as_of}."))
    return key
