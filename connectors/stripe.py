"""Stripe, Vekstly's card payments: the customer is deleted once paid and the withdrawal period has passed;
the charges stay at Stripe as the payment records bookkeeping keeps, and are redacted when that hold ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors import stripe_api, stripe_jobs
from connectors.actions import CATEGORY_STATUS, category_read_back, done, read_back, require
from connectors.contract import (
    Action,
    Category,
    CategoryCheck,
    CategoryErasure,
    Holdings,
    Outcome,
    Permanent,
    RetentionFacts,
    Status,
    Subject,
    distinct_days,
)
from connectors.http import ProcessorClient
from connectors.registry import register
from connectors.releases import BOOKKEEPING, releasable

OSLO = ZoneInfo("Europe/Oslo")
RESTRICTED = "gdpr_restricted"
MARK_RESTRICTED = {f"metadata[{RESTRICTED}]": "true"}  # form-encoded, as Stripe wants POST bodies
KEPT = "customer deleted; its charges stay at Stripe as payment records for bookkeeping (bokføringsloven § 13)"
REDACTED = "payment records redacted at Stripe: the bookkeeping hold expired"
HELD_CHARGES = ("charges kept at Stripe as payment records for bookkeeping (bokføringsloven § 13), restricted; "
                "their description emptied")
Read = Callable[[dict[str, Any]], Any]
# A customer's personal fields as slett names them, how each is read, and the form field that empties it
# (Stripe sets a field to null when it is sent empty, and unsets a metadata key sent empty).
CUSTOMER: dict[str, tuple[Read, str | None]] = {
    "name": (lambda c: c.get("name"), "name"),
    "email": (lambda c: c.get("email"), "email"),
    "phone": (lambda c: c.get("phone"), "phone"),
    "address": (lambda c: c.get("address"), "address"),
    "shipping": (lambda c: c.get("shipping"), "shipping"),
    "description": (lambda c: c.get("description"), "description"),
    "member_id": (lambda c: (c.get("metadata") or {}).get("member_id"), "metadata[member_id]"),
}
# A charge's: Stripe updates only a charge's description, metadata, receipt_email, shipping and fraud_details
# (POST /v1/charges/{charge}), and empties only the description and metadata keys; billing details are the
# payment method's at the time and stay until the charge is redacted.
CHARGE: dict[str, tuple[Read, str | None]] = {
    "billing_name": (lambda c: (c.get("billing_details") or {}).get("name"), None),
    "billing_address": (lambda c: (c.get("billing_details") or {}).get("address"), None),
    "billing_email": (lambda c: (c.get("billing_details") or {}).get("email"), None),
    "billing_phone": (lambda c: (c.get("billing_details") or {}).get("phone"), None),
    "receipt_email": (lambda c: c.get("receipt_email"), None),
    "shipping": (lambda c: c.get("shipping"), None),
    "description": (lambda c: c.get("description"), "description"),
    "member_id": (lambda c: (c.get("metadata") or {}).get("member_id"), "metadata[member_id]"),
}
FIELDS: dict[str, dict[str, tuple[Read, str | None]]] = {"customer": CUSTOMER, "payments": CHARGE}
NO_DELETE = ("Stripe deletes no charge: a charge is a payment record, held restricted and redacted by a redaction "
             "job when its hold ends")


def paid_on(charge: dict[str, Any]) -> date:
    """The day a charge was made, in Oslo."""
    return datetime.fromtimestamp(charge["created"], UTC).astimezone(OSLO).date()


def facts_of(charges: list[dict[str, Any]]) -> RetentionFacts:
    """The last successful payment (the withdrawal period counts from it), each payment's day, what is pending."""
    paid = [paid_on(c) for c in charges if c["status"] == "succeeded"]
    pending = [c for c in charges if c["status"] == "pending"]
    return RetentionFacts(last_payment_date=max(paid, default=None), open_invoices=len(pending),
                          open_amount_ore=sum(c["amount"] for c in pending), transaction_dates=distinct_days(paid))


def customers_of(holdings: Holdings) -> list[str]:
    """The customer ids among the holdings' ids (the rest are charges: Stripe's ids say what they are)."""
    return [held for held in holdings.ids if held.startswith("cus_")]


def charges_of(holdings: Holdings) -> list[str]:
    """The charge ids among the holdings' ids."""
    return [held for held in holdings.ids if held.startswith("ch_")]


def filled_fields(found: dict[str, Any], fields: dict[str, tuple[Read, str | None]]) -> tuple[str, ...]:
    """The personal fields of a Stripe object that carry a value ("[redacted]" is none)."""
    return tuple(name for name, (read, _) in fields.items() if read(found) not in (None, "", {}, "[redacted]"))


