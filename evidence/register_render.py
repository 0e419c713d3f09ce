"""The register as JSON, CSV and a markdown summary: the same entries, sections and counts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from evidence.chain import ChainReport
from evidence.documents import plain
from evidence.register import ActiveHold, Entry, Register

PROCESSOR_FIELDS = ("action", "status", "basis", "retain_until", "reference", "verified")
REQUEST_FIELDS = ("request_id", "subject_ref", "controller", "chain", "kind", "received", "deadline",
                  "deadline_basis", "status", "finished", "days_left", "deadline_flag", "waiting_for",
                  "flow_run_id", "digest")


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
        },
        "evidence_chains": [chain_json(c) for c in register.evidence_chains],
        "requests": list(entries.values()),
    }


def register_csv(register: Register) -> str:
    """One row per request; each processor's fields as `<system>.<field>` columns."""
    systems: list[str] = []
    for entry in register.entries:
        systems += [p["system"] for p in entry.processors if p["system"] not in systems]
    columns = [*REQUEST_FIELDS, *(f"{s}.{f}" for s in systems for f in PROCESSOR_FIELDS)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for entry in register.entries:
        data = entry_json(entry, register)
        row = {k: _csv(data[k]) for k in REQUEST_FIELDS}
        for p in entry.processors:
            row |= {f"{p['system']}.{f}": _csv(p.get(f)) for f in PROCESSOR_FIELDS}
        writer.writerow(row)
    return out.getvalue()


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
    return "\n".join(lines)


def _md_table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return [f"## {title}", "", "None.", ""]
    cells = [header, tuple("---" for _ in header), *rows]
    return [f"## {title}", "", *("| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in cells), ""]


def dumps(register: Register) -> str:
    """The register's JSON text."""
    return json.dumps(register_json(register), indent=2, ensure_ascii=False)
