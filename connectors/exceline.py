"""Exceline, the membership system: contact details, settlement, and anonymisation that keeps invoices."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from connectors.actions import (
    done,
    erase_by_category,
    read_back,
    require,
    together,
    verify_by_category,
)
from connectors.contract import (
    Action,
    Category,
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
from connectors.http import ProcessorClient
from connectors.registry import register
from connectors.releases import BOOKKEEPING, releasable

MEMBERS = "/api/v1/members"
CONTACT_FIELDS = ("firstName", "lastName", "email", "mobile", "address")
ENDPOINTS = {Action.ANONYMISE: "anonymise", Action.RESTRICT: "restriction"}
STATUSES = {Action.ANONYMISE: Status.ANONYMISED, Action.RESTRICT: Status.RESTRICTED}
KEPT = "invoice lines kept for bookkeeping (bokføringsloven § 13), restricted"
# Records chains keep for a while after a member leaves (config/controllers/*.yaml): kind -> its date.
RECORDS = {"purchases": "purchasedOn", "exclusions": "endsOn", "camera": "recordedOn", "contracts": "endedOn"}


def settlement_of(invoices: list[dict[str, Any]]) -> RetentionFacts:
    """What the member owes, and the date of each invoice."""
    owing = [i for i in invoices if i["openAmountOre"] > 0]
    return RetentionFacts(
        invoice_dates=distinct_days(date.fromisoformat(i["invoiceDate"]) for i in invoices),
        open_invoices=len(owing),
        open_amount_ore=sum(i["openAmountOre"] for i in owing),
        in_collection=any(i["status"] == "collection" for i in owing),
        # A collection case stays until its hold ends, paid or not: its clock is the claim's due date.
        claim_due=min((date.fromisoformat(i["dueDate"]) for i in invoices
                       if i.get("collectionCase") or (i in owing and i["status"] == "collection")), default=None),
    )


def dated_of(category: str, records: list[dict[str, Any]], field: str) -> tuple[Category, ...]:
    """A category's count and its records' dates, when there are any."""
    days = distinct_days(date.fromisoformat(r[field]) for r in records)
    return (Category(category, len(records), days),) if records else ()


def with_records(facts: RetentionFacts, records: dict[str, list[dict[str, Any]]]) -> RetentionFacts:
    """The facts with each kept record's date: purchases, recordings, exclusion ends, contract ends."""
    dates = {kind: distinct_days(date.fromisoformat(r[field]) for r in records.get(kind, []))
             for kind, field in RECORDS.items()}
    return replace(facts, purchase_dates=dates["purchases"], recording_dates=dates["camera"],
                   exclusion_end_dates=dates["exclusions"], contract_end_dates=dates["contracts"])


