"""Stand-in for Mailchimp: the real Marketing API 3.0 shapes for audiences, search, members and permanent delete."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.journal import Journal
from sandbox.people import DemoMember, Profile

AUDIENCES = {"a1b2c3d4e5": "Demo Trening nyhetsbrev", "f6e5d4c3b2": "Demo Trening kampanjer"}
ERRORS_DOC = "https://mailchimp.com/developer/marketing/docs/errors/"
MAX_CONNECTIONS = 10
HOST = re.compile(r"^(?P<dc>[a-z]+\d+)\.api\.mailchimp\.com(:\d+)?$")
KEY = re.compile(r"-(?P<dc>[a-z]+\d+)$")


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


def wrong_data_centre() -> Response:
    """Mailchimp's 401 for a key sent to another data centre's host."""
    return problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong "
                   "datacenter.")


def too_many_connections() -> Response:
    """Mailchimp's 429 for an API key's connection over its 10 at once."""
    return problem(429, "Too Many Requests", f"You have exceeded the limit of {MAX_CONNECTIONS} simultaneous "
                   "connections.")


def credential(headers: Headers) -> str | None:
    """The API key of HTTP Basic auth (any user name, the key as password) or an OAuth bearer token."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() != "basic":
        return None
    try:
        _, _, key = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return key or None


def not_found() -> Response:
    """Mailchimp's 404."""
    return problem(404, "Resource Not Found", "The requested resource could not be found.")


@dataclass
class Mailchimp:
    """Mailchimp's state: audience members by (list id, subscriber hash), and who the deleted were."""

    system = "mailchimp"
    members: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    member_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    # (list id, subscriber hash) permanently deleted: Mailchimp refuses to add such an address to that audience
    # again by the API ("Forgotten Email Not Subscribed"); another audience takes it.
    forgotten: set[tuple[str, str]] = field(default_factory=set)
    hold_s: float = 0.0  # how long each request keeps its connection (to see how many come at once)
    in_flight: int = 0
    most_at_once: int = 0
    refused: int = 0  # requests over the connection limit
    keys_seen: set[str] = field(default_factory=set)

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Subscribe the member to the first `profile.audiences` audiences."""
        # Mailchimp's own ids for the address, not derived from it (an md5 of an e-mail is found by guessing).
        unique = uuid.uuid5(uuid.NAMESPACE_URL, f"mailchimp-sandbox/{member.member_id}").hex
        for list_id in list(AUDIENCES)[: profile.audiences]:
            self.subscribe(list_id, member.email, member.name, {"FNAME": member.first_name,
                                                                 "LNAME": member.last_name, "PHONE": member.phone},
                           member.member_id, unique, web_id=100_000 + member.number)

    def subscribe(self, list_id: str, email: str, full_name: str, merge_fields: dict[str, str],
                  member_id: str | None, unique: str | None = None, web_id: int = 0) -> dict[str, Any]:
        """Add an address to an audience, as a signup or an import does; its new audience member."""
        digest = subscriber_hash(email)
        unique = unique or uuid.uuid5(uuid.NAMESPACE_URL, f"mailchimp-sandbox/{list_id}/{digest}/"
                                      f"{len(self.members) + len(self.forgotten)}").hex
        self.members[list_id, digest] = added = {
            "id": digest, "email_address": email, "unique_email_id": unique[:10], "contact_id": unique[10:30],
            "full_name": full_name, "web_id": web_id, "email_type": "html", "status": "subscribed",
            "list_id": list_id, "timestamp_signup": "2025-02-01T10:00:00+00:00", "merge_fields": merge_fields,
            "tags": [], "_links": [],
        }
        if member_id:
            self.member_ids[list_id, digest] = member_id
        return added

    def resync(self, member: DemoMember, list_id: str) -> bool:
        """Add the member to an audience again, as a re-sync from an old export does; False where Mailchimp
        refuses (an address permanently deleted from that audience)."""
        if (list_id, subscriber_hash(member.email)) in self.forgotten:
            return False
        self.subscribe(list_id, member.email, member.name, {"FNAME": member.first_name, "LNAME": member.last_name,
                                                            "PHONE": member.phone}, member.member_id)
        return True

    def clear(self) -> None:
        """Forget every audience member."""
        self.members.clear()
        self.member_ids.clear()
        self.forgotten.clear()
        self.keys_seen.clear()


class MailchimpGate:
    """ASGI middleware: Mailchimp's key check (its data centre's host too) and its 10 connections at once."""

    def __init__(self, app: ASGIApp, state: Mailchimp) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a request without a key, at the wrong data centre or over the connection limit; serve the rest."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = credential(headers)
        host, in_key = HOST.match(headers.get("host", "")), KEY.search(key or "")
        if key is None:
            await no_api_key()(scope, receive, send)
            return
        if host and (in_key is None or in_key["dc"] != host["dc"]):
            await wrong_data_centre()(scope, receive, send)
            return
        state = self.state
        state.keys_seen.add(key)
        if state.in_flight >= MAX_CONNECTIONS:
            state.refused += 1
            await too_many_connections()(scope, receive, send)
            return
        state.in_flight += 1
        state.most_at_once = max(state.most_at_once, state.in_flight)
        try:
            if state.hold_s:
                await asyncio.sleep(state.hold_s)
            await self.app(scope, receive, send)
        finally:
            state.in_flight -= 1


def _found(members: list[dict[str, Any]]) -> dict[str, Any]:
    return {"members": members, "total_items": len(members)}


def _page(request: Request, items: list[Any]) -> list[Any]:
    """One page of a listing, by Mailchimp's `count` (default 10, at most 1000) and `offset`."""
    try:
        count = min(1000, int(request.query_params.get("count", "10")))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError:
        return items
    return items[offset:offset + count]


