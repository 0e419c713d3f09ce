"""The connector contract per category: lookup reports categories with dates; erase takes a category and its
action; verify reads each back, held fields still there and restricted, the rest gone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from connectors.contract import Action, Category, CategoryErasure, Permanent, Status
from sandbox.people import DemoMember
from sandbox.world import Sandbox

BOOKKEEPING = ("invoice_number", "invoice_date", "due_date", "amount", "kid", "buyer_name", "buyer_address")
JOURNAL = ("patient_name", "patient_birth_date", "patient_address", "notes", "author", "written_on")
CLAIM = ("invoice_number", "due_date", "amount", "collection_case", "debtor_name", "debtor_address",
         "debtor_birth_date")
# Stripe empties no billing detail of a charge short of redacting it (config/controllers/vekstly.yaml).
PAYMENTS = ("charge_id", "created", "amount", "currency", "member_id", "billing_name", "billing_address",
            "billing_email", "billing_phone", "receipt_email")
Twin = Callable[[Sandbox, DemoMember], Any]


def stripe_customer(sandbox: Sandbox, member: DemoMember) -> dict[str, Any] | None:
    """The member's Stripe customer in the twin, None once deleted."""
    return next((c for c in sandbox.stripe.customers.values() if c["metadata"].get("member_id") == member.member_id),
                None)


def stripe_charges(sandbox: Sandbox, member: DemoMember) -> list[dict[str, Any]]:
    """The member's charges in the twin (found by the member id Vekstly puts in their metadata)."""
    return [c for c in sandbox.stripe.charges if c["metadata"].get("member_id") == member.member_id]


@dataclass(frozen=True)
class Held:
    """A category a rule holds at one processor: the hold, a field it drops, and each held record in the twin as
    (a kept field's value, the dropped field's value, restricted)."""

    system: str
    chain: str
    erasure: CategoryErasure
    dropped: str
    twin: Twin


HELD = [
    Held("exceline", "aktiv365", CategoryErasure("invoices", Action.RESTRICT, BOOKKEEPING, "bookkeeping"),
         "buyer_phone", lambda s, m: {(i.buyer_name, i.buyer_phone, i.restricted)
                                      for i in s.exceline.members[m.member_id].invoices}),
    Held("eziteq", "k24", CategoryErasure("invoices", Action.RESTRICT, BOOKKEEPING, "bookkeeping"),
         "buyer_phone", lambda s, m: {(i.buyer_name, i.buyer_phone, i.restricted)
                                      for i in s.eziteq.members[m.member_id].invoices}),
    Held("ibooking", "aktiv365", CategoryErasure("bookings", Action.RESTRICT, ("class_name", "starts_at",
                                                                               "participant_name"), "bookings"),
         "participant_phone", lambda s, m: {(b["participantName"], b["participantPhone"], b["restricted"])
                                            for c in s.ibooking.customers.values() if c.external_id == m.member_id
                                            for b in c.bookings}),
    Held("fixit", "aktiv365", CategoryErasure("treatments", Action.RESTRICT, ("treatment", "starts_at",
                                                                             "customer_name"), "treatments"),
         "phone", lambda s, m: {(t["CustomerName"], t["Mobile"], t["Restricted"])
                                for c in s.fixit.customers.values() if c.member_no == m.member_id
                                for t in c.treatments}),
    Held("stripe", "vekstly", CategoryErasure("payments", Action.RESTRICT, PAYMENTS, "bookkeeping"),
         "description", lambda s, m: {(c["billing_details"]["name"], c["description"],
                                       c["metadata"].get("gdpr_restricted") == "true") for c in stripe_charges(s, m)}),
    Held("stripe", "vekstly", CategoryErasure("customer", Action.RESTRICT, ("customer_id", "member_id", "name",
                                                                           "email"), "withdrawal"),
         "phone", lambda s, m: {(c["name"], c["phone"], c["metadata"].get("gdpr_restricted") == "true")
                                for c in [stripe_customer(s, m)] if c}),
]


@dataclass(frozen=True)
class Erased:
    """A category erased at one processor, and what the twin still holds of it (empty once it is gone)."""

    system: str
    chain: str
    category: str
    action: Action
    twin: Twin


def ibooking_customers(s: Sandbox, m: DemoMember) -> list[Any]:
    """The member's Ibooking customers in the twin."""
    return [c for c in s.ibooking.customers.values() if c.external_id == m.member_id]


def fixit_customers(s: Sandbox, m: DemoMember) -> list[Any]:
    """The member's Fixit customers in the twin."""
    return [c for c in s.fixit.customers.values() if c.member_no == m.member_id]


ERASED = [
    Erased("exceline", "aktiv365", "visits", Action.DELETE, lambda s, m: s.exceline.members[m.member_id].visits),
    Erased("eziteq", "k24", "photo", Action.DELETE, lambda s, m: [s.eziteq.members[m.member_id].has_photo] * any(
        [s.eziteq.members[m.member_id].has_photo])),
    Erased("ibooking", "aktiv365", "bookings", Action.DELETE,
           lambda s, m: [b for c in ibooking_customers(s, m) for b in c.bookings]),
    Erased("ibooking", "aktiv365", "profile", Action.DELETE, ibooking_customers),
    Erased("fixit", "aktiv365", "treatments", Action.DELETE,
           lambda s, m: [t for c in fixit_customers(s, m) for t in c.treatments]),
    Erased("fixit", "aktiv365", "profile", Action.DELETE, fixit_customers),
    Erased("lifevision", "k24", "contact", Action.DELETE,
           lambda s, m: [c for c in s.lifevision.contacts.values() if c.external_id == m.member_id]),
    Erased("stripe", "vekstly", "customer", Action.DELETE, lambda s, m: [c for c in [stripe_customer(s, m)] if c]),
]


