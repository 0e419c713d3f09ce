"""Stand-in for Mailchimp: the real Marketing API 3.0 shapes for audiences, search, members and permanent delete."""

from __future__ import annotations

import hashlib
import uuid
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

AUDIENCES = {"a1b2c3d4e5": "Demo Trening nyhetsbrev", "f6e5d4c3b2": "Demo Trening kampanjer"}
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased e-mail address."""
    return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()


def problem(status: int, title: str, detail: str) -> Response:
    """An error the way Mailchimp sends it: application/problem+json."""
    body = {"type": ERRORS_DOC, "title": title, "status": status, "detail": detail,
            "instance": str(uuid.uuid4())}
    return JSONResponse(body, status, media_type="application/problem+json")


def no_api_key() -> Response:
    """Mailchimp's 401."""
    return problem(401, "API Key Invalid", "Your request did not include an API key.")


def not_found() -> Response:
    """Mailchimp's 404."""
    return problem(404, "Resource Not Found", "The requested resource could not be found.")


@dataclass
class Mailchimp:
    """Mailchimp's state: audience members by (list id, subscriber hash), and who the deleted were."""

    system = "mailchimp"
    members: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    member_ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Subscribe the member to the first `profile.audiences` audiences."""
        digest = subscriber_hash(member.email)
        # Mailchimp's own ids for the address, not derived from it (an md5 of an e-mail is found by guessing).
        unique = uuid.uuid5(uuid.NAMESPACE_URL, f"mailchimp-sandbox/{member.member_id}").hex
        for list_id in list(AUDIENCES)[: profile.audiences]:
            self.members[list_id, digest] = {
                "id": digest, "email_address": member.email, "unique_email_id": unique[:10],
                "contact_id": unique[10:30],
                "full_name": member.name, "web_id": 100_000 + member.number, "email_type": "html",
                "status": "subscribed", "list_id": list_id, "timestamp_signup": "2025-02-01T10:00:00+00:00",
                "merge_fields": {"FNAME": member.first_name, "LNAME": member.last_name,
                                 "PHONE": member.phone},
                "tags": [], "_links": [],
            }
            self.member_ids[list_id, digest] = member.member_id

    def clear(self) -> None:
        """Forget every audience member."""
        self.members.clear()
        self.member_ids.clear()


def _found(members: list[dict[str, Any]]) -> dict[str, Any]:
    return {"members": members, "total_items": len(members)}


def build(state: Mailchimp, journal: Journal) -> ASGIApp:
    """The parts of the Marketing API 3.0 slett uses."""

    async def lists(request: Request) -> Response:
        audiences = [{"id": list_id, "web_id": n, "name": name,
                      "stats": {"member_count": sum(1 for key in state.members if key[0] == list_id)}}
                     for n, (list_id, name) in enumerate(AUDIENCES.items(), 1)]
        return JSONResponse({"lists": audiences, "total_items": len(audiences), "_links": []})

    async def search(request: Request) -> Response:
        query = request.query_params.get("query", "").strip().lower()
        if not query:
            return problem(400, "Invalid Resource", "The query parameter is required.")
        wanted = request.query_params.get("list_id")
        members = [m for m in state.members.values() if wanted in (None, m["list_id"])]
        exact = [m for m in members if m["email_address"].lower() == query]
        partial = [m for m in members if m not in exact
                   and (query in m["email_address"].lower() or query in m["full_name"].lower())]
        return JSONResponse({"exact_matches": _found(exact), "full_search": _found(partial), "_links": []})

    async def list_members(request: Request) -> Response:
        list_id = request.path_params["list_id"]
        if list_id not in AUDIENCES:
            return not_found()
        wanted = request.query_params.get("unique_email_id")
        found = [m for (in_list, _), m in state.members.items()
                 if in_list == list_id and wanted in (None, m["unique_email_id"])]
        return JSONResponse({"members": found, "list_id": list_id, "total_items": len(found), "_links": []})

    async def member(request: Request) -> Response:
        found = state.members.get((request.path_params["list_id"], request.path_params["subscriber_hash"]))
        return JSONResponse(found) if found else not_found()

    async def delete_permanent(request: Request) -> Response:
        key = (request.path_params["list_id"], request.path_params["subscriber_hash"])

        def apply() -> tuple[Response, bool]:
            if state.members.pop(key, None) is None:
                return not_found(), False
            return Response(status_code=204), True

        return journal.once(state.system, request, state.member_ids.get(key), "delete", apply)

    member_path = "/3.0/lists/{list_id}/members/{subscriber_hash}"
    return BearerAuth(Starlette(routes=[
        Route("/3.0/lists", lists),
        Route("/3.0/search-members", search),
        Route("/3.0/lists/{list_id}/members", list_members),
        Route(member_path, member),
        Route(f"{member_path}/actions/delete-permanent", delete_permanent, methods=["POST"]),
    ]), deny=no_api_key)
