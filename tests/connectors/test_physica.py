"""Physica: a physiotherapy journal is restricted, never deleted."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Action, Permanent, Status
from sandbox.people import JOURNAL_LAST_ENTRY


async def test_lookup_reports_last_journal_entry(open_connector, subject):
    """A patient's journal is found with the date of its last entry."""
    async with open_connector("physica") as (physica, _):
        holdings = await physica.lookup(subject("M1003"))

    assert ("P-1003",) == holdings.ids
    assert {"journal"} == holdings.categories
    assert JOURNAL_LAST_ENTRY == holdings.facts.last_journal_entry


async def test_restrict_round_trip(open_connector, subject, sandbox):
    """Restricting marks the journal restricted, keeps it, and the read-back confirms it."""
    async with open_connector("physica") as (physica, _):
        holdings = await physica.lookup(subject("M1003"))
        outcome = await physica.erase(holdings, Action.RESTRICT, "k1")
        check = await physica.verify(holdings, Action.RESTRICT)

    assert (Status.RESTRICTED, 1) == (outcome.status, outcome.count)
    assert (Status.RESTRICTED, True) == (check.status, check.verified)
    assert sandbox.physica.patients["P-1003"].restricted


async def test_verify_before_restricting_fails(open_connector, subject):
    """Read-back of a journal not yet restricted is not verified."""
    async with open_connector("physica") as (physica, _):
        holdings = await physica.lookup(subject("M1003"))
        check = await physica.verify(holdings, Action.RESTRICT)

    assert (Status.FAILED, False) == (check.status, check.verified)


@pytest.mark.parametrize("action", [Action.DELETE, Action.ANONYMISE])
async def test_journal_is_never_deleted(open_connector, subject, sandbox, action):
    """Deleting or anonymising a journal is refused (Permanent, citing the law) before any call is made."""
    async with open_connector("physica") as (physica, client):
        holdings = await physica.lookup(subject("M1003"))
        sent = client.attempts
        with pytest.raises(Permanent, match="helsepersonelloven"):
            await physica.erase(holdings, action, "k1")

    assert sent == client.attempts
    assert [] == sandbox.journal.calls_for("M1003")
    assert "P-1003" in sandbox.physica.patients


async def test_member_without_journal_holds_nothing(open_connector, subject):
    """A member who never saw the physiotherapist has no holdings."""
    async with open_connector("physica") as (physica, _):
        holdings = await physica.lookup(subject("M1001"))

    assert (False, None) == (holdings.found, holdings.facts.last_journal_entry)


async def test_restricting_a_vanished_patient_is_already_absent(open_connector, subject, sandbox):
    """A restriction that meets a 404 is already-absent."""
    async with open_connector("physica") as (physica, _):
        holdings = await physica.lookup(subject("M1003"))
        del sandbox.physica.patients["P-1003"]
        outcome = await physica.erase(holdings, Action.RESTRICT, "k1")

    assert Status.ALREADY_ABSENT == outcome.status
