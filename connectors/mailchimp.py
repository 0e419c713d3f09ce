"""Mailchimp, the newsletter: the member is permanently deleted from every audience they are in.

Holdings keep the audience and Mailchimp's own unique_email_id, never the subscriber hash: an md5 of an
e-mail address is found again by hashing guessed addresses, and holdings are persisted as task results.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from connectors import mailchimp_api
from connectors.actions import done, read_back, require
from connectors.contract import Action, Holdings, ListedContact, Outcome, Permanent, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register

PAGE = 1000  # Mailchimp's largest `count`
HASH = "{subscriber_hash}"  # what errors and logs show for the hash (an md5 of an e-mail is found by guessing)


def member_path(list_id: str, subscriber_hash: str) -> str:
    """The API path of an audience member, under the API root."""
    return f"lists/{list_id}/members/{subscriber_hash}"


@register("mailchimp")
class MailchimpConnector:
    """Mailchimp Marketing API 3.0; holdings ids are "list_id/unique_email_id", never an e-mail or its hash."""

    system = "mailchimp"
    address = staticmethod(mailchimp_api.address)

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """Every audience membership of the member's e-mail address."""
        if not subject.email:
            raise Permanent(self.system, "lookup needs the member's e-mail from the membership system")
        # The e-mail goes in the query string, never the path: the client logs and raises with paths only.
        found = await self._client.get("search-members", params={"query": subject.email},
                                       allow=frozenset())
        members = found.json()["exact_matches"]["members"]
        ids = [f"{member['list_id']}/{member['unique_email_id']}" for member in members]
        return Holdings.of(self.system, ids=ids, categories={"newsletter"} if ids else set())

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Delete permanently in every audience; one already gone is success."""
        require(self.system, action, Action.DELETE)
        deleted = 0
        for held in holdings.ids:
            list_id, _ = held.split("/")
            if (subscriber_hash := await self._subscriber_hash(held)) is None:
                continue
            # Mailchimp takes no Idempotency-Key; delete-permanent is idempotent by its 404.
            gone = await self._client.post(f"{member_path(list_id, subscriber_hash)}/actions/delete-permanent",
                                           shown=f"{member_path(list_id, HASH)}/actions/delete-permanent")
            deleted += gone.status_code != 404
        return done(self.system, action, Status.ERASED, deleted)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """No audience may still have the member."""
        left = 0
        for held in holdings.ids:
            left += await self._subscriber_hash(held) is not None
        return read_back(self.system, action, Status.ERASED, left, "audience membership(s)")

    async def contacts(self) -> AsyncIterator[ListedContact]:
        """Every member of every audience, with the id `lookup` gives ("list_id/unique_email_id")."""
        async for audience in self._pages("lists", "lists", "lists.id"):
            fields = "members.email_address,members.unique_email_id"
            async for member in self._pages(f"lists/{audience['id']}/members", "members", fields):
                yield ListedContact(self.system, f"{audience['id']}/{member['unique_email_id']}",
                                    email=member.get("email_address"))

    async def _pages(self, path: str, items: str, fields: str) -> AsyncIterator[dict[str, Any]]:
        """A listing's items, a page at a time (count and offset, until total_items)."""
        offset = 0
        while True:
            page = (await self._client.get(path, params={"count": PAGE, "offset": offset,
                                                         "fields": f"{fields},total_items"})).json()
            for item in page[items]:
                yield item
            offset += len(page[items])
            if not page[items] or offset >= int(page["total_items"]):
                return

    async def _subscriber_hash(self, held: str) -> str | None:
        """The audience member's hash for API paths, asked of Mailchimp by unique_email_id; None once gone."""
        list_id, unique_email_id = held.split("/")
        found = await self._client.get(f"lists/{list_id}/members", params={"unique_email_id": unique_email_id},
                                       allow=frozenset({404}))
        members = [] if found.status_code == 404 else found.json()["members"]
        return str(members[0]["id"]) if members else None

    async def poll(self, reference: str) -> Outcome:
        """Mailchimp deletes at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")
