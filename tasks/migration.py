"""Moving what slett wrote before the ledger into it: sealed evidence artifacts and scheduled release runs.

Before the ledger, a request's evidence was a chain record in its `evidence-<request>` artifact (a further
version for a deadline extension), each hold a `release-holds` run scheduled for the day after its date, and
each release a row in a `release-<request>--<system>-<rule>` table artifact. `import_request` seals each old
record into the ledger as an `import` record that keeps the old record whole (its digest still checkable),
writes the request's holds (open while a release run was scheduled for them), and cancels the scheduled
runs it replaced. It is idempotent: an old record already imported is not sealed again.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from prefect import get_client, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import PrefectClient
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.states import Cancelled

from config.deployments import RELEASE_HOLDS, request_tag
from config.holds import Hold
from config.settings import Settings
from domain.values import OSLO, artifact_key
from evidence.chain import Sealed
from evidence.documents import unfenced
from evidence.ledger import HELD, RELEASED, Ledger, NewRecord, hold_row, open_ledger
from queries.history import artifact_versions, flow_runs, runs_of_request

REPLACED = "replaced by the ledger: the daily release-holds sweep releases this hold on its date"
DONE_STATUSES = {"erased", "anonymised", "already_absent", "confirmed"}


def old_hold(document: dict[str, Any]) -> Hold:
    """A hold as the old evidence stored it (plain JSON), as a Hold again."""
    names = {f.name for f in fields(Hold)}
    values = {k: v for k, v in document.items() if k in names}
    values["categories"] = tuple(values.get("categories", ()))
    values["retain_until"] = date.fromisoformat(values["retain_until"])
    if values.get("records_through"):
        values["records_through"] = date.fromisoformat(values["records_through"])
    if "fields" in values:
        values["fields"] = tuple(values["fields"])
    return Hold(**values)


def hold_date(run: FlowRun) -> date | None:
    """The hold's last day as an old release run was scheduled for it: the day before it starts."""
    start = run.expected_start_time or run.next_scheduled_start_time
    return start.astimezone(OSLO).date() - timedelta(days=1) if start else None


def import_holds(request_id: str, controller: str, member_id: str, held: list[Hold], scheduled: list[FlowRun],
                 released: list[dict[str, str]], run_id: str | None, as_of: date) -> list[dict[str, Any]]:
    """The ledger rows of a request's old holds: open where a release run is scheduled for it (at that run's
    date, which a re-hold may have moved), released where a release row says so, else open (never lost).
    A hold kept while something is owed (a claim) is looked at by the next sweep, as of `as_of`."""
    rows = []
    runs = {(str(r.parameters.get("system")), str(r.parameters.get("rule")), hold_date(r)): r for r in scheduled}
    # The old code released a claim only at its limitation; a claim now ends once paid, so the sweep looks
    # again at once (it re-checks at the processor and, if still owed, sets the rule's next check day).
    held = [replace(h, check_on=as_of) if h.until_settled and h.check_on is None else h for h in held]
    for hold in held:
        run = runs.pop((hold.system, hold.rule, hold.retain_until), None)
        done = any(row.get("system") == hold.system and row.get("rule") == hold.rule
                   and row.get("status") in DONE_STATUSES and row.get("retain_until") == hold.retain_until.isoformat()
                   for row in released)
        status, detail = (RELEASED, "released before the ledger") if done and run is None else (HELD, "imported")
        rows.append(hold_row(hold, request_id, controller, member_id, status, run_id, detail))
    for (system, rule, day), _ in runs.items():
        # A run moved to a later day (a newer entry came): the rule's newest hold, until that day.
        same = [h for h in held if h.system == system and h.rule == rule]
        if same and day is not None:
            moved = replace(same[-1], retain_until=day)
            rows.append(hold_row(moved, request_id, controller, member_id, HELD, run_id, "imported, moved"))
    return rows


async def _old_records(client: PrefectClient, request_id: str) -> list[tuple[Sealed, str | None]]:
    """The request's old sealed records, oldest first, with the flow run that wrote each."""
    key = artifact_key("evidence", request_id)
    found = []
    for artifact in await artifact_versions(client, key):
        record = Sealed.of(unfenced(artifact.data), artifact.created) if artifact.key == key else None
        if record is not None:
            found.append((record, str(artifact.flow_run_id) if artifact.flow_run_id else None))
    return found


