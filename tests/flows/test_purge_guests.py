"""purge-guests: one flow run purges many guests in batches per processor, with counts as its only result."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import pytest
from prefect import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentTaskRunId

from tasks.purge import batch_key
from tests.flow_driver import Flows
from tests.flows.conftest import recorded_task_runs

pytestmark = pytest.mark.slow

AS_OF = date(2026, 11, 23)
STALE = date(2026, 4, 30)
RECENT = date(2026, 10, 1)
SPLIT = {"exceline": 3334, "ibooking": 3333, "fixit": 3333}


@pytest.fixture
def flows(deployments: dict[str, UUID]) -> Flows:
    """slett's deployments, driven from the test."""
    return Flows(deployments)


async def test_ten_thousand_guests_are_purged_in_one_flow_run(sandbox, flows):
    """10,000 stale guests across Exceline, Ibooking and Fixit go in ONE flow run: one listing task and one
    task per batch of 500 at each processor, no flow run per guest; recent guests stay; counts only."""
    for system, count in SPLIT.items():
        sandbox.add_guests(system, count, last_visit=STALE)
        sandbox.add_guests(system, 7, last_visit=RECENT)

    run = await flows.start("purge-guests", {"controller": "aktiv365", "as_of": AS_OF.isoformat()})

    counts = await run.result()
    assert {f"aktiv365/guests/{system}": count for system, count in SPLIT.items()} == counts
    assert 10_000 == sum(counts.values())
    assert {system: 7 for system in SPLIT} == {system: len(sandbox.guests[system]) for system in SPLIT}
    tasks = await recorded_task_runs(run.flow_run.id, lambda found: len(found) >= 3 + 7 + 7 + 7)
    async with get_client() as client:
        children = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_task_run_id=FlowRunFilterParentTaskRunId(any_=[t.id for t in tasks])))
    names = [t.name.rsplit("-", 1)[0] for t in tasks]
    assert 3 == names.count("list-past-limit")
    assert 7 + 7 + 7 == names.count("purge-batch")
    assert [] == children


async def test_a_second_purge_the_same_day_deletes_nothing_twice(sandbox, flows):
    """Run again, the purge finds no one past the limit and deletes nothing; the guests it left stay."""
    sandbox.add_guests(("exceline", "fixit"), 600, last_visit=STALE)
    first = await flows.start("purge-guests", {"controller": "aktiv365", "as_of": AS_OF.isoformat()})
    assert 1200 == sum((await first.result()).values())

    again = await flows.start("purge-guests", {"controller": "aktiv365", "as_of": AS_OF.isoformat()})

    assert 0 == sum((await again.result()).values())
    assert 0 == len(sandbox.guests["exceline"]) == len(sandbox.guests["fixit"])


def test_a_batch_key_names_the_batch_and_the_day():
    """The same guests on the same day carry the same idempotency key; another day or batch, another key."""
    ids = ("G1", "G2")

    assert batch_key("aktiv365-guests", "exceline", AS_OF, ids) == batch_key("aktiv365-guests", "exceline", AS_OF, ids)
    assert batch_key("aktiv365-guests", "exceline", AS_OF, ids) != batch_key("aktiv365-guests", "exceline",
                                                                             date(2026, 11, 24), ids)
    assert batch_key("aktiv365-guests", "exceline", AS_OF, ids) != batch_key("aktiv365-guests", "exceline", AS_OF,
                                                                             ("G1", "G3"))



async def test_a_guest_under_a_legal_hold_is_left_by_the_purge_until_the_hold_is_lifted(sandbox, flows):
    """A guest a person put under a legal hold (a case about a visit) stays at that processor through the purge;
    once the hold is lifted the next purge takes the guest like any other."""
    import asyncio

    from cli.main import main
    from domain.values import OSLO

    today = datetime.now(OSLO).date()  # a legal hold lasts until the day it is lifted: today
    numbers = sandbox.add_guests("exceline", 3, last_visit=STALE)["exceline"]
    held = sandbox.guests["exceline"].id_of(numbers[1])
    where = ["aktiv365", held, "--system", "exceline", "--category", "profile", "--by", "Kari Drift"]
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--reason", "Skade under prøvetime, sak 7"])

    first = await flows.start("purge-guests", {"controller": "aktiv365", "as_of": today.isoformat()})

    assert (2, 1, numbers[1]) == ((await first.result())["aktiv365/guests/exceline"], len(sandbox.guests["exceline"]),
                                  sandbox.guests["exceline"].number_of(held))
    assert 0 == await asyncio.to_thread(main, ["hold", *where, "--lift"])
    after = await flows.start("purge-guests", {"controller": "aktiv365", "as_of": today.isoformat()})
    assert (1, 0) == ((await after.result())["aktiv365/guests/exceline"], len(sandbox.guests["exceline"]))
