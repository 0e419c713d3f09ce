"""The DPO's register: one entry per erasure request, compiled from Prefect's run history alone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import get_client
from prefect.client.schemas.objects import FlowRun, State, StateType

from config.dates import gdpr_deadline
from config.policy import PolicyError, load_policy
from config.workdays import ONE_MONTH
from connectors.contract import DONE as DONE_STEPS
from connectors.registry import known_systems
from domain.values import OSLO, artifact_key
from evidence.chain import ChainReport, verify_all
from evidence.documents import unfenced
from queries.history import ERASE_MEMBER, RELEASE_HOLDS, flow_runs, latest_artifacts, request_id_of
from tasks.deadlines import Extension, deadline_flag

IN_PROGRESS = "in progress"
WAITING_SETTLEMENT = "waiting for settlement"
WAITING_PERSON = "waiting for a person"
DONE = "done"
FAILED = "failed"
STATUSES = (IN_PROGRESS, WAITING_SETTLEMENT, WAITING_PERSON, DONE, FAILED)
# Suspension keys of the erase-member flow: `settlement-<n>` while an invoice is open; any other key
# (`confirm-<step>` for a step at a supplier with no API) waits for a person.
SETTLEMENT_KEY = "settlement"
ACTIVE_RELEASE = (StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED)


def status_of(state: State[Any] | None) -> tuple[str, str]:
    """A run's state as a register status, and what it waits for (the pause key), if it waits."""
    if state is None:
        return IN_PROGRESS, ""
    key = state.state_details.pause_key or ""
    if state.type is StateType.PAUSED:
        if key.startswith(SETTLEMENT_KEY):
            return WAITING_SETTLEMENT, key
        # A manual step, or any other pause: someone has to act before the run goes on.
        return WAITING_PERSON, key or state.name or "a person"
    if state.type is StateType.COMPLETED:
        return DONE, ""
    if state.type in (StateType.FAILED, StateType.CRASHED, StateType.CANCELLED, StateType.CANCELLING):
        return FAILED, ""
    return IN_PROGRESS, ""


@dataclass(frozen=True)
class Entry:
    """One request as the register shows it."""

    request_id: str
    controller: str
    chain: str
    subject_ref: str
    kind: str
    received: datetime
    deadline: date
    extension: Extension | None
    status: str
    state: str
    waiting_for: str
    since: datetime | None
    finished: datetime | None
    flow_run_id: str
    processors: tuple[dict[str, Any], ...] = ()
    holds: tuple[dict[str, Any], ...] = ()
    digest: str | None = None
    reason: str = ""
    deadline_reason: str = ONE_MONTH
    tags: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_open(self) -> bool:
        """Whether the request still has to be answered."""
        return self.status != DONE

    def days_left(self, today: date) -> int:
        """Days until the deadline; negative once it has passed."""
        return (self.deadline - today).days

    def flag(self, today: date) -> str | None:
        """'overdue' or 'due-soon' for an open request near or past its deadline, else None."""
        return deadline_flag(self.deadline, today) if self.is_open else None

    @property
    def deadline_basis(self) -> str:
        """Why the deadline is this date."""
        if self.extension:
            return f"extended under GDPR Art. 12(3) from {self.extension.original_deadline}: {self.extension.reason}"
        return self.deadline_reason

    @property
    def late(self) -> bool:
        """Whether the request was answered after its deadline."""
        return self.finished is not None and self.finished.date() > self.deadline

    @property
    def failed_at(self) -> list[str]:
        """The processors whose step did not finish."""
        return [p["system"] for p in self.processors if not _done(p)]


@dataclass(frozen=True)
class ActiveHold:
    """Records a processor still keeps for a request, and when they are to be released."""

    request_id: str
    controller: str
    subject_ref: str
    system: str
    rule: str
    categories: tuple[str, ...]
    basis: str
    retain_until: date
    review_only: bool
    release_run_id: str
    release_state: str