async def _released_rows(client: PrefectClient, request_id: str) -> list[dict[str, str]]:
    """Every release row the old release runs left for the request."""
    rows: list[dict[str, str]] = []
    prefix = f"{artifact_key('release', request_id)}--"
    for artifact in await artifact_versions(client, prefix):
        data: Any = artifact.data
        rows += [row for row in (json.loads(data) if isinstance(data, str) else data or [])
                 if row.get("request_id") == request_id]
    return rows


async def _scheduled(client: PrefectClient, request_id: str) -> list[FlowRun]:
    """The old release runs still scheduled for the request."""
    runs = await flow_runs(client, RELEASE_HOLDS, states=[StateType.SCHEDULED], tags=[request_tag(request_id)])
    return [r for r in runs if r.parameters.get("request_id") == request_id]


async def import_into(ledger: Ledger, client: PrefectClient, request_id: str) -> int:
    """Import one request's old records and holds, then cancel its scheduled release runs; records sealed."""
    known = await ledger.records(request_id=request_id)
    # Not imported: an old record imported before, nor a record the ledger sealed (its artifact is only its view).
    imported = {str(r.sealed.body["evidence"].get("imported", {}).get("digest")) for r in known if r.kind == "import"}
    imported |= {r.sealed.digest for r in known}
    scheduled = await _scheduled(client, request_id)
    sealed = 0
    for record, run_id in await _old_records(client, request_id):
        if record.digest in imported:
            continue
        evidence = record.body.get("evidence", {})
        controller = str(record.body.get("controller"))
        rows: list[dict[str, Any]] = []
        if evidence.get("holds"):
            member_id = await _member_id(client, request_id, scheduled)
            rows = import_holds(request_id, controller, member_id, [old_hold(h) for h in evidence["holds"]],
                                scheduled, await _released_rows(client, request_id), run_id,
                                datetime.now(OSLO).date())
        await ledger.seal(NewRecord(controller, "import", request_id, run_id,
                                    {**evidence, "imported": record.document()}, tuple(rows)))
        sealed += 1
    # Only a run whose hold the ledger now has is replaced: a run with no imported hold is left to run.
    held = {(s.hold.system, s.hold.rule) for s in await ledger.hold_states([request_id])}
    for run in scheduled:
        if (run.parameters.get("system"), run.parameters.get("rule")) in held:
            await client.set_flow_run_state(run.id, Cancelled(message=REPLACED), force=True)
    return sealed


async def _member_id(client: PrefectClient, request_id: str, scheduled: list[FlowRun]) -> str:
    """The member's id at the membership system: from a release run, else the request's erasure run."""
    for run in [*scheduled, *await runs_of_request(client, request_id)]:
        if run.parameters.get("member_id"):
            return str(run.parameters["member_id"])
    return ""


@task(name="import-request", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def import_request(request_id: str, settings: Settings) -> int:
    """Import one request's pre-ledger evidence and holds into the ledger (idempotent); records sealed."""
    ledger = await open_ledger(settings.ledger_url)
    async with get_client() as client:
        return await import_into(ledger, client, request_id)


async def import_all(ledger: Ledger, client: PrefectClient) -> dict[str, int]:
    """Import every request that has old evidence or scheduled release runs; counts of requests and records."""
    requests = {a.key.removeprefix("evidence-") for a in await artifact_versions(client, "evidence-") if a.key}
    requests |= {str(r.parameters.get("request_id")) for r in
                 await flow_runs(client, RELEASE_HOLDS, states=[StateType.SCHEDULED]) if r.parameters.get("request_id")}
    # Keys were made from request ids (artifact_key); the record itself names its request.
    found: set[str] = set()
    for key in requests:
        for record, _ in await _old_records(client, key):
            found.add(record.request_id)
    sealed = 0
    for request_id in sorted(found):
        sealed += await import_into(ledger, client, request_id)
    return {"requests": len(found), "records": sealed}
