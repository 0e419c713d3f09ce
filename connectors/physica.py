"""Physica, the physiotherapy journal: restricted, never deleted (helsepersonelloven §§ 39-40)."""

from __future__ import annotations

from datetime import date

from connectors.actions import done, read_back, require
from connectors.contract import Action, Holdings, Outcome, Permanent, RetentionFacts, Status, Subject
from connectors.http import ProcessorClient
from connectors.registry import register

NEVER_DELETED = "a patient journal is kept by law (helsepersonelloven §§ 39-40, pasientjournalloven § 25)"


@register("physica")
class PhysicaConnector:
    """Physica's journal API as we assume it (no published spec found): restricted; a clinician reviews."""

    system = "physica"

    def __init__(self, client: ProcessorClient) -> None:
        self._client = client

    async def lookup(self, subject: Subject) -> Holdings:
        """The member's patient ids and the date of their last journal entry."""
        found = await self._client.get("/api/patients", params={"externalRef": subject.member_id},
                                       allow=frozenset())
        patients = found.json()
        last = max((date.fromisoformat(p["lastEntryDate"]) for p in patients), default=None)
        return Holdings.of(self.system, ids=[p["patientId"] for p in patients],
                           categories={"journal"} if patients else set(),
                           facts=RetentionFacts(last_journal_entry=last))

    async def erase(self, holdings: Holdings, action: Action, key: str) -> Outcome:
        """Restrict each journal (GDPR Art. 18); deleting one is refused before any call is made."""
        require(self.system, action, Action.RESTRICT, why=NEVER_DELETED)
        restricted = 0
        for patient_id in holdings.ids:
            answer = await self._client.post(f"/api/patients/{patient_id}/restriction",
                                             headers={"Idempotency-Key": f"{key}/{patient_id}"})
            restricted += answer.status_code != 404
        return done(self.system, action, Status.RESTRICTED, restricted, detail=NEVER_DELETED)

    async def verify(self, holdings: Holdings, action: Action) -> Outcome:
        """Every journal in `holdings` must be restricted."""
        left = 0
        for patient_id in holdings.ids:
            found = await self._client.get(f"/api/patients/{patient_id}")
            left += found.status_code != 404 and not found.json()["restricted"]
        return read_back(self.system, action, Status.RESTRICTED, left, "unrestricted journal(s)")

    async def release(self, holdings: Holdings, categories: tuple[str, ...], key: str,
                      through: date | None = None) -> Outcome:
        """Refused, always and before any call: a clinician decides about a journal at review, never slett."""
        raise Permanent(self.system, f"release refused: {NEVER_DELETED}; a clinician reviews it instead")

    async def poll(self, reference: str) -> Outcome:
        """Physica restricts at once; there are no jobs to poll."""
        raise Permanent(self.system, f"no asynchronous jobs (asked for {reference})")
