"""Fixit: an Aktiv365 member's spa customer record and treatments are found and deleted."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Action, Holdings, Permanent, Status, Subject


async def test_lookup_finds_customer_and_treatments(open_connector, subject):
    """The member's spa customer and their treatments are found by member number."""
    async with open_connector("fixit") as (fixit, _):
        holdings = await fixit.lookup(subject("M1201"))

    assert (("81201",), {"profile", "treatments"}) == (holdings.ids, holdings.categories)


async def test_delete_round_trip_removes_customer_and_treatments(open_connector, subject, sandbox):
    """Deleting removes the customer with their treatments, journalled with the key; the read-back verifies."""
    async with open_connector("fixit") as (fixit, _):
        holdings = await fixit.lookup(subject("M1201"))
        outcome = await fixit.erase(holdings, Action.DELETE, "slett:r1:fixit:delete")
        check = await fixit.verify(holdings, Action.DELETE)

    assert (Status.ERASED, 1) == (outcome.status, outcome.count)
    assert (Status.ERASED, True) == (check.status, check.verified)
    assert 81201 not in sandbox.fixit.customers
    assert ["slett:r1:fixit:delete/81201"] == [c.key for c in sandbox.applied_calls("M1201")]


async def test_member_who_never_used_the_spa_holds_nothing(open_connector, subject):
    """M1203 never booked a treatment: nothing is found, and a delete of a gone id is already absent."""
    async with open_connector("fixit") as (fixit, _):
        holdings = await fixit.lookup(subject("M1203"))
        outcome = await fixit.erase(Holdings.of("fixit", ids=["81203"]), Action.DELETE, "k")

    assert (False, Status.ALREADY_ABSENT) == (holdings.found, outcome.status)


async def test_verify_before_deleting_fails(open_connector, subject):
    """Read-back of a customer still there is not verified."""
    async with open_connector("fixit") as (fixit, _):
        check = await fixit.verify(await fixit.lookup(subject("M1201")), Action.DELETE)

    assert (Status.FAILED, False) == (check.status, check.verified)


async def test_only_delete_is_offered(open_connector, sandbox):
    """Fixit offers only delete: anonymise is Permanent before any call."""
    async with open_connector("fixit") as (fixit, client):
        with pytest.raises(Permanent, match="anonymise is not offered"):
            await fixit.erase(Holdings.of("fixit", ids=["81201"]), Action.ANONYMISE, "k")

    assert (0, []) == (client.attempts, sandbox.journal.calls_for("M1201"))


async def test_unknown_member_is_not_found(open_connector):
    """A member number Fixit does not know has no customer."""
    async with open_connector("fixit") as (fixit, _):
        assert not (await fixit.lookup(Subject("aktiv365", "M9999"))).found
