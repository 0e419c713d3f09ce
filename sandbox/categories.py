"""A membership system's data per category and field, as its twin erases and reads it back.

A category is either fields on the member record (its profile, its photo) or a list of records (visits,
invoices, claims, journal notes). Erasing deletes the list's records or clears the fields; anonymising
clears every personal field; restricting marks each record restricted (GDPR Art. 18) and clears every
personal field its hold does not keep; a journal's review restricts it as written, never altering it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.journal import Journal

ACTIONS = frozenset({"delete", "anonymise", "restrict", "review"})


@dataclass(frozen=True)
class Spec:
    """Where a category lives on a member and which of its fields identify the person."""

    records: Callable[[Any], Any]  # the member itself (fields) or a list of records
    personal: tuple[str, ...]
    listed: bool = True
    drop: Callable[[Any], int] | None = None  # deletes records `records` only derives (a claim on its invoice)


def _get(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


def _set(record: Any, name: str, value: Any) -> None:
    if isinstance(record, dict):
        record[name] = value
    else:
        setattr(record, name, value)


def _clear(record: Any, names: tuple[str, ...]) -> int:
    """Empty the named personal fields that carry a value; how many did."""
    filled = [name for name in names if _get(record, name)]
    for name in filled:
        _set(record, name, False if isinstance(_get(record, name), bool) else None)
    return len(filled)


def apply(spec: Spec, member: Any, action: str, keeps: tuple[str, ...]) -> int:
    """Carry out one category's action on a member; how many records or fields changed."""
    if not spec.listed:
        return _clear(member, spec.personal) if action in ("delete", "anonymise") else 0
    records = spec.records(member)
    if action == "delete":
        if spec.drop is not None:
            return spec.drop(member)
        gone = len(records)
        records.clear()
        return gone
    changed = 0
    for record in records:
        strip = () if action == "review" else tuple(f for f in spec.personal if f not in keeps)
        changed += bool(_clear(record, strip))
        if action in ("restrict", "review") and not _get(record, "restricted"):
            _set(record, "restricted", True)
            changed += 1
    return changed


def restrict_records(records: list[dict[str, Any]], personal: tuple[str, ...], keep: list[str],
                     flag: str = "restricted") -> int:
    """Clear each record's personal fields the restriction does not keep and mark it restricted; how many changed."""
    changed = 0
    for record in records:
        for name in (n for n in personal if n not in keep and record.get(n)):
            record[name], changed = None, changed + 1
        changed += not record[flag]
        record[flag] = True
    return changed


def read_back(spec: Spec, member: Any) -> dict[str, Any]:
    """What is left of a category: records, whether all are restricted, which personal fields are filled."""
    records = spec.records(member) if spec.listed else [member]
    filled = sorted({f for r in records for f in spec.personal if _get(r, f)})
    present = len(records) if spec.listed else int(bool(filled))
    restricted = bool(records) and all(_get(r, "restricted") for r in records) if spec.listed else False
    return {"present": present, "restricted": restricted, "fields": filled, "personal": list(spec.personal)}


Respond = Callable[[dict[str, Any], int], Response]


def category_routes(base: str, members: dict[str, Any], specs: dict[str, Spec], journal: Journal, system: str,
                    respond: Respond, on_apply: Callable[[Any, str, str], None] | None = None,
                    member_of: Callable[[str, Any], str] | None = None) -> list[Route]:
    """`POST {base}/categories/{category}` with {"action", "keeps"} (idempotent by key) and its `GET` read-back;
    the journal names the member `member_of` says (default: the id in the path)."""

    def find(request: Request) -> tuple[str, Any, Spec | None]:
        member_id = request.path_params[next(iter(request.path_params))]
        return member_id, members.get(member_id), specs.get(request.path_params["category"])

    async def erase(request: Request) -> Response:
        member_id, member, spec = find(request)
        body = await request.json()
        action, keeps = body.get("action"), tuple(body.get("keeps") or ())
        if member is None:
            return respond({"error": "member not found"}, 404)
        if spec is None or action not in ACTIONS:
            return respond({"error": f"unknown category or action; categories: {sorted(specs)}, "
                                     f"actions: {sorted(ACTIONS)}"}, 400)
        category = request.path_params["category"]

        def run() -> tuple[Response, bool]:
            changed = apply(spec, member, action, keeps)
            if on_apply:
                on_apply(member, category, action)
            return respond({"category": category, "action": action, "changed": changed}, 200), bool(changed)

        owner = member_of(member_id, member) if member_of else member_id
        return journal.once(system, request, owner, f"{action}:{category}", run)

    async def check(request: Request) -> Response:
        _, member, spec = find(request)
        if member is None:
            return respond({"error": "member not found"}, 404)
        if spec is None:
            return respond({"error": f"unknown category; categories: {sorted(specs)}"}, 400)
        return respond({"category": request.path_params["category"], **read_back(spec, member)}, 200)

    return [Route(f"{base}/categories/{{category}}", erase, methods=["POST"]),
            Route(f"{base}/categories/{{category}}", check)]
