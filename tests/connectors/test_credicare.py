"""Credicare: no API; a claim in collection is Credicare's, so erasure there is an Art. 19 notice by a person."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Action, Holdings, Permanent, Status


async def test_lookup_names_claims_without_asking_anyone(open_connector, subject):
    """Lookup reports claims with no ids, and makes no call: the membership system's invoices tell the rest."""
    async with open_connector("credicare") as (credicare, client):
        holdings = await credicare.lookup(subject("M1202"))

    assert ((), frozenset({"claims"}), False) == (holdings.ids, holdings.categories, holdings.found)
    assert 0 == client.attempts


async def test_notify_is_a_manual_art_19_notice(open_connector):
    """Notify ends as a manual step whose detail tells the person to send Credicare an Art. 19 notice."""
    async with open_connector("credicare") as (credicare, client):
        outcome = await credicare.erase(Holdings.of("credicare", categories={"claims"}), Action.NOTIFY, "k")

    assert (Status.MANUAL, Action.NOTIFY, 0) == (outcome.status, outcome.action, client.attempts)
    assert "Art. 19 notice" in outcome.detail and "17(3)(e)" in outcome.detail


@pytest.mark.parametrize("action", [Action.DELETE, Action.ANONYMISE, Action.RESTRICT, Action.RELEASE])
async def test_any_other_action_is_permanent(open_connector, action):
    """Without an API, Credicare can only be notified: every other action is Permanent."""
    async with open_connector("credicare") as (credicare, _):
        with pytest.raises(Permanent, match="Credicare has no API"):
            await credicare.erase(Holdings.of("credicare"), action, "k")


async def test_verify_waits_for_a_person(open_connector):
    """There is nothing to read back: verified stays unknown until a person confirms the notice."""
    async with open_connector("credicare") as (credicare, _):
        check = await credicare.verify(Holdings.of("credicare"), Action.NOTIFY)

    assert (Status.MANUAL, None) == (check.status, check.verified)


async def test_needs_no_settings(open_connector, make_settings):
    """Credicare has no address or credential in the settings, and needs none."""
    settings = make_settings()
    assert "credicare" not in settings.processors

    async with open_connector("credicare", settings=settings) as (credicare, _):
        assert "credicare" == (await credicare.erase(Holdings.of("credicare"), Action.NOTIFY, "k")).system
