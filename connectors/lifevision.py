"""LifeVision, K24's SMS and e-mail dialogue: the contact is deleted and a hashed suppression entry kept."""

from __future__ import annotations

from connectors.actions import done, read_back, require
from connectors.contract import Action, Holdings, Outcome, Permanent, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register

CONTACTS = "/api/v2/contacts"
SUPPRESSED = "contact deleted; a keyed hash of its e-mail and phone is kept so it is never re-added"


@register("lifevision")
class LifevisionConnector:
    """LifeVision's API as we assume it (no published spec found); contacts are searched with a POST body."""

    system = "lifevision"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """Contacts with the member's id, e-mail or phone, and whether messages were sent to them."""
        query = {name: value for name, value in
                 (("externalId", subject.member_id), ("email", subject.email), ("phone", subject.phone)) if value}
        found = await self._client.post(f"{CONTACTS}/search", json=query, allow=frozenset())
        ids = [contact["contactId"] for contact in found.json()["results"]]
        categories = {"contact"} if ids else set()
        for contact_id in ids:
            sent = await self._client.get(f"{CONTACTS}/{contact_id}/messages")
            if sent.status_code != 404 and sent.json()["messages"]:
                categories.add("messages")
        return Holdings.of(self.system, ids=ids, categories=categories)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete each contact with its messages, suppressed; a 404 means already gone."""
        require(self.system, action, Action.DELETE)
        deleted = 0
        for contact_id in holdings.ids:
            gone = await self._client.delete(f"{CONTACTS}/{contact_id}", params={"suppress": "true"},
                                             headers={"Idempotency-Key": f"{key}/{contact_id}"})
            deleted += gone.status_code != 404
        return done(self.system, action, Status.ERASED, deleted, detail=SUPPRESSED)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Every contact must be gone, and each must have left a suppression entry."""
        left = 0
        for contact_id in holdings.ids:
            found = await self._client.get(f"{CONTACTS}/{contact_id}")
            suppression = await self._client.get(f"/api/v2/suppressions/by-contact/{contact_id}")
            left += found.status_code != 404 or suppression.status_code == 404
        return read_back(self.system, action, Status.ERASED, left, "contact(s) present or not suppressed")

    async def poll(self, reference: str) -> Outcome:
        """LifeVision deletes at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")
