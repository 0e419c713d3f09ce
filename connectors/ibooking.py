"""Ibooking, class booking: a customer (found by the member's id) and their bookings."""

from __future__ import annotations

from datetime import date

from connectors.actions import done, read_back, require
from connectors.contract import Action, GuestPage, Holdings, Outcome, Permanent, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register


@register("ibooking")
class IbookingConnector:
    """Ibooking's API as we assume it (no published spec found): deleting a customer deletes their bookings."""

    system = "ibooking"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """The member's customer ids and whether they have bookings."""
        found = await self._client.get("/customers", params={"externalId": subject.member_id},
                                       allow=frozenset())
        ids = [customer["id"] for customer in found.json()["items"]]
        categories = {"profile"} if ids else set()
        for customer_id in ids:
            bookings = await self._client.get(f"/customers/{customer_id}/bookings")
            if bookings.status_code != 404 and bookings.json()["items"]:
                categories.add("bookings")
        return Holdings.of(self.system, ids=ids, categories=categories)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete each customer with their bookings; a 404 means already gone."""
        require(self.system, action, Action.DELETE)
        deleted = 0
        for customer_id in holdings.ids:
            gone = await self._client.delete(f"/customers/{customer_id}",
                                             headers={"Idempotency-Key": f"{key}/{customer_id}"})
            deleted += gone.status_code != 404
        return done(self.system, action, Status.ERASED, deleted)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Every customer in `holdings` must be gone."""
        left = 0
        for customer_id in holdings.ids:
            found = await self._client.get(f"/customers/{customer_id}")
            left += found.status_code != 404
        return read_back(self.system, action, Status.ERASED, left, "customer(s)")

    async def stale_guests(self, last_visit_before: date, limit: int, cursor: str | None) -> GuestPage:
        """Guests (no paying agreement) whose last visit was before the date, a page at a time."""
        return await self._page("/guests", {"lastVisitBefore": last_visit_before.isoformat()}, limit, cursor, "id")

    async def purge(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of guests in one call; a replay with the same key gets the first answer."""
        return await self._bulk("/guests/bulk-delete", ids, key, "guests with no paying agreement")

    async def expired_participants(self, course_ended_before: date, limit: int,
                                   cursor: str | None) -> GuestPage:
        """Customers whose every course ended before the date and who did not ask to be kept."""
        return await self._page("/courses/participants", {"endedBefore": course_ended_before.isoformat()},
                                limit, cursor, "customerId")

    async def purge_participants(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of course participants (customers, with their bookings) in one call."""
        return await self._bulk("/customers/bulk-delete", ids, key, "course participants past the course's end")

    async def poll(self, reference: str) -> Outcome:
        """Ibooking deletes at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")

    async def _page(self, path: str, query: dict[str, str], limit: int, cursor: str | None,
                    id_field: str) -> GuestPage:
        params: dict[str, str | int] = {**query, "pageSize": limit}
        if cursor:
            params["cursor"] = cursor
        found = (await self._client.get(path, params=params, allow=frozenset())).json()
        return GuestPage(tuple(item[id_field] for item in found["items"]), found["nextCursor"])

    async def _bulk(self, path: str, ids: tuple[str, ...], key: str, detail: str) -> Outcome:
        answer = await self._client.post(path, json={"ids": list(ids)}, headers={"Idempotency-Key": key},
                                         allow=frozenset())
        return done(self.system, Action.DELETE, Status.ERASED, answer.json()["deleted"], detail=detail)
