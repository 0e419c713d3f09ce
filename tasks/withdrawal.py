"""Evidence for a withdrawal of marketing consent: the per-processor table, the member's letter, the sealed record."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import acreate_table_artifact
from prefect.cache_policies import NO_CACHE

from config.settings import Settings
from domain.values import Evidence, artifact_key
from evidence.documents import sha256
from evidence.ledger import NewRecord, open_ledger
from evidence.letter import render_withdrawal_letter
from tasks.evidence import evidence_document, evidence_rows, show_letter_and_record


@task(name="record-withdrawal", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
async def record_withdrawal(evidence: Evidence, chain: str, untouched: list[tuple[str, str]],
                            channels: tuple[str, ...], settings: Settings) -> str:
    """Seal the withdrawal's evidence into the ledger, then show its table, the member's letter and the sealed
    record on the run; the table's key. `untouched` names (role, system) of each processor left as it was."""
    request = evidence.request
    key = artifact_key("withdrawal", request.request_id)
    letter_key = artifact_key("letter", request.request_id)
    rows = evidence_rows(evidence)
    letter = render_withdrawal_letter(evidence, chain, untouched, channels)
    ledger = await open_ledger(settings.ledger_url)
    stored = await ledger.seal(NewRecord(
        request.controller, "withdrawal", request.request_id, evidence.flow_run_id,
        {**evidence_document(evidence), "suppressed": list(channels),
         "untouched": [system for _, system in untouched],
         "artifacts": {key: sha256(rows), letter_key: sha256(letter)}}))
    record = stored.sealed
    await acreate_table_artifact(key=key, table=rows, description=(
        f"Marketing withdrawn {request.request_id} for subject {request.subject_ref} at {request.controller}; "
        f"status {evidence.status}; suppressed by keyed reference ({', '.join(channels) or 'no contact'}); "
        f"untouched: {', '.join(system for _, system in untouched)}. "
        f"Sealed as record #{record.sequence}, sha256 {record.digest}."))
    await show_letter_and_record(request, letter_key, letter, record)
    return key
