"""Stripe, Vekstly's card payments: the customer is deleted once paid and the withdrawal period has passed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.actions import done, read_back, require
from connectors.contract import Action, Holdings, Outcome, Permanent, RetentionFacts, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register

OSLO = ZoneInfo("Europe/Oslo")
RESTRICTED = "gdpr_restricted"
MARK_RESTRICTED = {f"metadata[{RESTRICTED}]": "true"}  # form-encoded, as Stripe wants POST bodies
NOTHING_KEPT = "the chain keeps nothing at Stripe once the customer is deleted"


def facts_of(charges: list[dict[str, Any]]) -> RetentionFacts:
    """The last successful payment (the day the withdrawal period counts from) and what is still pending."""
    paid = [datetime.fromtimestamp(c["created"], UTC).astimezone(OSLO).date()
            for c in charges if c["status"] == "succeeded"]
    pending = [c for c in charges if c["status"] == "pending"]
    return RetentionFacts(last_payment_date=max(paid, default=None), open_invoices=len(pending),
                          open_amount_ore=sum(c["amount"] for c in pending))


@register("stripe")
class StripeConnector:
    """The Stripe API: customers by e-mail (a query parameter, never a path), their charges, deletion."""

    system = "stripe"

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
        """The customers with the member's e-mail (or, without one, their member id) and their payments."""
        if subject.email:
            customers = await self._all("/v1/customers", {"email": subject.email})
        else:
            customers = await self._by_member(subject.member_id)
        charges = [c for customer in customers for c in await self._charges(customer["id"])]
        categories = ({"customer"} if customers else set()) | ({"payments"} if charges else set())
        return Holdings.of(self.system, ids=[c["id"] for c in customers], categories=categories,
                           facts=facts_of(charges))

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete each customer (Stripe: a 404 `resource_missing` means already gone), or mark it restricted."""
        require(self.system, action, Action.DELETE, Action.RESTRICT)
        changed = 0
        for customer_id in holdings.ids:
            if action is Action.DELETE:
                # Stripe ignores Idempotency-Key on DELETE: deleting is idempotent by its 404.
                gone = await self._client.delete(f"/v1/customers/{customer_id}")
                changed += gone.status_code != 404
            else:
                marked = await self._client.post(f"/v1/customers/{customer_id}", data=MARK_RESTRICTED,
                                                 headers={"Idempotency-Key": f"{key}/{customer_id}"})
                changed += marked.status_code != 404
        return done(self.system, action, Status.ERASED if action is Action.DELETE else Status.RESTRICTED, changed)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Deleted: Stripe answers 404 or `deleted: true`; restricted: the metadata says so."""
        left = 0
        for customer_id in holdings.ids:
            found = await self._client.get(f"/v1/customers/{customer_id}")
            customer = {} if found.status_code == 404 else found.json()
            if action is Action.RESTRICT:
                left += bool(customer) and customer.get("metadata", {}).get(RESTRICTED) != "true"
            else:
                left += bool(customer) and not customer.get("deleted", False)
        status = Status.RESTRICTED if action is Action.RESTRICT else Status.ERASED
        return read_back(self.system, action, status, left, "customer(s)")

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str) -> Outcome:
        """Nothing is held at Stripe after deletion, so there is nothing to release."""
        return Outcome.already_absent(self.system, Action.RELEASE).with_(detail=NOTHING_KEPT)

    async def poll(self, reference: str) -> Outcome:
        """Stripe deletes at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")

    async def _by_member(self, member_id: str) -> list[dict[str, Any]]:
        found = await self._client.get("/v1/customers/search", allow=frozenset(),
                                       params={"query": f"metadata['member_id']:'{member_id}'"})
        return list(found.json()["data"])

    async def _charges(self, customer_id: str) -> list[dict[str, Any]]:
        return await self._all("/v1/charges", {"customer": customer_id})

    async def _all(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            after = {"starting_after": items[-1]["id"]} if items else {}
            page = (await self._client.get(path, params={**params, **after, "limit": 100}, allow=frozenset())).json()
            items += page["data"]
            if not page["has_more"] or not page["data"]:
                return items
