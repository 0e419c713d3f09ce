"""Ibooking: a customer found by the member's id, deleted with their bookings."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Action, Permanent, Status


async def test_lookup_finds_customer_and_bookings(open_connector, subject):
    """The member's customer id is found by external id, with bookings."""
    async with open_connector("ibooking") as (ibooking, _):
        holdings = await ibooking.lookup(subject("M1001"))

    assert ("71001",) == holdings.ids
    assert {"profile", "bookings"} == holdings.categories


async def test_delete_round_trip(open_connector, subject, sandbox):
    """Deleting removes the customer and bookings, and the read-back confirms it."""
    async with open_connector("ibooking") as (ibooking, _):
        holdings = await ibooking.lookup(subject("M1001"))
        outcome = await ibooking.erase(holdings, Action.DELETE, "k1")
        check = await ibooking.verify(holdings, Action.DELETE)

    assert (Status.ERASED, 1) == (outcome.status, outcome.count)
    assert (Status.ERASED, True) == (check.status, check.verified)
    assert "71001" not in sandbox.ibooking.customers


async def test_verify_before_delete_fails(open_connector, subject):
    """Read-back of a customer still there is not verified."""
    async with open_connector("ibooking") as (ibooking, _):
        holdings = await ibooking.lookup(subject("M1001"))
        check = await ibooking.verify(holdings, Action.DELETE)

    assert (Status.FAILED, False, 1) == (check.status, check.verified, check.count)


async def test_customer_already_gone_is_already_absent(open_connector, subject, sandbox):
    """A delete that meets a 404 (deleted meanwhile) is already-absent, which is success."""
    async with open_connector("ibooking") as (ibooking, _):
        holdings = await ibooking.lookup(subject("M1001"))
        del sandbox.ibooking.customers["71001"]
        outcome = await ibooking.erase(holdings, Action.DELETE, "k1")

    assert Status.ALREADY_ABSENT == outcome.status


async def test_member_absent_from_ibooking_holds_nothing(open_connector, subject):
    """A member Ibooking never knew has no holdings."""
    async with open_connector("ibooking") as (ibooking, _):
        holdings = await ibooking.lookup(subject("M1004"))

    assert not holdings.found


async def test_anonymise_is_refused(open_connector, subject):
    """Ibooking only deletes; any other action is Permanent."""
    async with open_connector("ibooking") as (ibooking, _):
        holdings = await ibooking.lookup(subject("M1001"))
        with pytest.raises(Permanent, match="anonymise is not offered"):
            await ibooking.erase(holdings, Action.ANONYMISE, "k1")
