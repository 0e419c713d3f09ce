"""Stripe: customers by e-mail, the last payment for the withdrawal period, deletion with Stripe's 404."""

# House style asserts `expected == actual`, which ruff calls a Yoda condition.

from __future__ import annotations

import pytest

from connectors.contract import Action, Holdings, Permanent, RetentionFacts, Status, Subject
from connectors.http import use_transports
from connectors.registry import connect
from sandbox.people import COURSE_PAID_ON
from sandbox.stripe import COURSE_FEE_ORE, stripe_id

CUSTOMER = stripe_id("cus", "M1301")
CHARGE = stripe_id("ch", "M1301")


async def test_lookup_reports_the_last_payment(open_connector, subject):
    """A paid course shows as the customer, their payment (its charge) and the day of the last successful
    payment, which is also the payment's bookkeeping date."""
    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(subject("M1301"))

    assert ((CUSTOMER, CHARGE), {"customer", "payments"}) == (holdings.ids, holdings.categories)
    assert RetentionFacts(last_payment_date=COURSE_PAID_ON, transaction_dates=(COURSE_PAID_ON,)) == holdings.facts


async def test_pending_payment_is_open(open_connector, subject):
    """A payment not yet through counts as open, and there is no successful payment to count from."""
    async with open_connector("stripe") as (stripe, _):
        facts = (await stripe.lookup(subject("M1303"))).facts

    assert RetentionFacts(open_invoices=1, open_amount_ore=COURSE_FEE_ORE) == facts


async def test_lookup_pages_through_every_customer(open_connector, subject, sandbox):
    """Customers beyond Stripe's page size of 100 are found by following has_more."""
    member = sandbox.member("M1301")
    for n in range(150):
        sandbox.stripe.create({"email": member.email}, {}, seed=f"extra-{n}", created=0)

    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(subject("M1301"))

    assert 151 == len({held for held in holdings.ids if held.startswith("cus_")})


async def test_contact_and_settlement_by_member_id(open_connector, sandbox):
    """The member id in the customer's metadata finds their contact details and payment facts (search API)."""
    member = sandbox.member("M1303")
    async with open_connector("stripe") as (stripe, _):
        contact = await stripe.contact("M1303", controller="vekstly")
        facts = await stripe.settlement("M1303")
        nobody = await stripe.contact("M9999")

    assert Subject("vekstly", "M1303", email=member.email, phone=member.phone, name=member.name) == contact
    assert (1, None) == (facts.open_invoices, nobody)


async def test_lookup_without_email_uses_the_member_id(open_connector):
    """Without an e-mail the customer is found by the member id in its metadata."""
    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(Subject("vekstly", "M1301"))

    assert (CUSTOMER, CHARGE) == holdings.ids


async def test_delete_round_trip(open_connector, subject, sandbox):
    """Deleting the customer is verified (Stripe then shows `deleted: true`); again, it is already absent."""
    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(subject("M1301"))
        outcome = await stripe.erase(holdings, Action.DELETE, "k1")
        check = await stripe.verify(holdings, Action.DELETE)
        again = await stripe.erase(holdings, Action.DELETE, "k1")
        after = await stripe.lookup(subject("M1301"))

    assert (Status.ERASED, 1) == (outcome.status, outcome.count)
    assert (Status.ERASED, True) == (check.status, check.verified)
    assert Status.ALREADY_ABSENT == again.status
    assert "M1301" == sandbox.stripe.deleted[CUSTOMER]
    assert ((CHARGE,), {"payments"}) == (after.ids, after.categories)  # the payment record stays (bookkeeping)


async def test_verify_before_deleting_fails(open_connector, subject):
    """A customer still there is not verified as deleted."""
    async with open_connector("stripe") as (stripe, _):
        check = await stripe.verify(await stripe.lookup(subject("M1301")), Action.DELETE)

    assert (Status.FAILED, False) == (check.status, check.verified)


async def test_restrict_marks_the_customer_with_an_idempotent_post(open_connector, subject, sandbox):
    """Restricting sets a metadata mark with a form-encoded POST carrying an Idempotency-Key; verified."""
    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(subject("M1301"))
        outcome = await stripe.erase(holdings, Action.RESTRICT, "slett:r1:stripe:restrict")
        check = await stripe.verify(holdings, Action.RESTRICT)

    assert (Status.RESTRICTED, True) == (outcome.status, check.verified)
    assert "true" == sandbox.stripe.customers[CUSTOMER]["metadata"]["gdpr_restricted"]
    assert [f"slett:r1:stripe:restrict/{CUSTOMER}"] == [c.key for c in sandbox.applied_calls("M1301")]


async def test_anonymise_is_not_offered(open_connector):
    """Stripe customers are deleted or restricted, never anonymised."""
    async with open_connector("stripe") as (stripe, _):
        with pytest.raises(Permanent, match="anonymise is not offered"):
            await stripe.erase(Holdings.of("stripe", ids=[CUSTOMER]), Action.ANONYMISE, "k")


async def test_searches_page_to_the_end(open_connector, sandbox):
    """A member's charges beyond one search page (Stripe's `has_more`/`next_page`) are all found."""
    [course] = [c for c in sandbox.stripe.charges if c["metadata"].get("member_id") == "M1301"]
    sandbox.stripe.charges += [{**course, "id": f"ch_extra{n:03d}", "customer": None} for n in range(130)]

    async with open_connector("stripe") as (stripe, _):
        holdings = await stripe.lookup(Subject("vekstly", "M1301"))

    assert 131 == len([held for held in holdings.ids if held.startswith("ch_")])


async def test_the_configured_stripe_version_goes_with_every_call(open_connector, make_settings, stripe_spec,
                                                                 subject):
    """Every call carries Stripe-Version as configured (the spec check sees each one carry it)."""
    stripe_spec.version = "2024-06-20"
    async with open_connector("stripe", settings=make_settings(api_version="2024-06-20")) as (stripe, _):
        holdings = await stripe.lookup(subject("M1301"))
        await stripe.erase(holdings, Action.DELETE, "k1")

    assert len(stripe_spec.checked) >= 4


async def test_a_404_that_is_not_resource_missing_is_an_error(sandbox, make_settings, policy):
    """A wrong base path answers Stripe's 404 without `resource_missing`: an error naming Stripe's error type,
    never a customer taken for already deleted."""
    settings = make_settings(base_url="http://stripe.sandbox/wrong")
    with use_transports(sandbox.transports()):
        async with connect("stripe", settings, policy) as (stripe, _):
            with pytest.raises(Permanent, match=r"delete customer: HTTP 404 \(invalid_request_error\)"):
                await stripe.erase(Holdings.of("stripe", ids=[CUSTOMER]), Action.DELETE, "k1")

    assert CUSTOMER in sandbox.stripe.customers
