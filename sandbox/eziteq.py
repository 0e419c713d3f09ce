"""Stand-in for Eziteq, K24's membership system: snake_case JSON in a data/meta envelope, amounts in kroner."""

from __future__ import annotations

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
from sandbox.exceline import BUYER, CONTRACT_ENDED, DEBTOR, drop_paid_claims, invoices_for
from sandbox.exceline_records import through_of
from sandbox.guests import Guests, bulk_ids
from sandbox.journal import Journal
from sandbox.people import DemoMember, Profile

STATES = {"paid": "paid", "open": "open", "collection": "debt_collection"}
PER_PAGE = 10


def kroner(ore: int) -> str:
    """An amount as Eziteq writes it: kroner with two decimals, as a string."""
    return f"{ore // 100}.{ore % 100:02d}"


def errors(status: int, code: str, title: str) -> Response:
    """An error the way Eziteq sends it: a list of error objects."""
    return JSONResponse({"errors": [{"status": str(status), "code": code, "title": title}]}, status)


@dataclass
class Invoice:
    """One invoice; kept (restricted) when the member is anonymised, deleted only by a release."""

    invoice_no: int
    invoice_date: date
    due_date: date
    amount_ore: int
    balance_ore: int
    state: str
    kid: str
    restricted: bool = False
    buyer_name: str | None = None
    buyer_address: str | None = None
    buyer_email: str | None = None
    buyer_phone: str | None = None
    claim: dict[str, Any] | None = None  # the debt collection case, with the debtor's identity

    def as_json(self) -> dict[str, Any]:
        """The invoice as the API shows it."""
        return {"invoice_no": self.invoice_no, "invoice_date": self.invoice_date.isoformat(),
                "due_date": self.due_date.isoformat(), "amount": kroner(self.amount_ore),
                "balance": kroner(self.balance_ore), "currency": "NOK", "state": self.state, "kid": self.kid,
                "restricted": self.restricted, "buyer_name": self.buyer_name, "buyer_address": self.buyer_address,
                "buyer_email": self.buyer_email, "buyer_phone": self.buyer_phone,
                "collection_case": self.claim["collection_case"] if self.claim else None}


@dataclass
class Member:
    """A member record with check-ins, marketing consents, invoices and the clinic's journal notes."""

    member_no: str
    first_name: str | None
    last_name: str | None
    email: str | None
    mobile_phone: str | None
    street_address: str | None
    invoices: list[Invoice]
    checkins: list[dict[str, str]]
    journal_notes: list[dict[str, Any]]
    marketing_consent: dict[str, bool] = field(default_factory=lambda: {"email": True, "sms": True})
    has_photo: bool = True
    state: str = "terminated"
    restricted: bool = False
    contracts: list[dict[str, Any]] = field(default_factory=list)  # the signed membership agreements

    def as_json(self) -> dict[str, Any]:
        """The member as the API shows it."""
        return {"member_no": self.member_no, "first_name": self.first_name, "last_name": self.last_name,
                "email": self.email, "mobile_phone": self.mobile_phone, "street_address": self.street_address,
                "has_photo": self.has_photo, "state": self.state, "restricted": self.restricted,
                "marketing_consent": dict(self.marketing_consent)}

    def owes(self) -> bool:
        """Whether any invoice has a balance (open or in debt collection)."""
        return any(invoice.balance_ore for invoice in self.invoices)


