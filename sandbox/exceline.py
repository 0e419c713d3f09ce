"""Stand-in for Exceline, the membership system: members, invoices, visits, consents (partner REST)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.auth import BearerAuth
from sandbox.categories import Spec, category_routes
from sandbox.exceline_records import PERSONAL_RECORDS, add_record, record_routes, restrict_records, through_of
from sandbox.guests import Guests, bulk_ids
from sandbox.journal import Journal
from sandbox.people import DemoMember, Profile

MONTHLY_FEE_ORE = 59_900
Endpoint = Callable[[Request], Awaitable[Response]]
BILLED_MONTHS = [(2025, month) for month in range(2, 13)] + [(2026, 1)]
CONTRACT_ENDED = date(2026, 1, 31)  # the demo members' membership contract: signed February 2025, a year


def kid(digits: str) -> str:
    """A KID number: the digits and their MOD10 (Luhn) check digit, as Norwegian banks expect."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return f"{digits}{(10 - total % 10) % 10}"


@dataclass
class Invoice:
    """One invoice; kept (restricted) when the member is anonymised."""

    invoice_id: str
    invoice_date: date
    due_date: date
    amount_ore: int
    open_amount_ore: int
    status: str
    kid: str
    restricted: bool = False
    # The buyer as the sales document names them (bokføringsforskriften § 5-1-1), and how to reach them.
    buyer_name: str | None = None
    buyer_address: str | None = None
    buyer_email: str | None = None
    buyer_phone: str | None = None
    claim: dict[str, Any] | None = None  # the debt collection case, with the debtor's identity

    def as_json(self) -> dict[str, Any]:
        """The invoice as the API shows it."""
        return {"invoiceId": self.invoice_id, "invoiceDate": self.invoice_date.isoformat(),
                "dueDate": self.due_date.isoformat(), "amountOre": self.amount_ore,
                "openAmountOre": self.open_amount_ore, "status": self.status, "kid": self.kid,
                "restricted": self.restricted, "buyerName": self.buyer_name, "buyerAddress": self.buyer_address,
                "buyerEmail": self.buyer_email, "buyerPhone": self.buyer_phone,
                "collectionCase": self.claim["collection_case"] if self.claim else None}


@dataclass
class Member:
    """A member record with contact details, visits, consents and invoices."""

    member_id: str
    first_name: str | None
    last_name: str | None
    email: str | None
    mobile: str | None
    address: str | None
    invoices: list[Invoice]
    visits: list[dict[str, str]]
    consents: list[dict[str, Any]]
    has_photo: bool = True
    status: str = "terminated"
    anonymised: bool = False
    restricted: bool = False
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # sandbox/exceline_records.py

    def as_json(self) -> dict[str, Any]:
        """The member as the API shows it."""
        return {"memberId": self.member_id, "firstName": self.first_name, "lastName": self.last_name,
                "email": self.email, "mobile": self.mobile, "address": self.address,
                "status": self.status, "hasPhoto": self.has_photo, "anonymised": self.anonymised,
                "restricted": self.restricted}

    def owes(self) -> bool:
        """Whether any invoice is open or in collection."""
        return any(invoice.open_amount_ore for invoice in self.invoices)


def invoices_for(member: DemoMember, profile: Profile) -> list[Invoice]:
    """A year of monthly invoices, paid unless the profile leaves the last one open or one in collection."""
    invoices = []
    for year, month in BILLED_MONTHS:
        status = "paid"
        if profile.open_invoice and (year, month) == BILLED_MONTHS[-1]:
            status = "open"
        if profile.in_collection and (year, month) == (2025, 11):
            status = "collection"
        open_ore = 0 if status == "paid" else MONTHLY_FEE_ORE
        claim = claim_of(member, f"INK-{member.number}-{year}{month:02d}") if status == "collection" else None
        invoices.append(Invoice(f"INV-{member.number}-{year}{month:02d}", date(year, month, 1),
                                date(year, month, 15), MONTHLY_FEE_ORE, open_ore, status,
                                kid(f"{member.number:07d}{year % 100:02d}{month:02d}"), False,
                                member.name, member.address, member.email, member.phone, claim))
    return invoices


def claim_of(member: DemoMember, case: str) -> dict[str, Any]:
    """A debt collection case: the claim and the debtor as the collector knows them."""
    return {"collection_case": case, "debtor_name": member.name, "debtor_address": member.address,
            "debtor_birth_date": member.birth_date, "debtor_email": member.email, "debtor_phone": member.phone,
            "restricted": False}


BUYER = ("buyer_name", "buyer_address", "buyer_email", "buyer_phone")
DEBTOR = ("debtor_name", "debtor_address", "debtor_birth_date", "debtor_email", "debtor_phone")


