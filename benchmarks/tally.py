"""How each chaos request ended, read back from Prefect: state, crashes, escalation, and its evidence."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect import get_client
from prefect.client.schemas.objects import StateType

from cli.runs import evidence_rows
from config.deployments import ESCALATED

# The parts of an evidence row that a rerun must reproduce (attempts and job references may differ).
OUTCOME = ("system", "action", "status", "verified", "retain_until")
# Both mean the data is gone. A delete whose answer was lost (a dropped connection, a kill) and that has no
# idempotency key to replay the answer (Mailchimp takes none) meets a 404 on the next try: already absent.
GONE = {"erased": "gone", "already_absent": "gone"}
NOT_SENT = "NOT SENT"  # the suite's deadline came before the request's turn to be sent


@dataclass(frozen=True)
class Ask:
    """One erasure request the suite sends: which member, of which kind of member."""

    request_id: str
    controller: str
    member_id: str
    kind: str
    profile: str

    @property
    def group(self) -> str:
        """Requests that must end alike: same chain, same kind of member, same kind of request."""
        return f"{self.controller}/{self.profile}/{self.kind}"


@dataclass(frozen=True)
class Ending:
    """How one request ended."""

    ask: Ask
    state: str
    message: str
    crashes: int
    escalated: bool
    outcome: tuple[tuple[str, ...], ...]
    waiting_for: str = ""  # a suspended run's key: "settlement-<n>", "confirm-<n>-<step>"

    @property
    def completed(self) -> bool:
        """Erased, anonymised and held as the policy says, every step verified (else the flow fails)."""
        return self.state == StateType.COMPLETED.value

    @property
    def visible(self) -> bool:
        """Ended, or visibly stopped with a reason a person can act on: not lost."""
        final = {StateType.COMPLETED.value, StateType.FAILED.value, StateType.CANCELLED.value}
        # A suspended run is visible by its key: the register shows it waiting for settlement or a person.
        return self.state in final or (self.state == StateType.CRASHED.value and self.escalated) \
            or (self.state == StateType.PAUSED.value and bool(self.message or self.waiting_for))

    @property
    def in_hand(self) -> bool:
        """Not ended yet, but still the system's to finish: queued, running, or crashed and due for a rerun."""
        moving = {StateType.SCHEDULED.value, StateType.PENDING.value, StateType.RUNNING.value, NOT_SENT}
        return self.state in moving or (self.state == StateType.CRASHED.value and not self.escalated)


async def ending(ask: Ask, run_id: UUID | None) -> Ending:
    """Read a request's run, its state history and its newest evidence table."""
    if run_id is None:
        return Ending(ask, "NO RUN", "", 0, False, ())
    async with get_client() as client:
        run = await client.read_flow_run(run_id)
        states = await client.read_flow_run_states(run_id)
    rows: list[dict[str, Any]] = await evidence_rows(ask.request_id)
    outcome = tuple(sorted(tuple(GONE.get(str(row.get(c, "")), str(row.get(c, ""))) if c == "status"
                                 else str(row.get(c, "")) for c in OUTCOME) for row in rows))
    state = run.state
    return Ending(ask, state.type.value if state else "NO STATE", (state.message or "") if state else "",
                  sum(1 for s in states if s.type is StateType.CRASHED), ESCALATED in run.tags, outcome,
                  str(state.state_details.pause_key or "") if state and state.is_paused() else "")


def expected_outcomes(endings: list[Ending], affected: set[str]) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Per group, the outcome the requests no kill touched agreed on (all completed ones if none was spared)."""
    spared: dict[str, Counter[tuple[tuple[str, ...], ...]]] = defaultdict(Counter)
    every: dict[str, Counter[tuple[tuple[str, ...], ...]]] = defaultdict(Counter)
    for end in endings:
        if end.completed:
            every[end.ask.group][end.outcome] += 1
            if end.ask.request_id not in affected:
                spared[end.ask.group][end.outcome] += 1
    return {group: (spared.get(group) or counts).most_common(1)[0][0] for group, counts in every.items()}
