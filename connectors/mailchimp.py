"""Mailchimp, the newsletter: the member is permanently deleted from every audience they are in."""

from __future__ import annotations

from connectors.actions import done, read_back, require
from connectors.contract import Action, Holdings, Outcome, Permanent, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register


def member_path(held: str) -> str:
    """The API path of an audience member held as "list_id/subscriber_hash"."""
    list_id, subscriber_hash = held.split("/")
    return f"/3.0/lists/{list_id}/members/{subscriber_hash}"


@register("mailchimp")
class MailchimpConnector:
    """Mailchimp Marketing API 3.0; holdings ids are "list_id/subscriber_hash", never an e-mail."""

    system = "mailchimp"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """Every audience membership of the member's e-mail address."""
        if not subject.email:
            raise Permanent(self.system, "lookup needs the member's e-mail from the membership system")
        # The e-mail goes in the query string, never the path: the client logs and raises with paths only.
        found = await self._client.get("/3.0/search-members", params={"query": subject.email},
                                       allow=frozenset())
        members = found.json()["exact_matches"]["members"]
        ids = [f"{member['list_id']}/{member['id']}" for member in members]
        return Holdings.of(self.system, ids=ids, categories={"newsletter"} if ids else set())

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete permanently in every audience; a replay meets a 404, which is success."""
        require(self.system, action, Action.DELETE)
        deleted = 0
        for held in holdings.ids:
            # Mailchimp takes no Idempotency-Key; delete-permanent is idempotent by its 404.
            gone = await self._client.post(f"{member_path(held)}/actions/delete-permanent")
            deleted += gone.status_code != 404
        return done(self.system, action, Status.ERASED, deleted)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """No audience may still have the member."""
        left = 0
        for held in holdings.ids:
            found = await self._client.get(member_path(held))
            left += found.status_code != 404
        return read_back(self.system, action, Status.ERASED, left, "audience membership(s)")

    async def poll(self, reference: str) -> Outcome:
        """Mailchimp deletes at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")
