"""Verifying the ledger: every chain's seals and links, its rows against what they sealed, its runs in Prefect."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime

from evidence.chain import ChainReport, Sealed, verify_chain
from evidence.documents import plain
from evidence.ledger import Ledger, StoredRecord

COLUMNS = ("controller", "sequence", "kind", "request_id", "flow_run_id", "previous")

# Given flow run ids, the ones Prefect still has (queries/history.py: existing_runs).
RunsKnown = Callable[[set[str]], Awaitable[set[str]]]


def record_fault(record: StoredRecord) -> str | None:
    """What in a record's ledger row or hold rows differs from what it sealed, if anything."""
    body = record.sealed.body
    changed = [name for name in COLUMNS if record.columns.get(name) != body.get(name)]
    if record.columns.get("digest") != record.sealed.digest:
        changed.append("digest")
    if changed:
        return f"its ledger row's {', '.join(changed)} differ from what it sealed"
    written = [plain({k: v for k, v in row.items() if k not in ("id", "record_id")}) for row in record.holds]
    if written != body.get("holds", []):
        return "its hold rows differ from the ones it sealed (changed, added or deleted after sealing)"
    suppressed = [plain({k: v for k, v in row.items() if k not in ("id", "record_id")}) for row in record.suppressions]
    if suppressed != body.get("suppressions", []):
        return "its suppression rows differ from the ones it sealed (changed, added or deleted after sealing)"
    return None


def verify_records(records: Iterable[StoredRecord], known_runs: set[str] | None = None,
                   anchors: Mapping[str, Sealed] | None = None) -> list[ChainReport]:
    """Each controller's chain as verified; `known_runs` (when given) are the flow runs Prefect still has;
    `anchors` the record before each controller's first one, when only a stretch of its chain is given."""
    chains: dict[str, list[StoredRecord]] = {}
    for record in records:
        chains.setdefault(record.sealed.controller, []).append(record)
    reports = []
    for controller, stored in sorted(chains.items()):
        faults = {r.sealed.sequence: fault for r in stored if (fault := record_fault(r)) is not None}
        vacuumed = 0 if known_runs is None else sum(
            1 for r in stored if r.flow_run_id and r.flow_run_id not in known_runs)
        reports.append(verify_chain(controller, [r.sealed for r in stored], faults, vacuumed,
                                    (anchors or {}).get(controller)))
    return reports


async def verify_ledger(ledger: Ledger, runs_known: RunsKnown | None = None, controller: str | None = None,
                        since: datetime | None = None, until: datetime | None = None) -> list[ChainReport]:
    """Verify every chain in the ledger (or one controller's; or the stretch recorded in [since, until), linked
    to the record before it), and count the records whose run was vacuumed."""
    stored = await ledger.records(controller=controller, since=since, until=until, with_holds=True)
    anchors: dict[str, Sealed] = {}
    if since is not None:
        firsts = {r.sealed.controller: r.sealed.sequence for r in reversed(stored)}  # records come in chain order
        for name, sequence in firsts.items():
            if sequence > 1:
                anchors[name] = await ledger.record_at(name, sequence - 1) or Sealed({}, "")
    runs = {r.flow_run_id for r in stored if r.flow_run_id}
    known = await runs_known(runs) if runs_known is not None else None
    return verify_records(stored, known, anchors)

