"""Guest purges and expired course participants: paged listings, bulk deletes, batch caps and rate limits."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from connectors.contract import Action, CoursePurger, GuestPurger, Permanent, Status
from connectors.described import described_connectors
from connectors.described.connector import PurgesCourseParticipants, PurgesGuests
from connectors.exceline import ExcelineConnector
from connectors.eziteq import EziteqConnector
from connectors.http import RetryPolicy, use_transports
from connectors.registry import connect
from sandbox.people import COURSE_ENDED

PURGERS = ("exceline", "ibooking", "fixit", "eziteq")
LIMIT = date(2025, 6, 1)  # six months before a purge on 1 December 2025 (Aktiv365's seed 000)


async def stale(connector, before: date, limit: int = 500) -> list[str]:
    """Every stale guest id, page by page."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await connector.stale_guests(before, limit, cursor)
        ids += page.ids
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


@pytest.mark.parametrize("system", PURGERS)
async def test_guests_past_the_limit_are_listed_and_purged(system, open_connector, sandbox):
    """Every guest whose last visit is before the limit is listed (over several pages) and purged in batches;
    guests seen since are kept."""
    old = sandbox.add_guests(system, 1_200, last_visit=date(2025, 1, 15))[system]
    recent = sandbox.add_guests(system, 300, last_visit=date(2025, 11, 1))[system]
    book = sandbox.guests[system]

    async with open_connector(system) as (connector, _):
        listed = await stale(connector, LIMIT)
        outcomes = [await connector.purge(tuple(listed[n:n + 500]), f"purge:{system}:{n}")
                    for n in range(0, len(listed), 500)]
        left = await stale(connector, LIMIT)

    assert [book.id_of(n) for n in old] == listed
    assert ([500, 500, 200], {Status.ERASED}) == ([o.count for o in outcomes], {o.status for o in outcomes})
    assert ([], len(recent)) == (left, len(book))
    assert all(book.number_of(book.id_of(n)) for n in recent)


@pytest.mark.parametrize("system", PURGERS)
async def test_a_replayed_purge_returns_the_first_answer(system, open_connector, sandbox):
    """A batch sent again with its key gets the same outcome and deletes nothing more."""
    sandbox.add_guests(system, 10, last_visit=date(2025, 1, 15))
    sandbox.add_guests(system, 5, last_visit=date(2025, 1, 15))

    async with open_connector(system) as (connector, _):
        ids = (await connector.stale_guests(LIMIT, 10, None)).ids
        first = await connector.purge(ids, "purge:1")
        again = await connector.purge(ids, "purge:1")

    assert (first, 10) == (again, first.count)
    assert 5 == len(sandbox.guests[system])


@pytest.mark.parametrize("system", PURGERS)
async def test_a_batch_over_the_cap_is_refused(system, open_connector, sandbox):
    """A batch larger than the processor accepts is refused (413), Permanent, and deletes nothing."""
    sandbox.add_guests(system, 30, last_visit=date(2025, 1, 15))
    sandbox.limit(system, per_second=None, max_batch=20)

    async with open_connector(system) as (connector, _):
        ids = (await connector.stale_guests(LIMIT, 30, None)).ids
        with pytest.raises(Permanent, match="HTTP 413"):
            await connector.purge(ids, "purge:big")

    assert 30 == len(sandbox.guests[system])


class Clock:
    """A monotonic clock that moves only when the retry policy sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("system", PURGERS)
async def test_the_rate_limit_is_honoured_by_waiting(system, open_connector, sandbox):
    """Over the processor's rate limit the call gets 429 with Retry-After; the client waits that long, then
    the listing completes."""
    clock = Clock()
    sandbox.add_guests(system, 40, last_visit=date(2025, 1, 15))
    sandbox.limit(system, per_second=2, burst=2)
    sandbox.limits[system].clock = clock

    async with open_connector(system, policy=RetryPolicy(attempts=5, sleep=clock.sleep)) as (connector, _):
        listed = await stale(connector, LIMIT, limit=10)

    assert 40 == len(listed)
    assert sandbox.limits[system].refused >= 1
    assert clock.waits and min(clock.waits) >= 1


async def list_fixit_at_once(sandbox, settings, clients: int) -> list[list[str]]:
    """Fixit's stale guests listed by `clients` clients at once, each opened on its own, 4 a page, no retries."""

    async def list_apart() -> list[str]:
        async with connect("fixit", settings, RetryPolicy(attempts=1)) as (connector, _):
            return await stale(connector, LIMIT, limit=4)

    # One routing for all: use_transports is a test seam, not made for overlapping entries.
    with use_transports(sandbox.transports()):
        return list(await asyncio.gather(*(list_apart() for _ in range(clients))))


