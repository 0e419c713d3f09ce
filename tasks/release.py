"""Tasks for a hold's release: find what is due, delete what it kept at the processor, seal the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from prefect import task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from config.holds import Hold, clocks_of, holds_for
from config.policy import Policy
from config.settings import Settings
from connectors.contract import Action, Outcome, Releaser, Status
from connectors.registry import connect
from domain.values import STEP_KEY, Request, SystemPlan
from evidence.ledger import HoldState, NewRecord, open_ledger
from queries.runs import start_release_by_person
from tasks.retry import not_connector_error


@task(name="due-holds", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def due_holds(today: date, settings: Settings, controller: str | None = None,
                    request_id: str | None = None) -> list[HoldState]:
    """Every hold in the ledger due today (on or after its date) that is not released yet."""
    return await (await open_ledger(settings.ledger_url)).due_holds(today, controller, request_id)


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
    kept_until: date | None = None  # newer records of the rule, or the whole hold moved, kept until this day
    detail: str = ""
    records_through: date | None = None  # the release covered the rule's records dated up to this day
    fields: tuple[str, ...] = ()  # the fields the hold kept of its category, which its release erases


def _release_key(_: object, parameters: dict[str, Any]) -> str:
    request: Request = parameters["request"]
    hold: Hold = parameters["hold"]
    step = parameters["plan"].step
    # A day's sweep does each release once; a release that failed is tried afresh by the next day's sweep.
    return (f"{STEP_KEY}{request.request_id}-release-{step}-{hold.retain_until}-{hold.records_through}"
            f"-{parameters['as_of']}")


@task(name="release-in-system", cache_key_fn=_release_key, persist_result=True, retries=1,
      retry_condition_fn=not_connector_error)
async def release_in_system(request: Request, plan: SystemPlan, hold: Hold, as_of: date,
                            settings: Settings) -> Outcome:
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


@task(name="ask-a-person-to-release", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def ask_a_person(state: HoldState, as_of: date) -> str:
    """Start the run in which a person releases a hold at a processor with no API (it waits for their word,
    so the day's sweep does not); the run's id. Asking again for the same hold and date starts nothing new."""
    run = await start_release_by_person(state.controller, state.request_id, state.hold.system, state.hold.rule,
                                        as_of, state.hold.retain_until)
    return str(run.id)


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
async def record_release(release: Release, rows: list[dict[str, Any]], flow_run_id: str,
                         settings: Settings) -> int:
    """Seal a hold's release (and the hold rows it writes: released, failed, review or a new date) into the
    ledger; returns the record's place in the controller's chain."""
    evidence = {name: value for name, value in release.__dict__.items()}
    stored = await (await open_ledger(settings.ledger_url)).seal(NewRecord(
        rows[0]["controller"], "release", release.request_id, flow_run_id, evidence, tuple(rows)))
    return stored.sealed.sequence


@task(name="show-sweep", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def show_sweep(today: date, releases: list[Release]) -> str:
    """Show the sweep's outcome on its run: one row per hold it took, dates and statuses only."""
    key = f"release-holds-{today.isoformat()}"
    rows = [{name: "" if value is None else ("yes" if value is True else "no" if value is False else
                                            ", ".join(value) if isinstance(value, tuple) else str(value))
             for name, value in release.__dict__.items()} for release in releases]
    failed = sum(1 for release in releases if release.status == "failed")
    await acreate_table_artifact(key=key, table=rows, description=(
        f"release-holds as of {today}: {len(releases)} due hold(s), {failed} failed. The ledger keeps the record."))
    return key
