"""Eziteq, K24's membership system: contact, settlement, anonymisation that keeps invoices and journal notes."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.actions import done, erase_by_category, read_back, require, together, verify_by_category
from connectors.contract import (
    Action,
    CategoryErasure,
    GuestPage,
    Holdings,
    Outcome,
    Permanent,
    RetentionFacts,
    Status,
    Subject,
    distinct_days,
)
from connectors.exceline import dated_of
from connectors.http import ProcessorClient
from connectors.registry import register
from connectors.releases import BOOKKEEPING, releasable

MEMBERS = "/api/v3/members"
CONTACT_FIELDS = ("first_name", "last_name", "email", "mobile_phone", "street_address")
ENDPOINTS = {Action.ANONYMISE: "anonymise", Action.RESTRICT: "restrict"}
STATUSES = {Action.ANONYMISE: Status.ANONYMISED, Action.RESTRICT: Status.RESTRICTED}
KEPT = ("invoice lines and contracts kept for bookkeeping (bokføringsloven § 13) and journal notes under "
        "helsepersonelloven §§ 39-40, restricted")
OWING = ("open", "debt_collection")
LEFT = {Action.RESTRICT: "unrestricted record(s)", Action.RELEASE: "invoice(s)", Action.DELETE: "invoice(s)"}


def ore(kroner: str) -> int:
    """Eziteq's "599.00" as øre."""
    return int(Decimal(kroner) * 100)


def settlement_of(invoices: list[dict[str, Any]]) -> RetentionFacts:
    """What the member owes, whether a claim is in debt collection, and the date of each invoice."""
    owing = [i for i in invoices if ore(i["balance"]) > 0 and i["state"] in OWING]
    return RetentionFacts(
        invoice_dates=distinct_days(date.fromisoformat(i["invoice_date"]) for i in invoices),
        open_invoices=len(owing),
        open_amount_ore=sum(ore(i["balance"]) for i in owing),
        in_collection=any(i["state"] == "debt_collection" for i in owing),
        # A collection case stays until its hold ends, paid or not: its clock is the claim's due date.
        claim_due=min((date.fromisoformat(i["due_date"]) for i in invoices if i.get("collection_case")
                       or (i in owing and i["state"] == "debt_collection")), default=None),
    )


def _data(body: Any) -> dict[str, Any]:
    return dict(body["data"])


