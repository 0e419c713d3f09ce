"""Credicare: no API; the chain's processor for invoicing and collection, so every step at it is a person's."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Action, Holdings, Permanent, Status


async def test_lookup_names_the_invoicing_copy_by_member_number_without_asking_anyone(open_connector, subject):
    """Lookup reports the member's invoicing data under the member number, and makes no call: Credicare invoices
    every member; the membership system's invoices give the dates."""
    async with open_connector("credicare") as (credicare, client):
        holdings = await credicare.lookup(subject("M1202"))

    assert (("M1202",), frozenset({"invoices"}), True) == (holdings.ids, holdings.categories, holdings.found)
    assert 0 == client.attempts


async def test_restrict_is_a_manual_step_at_credicare_as_the_chains_processor(open_connector):
    """Restrict ends as a manual step whose detail tells the person to have Credicare, as processor, restrict
    its copy."""
    async with open_connector("credicare") as (credicare, client):
        outcome = await credicare.erase(Holdings.of("credicare", categories={"invoices"}), Action.RESTRICT, "k")

    assert (Status.MANUAL, Action.RESTRICT, 0) == (outcome.status, outcome.action, client.attempts)
    assert "processor" in outcome.detail and "Art. 18" in outcome.detail


async def test_notify_is_a_manual_art_19_notice(open_connector):
    """Notify ends as a manual step whose detail tells the person to tell Credicare of the erasure."""
    async with open_connector("credicare") as (credicare, client):
        outcome = await credicare.erase(Holdings.of("credicare", categories={"invoices"}), Action.NOTIFY, "k")

    assert (Status.MANUAL, Action.NOTIFY, 0) == (outcome.status, outcome.action, client.attempts)
    assert "Art. 19" in outcome.detail and "17(3)(e)" in outcome.detail


async def test_release_is_a_manual_step(open_connector):
    """Once the hold ends, the copy's deletion is a person's step at Credicare, confirmed in the UI."""
    async with open_connector("credicare") as (credicare, client):
        outcome = await credicare.release(Holdings.of("credicare", ["M1201"]), ("invoices",), "k")

    assert (Status.MANUAL, Action.RELEASE, 0) == (outcome.status, outcome.action, client.attempts)
    assert "delete its copy" in outcome.detail


@pytest.mark.parametrize("action", [Action.DELETE, Action.ANONYMISE, Action.RELEASE])
async def test_any_other_action_is_permanent(open_connector, action):
    """Without an API, Credicare's copy can only be restricted or Credicare told: every other erasure is Permanent."""
    async with open_connector("credicare") as (credicare, _):
        with pytest.raises(Permanent, match="Credicare has no API"):
            await credicare.erase(Holdings.of("credicare"), action, "k")


async def test_verify_waits_for_a_person(open_connector):
    """There is nothing to read back: verified stays unknown until a person confirms."""
    async with open_connector("credicare") as (credicare, _):
        check = await credicare.verify(Holdings.of("credicare"), Action.RESTRICT)

    assert (Status.MANUAL, None) == (check.status, check.verified)


async def test_needs_no_settings(open_connector, make_settings):
    """Credicare has no address or credential in the settings, and needs none."""
    settings = make_settings()
    assert "credicare" not in settings.processors

    async with open_connector("credicare", settings=settings) as (credicare, _):
        assert "credicare" == (await credicare.erase(Holdings.of("credicare"), Action.RESTRICT, "k")).system
