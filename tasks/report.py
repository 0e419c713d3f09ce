"""Steps of the scheduled reports: compile the register, publish it, mark and announce deadlines."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from uuid import UUID

from prefect import get_client, get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from config.settings import Settings
from domain.values import OSLO
from evidence.ledger import open_ledger
from evidence.register import Entry, Register, compile_register
from evidence.register_html import render_html
from evidence.register_render import dumps, register_csv, register_markdown
from tasks.deadlines import deadline_tags, run_resource, set_tags


def oslo_day_start(day: date | None) -> datetime | None:
    """The first moment of a day in Oslo, where the DPO works."""
    return datetime.combine(day, time(0, 0), tzinfo=OSLO) if day else None


def period(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """The register's window for whole days in Oslo, `until` included."""
    return oslo_day_start(since), oslo_day_start(until + timedelta(days=1) if until else None)


def bound(text: str, end: bool = False) -> datetime:
    """A register bound as typed: a day in Oslo (an end day included whole), or a moment (Oslo if naive)."""
    if len(text) == len("2026-01-31"):
        day = date.fromisoformat(text)
        start = oslo_day_start(day + timedelta(days=1) if end else day)
        assert start is not None
        return start
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


@task(name="compile-register", cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=5)
async def compile_register_task(settings: Settings, today: date, since: datetime | None = None,
                                until: datetime | None = None, controller: str | None = None,
                                verify: bool = True) -> Register:
    """Compile the register from the ledger and the Prefect API."""
    return await compile_register(await open_ledger(settings.ledger_url), settings.controllers_dir, today, since,
                                  until, controller, verify)


@task(name="publish-register", cache_policy=NO_CACHE)
async def publish_register(register: Register) -> str:
    """Leave the register on the run: a markdown summary with its sections and a table of the requests."""
    key = f"register-{register.controller or 'all'}"
    counts = ", ".join(f"{n} {label}" for label, n in register.counts().items())
    await acreate_markdown_artifact(key=key, markdown=register_markdown(register), description=counts)
    rows = [{"request": e.request_id, "subject": e.subject_ref, "controller": e.controller, "kind": e.kind,
             "received": f"{e.received:%Y-%m-%d %H:%M}", "deadline": str(e.deadline), "status": e.status,
             "finished": f"{e.finished:%Y-%m-%d %H:%M}" if e.finished else ""} for e in register.entries]
    await acreate_table_artifact(key=f"{key}-requests", table=rows, description=f"{len(rows)} requests")
    return key


@task(name="write-register", cache_policy=NO_CACHE)
def write_register(register: Register, out_dir: Path) -> list[str]:
    """Write the register as JSON, CSV and HTML files; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"register-{register.controller or 'all'}-{register.today.isoformat()}"
    written = []
    for suffix, text in (("json", dumps(register)), ("csv", register_csv(register)), ("html", render_html(register))):
        path = out_dir / f"{stem}.{suffix}"
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
    return written


def marked_tags(entry: Entry, today: date) -> list[str]:
    """The tags the request's newest run should carry today."""
    return deadline_tags(entry.tags, entry.deadline, entry.flag(today), extended=entry.extension is not None)


def needs_mark(entry: Entry, today: date) -> bool:
    """Whether the request is near or past its deadline, or its run's tags are out of date."""
    return entry.flag(today) is not None or (entry.has_run and sorted(marked_tags(entry, today)) != sorted(entry.tags))


@task(name="mark-deadline", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
async def mark_deadline(entry: Entry, today: date) -> str | None:
    """Set the request's deadline tags to its state today; emit an event when it is due soon or overdue."""
    flag = entry.flag(today)
    tags = marked_tags(entry, today)
    if entry.has_run and sorted(tags) != sorted(entry.tags):
        async with get_client() as client:
            if not await set_tags(client, UUID(entry.flow_run_id), tags):
                get_run_logger().warning("Run %s of request %s is gone; its deadline stays in the ledger only",
                                         entry.flow_run_id, entry.request_id)
    if flag:
        emit_event(event=f"slett.request.deadline-{flag}",
                   resource=run_resource(UUID(entry.flow_run_id), entry.request_id),
                   payload={"request_id": entry.request_id, "controller": entry.controller,
                            "subject_ref": entry.subject_ref, "status": entry.status,
                            "deadline": entry.deadline.isoformat(), "days_left": entry.days_left(today)})
    return flag


@task(name="publish-deadline-check", cache_policy=NO_CACHE)
async def publish_deadline_check(flagged: list[Entry], today: date) -> None:
    """Leave the day's list of requests near or past their deadline on the run."""
    lines = [f"# Deadlines on {today}", "", f"{len(flagged)} open request(s) past or within 7 days of the deadline.",
             "", "| request | subject | controller | status | deadline | days left |", "|---|---|---|---|---|---|"]
    lines += [f"| {e.request_id} | {e.subject_ref} | {e.controller} | {e.status} | {e.deadline} | "
              f"{e.days_left(today)} |" for e in flagged]
    await acreate_markdown_artifact(key="deadline-check", markdown="\n".join(lines),
                                    description=f"{len(flagged)} request(s) near or past the deadline on {today}")
