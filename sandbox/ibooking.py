"""Stand-in for Ibooking, class booking: customers (by the member's external id) and their bookings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
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

COURSE = "Vekstkurs: fra idé til bedrift"
CLASSES = (("Spinning 45", "2026-01-06T18:00:00+01:00"), ("Yoga flyt", "2026-01-08T07:30:00+01:00"),
           ("Styrke sirkel", "2026-01-13T17:00:00+01:00"))
# A booking's fields that say who booked what and when; a restriction clears those it is not told to keep.
BOOKING_FIELDS = ("className", "startsAt", "participantName", "participantPhone", "participantEmail")


def course_sessions(ends: date) -> list[tuple[str, str]]:
    """Three weekly sessions of a course, the last on the day it ends."""
    return [(f"{COURSE}, samling {n}", f"{ends - timedelta(weeks=3 - n):%Y-%m-%d}T18:00:00+01:00")
            for n in (1, 2, 3)]


@dataclass
class Customer:
    """A booking customer and the classes they booked."""

    id: str
    external_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    bookings: list[dict[str, Any]]
    courses: list[dict[str, str]] = field(default_factory=list)
    keep_after_course: bool = False

    def as_json(self) -> dict[str, Any]:
        """The customer as the API shows it."""
        return {"id": self.id, "externalId": self.external_id, "firstName": self.first_name,
                "lastName": self.last_name, "email": self.email, "phone": self.phone,
                "createdAt": "2025-02-01T10:00:00+01:00", "courses": self.courses,
                "keepAfterCourse": self.keep_after_course}

    def course_over(self, before: date) -> bool:
        """Whether the customer took courses, all ended before `before`, and did not ask to be kept."""
        ends = [date.fromisoformat(course["endsOn"]) for course in self.courses]
        return bool(ends) and max(ends) < before and not self.keep_after_course


@dataclass
class Ibooking:
    """Ibooking's state: customers by id, and the ids deleted (whose member we still know)."""

    system = "ibooking"
    customers: dict[str, Customer] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)
    guests: Guests = field(default_factory=lambda: Guests(first=1_000_001))

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add the member as a customer with three bookings: classes, or the sessions of their course."""
        customer_id = str(70_000 + member.number)
        classes = CLASSES if profile.course_end is None else course_sessions(profile.course_end)
        bookings: list[dict[str, Any]] = [
            {"id": f"B{customer_id}-{n}", "className": name, "startsAt": starts, "status": "attended",
             "participantName": member.name, "participantPhone": member.phone, "participantEmail": member.email,
             "restricted": False}
            for n, (name, starts) in enumerate(classes, 1)]
        courses = [] if profile.course_end is None else [
            {"courseId": f"K-{profile.course_end:%Y%m}", "name": COURSE, "endsOn": profile.course_end.isoformat()}]
        self.customers[customer_id] = Customer(customer_id, member.member_id, member.first_name,
                                               member.last_name, member.email, member.phone, bookings,
                                               courses, profile.keep_after_course)

    def member_of(self, customer_id: str) -> str | None:
        """The member id behind a customer id, live or deleted."""
        live = self.customers.get(customer_id)
        return live.external_id if live else self.deleted.get(customer_id)

    def clear(self) -> None:
        """Forget every customer and guest."""
        self.customers.clear()
        self.deleted.clear()
        self.guests.clear()


def build(state: Ibooking, journal: Journal) -> ASGIApp:
    """Ibooking's partner API."""

    def not_found() -> Response:
        return JSONResponse({"message": "Customer not found"}, 404)

    async def search(request: Request) -> Response:
        external_id = request.query_params.get("externalId")
        items = [c.as_json() for c in state.customers.values() if c.external_id == external_id]
        return JSONResponse({"items": items, "total": len(items)})

    async def customer(request: Request) -> Response:
        found = state.customers.get(request.path_params["customer_id"])
        return JSONResponse(found.as_json()) if found else not_found()

    async def bookings(request: Request) -> Response:
        found = state.customers.get(request.path_params["customer_id"])
        return JSONResponse({"items": found.bookings}) if found else not_found()

    async def delete(request: Request) -> Response:
        customer_id = request.path_params["customer_id"]

        def apply() -> tuple[Response, bool]:
            found = state.customers.pop(customer_id, None)
            if not found:
                return not_found(), False
            state.deleted[customer_id] = found.external_id
            return Response(status_code=204), True

        return journal.once(state.system, request, state.member_of(customer_id), "delete", apply)

    async def delete_bookings(request: Request) -> Response:
        found = state.customers.get(request.path_params["customer_id"])

        def apply() -> tuple[Response, bool]:
            if not found:
                return not_found(), False
            deleted = len(found.bookings)
            found.bookings.clear()
            return JSONResponse({"deleted": deleted}), bool(deleted)

        return journal.once(state.system, request, found.external_id if found else None, "delete:bookings", apply)

    async def restrict_bookings(request: Request) -> Response:
        found = state.customers.get(request.path_params["customer_id"])
        keep = (await request.json()).get("keep")
        if not isinstance(keep, list):
            return JSONResponse({"message": 'send {"keep": [field, ...]}: the fields the restriction keeps'}, 400)

        def apply() -> tuple[Response, bool]:
            if not found:
                return not_found(), False
            changed = restrict_records(found.bookings, BOOKING_FIELDS, keep)
            return JSONResponse({"restricted": len(found.bookings), "cleared": changed}), bool(changed)

        return journal.once(state.system, request, found.external_id if found else None, "restrict:bookings", apply)

    return BearerAuth(Starlette(routes=[
        *purge_routes(state, journal),
        Route("/customers", search),
        Route("/customers/{customer_id}", customer),
        Route("/customers/{customer_id}", delete, methods=["DELETE"]),
        Route("/customers/{customer_id}/bookings", bookings),
        Route("/customers/{customer_id}/bookings", delete_bookings, methods=["DELETE"]),
        Route("/customers/{customer_id}/bookings/restriction", restrict_bookings, methods=["POST"]),
    ]))


