"""The register as JSON, CSV and a markdown summary: the same entries, sections and counts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from evidence.chain import ChainReport
from evidence.documents import plain
from evidence.legal_holds import SealedLegalHold
from evidence.register import ActiveHold, Entry, Register

PROCESSOR_FIELDS = ("action", "status", "basis", "retain_until", "reference", "verified")
REQUEST_FIELDS = ("request_id", "subject_ref", "controller", "chain", "kind", "received", "deadline",
                  "deadline_basis", "status", "finished", "days_left", "deadline_flag", "waiting_for",
                  "flow_run_id", "digest")
TOLD_FIELDS = ("recipient", "step", "how", "on", "by", "detail")
# The CSV's last columns: who was told (Art. 19) and the legal holds on the member, each a list in one cell.
LIST_COLUMNS = ("told", "legal_holds")


def told_json(told: dict[str, Any]) -> dict[str, Any]:
    """One recipient of the member's data as the evidence sealed it: who, at which step, how, when, by whom."""
    return {f: told.get(f) or None for f in TOLD_FIELDS}


def legal_hold_json(legal: SealedLegalHold, register: Register) -> dict[str, Any]:
    """One legal hold: on what, who set it and why, until when, lifted or not, and whether it is in force today."""
    return {"controller": legal.controller, "subject_ref": legal.subject_ref, "system": legal.system,
            "category": legal.category, "reason": legal.reason, "set_by": legal.set_by, "set_at": plain(legal.set_at),
            "ends_on": plain(legal.ends_on), "lifted_by": legal.lifted_by, "lifted_on": plain(legal.lifted_on),
            "in_force": legal.lasts_on(register.today), "record_sequence": legal.sequence, "words": legal.words()}


def entry_json(entry: Entry, register: Register) -> dict[str, Any]:
    """One request: its dates, status and per processor what was done, by subject reference."""
    return {
        "request_id": entry.request_id, "subject_ref": entry.subject_ref, "controller": entry.controller,
        "chain": entry.chain, "kind": entry.kind, "received": plain(entry.received),
        "deadline": plain(entry.deadline), "deadline_basis": entry.deadline_basis,
        "extension": ({"original_deadline": plain(entry.extension.original_deadline),
                       "reason": entry.extension.reason, "recorded_by": entry.extension.recorded_by,
                       "recorded": plain(entry.extension.recorded)} if entry.extension else None),
        "status": entry.status, "state": entry.state, "waiting_for": entry.waiting_for or None,
        "finished": plain(entry.finished), "answered_late": entry.late,
        "days_left": entry.days_left(register.today) if entry.is_open else None,
        "deadline_flag": entry.flag(register.today), "flow_run_id": entry.flow_run_id, "digest": entry.digest,
        "failure": entry.reason or None,
        "processors": [{"system": p.get("system"), "role": p.get("role"),
                        **{f: p.get(f) for f in PROCESSOR_FIELDS}, "detail": p.get("detail") or None,
                        # Per category: what was done, the fields a hold keeps and its rule, and the read-back.
                        "categories": list(p.get("categories") or ())}
                       for p in entry.processors],
        "told": [told_json(t) for t in entry.told],
        "legal_holds": [legal_hold_json(h, register) for h in entry.legal_holds],
    }


def hold_json(hold: ActiveHold) -> dict[str, Any]:
    """One active hold."""
    return plain(hold)  # type: ignore[no-any-return]


def chain_json(report: ChainReport) -> dict[str, Any]:
    """One controller's evidence chain as verified."""
    first = report.problems[0] if report.problems else None
    return {"controller": report.controller, "records": report.records, "head_sequence": report.head_sequence,
            "head_sha256": report.head_digest, "intact": report.intact,
            "first_changed": plain(first), "problems": plain(report.problems),
            # Records whose flow run Prefect no longer has: the ledger keeps their evidence all the same.
            "vacuumed_runs": report.vacuumed}


def register_json(register: Register) -> dict[str, Any]:
    """The whole register as one JSON document."""
    short = ("request_id", "subject_ref", "controller", "status", "deadline")
    entries = {e.request_id: entry_json(e, register) for e in register.entries}
    return {
        "generated": plain(register.generated), "today": plain(register.today),
        "received_since": plain(register.since), "received_until": plain(register.until),
        "controller": register.controller, "chains": register.chains, "counts": register.counts(),
        "sections": {
            "deadlines": [{**{k: entries[e.request_id][k] for k in short},
                           "days_left": e.days_left(register.today), "flag": e.flag(register.today)}
                          for e in register.near_deadline()],
            "active_holds": [hold_json(h) for h in register.holds],
            "manual_steps_waiting": [{**{k: entries[e.request_id][k] for k in short},
                                      "waiting_for": e.waiting_for, "since": plain(e.since)}
                                     for e in register.waiting_for_person()],
            "failures": [{**{k: entries[e.request_id][k] for k in short}, "failed_at": e.failed_at,
                          "reason": e.reason} for e in register.failures()],
            "legal_holds_in_force": [legal_hold_json(h, register) for h in register.legal_holds],
        },
        "evidence_chains": [chain_json(c) for c in register.evidence_chains],
        "requests": list(entries.values()),
    }


