"""The evidence-report flow: the DPO's register, compiled from the run history and left on the run."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from prefect import flow

from domain.values import OSLO
from flows.setup import flow_settings
from tasks.report import compile_register_task, period, publish_register, write_register


@flow(name="evidence-report", persist_result=False)
async def evidence_report(since: date | None = None, until: date | None = None, controller: str | None = None,
                          out_dir: str | None = None, today: date | None = None) -> dict[str, int]:
    """Compile the register of erasure requests with its deadlines, holds, manual steps and failures.

    Args:
        since: the first day (Oslo) of requests to include; all when empty.
        until: the last day (Oslo) of requests to include; up to now when empty.
        controller: one chain (e.g. "aktiv365"); all chains when empty.
        out_dir: a folder on the worker to write the register to as JSON, CSV and HTML.
        today: the day deadlines are counted to; today in Oslo when empty.
    """
    settings = flow_settings()
    start, end = period(since, until)
    register = await compile_register_task(settings.controllers_dir, today or datetime.now(OSLO).date(),
                                           start, end, controller)
    await publish_register(register)
    if out_dir:
        write_register(register, Path(out_dir))
    return register.counts()