def _page(request: Request, day: str) -> tuple[date, int, str | None]:
    query = request.query_params
    return date.fromisoformat(query[day]), min(1000, max(1, int(query.get("pageSize", "100")))), query.get("cursor")


def purge_routes(state: Ibooking, journal: Journal) -> list[Route]:
    """Bulk purges: guests (no paying agreement) by last visit, course participants by course end."""

    def bad_query(exc: Exception) -> Response:
        return JSONResponse({"message": f"bad query (dates are YYYY-MM-DD): {exc}"}, 400)

    async def guests(request: Request) -> Response:
        try:
            before, size, cursor = _page(request, "lastVisitBefore")
            numbers, after = state.guests.stale(before, size, cursor)
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        items = [{"id": state.guests.id_of(n), "lastVisitAt": f"{state.guests.last_visit(n)}T12:00:00+01:00"}
                 for n in numbers]
        return JSONResponse({"items": items, "nextCursor": after})

    async def guest(request: Request) -> Response:
        number = state.guests.number_of(request.path_params["guest_id"])
        if number is None:
            return JSONResponse({"message": "Guest not found"}, 404)
        record = state.guests.record(number)
        return JSONResponse({"id": state.guests.id_of(number), **record})

    async def participants(request: Request) -> Response:
        try:
            before, size, cursor = _page(request, "endedBefore")
            start = int(cursor) if cursor else 0
        except (KeyError, ValueError) as exc:
            return bad_query(exc)
        over = sorted((c for c in state.customers.values() if c.course_over(before)), key=lambda c: int(c.id))
        after = [c for c in over if int(c.id) > start]
        page = after[:size]
        items = [{"customerId": c.id, "externalId": c.external_id, "courseIds": [k["courseId"] for k in c.courses],
                  "lastCourseEndsOn": max(k["endsOn"] for k in c.courses)} for c in page]
        return JSONResponse({"items": items, "nextCursor": page[-1].id if len(after) > size else None})

    def bulk(field: str, delete: Callable[[list[str]], tuple[int, list[str]]]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            ids = await bulk_ids(request, field)
            if ids is None:
                return JSONResponse({"message": f'send {{"{field}": [...]}}'}, 400)
            if state.guests.too_many(ids):
                return JSONResponse({"message": f"at most {state.guests.max_batch} ids per request"}, 413)

            def apply() -> tuple[Response, bool]:
                deleted, missing = delete([str(i) for i in ids])
                return JSONResponse({"deleted": deleted, "notFound": missing}), bool(deleted)

            return journal.once(state.system, request, None, "purge", apply)
        return endpoint

    def delete_customers(ids: list[str]) -> tuple[int, list[str]]:
        deleted, missing = 0, []
        for customer_id in ids:
            found = state.customers.pop(customer_id, None)
            if found is None:
                missing.append(customer_id)
                continue
            state.deleted[customer_id], deleted = found.external_id, deleted + 1
        return deleted, missing

    return [Route("/guests", guests), Route("/guests/bulk-delete", bulk("ids", state.guests.delete), methods=["POST"]),
            Route("/guests/{guest_id}", guest), Route("/courses/participants", participants),
            Route("/customers/bulk-delete", bulk("ids", delete_customers), methods=["POST"])]