def register_csv(register: Register) -> str:
    """One row per request; each processor's fields as `<system>.<field>` columns; then who was told (Art. 19) and
    the legal holds on the member, each a `; `-separated list in one cell."""
    systems: list[str] = []
    for entry in register.entries:
        systems += [p["system"] for p in entry.processors if p["system"] not in systems]
    columns = [*REQUEST_FIELDS, *(f"{s}.{f}" for s in systems for f in PROCESSOR_FIELDS), *LIST_COLUMNS]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for entry in register.entries:
        data = entry_json(entry, register)
        row = {k: _csv(data[k]) for k in REQUEST_FIELDS}
        for p in entry.processors:
            row |= {f"{p['system']}.{f}": _csv(p.get(f)) for f in PROCESSOR_FIELDS}
        row["told"] = "; ".join(told_words(t) for t in entry.told)
        row["legal_holds"] = "; ".join(legal_words(h, register) for h in entry.legal_holds)
        writer.writerow(row)
    return out.getvalue()


def told_words(told: dict[str, Any]) -> str:
    """A recipient told, in a few words: `Credicare AS: person on 2026-03-03 by Kari Drift (restrict notice ...)`."""
    how = str(told.get("how") or "")
    when = f" on {told['on']}" if told.get("on") else ""
    by = f" by {told['by']}" if told.get("by") else ""
    detail = f" ({told['detail']})" if told.get("detail") else ""
    return f"{told.get('recipient')}: {how}{when}{by}{detail}"


def legal_words(legal: SealedLegalHold, register: Register) -> str:
    """A legal hold in a few words, and whether it is in force on the register's day."""
    return f"{legal.words()}; {'in force' if legal.lasts_on(register.today) else 'not in force'}"


def _csv(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def register_markdown(register: Register) -> str:
    """A summary for the Prefect UI: the counts and the four sections as markdown tables."""
    counts = register.counts()
    lines = ["# Erasure register · " + (", ".join(sorted(register.chains.values())) or "no requests"), "",
             " · ".join(f"**{n}** {label}" for label, n in counts.items()), ""]
    lines += _md_table("Past or within 7 days of the deadline", ("request", "subject", "status", "deadline", "days"),
                       [(e.request_id, e.subject_ref, e.status, str(e.deadline), str(e.days_left(register.today)))
                        for e in register.near_deadline()])
    lines += _md_table("Active holds by release date", ("retain until", "request", "processor", "rule", "basis"),
                       [(str(h.retain_until), h.request_id, h.system, h.rule, h.basis) for h in register.holds])
    lines += _md_table("Manual steps waiting", ("request", "subject", "waiting for", "since"),
                       [(e.request_id, e.subject_ref, e.waiting_for, f"{e.since:%Y-%m-%d %H:%M}" if e.since else "")
                        for e in register.waiting_for_person()])
    lines += _md_table("Failures", ("request", "subject", "failed at", "reason"),
                       [(e.request_id, e.subject_ref, ", ".join(e.failed_at), e.reason)
                        for e in register.failures()])
    lines += _md_table("Legal holds in force", ("subject", "processor", "category", "set by", "reason", "until"),
                       [(h.subject_ref, h.system, h.category, h.set_by, h.reason, h.until())
                        for h in register.legal_holds])
    lines += _md_table("Who was told of each erasure (GDPR Art. 19)",
                       ("request", "recipient", "how", "on", "by", "detail"),
                       [(e.request_id, *(_csv(t.get(f)) for f in TOLD_FIELDS if f != "step")) for e in register.entries
                        for t in e.told])
    lines += _md_table("Legal holds on the requests' members",
                       ("request", "processor", "category", "set by", "reason", "until", "state"),
                       [(e.request_id, h.system, h.category, h.set_by, h.reason, h.until(),
                         "in force" if h.lasts_on(register.today) else "not in force")
                        for e in register.entries for h in e.legal_holds])
    return "\n".join(lines)


def _md_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return [f"## {title}", "", "None.", ""]
    cells = [header, tuple("---" for _ in header), *rows]
    return [f"## {title}", "", *("| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells), ""]


def dumps(register: Register) -> str:
    """The register's JSON text."""
    return json.dumps(register_json(register), indent=2, ensure_ascii=False)
