"""The connector contract per category: lookup reports categories with dates; erase takes a category and its
action; verify reads each back, held fields still there and restricted, the rest gone."""

from __future__ import annotations

from datetime import date

from connectors.contract import Action, Category, CategoryErasure, Status

BOOKKEEPING = ("invoice_number", "invoice_date", "due_date", "amount", "kid", "buyer_name", "buyer_address")
JOURNAL = ("patient_name", "patient_birth_date", "patient_address", "notes", "author", "written_on")
CLAIM = ("invoice_number", "due_date", "amount", "collection_case", "debtor_name", "debtor_address",
         "debtor_birth_date")


async def test_held_invoice_keeps_buyer_name_and_address_and_nothing_else(open_connector, sandbox, subject):
    """Exceline's invoices held for bookkeeping keep the buyer's name and address, restricted; the buyer's phone
    and e-mail are gone from every one, and the read-back says so."""
    member = sandbox.add_member(chain="aktiv365")
    held = CategoryErasure("invoices", Action.RESTRICT, BOOKKEEPING, rule="bookkeeping")
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject(member.member_id))
        outcome = await exceline.erase_category(holdings, held, "k-invoices")
        check = await exceline.verify_category(holdings, held)

    invoices = sandbox.exceline.members[member.member_id].invoices
    assert (Status.RESTRICTED, True) == (outcome.status, check.verified)
    assert {(member.name, member.address, None, None, True)} == {
        (i.buyer_name, i.buyer_address, i.buyer_email, i.buyer_phone, i.restricted) for i in invoices}


async def test_lookup_reports_each_category_with_its_dates(open_connector, sandbox, subject):
    """Exceline reports the invoices and the claim in collection each with their count and dates."""
    member = sandbox.add_member(chain="aktiv365", in_collection=True)
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject(member.member_id))

    dated = {c.name: c for c in holdings.dated}
    assert Category("claim", 1, (date(2025, 11, 15),)) == dated["claim"]
    assert 12 == dated["invoices"].count and "claim" in holdings.categories
    assert date(2025, 11, 15) == holdings.facts.claim_due


async def test_verify_fails_when_a_field_the_hold_does_not_keep_is_left(open_connector, sandbox, subject):
    """A held category still carrying the phone number is not verified: the read-back names the field."""
    member = sandbox.add_member(chain="aktiv365")
    wider = CategoryErasure("invoices", Action.RESTRICT, (*BOOKKEEPING, "buyer_phone"), rule="bookkeeping")
    async with open_connector("exceline") as (exceline, _):
        holdings = await exceline.lookup(subject(member.member_id))
        await exceline.erase_category(holdings, wider, "k-wide")
        check = await exceline.verify_category(holdings, CategoryErasure("invoices", Action.RESTRICT, BOOKKEEPING))

    assert (False, "read-back of invoices: field(s) the hold does not keep: buyer_phone") == (check.verified,
                                                                                           check.detail)


async def test_k24_journal_notes_keep_the_patients_identity_restricted(open_connector, sandbox, subject):
    """Eziteq's journal notes are restricted as written for a clinician's review: the patient's name, birth date
    and address stay on them, while the member's profile is anonymised."""
    member = sandbox.add_member(chain="k24", journal=True)
    review = CategoryErasure("journal", Action.RESTRICT, JOURNAL, rule="journal", review=True)
    profile = CategoryErasure("profile", Action.ANONYMISE)
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(subject(member.member_id))
        await eziteq.erase_category(holdings, review, "k-journal")
        await eziteq.erase_category(holdings, profile, "k-profile")
        checks = [await eziteq.verify_category(holdings, review), await eziteq.verify_category(holdings, profile)]

    record = sandbox.eziteq.members[member.member_id]
    assert [True, True] == [c.verified for c in checks]
    assert [(member.name, member.birth_date, member.address, True)] == [
        (n["patient_name"], n["patient_birth_date"], n["patient_address"], n["restricted"])
        for n in record.journal_notes]
    assert (None, None, "anonymised") == (record.first_name, record.email, record.state)


async def test_a_claim_keeps_the_debtor_and_goes_when_paid(open_connector, sandbox, subject):
    """Eziteq's claim in debt collection keeps the debtor's name, address and birth date, restricted, not the
    phone or e-mail; paid, its release closes the case and the invoice stays for bookkeeping."""
    member = sandbox.add_member(chain="k24", in_collection=True)
    held = CategoryErasure("claim", Action.RESTRICT, CLAIM, rule="claim")
    async with open_connector("eziteq") as (eziteq, _):
        holdings = await eziteq.lookup(subject(member.member_id))
        await eziteq.erase_category(holdings, held, "k-claim")
        check = await eziteq.verify_category(holdings, held)
        [claim] = [i.claim for i in sandbox.eziteq.members[member.member_id].invoices if i.claim]
        kept = (claim["debtor_name"], claim["debtor_birth_date"], claim["debtor_phone"], claim["restricted"])
        sandbox.settle(member.member_id)
        released = await eziteq.release(holdings, ("claim",), "k-release")
        after = await eziteq.lookup(subject(member.member_id))

    assert (True, (member.name, member.birth_date, None, True)) == (check.verified, kept)
    assert (Status.ERASED, 1) == (released.status, released.count)
    assert ("claim" not in after.categories, 12) == (True, len(sandbox.eziteq.members[member.member_id].invoices))
