"""Per category and field, for every chain: what no rule holds goes at once, a hold keeps exactly its fields,
restricted, until its own date; a journal keeps its patient; marketing stops before any wait."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from config.settings import load_settings
from evidence.ledger import NewRecord, open_ledger
from queries.runs import step_of_key
from sandbox.exceline_records import add_record
from sandbox.people import COURSE_ENDED
from tasks.migration import import_holds
from tests.chains.releases import releases_of
from tests.config.test_in_flight import written, written_for_nets
from tests.flow_driver import Held, pause_key, release_runs

MEMBERSHIP = {"aktiv365": "exceline", "k24": "eziteq", "mova": "exceline", "spenst": "exceline"}


def record_of(sandbox, chain: str, member_id: str):
    return getattr(sandbox, MEMBERSHIP[chain]).members[member_id]


def categories(evidence, system: str) -> dict[str, Any]:
    [step] = [s for s in evidence.steps if s.system == system]
    return {c.category: c for c in step.categories}


@pytest.mark.parametrize("chain", sorted(MEMBERSHIP))
async def test_held_invoice_keeps_buyer_name_and_address_and_nothing_else(sandbox, flows, chain):
    """Each chain's held invoices keep the buyer's name and address (bokføringsforskriften § 5-1-1), restricted;
    the member's phone and e-mail are gone from them, and the photo, visits and consents from the record."""
    member = sandbox.add_member(chain=chain)

    run, _ = await flows.confirm_all(await flows.erase(chain, member.member_id))

    evidence = await run.result()
    record = record_of(sandbox, chain, member.member_id)
    invoices = categories(evidence, MEMBERSHIP[chain])["invoices"]
    # One hold per financial year of invoices (2025's and 2026's), each with its own date.
    holds = [h for h in evidence.holds if h.key == f"{MEMBERSHIP[chain]}-bookkeeping"]
    assert "COMPLETED" == run.state_name
    assert {(member.name, member.address, None, None, True)} == {
        (i.buyer_name, i.buyer_address, i.buyer_email, i.buyer_phone, i.restricted) for i in record.invoices}
    assert (False, []) == (record.has_photo, getattr(record, "visits", getattr(record, "checkins", None)))
    assert ("restrict", True, "bookkeeping") == (invoices.action, invoices.verified, invoices.rule)
    assert [date(2030, 12, 31), date(2031, 12, 31)] == [h.retain_until for h in holds]
    assert {("invoices", ("buyer_address", "buyer_name"))} == {(h.category, tuple(sorted(set(h.fields) & {
        "buyer_name", "buyer_address", "buyer_phone", "buyer_email"}))) for h in holds}


async def test_k24_journal_notes_keep_the_patients_identity_restricted(sandbox, flows):
    """K24's Eziteq journal notes stay as written, restricted, with the patient's name, birth date and address,
    while the member's profile is anonymised; the hold is a clinician's review, never a deletion."""
    member = sandbox.add_member(chain="k24", journal=True)

    run = await flows.erase("k24", member.member_id)

    evidence = await run.result()
    record = sandbox.eziteq.members[member.member_id]
    journal = categories(evidence, "eziteq")["journal"]
    [hold] = [h for h in evidence.holds if h.key == "eziteq-journal"]
    assert ("review", "restricted", True) == (journal.action, journal.status, journal.verified)
    assert [(member.name, member.birth_date, member.address, True)] == [
        (n["patient_name"], n["patient_birth_date"], n["patient_address"], n["restricted"])
        for n in record.journal_notes]
    assert ("anonymised", None) == (record.state, record.first_name)
    assert (True, "journal") == (hold.review_only, hold.category)


@pytest.mark.parametrize("chain", ["aktiv365", "k24", "mova"])
async def test_claim_hold_ends_when_the_claim_is_paid(sandbox, flows, chain):
    """A claim in collection keeps the claim and the debtor's identity, restricted, while the rest of the member
    goes at once; the daily sweep takes the hold on its check day (held again while owed), and once paid the
    next monthly check releases it, long before its limitation; the invoice stays with the buyer's name."""
    member = sandbox.add_member(chain=chain, in_collection=True)

    run, _ = await flows.confirm_all(await flows.erase(chain, member.member_id))

    evidence = await run.result()
    record = record_of(sandbox, chain, member.member_id)
    [claim] = [i.claim for i in record.invoices if i.claim]
    [hold] = [h for h in evidence.holds if h.rule == "claim"]
    assert "COMPLETED" == run.state_name
    assert (member.name, member.birth_date, None, True) == (
        claim["debtor_name"], claim["debtor_birth_date"], claim["debtor_phone"], claim["restricted"])
    assert (False, "claim") == (record.has_photo, hold.category)
    assert hold.check_on is not None and hold.check_on < hold.retain_until
    scheduled = (await release_runs(run.flow_run.parameters["request_id"]))[f"{MEMBERSHIP[chain]}-claim"]

    before = await flows.release(scheduled, hold.check_on - timedelta(days=1))
    still_owed = await flows.release(scheduled, hold.check_on)
    sandbox.settle(member.member_id)
    paid = await flows.release(scheduled, hold.check_on + timedelta(days=40))  # after the next monthly check

    assert ("nothing due", "held_again") == (await before.result(), await still_owed.result())
    assert "released" == await paid.result()
    sealed = [r for r in await releases_of(scheduled.request_id) if r["rule"] == "claim"]
    fields = ", ".join(hold.fields)  # the request's evidence names the fields each release erased
    assert [(fields, ""), (fields, "yes")] == [(r["fields"], r["verified"]) for r in sealed]
    assert ([], 12) == ([i for i in record.invoices if i.claim], len(record.invoices))
    assert {member.name} == {i.buyer_name for i in record.invoices}


