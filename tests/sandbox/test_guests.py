"""Guests in the sandbox: seeded in bulk and compactly, listed by last visit, deleted in capped batches."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date

import pytest

from sandbox.guests import Guests
from sandbox.world import Sandbox

OLD, NEW, LIMIT = date(2025, 1, 15), date(2025, 11, 1), date(2025, 6, 1)


def test_add_guests_to_all_systems_with_guests():
    """add_guests("all", n) gives every processor that has guests n more; a list names some of them."""
    sandbox = Sandbox()

    added = sandbox.add_guests("all", 1_000, last_visit=OLD)
    sandbox.add_guests(["exceline", "fixit"], 10, last_visit=NEW)

    assert {"exceline", "ibooking", "fixit", "eziteq"} == set(added)
    assert {"exceline": 1_010, "ibooking": 1_000, "fixit": 1_010, "eziteq": 1_000} == {
        system: len(guests) for system, guests in sandbox.guests.items()}


def test_guests_cost_four_bytes_each():
    """A guest is a position and a day: 100,000 guests fit in 400 kB, their details derived on read."""
    guests = Guests(prefix="G", first=1)

    numbers = guests.add(100_000, OLD)

    assert 400_000 == guests.size_bytes
    assert {"firstName", "lastName", "email", "phone", "lastVisit"} == set(guests.record(numbers[-1]))
    assert guests.record(1) != guests.record(2)


def test_unknown_system_is_refused():
    """add_guests names the systems that have guests when given another."""
    with pytest.raises(ValueError, match="known here"):
        Sandbox().add_guests("mailchimp", 1, last_visit=OLD)


def test_stale_pages_skip_fresh_and_deleted_guests():
    """Listing returns only guests last seen before the date, page by page, skipping deleted ones."""
    guests = Guests(prefix="G", first=1)
    guests.add(3, OLD)
    guests.add(2, NEW)
    guests.add(3, OLD)
    guests.delete(["G2"])

    first, cursor = guests.stale(LIMIT, 3)
    rest, end = guests.stale(LIMIT, 3, cursor)

    assert ([1, 3, 6], "G6", [7, 8], None) == (first, cursor, rest, end)


def test_delete_reports_what_was_not_there():
    """Deleting names the ids that were unknown or already gone, and counts the rest."""
    guests = Guests(prefix="G", first=1)
    guests.add(2, OLD)

    assert (1, ["G9", "x"]) == guests.delete(["G1", "G9", "x"])
    assert (0, ["G1"]) == guests.delete(["G1"])
    assert 1 == len(guests)


async def test_bulk_delete_over_the_cap_is_413(sandbox, client):
    """A bulk delete naming more ids than the processor's cap is refused with 413, deleting nothing."""
    [numbers] = sandbox.add_guests("exceline", 600, last_visit=OLD).values()
    ids = [sandbox.guests["exceline"].id_of(n) for n in numbers][:501]

    async with client("exceline") as exceline:
        refused = await exceline.post("/api/v1/guests/bulk-delete", json={"guestIds": ids})
        accepted = await exceline.post("/api/v1/guests/bulk-delete", json={"guestIds": ids[:500]})

    assert (413, 200) == (refused.status_code, accepted.status_code)
    assert 100 == len(sandbox.guests["exceline"])


@pytest.mark.parametrize(("system", "path", "body"), [
    ("exceline", "/api/v1/guests/bulk-delete", "guestIds"), ("ibooking", "/guests/bulk-delete", "ids"),
    ("fixit", "/api/guests/bulk-delete", "CustomerIds"), ("eziteq", "/api/v3/guests/bulk-delete", "guest_nos")])
async def test_bulk_delete_replays_its_first_answer(system, path, body, sandbox, client):
    """The same Idempotency-Key gets the same answer, even after the guests are gone."""
    [numbers] = sandbox.add_guests(system, 3, last_visit=OLD).values()
    ids = [sandbox.guests[system].id_of(n) for n in numbers]
    if system == "fixit":
        ids = [int(i) for i in ids]

    async with client(system) as api:
        first = await api.post(path, json={body: ids}, headers={"Idempotency-Key": "p1"})
        again = await api.post(path, json={body: ids}, headers={"Idempotency-Key": "p1"})
        fresh = await api.post(path, json={body: ids}, headers={"Idempotency-Key": "p2"})

    assert (200, first.json()) == (again.status_code, again.json())
    assert first.json() != fresh.json()
    assert 0 == len(sandbox.guests[system])


@pytest.mark.parametrize(("system", "path"), [
    ("exceline", "/api/v1/guests?limit=5"), ("ibooking", "/guests?pageSize=5"), ("fixit", "/api/guests?take=5"),
    ("eziteq", "/api/v3/guests?page_size=5")])
async def test_listing_without_a_date_is_400(system, path, client):
    """A guest listing must say which last visit it wants guests before."""
    async with client(system) as api:
        assert 400 == (await api.get(path)).status_code


async def test_guest_details_until_deleted(sandbox, client):
    """A guest can be fetched with derived details until deleted; then 404."""
    [numbers] = sandbox.add_guests("ibooking", 1, last_visit=OLD).values()
    guest_id = sandbox.guests["ibooking"].id_of(numbers[0])

    async with client("ibooking") as ibooking:
        before = await ibooking.get(f"/guests/{guest_id}")
        await ibooking.post("/guests/bulk-delete", json={"ids": [guest_id]})
        after = await ibooking.get(f"/guests/{guest_id}")

    assert (200, OLD.isoformat(), 404) == (before.status_code, before.json()["lastVisit"], after.status_code)


def test_reset_forgets_guests_and_caps():
    """reset() removes every guest and puts the batch caps back."""
    sandbox = Sandbox()
    sandbox.add_guests("all", 5, last_visit=OLD)
    sandbox.limit("all", per_second=None, max_batch=3)

    sandbox.reset()

    assert {0} == {len(guests) for guests in sandbox.guests.values()}
    assert {500} == {guests.max_batch for guests in sandbox.guests.values()}
