"""Credicare, invoicing and collection for the chain under a data processing agreement: no API, so a person acts.

Credicare invoices every member for the chain, so it holds a copy of the invoicing data; it is the chain's
processor, not a controller of its own. Its copy is restricted at erasure and deleted once the bookkeeping hold
ends, each step done by a person at Credicare and confirmed in the Prefect UI.
"""

from __future__ import annotations

from datetime import date

from connectors.actions import require
from connectors.contract import Action, Holdings, Outcome, Permanent, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register

NO_API = "Credicare has no API"
RESTRICT = ("a person must ask Credicare, as the chain's processor, to restrict its copy of the member's invoicing "
            "data to what bookkeeping keeps (GDPR Art. 18, 28(3)) and confirm it")
NOTICE = ("a person must tell Credicare, as the chain's processor, of the erasure (GDPR Art. 19, 28(3)) and confirm "
          "it; a claim in collection is kept restricted at the membership system (GDPR Art. 17(3)(e))")
RELEASE = ("the bookkeeping hold has ended: a person must ask Credicare to delete its copy of the member's invoicing "
           "data (GDPR Art. 28(3)(g)) and confirm it")


@register("credicare")
class CredicareConnector:
    """Credicare publishes no API we could find: it knows the member by the chain's member number."""

    system = "credicare"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """The member's invoicing data, by the member number, unasked: Credicare invoices every member; the
        membership system's invoices give the dates (the policy's `dates_from`)."""
        return Holdings.of(self.system, ids=[subject.member_id], categories={"invoices"})

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Restrict the copy, or tell of the erasure: a manual step; nothing else is possible without an API."""
        require(self.system, action, Action.RESTRICT, Action.NOTIFY, why=NO_API)
        return Outcome(self.system, Status.MANUAL, action, detail=RESTRICT if action is Action.RESTRICT else NOTICE)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Nothing to read back: the person who acted confirms it."""
        return Outcome(self.system, Status.MANUAL, action, verified=None, detail=f"{NO_API}: a person confirms")

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Delete the held copy once its hold ends: a manual step a person confirms."""
        return Outcome(self.system, Status.MANUAL, Action.RELEASE, detail=RELEASE)

    async def poll(self, reference: str) -> Outcome:
        """Credicare runs no jobs for slett."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")