@pytest.mark.parametrize("chain", ["spenst", "aktiv365"])
async def test_consents_are_withdrawn_before_the_settlement_wait(sandbox, flows, chain):
    """With an invoice still open, the run waits (for settlement; at Aktiv365 first for a person to confirm at
    Kalibrert AS) only after the membership system's marketing consents are withdrawn (markedsføringsloven § 15):
    nothing else there is touched yet."""
    member = sandbox.add_member(chain=chain, open_invoice=True)

    waiting = await flows.erase(chain, member.member_id)

    record = sandbox.exceline.members[member.member_id]
    assert "SUSPENDED" == waiting.state_name
    assert ([False, False], 3) == ([c["granted"] for c in record.consents], len(record.visits))


async def test_mova_stops_marketing_at_once(sandbox, flows):
    """MOVA has no marketing system: its members' e-mail and SMS consents in the membership system are withdrawn
    in the first step, before the wait for an open invoice; the evidence shows it verified."""
    member = sandbox.add_member(chain="mova", open_invoice=True)

    waiting = await flows.erase("mova", member.member_id)
    consents = [c["granted"] for c in sandbox.exceline.members[member.member_id].consents]
    sandbox.settle(member.member_id)
    run = await flows.resume(waiting, {"confirmed_by": "test"})

    evidence = await run.result()
    [stop] = [s for s in evidence.steps if s.system == "exceline-marketing"]
    assert ("SUSPENDED", [False, False]) == (waiting.state_name, consents)
    assert ("COMPLETED", "withdraw", True) == (run.state_name, stop.action, stop.verified)
    assert [] == sandbox.exceline.members[member.member_id].consents


async def test_a_category_the_policy_does_not_know_stops_the_request(sandbox, flows):
    """MOVA's map has no card purchases: a member with one is not erased around it; the request fails, naming
    the category and where to add it, and nothing past the first step is touched."""
    member = sandbox.add_member(chain="mova")
    add_record(sandbox.exceline.members[member.member_id], "purchases", date(2026, 1, 10))

    run = await flows.erase("mova", member.member_id)

    assert "FAILED" == run.state_name
    assert "['purchases'], which the chain's data map does not name" in run.state.message
    assert sandbox.exceline.members[member.member_id].first_name == member.first_name


async def test_vekstly_evidence_names_each_category_with_its_hold_and_kept_fields(sandbox, flows):
    """Vekstly: the e-mail list (a marketing channel) goes first; the evidence names each processor's categories,
    the Stripe payments held under bookkeeping with the sale's fields only, the course booking deleted."""
    member = sandbox.add_member(chain="vekstly", course_end=COURSE_ENDED)

    run = await flows.erase("vekstly", member.member_id, kind="erasure")

    evidence = await run.result()
    assert "COMPLETED" == run.state_name
    assert "mailchimp" == sandbox.destructive_calls_for(member.member_id)[0]
    assert ("delete", "erased", True) == tuple(getattr(categories(evidence, "mailchimp")["newsletter"], a)
                                              for a in ("action", "status", "verified"))
    assert ("delete", True) == (categories(evidence, "ibooking")["bookings"].action,
                                categories(evidence, "ibooking")["bookings"].verified)
    [payments] = {h.category: h for h in evidence.holds if h.rule == "bookkeeping"}.values()
    billing = {"billing_name", "billing_address"}
    assert ("payments", billing) == (payments.category, billing & set(payments.fields))


