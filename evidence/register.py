"""The DPO's register: one entry per erasure request, from the ledger's evidence and holds and Prefect's runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import get_client
from prefect.client.schemas.objects import FlowRun, State, StateType

from config.dates import deadline_flag, gdpr_deadline
from config.deployments import ERASE_MEMBER
from config.policy import PolicyError, load_policy
from config.workdays import ONE_MONTH
from connectors.contract import DONE as DONE_STEPS
from connectors.registry import known_systems
from domain.values import Extension, artifact_key
from evidence.chain import ChainReport
from evidence.documents import unfenced
from evidence.ledger import RELEASED, HoldState, Ledger
from evidence.legal_holds import SealedLegalHold, sealed_legal_holds
from evidence.verify import verify_stretch
from queries.history import flow_runs, latest_artifacts, request_id_of

IN_PROGRESS = "in progress"
WAITING_SETTLEMENT = "waiting for settlement"
WAITING_PERSON = "waiting for a person"
DONE = "done"
FAILED = "failed"
VACUUMED = "run vacuumed"  # the ledger has the request; Prefect no longer has its run
STATUSES = (IN_PROGRESS, WAITING_SETTLEMENT, WAITING_PERSON, DONE, FAILED)
# Suspension keys of the erase-member flow: `settlement-<n>` while an invoice is open; any other key
# (`confirm-<step>` for a step at a supplier with no API) waits for a person.
SETTLEMENT_KEY = "settlement"
ANSWERED_WITHIN = timedelta(days=100)  # a request received in a period has its evidence sealed within this


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
    # GDPR Art. 19: each recipient the policy names, how, when and by whom it was told (none in older records).
    told: tuple[dict[str, Any], ...] = ()
    # Every legal hold a person set on the request's member at the chain, lifted ones included.
    legal_holds: tuple[SealedLegalHold, ...] = ()

    @property
    def is_open(self) -> bool:
        """Whether the request still has to be answered."""
        return self.status != DONE

    @property
    def has_run(self) -> bool:
        """Whether Prefect still has the request's run."""
        return bool(self.flow_run_id) and self.state != VACUUMED

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
    fields: tuple[str, ...] = ()  # the only fields the hold keeps of its category; empty: the categories whole
    check_on: date | None = None  # a claim's next look at whether it was paid


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
    legal_holds: tuple[SealedLegalHold, ...] = ()  # every legal hold in force today, whatever the period


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
                   "legal holds in force": len(self.legal_holds),
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
        deadline_reason=str(request.get("deadline_reason") or ONE_MONTH), tags=tuple(run.tags),
        told=tuple(evidence.get("told") or ()))


def active_holds(entries: Iterable[Entry], states: Iterable[HoldState]) -> list[ActiveHold]:
    """Every hold of these requests the ledger has not released, by date (held, failed, or in review)."""
    by_request = {entry.request_id: entry for entry in entries}
    found = [ActiveHold(s.request_id, s.controller, by_request[s.request_id].subject_ref, s.hold.system, s.hold.rule,
                        s.hold.categories, s.hold.citation, s.hold.retain_until, s.hold.review_only,
                        s.flow_run_id or "", s.status + (f": {s.detail}" if s.detail else ""), s.hold.fields,
                        s.hold.check_on)
             for s in states if s.status != RELEASED and s.request_id in by_request]
    return sorted(found, key=lambda h: (h.retain_until, h.request_id, h.system))


def chain_names(controllers: Iterable[str], directory: Path) -> dict[str, str]:
    """Each controller's name from its policy file (the key itself where there is none)."""
    names = {}
    for controller in set(controllers):
        try:
            names[controller] = load_policy(controller, directory, known_systems()).name
        except PolicyError:
            names[controller] = controller
    return names


def sealed_entry(record: dict[str, Any], chains: dict[str, str]) -> Entry:
    """The entry of a request the ledger has and Prefect no longer does (its runs vacuumed): as sealed."""
    evidence = record.get("evidence") or {}
    request = evidence.get("request") or {}
    extension = Extension.from_document(evidence.get("extension"))
    controller = str(record.get("controller", ""))
    received = _time(request.get("received")) or datetime.now(UTC)
    status = DONE if evidence.get("status") == "done" else FAILED
    return Entry(
        request_id=str(record.get("request_id", "")), controller=controller,
        chain=chains.get(controller, controller), subject_ref=str(request.get("subject_ref", "")),
        kind=str(request.get("kind", "")), received=received,
        deadline=extension.deadline if extension else date.fromisoformat(
            request.get("deadline") or gdpr_deadline(received.date()).isoformat()),
        extension=extension, status=status, state=VACUUMED, waiting_for="", since=None,
        finished=_time(evidence.get("finished")) if status == DONE else None,
        flow_run_id=str(record.get("flow_run_id") or ""), processors=tuple(evidence.get("steps") or ()),
        holds=tuple(evidence.get("holds") or ()), digest=record.get("digest"),
        deadline_reason=str(request.get("deadline_reason") or ONE_MONTH), told=tuple(evidence.get("told") or ()))


