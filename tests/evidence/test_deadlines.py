"""Deadlines (GDPR Art. 12(3)): on the run from the start, extended with a reason, checked daily."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest
from prefect import get_client
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.states import Cancelled

from config.dates import gdpr_deadline
from config.settings import load_settings
from connectors.http import use_transports
from domain.values import Kind, artifact_key
from evidence.register import entry_of
from flows.deadline_check import deadline_check
from queries.history import latest_document
from sandbox.world import Sandbox
from tasks.deadlines import (
    ExtensionRefused,
    deadline_flag,
    deadline_tags,
    plan_extension,
    request_document,
    request_markdown,
)
from tasks.erasure import open_request
from tests.evidence.conftest import create
from tests.evidence.test_register import slett
from tests.flows.conftest import execute


def test_extension_adds_two_months_and_keeps_the_reason():
    """An extension moves the deadline to three months after receipt and records why and by whom."""
    extension = plan_extension("r1", date(2026, 1, 31), " many systems ", "dpo", today=date(2026, 2, 20))

    assert (date(2026, 2, 28), date(2026, 4, 30)) == (extension.original_deadline, extension.deadline)
    assert ("many systems", "dpo") == (extension.reason, extension.recorded_by)


@pytest.mark.parametrize(("today", "reason", "twice", "refusal"), [
    (date(2026, 3, 1), "late", False, "has passed"),
    (date(2026, 2, 1), "  ", False, "needs its reason"),
    (date(2026, 2, 1), "again", True, "already extended"),
])
def test_extension_is_refused_when_the_law_does_not_allow_it(today, reason, twice, refusal):
    """No extension after the one-month deadline, without a reason, or a second time."""
    already = plan_extension("r1", date(2026, 1, 31), "first", "dpo", today=date(2026, 2, 1)) if twice else None

    with pytest.raises(ExtensionRefused, match=refusal):
        plan_extension("r1", date(2026, 1, 31), reason, "dpo", today=today, already=already)


@pytest.mark.parametrize(("days_left", "flag"), [(8, None), (7, "due-soon"), (0, "due-soon"), (-1, "overdue")])
def test_deadline_flag_marks_seven_days_ahead_and_past(days_left, flag):
    """Within seven days of the deadline a request is due soon; the day after it, overdue."""
    deadline = date(2026, 6, 15)

    assert flag == deadline_flag(deadline, date.fromordinal(deadline.toordinal() - days_left))


def test_deadline_tags_replace_only_their_own():
    """Setting the deadline tags keeps every other tag and replaces the old date and flag."""
    tags = ["slett", "member:demo:M1", "deadline:2026-01-01", "deadline-due-soon"]

    assert ["slett", "member:demo:M1", "deadline:2026-03-01", "deadline-extended", "deadline-overdue"] == \
        deadline_tags(tags, date(2026, 3, 1), "overdue", extended=True)


@pytest.mark.slow
async def test_deadline_is_on_the_run_from_the_start(scenario):
    """A request's run carries its deadline as a tag and a request artifact from its first step, also while
    it waits; an extended one carries the new date."""
    async with get_client() as client:
        done = await client.read_flow_run(scenario.done.flow_run.id)
        waiting = await client.read_flow_run(scenario.settlement.flow_run.id)
        document = await latest_document(client, artifact_key("request", scenario.ids["done"]))
    assert document is not None

    deadline = gdpr_deadline(scenario.started.date())
    assert f"deadline:{deadline}" in done.tags
    assert {f"deadline:{scenario.extension.deadline}", "deadline-extended"} <= set(waiting.tags)
    assert (deadline.isoformat(), "erasure") == (document["deadline"], document["kind"])
    assert "member_id" not in document


@pytest.mark.slow
async def test_extend_command_refuses_a_second_extension_and_unknown_requests(scenario, capsys):
    """`slett extend` refuses to extend twice (Art. 12(3) allows one) and names a request it cannot find."""
    assert 1 == await slett("extend", scenario.ids["settlement"], "--reason", "again")
    assert 1 == await slett("extend", "no-such-request", "--reason", "why")

    out = capsys.readouterr().out
    assert "already extended" in out and "no erase-member run for request no-such-request" in out


@pytest.mark.slow
async def test_extend_command_records_the_extension(deployments, capsys):
    """`slett extend` on an open request records the new deadline and reason on its run."""
    request_id = f"ev-extend-{uuid4().hex[:8]}"
    queued = await create(deployments["erase-member"], "M1001", request_id)

    assert 0 == await slett("extend", request_id, "--reason", "the supplier needs more time", "--by", "test dpo")

    async with get_client() as client:
        document = await latest_document(client, artifact_key("extension", request_id))
        run = await client.read_flow_run(queued.id)
        await client.set_flow_run_state(queued.id, Cancelled(), force=True)
    assert document is not None
    assert ("the supplier needs more time", "test dpo") == (document["reason"], document["recorded_by"])
    assert f"deadline:{document['deadline']}" in run.tags
    assert f"-> {document['deadline']}" in capsys.readouterr().out


async def events_named(name: str, run_ids: set[str], timeout_s: float = 30) -> set[str]:
    """The flow runs that events of this name were emitted for, waiting for the server to store them."""
    wanted = {f"prefect.flow-run.{run_id}" for run_id in run_ids}
    found: set[str] = set()
    deadline = time.monotonic() + timeout_s
    async with get_client() as client:
        while found != wanted and time.monotonic() < deadline:
            page = await client.read_events(EventFilter(
                event=EventNameFilter(name=[name]), resource=EventResourceFilter(id=sorted(wanted))), limit=50)
            found = {event.resource.id for event in page.events}
            await asyncio.sleep(0.5)
    return {resource.removeprefix("prefect.flow-run.") for resource in found}


@pytest.mark.slow
async def test_daily_check_marks_and_announces_requests_past_their_deadline(scenario):
    """Checked on the day after the one-month deadline, the open requests are tagged overdue and an event
    is emitted for each; the finished one and the extended one are not marked."""
    day_after = date.fromordinal(scenario.deadline.toordinal() + 1)

    counts = await deadline_check(today=day_after)

    overdue = {str(scenario.failed.flow_run.id), str(scenario.person)}
    async with get_client() as client:
        tags = {name: set((await client.read_flow_run(run_id)).tags) for name, run_id in (
            ("done", scenario.done.flow_run.id), ("settlement", scenario.settlement.flow_run.id),
            ("failed", scenario.failed.flow_run.id), ("person", scenario.person))}
    assert counts["overdue"] >= len(overdue)
    assert "deadline-overdue" in tags["failed"] and "deadline-overdue" in tags["person"]
    assert not {"deadline-overdue", "deadline-due-soon"} & (tags["done"] | tags["settlement"])
    assert overdue == await events_named("slett.request.deadline-overdue", overdue)


@pytest.mark.slow
async def test_daily_check_warns_a_week_before_an_extended_deadline(scenario):
    """Three days before the extended deadline, the extended request is due soon and announced."""
    three_days_before = date.fromordinal(scenario.extension.deadline.toordinal() - 3)

    await deadline_check(today=three_days_before)

    run_id = str(scenario.settlement.flow_run.id)
    async with get_client() as client:
        tags = set((await client.read_flow_run(scenario.settlement.flow_run.id)).tags)
    assert "deadline-due-soon" in tags
    assert {run_id} == await events_named("slett.request.deadline-due-soon", {run_id})


async def test_request_is_received_when_given_and_due_a_month_later():
    """A request received late on 31 January is received that day and due 28 February, whenever it is opened."""
    received = datetime(2026, 1, 31, 22, 15, tzinfo=UTC)

    request = await open_request.fn("demo", "M1001", Kind.ERASURE, "r-jan", load_settings(), received=received)

    assert (received, date(2026, 2, 28)) == (request.received, request.deadline)


@pytest.mark.parametrize(("controller", "received", "deadline", "days"), [
    ("aktiv365", datetime(2026, 4, 1, 9, 0, tzinfo=UTC), date(2026, 4, 8), "2 working days"),
    ("vekstly", datetime(2026, 5, 15, 9, 0, tzinfo=UTC), date(2026, 6, 5), "14 working days")])
async def test_a_chains_own_promise_sets_an_earlier_deadline_with_its_reason(controller, received, deadline, days):
    """Aktiv365 promises an answer within 2 working days and Vekstly within 14 (Easter and Whitsun not
    counted): that day is the deadline, and the request artifact and the register say why."""
    request = await open_request.fn(controller, "M1", Kind.ERASURE, f"r-{controller}", load_settings(),
                                    received=received)
    run = FlowRun(flow_id=uuid4(), state=State(type=StateType.RUNNING), created=received,
                  parameters={"controller": controller, "request_id": request.request_id})

    entry = entry_of([run], {artifact_key("request", request.request_id): request_document(request)}, {})

    assert (deadline, deadline) == (request.deadline, entry.deadline)
    assert days in request.deadline_reason and request.deadline_reason in request_markdown(request)
    assert request.deadline_reason == entry.deadline_basis


async def set_created(run_id: UUID, created: datetime) -> None:
    """Move a run's creation time back in the test server's database, as if it had been created then."""
    from prefect.server.database import provide_database_interface
    from sqlalchemy import update

    db = provide_database_interface()
    async with db.session_context(begin_transaction=True) as session:
        await session.execute(update(db.FlowRun).where(db.FlowRun.id == run_id).values(created=created))


@pytest.mark.slow
async def test_a_run_created_earlier_but_started_later_keeps_the_day_it_was_created(deployments):
    """A request's run created on 31 January and started today is received on 31 January (its run's creation)
    and due 28 February, not a month from today."""
    created = datetime(2026, 1, 31, 22, 15, tzinfo=UTC)
    request_id = f"ev-created-{uuid4().hex[:8]}"
    queued = await create(deployments["erase-member"], "M1001", request_id)
    await set_created(queued.id, created)
    async with get_client() as client:
        flow_run = await client.read_flow_run(queued.id)

    with use_transports(Sandbox().transports()):
        await execute(flow_run)

    async with get_client() as client:
        document = await latest_document(client, artifact_key("request", request_id))
    assert document is not None
    assert (created.isoformat(), "2026-02-28") == (document["received"], document["deadline"])
