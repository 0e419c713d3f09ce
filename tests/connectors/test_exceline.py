"""Exceline: contact details, settlement facts, anonymisation that keeps invoice lines."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date

import pytest

from connectors.contract import Action, Holdings, Permanent, RetentionFacts, Status, Subject


async def test_lookup_reports_categories_and_invoice_facts(open_connector, subject):
    """A settled member's record, visits, consents, photo, invoices and contract are found, with each
    invoice's date and the day the contract ended."""
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject("M1001"))

    assert ("M1001",) == holdings.ids
    assert {"profile", "visits", "consents", "photo", "invoices", "contracts"} == holdings.categories
    invoiced = (*(date(2025, month, 1) for month in range(2, 13)), date(2026, 1, 1))
    assert RetentionFacts(invoice_dates=invoiced, contract_end_dates=(date(2026, 1, 31),)) == holdings.facts


async def test_settlement_reports_open_invoice_until_settled(open_connector, sandbox):
    """An open invoice shows in the settlement facts until the sandbox settles it."""
    async with open_connector("exceline") as (exceline, _):
        before = await exceline.settlement("M1002")
        sandbox.settle("M1002")
        after = await exceline.settlement("M1002")

    assert (1, 59_900, False) == (before.open_invoices, before.open_amount_ore, before.in_collection)
    assert (0, 0) == (after.open_invoices, after.open_amount_ore)


async def test_settlement_reports_collection(open_connector, sandbox):
    """An invoice in debt collection is reported as such."""
    member = sandbox.add_member(in_collection=True)

    async with open_connector("exceline") as (exceline, _):
        facts = await exceline.settlement(member.member_id)

    assert facts.in_collection


async def test_contact_gives_the_subject_until_anonymised(open_connector, subject):
    """The membership system gives e-mail, phone and name; after anonymisation, nothing."""
    async with open_connector("exceline") as (exceline, _):
        before = await exceline.contact("M1001", controller="demo")
        await exceline.erase(await exceline.lookup(before), Action.ANONYMISE, "k1")
        after = await exceline.contact("M1001", controller="demo")

    assert subject("M1001") == before
    assert after is None


async def test_contact_of_unknown_member_is_none(open_connector):
    """A member id the membership system does not know has no contact details."""
    async with open_connector("exceline") as (exceline, _):
        assert await exceline.contact("M9999") is None


async def test_anonymise_round_trip_keeps_invoices_restricted(open_connector, subject, sandbox):
    """Anonymising removes contact details, visits and photo, keeps invoice lines restricted, and verifies."""
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject("M1001"))
        outcome = await exceline.erase(holdings, Action.ANONYMISE, "k1")
        check = await exceline.verify(holdings, Action.ANONYMISE)

    record = sandbox.exceline.members["M1001"]
    assert (Status.ANONYMISED, 1) == (outcome.status, outcome.count)
    assert (Status.ANONYMISED, True) == (check.status, check.verified)
    assert (None, None, []) == (record.email, record.first_name, record.visits)
    assert 12 == len(record.invoices)
    assert all(invoice.restricted for invoice in record.invoices)


async def test_verify_before_anonymising_fails(open_connector, subject):
    """Read-back of a member not yet anonymised is not verified."""
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject("M1001"))
        check = await exceline.verify(holdings, Action.ANONYMISE)

    assert (Status.FAILED, False) == (check.status, check.verified)


async def test_anonymise_with_open_invoice_is_permanent(open_connector, subject, sandbox):
    """The membership system refuses to anonymise a member who owes money; nothing is applied."""
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject("M1002"))
        with pytest.raises(Permanent):
            await exceline.erase(holdings, Action.ANONYMISE, "k1")

    assert [] == sandbox.applied_calls("M1002")


async def test_restrict_round_trip(open_connector, subject):
    """A member in collection can be restricted instead, and the read-back confirms it."""
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject("M1002"))
        outcome = await exceline.erase(holdings, Action.RESTRICT, "k1")
        check = await exceline.verify(holdings, Action.RESTRICT)

    assert Status.RESTRICTED == outcome.status
    assert (Status.RESTRICTED, True) == (check.status, check.verified)


async def test_unknown_member_is_already_absent(open_connector):
    """A member the membership system does not know holds nothing, and anonymising it (404) is success."""
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(Subject("demo", "M9999"))
        outcome = await exceline.erase(Holdings.of("exceline", ids=["M9999"]), Action.ANONYMISE, "k")

    assert not holdings.found
    assert Status.ALREADY_ABSENT == outcome.status


async def test_delete_is_refused_without_a_call(open_connector, subject, sandbox):
    """Exceline never deletes a member (invoices are kept by law): DELETE is Permanent and sends nothing."""
    async with open_connector("exceline") as (exceline, client):
        holdings = await exceline.lookup(subject("M1001"))
        sent = client.attempts
        with pytest.raises(Permanent, match="delete is not offered"):
            await exceline.erase(holdings, Action.DELETE, "k1")

    assert sent == client.attempts
    assert [] == sandbox.journal.calls_for("M1001")


async def test_withdraw_consents(open_connector, sandbox):
    """Withdrawing consents marks every granted consent withdrawn."""
    async with open_connector("exceline") as (exceline, _):
        outcome = await exceline.withdraw_consents("M1001", "k1")

    assert 2 == outcome.count
    assert not any(consent["granted"] for consent in sandbox.exceline.members["M1001"].consents)