def build_register(erasures: list[FlowRun], holds: list[HoldState], documents: dict[str, dict[str, Any]],
                   names: dict[str, str], today: date, since: datetime | None = None,
                   until: datetime | None = None, controller: str | None = None,
                   evidence_chains: Iterable[ChainReport] = (),
                   sealed: Iterable[dict[str, Any]] = (), legal: Iterable[SealedLegalHold] = ()) -> Register:
    """The register: requests received in [since, until) at the controller (or all), from their runs, and from
    the ledger alone for `sealed` records whose runs Prefect no longer has; each with the legal holds on its
    member, and the legal holds in force today."""
    grouped: dict[str, list[FlowRun]] = {}
    for run in erasures:
        grouped.setdefault(request_id_of(run), []).append(run)
    entries = [entry_of(runs, documents, names) for runs in grouped.values()]
    entries += [sealed_entry(record, names) for record in sealed if str(record.get("request_id")) not in grouped]
    entries = sorted((e for e in entries if (controller is None or e.controller == controller)
                      and (since is None or e.received >= since) and (until is None or e.received < until)),
                     key=lambda e: (e.received, e.request_id))
    legal = [h for h in legal if controller is None or h.controller == controller]
    by_subject: dict[tuple[str, str], list[SealedLegalHold]] = {}
    for hold in legal:
        by_subject.setdefault((hold.controller, hold.subject_ref), []).append(hold)
    entries = [replace(e, legal_holds=tuple(by_subject.get((e.controller, e.subject_ref), ()))) for e in entries]
    in_force = sorted((h for h in legal if h.lasts_on(today)),
                      key=lambda h: (h.ends_on or date.max, h.controller, h.subject_ref, h.system, h.category))
    reports = tuple(c for c in evidence_chains if controller is None or c.controller == controller)
    chains = ({controller: names.get(controller, controller)} if controller
              else {e.controller: e.chain for e in entries})
    return Register(datetime.now(UTC), today, since, until, controller, chains, tuple(entries),
                    tuple(active_holds(entries, holds)), reports, tuple(in_force))


def _received_in(body: dict[str, Any], since: datetime | None, until: datetime | None) -> bool:
    """Whether a sealed record's request was received in [since, until), or does not say when."""
    received = _time(((body.get("evidence") or {}).get("request") or {}).get("received"))
    return received is None or ((since is None or received >= since) and (until is None or received < until))


async def compile_register(ledger: Ledger, controllers_dir: Path, today: date, since: datetime | None = None,
                           until: datetime | None = None, controller: str | None = None,
                           verify: bool = True) -> Register:
    """The register: requests from the ledger and Prefect's runs, their evidence and holds from the ledger, and
    the chains verified: the stretch sealed in the period (linked to the record before it), or whole without
    a period; `slett evidence --verify` verifies every chain whole and looks up every run."""
    async with get_client() as client:
        erasures = await flow_runs(client, ERASE_MEMBER,
                                   started_after=since - timedelta(days=1) if since else None)
        documents: dict[str, dict[str, Any]] = {}
        for key, artifact in (await latest_artifacts(client, "request-")).items():
            documents[key] = unfenced(artifact.data) or {}
    start, end = since - timedelta(days=1) if since else None, until + ANSWERED_WITHIN if until else None
    # Read once: the records verified are the records listed.
    stored = await ledger.records(controller=controller, since=start, until=end, with_holds=verify)
    reports = await verify_stretch(ledger, stored, whole=start is None and end is None,
                                   controller=controller) if verify else []
    newest: dict[str, dict[str, Any]] = {}
    # A request's evidence is its newest erasure record; an extension sealed later moves only its deadline.
    # A suppression entry, a re-added member's removal and a letter sent while the request waits
    # (evidence/interim.py) are no answer to their request: the answer stays its own.
    # A legal hold's records are read whole, whenever they were sealed (evidence/legal_holds.py).
    answers = (r for r in stored if r.kind not in ("release", "suppression", "readded", "letter", "legal-hold"))
    for record in sorted(answers, key=lambda r: r.kind != "extension"):
        newest[record.request_id] = {**record.sealed.body, "digest": record.sealed.digest}
        documents[artifact_key("evidence", record.request_id)] = newest[record.request_id]
        if record.kind == "extension":
            documents[artifact_key("extension", record.request_id)] = record.sealed.body["evidence"]["extension"]
    # The stretch read reaches past the period (evidence sealed after it): holds only of requests received in it.
    requests = {request_id_of(run) for run in erasures} | {
        request_id for request_id, body in newest.items() if _received_in(body, since, until)}
    holds = await ledger.hold_states(sorted(requests), unreleased_only=True)
    controllers = {str(run.parameters.get("controller", "")) for run in erasures}
    controllers |= {str(body.get("controller", "")) for body in newest.values()}
    controllers |= {controller} if controller else set()
    # An extension record alone is no answer: a request with no run left and no erasure evidence is not listed.
    sealed = [body for body in newest.values() if (body.get("evidence") or {}).get("status")]
    return build_register(erasures, holds, documents, chain_names(controllers, controllers_dir), today,
                          since, until, controller, reports, sealed, await sealed_legal_holds(ledger, controller))