def drop_paid_claims(invoices: list[Any]) -> int:
    """Close the collection cases of paid invoices (the claim and what was kept for it go); how many."""
    paid = [i for i in invoices if i.claim and not (i.open_amount_ore if hasattr(i, "open_amount_ore")
                                                    else i.balance_ore)]
    for invoice in paid:
        invoice.claim = None
    return len(paid)


@dataclass
class Exceline:
    """Exceline's state: members by id."""

    system = "exceline"
    members: dict[str, Member] = field(default_factory=dict)
    guests: Guests = field(default_factory=lambda: Guests(prefix="G", first=500_001))

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add a demo member with a year of invoices, some visits and two consents."""
        visits = [{"visitId": f"V-{member.number}-{day}", "date": f"2026-01-{day:02d}", "club": "Sentrum"}
                  for day in (5, 12, 19)]
        consents = [{"purpose": purpose, "granted": True, "changedAt": "2025-02-01"}
                    for purpose in ("newsletter", "sms")]
        self.members[member.member_id] = Member(
            member.member_id, member.first_name, member.last_name, member.email, member.phone,
            member.address, invoices_for(member, profile), visits, consents)
        add_record(self.members[member.member_id], "contracts", profile.member_until or CONTRACT_ENDED)
        if profile.member_until:  # the membership still runs: its contract ends on that day
            self.members[member.member_id].status = "active"
        for kind, day in profile.records:
            add_record(self.members[member.member_id], kind, day)

    def settle(self, member_id: str) -> int:
        """Pay every open or collected invoice of the member; how many were paid."""
        paid = 0
        for invoice in self.members[member_id].invoices:
            if invoice.open_amount_ore:
                invoice.open_amount_ore, invoice.status, paid = 0, "paid", paid + 1
        return paid

    def clear(self) -> None:
        """Forget every member and guest."""
        self.members.clear()
        self.guests.clear()


def anonymise(member: Member) -> None:
    """Remove everything that points to the person; keep invoice lines, restricted (bokføringsloven §13)."""
    member.first_name = member.last_name = member.email = member.mobile = member.address = None
    member.visits, member.has_photo, member.anonymised = [], False, True
    for invoice in member.invoices:
        invoice.restricted = True
    restrict_records(member)


def _records(kind: str) -> Spec:
    return Spec(lambda m: m.records.setdefault(kind, []), PERSONAL_RECORDS.get(kind, ()))


SPECS = {
    "profile": Spec(lambda m: m, ("first_name", "last_name", "email", "mobile", "address"), listed=False),
    "photo": Spec(lambda m: m, ("has_photo",), listed=False),
    "visits": Spec(lambda m: m.visits, ()),
    "consents": Spec(lambda m: m.consents, ()),
    "invoices": Spec(lambda m: m.invoices, BUYER),
    "claim": Spec(lambda m: [i.claim for i in m.invoices if i.claim], DEBTOR,
                  drop=lambda m: drop_paid_claims(m.invoices)),
    **{kind: _records(kind) for kind in ("contracts", "purchases", "exclusions", "camera", "guardians")},
}


def _applied(member: Member, category: str, action: str) -> None:
    if category == "profile":  # nothing left to look the member up by: the record counts as anonymised
        member.anonymised = True


def build(state: Exceline, journal: Journal) -> ASGIApp:
    """Exceline's partner API."""

    def not_found() -> Response:
        return JSONResponse({"error": "member not found"}, 404)

    async def member(request: Request) -> Response:
        found = state.members.get(request.path_params["member_id"])
        return JSONResponse(found.as_json()) if found else not_found()

    def listing(part: Callable[[Member], list[Any]]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            found = state.members.get(request.path_params["member_id"])
            return JSONResponse(part(found)) if found else not_found()
        return endpoint

    async def withdraw(request: Request) -> Response:
        found = state.members.get(request.path_params["member_id"])
        if not found:
            return not_found()
        granted = [c for c in found.consents if c["granted"]]
        for consent in granted:
            consent.update(granted=False, changedAt=date.today().isoformat())
        return JSONResponse({"memberId": found.member_id, "withdrawn": len(granted)})

    async def anonymise_member(request: Request) -> Response:
        member_id = request.path_params["member_id"]

        def apply() -> tuple[Response, bool]:
            found = state.members.get(member_id)
            if not found:
                return not_found(), False
            if found.owes():
                return JSONResponse({"error": "member has open invoices; settle or restrict"}, 409), False
            changed = not found.anonymised
            anonymise(found)
            restricted = len(found.invoices)
            return JSONResponse({"memberId": member_id, "anonymised": True, "changed": changed,
                                 "invoicesRestricted": restricted}), changed

        return journal.once(state.system, request, _known(state, member_id), "anonymise", apply)

    async def restrict_member(request: Request) -> Response:
        member_id = request.path_params["member_id"]

        def apply() -> tuple[Response, bool]:
            found = state.members.get(member_id)
            if not found:
                return not_found(), False
            changed, found.restricted = not found.restricted, True
            restrict_records(found)
            return JSONResponse({"memberId": member_id, "restricted": True, "changed": changed}), changed

        return journal.once(state.system, request, _known(state, member_id), "restrict", apply)

    base = "/api/v1/members/{member_id}"
    return BearerAuth(Starlette(routes=[
        *guest_routes(state, journal),
        *record_routes(state, journal),
        *category_routes(base, state.members, SPECS, journal, state.system,
                         lambda body, status: JSONResponse(body, status), _applied),
        Route(f"{base}/invoices", release_invoices(state, journal), methods=["DELETE"]),
        Route(base, member),
        Route(f"{base}/invoices", listing(lambda m: [invoice.as_json() for invoice in m.invoices])),
        Route(f"{base}/visits", listing(lambda m: m.visits)),
        Route(f"{base}/consents", listing(lambda m: m.consents)),
        Route(f"{base}/consents/withdraw", withdraw, methods=["POST"]),
        Route(f"{base}/anonymise", anonymise_member, methods=["POST"]),
        Route(f"{base}/restriction", restrict_member, methods=["POST"]),
    ]))


def _known(state: Exceline, member_id: str) -> str | None:
    return member_id if member_id in state.members else None


def release_invoices(state: Exceline, journal: Journal) -> Endpoint:
    """DELETE the invoice lines a member's expired hold kept: all, or those dated up to `?through=`."""

    async def endpoint(request: Request) -> Response:
        member_id = request.path_params["member_id"]
        try:
            through = through_of(request)
        except ValueError:
            return JSONResponse({"error": "through must be a date (YYYY-MM-DD)"}, 400)

        def apply() -> tuple[Response, bool]:
            found = state.members.get(member_id)
            if not found:
                return JSONResponse({"error": "member not found"}, 404), False
            if not (found.anonymised or found.restricted):
                return JSONResponse({"error": "invoices of an active member are not held"}, 409), False
            going = [i for i in found.invoices if through is None or i.invoice_date <= through]
            if any(invoice.open_amount_ore for invoice in going):
                return JSONResponse({"error": "open invoices cannot be deleted"}, 409), False
            found.invoices = [i for i in found.invoices if i not in going]
            return JSONResponse({"memberId": member_id, "deleted": len(going)}), bool(going)

        return journal.once(state.system, request, _known(state, member_id), "release", apply)

    return endpoint


def guest_routes(state: Exceline, journal: Journal) -> list[Route]:
    """Guests (visitors with no paying agreement): listed by last visit, fetched, deleted in bulk."""

    async def stale(request: Request) -> Response:
        query = request.query_params
        try:
            before = date.fromisoformat(query["lastVisitBefore"])
            limit = min(1000, max(1, int(query.get("limit", "100"))))
            numbers, cursor = state.guests.stale(before, limit, query.get("after"))
        except (KeyError, ValueError) as exc:
            return JSONResponse({"error": f"lastVisitBefore (YYYY-MM-DD), limit, after: {exc}"}, 400)
        guests = [{"guestId": state.guests.id_of(n), "lastVisitDate": state.guests.last_visit(n).isoformat()}
                  for n in numbers]
        return JSONResponse({"guests": guests, "nextCursor": cursor})

    async def guest(request: Request) -> Response:
        number = state.guests.number_of(request.path_params["guest_id"])
        if number is None:
            return JSONResponse({"error": "guest not found"}, 404)
        record = state.guests.record(number)
        return JSONResponse({"guestId": state.guests.id_of(number), "firstName": record["firstName"],
                             "lastName": record["lastName"], "email": record["email"], "mobile": record["phone"],
                             "lastVisitDate": record["lastVisit"]})

    async def bulk_delete(request: Request) -> Response:
        ids = await bulk_ids(request, "guestIds")
        if ids is None:
            return JSONResponse({"error": 'send {"guestIds": [...]}'}, 400)
        if state.guests.too_many(ids):
            return JSONResponse({"error": f"at most {state.guests.max_batch} guestIds per request"}, 413)

        def apply() -> tuple[Response, bool]:
            deleted, missing = state.guests.delete([str(i) for i in ids])
            return JSONResponse({"deleted": deleted, "notFound": missing}), bool(deleted)

        return journal.once(state.system, request, None, "purge", apply)

    return [Route("/api/v1/guests", stale), Route("/api/v1/guests/bulk-delete", bulk_delete, methods=["POST"]),
            Route("/api/v1/guests/{guest_id}", guest)]