def label(case: Held | Erased) -> str:
    """A test id: the processor and the category."""
    return f"{case.system}-{case.erasure.category if isinstance(case, Held) else case.category}"


@pytest.mark.parametrize("case", ERASED, ids=label)
async def test_an_erased_category_is_gone_and_reads_back_so(open_connector, sandbox, subject, case):
    """Each processor erases one category on its own: before, the read-back finds it; after, the twin holds
    nothing of it and the read-back verifies it gone."""
    member = sandbox.add_member(chain=case.chain)
    erasure = CategoryErasure(case.category, case.action)
    async with open_connector(case.system) as (connector, _):
        holdings = await connector.lookup(subject(member.member_id))
        before = await connector.verify_category(holdings, erasure)
        outcome = await connector.erase_category(holdings, erasure, f"k-{case.category}")
        after = await connector.verify_category(holdings, erasure)

    assert (True, False) == (case.category in holdings.categories, before.verified)
    assert (Status.ERASED, True, []) == (outcome.status, after.verified, list(case.twin(sandbox, member)))


@pytest.mark.parametrize("case", HELD, ids=label)
async def test_a_held_category_keeps_only_its_fields_restricted(open_connector, sandbox, subject, case):
    """Each processor's held category stays, restricted, with the fields its hold keeps (the buyer's, the
    participant's or the customer's name) and without the rest (the phone, a description), read back per field."""
    member = sandbox.add_member(chain=case.chain)
    async with open_connector(case.system) as (connector, _):
        holdings = await connector.lookup(subject(member.member_id))
        outcome = await connector.erase_category(holdings, case.erasure, f"k-{case.erasure.category}")
        check = await connector.verify_category(holdings, case.erasure)

    assert (Status.RESTRICTED, True) == (outcome.status, check.verified)
    assert {(member.name, None, True)} == case.twin(sandbox, member)


@pytest.mark.parametrize("case", HELD, ids=label)
async def test_verify_names_a_field_the_hold_does_not_keep(open_connector, sandbox, subject, case):
    """A held category still carrying a field its hold does not keep is not verified; the read-back names it."""
    member = sandbox.add_member(chain=case.chain)
    wider = CategoryErasure(case.erasure.category, Action.RESTRICT, (*case.erasure.keeps, case.dropped))
    async with open_connector(case.system) as (connector, _):
        holdings = await connector.lookup(subject(member.member_id))
        await connector.erase_category(holdings, wider, f"k-wide-{case.erasure.category}")
        check = await connector.verify_category(holdings, case.erasure)

    assert (False, f"read-back of {case.erasure.category}: field(s) the hold does not keep: {case.dropped}") == (
        check.verified, check.detail)


@pytest.mark.parametrize(("system", "chain", "category", "action"), [
    ("lifevision", "k24", "contact", Action.RESTRICT),
    ("ibooking", "aktiv365", "profile", Action.RESTRICT),
    ("fixit", "aktiv365", "profile", Action.ANONYMISE),
    ("stripe", "vekstly", "payments", Action.DELETE),
    ("physica", "k24", "journal", Action.DELETE),
    ("physica", "k24", "journal", Action.ANONYMISE),
    ("eziteq", "k24", "journal", Action.ANONYMISE),
    ("eziteq", "k24", "journal", Action.DELETE),
])
async def test_an_action_a_category_does_not_offer_is_refused_before_any_call(
        open_connector, sandbox, subject, system, chain, category, action):
    """A category's action the processor does not offer (or the law forbids: a journal deleted or anonymised)
    fails Permanent, and no destructive call reaches the processor."""
    member = sandbox.add_member(chain=chain, journal=True)
    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(member.member_id))
        with pytest.raises(Permanent):
            await connector.erase_category(holdings, CategoryErasure(category, action), "k-refused")

    assert [] == sandbox.journal.calls_for(member.member_id)


@pytest.mark.parametrize(("system", "notes"), [
    ("eziteq", lambda s, m: s.eziteq.members[m.member_id].journal_notes),
    ("physica", lambda s, m: [{**e, "restricted": p.restricted} for p in s.physica.patients.values()
                              if p.external_ref == m.member_id for e in p.entries]),
])
async def test_a_journal_is_restricted_as_written_whatever_the_plan_keeps(open_connector, sandbox, subject,
                                                                          system, notes):
    """A journal planned as a plain restriction keeping nothing is still restricted as written: the connector
    strips no field (helsepersonelloven §§ 39-40), so the patient's identity stays on every entry, and the
    read-back verifies it as a clinician's review."""
    member = sandbox.add_member(chain="k24", journal=True)
    stripping = CategoryErasure("journal", Action.RESTRICT, (), rule="journal")
    async with open_connector(system) as (connector, _):
        holdings = await connector.lookup(subject(member.member_id))
        outcome = await connector.erase_category(holdings, stripping, "k-journal")
        check = await connector.verify_category(holdings, stripping)

    entries = notes(sandbox, member)
    name = "patient_name" if system == "eziteq" else "patientName"
    assert (Status.RESTRICTED, True) == (outcome.status, check.verified)
    assert {(member.name, True)} == {(e[name], e["restricted"]) for e in entries}


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
