"""Stand-ins for plain-REST processors the seeds name by role only: a person found by the member's id, their
records per category, and one DELETE that takes them all.

MOVA's CRM and image bank, Spenst's access control and app: none is a supplier we could find an API for, so
each twin is this one shape under its own collection name, as its description in connectors/described/ says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.auth import BearerAuth
from sandbox.journal import Journal
from sandbox.people import DemoMember, Profile

Records = dict[str, list[dict[str, Any]]]


def crm_records(member: DemoMember) -> Records:
    """MOVA's CRM: the marketing contact, purchase history and behaviour on the web site."""
    return {"consents": [{"channel": channel, "granted": True, "address": value}
                         for channel, value in (("email", member.email), ("sms", member.phone))],
            "purchases": [{"orderId": f"WEB-{member.number}-1", "product": "Treningsmatte", "amountOre": 49_900,
                           "orderedOn": "2026-02-03"}],
            "web_behaviour": [{"page": "/medlemskap", "seenAt": "2026-02-01T20:15:00+01:00", "sessionId": "s-1"},
                              {"page": "/butikk/treningsmatte", "seenAt": "2026-02-03T19:40:00+01:00",
                               "sessionId": "s-2"}]}


def imagebank_records(member: DemoMember) -> Records:
    """MOVA's image bank: photos a member consented to be used in marketing."""
    return {"images": [{"imageId": f"IMG-{member.number}-1", "takenOn": "2026-01-15", "file": "portrett.jpg",
                        "consent": "markedsføring"}]}


def access_records(member: DemoMember) -> Records:
    """Spenst's access control: the member's card or code, and the door log."""
    return {"credentials": [{"cardNo": f"{member.number:010d}", "kind": "medlemskort", "pin": "****"}],
            "entries": [{"door": "hovedinngang", "at": f"2026-01-{day:02d}T06:{day:02d}:00+01:00"}
                        for day in (5, 12, 19)]}


def app_records(member: DemoMember) -> Records:
    """Spenst's app: push tokens (with the phone, the centre, the last login), its traffic and error logs."""
    return {"push_tokens": [{"token": f"fcm-{member.number}-a1", "mobile": member.phone, "centre": "Spenst Moss",
                             "lastLogin": "2026-01-20T07:00:00+01:00"}],
            "app_traffic": [{"memberNo": member.member_id, "kind": "timebestilling",
                             "at": "2026-01-18T21:00:00+01:00"}],
            "app_logs": [{"device": "iPhone 14, iOS 19.1", "error": "timeout mot sentersystemet",
                          "at": "2026-01-18T21:00:03+01:00"}]}


@dataclass
class PlainProcessor:
    """One plain-REST stand-in: people by id, each with records per category, deleted in one call."""

    system: str
    collection: str  # the API's path word: /api/{collection}
    records_of: Any  # DemoMember -> Records
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)  # person id -> member id, for the journal

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add the member with this processor's records."""
        person_id = f"{self.system[:3]}-{member.number:06d}"
        self.people[person_id] = {"id": person_id, "memberId": member.member_id, "name": member.name,
                                  "email": member.email, "records": self.records_of(member)}

    def of(self, member_id: str) -> dict[str, Any] | None:
        """The member's person here, if any."""
        return next((p for p in self.people.values() if p["memberId"] == member_id), None)

    def member_of(self, person_id: str) -> str | None:
        """The member behind a person id, live or deleted."""
        live = self.people.get(person_id)
        return live["memberId"] if live else self.deleted.get(person_id)

    def clear(self) -> None:
        """Forget everyone."""
        self.people.clear()
        self.deleted.clear()


def build(state: PlainProcessor, journal: Journal) -> ASGIApp:
    """The stand-in's API under /api/{collection}."""

    def not_found() -> Response:
        return JSONResponse({"error": "not found"}, 404)

    def shown(person: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in person.items() if name != "records"}

    async def search(request: Request) -> Response:
        member_id = request.query_params.get("memberId")
        found = [shown(p) for p in state.people.values() if member_id and p["memberId"] == member_id]
        return JSONResponse({"items": found})

    async def person(request: Request) -> Response:
        found = state.people.get(request.path_params["person_id"])
        return JSONResponse(shown(found)) if found else not_found()

    async def category(request: Request) -> Response:
        found = state.people.get(request.path_params["person_id"])
        if not found:
            return not_found()
        return JSONResponse({"items": found["records"].get(request.path_params["category"], [])})

    async def delete(request: Request) -> Response:
        person_id = request.path_params["person_id"]

        def apply() -> tuple[Response, bool]:
            found = state.people.pop(person_id, None)
            if not found:
                return not_found(), False
            state.deleted[person_id] = found["memberId"]
            return Response(status_code=204), True

        return journal.once(state.system, request, state.member_of(person_id), "delete", apply)

    base = f"/api/{state.collection}"
    return BearerAuth(Starlette(routes=[
        Route(base, search),
        Route(f"{base}/{{person_id}}", person),
        Route(f"{base}/{{person_id}}", delete, methods=["DELETE"]),
        Route(f"{base}/{{person_id}}/{{category}}", category),
    ]))


def crm() -> PlainProcessor:
    """MOVA's CRM and marketing channels (assumed: the seed names no supplier)."""
    return PlainProcessor("crm", "contacts", crm_records)


def imagebank() -> PlainProcessor:
    """MOVA's image bank, "bildebank" (assumed: the seed names no supplier)."""
    return PlainProcessor("imagebank", "people", imagebank_records)


def access() -> PlainProcessor:
    """Spenst's access control, "adgangsløsninger" (assumed: the seed names no supplier)."""
    return PlainProcessor("access", "cardholders", access_records)


def app() -> PlainProcessor:
    """Spenst's app back end (assumed: the seed names no supplier)."""
    return PlainProcessor("app", "users", app_records)
