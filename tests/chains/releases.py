"""Reading a request's holds and releases in the ledger, for tests that release holds date by date."""

from __future__ import annotations

from datetime import date, datetime, time

from config.settings import load_settings
from domain.values import OSLO
from evidence.ledger import RELEASED, open_ledger
from tests.flow_driver import Held


def release_time(retain_until: date) -> datetime:
    """The first moment the daily sweep releases a hold: the start of its own date in Oslo (due on its date)."""
    return datetime.combine(retain_until, time(0, 0), tzinfo=OSLO)


async def runs_by_start(request_id: str, key: str) -> dict[datetime, Held]:
    """A request's open holds under one processor and rule ("exceline-bookkeeping"), by the moment each is due."""
    ledger = await open_ledger(load_settings().ledger_url)
    return {release_time(s.hold.retain_until): Held(request_id, s.hold.system, s.hold.rule, s.hold.retain_until)
            for s in await ledger.hold_states([request_id])
            if f"{s.hold.system}-{s.hold.rule}" == key and s.status != RELEASED}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


async def releases_of(request_id: str) -> list[dict[str, str]]:
    """Every release sealed for a request's holds, oldest first, each value as text."""
    ledger = await open_ledger(load_settings().ledger_url)
    return [{name: _cell(value) for name, value in r.sealed.body["evidence"].items()}
            for r in await ledger.records(request_id=request_id) if r.kind == "release"]


async def letter_of(request_id: str) -> str:
    """The member's letter on the request's run, as the Prefect UI shows it."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from domain.values import artifact_key

    async with get_client() as client:
        [letter] = await client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[artifact_key("letter", request_id)])), limit=1)
    return str(letter.data)