async def test_a_claim_the_previous_code_held_whole_is_released_per_category_once_paid(sandbox, flows):
    """Before data maps a claim restricted Aktiv365's whole Exceline record and was held until its limitation.
    Imported into the ledger, the next sweep looks at it at once: the claim paid, it closes the case, erases what
    no rule holds (profile, photo, visits, consents) and leaves the invoices with their buyer's name and address
    only, restricted."""
    member = sandbox.add_member(chain="aktiv365", in_collection=True)
    record = sandbox.exceline.members[member.member_id]
    record.restricted = True  # what the previous code's erasure did: Exceline's restriction of the whole record
    for invoice in record.invoices:
        invoice.restricted = True
    sandbox.settle(member.member_id)
    today = date(2026, 12, 8)
    [old] = [h for h in written("holds.pickle") if h.rule == "claim"]  # pickled by the previous code
    rows = import_holds("old-claim-1", "aktiv365", member.member_id, [old], [], [], None, today)
    ledger = await open_ledger(load_settings().ledger_url)
    await ledger.seal(NewRecord("aktiv365", "import", "old-claim-1", None, {"imported": "test"}, tuple(rows)))

    [due] = await ledger.due_holds(today, request_id="old-claim-1")
    run = await flows.release(Held("old-claim-1", "exceline", "claim", old.retain_until), today)

    assert (today, date(2028, 11, 15)) == (due.hold.check_on, due.hold.retain_until)
    assert "released" == await run.result()
    assert ([], None, None, False, []) == ([i for i in record.invoices if i.claim], record.first_name,
                                           record.mobile, record.has_photo, record.visits)
    assert {(member.name, member.address, None, True)} == {
        (i.buyer_name, i.buyer_address, i.buyer_phone, i.restricted) for i in record.invoices}


NETS_CHAINS = ("aktiv365", "demo", "k24", "mova", "spenst")
PAYMENT_KEEPS = ("transaction_id", "transaction_date", "amount", "kid", "payer_name")


@pytest.mark.parametrize("chain", NETS_CHAINS)
async def test_held_payment_at_nets_keeps_what_bookkeeping_needs_and_nothing_else(sandbox, flows, chain):
    """Each chain's payments at Nets are held under bookkeeping (bokføringsloven § 13), restricted, keeping the
    payment's id, date, amount, KID and the payer's name; the payer's e-mail, phone and address are gone from
    them, the read-back per field verifies, and each hold names exactly those fields."""
    member = sandbox.add_member(chain=chain)

    run, _ = await flows.confirm_all(await flows.erase(chain, member.member_id))

    evidence = await run.result()
    payments = sandbox.nets.payers[f"NC-{member.number}"].transactions
    held = categories(evidence, "nets")["transactions"]
    holds = [h for h in evidence.holds if h.key == "nets-bookkeeping"]
    assert "COMPLETED" == run.state_name
    assert {(True, member.name, f"{member.number:08d}0", None, None, None)} == {
        (t["restricted"], t["payer_name"], t["kid"], t["payer_email"], t["payer_phone"], t["payer_address"])
        for t in payments}
    assert ("restrict", True, "bookkeeping") == (held.action, held.verified, held.rule)
    assert {("transactions", PAYMENT_KEEPS)} == {(h.category, h.fields) for h in holds}


@pytest.mark.parametrize("chain", NETS_CHAINS)
async def test_nets_card_and_mandate_end_by_a_persons_confirmation(sandbox, flows, chain):
    """In each chain a stored card at Nexi Checkout and an AvtaleGiro mandate are a person's step (no public call
    ends either): the run asks for Nets' confirmation, the card is read back gone once ended with Nexi, the
    mandate rests on the confirmation, and no call to end either was ever sent."""
    member = sandbox.add_member(chain=chain, card=True, mandate=True)

    run, confirmed = await flows.erase(chain, member.member_id), []
    while run.state_name == "SUSPENDED" and (step := step_of_key(pause_key(run))):
        if step == "nets":
            sandbox.nets.end_at_nexi(member.member_id)  # what the person does with Nexi before confirming
        confirmed.append(step)
        run = await flows.resume(run, {"confirmed_by": "Kari Drift", "what_was_done": "done", "done_on": "2026-12-07"})

    nets = categories(await run.result(), "nets")
    assert ("COMPLETED", True) == (run.state_name, "nets" in confirmed)
    assert {"card_tokens": ("confirmed", True), "avtalegiro_mandates": ("confirmed", True)} == {
        name: (nets[name].status, nets[name].verified) for name in ("card_tokens", "avtalegiro_mandates")}
    assert ["restrict:transactions"] == [c.action for c in sandbox.applied_calls(member.member_id)
                                         if c.system == "nets"]


async def test_a_nets_hold_the_previous_code_wrote_is_released_by_the_sweep(sandbox, flows):
    """A bookkeeping hold the code before the Nets remodel wrote for M1001's payments (pickled by it), imported
    into the ledger, is released by the daily sweep on its date with today's connector: the payments dated up to
    its newest record go, and the next year's stay held."""
    old = written_for_nets()["hold"]
    for payment in sandbox.nets.payers["NC-1001"].transactions:
        payment["restricted"] = True  # what the previous code's erasure left: every payment restricted
    rows = import_holds("old-nets-1", "demo", "M1001", [old], [], [], None, old.retain_until)
    ledger = await open_ledger(load_settings().ledger_url)
    await ledger.seal(NewRecord("demo", "import", "old-nets-1", None, {"imported": "test"}, tuple(rows)))

    run = await flows.release(Held("old-nets-1", "nets", "bookkeeping", old.retain_until), old.retain_until)

    assert (date(2030, 12, 31), "released") == (old.retain_until, await run.result())
    assert ["2026-01-15"] == [t["transaction_date"] for t in sandbox.nets.payers["NC-1001"].transactions]
