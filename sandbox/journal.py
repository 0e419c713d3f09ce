"""The journal of destructive calls across the sandbox, and Idempotency-Key replays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Apply = Callable[[], tuple[Response, bool]]
Listener = Callable[["Call"], None]


@dataclass(frozen=True)
class Call:
    """One destructive call a processor received, and whether it changed anything."""

    system: str
    member_id: str
    action: str
    key: str | None
    applied: bool
    target: str = ""  # the method and path it was sent to: which record at the processor

    def as_json(self) -> dict[str, Any]:
        """The call as JSON-ready values (the admin API's shape: without the target)."""
        return {name: value for name, value in asdict(self).items() if name != "target"}


class Journal:
    """Every delete, anonymise, restrict and release call, in the order they arrived."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.listeners: list[Listener] = []  # told of each call as it is recorded (chaos: kill right then)
        self._answers: dict[tuple[str, str], tuple[str, Response]] = {}

    def once(self, system: str, request: Request, member_id: str | None, action: str,
             apply: Apply) -> Response:
        """Apply a destructive call unless its Idempotency-Key was seen: then replay the first answer."""
        key = request.headers.get("idempotency-key")
        where = f"{request.method} {request.url.path}"
        if key is not None and (system, key) in self._answers:
            used_for, answer = self._answers[system, key]
            if used_for != where:
                return JSONResponse({"error": "Idempotency-Key was used for another request"}, 422)
            self._record(Call(system, member_id or "", action, key, applied=False, target=where))
            return answer
        answer, applied = apply()
        if key is not None:
            self._answers[system, key] = (where, answer)
        self._record(Call(system, member_id or "", action, key, applied, target=where))
        return answer

    def _record(self, call: Call) -> None:
        if call.member_id:  # a call for an id no one ever had belongs to no member
            self.calls.append(call)
            for listener in self.listeners:
                listener(call)

    def calls_for(self, member_id: str) -> list[Call]:
        """Every destructive call for the member, applied or not."""
        return [call for call in self.calls if call.member_id == member_id]

    def applied_calls(self, member_id: str) -> list[Call]:
        """The destructive calls for the member that changed something."""
        return [call for call in self.calls_for(member_id) if call.applied]

    def destructive_calls_for(self, member_id: str) -> list[str]:
        """The systems that applied a destructive call for the member, in order of their first."""
        return list(dict.fromkeys(call.system for call in self.applied_calls(member_id)))

    def applied_twice(self) -> dict[tuple[str, str, str, str], int]:
        """(member, system, action, target) that a destructive call changed more than once: harm done twice."""
        applied = Counter((c.member_id, c.system, c.action, c.target) for c in self.calls if c.applied)
        return {where: count for where, count in applied.items() if count > 1}

    def clear(self) -> None:
        """Forget every call and every kept answer."""
        self.calls.clear()
        self._answers.clear()
