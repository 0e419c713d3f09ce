"""The register as one self-contained HTML page a DPO reads or prints: no scripts, no external assets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from html import escape

from evidence.register import DONE, FAILED, IN_PROGRESS, WAITING_PERSON, WAITING_SETTLEMENT, Entry, Register

STYLE = """
:root { --ink:#1d2430; --muted:#5b6675; --line:#d9dee5; --bg:#f6f7f9; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--ink); background: var(--bg); margin: 0; padding: 28px 36px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 14px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.count { background: #fff; border: 1px solid var(--line); border-left: 5px solid #8a94a3;
         border-radius: 6px; padding: 10px 12px; }
.count .n { display: block; font-size: 26px; font-weight: 700; }
.count .label { color: var(--muted); }
.count.good { border-left-color: #2e8540; } .count.warn { border-left-color: #d98c00; }
.count.bad { border-left-color: #c62828; } .count.info { border-left-color: #1f6feb; }
.count.person { border-left-color: #7b3fbf; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; font-size: 12.5px; }
td.num { text-align: right; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; }
.none { color: var(--muted); font-style: italic; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; white-space: nowrap; }
.s-done { background: #e3f4e6; color: #1e6b2f; } .s-failed { background: #fde7e7; color: #a11b1b; }
.s-progress { background: #e5efff; color: #174ea6; } .s-settlement { background: #fff3d6; color: #8a5a00; }
.s-person { background: #f1e7fb; color: #5f2b9c; }
.overdue { color: #c62828; font-weight: 600; } .due-soon { color: #b36b00; font-weight: 600; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
@media print { body { background: #fff; padding: 0; } .count, table { break-inside: avoid; } }
"""
BADGE = {DONE: "s-done", FAILED: "s-failed", IN_PROGRESS: "s-progress", WAITING_SETTLEMENT: "s-settlement",
         WAITING_PERSON: "s-person"}
TONE = {"done": "good", "failed": "bad", "overdue": "bad", "broken evidence chains": "bad",
        "due within 7 days": "warn", "answered late": "warn", WAITING_SETTLEMENT: "warn",
        WAITING_PERSON: "person", IN_PROGRESS: "info"}


def _e(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return escape(f"{value:%Y-%m-%d %H:%M}")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], empty: str = "None.") -> str:
    """A table of already-escaped cells, or a line saying there is nothing."""
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="none">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _badge(status: str) -> str:
    return f'<span class="badge {BADGE.get(status, "")}">{escape(status)}</span>'


def _deadline(entry: Entry, today: date) -> str:
    flag = entry.flag(today)
    text = _e(entry.deadline) + (" (extended)" if entry.extension else "")
    return f'<span class="{flag}">{text}</span>' if flag else text


def _days(left: int) -> str:
    return str(left) if left >= 0 else f'<span class="overdue">overdue by {-left}</span>'


def _section(title: str, count: int, content: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)} ({count})</h2>{content}</section>'


def render_html(register: Register) -> str:
    """The page: counts at the top, then deadlines, holds, manual steps, failures, every request, the chains."""
    today = register.today
    chains = ", ".join(sorted(register.chains.values())) or "no requests"
    period = (f"received {_e(register.since) or 'from the start'} to {_e(register.until) or 'now'}"
              if register.since or register.until else "all requests")
    counts = "".join(
        f'<div class="count {TONE.get(label, "")}" id="count-{_slug(label)}"><span class="n">{n}</span>'
        f'<span class="label">{escape(label)}</span></div>' for label, n in register.counts().items())
    near = register.near_deadline()
    deadlines = _table(("Request", "Subject", "Chain", "Status", "Received", "Deadline", "Days left", "Why this date"),
                       [(_e(e.request_id), f"<code>{_e(e.subject_ref)}</code>", _e(e.chain), _badge(e.status),
                         _e(e.received), _deadline(e, today), _days(e.days_left(today)), _e(e.deadline_basis))
                        for e in near])
    holds = _table(("Retain until", "Request", "Subject", "Processor", "Kept", "Basis", "Release run"),
                   [(_e(h.retain_until) + (" (clinician review)" if h.review_only else ""), _e(h.request_id),
                     f"<code>{_e(h.subject_ref)}</code>", _e(h.system), _e(", ".join(h.categories)), _e(h.basis),
                     _e(h.release_state)) for h in register.holds])
    waiting = register.waiting_for_person()
    manual = _table(("Request", "Subject", "Chain", "Waiting for", "Since", "Deadline"),
                    [(_e(e.request_id), f"<code>{_e(e.subject_ref)}</code>", _e(e.chain), _e(e.waiting_for),
                      _e(e.since), _deadline(e, today)) for e in waiting])
    failed = register.failures()
    failures = _table(("Request", "Subject", "Chain", "Not finished at", "Reason", "Deadline"),
                      [(_e(e.request_id), f"<code>{_e(e.subject_ref)}</code>", _e(e.chain), _e(", ".join(e.failed_at)),
                        _e(e.reason), _deadline(e, today)) for e in failed])
    requests = _table(("Request", "Subject", "Chain", "Kind", "Received", "Deadline", "Status", "Finished"),
                      [(_e(e.request_id), f"<code>{_e(e.subject_ref)}</code>", _e(e.chain), _e(e.kind),
                        _e(e.received), _deadline(e, today), _badge(e.status), _e(e.finished))
                       for e in register.entries], "No requests in this period.")
    details = "".join(_processors(e) for e in register.entries if e.processors)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Erasure register · {escape(chains)}</title><style>{STYLE}</style></head>
<body>
<header><h1>Erasure register · {escape(chains)}</h1>
<p class="sub">{period} · deadlines as of {_e(today)} · compiled {_e(register.generated)} UTC from the
Prefect run history · times in UTC · subjects appear only as keyed references (<code>sr-…</code>)</p></header>
<section class="counts" id="counts">{counts}</section>
{_section("Past or within 7 days of the deadline", len(near), deadlines, "deadlines")}
{_section("Active holds by release date", len(register.holds), holds, "holds")}
{_section("Manual steps waiting", len(waiting), manual, "manual")}
{_section("Failures", len(failed), failures, "failures")}
{_section("All requests", len(register.entries), requests, "requests")}
{_section("What was done at each processor", len([e for e in register.entries if e.processors]), details,
          "processors")}
{_section("Evidence chains", len(register.evidence_chains), _chains(register), "chains")}
<footer>GDPR Art. 12(3): one month from receipt, extendable by two months with reasons given to the member.
Held records are restricted (Art. 18) until the date shown.</footer>
</body></html>
"""


def _processors(entry: Entry) -> str:
    rows = [(_e(p.get("system")), _e(p.get("role")), _e(p.get("action")), _e(p.get("status")),
             _e(p.get("verified")), _e(p.get("basis")), _e(p.get("retain_until")),
             f"<code>{_e(p.get('reference'))}</code>")
            for p in entry.processors]
    return (f"<h3>{_e(entry.request_id)} · <code>{_e(entry.subject_ref)}</code> · {_e(entry.chain)} · "
            f"{_badge(entry.status)}</h3>"
            + _table(("Processor", "Role", "Action", "Status", "Verified", "Basis", "Retain until", "Reference"), rows))


def _chains(register: Register) -> str:
    rows = []
    for report in register.evidence_chains:
        first = report.problems[0] if report.problems else None
        verdict = ("intact" if first is None else
                   f'<span class="overdue">changed: request {_e(first.request_id)} (record #{first.sequence}): '
                   f"{_e(first.reason)}</span>")
        rows.append((_e(report.controller), _e(report.records), _e(report.head_sequence),
                     f"<code>{_e(report.head_digest)}</code>", verdict))
    return _table(("Controller", "Records", "Head", "Head SHA-256", "Verified"), rows, "No evidence recorded.")
