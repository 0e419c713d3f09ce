"""Stand-in for LifeVision, SMS and e-mail member dialogue: contacts, messages and a hashed suppression list."""

from __future__ import annotations

import hashlib
import hmac
import re
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

MESSAGES = (("sms", "2026-01-03T09:00:00+01:00", "Velkommen til K24!"),
            ("email", "2026-01-10T09:00:00+01:00", "Nyhetsbrev januar"),
            ("sms", "2026-01-24T09:00:00+01:00", "Husk timen din i morgen"))


def problem(status: int, code: str, message: str) -> Response:
    """An error the way LifeVision sends it."""
    return JSONResponse({"error": {"code": code, "message": message}}, status)


def normal_email(email: str) -> str:
    """An e-mail address as compared: trimmed, lower case."""
    return email.strip().lower()


def normal_phone(phone: str) -> str:
    """A phone number as compared: digits with the country code, +47 when none is given."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+"):
        return f"+{digits}"
    return f"+47{digits}" if len(digits) == 8 else f"+{digits.removeprefix('00')}"


@dataclass
class Contact:
    """A contact in the member dialogue: channels and the messages sent."""

    contact_id: str
    external_id: str | None
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    messages: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The contact as the API shows it."""
        return {"contactId": self.contact_id, "externalId": self.external_id, "firstName": self.first_name,
                "lastName": self.last_name, "email": self.email, "phone": self.phone,
                "channels": {"sms": self.phone is not None, "email": self.email is not None}}


@dataclass
class Suppression:
    """What is left of a deleted contact: keyed hashes of the e-mail and phone, so they are never re-added."""

    suppression_id: str
    contact_id: str
    email_hash: str | None
    phone_hash: str | None

    def as_json(self) -> dict[str, Any]:
        """The entry as the API shows it: hashes only."""
        return {"suppressionId": self.suppression_id, "contactId": self.contact_id,
                "hashes": {"email": self.email_hash, "phone": self.phone_hash}, "algorithm": "HMAC-SHA256"}


