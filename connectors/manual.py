"""Processors with no API at all (Kalibrert, Apility, Relisec): a person acts at the supplier and confirms."""

from __future__ import annotations

from connectors.contract import Action, Holdings, Outcome, Permanent, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register


@register("manual")
class ManualConnector:
    """Never calls anyone: every step is a person's, confirmed in the Prefect UI (the policy names the supplier)."""

    system = "manual"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """Nothing slett can see: no ids, no categories."""
        return Holdings.of(self.system)

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """A manual step: a person must carry out `action` at the supplier and confirm it."""
        if action is Action.NOTIFY:
            # A collector holding a claim is its own controller: it is told of the erasure (GDPR Art. 19).
            return Outcome(self.system, Status.MANUAL, action,
                           detail="a person must send the supplier an Art. 19 notice of the erasure (no API) and "
                                  "confirm it; who and when go into the evidence")
        return Outcome(self.system, Status.MANUAL, action,
                       detail=f"a person must confirm the {action.value} at the supplier (no API); "
                              "who and when go into the evidence")

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """No read-back is possible: verified stays unknown until a person confirms."""
        return Outcome(self.system, Status.MANUAL, action, verified=None,
                       detail="a person must confirm the step; slett cannot read back from the supplier")

    async def poll(self, reference: str) -> Outcome:
        """Manual steps are confirmed in the Prefect UI, not polled."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")