def build(state: Mailchimp, journal: Journal) -> ASGIApp:
    """The parts of the Marketing API 3.0 slett uses."""

    async def lists(request: Request) -> Response:
        audiences = [{"id": list_id, "web_id": n, "name": name,
                      "stats": {"member_count": sum(1 for key in state.members if key[0] == list_id)}}
                     for n, (list_id, name) in enumerate(AUDIENCES.items(), 1)]
        return JSONResponse({"lists": _page(request, audiences), "total_items": len(audiences), "_links": []})

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
        return JSONResponse({"members": _page(request, found), "list_id": list_id, "total_items": len(found),
                             "_links": []})

    async def add_member(request: Request) -> Response:
        list_id = request.path_params["list_id"]
        if list_id not in AUDIENCES:
            return not_found()
        try:
            body = await request.json()
            email = str(body["email_address"])
        except (ValueError, KeyError, TypeError):
            return problem(400, "Invalid Resource", "The resource submitted could not be validated.")
        digest = subscriber_hash(email)
        if (list_id, digest) in state.members:
            return problem(400, "Member Exists", "This address is already a list member.")
        if (list_id, digest) in state.forgotten:
            return problem(400, "Forgotten Email Not Subscribed", "This contact was permanently deleted and cannot "
                           "be re-imported; they must re-subscribe by a signup form.")
        known = next((m for (_, d), m in state.member_ids.items() if d == digest), None)
        fields = body.get("merge_fields") or {}
        added = state.subscribe(list_id, email, f"{fields.get('FNAME', '')} {fields.get('LNAME', '')}".strip(),
                                fields, known)
        return JSONResponse(added)

    async def member(request: Request) -> Response:
        found = state.members.get((request.path_params["list_id"], request.path_params["subscriber_hash"]))
        return JSONResponse(found) if found else not_found()

    async def delete_permanent(request: Request) -> Response:
        key = (request.path_params["list_id"], request.path_params["subscriber_hash"])

        def apply() -> tuple[Response, bool]:
            if state.members.pop(key, None) is None:
                return not_found(), False
            state.forgotten.add(key)
            return Response(status_code=204), True

        return journal.once(state.system, request, state.member_ids.get(key), "delete", apply)

    member_path = "/3.0/lists/{list_id}/members/{subscriber_hash}"
    return MailchimpGate(Starlette(routes=[
        Route("/3.0/lists", lists),
        Route("/3.0/search-members", search),
        Route("/3.0/lists/{list_id}/members", list_members),
        Route("/3.0/lists/{list_id}/members", add_member, methods=["POST"]),
        Route(member_path, member),
        Route(f"{member_path}/actions/delete-permanent", delete_permanent, methods=["POST"]),
    ]), state)
