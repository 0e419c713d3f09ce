"""Stripe's redaction jobs (a preview API): batches of at most 10 objects, validated, run once ready, polled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.http import ProcessorClient
from connectors.stripe_api import every, preview

JOBS = "/v1/privacy/redaction_jobs"
BATCH = 10  # Stripe: "a limit of 10 object identifiers to redact in each new job"
WAITING = frozenset({"created", "validating", "redacting", "canceling"})


@dataclass(frozen=True)
class Progress:
    """Where a release's redaction jobs stand: charges redacted, jobs still under way, why any ended badly."""

    redacted: int
    running: tuple[str, ...]
    failures: tuple[str, ...]


def batches(ids: list[str]) -> list[list[str]]:
    """The ids in order, cut into Stripe's batches of at most 10."""
    ordered = sorted(ids)
    return [ordered[n:n + BATCH] for n in range(0, len(ordered), BATCH)]


async def start(client: ProcessorClient, charge_ids: list[str], key: str) -> list[str]:
    """Create one job per batch of charges; the same key creates the same jobs again (Stripe replays them)."""
    jobs = []
    for number, batch in enumerate(batches(charge_ids)):
        objects = {f"objects[charges][{n}]": charge_id for n, charge_id in enumerate(batch)}
        created = await client.post(JOBS, data=objects, allow=frozenset(),
                                    headers={"Idempotency-Key": f"{key}/job-{number}", **preview(client)})
        jobs.append(str(created.json()["id"]))
    return jobs


async def advance(client: ProcessorClient, job_id: str) -> dict[str, Any]:
    """The job as Stripe has it now, run once it is `ready` (the run is idempotent by the job's id)."""
    job: dict[str, Any] = (await client.get(f"{JOBS}/{job_id}", headers=preview(client), allow=frozenset())).json()
    if job["status"] == "ready":
        ran = await client.post(f"{JOBS}/{job_id}/run", allow=frozenset(),
                                headers={"Idempotency-Key": f"slett-run/{job_id}", **preview(client)})
        job = ran.json()
    return job


async def why_ended(client: ProcessorClient, job: dict[str, Any]) -> str:
    """Why a job redacted nothing: its validation errors (codes and the objects they name) or its cancellation."""
    if job["status"] == "canceled":
        return f"{job['id']} was canceled (in Stripe's Dashboard or API): it redacted nothing"
    errors = await every(client, f"{JOBS}/{job['id']}/validation_errors", {}, headers=preview(client))
    # Codes and object ids only: Stripe's messages may quote the objects' contents.
    listed = sorted({f"{e['code']} on {(e.get('erroring_object') or {}).get('id', 'the job')}" for e in errors})
    return f"{job['id']} failed validation: {'; '.join(listed) or 'Stripe listed no validation errors'}"


async def progress(client: ProcessorClient, job_ids: list[str]) -> Progress:
    """Advance every job one step and say where they stand."""
    redacted, running, failures = 0, [], []
    for job_id in job_ids:
        job = await advance(client, job_id)
        if job["status"] in WAITING:
            running.append(job_id)
        elif job["status"] == "succeeded":
            redacted += len((job.get("objects") or {}).get("charges") or [])
        else:
            failures.append(await why_ended(client, job))
    return Progress(redacted, tuple(running), tuple(failures))