@register("stripe")
class StripeConnector:
    """The Stripe API: customers by e-mail (a query parameter, never a path), their charges, deletion."""

    system = "stripe"
    address = staticmethod(stripe_api.address)

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def contact(self, member_id: str, controller: str = "") -> Subject | None:
        """The customer's e-mail, phone and name, found by the member id in its metadata; None once deleted."""
        found = await self._by_member(member_id)
        if not found:
            return None
        return Subject(controller, member_id, email=found[0]["email"], phone=found[0]["phone"],
                       name=found[0]["name"])

    async def settlement(self, member_id: str) -> RetentionFacts:
        """Pending payments and the last successful one, for the member's customers."""
        charges = [c for customer in await self._by_member(member_id) for c in await self._charges(customer["id"])]
        return facts_of(charges)

    async def lookup(self, subject: Subject) -> Holdings:
        """Customers with the member's e-mail (or member id) and their payments, a deleted customer's too."""
        if subject.email:
            customers = await stripe_api.every(self._client, "/v1/customers", {"email": subject.email})
        else:
            customers = await self._by_member(subject.member_id)
        found = {c["id"]: c for customer in customers for c in await self._charges(customer["id"])}
        # Vekstly puts the member id in each charge's metadata: a deleted customer's charges are found by it.
        found |= {c["id"]: c for c in await self._charges_of_member(subject.member_id)}
        charges = [c for c in found.values() if c.get("redaction") is None]
        categories = ({"customer"} if customers else set()) | ({"payments"} if charges else set())
        dated = (Category("payments", len(charges), distinct_days(paid_on(c) for c in charges)),) if charges else ()
        return Holdings.of(self.system, ids=[c["id"] for c in customers] + [c["id"] for c in charges],
                           categories=categories, facts=facts_of(charges), dated=dated)

    async def erase_category(self, holdings: Holdings, erasure: CategoryErasure, key: str) -> Outcome:
        """The customer: deleted, or restricted (metadata marker) with every field its hold does not keep emptied;
        payments: restricted, their description and metadata emptied where not kept (Stripe deletes no charge)."""
        fields = self._fields(erasure)
        if erasure.category == "payments":
            require(self.system, erasure.action, Action.RESTRICT, why=NO_DELETE)
        else:
            require(self.system, erasure.action, Action.DELETE, Action.RESTRICT)
        path = "/v1/customers/" if erasure.category == "customer" else "/v1/charges/"
        ids = customers_of(holdings) if erasure.category == "customer" else charges_of(holdings)
        changed = 0
        for object_id in ids:
            if erasure.action is Action.DELETE:
                # Stripe ignores Idempotency-Key on DELETE: deleting is idempotent by its 404.
                answer = await self._client.delete(f"{path}{object_id}")
            else:
                form = await self._restriction(path + object_id, fields, erasure.keeps)
                answer = await self._client.post(f"{path}{object_id}", data=form,
                                                 headers={"Idempotency-Key": f"{key}/{object_id}"})
            changed += not stripe_api.gone(self.system, answer, f"{erasure.action} {erasure.category}")
        detail = HELD_CHARGES if erasure.category == "payments" else ""
        return done(self.system, erasure.action, CATEGORY_STATUS[erasure.action], changed, detail=detail)

    async def verify_category(self, holdings: Holdings, erasure: CategoryErasure) -> Outcome:
        """Read the customer or each charge back field by field: gone or deleted, or restricted with only the
        fields its hold keeps."""
        fields = self._fields(erasure)
        ids = customers_of(holdings) if erasure.category == "customer" else charges_of(holdings)
        path = "/v1/customers/" if erasure.category == "customer" else "/v1/charges/"
        checks = []
        for object_id in ids:
            answer = await self._client.get(f"{path}{object_id}")
            found = {} if stripe_api.gone(self.system, answer, f"GET {erasure.category}") else answer.json()
            if found and not found.get("deleted", False):
                restricted = (found.get("metadata") or {}).get(RESTRICTED) == "true"
                filled = filled_fields(found, fields)
                # Stripe's fields are nullable and often never set, and slett never sends a kept one: a kept field
                # read back empty was empty before, so it is not counted as lost.
                personal = tuple(n for n in fields if n in filled or n not in erasure.keeps)
                checks.append(CategoryCheck(erasure.category, 1, restricted, filled, personal))
        return category_read_back(self.system, erasure, checks)

    def _fields(self, erasure: CategoryErasure) -> dict[str, tuple[Read, str | None]]:
        if erasure.category not in FIELDS:
            raise Permanent(self.system, f"no category {erasure.category!r} at Stripe; known: {sorted(FIELDS)}")
        return FIELDS[erasure.category]

    async def _restriction(self, path: str, fields: dict[str, tuple[Read, str | None]],
                           keeps: tuple[str, ...]) -> dict[str, str]:
        """The form that restricts an object and empties its fields not kept; refused, before any change, when a
        field Stripe cannot empty carries a value the hold does not keep."""
        answer = await self._client.get(path)
        found = {} if stripe_api.gone(self.system, answer, "GET") else answer.json()
        stuck = sorted(n for n in filled_fields(found, fields) if n not in keeps and fields[n][1] is None)
        if stuck:
            raise Permanent(self.system, f"{path.rsplit('/', 2)[-2]}: Stripe offers no call that empties "
                                         f"{', '.join(stuck)}; keep them under the hold (its release redacts them)")
        emptied = {form: "" for name, (_, form) in fields.items() if form and name not in keeps}
        return {**emptied, **MARK_RESTRICTED}

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete each customer (Stripe: a 404 `resource_missing` means already gone), or mark it restricted."""
        require(self.system, action, Action.DELETE, Action.RESTRICT)
        changed = 0
        for customer_id in customers_of(holdings):
            if action is Action.DELETE:
                # Stripe ignores Idempotency-Key on DELETE: deleting is idempotent by its 404.
                answer = await self._client.delete(f"/v1/customers/{customer_id}")
            else:
                answer = await self._client.post(f"/v1/customers/{customer_id}", data=MARK_RESTRICTED,
                                                 headers={"Idempotency-Key": f"{key}/{customer_id}"})
            changed += not stripe_api.gone(self.system, answer, f"{action} customer")
        if action is Action.DELETE:
            return done(self.system, action, Status.ERASED, changed, detail=KEPT if len(holdings.ids) > changed else "")
        return done(self.system, action, Status.RESTRICTED, changed)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Deleted: Stripe answers 404 or `deleted: true`; restricted: the metadata says so."""
        left = 0
        for customer_id in customers_of(holdings):
            found = await self._client.get(f"/v1/customers/{customer_id}")
            customer = {} if stripe_api.gone(self.system, found, "GET customer") else found.json()
            if action is Action.RESTRICT:
                left += bool(customer) and customer.get("metadata", {}).get(RESTRICTED) != "true"
            else:
                left += bool(customer) and not customer.get("deleted", False)
        status = Status.RESTRICTED if action is Action.RESTRICT else Status.ERASED
        return read_back(self.system, action, status, left, "customer(s)")

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Redact the charges an expired bookkeeping hold kept, those made up to `through` (Stripe deletes none)."""
        releasable(self.system, categories, BOOKKEEPING)
        charges = [c for c in await self._charges_by_id(holdings) if through is None or paid_on(c) <= through]
        if not charges:
            return Outcome.already_absent(self.system, Action.RELEASE)
        jobs = await stripe_jobs.start(self._client, [c["id"] for c in charges], key)
        # Stripe validates a new job before it can run, and may take days to redact: the jobs are the reference.
        return (await self.poll(" ".join(jobs))).with_(count=len(charges))

    async def poll(self, reference: str) -> Outcome:
        """Redaction jobs moved on (each run once ready): erased once all succeeded, failed with Stripe's reasons."""
        jobs = reference.split()
        if not jobs or not all(job.startswith("prj_") for job in jobs):
            raise Permanent(self.system, f"no asynchronous jobs but redactions (asked for {reference})")
        progress = await stripe_jobs.progress(self._client, jobs)
        if progress.running:
            return Outcome.accepted(self.system, reference, Action.RELEASE).with_(count=progress.redacted)
        if progress.failures:
            # The other jobs ran to the end first: what they redacted stays redacted, the rest is escalated.
            return Outcome(self.system, Status.FAILED, Action.RELEASE, count=progress.redacted, reference=reference,
                           verified=False, detail="Stripe's redaction: " + " | ".join(progress.failures))
        return Outcome(self.system, Status.ERASED, Action.RELEASE, count=progress.redacted, reference=reference,
                       detail=REDACTED)

    async def _by_member(self, member_id: str) -> list[dict[str, Any]]:
        return await stripe_api.search(self._client, "/v1/customers/search", f"metadata['member_id']:'{member_id}'")

    async def _charges(self, customer_id: str) -> list[dict[str, Any]]:
        return await stripe_api.every(self._client, "/v1/charges", {"customer": customer_id})

    async def _charges_of_member(self, member_id: str) -> list[dict[str, Any]]:
        return await stripe_api.search(self._client, "/v1/charges/search", f"metadata['member_id']:'{member_id}'")

    async def _charges_by_id(self, holdings: Holdings) -> list[dict[str, Any]]:
        charges = []
        for charge_id in (held for held in holdings.ids if held.startswith("ch_")):
            found = await self._client.get(f"/v1/charges/{charge_id}")
            if not stripe_api.gone(self.system, found, "GET charge") and found.json().get("redaction") is None:
                charges.append(found.json())
        return charges
