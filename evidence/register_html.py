"""The register as one self-contained HTML page a DPO reads or prints, from templates/register.html.jinja."""

from __future__ import annotations

from evidence.register import DONE, FAILED, IN_PROGRESS, WAITING_PERSON, WAITING_SETTLEMENT, Register
from evidence.templates import render

BADGE = {DONE: "s-done", FAILED: "s-failed", IN_PROGRESS: "s-progress", WAITING_SETTLEMENT: "s-settlement",
         WAITING_PERSON: "s-person"}
TONE = {"done": "good", "failed": "bad", "overdue": "bad", "broken evidence chains": "bad",
        "legal holds in force": "person", "due within 7 days": "warn", "answered late": "warn",
        WAITING_SETTLEMENT: "warn", WAITING_PERSON: "person", IN_PROGRESS: "info"}


def render_html(register: Register) -> str:
    """The page: counts at the top, then deadlines, holds, legal holds in force, manual steps, failures, every
    request, each request's processors, recipients told and legal holds, and the chains."""
    detailed = [e for e in register.entries if e.processors or e.told or e.legal_holds]
    return render("register.html.jinja", register=register, today=register.today, badges=BADGE, tones=TONE,
                  detailed=detailed)