@dataclass(frozen=True)
class Register:
    """The register for a period and controller, with its sections and the evidence chains' state."""

    generated: datetime
    today: date
    since: datetime | None
    until: datetime | None
    controller: str | None
    chains: dict[str, str]
    entries: tuple[Entry, ...]
    holds: tuple[ActiveHold, ...]
    evidence_chains: tuple[ChainReport, ...] = ()

    def near_deadline(self) -> list[Entry]:
        """Open requests past their deadline or within seven days of it, the most urgent first."""
        return sorted((e for e in self.entries if e.flag(self.today)), key=lambda e: e.deadline)

    def waiting_for_person(self) -> list[Entry]:
        """Requests whose run waits for a person to confirm a manual step."""
        return [e for e in self.entries if e.status == WAITING_PERSON]

    def failures(self) -> list[Entry]:
        """Requests whose newest run failed."""
        return [e for e in self.entries if e.status == FAILED]

    def counts(self) -> dict[str, int]:
        """The figures at the top of the register."""
        counts = {"requests": len(self.entries)}
        counts |= {status: sum(e.status == status for e in self.entries) for status in STATUSES}
        flags = [e.flag(self.today) for e in self.entries]
        counts |= {"overdue": flags.count("overdue"), "due within 7 days": flags.count("due-soon"),
                   "answered late": sum(e.late for e in self.entries), "active holds": len(self.holds),
                   "broken evidence chains": sum(not c.intact for c in self.evidence_chains)}
        return counts


def _done(step: dict[str, Any]) -> bool:
    """Whether an evidence row's step finished and was verified."""
    return step.get("status") in {s.value for s in DONE_STEPS} and bool(step.get("verified"))


