"""Exceline's records that chains keep for a while after a member leaves: card purchases, exclusions, camera,
the signed membership contract; and a minor's guardian, registered with the minor's record.

Each kind is a list of records with the date its retention rule counts from. Anonymising a member keeps
them, restricted; a release deletes those of one kind dated up to a day (`?through=`), or all of them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.journal import Journal

if TYPE_CHECKING:
    from sandbox.exceline import Exceline, Member

# kind -> the field holding the day its retention counts from
RECORDS = {"purchases": "purchasedOn", "exclusions": "endsOn", "camera": "recordedOn", "contracts": "endedOn",
           "guardians": "registeredOn"}
DETAILS: dict[str, dict[str, Any]] = {"purchases": {"product": "Proteinbar", "amountOre": 3_900},
           "exclusions": {"reason": "brudd på adferdsreglene"},
           "camera": {"camera": "inngang", "kind": "snapshot at check-in"},
           "contracts": {"signedOn": "2025-02-01", "terms": "medlemsavtale 12 mnd", "signature": "BankID"},
           "guardians": {"relation": "forelder", "guardian_name": "Foresatt Testesen",
                         "guardian_phone": "+47 900 00 001", "guardian_email": "foresatt.testesen@example.no"}}
# The fields of each kind that point to the person (filled from the member when the record is added).
PERSONAL_RECORDS = {"contracts": ("signer_name",), "exclusions": ("excluded_name",), "camera": ("image",),
                    "purchases": (), "guardians": ("guardian_name", "guardian_phone", "guardian_email")}


def add_record(member: Member, kind: str, day: date) -> dict[str, Any]:
    """Give the member one record of `kind` dated `day` (purchased, exclusion ends, recorded)."""
    if kind not in RECORDS:
        raise ValueError(f"unknown record kind {kind!r}; known: {sorted(RECORDS)}")
    held = member.records.setdefault(kind, [])
    record = {"recordId": f"R-{member.member_id}-{kind}-{len(held) + 1}", RECORDS[kind]: day.isoformat(),
              **DETAILS[kind], "restricted": member.anonymised or member.restricted,
              **{name: f"{member.first_name} {member.last_name}" if name.endswith("_name") else "jpeg:inngang"
                 for name in PERSONAL_RECORDS[kind] if name not in DETAILS[kind]}}
    held.append(record)
    return record


def restrict_records(member: Member) -> None:
    """Mark every kept record restricted (GDPR Art. 18), as anonymising or restricting the member does."""
    for records in member.records.values():
        for record in records:
            record["restricted"] = True


def through_of(request: Request) -> date | None:
    """The `through` query parameter of a release: delete what is dated up to this day (None: everything)."""
    text = request.query_params.get("through")
    return date.fromisoformat(text) if text else None


def record_routes(state: Exceline, journal: Journal) -> list[Route]:
    """List a member's records (all kinds, or one); delete one kind once its hold has expired."""

    def unknown(request: Request) -> Response | None:
        if request.path_params["kind"] not in RECORDS:
            return JSONResponse({"error": f"unknown record kind; known: {sorted(RECORDS)}"}, 404)
        if request.path_params["member_id"] not in state.members:
            return JSONResponse({"error": "member not found"}, 404)
        return None

    async def listing(request: Request) -> Response:
        if refused := unknown(request):
            return refused
        member = state.members[request.path_params["member_id"]]
        return JSONResponse(member.records.get(request.path_params["kind"], []))

    async def every_kind(request: Request) -> Response:
        member = state.members.get(request.path_params["member_id"])
        if member is None:
            return JSONResponse({"error": "member not found"}, 404)
        return JSONResponse({kind: member.records.get(kind, []) for kind in RECORDS})

    async def release(request: Request) -> Response:
        if refused := unknown(request):
            return refused
        member_id, kind = request.path_params["member_id"], request.path_params["kind"]
        try:
            through = through_of(request)
        except ValueError:
            return JSONResponse({"error": "through must be a date (YYYY-MM-DD)"}, 400)

        def apply() -> tuple[Response, bool]:
            member = state.members[member_id]
            if not (member.anonymised or member.restricted):
                return JSONResponse({"error": "records of an active member are not held"}, 409), False
            held = member.records.get(kind, [])
            kept = [r for r in held if through is not None and date.fromisoformat(r[RECORDS[kind]]) > through]
            if kept:
                member.records[kind] = kept
            else:
                member.records.pop(kind, None)
            deleted = len(held) - len(kept)
            return JSONResponse({"memberId": member_id, "kind": kind, "deleted": deleted}), bool(deleted)

        return journal.once(state.system, request, member_id, "release", apply)

    path = "/api/v1/members/{member_id}/records"
    return [Route(path, every_kind), Route(f"{path}/{{kind}}", listing),
            Route(f"{path}/{{kind}}", release, methods=["DELETE"])]
