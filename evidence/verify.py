"""Verifying the ledger: every chain's seals and links, its rows against what they sealed, its runs in Prefect."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from evidence.chain import GENESIS, ChainReport, ChainWalk, Problem, Sealed, verify_chain
from evidence.ledger import Ledger, StoredRecord, sealed_hold

COLUMNS = ("controller", "sequence", "kind", "request_id", "flow_run_id", "previous")
PAGE = 1000  # records of a chain read and verified at a time: what bounds a whole verification's memory

# Given flow run ids, the ones Prefect still has (queries/history.py: existing_runs).
RunsKnown = Callable[[set[str]], Awaitable[set[str]]]


def _time(value: object) -> datetime | None:
    """The moment an ISO 8601 text names; None for anything else."""
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def record_fault(record: StoredRecord) -> str | None:
    """What in a record's ledger row or hold rows differs from what it sealed, if anything."""
    body = record.sealed.body
    changed = [name for name in COLUMNS if record.columns.get(name) != body.get(name)]
    # The period a register reads is chosen by this column: a record moved out of its month is named too.
    if "recorded" in body and record.sealed.created != _time(body["recorded"]):
        changed.append("recorded")
    if record.columns.get("digest") != record.sealed.digest:
        changed.append("digest")
    if changed:
        return f"its ledger row's {', '.join(changed)} differ from what it sealed"
    if [sealed_hold(row) for row in record.holds] != body.get("holds", []):
        return "its hold rows differ from the ones it sealed (changed, added or deleted after sealing)"
    if [sealed_hold(row) for row in record.suppressions] != body.get("suppressions", []):
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


async def verify_stretch(ledger: Ledger, stored: Sequence[StoredRecord], runs_known: RunsKnown | None = None,
                         whole: bool = True, controller: str | None = None) -> list[ChainReport]:
    """Verify records read from the ledger with their hold rows, in chain order: each chain from its start
    (`whole`), or from the record before each chain's first one read. A whole verification also checks the
    unreleased holds the sweep selects from against the hold rows."""
    anchors: dict[str, Sealed] = {}
    if not whole:
        firsts = {r.sealed.controller: r.sealed.sequence for r in reversed(stored)}  # records come in chain order
        for name, sequence in firsts.items():
            if sequence > 1:
                anchors[name] = await ledger.record_at(name, sequence - 1) or Sealed({}, "")
    runs = {r.flow_run_id for r in stored if r.flow_run_id}
    known = await runs_known(runs) if runs_known is not None else None
    reports = verify_records(stored, known, anchors)
    return await with_unreleased(ledger, reports, controller) if whole else reports


async def verify_chains(ledger: Ledger, runs_known: RunsKnown | None = None, controller: str | None = None,
                        page: int = PAGE) -> list[ChainReport]:
    """Verify every chain whole (or one controller's), read in order of place `page` records at a time and
    verified as read, each page's runs looked up in Prefect at once; then the unreleased holds. Memory holds one
    page, not the chain."""
    reports = []
    for name in sorted(await ledger.controllers(controller)):
        walk, vacuumed, after = ChainWalk(name), 0, 0
        while stored := await ledger.chain_page(name, after, page):
            for record in stored:
                walk.step(record.sealed, record_fault(record))
            if runs_known is not None:
                runs = {r.flow_run_id for r in stored if r.flow_run_id}
                known = await runs_known(runs)
                vacuumed += sum(1 for r in stored if r.flow_run_id and r.flow_run_id not in known)
            after = int(stored[-1].columns["sequence"])
        reports.append(walk.report(vacuumed))
    return await with_unreleased(ledger, reports, controller)


async def with_unreleased(ledger: Ledger, reports: list[ChainReport], controller: str | None) -> list[ChainReport]:
    """The chains' reports with the unreleased holds that differ from their hold rows, by controller."""
    faults: dict[str, list[Problem]] = {}
    for name, request_id, reason in await ledger.unreleased_faults(controller):
        faults.setdefault(name, []).append(Problem(0, request_id, reason))
    reports = reports + [ChainReport(name, 0, 0, GENESIS) for name in faults
                         if name not in {r.controller for r in reports}]
    return sorted((replace(report, problems=(*report.problems, *faults.get(report.controller, ())))
                   for report in reports), key=lambda report: report.controller)


async def verify_ledger(ledger: Ledger, runs_known: RunsKnown | None = None, controller: str | None = None,
                        since: datetime | None = None, until: datetime | None = None,
                        page: int = PAGE) -> list[ChainReport]:
    """Verify every chain in the ledger (or one controller's) a page at a time; or the stretch recorded in
    [since, until), linked to the record before it. Count the records whose run was vacuumed."""
    if since is None and until is None:
        return await verify_chains(ledger, runs_known, controller, page)
    stored = await ledger.records(controller=controller, since=since, until=until, with_holds=True)
    return await verify_stretch(ledger, stored, runs_known, False, controller)