async def test_clients_opened_apart_share_the_processors_rate_limit(make_settings, sandbox):
    """Batches in flight each open their own client; at 4 calls a second they share one pace, so a processor
    that allows 5 a second with no burst refuses none of their calls."""
    sandbox.add_guests("fixit", 12, last_visit=date(2025, 1, 15))
    sandbox.limit("fixit", per_second=5, burst=1)
    paced = make_settings(rate_limit_per_s=4.0)

    listed = await list_fixit_at_once(sandbox, paced, clients=3)

    assert [12, 12, 12] == [len(ids) for ids in listed]
    assert 0 == sandbox.limits["fixit"].refused


async def test_a_client_paced_at_the_processors_own_limit_is_refused_nothing_when_requests_jitter(make_settings,
                                                                                                   sandbox):
    """Told the processor's exact limit (2 a second, no burst), the client keeps below it, so requests that
    arrive a few milliseconds early or late are never refused."""
    sandbox.add_guests("fixit", 8, last_visit=date(2025, 1, 15))
    sandbox.limit("fixit", per_second=2, burst=1)
    sandbox.faults["fixit"].configure(latency=(0.0, 0.004))
    paced = make_settings(rate_limit_per_s=2.0)

    listed = await list_fixit_at_once(sandbox, paced, clients=2)

    assert [8, 8] == [len(ids) for ids in listed]
    assert 0 == sandbox.limits["fixit"].refused


async def test_expired_course_participants_are_listed_and_purged(open_connector, sandbox):
    """Vekstly's participants whose course ended are purged with their bookings; one who asked to be kept and
    one whose course still runs stay."""
    async with open_connector("ibooking") as (ibooking, _):
        page = await ibooking.expired_participants(date(2026, 11, 1), 100, None)
        outcome = await ibooking.purge_participants(page.ids, "courses:1")
        again = await ibooking.expired_participants(date(2026, 11, 1), 100, None)

    assert (("71301",), None) == (page.ids, page.next_cursor)
    assert (Status.ERASED, Action.DELETE, 1) == (outcome.status, outcome.action, outcome.count)
    assert () == again.ids
    assert "71301" not in sandbox.ibooking.customers
    assert {"71302", "71303"} <= set(sandbox.ibooking.customers)


async def test_course_participants_page_and_wait_for_the_course_end(open_connector, sandbox):
    """Participants are paged by cursor, and none is listed before their course has ended."""
    added = [sandbox.add_member(chain="vekstly", course_end=COURSE_ENDED) for _ in range(5)]

    async with open_connector("ibooking") as (ibooking, _):
        early = await ibooking.expired_participants(COURSE_ENDED, 100, None)
        first = await ibooking.expired_participants(date(2026, 11, 1), 4, None)
        rest = await ibooking.expired_participants(date(2026, 11, 1), 4, first.next_cursor)

    assert () == early.ids
    expected = ["71301", *(str(70_000 + m.number) for m in added)]
    assert (expected, None) == ([*first.ids, *rest.ids], rest.next_cursor)


async def test_purgers_meet_the_contract(open_connector):
    """Exceline, Ibooking, Fixit and Eziteq are guest purgers and Ibooking a course purger (mypy checks the
    signatures against connectors/contract.py; Ibooking and Fixit are purgers as their descriptions say)."""
    described = described_connectors()
    async with open_connector("ibooking") as (_, client):
        ibooking, fixit = described["ibooking"](client), described["fixit"](client)
        assert isinstance(ibooking, PurgesGuests) and isinstance(fixit, PurgesGuests)
        assert isinstance(ibooking, PurgesCourseParticipants)
        guests: list[GuestPurger] = [ExcelineConnector(client), ibooking, fixit, EziteqConnector(client)]
        courses: CoursePurger = ibooking

    assert set(PURGERS) == {purger.system for purger in guests}  # type: ignore[attr-defined]
    assert "ibooking" == courses.system  # type: ignore[attr-defined]
