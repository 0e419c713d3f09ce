"""Evidence for one request: the per-processor table, the member's letter and the sealed record."""

from __future__ import annotations

from typing import Any

from prefect import get_client, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from config.holds import Hold
from config.policy import Policy
from connectors.contract import CategoryResult
from domain.values import Evidence, Step, artifact_key
from evidence.chain import Sealed, chain_head, chain_lock, record_markdown, seal
from evidence.documents import plain, sha256
from evidence.letter import render_letter
from tasks.deadlines import Extension, read_extension

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


def with_holds(steps: list[Step], holds: list[Hold], releases: list[str]) -> list[Step]:
    """The steps with each processor's holds filled in: every basis, the latest day, every release run
    (`releases[i]` is the run that releases `holds[i]`)."""
    out = []
    for step in steps:
        held = [hold for hold in holds if hold.system == step.system]
        if not held:
            out.append(step)
            continue
        runs = list(dict.fromkeys(run for hold, run in zip(holds, releases, strict=True) if hold.system == step.system))
        out.append(Step(**{**step.__dict__, "basis": "; ".join(dict.fromkeys(h.citation for h in held)),
                           "retain_until": max(h.retain_until for h in held),
                           "release_run": ", ".join(runs) or None}))
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


def evidence_table(evidence: Evidence) -> str:
    """The evidence as a plain-text table for a terminal."""
    rows = evidence_rows(evidence)
    shown = ("system", "action", "status", "verified", "retain_until", "reference", "attempts")
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) if rows else len(c) for c in shown}
    lines = ["  ".join(c.ljust(widths[c]) for c in shown)]
    lines.append("  ".join("-" * widths[c] for c in shown))
    lines += ["  ".join(r[c].ljust(widths[c]) for c in shown) for r in rows]
    return "\n".join(lines)


@task(name="record-evidence", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def record_evidence(evidence: Evidence, policy: Policy | None = None) -> str:
    """Leave the evidence table, the member's letter and the sealed record on the run; returns the table's key.

    `policy` names the chain in the letter; without it the controller's key is used.
    """
    request = evidence.request
    key = artifact_key("erasure", request.request_id)
    letter_key = artifact_key("letter", request.request_id)
    async with get_client() as client:
        extension = await read_extension(client, request.request_id)
    rows = evidence_rows(evidence)
    letter = render_letter(evidence, policy.name if policy else None, extension)
    async with chain_lock(request.controller):
        async with get_client() as client:
            head = await chain_head(client, request.controller)
        record = seal(request.controller, evidence_document(evidence, extension),
                      {key: sha256(rows), letter_key: sha256(letter)}, head)
        await acreate_table_artifact(key=key, table=rows, description=describe(evidence, record, extension))
        await acreate_markdown_artifact(key=letter_key, markdown=letter,
                                        description=f"Letter to {request.subject_ref} (nb, en)")
        await acreate_markdown_artifact(key=artifact_key("evidence", request.request_id),
                                        markdown=record_markdown(record),
                                        description=f"Evidence record #{record.sequence} of {request.controller}, "
                                        f"sha256 {record.digest}")
    return key
