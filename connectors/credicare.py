"""Credicare, invoicing and debt collection: no API; for a claim in collection a person sends an Art. 19 notice."""

from __future__ import annotations

from connectors.actions import require
from connectors.contract import Action, Holdings, Outcome, Permanent, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register

NO_API = "Credicare has no API"
NOTICE = ("a person must send Credicare an Art. 19 notice of the erasure and confirm it: a claim in collection "
          "is Credicare's own (GDPR Art. 17(3)(e)); our copy is restricted at the membership system")


@register("credicare")
class CredicareConnector:
    """Credicare publishes no API we could find: whether a claim is in collection comes from the invoices."""

    system = "credicare"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """Claims, with no ids: Credicare cannot be asked, the membership system's invoices tell."""
        return Holdings.of(self.system, categories={"claims"})

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Notify: a manual step (the Art. 19 notice); any other action is impossible without an API."""
        require(self.system, action, Action.NOTIFY, why=NO_API)
        return Outcome(self.system, Status.MANUAL, Action.NOTIFY, detail=NOTICE)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Nothing to read back: the person who sent the notice confirms it."""
        return Outcome(self.system, Status.MANUAL, action, verified=None, detail=f"{NO_API}: {NOTICE}")

    async def poll(self, reference: str) -> Outcome:
        """Credicare runs no jobs for slett."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")
