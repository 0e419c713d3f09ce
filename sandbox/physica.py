"""Stand-in for Physica, a physiotherapy journal (Aspit-like REST): restricted, never deleted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sandbox.auth import BearerAuth
from sandbox.journal import Journal
from sandbox.people import DemoMember, Profile


@dataclass
class Patient:
    """A patient and their journal entries."""

    patient_id: str
    external_ref: str
    name: str
    entries: list[dict[str, Any]]
    restricted: bool = False

    @property
    def last_entry(self) -> str:
        """The date of the newest journal entry."""
        return str(max(entry["date"] for entry in self.entries))

    def summary(self) -> dict[str, Any]:
        """The patient as the search lists them."""
        return {"patientId": self.patient_id, "lastEntryDate": self.last_entry, "restricted": self.restricted}


@dataclass
class Physica:
    """Physica's state: patients by id."""

    system = "physica"
    patients: dict[str, Patient] = field(default_factory=dict)

    def enrol(self, member: DemoMember, profile: Profile) -> None:
        """Add the member as a patient with three entries, the last on the profile's date."""
        last = profile.journal_last_entry or date(2025, 11, 20)
        entries: list[dict[str, Any]] = [
            {"date": (last - timedelta(weeks=weeks)).isoformat(), "author": "fysioterapeut",
             "patientName": member.name, "birthDate": member.birth_date, "address": member.address,
             "note": note} for weeks, note in ((4, "Første konsultasjon: smerter i korsryggen."),
                                               (2, "Øvelser justert; bedring."), (0, "Avsluttende kontroll."))]
        patient_id = f"P-{member.number}"
        self.patients[patient_id] = Patient(patient_id, member.member_id, member.name, entries)

    def clear(self) -> None:
        """Forget every patient."""
        self.patients.clear()


def build(state: Physica, journal: Journal) -> ASGIApp:
    """Physica's journal API: there is no way to delete a journal."""

    def not_found() -> Response:
        return JSONResponse({"title": "Patient not found", "status": 404}, 404)

    async def search(request: Request) -> Response:
        ref = request.query_params.get("externalRef")
        return JSONResponse([p.summary() for p in state.patients.values() if p.external_ref == ref])

    async def patient(request: Request) -> Response:
        found = state.patients.get(request.path_params["patient_id"])
        if not found:
            return not_found()
        return JSONResponse({**found.summary(), "name": found.name, "entryCount": len(found.entries)})

    async def entries(request: Request) -> Response:
        found = state.patients.get(request.path_params["patient_id"])
        if not found:
            return not_found()
        return JSONResponse({"entries": [{**entry, "restricted": found.restricted} for entry in found.entries]})

    async def restrict(request: Request) -> Response:
        found = state.patients.get(request.path_params["patient_id"])

        def apply() -> tuple[Response, bool]:
            if not found:
                return not_found(), False
            changed, found.restricted = not found.restricted, True
            return JSONResponse({"patientId": found.patient_id, "restricted": True}), changed

        return journal.once(state.system, request, found.external_ref if found else None, "restrict", apply)

    return BearerAuth(Starlette(routes=[
        Route("/api/patients", search),
        Route("/api/patients/{patient_id}", patient),
        Route("/api/patients/{patient_id}/journal", entries),
        Route("/api/patients/{patient_id}/restriction", restrict, methods=["POST"]),
    ]))
