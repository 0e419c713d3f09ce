"""Stand-in for Nets: stored cards at Nexi Checkout (real read calls), and a payee's records (an assumption).

Nexi Checkout's Payment API v1 (developer.nexigroup.com/nexi-checkout/en-EU/api/payment-v1) is what this twin
answers as Nexi does: `GET /v1/subscriptions?externalReference=`, `GET /v1/subscriptions/{id}`,
`GET /v1/unscheduledsubscriptions?externalReference=`, `GET /v1/unscheduledsubscriptions/{id}`, with the secret
key itself as the `Authorization` header (no scheme). Nexi publishes no call that ends or deletes a stored card;
neither does this twin: `end_at_nexi` is what a person does with Nexi (its Portal or support), and an ended card
reads back 404 (assumption: how an ended one reads back is not documented).

Everything under `/v1/payers` is ASSUMED (no public Nets API was found): a payee's record of a member (its
AvtaleGiro mandates by KID, read only, and the payments received), restricted per category and field, and the
transactions an expired bookkeeping hold kept deleted. An AvtaleGiro mandate is between the payer and their
bank: no call here ends one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.categories import Spec, category_routes
from sandbox.exceline import BILLED_MONTHS, MONTHLY_FEE_ORE
from sandbox.exceline_records import through_of
from sandbox.journal import Journal
from sandbox.people import DemoMember, Profile

# The fields of a received payment that identify the payer; a bookkeeping hold keeps some of them.
TRANSACTION_PERSONAL = ("kid", "payer_name", "payer_email", "payer_phone", "payer_address")


@dataclass
class Payer:
    """ASSUMED: the payee's record of one payer at Nets: AvtaleGiro mandates and the payments received."""

    payer_id: str
    member_ref: str
    mandates: dict[str, dict[str, str]]
    transactions: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """The payer as the (assumed) API shows it."""
        return {"payerId": self.payer_id, "memberRef": self.member_ref,
                "avtaleGiroMandates": list(self.mandates.values()), "transactions": self.transactions}


@dataclass
class StoredCard:
    """A card stored at Nexi Checkout: a subscription (scheduled) or an unscheduled subscription."""

    subscription_id: str
    external_reference: str
    unscheduled: bool
    end_date: str = "2099-12-31"

    def as_json(self) -> dict[str, Any]:
        """The stored card as Nexi's Payment API v1 retrieves it (card details masked, as Nexi masks them)."""
        details = {"paymentType": "CARD", "paymentMethod": "Visa",
                   "cardDetails": {"maskedPan": "492500******0004", "expiryDate": "0828"}}
        if self.unscheduled:
            return {"unscheduledSubscriptionId": self.subscription_id, "paymentDetails": details}
        return {"subscriptionId": self.subscription_id, "frequency": 0, "interval": 0,
                "endDate": f"{self.end_date}T00:00:00+00:00", "paymentDetails": details}


@dataclass
class Nets:
    """Nets' state: payers (assumed) and stored cards at Nexi Checkout."""

    system = "nets"
    payers: dict[str, Payer] = field(default_factory=dict)
    cards: dict[str, StoredCard] = field(default_factory=dict)

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add the member as a payer with a year of payments; a stored card and a mandate if they have them."""
        payer = Payer(f"NC-{member.number}", member.member_id, {}, [])
        kid = f"{member.number:08d}0"
        if profile.mandate:
            payer.mandates[kid] = {"kid": kid, "status": "active", "createdAt": "2025-02-01"}
        if profile.card:
            scheduled = StoredCard(f"{member.number:08x}aaaa4bbb8ccc000000000001", member.member_id, False)
            unscheduled = StoredCard(f"{member.number:08x}aaaa4bbb8ccc000000000002", member.member_id, True)
            self.cards.update({scheduled.subscription_id: scheduled, unscheduled.subscription_id: unscheduled})
        kind = "avtalegiro" if profile.mandate else "card" if profile.card else "giro"
        payer.transactions = [
            {"transaction_id": f"T-{member.number}-{y}{m:02d}", "transaction_date": f"{y}-{m:02d}-15",
             "amount": MONTHLY_FEE_ORE, "kind": kind, "kid": kid, "payer_name": member.name,
             "payer_email": member.email, "payer_phone": member.phone, "payer_address": member.address,
             "restricted": False}
            for y, m in BILLED_MONTHS if not (profile.open_invoice and (y, m) == BILLED_MONTHS[-1])]
        self.payers[payer.payer_id] = payer

    def cards_of(self, member_id: str) -> list[StoredCard]:
        """The member's stored cards at Nexi Checkout."""
        return [card for card in self.cards.values() if card.external_reference == member_id]

    def end_at_nexi(self, member_id: str) -> int:
        """What a person does with Nexi (Portal or support): the member's stored cards end; how many did."""
        ended = self.cards_of(member_id)
        for card in ended:
            del self.cards[card.subscription_id]
        return len(ended)

    def clear(self) -> None:
        """Forget every payer and stored card."""
        self.payers.clear()
        self.cards.clear()