@register("eziteq")
class EziteqConnector:
    """Eziteq's partner API as we assume it (no published spec found); the member number is Eziteq's id."""

    system = "eziteq"
    # Each category is a resource of its own (…/categories/<name>): their calls may go at once.
    categories_at_once = True

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def contact(self, member_id: str, controller: str = "") -> Subject | None:
        """The member's e-mail, phone and name, for other processors' lookups; None once anonymised."""
        found = await self._client.get(f"{MEMBERS}/{member_id}")
        if found.status_code == 404:
            return None
        member = found.json()["data"]
        if member["state"] == "anonymised":
            return None
        name = " ".join(part for part in (member["first_name"], member["last_name"]) if part)
        return Subject(controller, member_id, email=member["email"], phone=member["mobile_phone"],
                       name=name or None)

    async def settlement(self, member_id: str) -> RetentionFacts:
        """Open invoices, the amount owed, debt collection, and the last invoice date."""
        return settlement_of(await self._pages(member_id, "invoices"))

    async def lookup(self, subject: Subject) -> Holdings:
        """The record's categories, the invoice and contract dates and the last journal note's date."""
        found = await self._client.get(f"{MEMBERS}/{subject.member_id}")
        if found.status_code == 404:
            return Holdings.of(self.system)
        member = found.json()["data"]
        # The member's lists are read at once: under a slow API each call is a round trip on the erasure's path.
        invoices, notes, contracts, checkins = await together(
            *(self._pages(subject.member_id, part) for part in ("invoices", "journal-notes", "contracts", "checkins")))
        categories = {"invoices"} if invoices else set()
        if contracts:
            categories.add("contracts")
        if any(member[field] for field in CONTACT_FIELDS):
            categories.add("profile")
        if member["has_photo"]:
            categories.add("photo")
        if any(member["marketing_consent"].values()):
            categories.add("consents")
        if notes:
            categories.add("journal")
        if checkins:
            categories.add("visits")
        claims = [i for i in invoices if i.get("collection_case")]
        if claims:
            categories.add("claim")
        last_note = max((date.fromisoformat(n["written_on"]) for n in notes), default=None)
        facts = replace(settlement_of(invoices), last_journal_entry=last_note,
                        contract_end_dates=distinct_days(date.fromisoformat(c["ended_on"]) for c in contracts))
        dated = (*dated_of("invoices", invoices, "invoice_date"), *dated_of("claim", claims, "due_date"),
                 *dated_of("contracts", contracts, "ended_on"), *dated_of("journal", notes, "written_on"))
        return Holdings.of(self.system, ids=[subject.member_id], categories=categories, facts=facts, dated=dated)

    async def erase_category(self, holdings: Holdings, erasure: CategoryErasure, key: str) -> Outcome:
        """Delete, anonymise or restrict one category; a hold keeps only its fields, a journal stays as written."""
        members = [f"{MEMBERS}/{member_no}" for member_no in holdings.ids]
        return await erase_by_category(self._client, self.system, members, erasure, key, _data)

    async def verify_category(self, holdings: Holdings, erasure: CategoryErasure) -> Outcome:
        """Read one category back: erased, gone; held, restricted with exactly the fields its hold keeps."""
        members = [f"{MEMBERS}/{member_no}" for member_no in holdings.ids]
        return await verify_by_category(self._client, self.system, members, erasure, _data)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Anonymise (invoices and journal notes stay, restricted) or restrict; Eziteq never deletes a member."""
        require(self.system, action, *ENDPOINTS, why="invoices and journal notes are kept by law")
        changed = 0
        for member_id in holdings.ids:
            answer = await self._client.post(f"{MEMBERS}/{member_id}/{ENDPOINTS[action]}",
                                             headers={"Idempotency-Key": key})
            changed += answer.status_code != 404 and answer.json()["data"]["changed"]
        return done(self.system, action, STATUSES[action], changed, detail=KEPT)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Anonymised: no contact, photo or check-in left; restricted: flagged; released: no invoice left."""
        left = 0
        for member_id in holdings.ids:
            found = await self._client.get(f"{MEMBERS}/{member_id}")
            if found.status_code == 404:
                continue
            member = found.json()["data"]
            if action is Action.RESTRICT:
                left += not member["restricted"]
            elif action in (Action.RELEASE, Action.DELETE):
                left += len(await self._pages(member_id, "invoices"))
            else:
                left += sum(member[field] is not None for field in CONTACT_FIELDS) + member["has_photo"]
                left += len(await self._pages(member_id, "checkins"))
        released = action in (Action.RELEASE, Action.DELETE)
        what = LEFT.get(action, "personal field(s) or check-in(s)")
        status = Status.ERASED if released else STATUSES.get(action, Status.ANONYMISED)
        return read_back(self.system, action, status, left, what)

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Delete the invoice lines or contracts an expired hold kept, dated up to `through`; never journal notes."""
        releasable(self.system, categories, BOOKKEEPING | {"contracts", "claim"})
        if "claim" in categories:  # a paid claim's case and what was kept to pursue it
            return await self.erase_category(holdings, CategoryErasure("claim", Action.DELETE), key)
        parts = (["invoices"] if BOOKKEEPING & set(categories) else []) + (
            ["contracts"] if "contracts" in categories else [])
        params = {"through": through.isoformat()} if through else {}
        deleted = 0
        for member_id in holdings.ids:
            for part in parts:
                once = key if part == "invoices" else f"{key}/{part}"
                answer = await self._client.delete(f"{MEMBERS}/{member_id}/{part}", params=params,
                                                   headers={"Idempotency-Key": once})
                if answer.status_code != 404:
                    deleted += answer.json()["data"]["deleted_count"]
        dated = f" dated up to {through}" if through else ""
        return done(self.system, Action.RELEASE, Status.ERASED, deleted,
                    detail=f"{', '.join(parts)}{dated} deleted: the hold expired")

    async def stale_guests(self, last_visit_before: date, limit: int, cursor: str | None) -> GuestPage:
        """Guests whose last check-in was before the date, a page at a time."""
        params = {"last_checkin_before": last_visit_before.isoformat(), "page_size": limit}
        if cursor:
            params["page_after"] = cursor
        found = (await self._client.get("/api/v3/guests", params=params, allow=frozenset())).json()
        return GuestPage(tuple(g["guest_no"] for g in found["data"]), found["meta"]["next_page_after"])

    async def purge(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of guests in one call; a replay with the same key gets the first answer."""
        answer = await self._client.post("/api/v3/guests/bulk-delete", json={"guest_nos": list(ids)},
                                         headers={"Idempotency-Key": key}, allow=frozenset())
        return done(self.system, Action.DELETE, Status.ERASED, answer.json()["data"]["deleted_count"],
                    detail="guests with no paying agreement")

    async def poll(self, reference: str) -> Outcome:
        """Eziteq acts at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")

    async def _pages(self, member_id: str, part: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, 1000):
            found = await self._client.get(f"{MEMBERS}/{member_id}/{part}", params={"page": page})
            if found.status_code == 404:
                return items
            body = found.json()
            items += body["data"]
            if page >= body["meta"]["total_pages"]:
                return items
        raise Permanent(self.system, f"{part}: more than 999 pages")
