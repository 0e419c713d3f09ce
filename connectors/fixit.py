"""Fixit (Odin systemer), spa booking: the member's customer record and treatments, and guests in bulk."""

from __future__ import annotations

from datetime import date

from connectors.actions import done, read_back, require
from connectors.contract import Action, GuestPage, Holdings, Outcome, Permanent, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register


@register("fixit")
class FixitConnector:
    """Fixit's booking API as we assume it (no published spec found): a deleted customer's treatments go too."""

    system = "fixit"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """The member's customer ids and whether they have treatments."""
        found = await self._client.get("/api/customers", params={"memberNo": subject.member_id},
                                       allow=frozenset())
        ids = [str(customer["CustomerId"]) for customer in found.json()]
        categories = {"profile"} if ids else set()
        for customer_id in ids:
            treatments = await self._client.get(f"/api/customers/{customer_id}/treatments")
            if treatments.status_code != 404 and treatments.json():
                categories.add("treatments")
        return Holdings.of(self.system, ids=ids, categories=categories)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete each customer with their treatments; a 404 means already gone."""
        require(self.system, action, Action.DELETE)
        deleted = 0
        for customer_id in holdings.ids:
            gone = await self._client.delete(f"/api/customers/{customer_id}",
                                             headers={"Idempotency-Key": f"{key}/{customer_id}"})
            deleted += gone.status_code != 404
        return done(self.system, action, Status.ERASED, deleted)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Every customer in `holdings` must be gone."""
        left = 0
        for customer_id in holdings.ids:
            found = await self._client.get(f"/api/customers/{customer_id}")
            left += found.status_code != 404
        return read_back(self.system, action, Status.ERASED, left, "customer(s)")

    async def stale_guests(self, last_visit_before: date, limit: int, cursor: str | None) -> GuestPage:
        """Guests whose last visit was before the date, a page at a time."""
        params: dict[str, str | int] = {"lastVisitBefore": last_visit_before.isoformat(), "take": limit}
        if cursor:
            params["after"] = cursor
        found = (await self._client.get("/api/guests", params=params, allow=frozenset())).json()
        after = found["NextAfter"]
        return GuestPage(tuple(str(g["CustomerId"]) for g in found["Guests"]), str(after) if after else None)

    async def purge(self, ids: tuple[str, ...], key: str) -> Outcome:
        """Delete a batch of guests in one call; a replay with the same key gets the first answer."""
        numbers = [int(i) if i.isdigit() else i for i in ids]
        answer = await self._client.post("/api/guests/bulk-delete", json={"CustomerIds": numbers},
                                         headers={"Idempotency-Key": key}, allow=frozenset())
        return done(self.system, Action.DELETE, Status.ERASED, answer.json()["Deleted"],
                    detail="guests with no paying agreement")

    async def poll(self, reference: str) -> Outcome:
        """Fixit deletes at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")
