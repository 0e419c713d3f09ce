"""Nets: stored cards read at Nexi Checkout and ended by a person, mandates ended by a person, payments held per
field (the payee records are an assumed API)."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

from datetime import date

import httpx
from pydantic import SecretStr

from config.settings import ProcessorSettings
from connectors.contract import Action, CategoryErasure, Holdings, Status, Subject
from connectors.http import processor_client, use_transports
from connectors.nets import LIVE_URL, NetsConnector, address

CARDS = CategoryErasure("card_tokens", Action.DELETE)
MANDATES = CategoryErasure("avtalegiro_mandates", Action.DELETE)
KEEPS = ("transaction_id", "transaction_date", "amount", "kid", "payer_name")
PAYMENTS = CategoryErasure("transactions", Action.RESTRICT, KEEPS, "bookkeeping")


async def test_lookup_reads_stored_cards_at_nexi_and_the_payers_mandate_and_payments(open_connector, subject,
                                                                                      sandbox):
    """A member with a stored card and an AvtaleGiro mandate: their subscription and unscheduled subscription at
    Nexi (by external reference), the payer record with the mandate's KID, and twelve dated payments."""
    member = sandbox.add_member(card=True, mandate=True)
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject(member.member_id))

    cards = sorted(c.subscription_id for c in sandbox.nets.cards_of(member.member_id))
    kid = f"{member.number:08d}0"
    assert (f"payer/NC-{member.number}", f"mandate/{kid}", f"subscription/{cards[0]}",
            f"unscheduled/{cards[1]}") == holdings.ids
    assert {"card_tokens", "avtalegiro_mandates", "transactions"} == holdings.categories
    assert [("transactions", 12, date(2026, 1, 15))] == [(c.name, c.count, c.dates[-1]) for c in holdings.dated]


async def test_a_member_who_pays_the_invoice_has_payments_only(open_connector, subject):
    """M1001 pays by invoice (a KID): Nets holds their payments, no stored card and no mandate."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1001"))

    assert (("payer/NC-1001",), frozenset({"transactions"})) == (holdings.ids, holdings.categories)
    assert date(2026, 1, 15) == holdings.facts.last_transaction_date


async def test_nexi_is_sent_the_secret_key_itself_as_authorization():
    """Nexi Checkout takes the secret key as the Authorization header, no scheme; with no base URL set, slett
    reaches Nexi's live address."""
    sent: list[httpx.Request] = []

    def nexi(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": []}) if request.url.path == "/v1/payers" else httpx.Response(404)

    live = ProcessorSettings(api_key=SecretStr("live-secret-key"))
    with use_transports({"nets": httpx.MockTransport(nexi)}):
        async with processor_client("nets", live, address=address(live)) as client:
            await NetsConnector(client).lookup(Subject("demo", "M9"))

    assert {"live-secret-key"} == {r.headers["authorization"] for r in sent}
    assert [f"{LIVE_URL}/v1/payers", f"{LIVE_URL}/v1/subscriptions", f"{LIVE_URL}/v1/unscheduledsubscriptions"] == [
        str(r.url.copy_with(query=None)) for r in sent]
    assert "M9" == sent[1].url.params["externalReference"]


async def test_stored_cards_are_a_persons_step_and_are_read_back_at_nexi(open_connector, subject, sandbox):
    """No call ends a stored card: erasing them is a person's step naming the Nexi ids, nothing is sent to
    Nexi, and the read-back fails until the person has ended them with Nexi, then verifies."""
    member = sandbox.add_member(card=True)
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject(member.member_id))
        step = await nets.erase_category(holdings, CARDS, "k1")
        before = await nets.verify_category(holdings, CARDS)
        sandbox.nets.end_at_nexi(member.member_id)
        after = await nets.verify_category(holdings, CARDS)

    ids = [c.partition("/")[2] for c in holdings.ids if c.startswith(("subscription/", "unscheduled/"))]
    assert (Status.MANUAL, 2, None) == (step.status, step.count, step.verified)
    assert all(nexi_id in step.detail for nexi_id in ids) and "no call that ends one" in step.detail
    assert [] == sandbox.applied_calls(member.member_id)
    assert (Status.FAILED, False, "read-back: 2 card(s) stored at Nexi Checkout still held") == (
        before.status, before.verified, before.detail)
    assert (Status.ERASED, True) == (after.status, after.verified)


