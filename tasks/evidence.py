"""Evidence for one request: the per-processor table, the member's letter and the sealed record."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from config.holds import Hold
from config.policy import Policy
from config.settings import Settings
from connectors.contract import CategoryResult
from domain.values import Evidence, Extension, Request, Step, artifact_key
from evidence.chain import Sealed, record_markdown
from evidence.documents import plain, sha256
from evidence.ledger import HELD, NewRecord, hold_row, open_ledger
from evidence.letter import render_letter
from tasks.deadlines import read_extension

COLUMNS = ("system", "role", "action", "status", "basis", "retain_until", "reference", "verified",
           "attempts", "release_run", "detail", "supplier", "confirmed_by", "confirmed_on", "categories")


def evidence_rows(evidence: Evidence) -> list[dict[str, str]]:
    """One row per processor, every value a string, in the order the steps ran."""
    return [{column: _cell(getattr(step, column)) for column in COLUMNS} for step in evidence.steps]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):  # per category: what happened, what a hold keeps, and the read-back
        return "; ".join(c.words() for c in value if isinstance(c, CategoryResult))
    return str(value)


def told_rows(evidence: Evidence) -> list[dict[str, str]]:
    """One row per recipient the policy names (GDPR Art. 19): who, the step, how, when, by whom, in words."""
    return [{name: _cell(value) for name, value in told.__dict__.items()} for told in evidence.told]


def with_holds(steps: list[Step], holds: list[Hold]) -> list[Step]:
    """The steps with each processor's holds filled in: every basis and the latest day (the daily
    release-holds sweep releases each hold on its own date, from the ledger)."""
    out = []
    for step in steps:
        held = [hold for hold in holds if hold.system == step.system]
        if not held:
            out.append(step)
            continue
        out.append(Step(**{**step.__dict__, "basis": "; ".join(dict.fromkeys(h.citation for h in held)),
                           "retain_until": max(h.retain_until for h in held)}))
    return out


def evidence_document(evidence: Evidence, extension: Extension | None = None) -> dict[str, Any]:
    """The evidence as the canonical JSON that is sealed: by subject reference, never the member id."""
    request = evidence.request
    return {
        "request": {"request_id": request.request_id, "controller": request.controller,
                    "subject_ref": request.subject_ref, "kind": request.kind.value,
                    "received": plain(request.received), "deadline": plain(request.deadline),
                    "deadline_reason": request.deadline_reason},
        "extension": plain(extension) if extension else None,
        "status": evidence.status,
        "finished": plain(evidence.finished),
        "flow_run_id": evidence.flow_run_id,
        "steps": plain(evidence.steps),
        "holds": plain(evidence.holds),
        "notes": list(evidence.notes),
        "kept_while_member": plain(evidence.kept_while_member),
        "told": plain(evidence.told),
    }


def describe(evidence: Evidence, record: Sealed | None = None, extension: Extension | None = None) -> str:
    """The artifact's description: the request in one paragraph, by reference only."""
    request = evidence.request
    deadline = (f"deadline {extension.deadline} (extended from {request.deadline}: {extension.reason})"
                if extension else f"deadline {request.deadline}")
    sealed = f" Sealed as record #{record.sequence}, sha256 {record.digest}." if record else ""
    return (f"Erasure {request.request_id} for subject {request.subject_ref} at {request.controller} "
            f"({request.kind.value}); received {request.received:%Y-%m-%d %H:%M} UTC, "
            f"{deadline}, status {evidence.status}.{sealed}")


@task(name="record-evidence", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def record_evidence(evidence: Evidence, settings: Settings, policy: Policy | None = None) -> str:
    """Seal the evidence and its holds into the ledger, then show the table, the member's letter and the
    sealed record on the run; returns the table's key.

    `policy` names the chain in the letter; without it the controller's key is used.
    """
    request = evidence.request
    key = artifact_key("erasure", request.request_id)
    letter_key = artifact_key("letter", request.request_id)
    ledger = await open_ledger(settings.ledger_url)
    extension = await read_extension(ledger, request.request_id)
    rows = evidence_rows(evidence)
    letter = render_letter(evidence, policy.name if policy else None, extension,
                           policy.while_member if policy else None)
    held = tuple(hold_row(hold, request.request_id, request.controller, request.member_id, HELD,
                          evidence.flow_run_id) for hold in evidence.holds)
    stored = await ledger.seal(NewRecord(
        request.controller, "erasure", request.request_id, evidence.flow_run_id,
        {**evidence_document(evidence, extension), "artifacts": {key: sha256(rows), letter_key: sha256(letter)}},
        held))
    record = stored.sealed
    await acreate_table_artifact(key=key, table=rows, description=describe(evidence, record, extension))
    await acreate_table_artifact(key=artifact_key("told", request.request_id), table=told_rows(evidence),
                                 description=f"GDPR Art. 19: who was told of {request.request_id}, how and when")
    await show_letter_and_record(request, letter_key, letter, record)
    return key


async def show_letter_and_record(request: Request, letter_key: str, letter: str, record: Sealed) -> None:
    """The member's letter and the sealed record as artifacts of the run: the view in Prefect's UI."""
    await acreate_markdown_artifact(key=letter_key, markdown=letter,
                                    description=f"Letter to {request.subject_ref} (nb, en)")
    await acreate_markdown_artifact(key=artifact_key("evidence", request.request_id),
                                    markdown=record_markdown(record),
                                    description=f"Evidence record #{record.sequence} of {request.controller}, "
                                    f"sha256 {record.digest}")
