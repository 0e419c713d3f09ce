"""The deadline-check flow (daily): mark and announce requests near or past their GDPR deadline."""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger

from config.policy import Policy, PolicyError
from config.settings import Settings
from domain.values import OSLO
from evidence.register import WAITING_PERSON
from flows.setup import chain_policy, flow_settings
from tasks.letters import send_delay_letters
from tasks.report import compile_register_task, mark_deadline, needs_mark, publish_deadline_check


@flow(name="deadline-check", persist_result=False)
async def deadline_check(today: date | None = None) -> dict[str, int]:
    """Tag every request's newest run with its deadline state, emit an event for each one due soon or overdue, and
    send each request still waiting on its deadline its delay letter (once).

    Args:
        today: the day to check for; today in Oslo when empty.
    """
    settings = flow_settings()
    day = today or datetime.now(OSLO).date()
    register = await compile_register_task(settings, day, verify=False)
    flags = [await mark_deadline(entry, day) for entry in register.entries if needs_mark(entry, day)]
    flagged = register.near_deadline()
    # Art. 12(4): a request still waiting on its deadline is told why and until when, once.
    waiting = {entry.controller for entry in register.entries if entry.status == WAITING_PERSON}
    letters = await send_delay_letters(list(register.entries), day, settings, _policies(waiting, settings))
    await publish_deadline_check(flagged, day)
    get_run_logger().info("%d request(s) overdue, %d due within 7 days, %d delay letter(s) sent",
                          flags.count("overdue"), flags.count("due-soon"), len(letters))
    return {"overdue": flags.count("overdue"), "due-soon": flags.count("due-soon"),
            "requests": len(register.entries), "delay-letters": len(letters)}


def _policies(controllers: set[str], settings: Settings) -> dict[str, Policy]:
    """The chains' policies, to name the supplier a person's step waits at; a broken file names none."""
    found = {}
    for controller in sorted(controllers):
        try:
            found[controller] = chain_policy(controller, settings)
        except PolicyError as error:
            # Its letter still goes, in general words: a broken file must not keep the member from hearing.
            get_run_logger().error("No supplier named in %s's delay letters: %s", controller, error)
    return found
