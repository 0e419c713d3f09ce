"""Tasks for legal holds: schedule each hold's release as a run of the release-holds deployment."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Any

from prefect import get_client, task
from prefect.states import Scheduled

from config.holds import Clocks, Hold
from config.settings import Settings
from connectors.contract import RetentionFacts, distinct_days
from domain.values import OSLO, STEP_KEY, Request


def clocks_of(facts: RetentionFacts) -> Clocks:
    """The dates a processor reported, as the clocks retention rules count from: each record's own."""
    return Clocks(bookkeeping_entries=distinct_days((*facts.invoice_dates, *facts.transaction_dates)),
                  contract_ends=facts.contract_end_dates, purchases=facts.purchase_dates,
                  recordings=facts.recording_dates, exclusion_ends=facts.exclusion_end_dates,
                  last_journal_entry=facts.last_journal_entry, claim_due=facts.claim_due,
                  last_payment=facts.last_payment_date)


def release_time(retain_until: date) -> datetime:
    """The first moment a hold may be released: the start of the day after its last day, in Oslo."""
    return datetime.combine(retain_until + timedelta(days=1), time(0, 0), tzinfo=OSLO)


def release_key(request_id: str, hold: Hold) -> str:
    """One release run per hold and date, however often it is scheduled."""
    check = f":check-{hold.check_on.isoformat()}" if hold.check_on else ""
    return f"release:{request_id}:{hold.key}:{hold.retain_until.isoformat()}{check}"


def _holds_key(_: object, parameters: dict[str, Any]) -> str:
    keys = "\n".join(release_key(parameters["request"].request_id, hold) for hold in parameters["holds"])
    digest = hashlib.sha256(keys.encode()).hexdigest()[:16]
    return f"{STEP_KEY}{parameters['request'].request_id}-releases-{digest}"


@task(name="schedule-releases", cache_key_fn=_holds_key, persist_result=True, retries=2,
      retry_delay_seconds=5)
async def schedule_releases(request: Request, holds: list[Hold], settings: Settings) -> list[str]:
    """Schedule a release-holds run for each hold's date; the flow run ids, in the order of the holds."""
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(settings.release_deployment)
        runs = [await client.create_flow_run_from_deployment(
            deployment.id,
            parameters={"controller": request.controller, "member_id": request.member_id,
                        "request_id": request.request_id, "system": hold.system, "rule": hold.rule},
            state=Scheduled(scheduled_time=release_time(hold.release_day)),
            idempotency_key=release_key(request.request_id, hold),
            tags=["slett", f"controller:{request.controller}", f"hold:{hold.rule}", f"request:{request.request_id}"],
        ) for hold in holds]
    return [str(run.id) for run in runs]
