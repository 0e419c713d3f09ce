"""Tasks for a hold's release: delete what it kept at the processor, and record the release on the request."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from prefect import task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import PrefectClient

from config.holds import Hold, holds_for
from config.policy import Policy
from config.settings import Settings
from connectors.contract import Action, Outcome, Releaser, Status
from connectors.registry import connect
from domain.values import STEP_KEY, Request, SystemPlan, artifact_key
from queries.history import artifact_versions
from tasks.holds import clocks_of
from tasks.retry import not_connector_error


def release_artifact_prefix(request_id: str) -> str:
    """Where every release of a request's holds is recorded: its artifacts' keys start with this."""
    return f"{artifact_key('release', request_id)}--"


def release_artifact_key(request_id: str, hold_key: str) -> str:
    """The artifact a request's hold (its processor and rule) records each release run in, as a new version."""
    return release_artifact_prefix(request_id) + re.sub(r"[^a-z0-9-]+", "-", hold_key.lower()).strip("-")


async def read_releases(client: PrefectClient, request_id: str) -> list[dict[str, str]]:
    """Every release row recorded for a request's holds, oldest first: the rest of the request's evidence."""
    rows = []
    for artifact in await artifact_versions(client, release_artifact_prefix(request_id)):
        data: Any = artifact.data
        rows += [row for row in (json.loads(data) if isinstance(data, str) else data or [])
                 if row.get("request_id") == request_id]
    return rows


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
    records_through: date | None = None  # the release covered the rule's records dated up to this day


def _release_key(_: object, parameters: dict[str, Any]) -> str:
    request: Request = parameters["request"]
    hold: Hold = parameters["hold"]
    step = parameters["plan"].step
    return f"{STEP_KEY}{request.request_id}-release-{step}-{hold.retain_until}-{hold.records_through}"


@task(name="release-in-system", cache_key_fn=_release_key, persist_result=True, retries=1,
      retry_condition_fn=not_connector_error)
async def release_in_system(request: Request, plan: SystemPlan, hold: Hold, settings: Settings) -> Outcome:
    """Delete, for good, the records the hold kept: its categories, dated up to the hold's newest record."""
    if not plan.holdings.found:
        return Outcome.already_absent(plan.system, Action.RELEASE)
    async with connect(plan.system, settings) as (connector, client):
        if not hasattr(connector, "release"):
            return Outcome(plan.system, Status.FAILED, Action.RELEASE, verified=False,
                           detail=f"{plan.system} cannot release held records; a person must delete them")
        releaser: Releaser = connector  # type: ignore[assignment]
        # Each date's release is its own destructive call: a later one must not replay an earlier answer.
        through = f":{hold.records_through}" if hold.records_through else ""
        outcome = await releaser.release(plan.holdings, hold.categories,
                                         f"slett:{request.request_id}:{plan.step}:release:{hold.rule}{through}",
                                         hold.records_through)
    return outcome.with_(attempts=client.attempts)


def left_after_release(hold: Hold, policy: Policy, found: SystemPlan) -> tuple[str, ...]:
    """The hold's categories a fresh lookup still finds among the records the release was to delete."""
    left = tuple(sorted(set(hold.categories) & found.holdings.categories))
    if hold.records_through is None:
        return left
    # Newer records of the rule stay, held until their own dates: only those dated up to the release count.
    older = [h for h in holds_for(policy, found.step, clocks_of(found.holdings.facts)) if h.rule == hold.rule
             and h.records_through is not None and h.records_through <= hold.records_through]
    return left if older else ()


@task(name="record-release", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def record_release(release: Release) -> str:
    """Add the release to the request's evidence: a new version of the hold's release artifact; returns its key."""
    key = release_artifact_key(release.request_id, f"{release.system}-{release.rule}")
    row = {name: "" if value is None else ("yes" if value is True else "no" if value is False else
                                          ", ".join(value) if isinstance(value, tuple) else str(value))
           for name, value in release.__dict__.items()}
    until = f", kept until {release.retain_until}" if release.retain_until else ""
    await acreate_table_artifact(key=key, table=[row], description=(
        f"Hold {release.rule} at {release.system} for request {release.request_id}{until}: "
        f"{release.status} on {release.as_of}. Part of the evidence {artifact_key('erasure', release.request_id)}."))
    return key