def _time(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def entry_of(runs: list[FlowRun], documents: dict[str, dict[str, Any]], chains: dict[str, str]) -> Entry:
    """The entry of one request from its runs (newest decides the status) and its newest artifacts."""
    run = max(runs, key=lambda r: r.created or datetime.min.replace(tzinfo=UTC))
    request_id = request_id_of(run)
    record = documents.get(artifact_key("evidence", request_id)) or {}
    evidence = record.get("evidence") or {}
    # An open request's newest record may seal only its extension: the request artifact fills in the rest.
    request = {**(documents.get(artifact_key("request", request_id)) or {}), **(evidence.get("request") or {})}
    extension = Extension.from_document(documents.get(artifact_key("extension", request_id)))
    controller = str(request.get("controller") or run.parameters.get("controller", ""))
    received = _time(request.get("received")) or run.created or datetime.now(UTC)
    deadline = extension.deadline if extension else date.fromisoformat(
        request.get("deadline") or gdpr_deadline(received.date()).isoformat())
    status, waiting_for = status_of(run.state)
    return Entry(
        request_id=request_id, controller=controller, chain=chains.get(controller, controller),
        subject_ref=str(request.get("subject_ref", "")),
        kind=str(request.get("kind") or run.parameters.get("kind", "")),
        received=received, deadline=deadline, extension=extension, status=status,
        state=(run.state.name or "") if run.state else "", waiting_for=waiting_for,
        since=run.state.timestamp if run.state else None,
        finished=_time(evidence.get("finished")) if status == DONE else None, flow_run_id=str(run.id),
        processors=tuple(evidence.get("steps") or ()), holds=tuple(evidence.get("holds") or ()),
        digest=record.get("digest"), reason=(run.state.message or "") if status == FAILED and run.state else "",
        deadline_reason=str(request.get("deadline_reason") or ONE_MONTH), tags=tuple(run.tags))


def active_holds(entries: Iterable[Entry], releases: Iterable[FlowRun]) -> list[ActiveHold]:
    """Every hold of these requests that is not released yet, by release date.

    A rule may hold records until several dates, each with its release run (at the day after); a run that
    found a newer record moved its date to a run of its own. So a hold is active while a release run of
    its request, processor and rule is: at its own date, or at a date no hold of the evidence names.
    """
    active: dict[tuple[str, str, str], dict[date, FlowRun]] = defaultdict(dict)
    for release in releases:
        p = release.parameters
        # A hold that was re-held before holds had dates ran under `<request>-release-<system>-<rule>`.
        root = str(p.get("request_id", "")).split("-release-")[0]
        if release.expected_start_time:
            day = release.expected_start_time.astimezone(OSLO).date() - timedelta(days=1)
            active[(root, str(p.get("system")), str(p.get("rule")))][day] = release
    found = []
    for entry in entries:
        scheduled = {p["system"]: p.get("release_run") for p in entry.processors}
        by_rule: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for hold in entry.holds:
            by_rule[(hold["system"], hold["rule"])].append(hold)
        for (system, rule), holds in by_rule.items():
            runs = dict(active.get((entry.request_id, system, rule), {}))
            for hold in holds:
                until = date.fromisoformat(hold["retain_until"])
                run = runs.pop(until, None)
                if run is None and scheduled.get(system):
                    continue  # its release run has ended: released, or handed to a person for review
                found.append(_active(entry, hold, until, run))
            # Dates a release run moved the records to (a newer entry came): held under the same rule.
            found += [_active(entry, holds[-1], day, run) for day, run in runs.items()]
    return sorted(found, key=lambda h: (h.retain_until, h.request_id, h.system))


def _active(entry: Entry, hold: dict[str, Any], until: date, run: FlowRun | None) -> ActiveHold:
    return ActiveHold(entry.request_id, entry.controller, entry.subject_ref, hold["system"], hold["rule"],
                      tuple(hold.get("categories", ())), hold.get("citation", ""), until,
                      bool(hold.get("review_only")), str(run.id) if run else "",
                      (run.state.name or "") if run and run.state else "not scheduled")


def chain_names(controllers: Iterable[str], directory: Path) -> dict[str, str]:
    """Each controller's name from its policy file (the key itself where there is none)."""
    names = {}
    for controller in set(controllers):
        try:
            names[controller] = load_policy(controller, directory, known_systems()).name
        except PolicyError:
            names[controller] = controller
    return names


def build_register(erasures: list[FlowRun], releases: list[FlowRun], documents: dict[str, dict[str, Any]],
                   names: dict[str, str], today: date, since: datetime | None = None,
                   until: datetime | None = None, controller: str | None = None,
                   evidence_chains: Iterable[ChainReport] = ()) -> Register:
    """The register from run history: requests received in [since, until) at the controller (or all)."""
    grouped: dict[str, list[FlowRun]] = {}
    for run in erasures:
        grouped.setdefault(request_id_of(run), []).append(run)
    entries = [entry_of(runs, documents, names) for runs in grouped.values()]
    entries = sorted((e for e in entries if (controller is None or e.controller == controller)
                      and (since is None or e.received >= since) and (until is None or e.received < until)),
                     key=lambda e: (e.received, e.request_id))
    reports = tuple(c for c in evidence_chains if controller is None or c.controller == controller)
    chains = ({controller: names.get(controller, controller)} if controller
              else {e.controller: e.chain for e in entries})
    return Register(datetime.now(UTC), today, since, until, controller, chains, tuple(entries),
                    tuple(active_holds(entries, releases)), reports)


async def compile_register(controllers_dir: Path, today: date, since: datetime | None = None,
                           until: datetime | None = None, controller: str | None = None,
                           verify: bool = True) -> Register:
    """Read the run history from the Prefect API and build the register (with the chains verified)."""
    async with get_client() as client:
        erasures = await flow_runs(client, ERASE_MEMBER,
                                   started_after=since - timedelta(days=1) if since else None)
        releases = await flow_runs(client, RELEASE_HOLDS, states=ACTIVE_RELEASE)
        documents: dict[str, dict[str, Any]] = {}
        for prefix in ("request-", "evidence-", "extension-"):
            for key, artifact in (await latest_artifacts(client, prefix)).items():
                documents[key] = unfenced(artifact.data) or {}
        reports = await verify_all(client) if verify else []
    controllers = {str(run.parameters.get("controller", "")) for run in erasures}
    controllers |= {controller} if controller else set()
    return build_register(erasures, releases, documents, chain_names(controllers, controllers_dir), today,
                          since, until, controller, reports)