async def test_a_mandate_is_a_persons_step_whose_confirmation_stands(open_connector, subject, sandbox):
    """An AvtaleGiro mandate is between the payer and their bank: erasing it is a person's step naming its KID,
    no call is made, and its read-back is left to the person's confirmation (verified unknown)."""
    member = sandbox.add_member(mandate=True)
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject(member.member_id))
        step = await nets.erase_category(holdings, MANDATES, "k1")
        check = await nets.verify_category(holdings, MANDATES)

    assert (Status.MANUAL, 1) == (step.status, step.count)
    assert f"KID {member.number:08d}0" in step.detail and "online bank" in step.detail
    assert (Status.MANUAL, None) == (check.status, check.verified)
    assert "active" == sandbox.nets.payers[f"NC-{member.number}"].mandates[f"{member.number:08d}0"]["status"]
    assert [] == sandbox.applied_calls(member.member_id)


async def test_held_payments_keep_the_bookkeeping_fields_restricted_and_nothing_else(open_connector, subject,
                                                                                      sandbox):
    """Each held payment keeps its id, date, amount, KID and the payer's name, restricted; the payer's e-mail,
    phone and address are gone from it; the read-back per field verifies."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1001"))
        outcome = await nets.erase_category(holdings, PAYMENTS, "k1")
        check = await nets.verify_category(holdings, PAYMENTS)

    payments = sandbox.nets.payers["NC-1001"].transactions
    member = sandbox.member("M1001")
    assert (Status.RESTRICTED, True) == (outcome.status, check.verified)
    assert {(True, member.name, None, None, None)} == {
        (t["restricted"], t["payer_name"], t["payer_email"], t["payer_phone"], t["payer_address"]) for t in payments}
    assert 12 == len(payments)


async def test_a_payment_keeping_more_than_its_hold_fails_the_read_back(open_connector, subject):
    """A hold that keeps only the id, date and amount finds the KID and the payer's name still filled: the
    read-back names those fields and does not verify."""
    narrow = CategoryErasure("transactions", Action.RESTRICT, ("transaction_id", "transaction_date", "amount"),
                             "bookkeeping")
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1001"))
        await nets.erase_category(holdings, PAYMENTS, "k1")
        check = await nets.verify_category(holdings, narrow)

    assert (False, "read-back of transactions: field(s) the hold does not keep: kid, payer_name") == (
        check.verified, check.detail)


async def test_a_block_erase_from_an_older_plan_is_a_persons_step_with_payments_restricted(open_connector, subject,
                                                                                           sandbox):
    """A plan from before data maps erases Nets as a block: the payments are restricted keeping the bookkeeping
    fields at once, and the stored cards and the mandate are left to a person's step."""
    member = sandbox.add_member(card=True, mandate=True)
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject(member.member_id))
        outcome = await nets.erase(holdings, Action.DELETE, "k1")

    payment = sandbox.nets.payers[f"NC-{member.number}"].transactions[0]
    assert Status.MANUAL == outcome.status
    assert "stored at Nexi Checkout" in outcome.detail and "AvtaleGiro mandate" in outcome.detail
    assert (True, None) == (payment["restricted"], payment["payer_email"])
    assert ["restrict:transactions"] == [c.action for c in sandbox.applied_calls(member.member_id)]


async def test_a_member_paying_by_invoice_is_erased_without_a_person(open_connector, subject):
    """With payments only, a block erase restricts them and is done at once; its read-back verifies."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1001"))
        outcome = await nets.erase(holdings, Action.DELETE, "k1")
        check = await nets.verify(holdings, Action.DELETE)

    assert (Status.ERASED, 1, True) == (outcome.status, outcome.count, check.verified)


async def test_a_job_older_code_was_given_is_a_persons_step(open_connector):
    """Nets runs no jobs: polling a mandate-deletion job older code was answered with (an endpoint no real API
    has) is a person's step for the mandate, not an error."""
    async with open_connector("nets") as (nets, client):
        polled = await nets.poll("job_00001")

    assert (Status.MANUAL, Action.DELETE, 0) == (polled.status, polled.action, client.attempts)
    assert "AvtaleGiro mandate" in polled.detail


async def test_holdings_from_older_code_release_their_payer(open_connector, sandbox):
    """Holdings older code found ("customer/…", "card/…", "mandate/…") release the payer's payments."""
    old = Holdings.of("nets", ids=["customer/NC-1004", "card/tok_001004a"])
    async with open_connector("nets") as (nets, _):
        outcome = await nets.release(old, ("transactions",), "r1")
        after = await nets.verify(old, Action.RELEASE)

    assert (Status.ERASED, 12, True) == (outcome.status, outcome.count, after.verified)
    assert [] == sandbox.nets.payers["NC-1004"].transactions


async def test_open_invoice_month_has_no_transaction(open_connector, subject):
    """An unpaid month has no payment, so the last payment is the month before."""
    async with open_connector("nets") as (nets, _):
        holdings = await nets.lookup(subject("M1002"))

    assert date(2025, 12, 15) == holdings.facts.last_transaction_date
