"""Stand-in for Fixit (Odin systemer), spa booking: customers and their treatments, in .NET-style PascalCase."""

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
from sandbox.categories import restrict_records
from sandbox.guests import Guests, bulk_ids
from sandbox.journal import Journal
from sandbox.people import DemoMember, Profile

TREATMENTS = (("Massasje 50 min", "2026-01-09T16:00:00"), ("Ansiktsbehandling", "2026-01-16T15:00:00"),
              ("Fotpleie", "2026-01-23T12:30:00"))
# A treatment's fields that say who had what and when; a restriction clears those it is not told to keep.
TREATMENT_FIELDS = ("Name", "StartTime", "CustomerName", "Mobile", "Notes")


def failure(status: int, message: str, code: int) -> Response:
    """An error the way Fixit sends it: Success false, a message and an error code."""
    return JSONResponse({"Success": False, "Message": message, "ErrorCode": code}, status)


@dataclass
class Customer:
    """A spa customer and the treatments they booked."""

    customer_id: int
    member_no: str
    first_name: str
    last_name: str
    email: str
    mobile: str
    treatments: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """The customer as the API shows it."""
        return {"CustomerId": self.customer_id, "MemberNo": self.member_no, "FirstName": self.first_name,
                "LastName": self.last_name, "Email": self.email, "Mobile": self.mobile,
                "Created": "2025-03-01T10:00:00"}


@dataclass
class Fixit:
    """Fixit's state: customers by id, who the deleted ones were, and guests."""

    system = "fixit"
    customers: dict[int, Customer] = field(default_factory=dict)
    deleted: dict[int, str] = field(default_factory=dict)
    guests: Guests = field(default_factory=lambda: Guests(first=5_000_001))

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add the member as a spa customer with three treatments."""
        customer_id = 80_000 + member.number
        treatments = [{"TreatmentId": customer_id * 10 + n, "Name": name, "StartTime": starts, "Status": "Completed",
                       "CustomerName": member.name, "Mobile": member.phone, "Notes": "Ømme skuldre",
                       "Restricted": False}
                      for n, (name, starts) in enumerate(TREATMENTS, 1)]
        self.customers[customer_id] = Customer(customer_id, member.member_id, member.first_name,
                                               member.last_name, member.email, member.phone, treatments)

    def member_of(self, customer_id: int) -> str | None:
        """The member number behind a customer id, live or deleted."""
        live = self.customers.get(customer_id)
        return live.member_no if live else self.deleted.get(customer_id)

    def clear(self) -> None:
        """Forget every customer and guest."""
        self.customers.clear()
        self.deleted.clear()
        self.guests.clear()


def build(state: Fixit, journal: Journal) -> ASGIApp:
    """Fixit's booking API."""

    def missing() -> Response:
        return failure(404, "Customer not found", 1004)

    async def search(request: Request) -> Response:
        member_no = request.query_params.get("memberNo")
        if not member_no:
            return failure(400, "memberNo is required", 1001)
        return JSONResponse([c.as_json() for c in state.customers.values() if c.member_no == member_no])

    async def customer(request: Request) -> Response:
        found = state.customers.get(request.path_params["customer_id"])
        return JSONResponse(found.as_json()) if found else missing()

    async def treatments(request: Request) -> Response:
        found = state.customers.get(request.path_params["customer_id"])
        return JSONResponse(found.treatments) if found else missing()

    async def delete(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]

        def apply() -> tuple[Response, bool]:
            found = state.customers.pop(customer_id, None)
            if not found:
                return missing(), False
            state.deleted[customer_id] = found.member_no
            return JSONResponse({"Success": True, "CustomerId": customer_id,
                                 "DeletedTreatments": len(found.treatments)}), True

        return journal.once(state.system, request, state.member_of(customer_id), "delete", apply)

    async def delete_treatments(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        found = state.customers.get(customer_id)

        def apply() -> tuple[Response, bool]:
            if not found:
                return missing(), False
            deleted = len(found.treatments)
            found.treatments.clear()
            return JSONResponse({"Success": True, "Deleted": deleted}), bool(deleted)

        return journal.once(state.system, request, state.member_of(customer_id), "delete:treatments", apply)

    async def restrict_treatments(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]
        found = state.customers.get(customer_id)
        keep = (await request.json()).get("Keep")
        if not isinstance(keep, list):
            return failure(400, "Keep (a list of the fields the restriction keeps) is required", 1001)

        def apply() -> tuple[Response, bool]:
            if not found:
                return missing(), False
            changed = restrict_records(found.treatments, TREATMENT_FIELDS, keep, flag="Restricted")
            return JSONResponse({"Success": True, "Restricted": len(found.treatments)}), bool(changed)

        return journal.once(state.system, request, state.member_of(customer_id), "restrict:treatments", apply)

    async def guests(request: Request) -> Response:
        query = request.query_params
        try:
            before = date.fromisoformat(query["lastVisitBefore"])
            take = min(1000, max(1, int(query.get("take", "100"))))
            numbers, after = state.guests.stale(before, take, query.get("after"))
        except (KeyError, ValueError) as exc:
            return failure(400, f"lastVisitBefore (yyyy-MM-dd), take and after are expected: {exc}", 1001)
        rows = [{"CustomerId": n, "LastVisit": state.guests.last_visit(n).isoformat()} for n in numbers]
        return JSONResponse({"Guests": rows, "NextAfter": int(after) if after else None})

    async def guest(request: Request) -> Response:
        number = state.guests.number_of(str(request.path_params["customer_id"]))
        if number is None:
            return missing()
        record = state.guests.record(number)
        return JSONResponse({"CustomerId": number, "FirstName": record["firstName"], "LastName": record["lastName"],
                             "Email": record["email"], "Mobile": record["phone"], "LastVisit": record["lastVisit"]})

    async def bulk_delete(request: Request) -> Response:
        ids = await bulk_ids(request, "CustomerIds")
        if ids is None:
            return failure(400, "CustomerIds (a list) is required", 1001)
        if state.guests.too_many(ids):
            return failure(413, f"At most {state.guests.max_batch} CustomerIds per request", 1013)

        def apply() -> tuple[Response, bool]:
            deleted, missing_ids = state.guests.delete([str(i) for i in ids])
            return JSONResponse({"Success": True, "Deleted": deleted,
                                 "NotFound": [int(i) for i in missing_ids if str(i).isdigit()]}), bool(deleted)

        return journal.once(state.system, request, None, "purge", apply)

    return BearerAuth(Starlette(routes=[
        Route("/api/customers", search),
        Route("/api/customers/{customer_id:int}", customer),
        Route("/api/customers/{customer_id:int}", delete, methods=["DELETE"]),
        Route("/api/customers/{customer_id:int}/treatments", treatments),
        Route("/api/customers/{customer_id:int}/treatments", delete_treatments, methods=["DELETE"]),
        Route("/api/customers/{customer_id:int}/treatments/restriction", restrict_treatments, methods=["POST"]),
        Route("/api/guests", guests),
        Route("/api/guests/bulk-delete", bulk_delete, methods=["POST"]),
        Route("/api/guests/{customer_id:int}", guest),
    ]))