@dataclass
class Eziteq:
    """Eziteq's state: members by member number, and guests."""

    system = "eziteq"
    members: dict[str, Member] = field(default_factory=dict)
    guests: Guests = field(default_factory=lambda: Guests(prefix="GJ-", first=100_001))

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add a member with a year of invoices, check-ins, and journal notes when the profile has a journal."""
        invoices = [Invoice(600_000 + member.number * 100 + n, i.invoice_date, i.due_date, i.amount_ore,
                            i.open_amount_ore, STATES[i.status], i.kid, False, i.buyer_name, i.buyer_address,
                            i.buyer_email, i.buyer_phone, i.claim)
                    for n, i in enumerate(invoices_for(member, profile), 1)]
        checkins = [{"checkin_id": f"CI-{member.number}-{day}", "checked_in_at": f"2026-01-{day:02d}T17:30:00+01:00",
                     "location": "FIT24 Sandnes"} for day in (7, 14, 21)]
        notes = []
        if profile.journal_last_entry:
            notes = [{"note_id": f"JN-{member.number}-1", "written_on": profile.journal_last_entry.isoformat(),
                      "author": "fysioterapeut", "restricted": False, "patient_name": member.name,
                      "patient_birth_date": member.birth_date, "patient_address": member.address}]
        contracts = [{"contract_id": f"K-{member.number}", "signed_on": "2025-02-01",
                      "ended_on": (profile.member_until or CONTRACT_ENDED).isoformat(), "signature": "BankID",
                      "restricted": False, "signer_name": member.name}]
        self.members[member.member_id] = Member(
            member.member_id, member.first_name, member.last_name, member.email, member.phone, member.address,
            invoices, checkins, notes, contracts=contracts)

    def settle(self, member_no: str) -> int:
        """Pay every invoice of the member that has a balance; how many were paid."""
        paid = 0
        for invoice in self.members[member_no].invoices:
            if invoice.balance_ore:
                invoice.balance_ore, invoice.state, paid = 0, "paid", paid + 1
        return paid

    def clear(self) -> None:
        """Forget every member and guest."""
        self.members.clear()
        self.guests.clear()


def anonymise(member: Member) -> int:
    """Strip the person from the record; invoices, contracts (bokføringsloven § 13) and journal notes stay."""
    member.first_name = member.last_name = member.email = member.mobile_phone = member.street_address = None
    member.checkins, member.has_photo, member.state = [], False, "anonymised"
    member.marketing_consent = {channel: False for channel in member.marketing_consent}
    for invoice in member.invoices:
        invoice.restricted = True
    for kept in (*member.journal_notes, *member.contracts):
        kept["restricted"] = True
    return len(member.invoices)


def _withdraw_all(member: Member) -> int:
    granted = [channel for channel, on in member.marketing_consent.items() if on]
    member.marketing_consent = {channel: False for channel in member.marketing_consent}
    return len(granted)


SPECS = {
    "profile": Spec(lambda m: m, ("first_name", "last_name", "email", "mobile_phone", "street_address"),
                    listed=False),
    "photo": Spec(lambda m: m, ("has_photo",), listed=False),
    "visits": Spec(lambda m: m.checkins, ()),
    "consents": Spec(lambda m: [c for c, on in m.marketing_consent.items() if on], (), drop=_withdraw_all),
    "invoices": Spec(lambda m: m.invoices, BUYER),
    "claim": Spec(lambda m: [i.claim for i in m.invoices if i.claim], DEBTOR,
                  drop=lambda m: drop_paid_claims(m.invoices)),
    "journal": Spec(lambda m: m.journal_notes, ("patient_name", "patient_birth_date", "patient_address")),
    "contracts": Spec(lambda m: m.contracts, ("signer_name",)),
}


def _applied(member: Member, category: str, action: str) -> None:
    if category == "profile":  # nothing left to look the member up by: the record counts as anonymised
        member.state = "anonymised"


def paged(request: Request, items: list[Any]) -> Response:
    """One page of a list, with Eziteq's meta block."""
    try:
        page = max(1, int(request.query_params.get("page", "1")))
        per_page = min(100, max(1, int(request.query_params.get("per_page", str(PER_PAGE)))))
    except ValueError:
        return errors(400, "invalid_paging", "page and per_page must be whole numbers")
    pages = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]
    return JSONResponse({"data": chunk, "meta": {"page": page, "per_page": per_page, "total_pages": pages,
                                                 "total": len(items)}})