@dataclass
class Lifevision:
    """LifeVision's state: contacts, the suppression list, and which member each deleted contact was."""

    system = "lifevision"
    key: bytes = b"lifevision-sandbox-tenant-key"
    contacts: dict[str, Contact] = field(default_factory=dict)
    suppressions: dict[str, Suppression] = field(default_factory=dict)
    deleted: dict[str, str] = field(default_factory=dict)

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add the member as a contact with three messages sent."""
        contact_id = f"lv-{member.number:06d}"
        messages = [{"messageId": f"{contact_id}-m{n}", "channel": channel, "sentAt": sent, "text": text,
                     "to": member.phone if channel == "sms" else member.email}
                    for n, (channel, sent, text) in enumerate(MESSAGES, 1)]
        self.contacts[contact_id] = Contact(contact_id, member.member_id, member.first_name, member.last_name,
                                            member.email, member.phone, messages)

    def digest(self, value: str) -> str:
        """The keyed hash the suppression list stores instead of a value."""
        return hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()

    def suppressed(self, email: str | None, phone: str | None) -> bool:
        """Whether the e-mail or the phone belongs to a deleted contact."""
        wanted = {self.digest(normal_email(email)) if email else None,
                  self.digest(normal_phone(phone)) if phone else None} - {None}
        return any({s.email_hash, s.phone_hash} & wanted for s in self.suppressions.values())

    def suppress(self, contact: Contact) -> Suppression:
        """Delete a contact, keeping only the hashes of its e-mail and phone."""
        entry = Suppression(f"sup-{contact.contact_id}", contact.contact_id,
                            self.digest(normal_email(contact.email)) if contact.email else None,
                            self.digest(normal_phone(contact.phone)) if contact.phone else None)
        self.suppressions[entry.suppression_id] = entry
        del self.contacts[contact.contact_id]
        if contact.external_id:
            self.deleted[contact.contact_id] = contact.external_id
        return entry

    def member_of(self, contact_id: str) -> str | None:
        """The member behind a contact id, live or deleted."""
        live = self.contacts.get(contact_id)
        return live.external_id if live else self.deleted.get(contact_id)

    def clear(self) -> None:
        """Forget every contact and suppression."""
        self.contacts.clear()
        self.suppressions.clear()
        self.deleted.clear()


def _matches(contact: Contact, query: dict[str, Any]) -> bool:
    if query.get("externalId") and contact.external_id == query["externalId"]:
        return True
    if query.get("email") and contact.email and normal_email(contact.email) == normal_email(query["email"]):
        return True
    return bool(query.get("phone") and contact.phone and normal_phone(contact.phone) == normal_phone(query["phone"]))


async def _body(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def build(state: Lifevision, journal: Journal) -> ASGIApp:
    """LifeVision's REST API; e-mails and phones travel only in request bodies."""

    def missing() -> Response:
        return problem(404, "CONTACT_NOT_FOUND", "No contact with that id")

    async def search(request: Request) -> Response:
        query = await _body(request)
        if not query or not any(query.get(k) for k in ("externalId", "email", "phone")):
            return problem(400, "INVALID_QUERY", "search by externalId, email and/or phone")
        found = [c.as_json() for c in state.contacts.values() if _matches(c, query)]
        return JSONResponse({"results": found, "count": len(found)})

    async def create(request: Request) -> Response:
        body = await _body(request)
        if not body or not (body.get("email") or body.get("phone")):
            return problem(400, "INVALID_CONTACT", "a contact needs an email or a phone")
        if state.suppressed(body.get("email"), body.get("phone")):
            return problem(409, "SUPPRESSED", "this email or phone belongs to a deleted contact and is suppressed")
        contact = Contact(f"lv-i{len(state.contacts) + len(state.deleted) + 1:05d}", body.get("externalId"),
                          body.get("firstName", ""), body.get("lastName", ""), body.get("email"), body.get("phone"))
        state.contacts[contact.contact_id] = contact
        return JSONResponse(contact.as_json(), 201)

    async def contact(request: Request) -> Response:
        found = state.contacts.get(request.path_params["contact_id"])
        return JSONResponse(found.as_json()) if found else missing()

    async def messages(request: Request) -> Response:
        found = state.contacts.get(request.path_params["contact_id"])
        return JSONResponse({"messages": found.messages}) if found else missing()

    async def delete(request: Request) -> Response:
        contact_id = request.path_params["contact_id"]
        if request.query_params.get("suppress", "true") != "true":
            return problem(400, "SUPPRESSION_REQUIRED", "a deleted contact is always suppressed; send suppress=true")

        def apply() -> tuple[Response, bool]:
            found = state.contacts.get(contact_id)
            if not found:
                return missing(), False
            entry = state.suppress(found)
            return JSONResponse({"contactId": contact_id, "deleted": True, "messagesDeleted": len(found.messages),
                                 "suppressionId": entry.suppression_id}), True

        return journal.once(state.system, request, state.member_of(contact_id), "delete", apply)

    async def suppression(request: Request) -> Response:
        contact_id = request.path_params["contact_id"]
        found = next((s for s in state.suppressions.values() if s.contact_id == contact_id), None)
        if not found:
            return problem(404, "SUPPRESSION_NOT_FOUND", "No suppression for that contact")
        return JSONResponse(found.as_json())

    return BearerAuth(Starlette(routes=[
        Route("/api/v2/contacts", create, methods=["POST"]),
        Route("/api/v2/contacts/search", search, methods=["POST"]),
        Route("/api/v2/contacts/{contact_id}", contact),
        Route("/api/v2/contacts/{contact_id}", delete, methods=["DELETE"]),
        Route("/api/v2/contacts/{contact_id}/messages", messages),
        Route("/api/v2/suppressions/by-contact/{contact_id}", suppression),
    ]))