class SecretKeyAuth:
    """ASGI middleware: Nexi takes the secret key itself as `Authorization`; a request without one gets 401."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request with a key on; answer any other with 401."""
        if scope["type"] == "http" and not Headers(scope=scope).get("authorization", "").strip():
            await JSONResponse({"message": "Unauthorized"}, 401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build(state: Nets, journal: Journal) -> ASGIApp:
    """Nexi Checkout's stored-card reads, and the assumed payee records."""

    def not_found(what: str) -> Response:
        return JSONResponse({"message": f"{what} not found"}, 404)

    def stored(unscheduled: bool) -> Any:
        async def by_reference(request: Request) -> Response:
            reference = request.query_params.get("externalReference", "")
            found = [c for c in state.cards_of(reference) if c.unscheduled is unscheduled]
            # Nexi answers one subscription per external reference.
            return JSONResponse(found[0].as_json()) if found else not_found("subscription")

        async def by_id(request: Request) -> Response:
            card = state.cards.get(request.path_params["subscription_id"])
            return JSONResponse(card.as_json()) if card and card.unscheduled is unscheduled else not_found(
                "subscription")

        return by_reference, by_id

    async def payers(request: Request) -> Response:
        ref = request.query_params.get("memberRef")
        return JSONResponse({"data": [p.as_json() for p in state.payers.values() if p.member_ref == ref]})

    async def payer(request: Request) -> Response:
        found = state.payers.get(request.path_params["payer_id"])
        return JSONResponse(found.as_json()) if found else not_found("payer")

    async def release_transactions(request: Request) -> Response:
        payer_id = request.path_params["payer_id"]
        try:
            through = through_of(request)
        except ValueError:
            return JSONResponse({"message": "through: YYYY-MM-DD"}, 400)

        def apply() -> tuple[Response, bool]:
            found = state.payers.get(payer_id)
            if not found:
                return not_found("payer"), False
            if any(m["status"] == "active" for m in found.mandates.values()):
                # A payer whose mandate still runs still pays: their payments are in use, not merely held.
                return JSONResponse({"message": "an AvtaleGiro mandate is active"}, 409), False
            kept = [t for t in found.transactions
                    if through is not None and date.fromisoformat(t["transaction_date"]) > through]
            deleted, found.transactions = len(found.transactions) - len(kept), kept
            return JSONResponse({"payerId": payer_id, "deleted": deleted}), bool(deleted)

        owner = state.payers.get(payer_id)
        return journal.once(state.system, request, owner.member_ref if owner else None, "release", apply)

    specs = {"transactions": Spec(lambda payer: payer.transactions, TRANSACTION_PERSONAL)}
    scheduled, unscheduled = stored(False), stored(True)
    return SecretKeyAuth(Starlette(routes=[
        Route("/v1/subscriptions", scheduled[0]),
        Route("/v1/subscriptions/{subscription_id}", scheduled[1]),
        Route("/v1/unscheduledsubscriptions", unscheduled[0]),
        Route("/v1/unscheduledsubscriptions/{subscription_id}", unscheduled[1]),
        Route("/v1/payers", payers),
        Route("/v1/payers/{payer_id}", payer),
        Route("/v1/payers/{payer_id}/transactions", release_transactions, methods=["DELETE"]),
        *category_routes("/v1/payers/{payer_id}", state.payers, specs, journal, state.system,
                         lambda body, status: JSONResponse(body, status),
                         member_of=lambda _, found: str(found.member_ref)),
    ]))