def build(state: Eziteq, journal: Journal) -> ASGIApp:
    """Eziteq's partner API."""

    def missing() -> Response:
        return errors(404, "member_not_found", "Member not found")

    def known(member_no: str) -> str | None:
        return member_no if member_no in state.members else None

    async def member(request: Request) -> Response:
        found = state.members.get(request.path_params["member_no"])
        return JSONResponse({"data": found.as_json()}) if found else missing()

    async def invoices(request: Request) -> Response:
        found = state.members.get(request.path_params["member_no"])
        return paged(request, [i.as_json() for i in found.invoices]) if found else missing()

    async def checkins(request: Request) -> Response:
        found = state.members.get(request.path_params["member_no"])
        return paged(request, found.checkins) if found else missing()

    async def journal_notes(request: Request) -> Response:
        found = state.members.get(request.path_params["member_no"])
        return paged(request, found.journal_notes) if found else missing()

    async def contracts(request: Request) -> Response:
        found = state.members.get(request.path_params["member_no"])
        return paged(request, found.contracts) if found else missing()

    async def anonymise_member(request: Request) -> Response:
        member_no = request.path_params["member_no"]

        def apply() -> tuple[Response, bool]:
            found = state.members.get(member_no)
            if not found:
                return missing(), False
            if found.owes():
                return errors(409, "member_has_balance", "Member has an unpaid balance; settle or restrict"), False
            changed = found.state != "anonymised"
            kept = anonymise(found)
            return JSONResponse({"data": {"member_no": member_no, "state": "anonymised", "changed": changed,
                                          "invoices_restricted": kept,
                                          "journal_notes_restricted": len(found.journal_notes)}}), changed

        return journal.once(state.system, request, known(member_no), "anonymise", apply)

    async def restrict_member(request: Request) -> Response:
        member_no = request.path_params["member_no"]

        def apply() -> tuple[Response, bool]:
            found = state.members.get(member_no)
            if not found:
                return missing(), False
            changed, found.restricted = not found.restricted, True
            for contract in found.contracts:
                contract["restricted"] = True
            return JSONResponse({"data": {"member_no": member_no, "restricted": True, "changed": changed}}), changed

        return journal.once(state.system, request, known(member_no), "restrict", apply)

    async def release_invoices(request: Request) -> Response:
        member_no = request.path_params["member_no"]
        try:
            through = through_of(request)
        except ValueError:
            return errors(400, "invalid_through", "through must be a date (YYYY-MM-DD)")

        def apply() -> tuple[Response, bool]:
            found = state.members.get(member_no)
            if not found:
                return missing(), False
            if found.state != "anonymised" and not found.restricted:
                return errors(409, "member_active", "Invoices of an active member are not held"), False
            going = [i for i in found.invoices if through is None or i.invoice_date <= through]
            if any(invoice.balance_ore for invoice in going):
                return errors(409, "member_has_balance", "Invoices with a balance cannot be deleted"), False
            found.invoices = [i for i in found.invoices if i not in going]
            return JSONResponse({"data": {"member_no": member_no, "deleted_count": len(going)}}), bool(going)

        return journal.once(state.system, request, known(member_no), "release", apply)

    async def release_contracts(request: Request) -> Response:
        member_no = request.path_params["member_no"]
        try:
            through = through_of(request)
        except ValueError:
            return errors(400, "invalid_through", "through must be a date (YYYY-MM-DD)")

        def apply() -> tuple[Response, bool]:
            found = state.members.get(member_no)
            if not found:
                return missing(), False
            if found.state != "anonymised" and not found.restricted:
                return errors(409, "member_active", "Contracts of an active member are not held"), False
            kept = [c for c in found.contracts
                    if through is not None and date.fromisoformat(c["ended_on"]) > through]
            deleted, found.contracts = len(found.contracts) - len(kept), kept
            return JSONResponse({"data": {"member_no": member_no, "deleted_count": deleted}}), bool(deleted)

        return journal.once(state.system, request, known(member_no), "release", apply)

    async def guests(request: Request) -> Response:
        query = request.query_params
        try:
            before = date.fromisoformat(query["last_checkin_before"])
            size = min(1000, max(1, int(query.get("page_size", "100"))))
            numbers, after = state.guests.stale(before, size, query.get("page_after"))
        except (KeyError, ValueError) as exc:
            return errors(400, "invalid_query", f"last_checkin_before (YYYY-MM-DD), page_size, page_after: {exc}")
        rows = [{"guest_no": state.guests.id_of(n), "last_checkin": state.guests.last_visit(n).isoformat()}
                for n in numbers]
        return JSONResponse({"data": rows, "meta": {"next_page_after": after}})

    async def guest(request: Request) -> Response:
        number = state.guests.number_of(request.path_params["guest_no"])
        if number is None:
            return errors(404, "guest_not_found", "Guest not found")
        record = state.guests.record(number)
        return JSONResponse({"data": {"guest_no": state.guests.id_of(number), "first_name": record["firstName"],
                                      "last_name": record["lastName"], "email": record["email"],
                                      "mobile_phone": record["phone"], "last_checkin": record["lastVisit"]}})

    async def bulk_delete(request: Request) -> Response:
        ids = await bulk_ids(request, "guest_nos")
        if ids is None:
            return errors(400, "invalid_body", "send {\"guest_nos\": [...]}")
        if state.guests.too_many(ids):
            return errors(413, "batch_too_large", f"at most {state.guests.max_batch} guest_nos per request")

        def apply() -> tuple[Response, bool]:
            deleted, not_found = state.guests.delete(ids)
            return JSONResponse({"data": {"deleted_count": deleted, "not_found": not_found}}), bool(deleted)

        return journal.once(state.system, request, None, "purge", apply)

    def respond(body: dict[str, Any], status: int) -> Response:
        return JSONResponse({"data": body}, status) if status < 400 else errors(status, "invalid", body["error"])

    base = "/api/v3/members/{member_no}"
    return BearerAuth(Starlette(routes=[
        *category_routes(base, state.members, SPECS, journal, state.system, respond, _applied),
        Route(base, member),
        Route(f"{base}/invoices", invoices),
        Route(f"{base}/invoices", release_invoices, methods=["DELETE"]),
        Route(f"{base}/checkins", checkins),
        Route(f"{base}/journal-notes", journal_notes),
        Route(f"{base}/contracts", contracts),
        Route(f"{base}/contracts", release_contracts, methods=["DELETE"]),
        Route(f"{base}/anonymise", anonymise_member, methods=["POST"]),
        Route(f"{base}/restrict", restrict_member, methods=["POST"]),
        Route("/api/v3/guests", guests),
        Route("/api/v3/guests/bulk-delete", bulk_delete, methods=["POST"]),
        Route("/api/v3/guests/{guest_no}", guest),
    ]))
