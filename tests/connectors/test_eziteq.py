"""Eziteq: contact details, settlement facts, anonymisation that keeps invoices and journal notes."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date

import pytest

from connectors.contract import Action, Holdings, Permanent, RetentionFacts, Status, Subject
from sandbox.people import JOURNAL_LAST_ENTRY


async def test_lookup_reads_every_page_and_the_journal(open_connector, subject):
    """A settled K24 member's record, check-ins, consents, photo, journal notes and all twelve invoices
    (over two pages) are found, with the last invoice and the last journal note."""
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(subject("M1101"))

    assert ("M1101",) == holdings.ids
    assert {"profile", "photo", "consents", "journal", "visits", "invoices", "contracts"} == holdings.categories
    invoiced = (*(date(2025, month, 1) for month in range(2, 13)), date(2026, 1, 1))
    assert RetentionFacts(invoice_dates=invoiced, contract_end_dates=(date(2026, 1, 31),),
                          last_journal_entry=JOURNAL_LAST_ENTRY) == holdings.facts


async def test_settlement_reports_open_invoice_until_settled(open_connector, sandbox):
    """An open invoice (599.00 kroner) shows as 59,900 øre owed until the sandbox settles it."""
    async with open_connector("eziteq") as (eziteq, _):
        before = await eziteq.settlement("M1102")
        sandbox.settle("M1102")
        after = await eziteq.settlement("M1102")

    assert (1, 59_900, False) == (before.open_invoices, before.open_amount_ore, before.in_collection)
    assert (0, 0) == (after.open_invoices, after.open_amount_ore)


async def test_settlement_reports_debt_collection(open_connector, sandbox):
    """An invoice in debt collection is reported as in collection."""
    member = sandbox.add_member(chain="k24", in_collection=True)

    async with open_connector("eziteq") as (eziteq, _):
        facts = await eziteq.settlement(member.member_id)

    assert (True, 1) == (facts.in_collection, facts.open_invoices)


async def test_contact_gives_the_subject_until_anonymised(open_connector, sandbox):
    """Eziteq gives e-mail, phone and name for the other processors' lookups; after anonymisation, nothing."""
    member = sandbox.member("M1103")
    async with open_connector("eziteq") as (eziteq, _):
        before = await eziteq.contact("M1103", controller="k24")
        await eziteq.erase(await eziteq.lookup(before), Action.ANONYMISE, "k1")
        after = await eziteq.contact("M1103", controller="k24")

    assert Subject("k24", "M1103", email=member.email, phone=member.phone, name=member.name) == before
    assert after is None


async def test_anonymise_keeps_invoices_and_journal_notes_restricted(open_connector, subject, sandbox):
    """Anonymising strips contact details, photo, consents and check-ins; invoices and journal notes stay,
    restricted; the read-back verifies."""
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(subject("M1101"))
        outcome = await eziteq.erase(holdings, Action.ANONYMISE, "k1")
        check = await eziteq.verify(holdings, Action.ANONYMISE)

    record = sandbox.eziteq.members["M1101"]
    assert (Status.ANONYMISED, 1) == (outcome.status, outcome.count)
    assert (Status.ANONYMISED, True) == (check.status, check.verified)
    assert (None, None, [], False) == (record.email, record.first_name, record.checkins, record.has_photo)
    assert not any(record.marketing_consent.values())
    assert 12 == len(record.invoices)
    assert all(i.restricted for i in record.invoices) and all(n["restricted"] for n in record.journal_notes)


async def test_verify_before_anonymising_fails(open_connector, subject):
    """Read-back of a member not yet anonymised is not verified."""
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(subject("M1101"))
        check = await eziteq.verify(holdings, Action.ANONYMISE)

    assert (Status.FAILED, False) == (check.status, check.verified)


async def test_anonymise_with_open_invoice_is_permanent(open_connector, subject, sandbox):
    """Eziteq refuses to anonymise a member with a balance (409); nothing is applied."""
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(subject("M1102"))
        with pytest.raises(Permanent, match="HTTP 409"):
            await eziteq.erase(holdings, Action.ANONYMISE, "k1")

    assert [] == sandbox.applied_calls("M1102")


async def test_restrict_round_trip(open_connector, subject):
    """A member who owes can be restricted instead, and the read-back confirms it."""
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(subject("M1102"))
        outcome = await eziteq.erase(holdings, Action.RESTRICT, "k1")
        check = await eziteq.verify(holdings, Action.RESTRICT)

    assert Status.RESTRICTED == outcome.status
    assert (Status.RESTRICTED, True) == (check.status, check.verified)


async def test_unknown_member_holds_nothing(open_connector):
    """A member number Eziteq does not know holds nothing, has no contact, and anonymising it is success."""
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(Subject("k24", "M9999"))
        contact = await eziteq.contact("M9999")
        outcome = await eziteq.erase(Holdings.of("eziteq", ids=["M9999"]), Action.ANONYMISE, "k")

    assert (False, None, Status.ALREADY_ABSENT) == (holdings.found, contact, outcome.status)


async def test_delete_is_refused_without_a_call(open_connector, subject, sandbox):
    """Eziteq never deletes a member (invoices and journals are kept by law): no call is made."""
    async with open_connector("eziteq") as (eziteq, client):
        holdings = await eziteq.lookup(subject("M1101"))
        sent = client.attempts
        with pytest.raises(Permanent, match="delete is not offered"):
            await eziteq.erase(holdings, Action.DELETE, "k1")

    assert sent == client.attempts
    assert [] == sandbox.journal.calls_for("M1101")