@register("exceline")
class ExcelineConnector:
    """Exceline's partner API as we assume it (no published spec found); the member's id is Exceline's id."""

    system = "exceline"
    # Each category is a resource of its own (…/categories/<name>): their calls may go at once.
    categories_at_once = True

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def contact(self, member_id: str, controller: str = "") -> Subject | None:
        """The member's e-mail, phone and name, for other processors' lookups; None once anonymised."""
        found = await self._client.get(f"{MEMBERS}/{member_id}")
        if found.status_code == 404:
            return None
        member = found.json()
        if member["anonymised"]:
            return None
        name = " ".join(part for part in (member["firstName"], member["lastName"]) if part)
        return Subject(controller, member_id, email=member["email"], phone=member["mobile"],
                       name=name or None)

    async def settlement(self, member_id: str) -> RetentionFacts:
        """Open invoices, the amount owed, collection, and the last invoice date."""
        return settlement_of(await self._list(member_id, "invoices"))

    async def withdraw_consents(self, member_id: str, key: str) -> Outcome:
        """Withdraw every marketing consent the member gave."""
        answer = await self._client.post(f"{MEMBERS}/{member_id}/consents/withdraw",
                                         headers={"Idempotency-Key": key})
        if answer.status_code == 404:
            return Outcome.already_absent(self.system, Action.DELETE)
        return Outcome(self.system, Status.ERASED, Action.DELETE, count=answer.json()["withdrawn"],
                       detail="consents withdrawn")

    async def verify_withdrawn(self, member_id: str) -> Outcome:
        """Read back that no marketing consent of the member is granted any more."""
        granted = sum(bool(c["granted"]) for c in await self._list(member_id, "consents"))
        return read_back(self.system, Action.DELETE, Status.ERASED, granted, "marketing consent(s) granted")

    async def lookup(self, subject: Subject) -> Holdings:
        """The member record's categories and the invoice facts that drive retention."""
        found = await self._client.get(f"{MEMBERS}/{subject.member_id}")
        if found.status_code == 404:
            return Holdings.of(self.system)
        member = found.json()
        # The member's parts are read at once: under a slow API each call is a round trip on the erasure's path.
        parts: list[Any] = await together(
            self._list(subject.member_id, "invoices"), self._list(subject.member_id, "visits"),
            self._list(subject.member_id, "consents"), self._client.get(f"{MEMBERS}/{subject.member_id}/records"))
        invoices, visits, consents, found_records = parts
        categories = {"invoices"} if invoices else set()
        if any(member[field] for field in CONTACT_FIELDS):
            categories.add("profile")
        if member["hasPhoto"]:
            categories.add("photo")
        categories |= {part for part, held in (("visits", visits), ("consents", consents)) if held}
        if any(i.get("collectionCase") for i in invoices):
            categories.add("claim")
        records = {} if found_records.status_code == 404 else dict(found_records.json())
        categories |= {kind for kind, held in records.items() if held}
        claims = [i for i in invoices if i.get("collectionCase")]
        dated = (*dated_of("invoices", invoices, "invoiceDate"), *dated_of("claim", claims, "dueDate"),
                 *(c for kind, field in RECORDS.items() for c in dated_of(kind, records.get(kind, []), field)))
        return Holdings.of(self.system, ids=[subject.member_id], categories=categories, dated=dated,
                           facts=with_records(settlement_of(invoices), records))

    async def erase_category(self, holdings: Holdings, erasure: CategoryErasure, key: str) -> Outcome:
        """Delete, anonymise or restrict one category of the member's record; a hold keeps only its fields."""
        members = [f"{MEMBERS}/{member_id}" for member_id in holdings.ids]
        return await erase_by_category(self._client, self.system, members, erasure, key)

    async def verify_category(self, holdings: Holdings, erasure: CategoryErasure) -> Outcome:
        """Read one category back: erased, gone; held, restricted with exactly the fields its hold keeps."""
        members = [f"{MEMBERS}/{member_id}" for member_id in holdings.ids]
        return await verify_by_category(self._client, self.system, members, erasure)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Anonymise (invoice lines stay, restricted) or restrict the member; Exceline never deletes."""
        require(self.system, action, *ENDPOINTS, why="invoices are kept by law")
        changed = 0
        for member_id in holdings.ids:
            answer = await self._client.post(f"{MEMBERS}/{member_id}/{ENDPOINTS[action]}",
                                             headers={"Idempotency-Key": key})
            changed += answer.status_code != 404 and answer.json()["changed"]
        return done(self.system, action, STATUSES[action], changed, detail=KEPT)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Anonymised: no contact details or visits left; restricted: the record says so; released: no invoice."""
        if action in (Action.RELEASE, Action.DELETE):
            left = sum([len(await self._list(member_id, "invoices")) for member_id in holdings.ids])
            return read_back(self.system, action, Status.ERASED, left, "invoice(s)")
        left = 0
        for member_id in holdings.ids:
            found = await self._client.get(f"{MEMBERS}/{member_id}")
            if found.status_code == 404:
                continue
            member = found.json()
            if action is Action.RESTRICT:
                left += not member["restricted"]
            else:
                left += sum(member[field] is not None for field in CONTACT_FIELDS) + member["hasPhoto"]
                left += len(await self._list(member_id, "visits"))
        what = "unrestricted record(s)" if action is Action.RESTRICT else "personal field(s) or visit(s)"
        return read_back(self.system, action, STATUSES.get(action, Status.ANONYMISED), left, what)

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Delete the invoice lines or a chain's own records an expired hold kept, those dated up to `through`."""
        releasable(self.system, categories, BOOKKEEPING | frozenset(RECORDS) | {"claim"})
        if "claim" in categories:  # a paid claim's case and what was kept to pursue it
            return await self.erase_category(holdings, CategoryErasure("claim", Action.DELETE), key)
        parts = (["invoices"] if BOOKKEEPING & set(categories) else []) + [k for k in RECORDS if k in categories]
        params = {"through": through.isoformat()} if through else {}
        deleted = 0
        for member_id in holdings.ids:
            for part in parts:
                path = f"{MEMBERS}/{member_id}/{part if part == 'invoices' else f'records/{part}'}"
                once = key if part == "invoices" else f"{key}/{part}"
                answer = await self._client.delete(path, params=params, headers={"Idempotency-Key": once})
                deleted += 0 if answer.status_code == 404 else answer.json()["deleted"]
        dated = f" dated up to {through}" if through else ""
        return done(self.system, Action.RELEASE, Status.ERASED, deleted,
                    detail=f"{', '.join(parts)}{dated} deleted: the hold expired")

    async def stale_guests(self, last_visit_before: date, limit: int, cursor: str | None) -> GuestPage:
        """Guests (no paying agreement) whose last visit was before the date, a page at a time."""
        params: dict[str, str | int] = {"lastVisitBefore": last_visit_before.isoformat(), "limit": limit}
        if cursor:
            params["after"] = cursor
        found = (await self._client.get("/api/v1/guests", params=params, allow=frozenset())).json()
        return GuestPage(tuple(g["guestId"] for g in found["guests"]), found["nextCursor"])

    async def purge(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of guests in one call; a replay with the same key gets the first answer."""
        answer = await self._client.post("/api/v1/guests/bulk-delete", json={"guestIds": list(ids)},
                                         headers={"Idempotency-Key": key}, allow=frozenset())
        return done(self.system, Action.DELETE, Status.ERASED, answer.json()["deleted"],
                    detail="guests with no paying agreement")

    async def poll(self, reference: str) -> Outcome:
        """Exceline anonymises at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")

    async def _list(self, member_id: str, part: str) -> list[dict[str, Any]]:
        found = await self._client.get(f"{MEMBERS}/{member_id}/{part}")
        return [] if found.status_code == 404 else list(found.json())
